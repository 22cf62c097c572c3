"""Gateway and GatewayCluster over highrate's dask-gateway REST API.

The wire protocol is dask-gateway's: JSON over HTTP(S), a request first sent without
credentials and repeated with the authenticator's headers after a 401 (the server then sets a
cookie that spares the repeat), ``?wait`` while a cluster is PENDING, and a scheduler reached
at ``gateway://<proxy>/<cluster>`` with the cluster's own TLS pair. The TLS and ``gateway://``
comm parts are highrate_dask's (one implementation for both modules).
"""
import atexit
import enum
import http.cookiejar
import json
import logging
import sys
import time
import urllib.error
import urllib.request
import warnings
import weakref
from datetime import datetime
from urllib.parse import urlparse

import dask
from distributed import Client

import highrate_dask

from .auth import get_auth
from .options import Options
from .utils import format_template

__all__ = ["Gateway", "GatewayCluster", "ClusterReport", "ClusterStatus", "GatewayClusterError", "GatewayServerError", "GatewayWarning"]

logger = logging.getLogger("dask_gateway")


class GatewayClusterError(Exception):
    """The cluster failed, stopped, or is in a state that forbids the request (HTTP 409)."""


class GatewayServerError(Exception):
    """The gateway failed with HTTP 500."""


class GatewayWarning(UserWarning):
    pass


class ClusterStatus(enum.IntEnum):
    PENDING = 1
    RUNNING = 2
    STOPPING = 3
    STOPPED = 4
    FAILED = 5

    @classmethod
    def _create(cls, x):
        if isinstance(x, cls):
            return x
        try:
            return cls[str(x).upper()]
        except KeyError:
            raise ValueError("%r is not a valid ClusterStatus" % (x,)) from None


class ClusterReport:
    """One cluster as the API reports it, with the addresses a client needs."""

    __slots__ = ("name", "options", "status", "scheduler_address", "dashboard_link", "start_time", "stop_time", "tls_cert", "tls_key")

    def __init__(self, name, options, status, scheduler_address, dashboard_link, start_time, stop_time, tls_cert=None, tls_key=None):
        self.name = name
        self.options = options
        self.status = status
        self.scheduler_address = scheduler_address
        self.dashboard_link = dashboard_link
        self.start_time = start_time
        self.stop_time = stop_time
        self.tls_cert = tls_cert
        self.tls_key = tls_key

    def __repr__(self):
        return "ClusterReport<name=%s, status=%s>" % (self.name, self.status.name)

    @property
    def security(self):
        """The cluster's TLS pair as a distributed Security, or None without credentials."""
        if self.tls_key is None:
            return None
        return highrate_dask.security({"name": self.name, "tls_cert": self.tls_cert, "tls_key": self.tls_key})

    @classmethod
    def _from_json(cls, public_address, proxy_address, msg):
        msg = dict(msg)
        status = ClusterStatus._create(msg.pop("status"))
        name = msg.pop("name")
        stop_time = msg.pop("stop_time")
        route = msg.pop("dashboard_route")
        return cls(
            name=name,
            status=status,
            start_time=datetime.fromtimestamp(msg.pop("start_time") / 1000),
            stop_time=None if stop_time is None else datetime.fromtimestamp(stop_time / 1000),
            scheduler_address="%s/%s" % (proxy_address, name) if status is ClusterStatus.RUNNING else None,
            # The dashboard through the platform's public proxy (never the scheduler's own port).
            dashboard_link=public_address + route if route else None,
            **msg,
        )


def _proxy_address(address, proxy_address):
    """dask-gateway's rule: a full address, a port on the API's host, or the API's host and port."""
    if proxy_address is None:
        parsed = urlparse(address)
        port = parsed.port or {"http": 80, "https": 443}.get(parsed.scheme, 8786)
        netloc = "%s:%d" % (parsed.hostname, port)
    elif isinstance(proxy_address, int):
        netloc = "%s:%d" % (urlparse(address).hostname, proxy_address)
    else:
        parsed = urlparse(proxy_address)
        netloc = parsed.netloc or proxy_address
    return "gateway://" + netloc


