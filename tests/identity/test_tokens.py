"""ID token verification: each hostile token is refused for its own reason, good ones pass."""

from __future__ import annotations

import datetime
import json
import threading
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jose import jwe, jws

from portal.identity.tokens import (
    MAX_TOKEN_BYTES,
    JwksCache,
    SignInError,
    TokenRejected,
    VerifiedClaims,
    parse_jwks,
    validate_algorithms,
    verify_id_token,
)
from tests.identity.support import (
    CLIENT_ID,
    EC_KID,
    ISSUER,
    JWKS_URL,
    NONCE,
    NOW,
    RSA_KID,
    CountingFetch,
    FakeClock,
    b64,
    b64_json,
    claims,
    ec_jwk,
    ec_key,
    es_signer,
    header,
    hs256_signer,
    json_reply,
    local_server,
    provider_jwks,
    ps_signer,
    rs_signer,
    rsa_jwk,
    rsa_key,
    token,
)


@pytest.fixture
def fetch() -> CountingFetch:
    return CountingFetch(provider_jwks())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def jwks(fetch: CountingFetch, clock: FakeClock) -> JwksCache:
    return JwksCache(JWKS_URL, fetch, clock=clock)


def verify(id_token: str, jwks: JwksCache, **overrides: object) -> VerifiedClaims:
    arguments: dict[str, object] = {
        "issuer": ISSUER,
        "client_id": CLIENT_ID,
        "jwks": jwks,
        "nonce": NONCE,
        "now": lambda: NOW,
    }
    arguments.update(overrides)
    return verify_id_token(id_token, **arguments)  # type: ignore[arg-type]


def rejection(id_token: str, jwks: JwksCache, **overrides: object) -> str:
    """Return the reason code the verifier gives for refusing the token."""
    with pytest.raises(TokenRejected) as refused:
        verify(id_token, jwks, **overrides)
    return refused.value.reason_code


def public_key_bytes(encoding: serialization.Encoding, form: serialization.PublicFormat) -> bytes:
    return rsa_key("provider").public_key().public_bytes(encoding, form)


# --- tokens that verify -------------------------------------------------------------


def test_rs256_token_verifies_and_its_claims_are_read_only(jwks):
    verified = verify(token(payload=claims(aud=[CLIENT_ID], azp=CLIENT_ID)), jwks)
    assert verified.issuer == ISSUER
    assert verified.subject == "resident-0001"
    assert verified.claims["aud"] == (CLIENT_ID,)
    with pytest.raises(TypeError):
        verified.claims["sub"] = "someone-else"  # type: ignore[index]


def test_rs256_token_signed_by_python_jose_verifies(jwks):
    private_pem = rsa_key("provider").private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    signed = jws.sign(claims(), private_pem, headers={"kid": RSA_KID}, algorithm="RS256")
    assert verify(signed, jwks).subject == "resident-0001"


def test_es256_token_verifies(jwks):
    signed = token(header("ES256", EC_KID), claims(), es_signer(ec_key("provider")))
    assert verify(signed, jwks).subject == "resident-0001"


def test_es256_token_signed_by_python_jose_verifies(jwks):
    private_pem = ec_key("provider").private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    signed = jws.sign(claims(), private_pem, headers={"kid": EC_KID}, algorithm="ES256")
    assert verify(signed, jwks).subject == "resident-0001"


def test_ps256_token_verifies_with_a_pss_key():
    key_set = {"keys": [rsa_jwk(rsa_key("provider"), "pss-1", alg="PS256")]}
    cache = JwksCache(JWKS_URL, CountingFetch(key_set), clock=FakeClock())
    signed = token(header("PS256", "pss-1"), claims(), ps_signer(rsa_key("provider")))
    assert verify(signed, cache).subject == "resident-0001"


def test_pkcs1_signature_labelled_ps256_is_refused():
    key_set = {"keys": [rsa_jwk(rsa_key("provider"), "pss-1")]}
    cache = JwksCache(JWKS_URL, CountingFetch(key_set), clock=FakeClock())
    signed = token(header("PS256", "pss-1"), claims(), rs_signer(rsa_key("provider")))
    assert rejection(signed, cache) == "bad_signature"


def test_token_without_kid_uses_the_only_suitable_key(jwks):
    # The JWKS also holds an EC key, but only the RSA key suits RS256.
    assert verify(token(header(kid=None)), jwks).subject == "resident-0001"


