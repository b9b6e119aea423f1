"""The security baseline every response carries, and the redirect rule every view uses.

The Content-Security-Policy allows scripts and styles only from the portal itself or
with the per-request nonce, never inline handlers or ``eval``; pages must work with
no script at all. Dynamic responses are never cached, because most of them show a
signed-in person's data.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from flask import Flask, Response, g, request

from portal.database import set_write_intent

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# "%2F", "%5C", and the control characters "%00"-"%1F" and "%7F", in either case.
_ENCODED_SEPARATOR = re.compile(r"%(2f|5c|[01][0-9a-f]|7f)", re.IGNORECASE)


def csp_nonce() -> str:
    """Return this request's nonce for ``<script nonce>`` and ``<style nonce>``."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def content_security_policy(nonce: str, form_targets: tuple[str, ...] = ()) -> str:
    """Build the policy; ``form_targets`` adds origins a form may post or redirect to."""
    form_action = " ".join(("'self'", *form_targets))
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            f"style-src 'self' 'nonce-{nonce}'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            f"form-action {form_action}",
            "frame-ancestors 'none'",
        )
    )


def is_safe_redirect(target: str | None) -> bool:
    """Allow only same-site paths such as ``/applications``: no scheme, host or ``//``.

    Slashes, backslashes and control characters written with percent signs in the
    path are refused too, so that no later decoding can turn the path into a host.
    """
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return False
    if any(ch in target for ch in "\\\r\n\t") or any(ord(ch) < 32 for ch in target):
        return False
    if _ENCODED_SEPARATOR.search(target.split("?", 1)[0].split("#", 1)[0]):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_redirect_target(target: str | None, fallback: str = "/") -> str:
    """Return ``target`` when it is a local path, otherwise ``fallback``."""
    return target if is_safe_redirect(target) else fallback


def init_app(app: Flask) -> None:
    """Install the headers and the database write-intent hook on every request."""
    production = app.config["PORTAL_ENV"] == "production"

    @app.before_request
    def _declare_write_intent() -> None:
        set_write_intent(request.method not in SAFE_METHODS)

    @app.teardown_request
    def _reset_write_intent(_error: BaseException | None) -> None:
        set_write_intent(True)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers["Content-Security-Policy"] = content_security_policy(
            csp_nonce(), tuple(app.config.get("CSP_FORM_TARGETS", ()))
        )
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "same-origin"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
        if production:
            headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        if request.endpoint != "static":
            headers["Cache-Control"] = "no-store"
        return response

    app.jinja_env.globals["csp_nonce"] = csp_nonce
