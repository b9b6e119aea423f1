"""The built-in demo provider speaks OpenID Connect to the letter.

These tests play the relying party by hand against the provider's endpoints, so each
rule of OIDC Core, RFC 6749, RFC 7636 and RFC 9207 the provider enforces is checked
on its own; ``test_views`` drives the portal's real relying party against it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal import create_app
from portal.config import ConfigError, load_settings
from portal.identity.demo_idp import (
    CODE_LIFETIME_SECONDS,
    EXTENSION_KEY,
    STAFF,
    DemoProvider,
    load_or_create_key,
    resident_personas,
)
from portal.identity.oidc import pkce_challenge
from portal.identity.tokens import JwksCache, verify_id_token
from portal.records import demo_data
from tests.conftest import app_config

VERIFIER = "verifier-" + "x" * 50
ORIGIN = "http://127.0.0.1:5000"
ISSUER = f"{ORIGIN}/demo-idp"
RESIDENT_CALLBACK = f"{ORIGIN}/auth/callback"
STAFF_CALLBACK = f"{ORIGIN}/staff/auth/callback"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def provider(app: Flask) -> DemoProvider:
    return app.extensions[EXTENSION_KEY]


def authorization(app: Flask, staff: bool = False, **overrides: str | None) -> dict[str, str]:
    prefix = "STAFF_" if staff else ""
    parameters = {
        "client_id": app.config[f"{prefix}OIDC_CLIENT_ID"],
        "redirect_uri": STAFF_CALLBACK if staff else RESIDENT_CALLBACK,
        "response_type": "code",
        "scope": "openid profile",
        "state": "state-123",
        "nonce": "nonce-456",
        "code_challenge": pkce_challenge(VERIFIER),
        "code_challenge_method": "S256",
        **overrides,
    }
    return {name: value for name, value in parameters.items() if value is not None}


def basic(client_id: str, secret: str) -> dict[str, str]:
    credentials = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


def client_auth(app: Flask, staff: bool = False) -> dict[str, str]:
    prefix = "STAFF_" if staff else ""
    return basic(app.config[f"{prefix}OIDC_CLIENT_ID"], app.config[f"{prefix}OIDC_CLIENT_SECRET"])


def persona_page(client: FlaskClient, parameters: dict[str, str]) -> str:
    page = client.get(f"/demo-idp/authorize?{urlencode(parameters)}")
    assert page.status_code == 200, page.get_data(as_text=True)
    return page.get_data(as_text=True)


def get_code(app: Flask, client: FlaskClient, subject: str = "demo-0001", staff: bool = False):
    parameters = authorization(app, staff=staff)
    token = _CSRF.search(persona_page(client, parameters)).group(1)
    answer = client.post(
        "/demo-idp/authorize", data={**parameters, "csrf_token": token, "persona": subject}
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    return query["code"][0], answer.headers["Location"]


def redeem(
    app: Flask, client: FlaskClient, code: str, staff: bool = False, **overrides: str | None
):
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": STAFF_CALLBACK if staff else RESIDENT_CALLBACK,
        "code_verifier": VERIFIER,
        **overrides,
    }
    return client.post(
        "/demo-idp/token",
        data={name: value for name, value in form.items() if value is not None},
        headers=client_auth(app, staff=staff),
    )


def verified(app: Flask, id_token: str, staff: bool = False, nonce: str = "nonce-456"):
    """Check the ID token with the portal's verifier against the provider's own JWKS."""
    prefix = "STAFF_" if staff else ""
    jwks = JwksCache(f"{ISSUER}/jwks", lambda _url: provider(app).jwks())
    return verify_id_token(
        id_token,
        issuer=ISSUER,
        client_id=app.config[f"{prefix}OIDC_CLIENT_ID"],
        jwks=jwks,
        nonce=nonce,
        algorithms=["RS256"],
    )


# --- discovery and keys ---------------------------------------------------------------


def test_discovery_describes_a_code_flow_provider_with_pkce_and_the_iss_parameter(client):
    document = client.get("/demo-idp/.well-known/openid-configuration").get_json()
    assert document["issuer"] == ISSUER
    for name, path in [
        ("authorization_endpoint", "authorize"),
        ("token_endpoint", "token"),
        ("userinfo_endpoint", "userinfo"),
        ("jwks_uri", "jwks"),
        ("end_session_endpoint", "logout"),
    ]:
        assert document[name] == f"{ISSUER}/{path}"
    assert document["response_types_supported"] == ["code"]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["token_endpoint_auth_methods_supported"] == ["client_secret_basic"]
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    assert document["authorization_response_iss_parameter_supported"] is True


def test_the_jwks_holds_one_public_rsa_2048_key_named_by_its_thumbprint(app, client):
    (key,) = client.get("/demo-idp/jwks").get_json()["keys"]
    assert set(key) == {"kty", "n", "e", "kid", "use", "alg"}  # nothing private
    assert (key["kty"], key["use"], key["alg"]) == ("RSA", "sig", "RS256")
    modulus = base64.urlsafe_b64decode(key["n"] + "=" * (-len(key["n"]) % 4))
    assert int.from_bytes(modulus, "big").bit_length() == 2048
    # RFC 7638 §3.1: SHA-256 over the required members, sorted, without whitespace.
    canonical = f'{{"e":"{key["e"]}","kty":"RSA","n":"{key["n"]}"}}'.encode()
    expected = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=")
    assert key["kid"] == expected.decode()


def test_the_key_is_made_once_kept_private_and_reused(tmp_path: Path):
    first = load_or_create_key(tmp_path)
    second = load_or_create_key(tmp_path)
    assert first.private_numbers() == second.private_numbers()
    assert (tmp_path / "demo-idp-signing-key.pem").stat().st_mode & 0o777 == 0o600


def test_every_app_of_an_instance_signs_with_the_same_key(app, database_url):
    other = create_app(app_config(database_url))
    assert provider(other).kid == provider(app).kid


def test_readiness_checks_the_demo_provider_in_process(client):
    checks = client.get("/readyz").get_json()["checks"]
    assert checks["identity.resident"] == {"ok": True, "detail": f"built-in demo provider {ISSUER}"}
    assert checks["identity.staff"]["ok"] is True


# --- the authorization endpoint --------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"client_id": "someone-else"},
        {"client_id": None},
        {"redirect_uri": "https://evil.example/auth/callback"},
        {"redirect_uri": RESIDENT_CALLBACK + "?x=1"},
        {"redirect_uri": STAFF_CALLBACK},
        {"redirect_uri": None},
    ],
    ids=[
        "unknown client",
        "no client",
        "foreign redirect",
        "redirect with extra query",
        "another client's redirect",
        "no redirect",
    ],
)
def test_an_untrusted_client_or_redirect_is_refused_here_never_redirected(app, client, overrides):
    answer = client.get(f"/demo-idp/authorize?{urlencode(authorization(app, **overrides))}")
    assert answer.status_code == 400
    assert "Location" not in answer.headers
    assert "サインインの要求が正しくありません" in answer.get_data(as_text=True)


def test_a_repeated_redirect_uri_is_refused_here(app, client):
    query = (
        urlencode(authorization(app)) + "&" + urlencode({"redirect_uri": "https://evil.example/"})
    )
    answer = client.get(f"/demo-idp/authorize?{query}")
    assert answer.status_code == 400
    assert "Location" not in answer.headers


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": None}, "unsupported_response_type"),
        ({"scope": "profile"}, "invalid_scope"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
        ({"nonce": None}, "invalid_request"),
        ({"nonce": "n" * 600}, "invalid_request"),
    ],
)
def test_a_bad_request_from_a_known_client_is_answered_at_its_redirect_uri(
    app, client, overrides, error
):
    answer = client.get(f"/demo-idp/authorize?{urlencode(authorization(app, **overrides))}")
    assert answer.status_code == 303
    location = answer.headers["Location"]
    assert location.startswith(RESIDENT_CALLBACK + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["error"] == [error]
    assert query["state"] == ["state-123"]
    assert query["iss"] == [ISSUER]
    assert "code" not in query


def test_a_request_without_state_is_refused(app, client):
    answer = client.get(f"/demo-idp/authorize?{urlencode(authorization(app, state=None))}")
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["error"] == ["invalid_request"] and "state" not in query


def test_a_repeated_parameter_is_refused(app, client):
    query = urlencode(authorization(app)) + "&nonce=second"
    answer = client.get(f"/demo-idp/authorize?{query}")
    assert parse_qs(urlsplit(answer.headers["Location"]).query)["error"] == ["invalid_request"]


def _adults_alive() -> set[str]:
    """Register keys of the demo persons alive and 18 or over on the demo's reference date."""
    today = demo_data.REFERENCE_DATE
    born_by = today.replace(year=today.year - 18)
    return {
        person.key
        for person in demo_data.PERSONS
        if person.death_date is None and person.birth_date <= born_by
    }