@pytest.mark.parametrize(
    ("claim", "value", "accepted"),
    [
        ("exp", NOW - 29, True),
        ("exp", NOW - 30, False),  # RFC 7519: valid only *before* exp (+ leeway)
        ("nbf", NOW + 30, True),
        ("nbf", NOW + 31, False),
        ("iat", NOW + 30, True),
        ("iat", NOW + 31, False),
    ],
)
def test_leeway_of_30_seconds_holds_exactly_at_its_boundaries(jwks, claim, value, accepted):
    signed = token(payload=claims(**{claim: value}))
    if accepted:
        assert verify(signed, jwks, leeway_seconds=30).subject == "resident-0001"
    else:
        expected = {"exp": "expired", "nbf": "not_yet_valid", "iat": "issued_in_future"}[claim]
        assert rejection(signed, jwks, leeway_seconds=30) == expected


def test_zero_leeway_refuses_a_token_one_second_past_expiry(jwks):
    assert rejection(token(payload=claims(exp=NOW - 1)), jwks, leeway_seconds=0) == "expired"


def test_person_key_returns_the_configured_register_claim(jwks):
    verified = verify(token(), jwks)
    assert verified.person_key("resident_code") == "R-123456"
    assert verified.person_key("sub") == "resident-0001"


@pytest.mark.parametrize("value", [None, "", 123456, ["R-1"]])
def test_person_key_refuses_a_missing_or_non_text_claim(jwks, value):
    verified = verify(token(payload=claims(resident_code=value)), jwks)
    with pytest.raises(TokenRejected) as refused:
        verified.person_key("resident_code")
    assert refused.value.reason_code == "missing_person_claim"


def test_token_rejected_is_a_sign_in_error_that_names_only_the_reason(jwks):
    signed = token(payload=claims(nonce="other"))
    with pytest.raises(SignInError) as refused:
        verify(signed, jwks)
    assert str(refused.value) == "nonce_mismatch"
    assert signed not in repr(refused.value)


# --- the algorithm: none, HMAC confusion, allow-list --------------------------------


def test_alg_none_with_empty_signature_is_refused(jwks):
    unsigned = f"{b64_json({'alg': 'none'})}.{b64_json(claims())}."
    assert rejection(unsigned, jwks) == "alg_not_allowed"


def test_alg_none_with_a_signature_part_is_refused(jwks):
    unsigned = f"{b64_json({'alg': 'none', 'kid': RSA_KID})}.{b64_json(claims())}.{b64(b'sig')}"
    assert rejection(unsigned, jwks) == "alg_not_allowed"


def test_alg_none_without_the_signature_segment_is_malformed(jwks):
    assert rejection(f"{b64_json({'alg': 'none'})}.{b64_json(claims())}", jwks) == (
        "malformed_token"
    )


@pytest.mark.parametrize("alg", ["None", "NONE", "rs256", "RS256 ", "HS512", ""])
def test_algorithm_names_outside_the_allow_list_are_refused(jwks, alg):
    assert rejection(token(header(alg)), jwks) == "alg_not_allowed"


