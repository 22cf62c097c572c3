"""Dask clusters of the highrate platform, from a notebook server on it.

The notebook's environment already points ``dask_gateway.Gateway()`` at the platform (the
DASK_GATEWAY__* variables and JUPYTERHUB_API_TOKEN). Without dask-gateway installed, this module
does the same with only ``distributed``::

    from highrate_dask import new_cluster, connect
    name = new_cluster(workers=2)           # or: new_cluster(worker_cores=2, worker_memory="4G")
    client = connect(name)                  # a distributed.Client over TLS, through the Dask port
    client.submit(sum, [1, 2, 3]).result()

It also registers dask-gateway's ``gateway://host:port/<cluster>`` address scheme with
distributed (when dask-gateway is not installed), so the ``scheduler_address`` the gateway API
reports works with ``distributed.Client`` and ``security(cluster)``.

Written for highrate; it speaks the dask-gateway REST API at DASK_GATEWAY__ADDRESS.
"""
import json
import os
import time
import urllib.error
import urllib.request
import weakref

from distributed import Client
from distributed.comm.registry import backends
from distributed.comm.tcp import TLSBackend, TLSConnector
from distributed.comm.addressing import parse_host_port
from distributed.security import Security

__all__ = ["connect", "new_cluster", "list_clusters", "get_cluster", "scale", "adapt", "stop", "security"]

SNI_PREFIX = "daskgateway-"


class GatewayError(RuntimeError):
    """The gateway refused a request; the message is its reason."""


def _address():
    address = os.environ.get("DASK_GATEWAY__ADDRESS")
    if not address:
        raise GatewayError("DASK_GATEWAY__ADDRESS is not set: is this a notebook server of the platform?")
    return address.rstrip("/")


def _request(method, path, body=None, token=None):
    token = token or os.environ.get("JUPYTERHUB_API_TOKEN")
    if not token:
        raise GatewayError("JUPYTERHUB_API_TOKEN is not set")
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(_address() + path, data=data, method=method)
    req.add_header("Authorization", "jupyterhub " + token)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            text = resp.read().decode()
    except urllib.error.HTTPError as err:
        try:
            reason = json.loads(err.read().decode())["error"]
        except Exception:  # noqa: BLE001 - any unreadable body: report the status
            reason = "HTTP %d" % err.code
        raise GatewayError(reason) from None
    return json.loads(text) if text else None


def list_clusters(status="RUNNING,PENDING"):
    """Your clusters: {name: cluster JSON}."""
    return _request("GET", "/api/v1/clusters/?status=" + status)


def get_cluster(name, wait=False):
    """One cluster's JSON (dask-gateway's), waiting while it is PENDING with ``wait``."""
    return _request("GET", "/api/v1/clusters/%s%s" % (name, "?wait" if wait else ""))


def new_cluster(workers=0, adapt_between=None, **options):
    """Creates a cluster with these options (see the gateway's options), waits for it, scales it;
    returns its name."""
    name = _request("POST", "/api/v1/clusters/", {"cluster_options": options})["name"]
    report = _wait(name)
    if adapt_between:
        adapt(name, *adapt_between)
    elif workers:
        scale(name, workers)
    return report["name"]


def _wait(name, timeout=300):
    until = time.time() + timeout
    while True:
        report = get_cluster(name, wait=True)
        if report["status"] == "RUNNING":
            return report
        if report["status"] in ("FAILED", "STOPPED"):
            raise GatewayError("cluster %s is %s" % (name, report["status"].lower()))
        if time.time() > until:
            raise GatewayError("cluster %s did not start in %d s" % (name, timeout))
        time.sleep(0.5)


def scale(name, n):
    """Scales to ``n`` workers (switches adaptive off)."""
    return _request("POST", "/api/v1/clusters/%s/scale" % name, {"count": n})


def adapt(name, minimum=0, maximum=None):
    """Adaptive scaling between ``minimum`` and ``maximum`` workers."""
    return _request("POST", "/api/v1/clusters/%s/adapt" % name, {"minimum": minimum, "maximum": maximum, "active": True})


def stop(name):
    """Shuts the cluster down."""
    _request("DELETE", "/api/v1/clusters/%s" % name)


