"""Session fixation: a cookie held before sign-in is worth nothing after it.

Signing in replaces the whole cookie and issues a new server session, so a cookie an
attacker planted, or copied, before the victim signed in never becomes a signed-in
one. Signing out ends the server session, so a copy of the signed-in cookie stops
working too. Everything runs over real HTTP against the portal and its demo provider.
"""

from __future__ import annotations

from portal.extensions import db
from portal.identity.models import UserSession
from portal.identity.services import hash_token
from tests.identity.live import Browser, LiveApp, flask_session, sign_in


def _signed_in(browser: Browser, live: LiveApp) -> bool:
    """Whether the home page greets the browser as a signed-in user."""
    return 'class="sign-in-state"' in browser.get(f"{live.url}/").text


def _cookie(live: LiveApp, browser: Browser) -> str | None:
    return browser.cookie(live.app.config["SESSION_COOKIE_NAME"])


def _row(live: LiveApp, token: str) -> UserSession | None:
    with live.app.app_context():
        row = db.session.get(UserSession, hash_token(token))
        db.session.expunge_all()
        return row


def test_the_cookie_from_before_sign_in_is_replaced_and_grants_nothing(portal, browser):
    browser.get(f"{portal.url}/")
    before = _cookie(portal, browser)
    assert before is not None
    kept = Browser()
    browser.copy_cookies_to(kept)  # what someone who saw the cookie then still holds

    sign_in(portal, browser, "demo-0001")

    after = _cookie(portal, browser)
    assert after is not None and after != before
    assert "user_session" in flask_session(portal, browser)
    assert _signed_in(browser, portal)
    # A form token seen before sign-in is not the one of the signed-in session.
    assert flask_session(portal, kept)["csrf_token"] != flask_session(portal, browser)["csrf_token"]
    assert _cookie(portal, kept) == before
    assert not _signed_in(kept, portal)
    assert "user_session" not in flask_session(portal, kept)


def test_a_cookie_an_attacker_plants_before_the_victim_signs_in_stays_signed_out(portal, browser):
    attacker = Browser()
    attacker.get(f"{portal.url}/")
    attacker.copy_cookies_to(browser)  # the victim's browser now holds the attacker's cookie
    planted = _cookie(portal, browser)

    sign_in(portal, browser, "demo-0001")

    assert _cookie(portal, browser) != planted
    assert _signed_in(browser, portal)
    # The attacker still has the planted value, and it does not carry the victim's session.
    assert _cookie(portal, attacker) == planted
    assert not _signed_in(attacker, portal)


def test_signing_in_again_issues_a_new_server_session_and_ends_the_old_one(portal, browser):
    sign_in(portal, browser, "demo-0001")
    first = flask_session(portal, browser)["user_session"]
    copy = Browser()
    browser.copy_cookies_to(copy)

    sign_in(portal, browser, "demo-0001")  # the same person, once more

    second = flask_session(portal, browser)["user_session"]
    assert second != first
    assert _row(portal, first).revoked_at is not None
    assert _row(portal, second).revoked_at is None
    assert not _signed_in(copy, portal)
    assert _signed_in(browser, portal)


def test_signing_out_ends_the_server_session_so_a_copied_cookie_is_worthless(portal, browser):
    sign_in(portal, browser, "demo-0001")
    token = flask_session(portal, browser)["user_session"]
    copy = Browser()
    browser.copy_cookies_to(copy)
    assert _signed_in(copy, portal)

    home = browser.get(f"{portal.url}/")
    out = browser.post(f"{portal.url}/sign-out", {"csrf_token": home.csrf_token()})
    assert out.status == 303

    assert _row(portal, token).revoked_at is not None
    assert "user_session" not in flask_session(portal, browser)
    assert not _signed_in(browser, portal)
    # The copy still holds the signed-in cookie, but the server has ended its session:
    # pages do not know it and it cannot keep the session alive either.
    page = copy.get(f"{portal.url}/privacy")
    assert 'class="sign-in-state"' not in page.text
    extend = copy.post(
        f"{portal.url}/session/extend",
        {"csrf_token": page.csrf_token(), "next": "/"},
        headers={"Accept": "application/json"},
    )
    assert extend.status == 401
    assert '"signed_in":false' in extend.text.replace(" ", "")


def test_the_signed_in_cookie_is_httponly_and_same_site(portal, browser):
    sign_in(portal, browser, "demo-0001")
    name = portal.app.config["SESSION_COOKIE_NAME"]
    cookie = next(cookie for cookie in browser.cookies if cookie.name == name)
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert (cookie.get_nonstandard_attr("SameSite") or "").lower() == "lax"