class Gateway:
    """A client of the platform's dask-gateway API.

    Arguments default to the ``gateway.address``, ``gateway.public-address``,
    ``gateway.proxy-address`` and ``gateway.auth`` dask config (DASK_GATEWAY__* variables).
    Only the synchronous API is provided.
    """

    def __init__(self, address=None, proxy_address=None, public_address=None, auth=None, asynchronous=False, loop=None):
        if asynchronous:
            raise NotImplementedError("highrate's dask_gateway module is synchronous only")
        if address is None:
            address = format_template(dask.config.get("gateway.address", None))
        if address is None:
            raise ValueError("No dask-gateway address provided or found in configuration")
        self.address = address.rstrip("/")
        if public_address is None:
            public_address = format_template(dask.config.get("gateway.public-address", None))
        self._public_address = (public_address or self.address).rstrip("/")
        if proxy_address is None:
            proxy_address = format_template(dask.config.get("gateway.proxy-address", None))
        self.proxy_address = _proxy_address(self.address, proxy_address)
        self.auth = get_auth(auth)
        # As dask-gateway's "unsafe" cookie jar: the gateway's auth cookie is kept for IP hosts too.
        self._cookies = http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy())
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self._cookies))
        self.asynchronous = False

    def __repr__(self):
        return "Gateway<%s>" % self.address

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.close()

    def _request(self, method, path, body=None):
        url = self.address + path
        data = None if body is None else json.dumps(body).encode()

        def send(headers):
            req = urllib.request.Request(url, data=data, method=method, headers=headers)
            if data is not None:
                req.add_header("Content-Type", "application/json")
            return self._opener.open(req, timeout=120)

        try:
            try:
                resp = send({})
            except urllib.error.HTTPError as err:
                if err.code != 401:
                    raise
                headers, context = self.auth.pre_request(err)
                resp = send(headers)
                self.auth.post_response(resp, context)
            with resp:
                text = resp.read().decode()
        except urllib.error.HTTPError as err:
            raise _error(err) from None
        return json.loads(text) if text else None

    def list_clusters(self, status=None):
        """Your clusters as ClusterReports; by default the PENDING and RUNNING ones."""
        query = ""
        if status is not None:
            statuses = [status] if isinstance(status, (str, ClusterStatus)) else status
            query = "?status=" + ",".join(ClusterStatus._create(s).name for s in statuses)
        data = self._request("GET", "/api/v1/clusters/" + query)
        return [ClusterReport._from_json(self._public_address, self.proxy_address, r) for r in data.values()]

    def get_cluster(self, cluster_name, wait=False):
        data = self._request("GET", "/api/v1/clusters/%s%s" % (cluster_name, "?wait" if wait else ""))
        return ClusterReport._from_json(self._public_address, self.proxy_address, data)

    def get_versions(self):
        from . import __version__
        return {"server": self._request("GET", "/api/version"), "client": {"version": __version__}}

    def _config_cluster_options(self):
        opts = dask.config.get("gateway.cluster.options", None) or {}
        return {k: format_template(v) for k, v in opts.items()}

    def cluster_options(self, use_local_defaults=True):
        """The options this gateway offers, with their defaults, as an Options mapping."""
        options = Options._from_spec(self._request("GET", "/api/v1/options")["cluster_options"])
        if use_local_defaults:
            options.update(self._config_cluster_options())
        return options

    def submit(self, cluster_options=None, **kwargs):
        """Asks for a new cluster; returns its name at once."""
        if cluster_options is not None:
            if not isinstance(cluster_options, Options):
                raise TypeError("cluster_options must be an `Options`, got %r" % type(cluster_options).__name__)
            options = dict(cluster_options)
        else:
            options = self._config_cluster_options()
        options.update(kwargs)
        return self._request("POST", "/api/v1/clusters/", {"cluster_options": options})["name"]

    def _wait_for_start(self, cluster_name):
        while True:
            report = self.get_cluster(cluster_name, wait=True)
            if report.status is ClusterStatus.RUNNING:
                return report
            if report.status is ClusterStatus.FAILED:
                raise GatewayClusterError("Cluster %r failed to start, see logs for more information" % cluster_name)
            if report.status is ClusterStatus.STOPPED:
                raise GatewayClusterError("Cluster %r is already stopped" % cluster_name)
            time.sleep(0.5)

    def connect(self, cluster_name, shutdown_on_close=False):
        """A GatewayCluster for a cluster that exists (waits while it is PENDING)."""
        return GatewayCluster.from_name(cluster_name, shutdown_on_close=shutdown_on_close, gateway=self)

    def new_cluster(self, cluster_options=None, shutdown_on_close=True, **kwargs):
        """Creates a cluster and waits until it runs."""
        return GatewayCluster(cluster_options=cluster_options, shutdown_on_close=shutdown_on_close, gateway=self, **kwargs)

    def stop_cluster(self, cluster_name):
        self._request("DELETE", "/api/v1/clusters/%s" % cluster_name)

    def scale_cluster(self, cluster_name, n):
        _warn_if_refused(self._request("POST", "/api/v1/clusters/%s/scale" % cluster_name, {"count": n}))

    def adapt_cluster(self, cluster_name, minimum=None, maximum=None, active=True):
        body = {"minimum": minimum, "maximum": maximum, "active": active}
        _warn_if_refused(self._request("POST", "/api/v1/clusters/%s/adapt" % cluster_name, body))


def _warn_if_refused(msg):
    if isinstance(msg, dict) and not msg.get("ok", True) and msg.get("msg"):
        warnings.warn(GatewayWarning(msg["msg"]))