@pytest.mark.parametrize(
    ("encoding", "public_format"),
    [
        (serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        (serialization.Encoding.PEM, serialization.PublicFormat.PKCS1),
        (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
        (serialization.Encoding.DER, serialization.PublicFormat.PKCS1),
    ],
    ids=["pem-spki", "pem-pkcs1", "der-spki", "der-pkcs1"],
)
def test_hs256_token_keyed_with_the_providers_public_key_is_refused(
    jwks, fetch, encoding, public_format
):
    # The algorithm-confusion attack: the public key is public, so an attacker can
    # "sign" with it as an HMAC secret and hope the verifier follows the header's alg.
    forged = token(
        header("HS256"),
        claims(sub="admin"),
        hs256_signer(public_key_bytes(encoding, public_format)),
    )
    assert rejection(forged, jwks) == "alg_not_allowed"
    assert fetch.calls == []  # refused on the header alone, before any key was looked up


@pytest.mark.parametrize(
    ("algorithms", "message"),
    [
        (("RS256", "HS256"), "asymmetric"),
        (("none",), "asymmetric"),
        (("HS384",), "asymmetric"),
        (("EdDSA",), "not a supported"),
        (("XS256",), "not a supported"),
        ((), "empty"),
        ("RS256", "not one string"),
    ],
    ids=["with-hs256", "none", "hs384", "eddsa-unsupported", "unknown", "empty", "bare-string"],
)
def test_an_unsafe_or_unknown_allow_list_is_a_configuration_error(jwks, algorithms, message):
    with pytest.raises(ValueError, match=message):
        verify(token(), jwks, algorithms=algorithms)
    with pytest.raises(ValueError, match=message):
        validate_algorithms(algorithms)


def test_hs256_forgery_fails_even_when_the_caller_asks_for_hs256(jwks):
    pem = public_key_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forged = token(header("HS256"), claims(), hs256_signer(pem))
    with pytest.raises(ValueError):
        verify(forged, jwks, algorithms=("HS256",))


@pytest.mark.parametrize("leeway", [-1, 61, 3600])
def test_leeway_outside_zero_to_sixty_seconds_is_a_configuration_error(jwks, leeway):
    with pytest.raises(ValueError):
        verify(token(), jwks, leeway_seconds=leeway)


def test_an_algorithm_outside_a_narrower_allow_list_is_refused(jwks):
    signed = token(header("ES256", EC_KID), claims(), es_signer(ec_key("provider")))
    assert rejection(signed, jwks, algorithms=("RS256",)) == "alg_not_allowed"


# --- shape and size -----------------------------------------------------------------


def test_oversized_token_is_refused_before_any_parsing(jwks, fetch):
    huge = token(payload=claims(padding="x" * MAX_TOKEN_BYTES))
    assert len(huge) > MAX_TOKEN_BYTES
    assert rejection(huge, jwks) == "token_too_large"
    assert rejection("." * (MAX_TOKEN_BYTES + 1), jwks) == "token_too_large"
    assert fetch.calls == []


def test_a_jwe_is_refused_without_being_decrypted(jwks, fetch):
    encrypted = jwe.encrypt(
        json.dumps(claims()), b"k" * 32, algorithm="dir", encryption="A256GCM"
    ).decode()
    assert encrypted.count(".") == 4
    assert rejection(encrypted, jwks) == "jwe_not_accepted"
    assert fetch.calls == []


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t + ".extra",
        lambda t: t.replace(".", "..", 1),
        lambda t: t.replace("e", "+", 1),  # standard base64, not base64url
        lambda t: t + "=",  # padding
        lambda t: t.replace(".", " .", 1),
        lambda t: t + "é",
        lambda t: "",
    ],
    ids=["four-parts", "empty-part", "plus", "padding", "space", "non-ascii", "empty"],
)
def test_tokens_that_are_not_strict_compact_jws_are_malformed(jwks, mangle):
    assert rejection(mangle(token()), jwks) == "malformed_token"


def test_non_canonical_base64_is_refused(jwks):
    # 256 signature bytes leave 4 spare bits in the last character; setting them must
    # not yield a second valid spelling of the same token.
    valid = token()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    spare_bit_flipped = alphabet[alphabet.index(valid[-1]) ^ 0b0001]
    assert rejection(valid[:-1] + spare_bit_flipped, jwks) == "malformed_token"


def test_a_non_text_token_is_malformed(jwks):
    assert rejection(token().encode(), jwks) == "malformed_token"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "raw_header",
    [
        b'{"alg":"RS256","alg":"HS256"}',
        b'["RS256"]',
        b"not json",
        b'{"alg":"RS256","kid":7}',
        b'{"alg":"RS256","x":NaN}',
    ],
    ids=["duplicate-member", "array", "not-json", "numeric-kid", "nan"],
)
def test_headers_that_are_not_a_strict_json_object_are_refused(jwks, raw_header):
    signing_input = f"{b64(raw_header)}.{b64_json(claims())}"
    forged = f"{signing_input}.{b64(rs_signer(rsa_key('provider'))(signing_input.encode()))}"
    assert rejection(forged, jwks) == "malformed_header"


def test_a_critical_header_extension_is_refused(jwks):
    signed = token(header(crit=["exp"], exp=NOW + 300))
    assert rejection(signed, jwks) == "crit_not_understood"


@pytest.mark.parametrize("typ", ["at+jwt", "logout+jwt", "JWE", 1])
def test_a_typ_naming_another_kind_of_token_is_refused(jwks, typ):
    assert rejection(token(header(typ=typ)), jwks) == "typ_not_accepted"