def test_the_resident_page_lists_the_living_adults_of_the_demo_registers(app, client):
    page = persona_page(client, authorization(app))
    assert '<html lang="ja">' in page
    assert "サインインする人を選んでください" in page
    living = _adults_alive()
    assert len(living) >= 20
    assert {"demo-0001", "demo-0028", "demo-0032"} <= living  # a parent, an agent, a mourner
    for person in demo_data.PERSONS:
        shown = f'value="{person.key}"' in page
        assert shown == (person.key in living), person.key
    assert "佐藤 健一 としてサインイン" in page
    # The scenario lines are English data: marked so screen readers read them right.
    assert 'lang="en">Father of a baby born on 18 November' in page
    assert page.count('type="submit" name="persona"') == len(living)
    assert "staff-admin" not in page


def test_the_staff_page_offers_clerks_of_three_departments_and_an_admin(app, client):
    page = persona_page(client, authorization(app, staff=True))
    departments = {d for member in STAFF if "clerk" in member.roles for d in member.departments}
    assert {"citizens", "insurance_pension"} <= departments and len(departments) >= 3
    assert any("admin" in member.roles for member in STAFF)
    for member in STAFF:
        assert f'value="{member.subject}"' in page
    assert "demo-0001" not in page
    assert "市民課の職員" in page  # the descriptions follow the page's language


