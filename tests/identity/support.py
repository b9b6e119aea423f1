"""Keys, hand-made tokens, a fake clock and a local HTTP server for the identity tests.

Tokens are assembled here byte by byte and signed with ``cryptography`` directly, so
the verifier is checked against an independent signer, and hostile tokens can carry
any header, payload or signature we like.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

ISSUER = "https://idp.example.test"
CLIENT_ID = "madoguchi-portal"
NONCE = "n-0S6_WzA2Mj-Zb1t8Hq0"
NOW = 1_760_000_000
JWKS_URL = "https://idp.example.test/jwks"
RSA_KID = "rsa-2026"
EC_KID = "ec-2026"

Signer = Callable[[bytes], bytes]


def b64(data: bytes) -> str:
    """Encode bytes as unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64_json(value: object) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def _uint(value: int, size: int | None = None) -> str:
    length = size if size is not None else (value.bit_length() + 7) // 8
    return b64(value.to_bytes(length, "big"))


@functools.cache
def rsa_key(name: str, bits: int = 2048) -> rsa.RSAPrivateKey:
    """A private RSA key, one per name for the whole test run (generation is slow)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@functools.cache
def ec_key(name: str, curve_name: str = "P-256") -> ec.EllipticCurvePrivateKey:
    curve = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1()}[curve_name]
    return ec.generate_private_key(curve)


def rsa_jwk(key: rsa.RSAPrivateKey, kid: str | None, **extra: object) -> dict[str, object]:
    numbers = key.public_key().public_numbers()
    jwk: dict[str, object] = {"kty": "RSA", "n": _uint(numbers.n), "e": _uint(numbers.e)}
    if kid is not None:
        jwk["kid"] = kid
    return {**jwk, **extra}


def ec_jwk(key: ec.EllipticCurvePrivateKey, kid: str | None, **extra: object) -> dict[str, object]:
    numbers = key.public_key().public_numbers()
    size = (key.curve.key_size + 7) // 8
    crv = {"secp256r1": "P-256", "secp384r1": "P-384"}[key.curve.name]
    jwk: dict[str, object] = {
        "kty": "EC",
        "crv": crv,
        "x": _uint(numbers.x, size),
        "y": _uint(numbers.y, size),
    }
    if kid is not None:
        jwk["kid"] = kid
    return {**jwk, **extra}


def provider_jwks() -> dict[str, object]:
    """The legitimate provider's key set: one RSA and one P-256 key, both for signing."""
    return {
        "keys": [
            rsa_jwk(rsa_key("provider"), RSA_KID, use="sig", alg="RS256"),
            ec_jwk(ec_key("provider"), EC_KID, use="sig"),
        ]
    }


def rs_signer(key: rsa.RSAPrivateKey, digest: hashes.HashAlgorithm | None = None) -> Signer:
    algorithm = digest or hashes.SHA256()
    return lambda data: key.sign(data, padding.PKCS1v15(), algorithm)


def ps_signer(key: rsa.RSAPrivateKey) -> Signer:
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    return lambda data: key.sign(data, pss, hashes.SHA256())


def es_signer(key: ec.EllipticCurvePrivateKey) -> Signer:
    """Sign as JWS ES256 does: the raw r || s, not DER (RFC 7518 §3.4)."""
    size = (key.curve.key_size + 7) // 8

    def sign(data: bytes) -> bytes:
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")

    return sign


def hs256_signer(secret: bytes) -> Signer:
    return lambda data: hmac.new(secret, data, hashlib.sha256).digest()


def claims(**overrides: object) -> dict[str, object]:
    """Valid ID token claims at NOW; an override of None removes the claim."""
    base: dict[str, object] = {
        "iss": ISSUER,
        "sub": "resident-0001",
        "aud": CLIENT_ID,
        "exp": NOW + 300,
        "iat": NOW - 5,
        "nonce": NONCE,
        "resident_code": "R-123456",
    }
    base.update(overrides)
    return {name: value for name, value in base.items() if value is not None}


def header(alg: str = "RS256", kid: str | None = RSA_KID, **extra: object) -> dict[str, object]:
    value: dict[str, object] = {"alg": alg, "typ": "JWT"}
    if kid is not None:
        value["kid"] = kid
    return {**value, **extra}


def token(
    token_header: Mapping[str, object] | None = None,
    payload: Mapping[str, object] | None = None,
    signer: Signer | None = None,
) -> str:
    """Assemble and sign a compact JWS; defaults are a valid RS256 ID token."""
    signing_input = f"{b64_json(token_header or header())}.{b64_json(payload or claims())}"
    sign = signer or rs_signer(rsa_key("provider"))
    return f"{signing_input}.{b64(sign(signing_input.encode('ascii')))}"


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class CountingFetch:
    """A ``fetch_json`` that serves a JWKS document from memory and counts its calls."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.calls: list[str] = []

    def __call__(self, url: str) -> Mapping[str, Any]:
        self.calls.append(url)
        return json.loads(json.dumps(self.document))


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


# What a handler answers: status, headers, and the body as bytes or as chunks to stream.
Reply = tuple[int, Mapping[str, str], bytes | Iterable[bytes]]


@dataclass
class LocalServer:
    url: str
    requests: list[RecordedRequest] = field(default_factory=list)


def json_reply(value: object, status: int = 200) -> Reply:
    return status, {"Content-Type": "application/json"}, json.dumps(value).encode()


@contextmanager
def local_server(respond: Callable[[RecordedRequest], Reply]) -> Iterator[LocalServer]:
    """Serve ``respond`` over HTTP on 127.0.0.1 (a free port) in a thread, recording requests."""
    recorded: list[RecordedRequest] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            request = RecordedRequest(self.command, self.path, dict(self.headers), body)
            recorded.append(request)
            status, headers, content = respond(request)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if isinstance(content, bytes):
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)
                return
            self.end_headers()
            try:
                for chunk in content:
                    self.wfile.write(chunk)
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return  # the client gave up, which is what some tests want

        def log_message(self, format: str, *args: object) -> None:
            """Keep test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield LocalServer(url=f"http://127.0.0.1:{server.server_address[1]}", requests=recorded)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def drip(chunks: int, delay: float) -> Iterator[bytes]:
    """Yield one byte at a time, slowly, as a server that never quite finishes would."""
    for _ in range(chunks):
        yield b" "
        time.sleep(delay)
