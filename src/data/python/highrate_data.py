"""Rucio data from a highrate notebook or Dask worker.

    import highrate_data as hd
    urls = hd.files("data:dataset1")          # one URL per file, on the nearest replica
    hd.stage("data:dataset1", wait=True)      # make it available at this facility
    paths = hd.download("data:dataset1", "~/data")  # copies, each checked against Rucio's adler32

The platform's data API (``/hub/api/data/``) does the Rucio calls as your Rucio account; this
module only needs the notebook's own API token (``JUPYTERHUB_API_TOKEN``, or ``HIGHRATE_TOKEN``)
and the hub's API URL (``JUPYTERHUB_API_URL``, or ``HIGHRATE_URL`` + ``/hub/api``). Storage is
read with the WLCG bearer token the pod holds (``BEARER_TOKEN`` / ``BEARER_TOKEN_FILE`` /
``$XDG_RUNTIME_DIR/bt_u<uid>`` / ``/tmp/bt_u<uid>``, the WLCG discovery order); tokens never go
into URLs.
"""
import base64
import json
import os
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib

__all__ = ["files", "stage", "rule", "download", "DataError", "DIDNotAvailable", "ChecksumMismatch", "StorageRefused"]


class DataError(Exception):
    """The platform refused or failed; the message says what to do. ``code`` is the hub's error code."""

    def __init__(self, message, code=None, status=None):
        super().__init__(message)
        self.code = code
        self.status = status


class DIDNotAvailable(DataError):
    """Some files of the DID have no replica to read; ``stage()`` brings them to the facility."""


class ChecksumMismatch(DataError):
    """A downloaded file's adler32 differs from Rucio's; the file was removed."""


class StorageRefused(DataError):
    """The storage element refused to serve a file with your storage token (code ``STORAGE_FORBIDDEN``)."""


def _api():
    url = os.environ.get("JUPYTERHUB_API_URL")
    if not url and os.environ.get("HIGHRATE_URL"):
        url = os.environ["HIGHRATE_URL"].rstrip("/") + "/hub/api"
    token = os.environ.get("JUPYTERHUB_API_TOKEN") or os.environ.get("HIGHRATE_TOKEN")
    if not url or not token:
        raise DataError("No platform to ask: set JUPYTERHUB_API_URL and JUPYTERHUB_API_TOKEN (a highrate notebook has both).")
    return url.rstrip("/"), token


def _call(method, path, body=None):
    url, token = _api()
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method=method, headers={"Authorization": "token " + token})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=120) as res:
            text = res.read().decode()
            return json.loads(text) if text else None
    except urllib.error.HTTPError as err:
        try:
            payload = json.loads(err.read().decode())
        except Exception:
            payload = {}
        raise DataError(payload.get("message", str(err)), payload.get("code"), err.code) from None
    except urllib.error.URLError as err:
        raise DataError("Cannot reach the platform at %s: %s" % (url, err.reason)) from None


def _did_path(did):
    return urllib.parse.quote(did, safe="")


def files(did, scheme=None, details=False):
    """URLs of every file of ``did`` ("scope:name") on the nearest replica.

    The facility's storage comes first, then Rucio's order; ``scheme`` ("root", "https"…) picks
    a protocol. Raises DIDNotAvailable naming the files without a replica. With ``details``,
    returns dicts with ``did``, ``url``, ``bytes``, ``adler32`` and ``rse``.
    """
    answer = _call("GET", "/data/dids/%s/files" % _did_path(did))
    if answer["missing"]:
        raise DIDNotAvailable("%d file(s) of %s have no replica to read (e.g. %s); highrate_data.stage(%r) makes them available here."
                              % (len(answer["missing"]), did, answer["missing"][0], did), "DATA_NOT_AVAILABLE")
    out = []
    for f in answer["files"]:
        url = f["url"]
        if scheme:
            chosen = [u for u in f["urls"] if u.startswith(scheme + "://")]
            if not chosen:
                raise DIDNotAvailable("%s has no %s:// replica (has %s)." % (f["did"], scheme, ", ".join(sorted({u.split(':')[0] for u in f['urls']}))))
            url = chosen[0]
        out.append(dict(f, url=url) if details else url)
    return out


def rule(rule_id):
    """One of your rules with each file's state."""
    return _call("GET", "/data/rules/%s" % urllib.parse.quote(rule_id, safe=""))


def stage(did, wait=False, lifetime=None, poll=2.0, timeout=None):
    """Makes ``did`` available at this facility (a Rucio rule to its RSE); returns the rule.

    With ``wait``, returns once every file has arrived (raises DataError if the rule gets stuck
    or ``timeout`` seconds pass).
    """
    body = {"did": did}
    if lifetime:
        body["lifetime"] = int(lifetime)
    r = _call("POST", "/data/rules", body)
    start = time.monotonic()
    while wait and r["state"] in ("REPLICATING", "INJECT", "WAITING_APPROVAL"):
        if timeout is not None and time.monotonic() - start > timeout:
            raise DataError("Rule %s still %s after %ss (%d/%d files)." % (r["id"], r["state"], timeout, r["locks"]["ok"], r["locks"]["total"]))
        time.sleep(poll)
        r = rule(r["id"])
    if wait and r["state"] != "OK":
        raise DataError("Rule %s is %s: %s" % (r["id"], r["state"], r.get("error") or "no reason given"))
    return r