@pytest.mark.parametrize("typ", ["JWT", "jwt", "application/jwt"])
def test_jwt_typ_values_are_accepted(jwks, typ):
    assert verify(token(header(typ=typ)), jwks).subject == "resident-0001"


@pytest.mark.parametrize(
    "payload",
    [b"[]", b"not json", b'{"sub":"a","sub":"b"}', b'{"exp":Infinity}'],
    ids=["array", "not-json", "duplicate-member", "infinity"],
)
def test_a_signed_payload_that_is_not_a_strict_json_object_is_refused(jwks, payload):
    signing_input = f"{b64_json(header())}.{b64(payload)}"
    signed = f"{signing_input}.{b64(rs_signer(rsa_key('provider'))(signing_input.encode()))}"
    assert rejection(signed, jwks) == "malformed_payload"


def test_a_signed_payload_nested_too_deeply_is_refused(jwks):
    deep = json.loads("[" * 900 + "]" * 900)
    assert rejection(token(payload=claims(deep=deep)), jwks) == "malformed_payload"


# --- keys ---------------------------------------------------------------------------


def test_signature_by_other_key_material_under_the_right_kid_is_refused(jwks):
    forged = token(header(), claims(), rs_signer(rsa_key("attacker")))
    assert rejection(forged, jwks) == "bad_signature"


def test_a_tampered_payload_is_refused(jwks):
    signed_header, _, signature = token().split(".")
    tampered = f"{signed_header}.{b64_json(claims(sub='resident-0002'))}.{signature}"
    assert rejection(tampered, jwks) == "bad_signature"


def test_a_tampered_header_is_refused(jwks):
    _, payload, signature = token().split(".")
    tampered = f"{b64_json(header(extra='x'))}.{payload}.{signature}"
    assert rejection(tampered, jwks) == "bad_signature"


@pytest.mark.parametrize("parameter", ["jku", "x5u"])
def test_key_url_headers_are_never_fetched(jwks, parameter):
    attacker_jwks = {"keys": [rsa_jwk(rsa_key("attacker"), "attacker-1")]}
    with local_server(lambda request: json_reply(attacker_jwks)) as attacker:
        key_url = f"{attacker.url}/jwks.json"
        as_provider = header(**{parameter: key_url})
        as_attacker = header(kid="attacker-1", **{parameter: key_url})
        forged = rs_signer(rsa_key("attacker"))
        assert rejection(token(as_provider, claims(), forged), jwks) == "bad_signature"
        assert rejection(token(as_attacker, claims(), forged), jwks) == "unknown_kid"
        # A genuine token that happens to carry the header still verifies: it is ignored.
        assert verify(token(as_provider), jwks).subject == "resident-0001"
        assert attacker.requests == []


def test_an_embedded_jwk_header_is_never_used(jwks):
    attacker_key = rsa_jwk(rsa_key("attacker"), None)
    forged = rs_signer(rsa_key("attacker"))
    without_kid = header(kid=None, jwk=attacker_key)
    with_own_kid = header(kid="attacker-1", jwk={**attacker_key, "kid": "attacker-1"})
    assert rejection(token(without_kid, claims(), forged), jwks) == "bad_signature"
    assert rejection(token(with_own_kid, claims(), forged), jwks) == "unknown_kid"


def test_an_embedded_x5c_certificate_is_never_used(jwks):
    attacker = rsa_key("attacker")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idp.example.test")])
    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(attacker.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=3650))
        .sign(attacker, hashes.SHA256())
    )
    chain = [b64(certificate.public_bytes(serialization.Encoding.DER))]
    forged = token(header(x5c=chain), claims(), rs_signer(attacker))
    assert rejection(forged, jwks) == "bad_signature"


def test_unknown_kid_refreshes_the_key_set_at_most_once_a_minute(jwks, fetch, clock):
    verify(token(), jwks)
    assert len(fetch.calls) == 1  # the first use loads the key set
    clock.advance(61)
    unknown = token(header(kid="rotated-away"))
    for _ in range(10):
        assert rejection(unknown, jwks) == "unknown_kid"
    assert len(fetch.calls) == 2  # ten attempts, one refresh
    clock.advance(59)
    assert rejection(unknown, jwks) == "unknown_kid"
    assert len(fetch.calls) == 2
    clock.advance(1)
    assert rejection(unknown, jwks) == "unknown_kid"
    assert len(fetch.calls) == 3