class ClusterSecurity(Security):
    """The cluster's TLS pair as CA, certificate and key, and its SNI name, which the platform's
    Dask port routes by (distributed's TLS connector takes ``server_hostname`` from the
    connection arguments, as ``dask worker --scheduler-sni`` sets it)."""

    def __init__(self, sni, **kwargs):
        super().__init__(**kwargs)
        self.sni = sni

    def get_connection_args(self, role):
        args = super().get_connection_args(role)
        args["server_hostname"] = self.sni
        return args


def _in_memory_file(name, text, owner):
    """A path to ``text`` that exists only in this process: a memfd, read through /proc/self/fd.
    Python's ssl module loads keys from files only, and distributed loads them again at each
    connection; a file in /tmp would outlive a kernel that is SIGKILLed (as Jupyter does to a
    kernel that does not stop), with the cluster's private key in it. Closed with ``owner``."""
    fd = os.memfd_create(name)
    os.write(fd, text.encode())
    weakref.finalize(owner, os.close, fd)
    return "/proc/self/fd/%d" % fd


def security(cluster):
    """A Security for a cluster JSON (with ``tls_cert``/``tls_key``); the pair stays in memory."""
    if not cluster.get("tls_cert") or not cluster.get("tls_key"):
        raise GatewayError("cluster %s has no credentials (is it running, and is it yours?)" % cluster.get("name"))
    sec = ClusterSecurity(SNI_PREFIX + cluster["name"], require_encryption=True)
    cert = _in_memory_file("dask.crt", cluster["tls_cert"], sec)
    key = _in_memory_file("dask.pem", cluster["tls_key"], sec)
    sec.tls_ca_file = sec.tls_client_cert = cert
    sec.tls_client_key = key
    return sec


def _proxy_hostport():
    proxy = os.environ.get("DASK_GATEWAY__PROXY_ADDRESS", "")
    if proxy.startswith("gateway://"):
        proxy = proxy[len("gateway://"):]
    if not proxy:
        raise GatewayError("DASK_GATEWAY__PROXY_ADDRESS is not set")
    return proxy.rstrip("/")


def connect(name=None, **client_kwargs):
    """A distributed.Client connected to cluster ``name`` (default: your newest running one)."""
    if name is None:
        running = sorted(list_clusters("RUNNING").values(), key=lambda c: c["start_time"])
        if not running:
            raise GatewayError("you have no running cluster; create one with new_cluster()")
        name = running[-1]["name"]
    _wait(name)
    # Through dask_gateway's cluster object, as dask-gateway does: the Client then takes its
    # dashboard_link from the cluster (the public proxy's route), not from the scheduler's
    # internal port. Imported here: dask_gateway imports this module.
    from dask_gateway import Gateway
    from dask_gateway.auth import JupyterHubAuth
    gateway = Gateway(_address(), "gateway://" + _proxy_hostport(), os.environ.get("DASK_GATEWAY__PUBLIC_ADDRESS"), JupyterHubAuth())
    return Client(gateway.connect(name), **client_kwargs)


# ---- gateway://host:port/<cluster> addresses, when dask-gateway is not installed


def _split(address):
    hostport, _, name = address.partition("/")
    if not name:
        raise ValueError("gateway address %r has no cluster name" % address)
    return hostport, name.strip("/")


class _GatewayConnector(TLSConnector):
    prefix = "gateway://"

    async def connect(self, address, deserialize=True, **connection_args):
        hostport, name = _split(address)
        connection_args = dict(connection_args)
        connection_args["server_hostname"] = SNI_PREFIX + name
        return await super().connect(hostport, deserialize, **connection_args)


class _GatewayBackend(TLSBackend):
    _connector_class = _GatewayConnector

    def get_listener(self, *args, **kwargs):
        raise NotImplementedError("gateway:// addresses are for connecting only")

    def get_address_host(self, loc):
        return parse_host_port(_split(loc)[0])[0]

    def get_address_host_port(self, loc):
        return parse_host_port(_split(loc)[0])

    def resolve_address(self, loc):
        return loc

    def get_local_address_for(self, loc):
        return super().get_local_address_for(_split(loc)[0])


if "gateway" not in backends:
    backends["gateway"] = _GatewayBackend()
