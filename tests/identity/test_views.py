"""Sign-in through real HTTP: the portal, its demo provider and a hostile provider.

Every test serves the portal on a free port and drives it with a cookie-keeping
HTTP browser; the portal talks to the provider over HTTP as it does in production.
The negative suite puts a fake provider on 127.0.0.1 that answers the code exchange
with a hostile ID token, and checks each is refused with the polite page and a
logged reason code.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from portal.extensions import db
from portal.identity.models import User, UserSession
from portal.identity.services import hash_token
from portal.resident.models import Draft
from tests.conftest import PROCEDURES
from tests.identity.conftest import reasons
from tests.identity.live import (
    Browser,
    LiveApp,
    choose_persona,
    flask_session,
    live_app,
    sign_in,
    start_sign_in,
)
from tests.identity.support import (
    CLIENT_ID,
    RSA_KID,
    LocalServer,
    RecordedRequest,
    Reply,
    b64_json,
    claims,
    header,
    hs256_signer,
    json_reply,
    local_server,
    provider_jwks,
    rs_signer,
    rsa_key,
    token,
)

FAILURE_JA = "サインインできませんでした"
SIGNED_IN_JA = "佐藤 健一 さんとしてサインイン中"


def _users(live: LiveApp) -> list[User]:
    with live.app.app_context():
        users = list(db.session.scalars(select(User).order_by(User.id)))
        db.session.expunge_all()
        return users


def _session_row(live: LiveApp, token_value: str) -> UserSession | None:
    with live.app.app_context():
        row = db.session.get(UserSession, hash_token(token_value))
        db.session.expunge_all()
        return row


def _signed_in(page_text: str) -> bool:
    return 'class="sign-in-state"' in page_text


# --- sign-in through the demo provider ----------------------------------------------


def test_a_resident_signs_in_through_the_demo_provider_over_http(portal, browser):
    home = browser.get(f"{portal.url}/privacy")
    assert not _signed_in(home.text)
    assert 'href="/sign-in?next=/privacy"' in home.text

    to_provider = start_sign_in(portal, browser, next="/privacy")
    assert to_provider.location.startswith(f"{portal.url}/demo-idp/authorize?")
    personas = browser.get(to_provider.location)
    assert "佐藤 健一" in personas.text
    assert "staff-clerk-citizens" not in personas.text  # residents only for this client
    callback = choose_persona(browser, personas, "demo-0001")
    query = parse_qs(urlsplit(callback.location).query)
    assert callback.location.startswith(f"{portal.url}/auth/callback?")
    assert query["iss"] == [f"{portal.url}/demo-idp"]

    landed = browser.get(callback.location)
    assert landed.status == 303
    assert landed.location == f"{portal.url}/privacy"
    page = browser.follow(landed)
    assert SIGNED_IN_JA in page.text
    assert 'action="/sign-out"' in page.text

    (user,) = _users(portal)
    assert (user.role, user.person_key, user.display_name) == ("resident", "demo-0001", "佐藤 健一")
    assert user.issuer == f"{portal.url}/demo-idp" and user.subject == "demo-0001"
    assert user.departments == [] and user.preferred_language == "ja"
    cookie = flask_session(portal, browser)
    assert set(cookie) <= {"csrf_token", "draft_owner", "user_session"}
    assert cookie["draft_owner"] == f"user:{user.id}"
    row = _session_row(portal, cookie["user_session"])
    assert row is not None and row.user_id == user.id
    assert row.id != cookie["user_session"]  # the database keeps only the hash
    assert row.id_token and row.user_agent == "Chrome on Linux"


def test_a_clerk_signs_in_through_the_staff_client(portal, browser):
    to_provider = start_sign_in(portal, browser, staff=True)
    personas = browser.get(to_provider.location)
    assert "佐藤 健一" not in personas.text  # staff only for this client
    for subject in ("staff-clerk-citizens", "staff-clerk-insurance-pension", "staff-admin"):
        assert f'value="{subject}"' in personas.text
    callback = choose_persona(browser, personas, "staff-clerk-insurance-pension")
    assert callback.location.startswith(f"{portal.url}/staff/auth/callback?")
    page = browser.follow(browser.get(callback.location))
    assert "森 大介 さんとしてサインイン中" in page.text

    (user,) = _users(portal)
    assert (user.role, user.person_key) == ("clerk", None)
    assert user.departments == ["insurance_pension"]
    assert "draft_owner" not in flask_session(portal, browser)


def test_an_admin_signs_in_as_admin(portal, browser):
    sign_in(portal, browser, "staff-admin", staff=True)
    (user,) = _users(portal)
    assert user.role == "admin"


def test_a_resident_cannot_use_the_staff_callback_with_a_resident_sign_in(
    portal, browser, identity_log
):
    to_provider = start_sign_in(portal, browser)
    callback = choose_persona(browser, browser.get(to_provider.location), "demo-0002")
    staff_callback = callback.location.replace("/auth/callback", "/staff/auth/callback")
    page = browser.get(staff_callback)
    assert page.status == 400
    assert reasons(identity_log) == ["no_pending_sign_in"]
    assert _users(portal) == []


def test_signing_in_issues_a_new_session_and_ends_the_old_one(portal, browser):
    before = browser.get(f"{portal.url}/")
    csrf_before = before.csrf_token()
    sign_in(portal, browser, "demo-0001")
    first = flask_session(portal, browser)
    assert first["csrf_token"] != csrf_before  # nothing from before sign-in survives
    thief = Browser()
    browser.copy_cookies_to(thief)

    sign_in(portal, browser, "demo-0002")
    second = flask_session(portal, browser)
    assert second["user_session"] != first["user_session"]
    assert second["csrf_token"] != first["csrf_token"]
    assert _session_row(portal, first["user_session"]).revoked_at is not None
    assert not _signed_in(thief.get(f"{portal.url}/").text)
    assert "佐藤 花子" in browser.get(f"{portal.url}/").text


def test_a_session_planted_before_sign_in_is_not_adopted(portal, browser):
    attacker = Browser()
    sign_in(portal, attacker, "demo-0009")
    attacker.copy_cookies_to(browser)  # the victim's browser now holds the attacker's session
    sign_in(portal, browser, "demo-0001")
    victim = flask_session(portal, browser)
    assert victim["user_session"] != flask_session(portal, attacker)["user_session"]
    assert SIGNED_IN_JA in browser.get(f"{portal.url}/").text
    # The planted session was ended, so the attacker cannot ride along either.
    assert not _signed_in(attacker.get(f"{portal.url}/").text)


@pytest.mark.parametrize(
    "hostile_next",
    [
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
    ],
)
def test_next_cannot_leave_the_site(portal, browser, hostile_next):
    sign_in_page = browser.get(f"{portal.url}/sign-in?{urlencode({'next': hostile_next})}")
    assert sign_in_page.hidden_fields()["next"] == "/"
    # A hand-made form post is checked again on the way in.
    data = {"csrf_token": sign_in_page.csrf_token(), "next": hostile_next}
    to_provider = browser.post(f"{portal.url}/sign-in", data)
    callback = choose_persona(browser, browser.get(to_provider.location), "demo-0001")
    landed = browser.get(callback.location)
    assert landed.status == 303
    assert landed.location == f"{portal.url}/"


def test_sign_in_needs_a_csrf_token(portal, browser):
    page = browser.post(f"{portal.url}/sign-in", {"next": "/"})
    assert page.status == 400
    assert "oidc_pending" not in flask_session(portal, browser)


def test_sign_in_and_out_refuse_get_where_they_change_state(portal, browser):
    assert browser.get(f"{portal.url}/sign-out").status == 405
    assert browser.get(f"{portal.url}/session/extend").status == 405


def test_the_sign_in_form_may_redirect_to_the_provider_under_csp(portal, browser):
    page = browser.get(f"{portal.url}/sign-in")
    policy = page.headers["Content-Security-Policy"]
    assert re.search(rf"form-action 'self' {re.escape(portal.url)}(;| )", policy)


def test_sign_out_ends_the_session_on_the_server_and_at_the_provider(portal, browser):
    sign_in(portal, browser, "demo-0001")
    token_value = flask_session(portal, browser)["user_session"]
    thief = Browser()
    browser.copy_cookies_to(thief)
    assert _signed_in(thief.get(f"{portal.url}/").text)

    home = browser.get(f"{portal.url}/")
    out = browser.post(f"{portal.url}/sign-out", {"csrf_token": home.csrf_token()})
    assert out.status == 303
    end_session = urlsplit(out.location)
    assert out.location.startswith(f"{portal.url}/demo-idp/logout?")
    logout_query = parse_qs(end_session.query)
    assert logout_query["post_logout_redirect_uri"] == [f"{portal.url}/"]
    assert logout_query["id_token_hint"] == [_session_row(portal, token_value).id_token]
    back = browser.get(out.location)
    assert back.status == 303
    assert back.location == f"{portal.url}/?state={logout_query['state'][0]}"

    assert _session_row(portal, token_value).revoked_at is not None
    assert flask_session(portal, browser) == {} or "user_session" not in flask_session(
        portal, browser
    )
    assert not _signed_in(browser.follow(back).text)
    # The copied cookie is worthless now: the server ended the session.
    assert not _signed_in(thief.get(f"{portal.url}/").text)
    assert "user_session" not in flask_session(portal, thief)


def test_sign_out_without_a_session_goes_home(portal, browser):
    home = browser.get(f"{portal.url}/")
    out = browser.post(f"{portal.url}/sign-out", {"csrf_token": home.csrf_token()})
    assert (out.status, out.location) == (303, f"{portal.url}/")


def test_drafts_started_before_sign_in_belong_to_the_resident_after_it(portal, browser):
    from portal.catalogue.services import load_directory

    with portal.app.app_context():
        load_directory(db.session, PROCEDURES, actor="test")
        db.session.commit()
    life_event = browser.get(f"{portal.url}/life-events/moving")
    assert life_event.status == 200
    started = browser.post(
        f"{portal.url}/life-events/moving/start", {"csrf_token": life_event.csrf_token()}
    )
    assert started.status in (302, 303)
    question_url = started.location
    browser_owner = flask_session(portal, browser)["draft_owner"]
    assert browser_owner.startswith("browser:")

    sign_in(portal, browser, "demo-0009", next=urlsplit(question_url).path)
    (user,) = _users(portal)
    with portal.app.app_context():
        owners = set(db.session.scalars(select(Draft.owner_key)))
    assert owners == {f"user:{user.id}"}
    assert browser.get(question_url).status == 200

    # After signing out, this browser no longer reaches the resident's draft.
    home = browser.get(f"{portal.url}/")
    browser.follow(browser.post(f"{portal.url}/sign-out", {"csrf_token": home.csrf_token()}))
    assert browser.get(question_url).status == 404


def test_another_users_drafts_never_move_to_the_next_user(portal, browser):
    sign_in(portal, browser, "demo-0001")
    with portal.app.app_context():
        first = db.session.scalars(select(User)).one()
        first_owner = f"user:{first.id}"
        db.session.add(
            Draft(
                id="d" * 43,
                owner_key=first_owner,
                life_event_id="moving",
                pins={},
                answers={},
                procedure_ids=None,
                stage="questionnaire",
                expires_at=first.created_at,
            )
        )
        db.session.commit()
    sign_in(portal, browser, "demo-0002")
    with portal.app.app_context():
        assert db.session.get(Draft, "d" * 43).owner_key == first_owner


# --- refusals at the callback ----------------------------------------------------------


def test_repeated_query_parameters_are_refused(portal, browser, identity_log):
    to_provider = start_sign_in(portal, browser)
    callback = choose_persona(browser, browser.get(to_provider.location), "demo-0001")
    page = browser.get(callback.location + "&code=injected")
    assert page.status == 400
    assert FAILURE_JA in page.text
    assert reasons(identity_log) == ["repeated_parameter"]
    assert _users(portal) == []


def test_a_callback_with_another_state_is_refused_and_the_sign_in_cannot_be_retried(
    portal, browser, identity_log
):
    to_provider = start_sign_in(portal, browser)
    callback = choose_persona(browser, browser.get(to_provider.location), "demo-0001")
    query = parse_qs(urlsplit(callback.location).query)
    forged = {"code": query["code"][0], "state": "forged-state", "iss": query["iss"][0]}
    page = browser.get(f"{portal.url}/auth/callback?{urlencode(forged)}")
    assert page.status == 400
    retried = browser.get(callback.location)  # the pending sign-in was used up
    assert retried.status == 400
    assert reasons(identity_log) == ["state_mismatch", "no_pending_sign_in"]
    assert _users(portal) == []


def test_a_callback_nobody_started_is_refused(portal, browser, identity_log):
    page = browser.get(f"{portal.url}/auth/callback?code=abc&state=xyz")
    assert page.status == 400
    assert reasons(identity_log) == ["no_pending_sign_in"]


def test_cancelling_at_the_provider_shows_the_polite_page(portal, browser, identity_log):
    to_provider = start_sign_in(portal, browser)
    personas = browser.get(to_provider.location)
    fields = {**personas.hidden_fields(), "cancel": "1"}
    back = browser.post(f"{portal.url}/demo-idp/authorize", fields)
    page = browser.get(back.location)
    assert page.status == 400
    assert FAILURE_JA in page.text
    assert 'href="/sign-in"' in page.text
    assert reasons(identity_log) == ["provider_error"]


def test_the_failure_page_speaks_english_to_english_readers(portal, browser):
    home = browser.get(f"{portal.url}/")
    browser.post(f"{portal.url}/language", {"csrf_token": home.csrf_token(), "language": "en"})
    page = browser.get(f"{portal.url}/auth/callback?code=abc&state=xyz")
    assert page.status == 400
    assert "We could not sign you in" in page.text
    assert "Please try again." in page.text


# --- a hostile provider ----------------------------------------------------------------


@dataclass
class HostileProvider:
    """A provider on 127.0.0.1 whose token endpoint returns ``id_token``."""

    server: LocalServer
    id_token: str = ""
    token_requests: list[RecordedRequest] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return self.server.url


@pytest.fixture
def hostile() -> Iterator[HostileProvider]:
    handle: dict[str, HostileProvider] = {}

    def respond(request: RecordedRequest) -> Reply:
        provider = handle["provider"]
        issuer = provider.issuer
        if request.path == "/.well-known/openid-configuration":
            return json_reply(
                {
                    "issuer": issuer,
                    "authorization_endpoint": f"{issuer}/authorize",
                    "token_endpoint": f"{issuer}/token",
                    "jwks_uri": f"{issuer}/jwks",
                    "response_types_supported": ["code"],
                    "code_challenge_methods_supported": ["S256"],
                    "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                    "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                }
            )
        if request.path == "/jwks":
            return json_reply(provider_jwks())
        if request.path == "/token":
            provider.token_requests.append(request)
            return json_reply(
                {"access_token": "opaque", "token_type": "Bearer", "id_token": provider.id_token}
            )
        return json_reply({"error": "not_found"}, 404)

    with local_server(respond) as server:
        handle["provider"] = HostileProvider(server)
        yield handle["provider"]


@pytest.fixture
def elsewhere() -> Iterator[LocalServer]:
    """A server a ``jku`` header may point at; no request must ever reach it."""
    attacker_jwks = {"keys": [{"kty": "RSA", "kid": "attacker"}]}
    with local_server(lambda _request: json_reply(attacker_jwks)) as server:
        yield server


@pytest.fixture
def hostile_portal(database_url, hostile) -> Iterator[LiveApp]:
    with live_app(
        database_url,
        OIDC_ISSUER=hostile.issuer,
        OIDC_CLIENT_ID=CLIENT_ID,
        OIDC_CLIENT_SECRET="hostile-test-secret",
    ) as live:
        yield live


def _public_key(encoding: serialization.Encoding) -> bytes:
    public = rsa_key("provider").public_key()
    return public.public_bytes(encoding, serialization.PublicFormat.SubjectPublicKeyInfo)


TokenFactory = Callable[[str, str, str], str]  # (issuer, nonce, jku target) -> token


def _claims(issuer: str, nonce: str, **overrides: object) -> dict[str, object]:
    now = int(time.time())
    base = {"iss": issuer, "sub": "demo-0001", "exp": now + 300, "iat": now - 5, "nonce": nonce}
    return claims(**{**base, "name": "佐藤 健一", **overrides})


HOSTILE_TOKENS: dict[str, tuple[TokenFactory, str]] = {
    "alg none": (
        lambda iss, nonce, _: token(
            header(alg="none", kid=None), _claims(iss, nonce), lambda d: b""
        ),
        "alg_not_allowed",
    ),
    "HS256 with the public key as PEM": (
        lambda iss, nonce, _: token(
            header(alg="HS256"),
            _claims(iss, nonce),
            hs256_signer(_public_key(serialization.Encoding.PEM)),
        ),
        "alg_not_allowed",
    ),
    "HS256 with the public key as DER": (
        lambda iss, nonce, _: token(
            header(alg="HS256"),
            _claims(iss, nonce),
            hs256_signer(_public_key(serialization.Encoding.DER)),
        ),
        "alg_not_allowed",
    ),
    "expired": (
        lambda iss, nonce, _: token(
            payload=_claims(iss, nonce, exp=int(time.time()) - 120, iat=int(time.time()) - 600)
        ),
        "expired",
    ),
    "nbf in the future": (
        lambda iss, nonce, _: token(payload=_claims(iss, nonce, nbf=int(time.time()) + 600)),
        "not_yet_valid",
    ),
    "wrong issuer": (
        lambda iss, nonce, _: token(payload=_claims(iss, nonce, iss="https://evil.example")),
        "issuer_mismatch",
    ),
    "wrong audience": (
        lambda iss, nonce, _: token(payload=_claims(iss, nonce, aud="another-client")),
        "audience_mismatch",
    ),
    "missing exp": (
        lambda iss, nonce, _: token(payload=_claims(iss, nonce, exp=None)),
        "missing_exp",
    ),
    "missing aud": (
        lambda iss, nonce, _: token(payload=_claims(iss, nonce, aud=None)),
        "missing_aud",
    ),
    "missing iat": (
        lambda iss, nonce, _: token(payload=_claims(iss, nonce, iat=None)),
        "missing_iat",
    ),
    "wrong nonce": (
        lambda iss, nonce, _: token(payload=_claims(iss, "someone-elses-nonce")),
        "nonce_mismatch",
    ),
    "unknown kid": (
        lambda iss, nonce, _: token(header(kid="retired-2019"), _claims(iss, nonce)),
        "unknown_kid",
    ),
    "jku pointing elsewhere": (
        lambda iss, nonce, jku: token(
            header(kid="attacker", jku=f"{jku}/jwks"),
            _claims(iss, nonce),
            rs_signer(rsa_key("attacker")),
        ),
        "unknown_kid",
    ),
    "oversized": (
        lambda iss, nonce, _: token(payload=_claims(iss, nonce, padding="x" * 17_000)),
        "token_too_large",
    ),
    "JWE": (
        lambda iss, nonce, _: ".".join(
            [b64_json({"alg": "RSA-OAEP", "enc": "A256GCM", "kid": RSA_KID}), "a", "b", "c", "d"]
        ),
        "jwe_not_accepted",
    ),
}


def _hostile_sign_in(
    live: LiveApp, browser: Browser, provider: HostileProvider, factory: TokenFactory, jku: str
):
    to_provider = start_sign_in(live, browser)
    assert to_provider.location.startswith(f"{provider.issuer}/authorize?")
    query = parse_qs(urlsplit(to_provider.location).query)
    provider.id_token = factory(provider.issuer, query["nonce"][0], jku)
    callback = {"code": "any-code", "state": query["state"][0], "iss": provider.issuer}
    return browser.get(f"{live.url}/auth/callback?{urlencode(callback)}")


def test_the_hostile_provider_harness_signs_in_with_a_good_token(
    hostile_portal, hostile, elsewhere, browser
):
    good = lambda iss, nonce, _: token(payload=_claims(iss, nonce))  # noqa: E731
    page = _hostile_sign_in(hostile_portal, browser, hostile, good, elsewhere.url)
    assert page.status == 303
    assert SIGNED_IN_JA in browser.follow(page).text
    # A second sign-in reuses the cached discovery document and keys.
    assert _hostile_sign_in(hostile_portal, browser, hostile, good, elsewhere.url).status == 303
    paths = [request.path for request in hostile.server.requests]
    assert paths.count("/.well-known/openid-configuration") == 1
    assert paths.count("/jwks") == 1
    assert paths.count("/token") == 2
    # This provider has no end_session_endpoint: signing out ends at the portal's home.
    home = browser.get(f"{hostile_portal.url}/")
    out = browser.post(f"{hostile_portal.url}/sign-out", {"csrf_token": home.csrf_token()})
    assert (out.status, out.location) == (303, f"{hostile_portal.url}/")
    assert not _signed_in(browser.get(f"{hostile_portal.url}/").text)


@pytest.fixture
def unreachable_portal(database_url) -> Iterator[LiveApp]:
    """The portal configured with a provider nothing answers for."""
    with local_server(lambda _request: json_reply({})) as closed:
        unreachable = closed.url  # the server stops when this block ends; the port is free
    with live_app(
        database_url, OIDC_ISSUER=unreachable, OIDC_CLIENT_ID=CLIENT_ID, OIDC_CLIENT_SECRET="s"
    ) as live:
        yield live


def test_an_unreachable_provider_is_a_polite_failure_and_not_ready(
    unreachable_portal, browser, identity_log
):
    live = unreachable_portal
    page = browser.get(f"{live.url}/sign-in")
    answer = browser.post(f"{live.url}/sign-in", {"csrf_token": page.csrf_token()})
    assert answer.status == 400
    assert FAILURE_JA in answer.text
    assert reasons(identity_log) == ["provider_unreachable"]
    ready = browser.get(f"{live.url}/readyz")
    assert ready.status == 503
    assert '"identity.resident"' in ready.text and "provider_unreachable" in ready.text


@pytest.mark.parametrize("case", list(HOSTILE_TOKENS))
def test_a_hostile_id_token_is_refused_politely_and_logged(
    hostile_portal, hostile, elsewhere, browser, identity_log, case
):
    factory, reason = HOSTILE_TOKENS[case]
    page = _hostile_sign_in(hostile_portal, browser, hostile, factory, elsewhere.url)
    assert page.status == 400
    assert FAILURE_JA in page.text
    assert "もう一度お試しください" in page.text
    assert len(hostile.token_requests) == 1  # the code was exchanged, the token refused
    assert reasons(identity_log) == [reason]
    assert elsewhere.requests == []  # a jku header is never followed
    for record in identity_log.records:
        assert hostile.id_token not in str(vars(record))
    assert _users(hostile_portal) == []
    assert "user_session" not in flask_session(hostile_portal, browser)
    assert not _signed_in(browser.get(f"{hostile_portal.url}/").text)


def test_a_state_mismatch_never_reaches_the_token_endpoint(
    hostile_portal, hostile, browser, identity_log
):
    start_sign_in(hostile_portal, browser)
    callback = {"code": "any-code", "state": "not-ours", "iss": hostile.issuer}
    page = browser.get(f"{hostile_portal.url}/auth/callback?{urlencode(callback)}")
    assert page.status == 400
    assert hostile.token_requests == []
    assert reasons(identity_log) == ["state_mismatch"]
