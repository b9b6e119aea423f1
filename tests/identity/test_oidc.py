"""The relying-party protocol: discovery, the authorization request, the callback, the code
exchange (end to end against a provider on 127.0.0.1), logout, and the HTTP helpers."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from urllib.parse import parse_qs, unquote_plus, urlsplit

import pytest

from portal.identity.oidc import (
    MAX_RESPONSE_BYTES,
    AuthorizationState,
    HttpError,
    JsonResponse,
    ProviderMetadata,
    discover,
    discovery_url,
    exchange_code,
    http_fetch_json,
    http_post_form,
    logout_url,
    parse_callback,
    pkce_challenge,
    start_authorization,
)
from portal.identity.tokens import JwksCache, SignInError, TokenRejected
from tests.identity.support import (
    CLIENT_ID,
    ISSUER,
    NOW,
    RSA_KID,
    CountingFetch,
    FakeClock,
    RecordedRequest,
    Reply,
    claims,
    drip,
    header,
    json_reply,
    local_server,
    provider_jwks,
    token,
)

REDIRECT_URI = "https://madoguchi.example.test/identity/callback"
CLIENT_SECRET = "s3cret:with spaces/and+plus"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every request on 127.0.0.1 even where the shell sets a proxy."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "*")


def discovery_document(issuer: str = ISSUER, **overrides: object) -> dict[str, object]:
    document: dict[str, object] = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "jwks_uri": f"{issuer}/jwks",
        "end_session_endpoint": f"{issuer}/logout",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
    }
    document.update(overrides)
    return {name: value for name, value in document.items() if value is not None}


def metadata(**overrides: object) -> ProviderMetadata:
    return ProviderMetadata.from_document(discovery_document(**overrides), issuer=ISSUER)


def metadata_refusal(document: dict[str, object], issuer: str = ISSUER, **options: object) -> str:
    with pytest.raises(SignInError) as refused:
        ProviderMetadata.from_document(document, issuer=issuer, **options)  # type: ignore[arg-type]
    assert refused.value.reason_code == "provider_metadata_invalid"
    return refused.value.detail


def pending(**overrides: object) -> AuthorizationState:
    values: dict[str, object] = {
        "state": "s" * 43,
        "nonce": "n" * 43,
        "code_verifier": "v" * 64,
        "redirect_uri": REDIRECT_URI,
        "issuer": ISSUER,
        "issuer_in_response_required": False,
        "created_at": NOW,
    }
    values.update(overrides)
    return AuthorizationState(**values)  # type: ignore[arg-type]


def callback_refusal(query: dict[str, str], expected: AuthorizationState) -> SignInError:
    with pytest.raises(SignInError) as refused:
        parse_callback(query, expected, now=lambda: NOW + 10)
    return refused.value


# --- discovery ----------------------------------------------------------------------


def test_a_valid_discovery_document_gives_the_endpoints_and_shared_algorithms():
    checked = metadata(id_token_signing_alg_values_supported=["HS256", "ES256", "RS256", "ES512"])
    assert checked.issuer == ISSUER
    assert checked.token_endpoint == f"{ISSUER}/token"
    assert checked.jwks_uri == f"{ISSUER}/jwks"
    assert checked.end_session_endpoint == f"{ISSUER}/logout"
    assert checked.id_token_signing_alg_values == ("RS256", "ES256")  # our order, no HS256
    assert checked.issuer_in_authorization_response is False


@pytest.mark.parametrize(
    "claimed_issuer",
    ["https://evil.example.test", ISSUER + "/", "https://IDP.example.test", None],
)
def test_discovery_with_a_different_issuer_is_refused(claimed_issuer):
    document = discovery_document(issuer=claimed_issuer)
    document["authorization_endpoint"] = f"{ISSUER}/authorize"
    assert "configured issuer" in metadata_refusal(document)


@pytest.mark.parametrize("endpoint", ["authorization_endpoint", "token_endpoint", "jwks_uri"])
def test_discovery_without_a_required_endpoint_is_refused(endpoint):
    assert f"{endpoint} is missing" in metadata_refusal(discovery_document(**{endpoint: None}))


@pytest.mark.parametrize(
    "overrides",
    [
        {"token_endpoint": "http://idp.example.test/token"},
        {"jwks_uri": "http://127.0.0.1:8080/jwks"},  # loopback http only for a loopback issuer
        {"authorization_endpoint": "https://idp.example.test/authorize#fragment"},
        {"end_session_endpoint": "javascript:alert(1)"},
    ],
)
def test_endpoints_must_be_https(overrides):
    assert "https" in metadata_refusal(discovery_document(**overrides))


def test_a_plain_http_issuer_is_refused_unless_it_is_loopback():
    plain = "http://idp.example.test"
    assert "https" in metadata_refusal(discovery_document(plain), issuer=plain)


@pytest.mark.parametrize("issuer", ["http://127.0.0.1:5000/demo", "http://localhost:5000"])
def test_a_loopback_http_issuer_is_allowed_in_development_only(issuer):
    document = discovery_document(issuer)
    checked = ProviderMetadata.from_document(document, issuer=issuer)
    assert checked.token_endpoint == f"{issuer}/token"
    assert "https" in metadata_refusal(document, issuer=issuer, allow_loopback_http=False)


def test_a_loopback_lookalike_host_is_not_loopback():
    lookalike = "http://127.0.0.1.evil.example.test"
    assert "https" in metadata_refusal(discovery_document(lookalike), issuer=lookalike)


@pytest.mark.parametrize(
    ("overrides", "detail"),
    [
        ({"id_token_signing_alg_values_supported": ["HS256", "none"]}, "we accept"),
        ({"id_token_signing_alg_values_supported": None}, "is missing"),
        ({"id_token_signing_alg_values_supported": "RS256"}, "list of strings"),
        ({"response_types_supported": ["id_token"]}, "authorization code"),
        ({"code_challenge_methods_supported": ["plain"]}, "S256"),
        ({"token_endpoint_auth_methods_supported": ["private_key_jwt"]}, "client_secret_basic"),
        ({"authorization_response_iss_parameter_supported": "yes"}, "bool"),
    ],
)
def test_discovery_without_what_the_flow_needs_is_refused(overrides, detail):
    assert detail in metadata_refusal(discovery_document(**overrides))


def test_discovery_with_an_unsafe_allow_list_is_a_configuration_error():
    with pytest.raises(ValueError):
        ProviderMetadata.from_document(discovery_document(), issuer=ISSUER, algorithms=["HS256"])


def test_discover_fetches_the_well_known_document_under_the_issuer_path():
    issuer = "https://idp.example.test/realms/city"
    fetch = CountingFetch(discovery_document(issuer))
    assert discover(issuer, fetch_json=fetch).issuer == issuer
    assert fetch.calls == ["https://idp.example.test/realms/city/.well-known/openid-configuration"]
    assert discovery_url(issuer + "/") == fetch.calls[0]


def test_discover_reports_an_unreachable_provider():
    def unreachable(url: str):
        raise HttpError("connection refused")

    with pytest.raises(SignInError) as refused:
        discover(ISSUER, fetch_json=unreachable)
    assert refused.value.reason_code == "provider_unreachable"


# --- authorization request ----------------------------------------------------------


def test_pkce_s256_matches_the_rfc_7636_appendix_b_example():
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


@pytest.mark.parametrize("verifier", ["short", "x" * 129, "x" * 42 + "!", "x" * 42 + " "])
def test_pkce_refuses_a_verifier_outside_rfc_7636(verifier):
    with pytest.raises(ValueError):
        pkce_challenge(verifier)


def test_authorization_url_carries_code_flow_state_nonce_and_pkce():
    provider = metadata(authorization_endpoint=f"{ISSUER}/authorize?tenant=city&scope=old")
    url, state = start_authorization(
        provider, CLIENT_ID, REDIRECT_URI, ["openid", "profile"], now=lambda: NOW
    )
    parts = urlsplit(url)
    query = parse_qs(parts.query, strict_parsing=True)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{ISSUER}/authorize"
    assert {name: values for name, values in query.items()} == {
        "tenant": ["city"],
        "response_type": ["code"],
        "client_id": [CLIENT_ID],
        "redirect_uri": [REDIRECT_URI],
        "scope": ["openid profile"],
        "state": [state.state],
        "nonce": [state.nonce],
        "code_challenge": [pkce_challenge(state.code_verifier)],
        "code_challenge_method": ["S256"],
    }
    expected_challenge = hashlib.sha256(state.code_verifier.encode()).digest()
    assert base64.urlsafe_b64decode(query["code_challenge"][0] + "=") == expected_challenge
    assert state.redirect_uri == REDIRECT_URI and state.issuer == ISSUER
    assert state.created_at == NOW


def test_each_authorization_gets_fresh_long_random_values():
    provider = metadata()
    states = [
        start_authorization(provider, CLIENT_ID, REDIRECT_URI, ["openid"])[1] for _ in range(5)
    ]
    for name in ("state", "nonce", "code_verifier"):
        values = {getattr(state, name) for state in states}
        assert len(values) == 5
        assert all(len(value) >= 43 for value in values)


@pytest.mark.parametrize(
    ("scopes", "redirect_uri"),
    [
        (["profile"], REDIRECT_URI),
        (["openid", "two words"], REDIRECT_URI),
        (["openid", ""], REDIRECT_URI),
        (["openid"], "/identity/callback"),
        (["openid"], "https://madoguchi.example.test/callback#frag"),
    ],
)
def test_a_bad_authorization_request_is_a_programming_error(scopes, redirect_uri):
    with pytest.raises(ValueError):
        start_authorization(metadata(), CLIENT_ID, redirect_uri, scopes)


def test_authorization_state_survives_the_session_as_json_and_hides_secrets_in_repr():
    _, state = start_authorization(
        metadata(authorization_response_iss_parameter_supported=True),
        CLIENT_ID,
        REDIRECT_URI,
        ["openid"],
    )
    restored = AuthorizationState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert restored == state
    assert restored.issuer_in_response_required is True
    for secret in (state.state, state.nonce, state.code_verifier):
        assert secret not in repr(state)


@pytest.mark.parametrize(
    "data",
    [
        None,
        "state",
        {},
        {**pending().to_dict(), "nonce": ""},
        {**pending().to_dict(), "created_at": "yesterday"},
        {**pending().to_dict(), "created_at": True},
        {**pending().to_dict(), "issuer_in_response_required": "no"},
    ],
)
def test_a_missing_or_damaged_session_state_means_no_pending_sign_in(data):
    with pytest.raises(SignInError) as refused:
        AuthorizationState.from_dict(data)
    assert refused.value.reason_code == "no_pending_sign_in"


# --- callback -----------------------------------------------------------------------


def test_callback_with_our_state_returns_the_code():
    expected = pending()
    query = {"code": "abc", "state": expected.state, "iss": ISSUER}
    assert parse_callback(query, expected, now=lambda: NOW + 10) == "abc"


@pytest.mark.parametrize("state", ["t" * 43, "s" * 42, "", "ß" * 43])
def test_callback_with_another_state_is_refused(state):
    refused = callback_refusal({"code": "abc", "state": state}, pending())
    assert refused.reason_code == "state_mismatch"


def test_callback_without_state_is_refused():
    assert callback_refusal({"code": "abc"}, pending()).reason_code == "state_mismatch"


def test_an_error_callback_becomes_a_clean_sign_in_error():
    query = {"error": "access_denied", "error_description": "<script>", "state": "s" * 43}
    refused = callback_refusal(query, pending())
    assert (refused.reason_code, refused.detail) == ("provider_error", "access_denied")
    assert "<script>" not in str(refused)


def test_an_error_code_with_odd_characters_is_not_repeated():
    refused = callback_refusal({"error": "bad\nlog line", "state": "s" * 43}, pending())
    assert refused.detail == "unrecognised"


def test_an_error_callback_with_a_foreign_state_is_a_state_mismatch():
    refused = callback_refusal({"error": "access_denied", "state": "x" * 43}, pending())
    assert refused.reason_code == "state_mismatch"


def test_callback_from_another_issuer_is_refused_rfc_9207():
    query = {"code": "abc", "state": "s" * 43, "iss": "https://other-idp.example.test"}
    assert callback_refusal(query, pending()).reason_code == "callback_issuer_mismatch"


def test_callback_without_iss_is_refused_when_the_provider_promises_it():
    query = {"code": "abc", "state": "s" * 43}
    expected = pending(issuer_in_response_required=True)
    assert callback_refusal(query, expected).reason_code == "callback_issuer_missing"
    assert parse_callback(query, pending(), now=lambda: NOW) == "abc"


def test_a_stale_callback_is_refused():
    query = {"code": "abc", "state": "s" * 43}
    with pytest.raises(SignInError) as refused:
        parse_callback(query, pending(), now=lambda: NOW + 601)
    assert refused.value.reason_code == "authorization_expired"


def test_callback_without_a_code_is_refused():
    assert callback_refusal({"state": "s" * 43}, pending()).reason_code == "missing_code"


# --- code exchange ------------------------------------------------------------------


class FakeProvider:
    """A tiny OpenID provider on 127.0.0.1: discovery, JWKS, and a strict token endpoint."""

    def __init__(self) -> None:
        self.issuer = ""
        self.grants: dict[str, dict[str, str]] = {}
        self.id_token_claims: dict[str, object] = {}

    def authorize(self, authorization_url: str) -> dict[str, str]:
        """Play the browser and the consenting resident; return the callback query."""
        query = {
            name: values[0] for name, values in parse_qs(urlsplit(authorization_url).query).items()
        }
        code = f"code-{len(self.grants)}"
        self.grants[code] = query
        return {"code": code, "state": query["state"], "iss": self.issuer}

    def respond(self, request: RecordedRequest) -> Reply:
        path = urlsplit(request.path).path
        if path == "/.well-known/openid-configuration":
            return json_reply(discovery_document(self.issuer))
        if path == "/jwks":
            body = json.dumps(provider_jwks()).encode()
            return 200, {"Content-Type": "application/jwk-set+json"}, body
        if path == "/token" and request.method == "POST":
            return self._token(request)
        return json_reply({"error": "not_found"}, status=404)

    def _token(self, request: RecordedRequest) -> Reply:
        form = {name: values[0] for name, values in parse_qs(request.body.decode()).items()}
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        user, _, password = base64.b64decode(encoded).decode().partition(":")
        grant = self.grants.pop(form.get("code", ""), None)
        verifier_digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        if (
            scheme != "Basic"
            or (unquote_plus(user), unquote_plus(password)) != (CLIENT_ID, CLIENT_SECRET)
            or form.get("grant_type") != "authorization_code"
            or grant is None
            or form.get("redirect_uri") != grant["redirect_uri"]
            or base64.urlsafe_b64encode(verifier_digest).rstrip(b"=").decode()
            != grant["code_challenge"]
        ):
            return json_reply({"error": "invalid_grant"}, status=400)
        id_token = token(
            header(),
            claims(iss=self.issuer, nonce=grant["nonce"], **self.id_token_claims),
        )
        return json_reply({"access_token": "at", "token_type": "Bearer", "id_token": id_token})


@pytest.fixture
def provider() -> Iterator[tuple[FakeProvider, list[RecordedRequest]]]:
    fake = FakeProvider()
    with local_server(fake.respond) as server:
        fake.issuer = server.url
        yield fake, server.requests


def sign_in(fake: FakeProvider) -> tuple[ProviderMetadata, AuthorizationState, str, JwksCache]:
    """Discover, start, and come back from the provider, as the views will."""
    checked = discover(fake.issuer)
    url, state = start_authorization(checked, CLIENT_ID, REDIRECT_URI, ["openid"], now=lambda: NOW)
    code = parse_callback(fake.authorize(url), state, now=lambda: NOW + 5)
    return checked, state, code, JwksCache(checked.jwks_uri, http_fetch_json)


def test_sign_in_end_to_end_through_exchange_code(provider):
    fake, requests = provider
    checked, state, code, jwks = sign_in(fake)
    result = exchange_code(
        checked,
        CLIENT_ID,
        CLIENT_SECRET,
        code,
        state.redirect_uri,
        state.code_verifier,
        jwks=jwks,
        nonce=state.nonce,
        now=lambda: NOW,
    )
    assert result.claims.issuer == fake.issuer
    assert result.claims.person_key("resident_code") == "R-123456"
    assert result.id_token.count(".") == 2 and result.id_token not in repr(result)
    assert [request.path for request in requests] == [
        "/.well-known/openid-configuration",
        "/token",
        "/jwks",
    ]
    assert "client_id" not in parse_qs(requests[1].body.decode())  # credentials go in Basic


def test_exchange_with_a_wrong_code_verifier_is_refused_by_the_provider(provider):
    fake, _ = provider
    checked, state, code, jwks = sign_in(fake)
    with pytest.raises(SignInError) as refused:
        exchange_code(
            checked,
            CLIENT_ID,
            CLIENT_SECRET,
            code,
            state.redirect_uri,
            "w" * 64,
            jwks=jwks,
            nonce=state.nonce,
            now=lambda: NOW,
        )
    assert (refused.value.reason_code, refused.value.detail) == (
        "token_endpoint_error",
        "HTTP 400 invalid_grant",
    )


def test_exchange_refuses_an_id_token_for_another_sign_in(provider):
    fake, _ = provider
    checked, state, code, jwks = sign_in(fake)
    fake.id_token_claims = {"aud": "another-client"}
    with pytest.raises(TokenRejected) as refused:
        exchange_code(
            checked,
            CLIENT_ID,
            CLIENT_SECRET,
            code,
            state.redirect_uri,
            state.code_verifier,
            jwks=jwks,
            nonce=state.nonce,
            now=lambda: NOW,
        )
    assert refused.value.reason_code == "audience_mismatch"


def fake_post(body: dict[str, object], status: int = 200):
    sent: list[tuple[str, dict[str, str], tuple[str, str]]] = []

    def post_form(url, data, auth):
        sent.append((url, dict(data), auth))
        return JsonResponse(status=status, body=body)

    post_form.sent = sent  # type: ignore[attr-defined]
    return post_form


def exchange_with(post_form, **overrides: object):
    checked = metadata()
    arguments: dict[str, object] = {
        "jwks": JwksCache(checked.jwks_uri, CountingFetch(provider_jwks()), clock=FakeClock()),
        "nonce": claims()["nonce"],
        "now": lambda: NOW,
    }
    arguments.update(overrides)
    return exchange_code(
        checked, CLIENT_ID, CLIENT_SECRET, "code-1", REDIRECT_URI, "v" * 64, post_form, **arguments
    )


def test_exchange_sends_the_code_grant_with_pkce_and_basic_credentials():
    post_form = fake_post({"token_type": "bearer", "id_token": token()})
    assert exchange_with(post_form).claims.subject == "resident-0001"
    assert post_form.sent == [
        (
            f"{ISSUER}/token",
            {
                "grant_type": "authorization_code",
                "code": "code-1",
                "redirect_uri": REDIRECT_URI,
                "code_verifier": "v" * 64,
            },
            (CLIENT_ID, CLIENT_SECRET),
        )
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"token_type": "mac", "id_token": token()}, "token_type_not_bearer"),
        ({"id_token": token()}, "token_type_not_bearer"),
        ({"token_type": "Bearer"}, "missing_id_token"),
        ({"token_type": "Bearer", "id_token": ["x"]}, "missing_id_token"),
    ],
)
def test_a_token_response_without_a_bearer_id_token_is_refused(body, reason):
    with pytest.raises(SignInError) as refused:
        exchange_with(fake_post(body))
    assert refused.value.reason_code == reason


def test_the_id_token_of_the_exchange_is_verified_with_the_expected_nonce():
    post_form = fake_post({"token_type": "Bearer", "id_token": token()})
    with pytest.raises(TokenRejected) as refused:
        exchange_with(post_form, nonce="the-nonce-of-this-browser")
    assert refused.value.reason_code == "nonce_mismatch"


def test_the_exchange_only_accepts_algorithms_both_sides_allow():
    hs_like = token(header("ES256", RSA_KID))
    post_form = fake_post({"token_type": "Bearer", "id_token": hs_like})
    checked = metadata(id_token_signing_alg_values_supported=["RS256"])
    jwks = JwksCache(checked.jwks_uri, CountingFetch(provider_jwks()), clock=FakeClock())
    with pytest.raises(TokenRejected) as refused:
        exchange_code(
            checked,
            CLIENT_ID,
            CLIENT_SECRET,
            "code-1",
            REDIRECT_URI,
            "v" * 64,
            post_form,
            jwks=jwks,
            nonce=str(claims()["nonce"]),
            now=lambda: NOW,
        )
    assert refused.value.reason_code == "alg_not_allowed"


def test_an_unreachable_token_endpoint_is_reported():
    def unreachable(url, data, auth):
        raise HttpError("connection refused")

    with pytest.raises(SignInError) as refused:
        exchange_with(unreachable)
    assert refused.value.reason_code == "token_endpoint_unreachable"


def test_a_jwks_cache_of_another_provider_is_a_programming_error():
    other = JwksCache("https://other.example.test/jwks", CountingFetch(provider_jwks()))
    with pytest.raises(ValueError):
        exchange_with(fake_post({}), jwks=other)


# --- logout -------------------------------------------------------------------------


def test_logout_url_carries_the_hint_and_where_to_come_back():
    url = logout_url(metadata(), "id.token.hint", "https://madoguchi.example.test/", "st")
    assert url is not None
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(f"{ISSUER}/logout?")
    assert query == {
        "id_token_hint": ["id.token.hint"],
        "post_logout_redirect_uri": ["https://madoguchi.example.test/"],
        "state": ["st"],
    }


def test_no_logout_url_without_an_end_session_endpoint():
    assert logout_url(metadata(end_session_endpoint=None), "hint", REDIRECT_URI, "st") is None


# --- HTTP helpers -------------------------------------------------------------------


def test_fetch_json_reads_json_and_jwk_set_json():
    replies = {
        "/a": json_reply({"ok": 1}),
        "/b": (200, {"Content-Type": "application/jwk-set+json; charset=utf-8"}, b'{"keys":[]}'),
    }
    with local_server(lambda request: replies[request.path]) as server:
        assert http_fetch_json(f"{server.url}/a") == {"ok": 1}
        assert http_fetch_json(f"{server.url}/b") == {"keys": []}


_LARGE_JSON = b'{"padding": "' + b"x" * MAX_RESPONSE_BYTES + b'"}'


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ((200, {"Content-Type": "text/html"}, b"{}"), "expected a JSON response"),
        ((200, {}, b"{}"), "expected a JSON response"),
        ((200, {"Content-Type": "application/json"}, b"[1, 2]"), "not a JSON object"),
        ((200, {"Content-Type": "application/json"}, b"{not json"), "not valid JSON"),
        ((200, {"Content-Type": "application/json"}, _LARGE_JSON), "larger than 1 MiB"),
        ((200, {"Content-Type": "application/json"}, iter([_LARGE_JSON])), "larger than 1 MiB"),
        ((404, {"Content-Type": "application/json"}, b"{}"), "HTTP 404"),
    ],
    ids=[
        "html",
        "no-type",
        "not-object",
        "not-json",
        "too-large-declared",
        "too-large-streamed",
        "404",
    ],
)
def test_fetch_json_refuses_anything_but_a_small_json_object(reply, message):
    with local_server(lambda request: reply) as server, pytest.raises(HttpError, match=message):
        http_fetch_json(f"{server.url}/document")


def test_fetch_json_gives_up_on_a_server_that_drips_past_the_deadline():
    slow = (200, {"Content-Type": "application/json"}, drip(chunks=40, delay=0.05))
    with local_server(lambda request: slow) as server, pytest.raises(HttpError, match="deadline"):
        http_fetch_json(f"{server.url}/slow", timeout=0.5)


def test_fetch_json_follows_a_redirect_on_the_same_origin_only():
    def respond(request: RecordedRequest) -> Reply:
        if request.path == "/moved":
            return 302, {"Location": "/here"}, b""
        if request.path == "/away":
            return 302, {"Location": f"http://localhost:{port}/here"}, b""
        return json_reply({"here": True})

    with local_server(respond) as server:
        port = urlsplit(server.url).port
        assert http_fetch_json(f"{server.url}/moved") == {"here": True}
        with pytest.raises(HttpError, match="redirect"):
            http_fetch_json(f"{server.url}/away")
        assert [request.path for request in server.requests] == ["/moved", "/here", "/away"]


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "data:,{}"])
def test_fetch_json_refuses_other_url_schemes(url):
    with pytest.raises(HttpError):
        http_fetch_json(url)


def test_fetch_json_reports_a_closed_port_as_an_http_error():
    with local_server(lambda request: json_reply({})) as server:
        url = server.url
    with pytest.raises(HttpError):
        http_fetch_json(url, timeout=1)


def test_post_form_sends_form_encoded_basic_credentials_and_returns_error_bodies():
    with local_server(lambda request: json_reply({"error": "invalid_grant"}, 400)) as server:
        answer = http_post_form(f"{server.url}/token", {"code": "a b"}, (CLIENT_ID, CLIENT_SECRET))
        sent = server.requests[0]
    assert answer == JsonResponse(status=400, body={"error": "invalid_grant"})
    assert sent.method == "POST" and parse_qs(sent.body.decode()) == {"code": ["a b"]}
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    scheme, _, encoded = sent.headers["Authorization"].partition(" ")
    # RFC 6749 §2.3.1: each part is form-encoded before Base64, so ':' in a secret is safe.
    assert scheme == "Basic"
    assert (
        base64.b64decode(encoded).decode() == "madoguchi-portal:s3cret%3Awith+spaces%2Fand%2Bplus"
    )


def test_post_form_does_not_follow_redirects():
    with local_server(lambda request: (307, {"Location": "/elsewhere"}, b"")) as server:
        with pytest.raises(HttpError):
            http_post_form(f"{server.url}/token", {}, (CLIENT_ID, CLIENT_SECRET))
        assert [request.path for request in server.requests] == ["/token"]
