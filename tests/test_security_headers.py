"""Every kind of page carries the security headers ``portal.security`` sets.

One request per kind: the site's pages, a resident's journey and dashboard, the back
office's work list and case view, the admin's health page, the API's JSON, the error
pages, a PDF download, a static file and the development outbox. Each must forbid
framing and sniffing, keep the referrer on the site and allow scripts only from the
portal or with the request's nonce; every dynamic answer is never cached, because
most show a signed-in person's data. Production adds HSTS to every kind.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete
from werkzeug.test import TestResponse

from portal import create_app
from portal.api.services import create_client
from portal.database import utcnow
from portal.extensions import db
from tests.backoffice.conftest import Staff, file_bereavement
from tests.conftest import app_config, csrf_token

STATIC_FILE = "/static/css/portal.css"


def assert_baseline(response: TestResponse, kind: str) -> None:
    """The headers every answer carries, whatever it is."""
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    directives = {}
    for part in csp.split(";"):
        name, _, value = part.strip().partition(" ")
        directives[name] = value
    assert re.fullmatch(r"'self' 'nonce-[A-Za-z0-9_-]{20,}'", directives.get("script-src", "")), (
        kind
    )
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, kind
    assert directives.get("default-src") == "'self'", kind
    assert directives.get("object-src") == "'none'", kind
    assert directives.get("base-uri") == "'none'", kind
    assert directives.get("frame-ancestors") == "'none'", kind
    assert directives.get("form-action", "").startswith("'self'"), kind
    assert headers.get("X-Content-Type-Options") == "nosniff", kind
    assert headers.get("X-Frame-Options") == "DENY", kind
    assert headers.get("Referrer-Policy") == "same-origin", kind
    assert headers.get("Cross-Origin-Opener-Policy") == "same-origin", kind
    assert "camera=()" in headers.get("Permissions-Policy", ""), kind


def assert_personal(response: TestResponse, kind: str) -> None:
    """A dynamic answer: the baseline, and never kept in any cache."""
    assert_baseline(response, kind)
    assert response.headers.get("Cache-Control") == "no-store", kind


@pytest.fixture
def office(signed_in_as, app: Flask, client: FlaskClient):
    """A filed bereavement application, its department's clerk, an admin and an API token."""
    staff = Staff(app)
    reference = file_bereavement(signed_in_as, client)
    with app.app_context():
        token = create_client(
            db.session,
            name="基幹系",
            departments=["insurance_pension"],
            scopes=["submissions:read"],
            now=utcnow(),
        ).token
        db.session.commit()
    return staff, reference, token


def test_every_kind_of_page_carries_the_security_headers(office, client: FlaskClient):
    staff, reference, token = office
    Fetch = Callable[[], TestResponse]
    # The resident who filed is signed in until a member of staff takes over.
    resident_pages: dict[str, tuple[Fetch, int]] = {
        "site home": (lambda: client.get("/"), 200),
        "life event journey": (lambda: client.get("/life-events/moving"), 200),
        "resident dashboard": (lambda: client.get("/dashboard"), 200),
        "application page": (lambda: client.get(f"/applications/{reference}"), 200),
        "receipt PDF": (lambda: client.get(f"/applications/{reference}/receipt.pdf"), 200),
        "404 page": (lambda: client.get("/no-such-page"), 404),
        "403 page": (lambda: client.get("/backoffice/"), 403),
        "400 CSRF page": (lambda: client.post("/language", data={"language": "en"}), 400),
        "development outbox": (lambda: client.get("/dev/outbox"), 200),
        "API JSON": (
            lambda: client.get("/api/v1/submissions", headers={"Authorization": f"Bearer {token}"}),
            200,
        ),
        "API problem": (lambda: client.get("/api/v1/submissions"), 401),
        "health probe": (lambda: client.get("/healthz"), 200),
    }
    for kind, (fetch, status) in resident_pages.items():
        response = fetch()
        assert response.status_code == status, kind
        assert_personal(response, kind)
    staff.act_as(staff.nhi)
    clerk_pages = {
        "back-office work list": "/backoffice/",
        "back-office case view": f"/backoffice/cases/{reference}-1",
    }
    for kind, path in clerk_pages.items():
        response = client.get(path)
        assert response.status_code == 200, kind
        assert_personal(response, kind)
    staff.act_as(staff.admin)
    health = client.get("/admin/health")
    assert health.status_code == 200
    assert_personal(health, "admin health page")


def test_a_pdf_download_is_an_attachment_that_is_never_sniffed(office, client):
    _, reference, _ = office
    receipt = client.get(f"/applications/{reference}/receipt.pdf")
    assert receipt.mimetype == "application/pdf"
    assert receipt.headers["Content-Disposition"].startswith("attachment")
    assert receipt.headers["X-Content-Type-Options"] == "nosniff"


def test_a_static_file_may_be_cached_but_keeps_the_baseline(client):
    response = client.get(STATIC_FILE)
    assert response.status_code == 200
    assert_baseline(response, "static file")
    assert response.headers.get("Cache-Control") != "no-store"


def _app(database_url: str, **overrides: str) -> Flask:
    return create_app(app_config(database_url, **overrides))


def _empty(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(delete(table))
        db.engine.dispose()


def test_the_busy_page_carries_the_security_headers(database_url):
    app = _app(database_url, RATELIMIT_ENABLED="1", RATELIMIT_DEFAULT="1 per minute")
    try:
        client = app.test_client()
        client.get("/privacy")
        busy = client.get("/privacy")
        assert busy.status_code == 429
        assert_personal(busy, "429 page")
    finally:
        _empty(app)


@pytest.mark.parametrize(
    "path", ["/", "/privacy", "/no-such-page", "/healthz", "/api/v1/submissions", STATIC_FILE]
)
def test_production_adds_hsts_to_every_kind(database_url, path):
    app = _app(database_url, PORTAL_ENV="production")
    try:
        response = app.test_client().get(path, base_url="https://madoguchi.city.example")
        assert_baseline(response, path)
        hsts = response.headers["Strict-Transport-Security"]
        assert int(re.search(r"max-age=(\d+)", hsts).group(1)) >= 31536000
        assert "includeSubDomains" in hsts
    finally:
        _empty(app)


def test_development_sends_no_hsts(client):
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_the_outbox_is_not_served_in_production(database_url):
    app = _app(database_url, PORTAL_ENV="production")
    try:
        assert app.test_client().get("/dev/outbox").status_code == 404
    finally:
        _empty(app)


def test_an_error_page_from_a_refused_form_keeps_the_headers(client):
    token = csrf_token(client)
    response = client.post("/language", data={"language": "en", "csrf_token": token + "x"})
    assert response.status_code == 400
    assert_personal(response, "refused form")
