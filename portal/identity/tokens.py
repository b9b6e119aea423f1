"""Verify OpenID Connect ID tokens: the only place in Madoguchi that trusts a JWT.

Every sign-in, from a real provider or the development demo provider, ends with an ID
token, and an ID token is attacker-reachable input: whoever controls the browser can
replay, swap or forge the one that reaches us. So the token is treated as hostile
bytes until every rule below has passed, and each refusal raises ``TokenRejected``
with a short fixed reason code for the logs (never the token or its claims).

The rules, and why:

* Size and shape first. A token over 16 KiB is refused before any parsing, so a
  hostile token cannot make us decode megabytes. It must be a compact JWS: exactly
  three base64url segments, strictly encoded. A five-segment token is a JWE; we never
  decrypt, so it is refused (``jwe_not_accepted``) rather than handed to a decryptor
  with a history of bugs.
* We parse the header ourselves (strict JSON: no duplicate members, no NaN) and
  decide the algorithm from our own allow-list, never from the header alone
  (RFC 8725 §3.1 "perform algorithm verification"). The allow-list may only hold
  asymmetric signature algorithms (RFC 8725 §3.2): ``none`` would accept unsigned
  tokens, and any ``HS*`` would let an attacker "sign" with the provider's *public*
  key as the HMAC secret — the classic algorithm-confusion attack. A configuration
  naming them raises ``ValueError``; a token naming them is ``alg_not_allowed``.
* Keys come only from the provider's JWKS, fetched from the URL discovery gave us.
  ``jku``, ``x5u``, ``jwk`` and ``x5c`` headers name keys the *token's author* chose,
  so they are never fetched and never used (RFC 8725 §3.10). A key is chosen by
  ``kid`` and must suit the algorithm: ``use`` absent or ``sig``, ``key_ops`` absent
  or containing ``verify``, the key's own ``alg`` (if any) equal to the token's, the
  right ``kty`` (RSA for RS*/PS*, EC on the algorithm's curve for ES*), RSA at least
  2048 bits (RFC 7518 §3.3). An unknown ``kid`` causes one JWKS refresh (key
  rotation) but at most one per minute per cache, so forged kids cannot make us
  hammer the provider. Without a ``kid`` the token is accepted only when exactly one
  key suits.
* ``crit`` is refused outright: we implement no JWS extension, so every critical
  extension is one we do not understand (RFC 7515 §4.1.11). A ``typ`` other than
  ``JWT`` marks another kind of token, such as an access token (``at+jwt``) or a
  logout token, offered in place of an ID token (RFC 8725 §3.11).
* The signature is checked by python-jose with the single pinned algorithm. python-jose
  3.x has no RSASSA-PSS, so for ``PS*`` a minimal python-jose ``Key`` over
  ``cryptography``'s PSS verifier (salt length equal to the hash size, RFC 7518 §3.5)
  is handed to the same ``jws.verify`` call; nothing is registered globally.
* Claims follow OpenID Connect Core 1.0 §3.1.3.7: ``iss`` equals the configured
  issuer exactly; ``aud`` contains our client id, and with several audiences ``azp``
  must be present; ``azp``, when present, equals our client id; ``exp``, ``iat`` and
  ``sub`` are required; the token has not expired and ``nbf`` has passed, with a
  leeway of at most 60 seconds for clock drift; ``iat`` is not in the future beyond
  that leeway; ``nonce`` equals the one we sent (compared in constant time), which
  binds the token to this browser's sign-in and stops replay.

Reason codes (``TokenRejected.reason_code``):

==========================  ============================================================
``token_too_large``         over 16 KiB
``malformed_token``         not three strict base64url segments, or not text
``jwe_not_accepted``        five segments: an encrypted token
``malformed_header``        header not a JSON object, duplicate members, bad ``kid``
``alg_not_allowed``         ``alg`` missing or outside the allow-list (``none``, ``HS*``)
``crit_not_understood``     a ``crit`` header is present
``typ_not_accepted``        ``typ`` names another kind of token
``jwks_unavailable``        the provider's key set could not be fetched or read
``unknown_kid``             no suitable key with that ``kid``, even after a refresh
``kid_required``            no ``kid`` and several suitable keys
``no_suitable_key``         no ``kid`` and no suitable key
``bad_signature``           the signature does not verify with the chosen key
``malformed_payload``       payload not a JSON object
``missing_<claim>``         ``iss``, ``sub``, ``aud``, ``exp``, ``iat`` or ``nonce`` absent
``invalid_<claim>``         a claim of the wrong type (``sub``, ``aud``, ``azp``, dates …)
``issuer_mismatch``         ``iss`` is not the configured issuer
``audience_mismatch``       ``aud`` does not contain our client id
``azp_required``            several audiences and no ``azp``
``azp_mismatch``            ``azp`` is not our client id
``expired``                 ``exp`` has passed (beyond the leeway)
``not_yet_valid``           ``nbf`` is in the future (beyond the leeway)
``issued_in_future``        ``iat`` is in the future (beyond the leeway)
``nonce_mismatch``          ``nonce`` is not the one we sent
``missing_person_claim``    ``person_key`` found no usable value
==========================  ============================================================
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from jose import jwk, jws
from jose.backends.base import Key
from jose.exceptions import JOSEError

MAX_TOKEN_BYTES = 16 * 1024
MAX_LEEWAY_SECONDS = 60
JWKS_REFRESH_INTERVAL_SECONDS = 60
JWKS_MAX_AGE_SECONDS = 3600
MIN_RSA_KEY_BITS = 2048
DEFAULT_ALGORITHMS = ("RS256", "ES256", "PS256")

# Every algorithm this module can verify, with the key type it needs. EdDSA is absent
# because python-jose does not implement it; HS* and none are absent on purpose.
_KEY_TYPE_BY_ALGORITHM = {
    "RS256": "RSA",
    "RS384": "RSA",
    "RS512": "RSA",
    "PS256": "RSA",
    "PS384": "RSA",
    "PS512": "RSA",
    "ES256": "EC",
    "ES384": "EC",
    "ES512": "EC",
}
_CURVE_BY_ALGORITHM = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
_CURVES = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}
_PSS_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "PS256": hashes.SHA256,
    "PS384": hashes.SHA384,
    "PS512": hashes.SHA512,
}
_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_ACCEPTED_TYPES = frozenset({"jwt", "application/jwt"})
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_MAX_SUBJECT_LENGTH = 255  # OpenID Connect Core 1.0 §2

REASON_CODES = frozenset(
    {
        "token_too_large",
        "malformed_token",
        "jwe_not_accepted",
        "malformed_header",
        "alg_not_allowed",
        "crit_not_understood",
        "typ_not_accepted",
        "jwks_unavailable",
        "unknown_kid",
        "kid_required",
        "no_suitable_key",
        "bad_signature",
        "malformed_payload",
        "missing_iss",
        "missing_sub",
        "missing_aud",
        "missing_exp",
        "missing_iat",
        "missing_nonce",
        "invalid_sub",
        "invalid_aud",
        "invalid_azp",
        "invalid_exp",
        "invalid_iat",
        "invalid_nbf",
        "invalid_nonce",
        "issuer_mismatch",
        "audience_mismatch",
        "azp_required",
        "azp_mismatch",
        "expired",
        "not_yet_valid",
        "issued_in_future",
        "nonce_mismatch",
        "missing_person_claim",
    }
)


class SignInError(Exception):
    """A sign-in step failed; ``reason_code`` is a fixed short string for logs and messages.

    ``detail`` is optional operator-facing context that never holds tokens, secrets or
    personal data (for instance the OAuth error code a provider answered with).
    """

    def __init__(self, reason_code: str, *, detail: str = "") -> None:
        super().__init__(f"{reason_code}: {detail}" if detail else reason_code)
        self.reason_code = reason_code
        self.detail = detail


class TokenRejected(SignInError):
    """An ID token broke one of the verification rules named by ``reason_code``."""

    def __init__(self, reason_code: str) -> None:
        if reason_code not in REASON_CODES:
            raise ValueError(f"unknown token rejection reason {reason_code!r}")
        super().__init__(reason_code)


class JwksUnavailable(Exception):
    """The provider's key set could not be fetched or did not have the JWKS shape."""


