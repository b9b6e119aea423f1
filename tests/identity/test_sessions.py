"""Server-side sessions: idle and absolute timeouts, extending, revoking, and the helpers.

Time is injected through the app's session clock; the sign-in itself goes through the
demo provider over HTTP with real time, since ID tokens carry real timestamps.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import pytest
from flask import Flask
from sqlalchemy import select

from portal.database import utcnow
from portal.extensions import db
from portal.identity import services
from portal.identity.auth import RUNTIME_KEY, current_user, login_required, owner_key_for
from portal.identity.models import User, UserSession
from portal.identity.tokens import SignInError, VerifiedClaims
from tests.identity.live import Browser, LiveApp, flask_session, sign_in

IDLE_NOTICE_JA = "30分間操作がなかったため、サインアウトしました。"
ABSOLUTE_NOTICE_JA = "サインインから12時間たったため、サインアウトしました。"


class Clock:
    """The session clock, moved by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(portal: LiveApp) -> Clock:
    ticking = Clock(utcnow())
    portal.app.extensions[RUNTIME_KEY].clock = ticking
    return ticking


def _signed_in(page_text: str) -> bool:
    return 'class="sign-in-state"' in page_text


def _row(live: LiveApp, browser: Browser) -> UserSession:
    token = flask_session(live, browser)["user_session"]
    with live.app.app_context():
        row = db.session.get(UserSession, services.hash_token(token))
        db.session.expunge_all()
    assert row is not None
    return row


def _at(clock: Clock, live: LiveApp, browser: Browser, path: str = "/privacy", **delta: float):
    clock.advance(**delta)
    return browser.get(f"{live.url}{path}")


# --- timeouts ------------------------------------------------------------------------


def test_thirty_idle_minutes_sign_the_resident_out_with_a_notice_after_signing_in_again(
    portal, browser, clock
):
    sign_in(portal, browser)
    assert _signed_in(_at(clock, portal, browser, minutes=29).text)
    page = _at(clock, portal, browser, minutes=30, seconds=1)
    assert not _signed_in(page.text)
    cookie = flask_session(portal, browser)
    assert "user_session" not in cookie
    assert "draft_owner" not in cookie  # the drafts stay the resident's, not the browser's
    assert IDLE_NOTICE_JA in browser.get(f"{portal.url}/sign-in").text

    landed = sign_in(portal, browser, next="/privacy")
    assert _signed_in(landed.text)
    assert IDLE_NOTICE_JA in landed.text
    assert IDLE_NOTICE_JA not in browser.get(f"{portal.url}/privacy").text  # said once


def test_activity_slides_the_idle_timeout(portal, browser, clock):
    sign_in(portal, browser)
    assert _signed_in(_at(clock, portal, browser, minutes=20).text)
    assert _signed_in(_at(clock, portal, browser, minutes=25).text)  # 45 minutes in
    assert _signed_in(_at(clock, portal, browser, minutes=29).text)
    assert not _signed_in(_at(clock, portal, browser, minutes=31).text)


def test_the_idle_expiry_is_written_at_most_once_a_minute(portal, browser, clock):
    sign_in(portal, browser)
    signed_in_at = _row(portal, browser).last_seen_at
    _at(clock, portal, browser, seconds=30)
    assert _row(portal, browser).last_seen_at == signed_in_at
    _at(clock, portal, browser, seconds=40)
    row = _row(portal, browser)
    assert row.last_seen_at == clock.now
    assert row.idle_expires_at == clock.now + timedelta(minutes=30)


def test_twelve_hours_end_the_session_however_active(portal, browser, clock):
    sign_in(portal, browser)
    for _ in range(28):  # a request every 25 minutes for 11 hours 40 minutes
        assert _signed_in(_at(clock, portal, browser, minutes=25).text)
    row = _row(portal, browser)
    assert row.idle_expires_at == row.absolute_expires_at  # never slides past the end
    assert _signed_in(_at(clock, portal, browser, minutes=19).text)
    assert not _signed_in(_at(clock, portal, browser, minutes=2).text)
    assert flask_session(portal, browser)["signed_out_reason"] == "absolute_timeout"
    assert ABSOLUTE_NOTICE_JA in sign_in(portal, browser).text