def test_the_persona_page_speaks_english_when_chosen(app, client):
    client.set_cookie("madoguchi_lang", "en")
    page = persona_page(client, authorization(app))
    assert "Choose who to sign in as" in page
    assert 'lang="en">Father' not in page  # no marking needed on an English page


def test_choosing_a_persona_redirects_back_with_code_state_and_iss(app, client):
    code, location = get_code(app, client)
    query = parse_qs(urlsplit(location).query)
    assert location.startswith(RESIDENT_CALLBACK + "?")
    assert query["state"] == ["state-123"] and query["iss"] == [ISSUER]
    assert len(code) >= 43


def test_choosing_needs_the_csrf_token(app, client):
    persona_page(client, authorization(app))
    answer = client.post("/demo-idp/authorize", data={**authorization(app), "persona": "demo-0001"})
    assert answer.status_code == 400
    assert "Location" not in answer.headers


@pytest.mark.parametrize(
    ("subject", "overrides"),
    [
        ("staff-admin", {}),  # a staff persona through the resident client
        ("demo-0017", {}),  # a deceased person cannot sign in
        ("demo-0003", {}),  # nor a child of three
        ("nobody", {}),
        ("demo-0001", {"redirect_uri": "https://evil.example/"}),
    ],
)
def test_a_tampered_choice_is_refused_without_a_code(app, client, subject, overrides):
    parameters = authorization(app, **overrides)
    token = _CSRF.search(persona_page(client, authorization(app))).group(1)
    answer = client.post(
        "/demo-idp/authorize", data={**parameters, "csrf_token": token, "persona": subject}
    )
    assert answer.status_code == 400
    assert "Location" not in answer.headers


def test_cancelling_answers_access_denied(app, client):
    parameters = authorization(app)
    token = _CSRF.search(persona_page(client, parameters)).group(1)
    answer = client.post(
        "/demo-idp/authorize", data={**parameters, "csrf_token": token, "cancel": "1"}
    )
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["error"] == ["access_denied"] and query["state"] == ["state-123"]


# --- the token endpoint ---------------------------------------------------------------