def validate_algorithms(algorithms: Iterable[str]) -> tuple[str, ...]:
    """Return the allow-list as a tuple, or raise ValueError if it holds anything unsafe."""
    if isinstance(algorithms, str):
        raise ValueError("algorithms must be a sequence of names, not one string")
    allowed = tuple(algorithms)
    if not allowed:
        raise ValueError("the ID token algorithm allow-list is empty")
    for name in allowed:
        if not isinstance(name, str):
            raise ValueError(f"algorithm names are strings, not {name!r}")
        if name.lower() == "none" or name.upper().startswith("HS"):
            raise ValueError(
                f"{name!r} must never verify ID tokens: only asymmetric signatures are "
                "accepted (RFC 8725 §3.1-3.2)"
            )
        if name not in _KEY_TYPE_BY_ALGORITHM:
            raise ValueError(
                f"{name!r} is not a supported ID token algorithm; "
                f"choose from {', '.join(sorted(_KEY_TYPE_BY_ALGORITHM))}"
            )
    return allowed


def _unix_time() -> int:
    return int(time.time())


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise ValueError(f"duplicate member {name!r}")
        result[name] = value
    return result


def _strict_json_object(data: bytes) -> dict[str, Any] | None:
    """Decode a JSON object, refusing duplicate members and NaN/Infinity; None if invalid."""
    try:
        value = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_object_without_duplicates,
            parse_constant=_refuse_constant,
        )
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _base64url_bytes(text: str) -> bytes | None:
    """Decode base64url (padding tolerated), or None if it holds other characters."""
    unpadded = text.rstrip("=")
    if _BASE64URL.fullmatch(unpadded) is None or len(unpadded) % 4 == 1:
        return None
    return base64.urlsafe_b64decode(unpadded + "=" * (-len(unpadded) % 4))