def test_a_session_revoked_on_the_server_signs_the_browser_out_without_a_notice(
    portal, browser, clock
):
    sign_in(portal, browser)
    with portal.app.app_context():
        for row in db.session.scalars(select(UserSession)):
            row.revoked_at = clock.now
        db.session.commit()
    page = browser.get(f"{portal.url}/privacy")
    assert not _signed_in(page.text)
    assert "signed_out_reason" not in flask_session(portal, browser)
    assert "draft_owner" not in flask_session(portal, browser)


# --- the header and extending ------------------------------------------------------


def test_every_signed_in_page_says_when_the_session_ends_in_the_citys_time(portal, browser, clock):
    clock.now = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo
    page = sign_in(portal, browser, next="/contact")
    assert '<span class="session-ends-at">12:30</span>' in page.text
    assert 'data-seconds-left="1800"' in page.text
    form = re.search(r'<form class="container session-extend".*?</form>', page.text, re.S)
    assert form is not None
    assert 'action="/session/extend"' in form.group(0)
    assert 'name="next" value="/contact"' in form.group(0)
    nonce = re.search(r"'nonce-([^']+)'", page.headers["Content-Security-Policy"]).group(1)
    assert f'src="/static/js/session-timeout.js" nonce="{nonce}"' in page.text
    assert browser.get(f"{portal.url}/static/js/session-timeout.js").status == 200


def test_pages_of_a_visitor_who_is_not_signed_in_have_no_session_bar(portal, browser):
    page = browser.get(f"{portal.url}/")
    assert "session-extend" not in page.text
    assert "session-timeout.js" not in page.text


def test_stay_signed_in_without_script_keeps_the_page(portal, browser, clock):
    clock.now = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    sign_in(portal, browser)
    page = _at(clock, portal, browser, "/contact", minutes=29)
    answer = browser.post(
        f"{portal.url}/session/extend", {"csrf_token": page.csrf_token(), "next": "/contact"}
    )
    assert (answer.status, answer.location) == (303, f"{portal.url}/contact")
    assert _row(portal, browser).idle_expires_at == clock.now + timedelta(minutes=30)
    assert "12:59" in browser.get(f"{portal.url}/contact").text
    assert _signed_in(_at(clock, portal, browser, minutes=29).text)  # 58 minutes in


def test_stay_signed_in_from_the_script_answers_json(portal, browser, clock):
    clock.now = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    sign_in(portal, browser)
    page = _at(clock, portal, browser, minutes=28, seconds=30)
    answer = browser.post(
        f"{portal.url}/session/extend",
        {"csrf_token": page.csrf_token(), "next": "/privacy"},
        headers={"Accept": "application/json"},
    )
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "application/json"
    assert '"ends_at_local":"12:58"' in answer.text.replace(" ", "")
    assert '"seconds_left":1800' in answer.text.replace(" ", "")


def test_stay_signed_in_refuses_to_leave_the_site(portal, browser, clock):
    sign_in(portal, browser)
    page = browser.get(f"{portal.url}/")
    answer = browser.post(
        f"{portal.url}/session/extend",
        {"csrf_token": page.csrf_token(), "next": "https://evil.example/"},
    )
    assert answer.location == f"{portal.url}/"


def test_stay_signed_in_after_the_end_asks_to_sign_in_again(portal, browser, clock):
    sign_in(portal, browser)
    page = browser.get(f"{portal.url}/")
    clock.advance(minutes=31)
    answer = browser.post(
        f"{portal.url}/session/extend", {"csrf_token": page.csrf_token(), "next": "/contact"}
    )
    assert answer.status == 303
    assert answer.location == f"{portal.url}/sign-in?next=/contact"
    late = browser.post(
        f"{portal.url}/session/extend",
        {"csrf_token": page.csrf_token()},
        headers={"Accept": "application/json"},
    )
    assert late.status == 401


def test_stay_signed_in_needs_a_csrf_token(portal, browser, clock):
    sign_in(portal, browser)
    before = _row(portal, browser).idle_expires_at
    clock.advance(minutes=10)
    answer = browser.post(f"{portal.url}/session/extend", {"next": "/"})
    assert answer.status == 400
    assert _row(portal, browser).idle_expires_at == before  # refused before anything ran