def test_a_code_buys_a_bearer_token_and_an_id_token_the_portal_verifies(app, client):
    code, _ = get_code(app, client)
    answer = redeem(app, client, code)
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Pragma"] == "no-cache"
    body = answer.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0 and body["access_token"]
    claims = verified(app, body["id_token"]).claims
    client_id = app.config["OIDC_CLIENT_ID"]
    assert (claims["iss"], claims["sub"], claims["aud"], claims["azp"]) == (
        ISSUER,
        "demo-0001",
        client_id,
        client_id,
    )
    assert claims["exp"] - claims["iat"] == 300
    assert claims["nonce"] == "nonce-456"
    assert claims["name"] == "佐藤 健一"
    header = json.loads(base64.urlsafe_b64decode(body["id_token"].split(".")[0] + "=="))
    assert header == {"alg": "RS256", "kid": provider(app).kid, "typ": "JWT"}


def test_a_staff_id_token_carries_roles_and_departments(app, client):
    code, _ = get_code(app, client, "staff-clerk-child-support", staff=True)
    body = redeem(app, client, code, staff=True).get_json()
    claims = verified(app, body["id_token"], staff=True).claims
    assert claims["sub"] == "staff-clerk-child-support"
    assert list(claims["roles"]) == ["clerk"]
    assert list(claims["departments"]) == ["child_support", "nursery"]


def test_a_code_works_once_and_reusing_it_withdraws_the_access_token(app, client):
    code, _ = get_code(app, client)
    access_token = redeem(app, client, code).get_json()["access_token"]
    bearer = {"Authorization": f"Bearer {access_token}"}
    assert client.get("/demo-idp/userinfo", headers=bearer).status_code == 200
    again = redeem(app, client, code)
    assert (again.status_code, again.get_json()["error"]) == (400, "invalid_grant")
    assert client.get("/demo-idp/userinfo", headers=bearer).status_code == 401


def test_a_guessed_code_is_refused(app, client):
    get_code(app, client)
    answer = redeem(app, client, "guessed-" + "x" * 40)
    assert (answer.status_code, answer.get_json()["error"]) == (400, "invalid_grant")


def test_a_code_lives_sixty_seconds(app, client):
    code, _ = get_code(app, client)
    real_clock = provider(app).clock
    provider(app).clock = lambda: real_clock() + CODE_LIFETIME_SECONDS + 1
    answer = redeem(app, client, code)
    assert (answer.status_code, answer.get_json()["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"redirect_uri": "http://127.0.0.1:5000/elsewhere"}, "invalid_grant"),
        ({"redirect_uri": None}, "invalid_grant"),
        ({"code_verifier": "verifier-" + "y" * 50}, "invalid_grant"),
        ({"code_verifier": None}, "invalid_grant"),
        ({"code_verifier": "short"}, "invalid_grant"),
        ({"grant_type": "refresh_token"}, "unsupported_grant_type"),
        ({"client_secret": "also-in-the-body"}, "invalid_request"),
    ],
)
def test_the_token_request_is_checked(app, client, overrides, error):
    code, _ = get_code(app, client)
    answer = redeem(app, client, code, **overrides)
    assert (answer.status_code, answer.get_json()["error"]) == (400, error)
    assert "id_token" not in answer.get_json()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer something"},
        {"Authorization": "Basic not-base64!"},
    ],
)
def test_the_token_endpoint_needs_client_authentication(app, client, headers):
    code, _ = get_code(app, client)
    answer = client.post(
        "/demo-idp/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": RESIDENT_CALLBACK,
            "code_verifier": VERIFIER,
        },
        headers=headers,
    )
    assert (answer.status_code, answer.get_json()["error"]) == (401, "invalid_client")
    assert answer.headers["WWW-Authenticate"].startswith("Basic")


def test_a_wrong_secret_or_another_clients_code_is_refused(app, client):
    code, _ = get_code(app, client)
    wrong = client.post(
        "/demo-idp/token",
        data={"grant_type": "authorization_code", "code": code},
        headers=basic(app.config["OIDC_CLIENT_ID"], "not-the-secret"),
    )
    assert wrong.status_code == 401
    stolen = redeem(app, client, code, staff=True, redirect_uri=RESIDENT_CALLBACK)
    assert (stolen.status_code, stolen.get_json()["error"]) == (400, "invalid_grant")
    assert redeem(app, client, code).status_code == 200  # the rightful client still can


