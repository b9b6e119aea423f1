"""Handing stored files to the people allowed to see them: always as a download."""

from __future__ import annotations

from urllib.parse import quote

from flask import current_app
from werkzeug.wrappers import Response


def send_document(data: bytes, mimetype: str, filename: str | None = None) -> Response:
    """A stored file as an attachment (never shown inline), with ``nosniff`` from the app."""
    response = current_app.response_class(data, mimetype=mimetype)
    if filename:
        ascii_name = filename.encode("ascii", "ignore").decode() or "document"
        response.headers["Content-Disposition"] = (
            f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
        )
    else:
        response.headers["Content-Disposition"] = "attachment"
    return response
