"""Rate limits: sign-in, submitting, uploading and the API refuse with 429 once exceeded.

Every test builds its own app with ``RATELIMIT_ENABLED=1`` and small limits; the rest
of the suite runs with the limits off, as ``TESTING=1`` leaves them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import flask_limiter._extension
import pytest
from flask import Flask
from flask.testing import FlaskClient
from limits.storage import MemoryStorage
from sqlalchemy import delete

from portal import create_app
from portal.api.services import create_client
from portal.database import utcnow
from portal.extensions import db
from portal.identity import services
from portal.security_limits import LIMITER_KEY
from tests.conftest import app_config, csrf_token

BUSY_TITLE_JA = "短時間にアクセスが集中しています"
BUSY_TEXT_EN = "You have made a lot of requests in a short time. Wait 1 minute, then try again."
GENEROUS = "1000 per minute"

AppFactory = Callable[..., Flask]


@pytest.fixture
def limited_app(database_url: str) -> Iterator[AppFactory]:
    """Build apps with the limits on and the given settings; empty the tables afterwards."""
    built: list[Flask] = []

    def build(**overrides: str) -> Flask:
        settings = {"RATELIMIT_ENABLED": "1", "RATELIMIT_DEFAULT": GENEROUS, **overrides}
        app = create_app(app_config(database_url, **settings))
        built.append(app)
        return app

    yield build
    for app in built:
        with app.app_context():
            db.session.remove()
            with db.engine.begin() as connection:
                for table in reversed(db.metadata.sorted_tables):
                    connection.execute(delete(table))
            db.engine.dispose()


def _signed_in_client(app: Flask, subject: str) -> FlaskClient:
    """A test client holding a live session of a new resident."""
    now = utcnow()
    with app.app_context():
        identity = services.Identity(
            issuer="https://idp.example.test",
            subject=subject,
            role="resident",
            display_name="試験 太郎",
            person_key=subject,
        )
        user = services.sign_in_user(db.session, identity, language="ja", now=now)
        token = services.start_session(db.session, user, id_token=None, user_agent="", now=now)
        db.session.commit()
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie["user_session"] = token
    return client


def _assert_busy_page(response) -> None:
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    assert BUSY_TITLE_JA in response.get_data(as_text=True)
    assert 1 <= int(response.headers["Retry-After"]) <= 61


@pytest.mark.parametrize("path", ["/sign-in", "/staff/sign-in"])
def test_starting_sign_in_too_often_gets_the_busy_page(limited_app, path):
    client = limited_app(RATELIMIT_SIGN_IN="2 per minute").test_client()
    token = csrf_token(client, path)
    # No provider runs here, so each start ends at the polite failure page; it counts.
    for _ in range(2):
        assert client.post(path, data={"csrf_token": token, "next": "/"}).status_code == 400
    _assert_busy_page(client.post(path, data={"csrf_token": token, "next": "/"}))
    # Showing the sign-in page is not starting one.
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", ["/auth/callback", "/staff/auth/callback"])
def test_the_sign_in_callback_is_limited(limited_app, path):
    client = limited_app(RATELIMIT_SIGN_IN="2 per minute").test_client()
    for _ in range(2):
        assert client.get(f"{path}?code=x&state=y").status_code == 400
    _assert_busy_page(client.get(f"{path}?code=x&state=y"))


def test_the_busy_page_speaks_the_visitors_language(limited_app):
    client = limited_app(RATELIMIT_SIGN_IN="1 per minute").test_client()
    token = csrf_token(client, "/")
    client.post("/language", data={"language": "en", "next": "/", "csrf_token": token})
    client.get("/auth/callback")
    busy = client.get("/auth/callback")
    assert busy.status_code == 429
    assert BUSY_TEXT_EN in busy.get_data(as_text=True)


def test_submitting_is_limited_per_user_not_per_address(limited_app):
    app = limited_app(RATELIMIT_SUBMIT="2 per minute")
    first = _signed_in_client(app, "demo-0001")
    second = _signed_in_client(app, "demo-0002")  # same address: the test client's
    token = csrf_token(first, "/")
    submit = "/drafts/no-such-draft/submit"
    for _ in range(2):
        assert first.post(submit, data={"csrf_token": token}).status_code == 404
    _assert_busy_page(first.post(submit, data={"csrf_token": token}))
    assert second.post(submit, data={"csrf_token": csrf_token(second, "/")}).status_code == 404


def test_uploading_is_limited_and_reading_the_page_is_not(limited_app):
    client = limited_app(RATELIMIT_UPLOAD="2 per minute").test_client()
    token = csrf_token(client, "/")
    documents = "/drafts/no-such-draft/documents"
    for _ in range(2):
        assert client.post(documents, data={"csrf_token": token}).status_code == 404
    _assert_busy_page(client.post(documents, data={"csrf_token": token}))
    assert client.get(documents).status_code == 404


def _api_client(app: Flask) -> str:
    with app.app_context():
        issued = create_client(
            db.session,
            name="基幹系",
            departments=["insurance_pension"],
            scopes=["submissions:read"],
            now=utcnow(),
        )
        db.session.commit()
        return issued.token


def _assert_busy_problem(response) -> None:
    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 429 and problem["title"] == "Too Many Requests"
    assert "Retry-After" in problem["detail"]
    assert 1 <= int(response.headers["Retry-After"]) <= 61


def test_the_api_limits_each_client_on_its_own(limited_app):
    app = limited_app(RATELIMIT_API="2 per minute")
    first, second = _api_client(app), _api_client(app)
    client = app.test_client()
    listing = "/api/v1/submissions"
    for _ in range(2):
        assert client.get(listing, headers={"Authorization": f"Bearer {first}"}).status_code == 200
    _assert_busy_problem(client.get(listing, headers={"Authorization": f"Bearer {first}"}))
    assert client.get(listing, headers={"Authorization": f"Bearer {second}"}).status_code == 200


def test_a_caller_without_a_proven_token_is_limited_by_address_not_as_the_client(limited_app):
    app = limited_app(RATELIMIT_API="2 per minute")
    real = _api_client(app)
    forged = real.split(".", 1)[0] + ".wrong-secret"
    client = app.test_client()
    listing = "/api/v1/submissions"
    for _ in range(2):
        assert client.get(listing, headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    _assert_busy_problem(client.get(listing, headers={"Authorization": f"Bearer {forged}"}))
    _assert_busy_problem(client.get(listing))
    # The forger used up the address's allowance, not the real client's.
    assert client.get(listing, headers={"Authorization": f"Bearer {real}"}).status_code == 200


def test_every_other_page_has_the_default_limit_and_probes_and_files_are_exempt(limited_app):
    client = limited_app(RATELIMIT_DEFAULT="3 per minute").test_client()
    for _ in range(3):
        assert client.get("/privacy").status_code == 200
    _assert_busy_page(client.get("/privacy"))
    assert client.get("/").status_code == 200  # each page counts on its own
    for _ in range(5):
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code in (200, 503)
        assert client.get("/static/css/portal.css").status_code == 200


def test_behind_a_trusted_proxy_each_visitor_counts_on_their_own(limited_app):
    app = limited_app(RATELIMIT_DEFAULT="2 per minute", PROXY_FIX_HOPS="1")
    client = app.test_client()

    def visit(address: str):
        # What the visitor wrote first is ignored; the proxy appended the real address.
        return client.get("/", headers={"X-Forwarded-For": f"10.9.9.9, {address}"})

    for _ in range(2):
        assert visit("198.51.100.1").status_code == 200
    assert visit("198.51.100.1").status_code == 429
    assert visit("198.51.100.2").status_code == 200


def test_without_a_trusted_proxy_a_forwarded_for_header_changes_nothing(limited_app):
    client = limited_app(RATELIMIT_DEFAULT="2 per minute").test_client()
    statuses = [
        client.get("/", headers={"X-Forwarded-For": f"198.51.100.{number}"}).status_code
        for number in range(3)
    ]
    assert statuses == [200, 200, 429]


class _BrokenStore(MemoryStorage):
    """A shared store that is down: every count fails."""

    def incr(self, *args: object, **kwargs: object) -> int:
        raise ConnectionError("the store is down")


def test_the_counts_live_where_the_storage_setting_says(limited_app, monkeypatch):
    asked: list[str] = []

    def storage_from_string(uri: str, **options: object) -> MemoryStorage:
        asked.append(uri)
        return _BrokenStore()

    monkeypatch.setattr(flask_limiter._extension, "storage_from_string", storage_from_string)
    app = limited_app(
        RATELIMIT_STORAGE_URI="redis://limits.city.example:6379/0", RATELIMIT_DEFAULT="2 per minute"
    )
    assert asked == ["redis://limits.city.example:6379/0"]
    assert isinstance(app.extensions[LIMITER_KEY].storage, _BrokenStore)
    # The store is down: the counts fall back to memory instead of refusing everyone.
    client = app.test_client()
    assert [client.get("/privacy").status_code for _ in range(3)] == [200, 200, 429]


def test_the_default_store_is_this_process_memory(limited_app):
    app = limited_app()
    assert type(app.extensions[LIMITER_KEY].storage) is MemoryStorage


def test_tests_run_without_limits_unless_they_ask(app, client):
    assert LIMITER_KEY not in app.extensions
    token = csrf_token(client, "/sign-in")
    for _ in range(15):
        assert client.post("/sign-in", data={"csrf_token": token, "next": "/"}).status_code == 400