def test_a_rotated_in_key_is_found_by_one_refresh(jwks, fetch, clock):
    verify(token(), jwks)
    clock.advance(61)
    fetch.document = {"keys": [rsa_jwk(rsa_key("next"), "rsa-2027")]}
    rotated = token(header(kid="rsa-2027"), claims(), rs_signer(rsa_key("next")))
    assert verify(rotated, jwks).subject == "resident-0001"
    assert len(fetch.calls) == 2


def test_key_set_is_reloaded_after_an_hour(jwks, fetch, clock):
    verify(token(), jwks)
    clock.advance(3600)
    fetch.document = {"keys": []}  # the provider withdrew every key
    assert rejection(token(), jwks) == "unknown_kid"
    assert len(fetch.calls) == 2


def test_concurrent_refreshes_fetch_once(fetch, clock):
    def slow_fetch(url: str):
        time.sleep(0.05)
        return fetch(url)

    cache = JwksCache(JWKS_URL, slow_fetch, clock=clock)
    results: list[str] = []

    def attempt() -> None:
        results.append(verify(token(), cache).subject)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["resident-0001"] * 8
    assert len(fetch.calls) == 1


def test_two_suitable_keys_and_no_kid_is_refused():
    key_set = {
        "keys": [rsa_jwk(rsa_key("provider"), "a"), rsa_jwk(rsa_key("next"), "b")],
    }
    cache = JwksCache(JWKS_URL, CountingFetch(key_set), clock=FakeClock())
    assert rejection(token(header(kid=None)), cache) == "kid_required"


def test_no_suitable_key_and_no_kid_is_refused():
    key_set = {"keys": [ec_jwk(ec_key("provider"), EC_KID)]}
    cache = JwksCache(JWKS_URL, CountingFetch(key_set), clock=FakeClock())
    assert rejection(token(header(kid=None)), cache) == "no_suitable_key"


@pytest.mark.parametrize(
    "provider_key",
    [
        rsa_jwk(rsa_key("provider"), RSA_KID, use="enc"),
        rsa_jwk(rsa_key("provider"), RSA_KID, key_ops=["encrypt"]),
        rsa_jwk(rsa_key("provider"), RSA_KID, alg="RS512"),
        rsa_jwk(rsa_key("provider"), RSA_KID, d="AQAB"),
        {"kty": "oct", "kid": RSA_KID, "k": b64(b"secret")},
        {**rsa_jwk(rsa_key("provider"), RSA_KID), "n": "not base64!"},
        "not a key",
    ],
    ids=[
        "use-enc",
        "key-ops-encrypt",
        "other-alg",
        "private-member",
        "symmetric",
        "bad-modulus",
        "not-an-object",
    ],
)
def test_keys_unfit_for_the_signature_are_never_used(provider_key):
    cache = JwksCache(JWKS_URL, CountingFetch({"keys": [provider_key]}), clock=FakeClock())
    assert rejection(token(), cache) == "unknown_kid"


def test_rsa_keys_under_2048_bits_are_never_used():
    short = rsa_key("short", 1024)
    cache = JwksCache(
        JWKS_URL, CountingFetch({"keys": [rsa_jwk(short, RSA_KID)]}), clock=FakeClock()
    )
    assert rejection(token(header(), claims(), rs_signer(short)), cache) == "unknown_kid"


def test_es256_token_needs_an_ec_key_on_p256():
    on_p384 = ec_jwk(ec_key("provider-384", "P-384"), EC_KID)
    rsa_under_ec_kid = rsa_jwk(rsa_key("provider"), EC_KID)
    signed = token(header("ES256", EC_KID), claims(), es_signer(ec_key("provider")))
    for wrong_key in (on_p384, rsa_under_ec_kid):
        cache = JwksCache(JWKS_URL, CountingFetch({"keys": [wrong_key]}), clock=FakeClock())
        assert rejection(signed, cache) == "unknown_kid"


def test_padded_key_members_from_the_provider_are_still_read():
    padded = {**rsa_jwk(rsa_key("provider"), RSA_KID), "e": "AQAB=="}
    cache = JwksCache(JWKS_URL, CountingFetch({"keys": [padded]}), clock=FakeClock())
    assert verify(token(), cache).subject == "resident-0001"


def test_an_ec_point_off_the_curve_is_not_a_key():
    point = ec_jwk(ec_key("provider"), EC_KID)
    off_curve = {**point, "y": point["x"]}
    assert parse_jwks({"keys": [off_curve, point]})[0].kid == EC_KID
    assert len(parse_jwks({"keys": [off_curve]})) == 0