def test_userinfo_needs_a_valid_bearer_token(app, client):
    code, _ = get_code(app, client)
    access_token = redeem(app, client, code).get_json()["access_token"]
    info = client.get("/demo-idp/userinfo", headers={"Authorization": f"Bearer {access_token}"})
    assert info.get_json()["sub"] == "demo-0001" and info.get_json()["name"] == "佐藤 健一"
    refused = client.get("/demo-idp/userinfo", headers={"Authorization": "Bearer forged"})
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


# --- logout ---------------------------------------------------------------------------


def _id_token(app: Flask, client: FlaskClient) -> str:
    code, _ = get_code(app, client)
    return redeem(app, client, code).get_json()["id_token"]


def test_logout_returns_to_the_registered_address_with_the_state(app, client):
    hint = _id_token(app, client)
    query = {"id_token_hint": hint, "post_logout_redirect_uri": f"{ORIGIN}/", "state": "s-9"}
    answer = client.get(f"/demo-idp/logout?{urlencode(query)}")
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"{ORIGIN}/?state=s-9"


@pytest.mark.parametrize(
    "query",
    [
        {"post_logout_redirect_uri": "https://evil.example/"},
        {"post_logout_redirect_uri": "https://evil.example/", "id_token_hint": "unknown"},
        {"post_logout_redirect_uri": f"{ORIGIN}/", "id_token_hint": "unknown"},
        {"post_logout_redirect_uri": f"{ORIGIN}/", "client_id": "someone-else"},
    ],
)
def test_logout_never_redirects_to_an_address_it_cannot_vouch_for(app, client, query):
    answer = client.get(f"/demo-idp/logout?{urlencode(query)}")
    assert answer.status_code == 200
    assert "Location" not in answer.headers
    assert "サインアウトしました" in answer.get_data(as_text=True)


def test_logout_refuses_a_hint_for_another_client(app, client):
    hint = _id_token(app, client)
    query = {
        "id_token_hint": hint,
        "client_id": app.config["STAFF_OIDC_CLIENT_ID"],
        "post_logout_redirect_uri": f"{ORIGIN}/",
    }
    assert client.get(f"/demo-idp/logout?{urlencode(query)}").status_code == 200


# --- when it exists -------------------------------------------------------------------


def test_the_demo_provider_is_not_served_when_off(database_url):
    app = create_app(
        app_config(
            database_url,
            DEMO_IDP="0",
            OIDC_ISSUER="https://login.example.test",
            OIDC_CLIENT_ID="portal",
            OIDC_CLIENT_SECRET="secret",
            STAFF_OIDC_ISSUER="https://staff-login.example.test",
            STAFF_OIDC_CLIENT_ID="portal-staff",
            STAFF_OIDC_CLIENT_SECRET="secret",
        )
    )
    client = app.test_client()
    assert client.get("/demo-idp/.well-known/openid-configuration").status_code == 404
    assert client.get("/demo-idp/jwks").status_code == 404
    assert EXTENSION_KEY not in app.extensions
    policy = client.get("/").headers["Content-Security-Policy"]
    assert (
        "form-action 'self' https://login.example.test https://staff-login.example.test" in policy
    )


def test_production_refuses_to_start_with_the_demo_provider(tmp_path):
    with pytest.raises(ConfigError) as refused:
        load_settings(
            {"PORTAL_ENV": "production", "SECRET_KEY": "k" * 40, "DEMO_IDP": "1"}, tmp_path
        )
    assert str(refused.value).startswith("DEMO_IDP must be off when PORTAL_ENV=production")


def test_resident_personas_are_the_living_adults_of_the_registers():
    subjects = {persona.subject for persona in resident_personas()}
    assert subjects == _adults_alive()
    assert "demo-0004" not in subjects  # the newborn
    assert "demo-0017" not in subjects  # died on 20 November