# --- helpers for other views --------------------------------------------------------


@pytest.fixture
def guarded_app(app: Flask) -> Flask:
    """The test app with pages that need a role, added before its first request."""

    @login_required()
    def resident_page() -> str:
        user = current_user()
        assert user is not None
        return f"resident {owner_key_for(user)}"

    @login_required(role=("clerk", "admin"))
    def staff_page() -> str:
        return "staff"

    app.add_url_rule("/test/resident", "test_resident", resident_page)
    app.add_url_rule("/test/staff", "test_staff", staff_page)
    return app


def _signed_in_client(app: Flask, role: str, display_name: str = "試験 太郎"):
    """A test client holding a live session of a new user with ``role``."""
    now = utcnow()
    with app.app_context():
        identity = services.Identity(
            issuer="https://idp.example.test",
            subject=f"{role}-1",
            role=role,
            display_name=display_name,
            person_key="demo-0001" if role == "resident" else None,
        )
        user = services.sign_in_user(db.session, identity, language="ja", now=now)
        token = services.start_session(db.session, user, id_token=None, user_agent="", now=now)
        user_id = user.id
        db.session.commit()
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie["user_session"] = token
    return client, user_id


def test_login_required_sends_a_visitor_to_sign_in_and_back(guarded_app):
    client = guarded_app.test_client()
    answer = client.get("/test/resident?tab=2")
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/sign-in?next=/test/resident?tab%3D2"
    staff = client.get("/test/staff")
    assert staff.headers["Location"] == "/staff/sign-in?next=/test/staff"


def test_login_required_lets_the_right_role_in_and_refuses_the_wrong_one(guarded_app):
    resident, resident_id = _signed_in_client(guarded_app, "resident")
    assert resident.get("/test/resident").get_data(as_text=True) == f"resident user:{resident_id}"
    assert resident.get("/test/staff").status_code == 403
    clerk, _ = _signed_in_client(guarded_app, "clerk")
    assert clerk.get("/test/staff").get_data(as_text=True) == "staff"
    assert clerk.get("/test/resident").status_code == 403
    admin, _ = _signed_in_client(guarded_app, "admin")
    assert admin.get("/test/staff").status_code == 200


def test_the_name_from_the_provider_is_shown_as_text_never_as_markup(app):
    client, _ = _signed_in_client(app, "resident", display_name='<img src=x onerror="alert(1)">')
    page = client.get("/").get_data(as_text=True)
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt; さんとしてサインイン中" in page
    assert "<img src=x" not in page


def test_a_stale_draft_key_of_another_user_is_dropped(guarded_app):
    client, user_id = _signed_in_client(guarded_app, "resident")
    with client.session_transaction() as cookie:
        cookie["draft_owner"] = "user:999"
    client.get("/privacy")
    with client.session_transaction() as cookie:
        assert "draft_owner" not in cookie
    with client.session_transaction() as cookie:
        cookie["draft_owner"] = f"user:{user_id}"
    client.get("/privacy")
    with client.session_transaction() as cookie:
        assert cookie["draft_owner"] == f"user:{user_id}"


# --- the rules behind them ------------------------------------------------------------


def _claims(**values: object) -> VerifiedClaims:
    base = {"iss": "https://idp.example.test", "sub": "demo-0001", **values}
    return VerifiedClaims(issuer=base["iss"], subject=base["sub"], claims=MappingProxyType(base))


def test_a_resident_token_never_makes_staff_whatever_it_claims():
    identity = services.resident_identity(
        _claims(roles=["admin"], departments=["citizens"], name="佐藤 健一"), "sub"
    )
    assert (identity.role, identity.person_key, identity.departments) == (
        "resident",
        "demo-0001",
        (),
    )


def test_the_person_key_comes_from_the_configured_claim():
    identity = services.resident_identity(_claims(resident_code="R-1"), "resident_code")
    assert identity.person_key == "R-1"
    with pytest.raises(SignInError) as refused:
        services.resident_identity(_claims(), "resident_code")
    assert refused.value.reason_code == "missing_person_claim"


