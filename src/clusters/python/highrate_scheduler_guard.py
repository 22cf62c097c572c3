"""Scheduler preload written for highrate: every request to the scheduler's HTTP server (dashboard,
JSON, Prometheus and /api/v1 routes, WebSockets included) must carry ``Authorization: token <t>``
with the cluster's own HTTP token; anything else gets 403.

Why: the scheduler's HTTP server has no authentication of its own, and with the API routes enabled
(``/api/v1/retire_workers``) anyone who can reach its port could retire workers. On a shared host
every pod can reach every loopback port, so the port alone protects nothing. The platform's proxy
adds this header after its own edge check (owner or admin), and the hub uses it to poll.

The check sits in front of the whole Tornado application (an ``HTTPServerConnectionDelegate`` put
in place of the server's request callback), so routes added later by bokeh are covered too. The
token is read from the file named by ``HIGHRATE_DASK_HTTP_TOKEN_FILE``. Where bokeh is missing,
the dashboard link (``/clusters/<name>/status``) is redirected to the cluster's portal page.
"""
import hmac
import importlib.util
import os
import re

from tornado import httputil

_FORBIDDEN = b'{"error": "A valid token for this cluster is required."}'


def _read_token():
    path = os.environ.get("HIGHRATE_DASK_HTTP_TOKEN_FILE", "")
    with open(path, "rb") as f:
        token = f.read().strip()
    if not token:
        raise RuntimeError("highrate: the cluster's HTTP token file is empty")
    return token


def _presented(headers):
    value = headers.get("Authorization", "")
    scheme, _, credential = value.partition(" ")
    if scheme.lower() not in ("token", "bearer"):
        return b""
    return credential.strip().encode("utf-8", "replace")


class _Refusal(httputil.HTTPMessageDelegate):
    """Answers 403 once the request is fully read, so the connection stays usable."""

    def __init__(self, request_conn):
        self._conn = request_conn

    def headers_received(self, start_line, headers):
        return None

    def data_received(self, chunk):
        return None

    def finish(self):
        headers = httputil.HTTPHeaders()
        headers["Content-Type"] = "application/json"
        headers["Content-Length"] = str(len(_FORBIDDEN))
        self._conn.write_headers(httputil.ResponseStartLine("HTTP/1.1", 403, "Forbidden"), headers, _FORBIDDEN)
        self._conn.finish()

    def on_connection_close(self):
        return None


class _Redirect(_Refusal):
    """Sends the browser elsewhere (302) once the request is fully read."""

    def __init__(self, request_conn, location):
        super().__init__(request_conn)
        self._location = location

    def finish(self):
        headers = httputil.HTTPHeaders()
        headers["Location"] = self._location
        headers["Content-Length"] = "0"
        headers["Cache-Control"] = "no-store"
        self._conn.write_headers(httputil.ResponseStartLine("HTTP/1.1", 302, "Found"), headers, b"")
        self._conn.finish()


# Without bokeh (Debian's Dask) the scheduler has no dashboard: its /status page only says
# "Dask needs bokeh". The dashboard link (<prefix>/status, what dask-gateway's dashboard_link and
# the Client show) then leads to the cluster's page in the portal, highrate's live dashboard.
_STATUS = re.compile(r"^/clusters/([0-9A-Za-z_.-]+)/status/?(?:\?.*)?$")
_HAS_BOKEH = importlib.util.find_spec("bokeh") is not None


def _elsewhere(start_line):
    if _HAS_BOKEH or start_line.method not in ("GET", "HEAD"):
        return None
    m = _STATUS.match(start_line.path)
    return "/hub/clusters/" + m.group(1) if m else None


class _Checked(httputil.HTTPMessageDelegate):
    """Decides on the headers, then hands the request to the application or to a refusal."""

    def __init__(self, app, server_conn, request_conn, token):
        self._app = app
        self._server_conn = server_conn
        self._request_conn = request_conn
        self._token = token
        self._inner = None

    def headers_received(self, start_line, headers):
        location = _elsewhere(start_line)
        if not hmac.compare_digest(_presented(headers), self._token):
            self._inner = _Refusal(self._request_conn)
        elif location:
            self._inner = _Redirect(self._request_conn, location)
        else:
            self._inner = self._app.start_request(self._server_conn, self._request_conn)
        return self._inner.headers_received(start_line, headers)

    def data_received(self, chunk):
        return self._inner.data_received(chunk)

    def finish(self):
        return self._inner.finish()

    def on_connection_close(self):
        if self._inner is not None:
            self._inner.on_connection_close()


class _Guard(httputil.HTTPServerConnectionDelegate):
    def __init__(self, app, token):
        self._app = app
        self._token = token

    def start_request(self, server_conn, request_conn):
        return _Checked(self._app, server_conn, request_conn, self._token)

    def on_close(self, server_conn):
        self._app.on_close(server_conn)


def dask_setup(scheduler):
    server = scheduler.http_server
    server.request_callback = _Guard(server.request_callback, _read_token())