def test_an_unreachable_key_set_refuses_the_token():
    def unreachable(url: str):
        raise OSError("connection refused")

    cache = JwksCache(JWKS_URL, unreachable, clock=FakeClock())
    assert rejection(token(), cache) == "jwks_unavailable"


@pytest.mark.parametrize("document", [{"keys": "none"}, {"no": "keys"}, ["keys"]])
def test_a_document_that_is_not_a_key_set_refuses_the_token(document):
    cache = JwksCache(JWKS_URL, CountingFetch(document), clock=FakeClock())  # type: ignore[arg-type]
    assert rejection(token(), cache) == "jwks_unavailable"


# --- claims -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"exp": NOW - 3600}, "expired"),
        ({"nbf": NOW + 3600}, "not_yet_valid"),
        ({"iat": NOW + 3600}, "issued_in_future"),
        ({"iss": "https://evil.example.test"}, "issuer_mismatch"),
        ({"iss": ISSUER + "/"}, "issuer_mismatch"),
        ({"iss": None}, "missing_iss"),
        ({"aud": "someone-else"}, "audience_mismatch"),
        ({"aud": ["someone-else", "other"], "azp": CLIENT_ID}, "audience_mismatch"),
        ({"aud": [CLIENT_ID, "other-client"]}, "azp_required"),
        ({"azp": "other-client"}, "azp_mismatch"),
        ({"aud": [CLIENT_ID, "other-client"], "azp": "other-client"}, "azp_mismatch"),
        ({"exp": None}, "missing_exp"),
        ({"aud": None}, "missing_aud"),
        ({"iat": None}, "missing_iat"),
        ({"sub": None}, "missing_sub"),
        ({"nonce": "replayed-from-another-sign-in"}, "nonce_mismatch"),
        ({"nonce": None}, "missing_nonce"),
        ({"nonce": 42}, "invalid_nonce"),
        ({"exp": "tomorrow"}, "invalid_exp"),
        ({"exp": True}, "invalid_exp"),
        ({"iat": [NOW]}, "invalid_iat"),
        ({"nbf": "now"}, "invalid_nbf"),
        ({"sub": ""}, "invalid_sub"),
        ({"sub": 1001}, "invalid_sub"),
        ({"sub": "s" * 256}, "invalid_sub"),
        ({"aud": []}, "invalid_aud"),
        ({"aud": [1]}, "invalid_aud"),
        ({"azp": ["x"]}, "invalid_azp"),
    ],
)
def test_claims_breaking_oidc_core_3_1_3_7_are_refused(jwks, overrides, reason):
    assert rejection(token(payload=claims(**overrides)), jwks) == reason


def test_multiple_audiences_with_our_azp_are_accepted(jwks):
    signed = token(payload=claims(aud=[CLIENT_ID, "other-client"], azp=CLIENT_ID))
    assert verify(signed, jwks).claims["aud"] == (CLIENT_ID, "other-client")


def test_an_empty_expected_nonce_is_a_programming_error(jwks):
    with pytest.raises(ValueError):
        verify(token(payload=claims(nonce="")), jwks, nonce="")


def test_unknown_reason_codes_cannot_be_raised():
    with pytest.raises(ValueError):
        TokenRejected("looks_fine_to_me")


# --- properties ---------------------------------------------------------------------

_VALID = token()
_BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(position=st.integers(0, len(_VALID) - 1), replacement=st.sampled_from(_BASE64URL))
def test_changing_any_one_character_of_a_valid_token_gets_it_refused(position, replacement):
    changed = _VALID[:position] + replacement + _VALID[position + 1 :]
    if changed == _VALID:
        return
    cache = JwksCache(JWKS_URL, CountingFetch(provider_jwks()), clock=FakeClock())
    with pytest.raises(TokenRejected):
        verify(changed, cache)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300) | st.from_regex(r"[A-Za-z0-9_\-]{0,40}(\.[A-Za-z0-9_\-]{0,40}){2}"))
def test_arbitrary_text_is_refused_with_a_reason_and_nothing_else(text):
    cache = JwksCache(JWKS_URL, CountingFetch(provider_jwks()), clock=FakeClock())
    with pytest.raises(TokenRejected):
        verify(text, cache)
