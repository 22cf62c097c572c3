"""How the client proves who it is: dask-gateway's ``gateway.auth`` plug-ins (basic, jupyterhub,
or a dotted class path). An authenticator answers a 401 with the headers of the retry."""
import base64
import getpass
import importlib
import os

import dask

from .utils import format_template

__all__ = ["GatewayAuth", "BasicAuth", "JupyterHubAuth", "get_auth"]


class GatewayAuth:
    """Base class: ``pre_request(resp)`` returns ``(headers, context)`` for the retried request."""

    def __init__(self, **kwargs):
        pass

    def pre_request(self, resp):
        return {}, None

    def post_response(self, resp, context=None):
        pass


class BasicAuth(GatewayAuth):
    def __init__(self, username=None, password=None):
        self.username = username or getpass.getuser()
        self.password = password or ""

    def pre_request(self, resp):
        token = base64.b64encode(("%s:%s" % (self.username, self.password)).encode()).decode()
        return {"Authorization": "Basic " + token}, None


class JupyterHubAuth(GatewayAuth):
    """``Authorization: jupyterhub <token>``, the token defaulting to JUPYTERHUB_API_TOKEN."""

    def __init__(self, api_token=None):
        api_token = api_token or os.environ.get("JUPYTERHUB_API_TOKEN")
        if not api_token:
            raise ValueError("No JupyterHub API token provided, and JUPYTERHUB_API_TOKEN is not set")
        self.api_token = api_token

    def pre_request(self, resp):
        return {"Authorization": "jupyterhub " + self.api_token}, None


_BY_NAME = {"basic": BasicAuth, "jupyterhub": JupyterHubAuth}


def get_auth(auth=None):
    """An authenticator from an instance, a name or class path, or the ``gateway.auth`` config."""
    if isinstance(auth, GatewayAuth):
        return auth
    if auth is None:
        auth = dask.config.get("gateway.auth.type", "basic")
        kwargs = {k: format_template(v) for k, v in (dask.config.get("gateway.auth.kwargs", None) or {}).items()}
    else:
        kwargs = {}
    if isinstance(auth, str):
        cls = _BY_NAME.get(auth.lower())
        if cls is None:
            module, _, name = auth.rpartition(".")
            if not module:
                raise ValueError("Unknown dask-gateway auth type %r" % auth)
            cls = getattr(importlib.import_module(module), name)
    elif isinstance(auth, type):
        cls = auth
    else:
        raise TypeError("auth must be a GatewayAuth, a class or a name, got %r" % type(auth).__name__)
    return cls(**kwargs)
