import os


def format_template(x):
    """Config values may name environment variables, ``{JUPYTERHUB_SERVICE_PREFIX}`` style."""
    if isinstance(x, str):
        return x.format(**os.environ)
    return x
