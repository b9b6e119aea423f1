"""Error pages in the visitor's language, and JSON errors for the machine interfaces."""

from __future__ import annotations

import logging

from flask import Flask, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.http import HTTP_STATUS_CODES

log = logging.getLogger("portal.errors")

# What the visitor reads: a title and what to do next, never a stack trace.
ERROR_TEXT = {
    400: (
        _l("There is a problem with the request"),
        _l(
            "The page could not handle what was sent. "
            "Go back, check what you entered and try again."
        ),
    ),
    403: (
        _l("You do not have access to this page"),
        _l("If you think you should have access, sign in with the right account or contact us."),
    ),
    404: (
        _l("Page not found"),
        _l(
            "If you typed the web address, check it is correct. "
            "If you pasted it, check you copied the whole address."
        ),
    ),
    405: (
        _l("This action is not available here"),
        _l("Go back to the previous page and use the buttons on it."),
    ),
    413: (
        _l("The file is too large"),
        _l(
            "Go back and choose a smaller file, "
            "or send it by post or bring it to the counter instead."
        ),
    ),
    429: (
        _l("Too many requests"),
        _l("You have made a lot of requests in a short time. Wait a minute, then try again."),
    ),
    500: (
        _l("Sorry, there is a problem with the service"),
        _l("Try again later. What you have already saved is kept."),
    ),
}
CSRF_TEXT = (
    _l("Your session has expired"),
    _l("For your security, the form was not sent. Go back, reload the page and send it again."),
)


def wants_json() -> bool:
    """Machine interfaces get JSON errors; people get pages."""
    return request.path.startswith(("/api/", "/healthz", "/readyz", "/demo-registers/"))


def render_error(status: int, title: str, message: str) -> ResponseReturnValue:
    """Render one error, as a page or as JSON, with the request id for support calls."""
    if request.path.startswith("/api/"):
        # The back-office API speaks RFC 9457 problem details, its own errors as well.
        body = jsonify(type="about:blank", title=HTTP_STATUS_CODES.get(status, ""), status=status)
        body.mimetype = "application/problem+json"
        return body, status
    if wants_json():
        return jsonify(error={"status": status, "title": str(title)}), status
    return render_template("errors/error.html", status=status, title=title, message=message), status


def _too_large_message() -> str:
    """Say how much one request may carry and that nothing already saved was lost."""
    limit_mb = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)
    return _(
        "Everything sent at once must be %(max_mb)d MB or smaller, so nothing was sent. "
        "Your answers and the files you attached before are kept. Go back and choose a "
        "smaller file, or send it by post or bring it to the counter instead.",
        max_mb=limit_mb,
    )


def handle_http_error(error: HTTPException) -> ResponseReturnValue:
    status = error.code or 500
    title, message = ERROR_TEXT.get(status, ERROR_TEXT[400 if status < 500 else 500])
    if status == 413 and current_app.config.get("MAX_CONTENT_LENGTH"):
        message = _too_large_message()
    response = render_error(status, title, message)
    if status == 405 and getattr(error, "valid_methods", None):
        body, code = response
        return body, code, {"Allow": ", ".join(error.valid_methods)}
    return response


def handle_csrf_error(error: CSRFError) -> ResponseReturnValue:
    log.warning("csrf refused", extra={"reason": error.description})
    return render_error(400, *CSRF_TEXT)


def handle_unexpected_error(error: Exception) -> ResponseReturnValue:
    if isinstance(error, HTTPException):
        return handle_http_error(error)
    log.exception("unhandled error")
    return handle_http_error(InternalServerError())


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected_error)