def _base64url_decode(segment: str) -> bytes | None:
    """Decode a token segment, or None unless it is the one canonical unpadded spelling.

    Refusing padding, stray characters and non-zero spare bits means a token has exactly
    one spelling, so no change to any of its characters can leave it valid.
    """
    decoded = _base64url_bytes(segment)
    if decoded is None or base64.urlsafe_b64encode(decoded).rstrip(b"=").decode() != segment:
        return None
    return decoded


def _freeze(value: Any) -> Any:
    """Return a read-only deep copy of decoded JSON (mappings become proxies, lists tuples)."""
    if isinstance(value, dict):
        return MappingProxyType({name: _freeze(item) for name, item in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(item) for item in value)
    return value


PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


@dataclass(frozen=True)
class SigningKey:
    """One usable public key from a provider's JWKS, with the members that limit its use."""

    kid: str | None
    kty: str
    alg: str | None
    crv: str | None
    public_key: PublicKey

    def suits(self, algorithm: str) -> bool:
        """Say whether this key may verify a signature made with ``algorithm``."""
        if self.alg is not None and self.alg != algorithm:
            return False
        if self.kty != _KEY_TYPE_BY_ALGORITHM.get(algorithm):
            return False
        return self.kty != "EC" or self.crv == _CURVE_BY_ALGORITHM[algorithm]


def _decode_key_member(jwk_entry: Mapping[str, Any], name: str) -> bytes | None:
    value = jwk_entry.get(name)
    if not isinstance(value, str) or not value:
        return None
    return _base64url_bytes(value)  # the provider's own keys: spelling need not be canonical


def _public_key(jwk_entry: Mapping[str, Any]) -> PublicKey | None:
    """Build the public key of an RSA or EC JWK, or None if it is malformed or too weak."""
    if jwk_entry["kty"] == "RSA":
        modulus = _decode_key_member(jwk_entry, "n")
        exponent = _decode_key_member(jwk_entry, "e")
        if modulus is None or exponent is None:
            return None
        n = int.from_bytes(modulus, "big")
        if n.bit_length() < MIN_RSA_KEY_BITS:
            return None
        try:
            return rsa.RSAPublicNumbers(int.from_bytes(exponent, "big"), n).public_key()
        except ValueError:
            return None
    crv = jwk_entry.get("crv")
    curve = _CURVES.get(crv) if isinstance(crv, str) else None
    x = _decode_key_member(jwk_entry, "x")
    y = _decode_key_member(jwk_entry, "y")
    if curve is None or x is None or y is None:
        return None
    size = (curve.key_size + 7) // 8
    if len(x) != size or len(y) != size:  # RFC 7518 §6.2.1.2: full-size coordinates
        return None
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(curve, b"\x04" + x + y)
    except ValueError:
        return None


def _signing_key(jwk_entry: object) -> SigningKey | None:
    """Turn one JWKS entry into a SigningKey, or None if it may not verify signatures."""
    if not isinstance(jwk_entry, Mapping):
        return None
    kty, kid, alg = jwk_entry.get("kty"), jwk_entry.get("kid"), jwk_entry.get("alg")
    key_ops = jwk_entry.get("key_ops")
    if kty not in ("RSA", "EC") or jwk_entry.get("use", "sig") != "sig":
        return None
    if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
        return None
    if not isinstance(kid, str | None) or not isinstance(alg, str | None):
        return None
    if any(member in jwk_entry for member in _PRIVATE_JWK_MEMBERS):
        # A published private key is compromised; never trust signatures made with it.
        return None
    public_key = _public_key(jwk_entry)
    if public_key is None:
        return None
    crv = jwk_entry.get("crv") if kty == "EC" else None
    return SigningKey(kid=kid, kty=kty, alg=alg, crv=crv, public_key=public_key)


def parse_jwks(document: Mapping[str, Any]) -> tuple[SigningKey, ...]:
    """Return the signature keys of a JWKS document, skipping entries unfit to verify."""
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise JwksUnavailable("the document is not a JWK Set (no 'keys' list)")
    return tuple(key for key in map(_signing_key, document["keys"]) if key is not None)


class JwksCache:
    """The provider's signing keys, fetched through ``fetch_json`` and refreshed sparingly.

    ``fetch_json(url)`` returns the decoded JSON document and raises ``OSError`` or
    ``ValueError`` when it cannot; the default is ``portal.identity.oidc.http_fetch_json``
    and the demo provider can pass a function that serves its keys in-process. Keys
    are loaded on first use and again after an hour; ``refresh`` fetches at most once
    per minute, counting failed attempts, so neither forged ``kid`` values nor an
    unreachable provider make us hammer it. Safe to share between threads.
    """

    def __init__(
        self,
        url: str,
        fetch_json: Callable[[str], Mapping[str, Any]],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._fetch_json = fetch_json
        self._clock = clock
        self._lock = threading.RLock()
        self._keys: tuple[SigningKey, ...] | None = None
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None

    @property
    def fetched_at(self) -> float | None:
        """The clock reading of the last successful fetch, or None before the first."""
        return self._fetched_at

    def refresh(self) -> bool:
        """Fetch the key set unless an attempt was made in the last minute; say if it did."""
        with self._lock:
            now = self._clock()
            if (
                self._attempted_at is not None
                and now - self._attempted_at < JWKS_REFRESH_INTERVAL_SECONDS
            ):
                return False
            self._attempted_at = now
            try:
                document = self._fetch_json(self.url)
            except (OSError, ValueError) as error:
                reason = f"fetching the key set failed: {type(error).__name__}"
                raise JwksUnavailable(reason) from error
            self._keys = parse_jwks(document)
            self._fetched_at = now
            return True

    def keys_for(self, kid: str | None) -> tuple[SigningKey, ...]:
        """Return the current keys with this ``kid`` (all keys for None), loading if due."""
        with self._lock:
            if self._is_stale():
                self.refresh()
            if self._keys is None or self._is_stale():
                raise JwksUnavailable("no current key set")
            return tuple(key for key in self._keys if kid is None or key.kid == kid)

    def _is_stale(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= JWKS_MAX_AGE_SECONDS


class _RsaPssKey(Key):
    """RSASSA-PSS verification (RFC 7518 §3.5) in python-jose's key interface."""

    def __init__(self, public_key: rsa.RSAPublicKey, algorithm: str) -> None:
        self._public_key = public_key
        self._hash = _PSS_HASHES[algorithm]()

    def verify(self, msg: bytes, sig: bytes) -> bool:
        pss = padding.PSS(mgf=padding.MGF1(self._hash), salt_length=self._hash.digest_size)
        try:
            self._public_key.verify(sig, msg, pss, self._hash)
        except InvalidSignature:
            return False
        return True


def _jose_key(key: SigningKey, algorithm: str) -> Key:
    """Return the python-jose key that verifies ``algorithm`` with this (suitable) key."""
    if algorithm in _PSS_HASHES and isinstance(key.public_key, rsa.RSAPublicKey):
        return _RsaPssKey(key.public_key, algorithm)
    return jwk.construct(key.public_key, algorithm)


@dataclass(frozen=True)
class VerifiedClaims:
    """The claims of an ID token that passed every rule; ``claims`` is read-only."""

    issuer: str
    subject: str
    claims: Mapping[str, Any]

    def person_key(self, claim_name: str) -> str:
        """Return the claim that identifies the person in the register (unique per issuer).

        Raises ``TokenRejected("missing_person_claim")`` when the claim is absent or not
        a non-empty string, because signing someone in without it would be guessing.
        """
        value = self.claims.get(claim_name)
        if not isinstance(value, str) or not value:
            raise TokenRejected("missing_person_claim")
        return value


def _parse_header(token: str) -> dict[str, Any]:
    """Check the token's size and shape and return its parsed (still untrusted) header."""
    if not isinstance(token, str):
        raise TokenRejected("malformed_token")
    if len(token) > MAX_TOKEN_BYTES:
        raise TokenRejected("token_too_large")
    if not token.isascii():  # so that characters are bytes and the size check above holds
        raise TokenRejected("malformed_token")
    segments = token.split(".")
    if len(segments) == 5:
        raise TokenRejected("jwe_not_accepted")
    if len(segments) != 3:
        raise TokenRejected("malformed_token")
    header_bytes, payload_bytes, signature_bytes = map(_base64url_decode, segments)
    if header_bytes is None or payload_bytes is None or signature_bytes is None:
        raise TokenRejected("malformed_token")
    header = _strict_json_object(header_bytes)
    if header is None:
        raise TokenRejected("malformed_header")
    return header


def _check_header(header: Mapping[str, Any], allowed: Sequence[str]) -> tuple[str, str | None]:
    """Apply the header rules and return the pinned algorithm and the ``kid``."""
    algorithm = header.get("alg")
    if not isinstance(algorithm, str) or algorithm not in allowed:
        raise TokenRejected("alg_not_allowed")
    if "crit" in header:
        raise TokenRejected("crit_not_understood")
    token_type = header.get("typ")
    if token_type is not None and (
        not isinstance(token_type, str) or token_type.lower() not in _ACCEPTED_TYPES
    ):
        raise TokenRejected("typ_not_accepted")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise TokenRejected("malformed_header")
    return algorithm, kid


def _choose_keys(jwks: JwksCache, kid: str | None, algorithm: str) -> tuple[SigningKey, ...]:
    """Return the JWKS keys that may verify this token, refreshing once for a new kid."""
    try:
        candidates = tuple(key for key in jwks.keys_for(kid) if key.suits(algorithm))
        if not candidates:
            jwks.refresh()
            candidates = tuple(key for key in jwks.keys_for(kid) if key.suits(algorithm))
    except JwksUnavailable:
        raise TokenRejected("jwks_unavailable") from None
    if kid is not None:
        if not candidates:
            raise TokenRejected("unknown_kid")
        return candidates
    if not candidates:
        raise TokenRejected("no_suitable_key")
    if len(candidates) > 1:
        raise TokenRejected("kid_required")
    return candidates


def _verify_signature(token: str, keys: Sequence[SigningKey], algorithm: str) -> bytes:
    """Return the signed payload bytes if any of the keys verifies the signature."""
    for key in keys:
        try:
            return jws.verify(token, _jose_key(key, algorithm), algorithms=[algorithm])
        except JOSEError:
            continue
    raise TokenRejected("bad_signature")


def _optional_date(claims: Mapping[str, Any], name: str) -> float | None:
    """Return a NumericDate claim (RFC 7519 §2), None if absent, or refuse a non-number."""
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenRejected(f"invalid_{name}")
    return value


def _required_date(claims: Mapping[str, Any], name: str) -> float:
    value = _optional_date(claims, name)
    if value is None:
        raise TokenRejected(f"missing_{name}")
    return value


def _check_audience(claims: Mapping[str, Any], client_id: str) -> None:
    audience = claims.get("aud")
    if audience is None:
        raise TokenRejected("missing_aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if (
        not isinstance(audiences, list)
        or not audiences
        or not all(isinstance(item, str) for item in audiences)
    ):
        raise TokenRejected("invalid_aud")
    if client_id not in audiences:
        raise TokenRejected("audience_mismatch")
    authorized_party = claims.get("azp")
    if authorized_party is not None and not isinstance(authorized_party, str):
        raise TokenRejected("invalid_azp")
    if len(audiences) > 1 and authorized_party is None:
        raise TokenRejected("azp_required")
    if authorized_party is not None and authorized_party != client_id:
        raise TokenRejected("azp_mismatch")


def _check_times(claims: Mapping[str, Any], now: int, leeway: int) -> None:
    expires = _required_date(claims, "exp")
    issued = _required_date(claims, "iat")
    not_before = _optional_date(claims, "nbf")
    if now >= expires + leeway:  # RFC 7519 §4.1.4: valid only *before* exp
        raise TokenRejected("expired")
    if not_before is not None and now + leeway < not_before:
        raise TokenRejected("not_yet_valid")
    if issued > now + leeway:
        raise TokenRejected("issued_in_future")


def _check_nonce(claims: Mapping[str, Any], expected: str) -> None:
    nonce = claims.get("nonce")
    if nonce is None:
        raise TokenRejected("missing_nonce")
    if not isinstance(nonce, str):
        raise TokenRejected("invalid_nonce")
    if not hmac.compare_digest(nonce.encode("utf-8"), expected.encode("utf-8")):
        raise TokenRejected("nonce_mismatch")


def _check_claims(
    claims: Mapping[str, Any], *, issuer: str, client_id: str, nonce: str, now: int, leeway: int
) -> None:
    """Apply OpenID Connect Core 1.0 §3.1.3.7 to the verified payload."""
    if "iss" not in claims:
        raise TokenRejected("missing_iss")
    if claims["iss"] != issuer:
        raise TokenRejected("issuer_mismatch")
    subject = claims.get("sub")
    if subject is None:
        raise TokenRejected("missing_sub")
    if not isinstance(subject, str) or not subject or len(subject) > _MAX_SUBJECT_LENGTH:
        raise TokenRejected("invalid_sub")
    _check_audience(claims, client_id)
    _check_times(claims, now, leeway)
    _check_nonce(claims, nonce)


def verify_id_token(
    token: str,
    *,
    issuer: str,
    client_id: str,
    jwks: JwksCache,
    nonce: str,
    algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
    leeway_seconds: int = 30,
    now: Callable[[], int] = _unix_time,
) -> VerifiedClaims:
    """Verify an ID token against every rule above and return its claims, or raise.

    Raises ``TokenRejected`` for a bad token and ``ValueError`` for a bad configuration
    (an unsafe or unknown algorithm, a leeway outside 0-60 s, an empty expected value).
    """
    allowed = validate_algorithms(algorithms)
    if not 0 <= leeway_seconds <= MAX_LEEWAY_SECONDS:
        raise ValueError(f"leeway_seconds must be between 0 and {MAX_LEEWAY_SECONDS}")
    if not issuer or not client_id or not nonce:
        raise ValueError("issuer, client_id and nonce must not be empty")

    header = _parse_header(token)
    algorithm, kid = _check_header(header, allowed)
    keys = _choose_keys(jwks, kid, algorithm)
    payload = _verify_signature(token, keys, algorithm)
    claims = _strict_json_object(payload)
    if claims is None:
        raise TokenRejected("malformed_payload")
    _check_claims(
        claims, issuer=issuer, client_id=client_id, nonce=nonce, now=now(), leeway=leeway_seconds
    )
    try:
        frozen = _freeze(claims)
    except RecursionError:  # nesting the JSON parser allowed but copying cannot follow
        raise TokenRejected("malformed_payload") from None
    return VerifiedClaims(issuer=claims["iss"], subject=claims["sub"], claims=frozen)