@pytest.mark.parametrize(
    ("roles", "departments", "role", "reason"),
    [
        (["clerk"], ["citizens"], "clerk", None),
        ("clerk", "citizens", "clerk", None),
        (["clerk", "admin"], [], "admin", None),
        (["resident"], [], None, "no_staff_role"),
        (None, None, None, "no_staff_role"),
        (["clerk"], [7], None, "invalid_departments"),
        (["clerk"], ["x" * 81], None, "invalid_departments"),
    ],
)
def test_staff_roles_and_departments_come_from_their_claims(roles, departments, role, reason):
    values = {"name": "森 大介"}
    if roles is not None:
        values["roles"] = roles
    if departments is not None:
        values["departments"] = departments
    if reason is None:
        identity = services.staff_identity(_claims(**values), "roles", "departments")
        assert identity.role == role and identity.person_key is None
        return
    with pytest.raises(SignInError) as refused:
        services.staff_identity(_claims(**values), "roles", "departments")
    assert refused.value.reason_code == reason


def test_a_resident_account_cannot_become_staff_nor_staff_a_resident(app):
    now = utcnow()
    issuer = "https://idp.example.test"
    with app.app_context():
        services.sign_in_user(
            db.session,
            services.Identity(issuer, "p-1", "resident", "佐藤", "p-1"),
            language="ja",
            now=now,
        )
        services.sign_in_user(
            db.session, services.Identity(issuer, "s-1", "clerk", "森"), language="ja", now=now
        )
        db.session.commit()
        for subject, role in (("p-1", "admin"), ("s-1", "resident")):
            with pytest.raises(SignInError) as refused:
                services.sign_in_user(
                    db.session,
                    services.Identity(issuer, subject, role, "X", subject),
                    language="ja",
                    now=now,
                )
            assert refused.value.reason_code == "role_conflict"
            db.session.rollback()
        roles = {user.subject: user.role for user in db.session.scalars(select(User))}
    assert roles == {"p-1": "resident", "s-1": "clerk"}


def test_a_returning_user_is_found_by_issuer_and_subject_and_refreshed(app):
    first, later = utcnow(), utcnow() + timedelta(days=3)
    with app.app_context():
        one = services.sign_in_user(
            db.session,
            services.Identity("https://idp.example.test", "s-1", "clerk", "森", departments=("a",)),
            language="ja",
            now=first,
        )
        again = services.sign_in_user(
            db.session,
            services.Identity("https://idp.example.test", "s-1", "admin", "森 大介"),
            language="en",
            now=later,
        )
        assert one is again
        assert (again.role, again.display_name, again.departments) == ("admin", "森 大介", [])
        assert (again.preferred_language, again.last_signed_in_at) == ("en", later)
        assert again.created_at == first


@pytest.mark.parametrize(
    ("header", "summary"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/140.0 "
            "Safari/537.36 Edg/140.0",
            "Edge on Windows",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 "
            "Version/18.0 Mobile/15E148 Safari/604.1",
            "Safari on iOS",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0",
            "Firefox on Linux",
        ),
        ("curl/8.0", "another browser on another system"),
    ],
)
def test_the_user_agent_is_kept_only_as_a_short_summary(header, summary):
    assert services.summarise_user_agent(header) == summary


def test_the_database_never_holds_the_cookie_token(app):
    now = utcnow()
    with app.app_context():
        user = services.sign_in_user(
            db.session,
            services.Identity("https://idp.example.test", "p-2", "resident", "A", "p-2"),
            language="ja",
            now=now,
        )
        token = services.start_session(db.session, user, id_token="t", user_agent="", now=now)
        db.session.commit()
        (row,) = db.session.scalars(select(UserSession))
        assert row.id == services.hash_token(token) != token
        assert len(token) >= 43  # 256 random bits
        assert services.find_session(db.session, token, now=now).active
        assert services.find_session(db.session, token + "x", now=now).status == "unknown"
        assert services.revoke_session(db.session, token, now=now) is row
        assert services.revoke_session(db.session, token, now=now) is None
        assert services.find_session(db.session, token, now=now).status == "revoked"
        assert services.touch_session(db.session, row.id, now=now) is None
