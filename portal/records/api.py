"""The demo register API: the portal's demo registers over the contract the ``http`` source reads.

Served under ``/demo-registers/v1`` in development, or where ``DEMO_REGISTERS_API=1``.
Every read needs ``Authorization: Bearer <RECORDS_API_TOKEN>``; with no token
configured every read is refused, so the API is never open by accident. It only
answers GET, so it is exempt from CSRF protection; errors are JSON.
"""

from __future__ import annotations

import hmac
import logging
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from portal.database import utcnow
from portal.extensions import csrf, db
from portal.records import services
from portal.records.extract import checked_sources
from portal.records.openapi import API_PREFIX, openapi_document
from portal.records.schema import ApiError, ErrorDocument

log = logging.getLogger("portal.records.api")

bp = Blueprint("records_api", __name__, url_prefix=API_PREFIX)
csrf.exempt(bp)

API_EXTENSION = "madoguchi.records.api"


def init_app(app: Flask, token: str | None) -> None:
    """Serve the API; ``token`` is the bearer token callers must present (None: refuse all)."""
    app.extensions[API_EXTENSION] = token or None
    app.register_blueprint(bp)


def _error(status: int, code: str, title: str) -> tuple[Response, int]:
    document = ErrorDocument(error=ApiError(status=status, code=code, title=title))  # type: ignore[arg-type]
    return jsonify(document.model_dump()), status


def _authorised() -> bool:
    """Compare the bearer token in constant time; no configured token admits nobody."""
    expected = current_app.extensions.get(API_EXTENSION)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer" or not given:
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())


@bp.get("/persons/<person_key>")
def get_person(person_key: str) -> ResponseReturnValue:
    if not _authorised():
        body, status = _error(401, "unauthorized", "A valid bearer token is required.")
        body.headers["WWW-Authenticate"] = 'Bearer realm="demo-registers"'
        return body, status
    names = [name.strip() for name in request.args.get("sources", "").split(",") if name.strip()]
    if not names:
        return _error(400, "bad_sources", "Name the registers to read in ?sources=.")
    try:
        wanted = checked_sources(names)
    except ValueError as error:
        return _error(400, "bad_sources", str(error))
    now = utcnow()
    today = now.astimezone(ZoneInfo(current_app.config["PORTAL_TIMEZONE"])).date()
    document = services.demo_extract(db.session, person_key, wanted, now=now, today=today)
    if document is None:
        return _error(404, "unknown_person", "The registers know no such person.")
    return Response(document.model_dump_json(), mimetype="application/json")


@bp.get("/openapi.json")
def get_openapi() -> ResponseReturnValue:
    return jsonify(openapi_document())


@bp.errorhandler(Exception)
def _error_as_json(error: Exception) -> ResponseReturnValue:
    """Answer errors raised inside the API's views in JSON, as machines expect."""
    if isinstance(error, HTTPException):
        return _error(error.code or 500, "request_error", error.name)
    log.exception("demo register API failed")
    return _error(500, "internal_error", "The demo registers could not be read.")
