"""The security baseline: headers, CSP with nonces, cookies, CSRF and safe redirects."""

import re

import pytest

from portal import create_app
from portal.security import is_safe_redirect
from tests.conftest import app_config, csrf_token

PAGE_TYPES = ["/", "/privacy", "/no-such-page", "/healthz"]


@pytest.mark.parametrize("path", PAGE_TYPES)
def test_every_page_type_carries_the_security_headers(client, path):
    response = client.get(path)
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert re.search(r"script-src 'self' 'nonce-[A-Za-z0-9_-]{20,}'", csp)
    assert "object-src 'none'" in csp and "base-uri 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cache-Control"] == "no-store"


def test_nonce_changes_every_request(client):
    first = client.get("/").headers["Content-Security-Policy"]
    second = client.get("/").headers["Content-Security-Policy"]
    assert first != second


def test_pages_have_no_inline_script_or_style_without_nonce(client):
    page = client.get("/").get_data(as_text=True)
    assert " style=" not in page
    assert "<script" not in page or "nonce=" in page
    assert not re.search(r"\son[a-z]+=", page), "no inline event handlers"


def test_static_files_may_be_cached(client):
    response = client.get("/static/css/portal.css")
    assert response.status_code == 200
    assert response.headers.get("Cache-Control") != "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_session_cookie_is_httponly_and_lax(client):
    client.get("/")
    cookie = client.get_cookie("madoguchi_session")
    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Lax"


def test_production_cookies_are_secure_and_hsts_is_sent(database_url):
    app = create_app(app_config(database_url, PORTAL_ENV="production"))
    client = app.test_client()
    response = client.get("/", base_url="https://portal.example")
    set_cookie = response.headers["Set-Cookie"]
    assert set_cookie.startswith("__Host-madoguchi=")
    assert "Secure" in set_cookie and "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie
    assert "max-age=" in response.headers["Strict-Transport-Security"]


def test_post_without_csrf_token_is_refused(client):
    response = client.post("/language", data={"language": "en", "next": "/"})
    assert response.status_code == 400
    assert "画面の有効期限が切れました" in response.get_data(as_text=True)
    assert client.get_cookie("madoguchi_lang") is None


def test_post_with_wrong_csrf_token_is_refused(client):
    csrf_token(client)
    response = client.post("/language", data={"language": "en", "csrf_token": "forged"})
    assert response.status_code == 400


def test_post_with_csrf_token_is_accepted(client):
    token = csrf_token(client)
    response = client.post("/language", data={"language": "en", "next": "/", "csrf_token": token})
    assert response.status_code == 303


def test_uploads_are_capped(app):
    assert app.config["MAX_CONTENT_LENGTH"] == 20 * 1024 * 1024


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "evil.example",
        "/ok\r\nLocation: https://evil.example",
        "",
        None,
    ],
)
def test_unsafe_redirect_targets_are_refused(target):
    assert not is_safe_redirect(target)


@pytest.mark.parametrize("target", ["/", "/privacy", "/applications/MD-2026-000001?tab=messages"])
def test_local_paths_are_safe_redirects(target):
    assert is_safe_redirect(target)
