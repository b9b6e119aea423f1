"""Rate limits on signing in, submitting, uploading and the back-office API.

Counts are kept per signed-in user, or per client address for a visitor who is not
signed in, so one busy resident never slows down another behind the same city
network. The API counts per API client once its token is proven, and per address
otherwise, so a caller cannot use up a real client's allowance by naming it. Every
other page has a generous default limit of its own; probes, static files and the demo
services are never limited. The limits and the store of the counts are settings
(``RATELIMIT_*``); memory:// counts per process, a Redis URL shares the counts between
workers, and if that store fails the counts fall back to memory rather than refusing
everyone. A refusal is a 429 with ``Retry-After``: a page for people, an RFC 9457
problem for the API.
"""

from __future__ import annotations

import logging
import math
import time

from flask import Flask, current_app, request
from flask.typing import ResponseReturnValue
from flask_babel import ngettext
from flask_limiter import Limiter, RateLimitExceeded

from portal.api.views import problem, request_client
from portal.errors import ERROR_TEXT, render_error
from portal.identity.auth import current_user

log = logging.getLogger("portal.security")

LIMITER_KEY = "madoguchi.limiter"
# Each limited endpoint, the setting that holds its limits, and the methods that count.
ROUTE_LIMITS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "identity.start_sign_in": ("RATELIMIT_SIGN_IN", None),
    "identity.start_staff_sign_in": ("RATELIMIT_SIGN_IN", None),
    "identity.finish_sign_in": ("RATELIMIT_SIGN_IN", None),
    "identity.finish_staff_sign_in": ("RATELIMIT_SIGN_IN", None),
    "resident.submit_draft": ("RATELIMIT_SUBMIT", None),
    "resident.supply_documents": ("RATELIMIT_UPLOAD", ("POST",)),
}
API_BLUEPRINT = "api"
# Probes must always answer; the demo services are called by the portal itself, from
# one address, on behalf of every visitor.
EXEMPT_BLUEPRINTS = ("health", "demo_idp", "records_api")
API_DETAIL = "Too many requests from this client; wait the seconds Retry-After gives."


def client_address() -> str:
    """The visitor's address: the peer's, or behind ``PROXY_FIX_HOPS`` trusted proxies the
    one the outermost of them saw (``portal.proxies`` applies Werkzeug's ProxyFix, so
    addresses a client wrote into X-Forwarded-For itself are never believed)."""
    return request.remote_addr or "unknown"


def visitor_key() -> str:
    """Count a signed-in user's requests as theirs, anyone else's by address."""
    user = current_user()
    if user is not None:
        return f"user:{user.id}"
    return f"address:{client_address()}"


def api_client_key() -> str:
    """Count an API caller's requests per proven client, or per address without one."""
    client = request_client()
    if client is not None:
        return f"client:{client.client_id}"
    return f"address:{client_address()}"


def retry_after_seconds() -> int:
    """Whole seconds until the limit this request broke lets requests through again."""
    limiter: Limiter = current_app.extensions[LIMITER_KEY]
    broken = limiter.current_limit
    if broken is None:
        return 60
    return max(1, math.ceil(broken.reset_at - time.time()))


def answer_rate_limited(error: RateLimitExceeded) -> ResponseReturnValue:
    """Refuse with 429 and ``Retry-After``: a problem for the API, a page for people."""
    wait = retry_after_seconds()
    headers = {"Retry-After": str(wait)}
    log.warning(
        "rate limited",
        extra={"endpoint": request.endpoint, "limit": str(error.limit.limit), "wait": wait},
    )
    if request.blueprint == API_BLUEPRINT:
        return problem(429, API_DETAIL, headers=headers)
    minutes = max(1, round(wait / 60))
    message = ngettext(
        "You have made a lot of requests in a short time. Wait %(num)d minute, then try again.",
        "You have made a lot of requests in a short time. Wait %(num)d minutes, then try again.",
        minutes,
    )
    body, status = render_error(429, ERROR_TEXT[429][0], message)
    return body, status, headers


def init_app(app: Flask) -> None:
    """Install the limits on the routes that need them, unless RATELIMIT_ENABLED is off.

    Runs after every blueprint is registered and after the identity step, so that the
    signed-in user is known when the default limit is counted before each request.
    """
    if not app.config.get("RATELIMIT_ENABLED", True):
        return
    storage_uri = str(app.config["RATELIMIT_STORAGE_URI"])
    limiter = Limiter(
        key_func=visitor_key,
        default_limits=[str(app.config["RATELIMIT_DEFAULT"])],
        storage_uri=storage_uri,
        in_memory_fallback_enabled=not storage_uri.startswith("memory://"),
        headers_enabled=False,
    )
    limiter.init_app(app)
    app.extensions[LIMITER_KEY] = limiter

    for endpoint, (setting, methods) in ROUTE_LIMITS.items():
        view = app.view_functions[endpoint]
        limit = limiter.limit(str(app.config[setting]), methods=list(methods) if methods else None)
        app.view_functions[endpoint] = limit(view)
    api_limit = limiter.limit(
        str(app.config["RATELIMIT_API"]), key_func=api_client_key, error_message=API_DETAIL
    )
    api_limit(app.blueprints[API_BLUEPRINT])
    for name in EXEMPT_BLUEPRINTS:
        if name in app.blueprints:
            limiter.exempt(app.blueprints[name])
    app.register_error_handler(RateLimitExceeded, answer_rate_limited)