def _error(err):
    """dask-gateway's mapping of an error answer: 404/422 ValueError, 409 GatewayClusterError,
    500 GatewayServerError, the HTTP error itself otherwise (401, 403)."""
    try:
        reason = json.loads(err.read().decode())["error"]
    except Exception:  # noqa: BLE001 - an unreadable body: report the status
        reason = "HTTP %d" % err.code
    if err.code in (404, 422):
        return ValueError(reason)
    if err.code == 409:
        return GatewayClusterError(reason)
    if err.code == 500:
        return GatewayServerError(reason)
    return urllib.error.HTTPError(err.url, err.code, reason, err.headers, None)


class GatewayCluster:
    """A cluster of the gateway: ``Gateway().new_cluster()``, ``Gateway().connect(name)`` or
    ``GatewayCluster(**options)``. A distributed ``Client(cluster)`` works, and takes its
    ``dashboard_link`` from the cluster."""

    _instances = weakref.WeakSet()

    def __init__(self, address=None, proxy_address=None, public_address=None, auth=None, cluster_options=None,
                 shutdown_on_close=True, asynchronous=False, loop=None, gateway=None, **kwargs):
        self._init(gateway or Gateway(address, proxy_address, public_address, auth, asynchronous, loop), shutdown_on_close)
        self._start(submit=lambda: self.gateway.submit(cluster_options, **kwargs))

    @classmethod
    def from_name(cls, cluster_name, shutdown_on_close=False, address=None, proxy_address=None, public_address=None,
                  auth=None, asynchronous=False, loop=None, gateway=None):
        self = object.__new__(cls)
        self._init(gateway or Gateway(address, proxy_address, public_address, auth, asynchronous, loop), shutdown_on_close)
        self.name = cluster_name
        self._start(submit=None)
        return self

    def _init(self, gateway, shutdown_on_close):
        self.gateway = gateway
        self.shutdown_on_close = shutdown_on_close
        self.status = "created"
        self.name = None
        self.scheduler_address = None
        self.dashboard_link = None
        self.security = None
        self.asynchronous = False
        self._clients = weakref.WeakSet()
        GatewayCluster._instances.add(self)

    def _start(self, submit):
        self.status = "starting"
        try:
            if submit is not None:
                self.name = submit()
            report = self.gateway._wait_for_start(self.name)
        except BaseException:
            self.close()
            raise
        self.scheduler_address = report.scheduler_address
        self.dashboard_link = report.dashboard_link
        self.security = report.security
        self.status = "running"

    def __await__(self):
        # distributed's Client awaits the cluster it is given; this one is started already.
        async def started():
            return self
        return started().__await__()

    def get_client(self, set_as_default=True):
        """A distributed.Client of this cluster (closed with it)."""
        client = Client(self, security=self.security, set_as_default=set_as_default)
        self._clients.add(client)
        return client

    def scale(self, n):
        """Scales to ``n`` workers (adaptive scaling off)."""
        return self.gateway.scale_cluster(self.name, n)

    def adapt(self, minimum=None, maximum=None, active=True):
        """Adaptive scaling between ``minimum`` and ``maximum`` workers."""
        return self.gateway.adapt_cluster(self.name, minimum=minimum, maximum=maximum, active=active)

    def close(self, shutdown=None):
        """Closes this object's clients; stops the cluster if ``shutdown`` (default: ``shutdown_on_close``)."""
        if self.status == "closed":
            return
        GatewayCluster._instances.discard(self)
        self.status = "closing"
        for client in list(self._clients):
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing the others and the cluster matters more
                logger.warning("Exception raised while closing clients", exc_info=True)
        if (self.shutdown_on_close if shutdown is None else shutdown) and self.name is not None:
            try:
                self.gateway.stop_cluster(self.name)
            except Exception:  # noqa: BLE001 - as dask-gateway: a failed stop is logged, not raised
                logger.error("Exception raised while shutting down cluster %s", self.name, exc_info=True)
        self.status = "closed"

    def shutdown(self):
        """Stops the cluster."""
        return self.close(shutdown=True)

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.close()

    def __del__(self):
        if getattr(self, "gateway", None) is not None and not sys.is_finalizing():
            self.close()

    def __repr__(self):
        return "GatewayCluster<%s, status=%s>" % (self.name, self.status)

    def _repr_html_(self):
        link = "<a href='{0}' target='_blank'>{0}</a>".format(self.dashboard_link) if self.dashboard_link else "Not Available"
        return ("<div style='display: flex;'><div>"
                "<h3 style='margin-bottom: 0px;'>GatewayCluster</h3><ul>"
                "<li><b>Name: </b>%s</li><li><b>Dashboard: </b>%s</li></ul></div></div>") % (self.name, link)


@atexit.register
def _cleanup_lingering_clusters():
    for cluster in list(GatewayCluster._instances):
        try:
            cluster.close()
        except Exception:  # noqa: BLE001 - at exit, every cluster gets its turn
            pass