def bearer_token():
    """The pod's storage token, found the WLCG way; None when there is none."""
    if os.environ.get("BEARER_TOKEN"):
        return os.environ["BEARER_TOKEN"].strip()
    candidates = []
    if os.environ.get("BEARER_TOKEN_FILE"):
        candidates.append(os.environ["BEARER_TOKEN_FILE"])
    uid = os.getuid()
    if os.environ.get("XDG_RUNTIME_DIR"):
        candidates.append(os.path.join(os.environ["XDG_RUNTIME_DIR"], "bt_u%d" % uid))
    candidates.append("/tmp/bt_u%d" % uid)
    for path in candidates:
        try:
            with open(path) as fh:
                token = fh.read().strip()
            if token:
                return token
        except OSError:
            continue
    return None


def _storage_tls():
    """TLS for https storage: the system's CAs plus the facility's (HIGHRATE_STORAGE_CA, X509_CERT_DIR; pods have both)."""
    ctx = ssl.create_default_context()
    if os.path.isfile(os.environ.get("HIGHRATE_STORAGE_CA", "")):
        ctx.load_verify_locations(cafile=os.environ["HIGHRATE_STORAGE_CA"])
    if os.path.isdir(os.environ.get("X509_CERT_DIR", "")):
        ctx.load_verify_locations(capath=os.environ["X509_CERT_DIR"])
    return ctx


def _readable_paths(token):
    """The paths a WLCG token lets its holder read (its ``storage.read:`` scopes), or None if it is no JWT.

    The payload is only decoded, not verified: it words an error message, the storage decides."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return [s[len("storage.read:"):] for s in str(claims.get("scope", "")).split() if s.startswith("storage.read:")], claims.get("sub")
    except Exception:
        return None


def _refused(did, url, token, detail):
    path = "/" + urllib.parse.urlparse(url).path.lstrip("/")
    if not token:
        why = "no storage token was found (BEARER_TOKEN, BEARER_TOKEN_FILE; a highrate pod has one)"
    else:
        allowed = _readable_paths(token)
        why = "your storage token%s may read %s, not %s" % (" (%s)" % allowed[1] if allowed and allowed[1] else "", ", ".join(allowed[0]) if allowed and allowed[0] else "nothing", path) if allowed else "your storage token does not allow reading " + path
    return StorageRefused("The storage refused to serve %s (%s, %s): %s." % (did, url, detail, why), "STORAGE_FORBIDDEN", 403)


def _copy(url, dest, did=None):
    """Copies one URL to ``dest``; returns its adler32 (computed while writing, for http)."""
    token = bearer_token()
    if url.startswith(("https://", "http://", "davs://")):
        http_url = "https://" + url[len("davs://"):] if url.startswith("davs://") else url
        req = urllib.request.Request(http_url, headers={"Authorization": "Bearer " + token} if token else {})
        checksum = 1
        try:
            res = urllib.request.urlopen(req, timeout=300, context=_storage_tls())
        except urllib.error.HTTPError as err:
            if err.code in (401, 403):
                raise _refused(did or url, url, token, "HTTP %d" % err.code) from None
            raise DataError("Reading %s failed: HTTP %d %s" % (url, err.code, err.reason)) from None
        with res, open(dest, "wb") as out:
            while True:
                chunk = res.read(1 << 20)
                if not chunk:
                    break
                checksum = zlib.adler32(chunk, checksum)
                out.write(chunk)
        return "%08x" % (checksum & 0xFFFFFFFF)
    if url.startswith("root://"):
        env = dict(os.environ)
        if token:
            # XRootD's ztn security protocol reads the token from the environment, never the URL.
            env["BEARER_TOKEN"] = token
        xrdcp = shutil.which("xrdcp")
        if not xrdcp:
            raise DataError("xrdcp is not installed: cannot read %s (install xrootd-client, or use scheme='https')." % url)
        proc = subprocess.run([xrdcp, "--force", "--nopbar", url, dest], env=env, capture_output=True, text=True)
        # kXR_NotAuthorized (3010): the storage's authorisation said no.
        if proc.returncode != 0 and "[3010]" in proc.stderr:
            raise _refused(did or url, url, token, "XRootD error 3010: not authorised")
        if proc.returncode != 0:
            raise DataError("xrdcp %s failed: %s" % (url, proc.stderr.strip()[-500:]))
        return _adler32_file(dest)
    if url.startswith("file://"):
        shutil.copyfile(urllib.parse.urlparse(url).path, dest)
        return _adler32_file(dest)
    raise DataError("Cannot read %s: unsupported scheme." % url)


def _adler32_file(path):
    checksum = 1
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(1 << 20)
            if not chunk:
                break
            checksum = zlib.adler32(chunk, checksum)
    return "%08x" % (checksum & 0xFFFFFFFF)


def download(did, dest, scheme=None):
    """Copies every file of ``did`` into the directory ``dest``, checking each against Rucio's adler32.

    Returns the local paths. A file whose checksum differs is deleted and ChecksumMismatch raised.
    """
    dest = os.path.expanduser(dest)
    os.makedirs(dest, exist_ok=True)
    paths = []
    for f in files(did, scheme=scheme, details=True):
        name = f["did"].split(":", 1)[1].replace("/", "_")
        path = os.path.join(dest, name)
        partial = path + ".part"
        try:
            got = _copy(f["url"], partial, f["did"])
        except BaseException:
            if os.path.exists(partial):
                os.unlink(partial)
            raise
        if f.get("adler32") and got != f["adler32"].lower().zfill(8):
            os.unlink(partial)
            raise ChecksumMismatch("%s from %s has adler32 %s, Rucio says %s; the copy was removed." % (f["did"], f["url"], got, f["adler32"]), "CHECKSUM_MISMATCH")
        os.replace(partial, path)
        paths.append(path)
    return paths
