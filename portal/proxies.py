"""Behind reverse proxies: believe the X-Forwarded-* headers of exactly the trusted ones.

With ``PROXY_FIX_HOPS`` = n (nginx in front: 1), Werkzeug's ``ProxyFix`` takes the
client's address, the scheme, the host and the port from the n-th value from the right
of ``X-Forwarded-For``, ``-Proto``, ``-Host`` and ``-Port``: the values the outermost
trusted proxy wrote. Anything further left was written by the client and is ignored.
The scheme and host make the addresses the portal builds for itself right (the OpenID
redirect URI is ``https://…`` behind a proxy that ends TLS). ``X-Forwarded-Prefix`` is
never believed: the portal is served at the root of its host.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

SETTING = "PROXY_FIX_HOPS"


def init_app(app: Flask) -> None:
    """Wrap the WSGI app in ProxyFix when PROXY_FIX_HOPS says proxies stand in front."""
    hops = int(app.config.get(SETTING, 0))
    if hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=0
        )
