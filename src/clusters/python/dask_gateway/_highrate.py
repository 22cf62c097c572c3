"""The module proper (see __init__), imported when the real dask-gateway is absent."""
import dask

dask.config.update_defaults({
    "gateway": {
        "address": None,
        "public-address": None,
        "proxy-address": None,
        "auth": {"type": "basic", "kwargs": {}},
        "http-client": {"proxy": True},
        "cluster": {"options": {}},
    }
})

from .auth import BasicAuth, GatewayAuth, JupyterHubAuth  # noqa: E402
from .client import (  # noqa: E402
    ClusterReport,
    ClusterStatus,
    Gateway,
    GatewayCluster,
    GatewayClusterError,
    GatewayServerError,
    GatewayWarning,
)
from .options import Options  # noqa: E402

__version__ = "2022.12.0+highrate"

__all__ = [
    "Gateway", "GatewayCluster", "GatewayClusterError", "GatewayServerError", "GatewayWarning",
    "ClusterReport", "ClusterStatus", "Options", "GatewayAuth", "BasicAuth", "JupyterHubAuth",
]
