"""``from dask_gateway import Gateway`` on highrate where the real dask-gateway is not installed.

A synchronous client of highrate's dask-gateway REST API (under /services/dask-gateway) with
the public API notebooks use: Gateway, GatewayCluster, cluster options, the ``gateway://``
scheduler address (TLS through the platform's Dask port, SNI ``daskgateway-<cluster>``) and
dashboard links through the public proxy. Configured as dask-gateway is: arguments, else the
``gateway.*`` dask config (the notebook pod sets DASK_GATEWAY__ADDRESS, __PUBLIC_ADDRESS,
__PROXY_ADDRESS and __AUTH__TYPE=jupyterhub). What differs from the real package is listed in
highrate's docs/clusters.md. Written for highrate.
"""
import importlib.machinery
import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_real = importlib.machinery.PathFinder.find_spec(
    __name__, [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE])

if _real is not None:
    # The real dask-gateway is installed (this directory is first on PYTHONPATH): it wins.
    _module = importlib.util.module_from_spec(_real)
    sys.modules[__name__] = _module
    _real.loader.exec_module(_module)
else:
    from ._highrate import *  # noqa: F401,F403
    from ._highrate import __all__, __version__  # noqa: F401
