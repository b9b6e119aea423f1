"""The relying-party side of the OpenID Connect authorization code flow, without Flask.

Madoguchi signs residents and staff in through any standards-compliant provider (and,
in development, through the demo provider inside the app, which uses this same code).
The steps, each a function the views call with explicit arguments:

1. ``discover`` reads ``/.well-known/openid-configuration`` and ``ProviderMetadata``
   refuses a document whose ``issuer`` is not exactly the configured one (OpenID
   Connect Discovery 1.0 §4.3: otherwise one provider could impersonate another),
   whose endpoints are missing or not ``https`` (plain ``http`` only for a loopback
   development issuer), or whose ID token algorithms share none with our allow-list.
2. ``start_authorization`` makes the redirect to the provider with fresh ``state``
   (against login CSRF), ``nonce`` (binds the ID token to this browser, against
   replay) and a PKCE S256 challenge (RFC 7636: a stolen code is useless without the
   verifier). ``AuthorizationState`` keeps these server-side, as a plain dict.
3. ``parse_callback`` accepts the provider's redirect only with our ``state``
   (constant-time compare), only while fresh, and with the ``iss`` parameter equal
   to the provider's issuer when present (RFC 9207, against mix-up attacks; required
   when the provider says it sends it). Error answers become a ``SignInError``.
4. ``exchange_code`` redeems the code at the token endpoint with HTTP Basic client
   authentication, checks the response is a Bearer token response with an
   ``id_token``, and hands that token to ``tokens.verify_id_token`` — the only place an
   ID token is trusted.
5. ``logout_url`` builds the RP-initiated logout redirect when the provider has one.

``http_fetch_json`` and ``http_post_form`` are the default transports: the standard
library with a 5 s deadline, a 1 MiB cap, JSON content types only, and no redirect to
another origin. Tests and the demo provider inject their own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import re
import secrets
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

from portal.identity.tokens import (
    DEFAULT_ALGORITHMS,
    JwksCache,
    SignInError,
    VerifiedClaims,
    validate_algorithms,
    verify_id_token,
)

DISCOVERY_PATH = "/.well-known/openid-configuration"
HTTP_TIMEOUT_SECONDS = 5.0
MAX_RESPONSE_BYTES = 1024 * 1024
AUTHORIZATION_MAX_AGE_SECONDS = 600
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})

_CODE_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 §4.1
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")  # RFC 6749 §3.3
_SAFE_ERROR_CODE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_READ_CHUNK_BYTES = 64 * 1024
_USER_AGENT = "Madoguchi-OIDC-RP"


class HttpError(OSError):
    """An HTTP exchange failed or answered with something other than a usable JSON object."""


@dataclass(frozen=True)
class JsonResponse:
    """The status and decoded JSON object of an answer to a form POST."""

    status: int
    body: Mapping[str, Any]


FetchJson = Callable[[str], Mapping[str, Any]]
PostForm = Callable[[str, Mapping[str, str], tuple[str, str]], JsonResponse]


def _unix_time() -> int:
    return int(time.time())


# --- HTTP ---------------------------------------------------------------------------


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default_port = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or ""), parts.port or default_port


class _SameOriginRedirectHandler(urllib.request.HTTPRedirectHandler):
    """Follow a GET redirect only within the same scheme, host and port."""

    max_redirections = 3

    def redirect_request(
        self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> urllib.request.Request | None:
        if req.get_method() != "GET" or _origin(newurl) != _origin(req.full_url):
            raise HttpError(f"refused a redirect ({code}): only same-origin GETs are followed")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _open(request: urllib.request.Request, timeout: float) -> tuple[int, bytes, str]:
    """Send the request and return status, body (capped, within the deadline), media type."""
    if urlsplit(request.full_url).scheme not in ("http", "https"):
        raise HttpError("only http and https URLs are fetched")
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),  # honours HTTPS_PROXY/NO_PROXY, as egress often needs
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(context=ssl.create_default_context()),
        _SameOriginRedirectHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    deadline = time.monotonic() + timeout
    try:
        response = opener.open(request, timeout=timeout)
    except urllib.error.HTTPError as error_response:
        response = error_response  # a non-2xx answer; its body may still be JSON
    except HttpError:
        raise
    except (OSError, http.client.HTTPException) as error:
        raise HttpError(f"request failed: {type(error).__name__}") from error
    with response:
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
            raise HttpError("response larger than 1 MiB")
        body = _read_capped(response, deadline)
        return response.status, body, response.headers.get_content_type()


def _read_capped(response: Any, deadline: float) -> bytes:
    """Read a body of at most 1 MiB, giving up once the deadline has passed."""
    body = bytearray()
    while True:
        try:
            chunk = response.read1(_READ_CHUNK_BYTES)  # one recv, so the deadline is checked often
        except (OSError, http.client.HTTPException) as error:
            raise HttpError(f"reading the response failed: {type(error).__name__}") from error
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > MAX_RESPONSE_BYTES:
            raise HttpError("response larger than 1 MiB")
        if time.monotonic() > deadline:
            raise HttpError("response took longer than the deadline")


def _json_object(body: bytes, media_type: str) -> dict[str, Any]:
    """Decode a JSON object from a response whose media type says it is JSON."""
    main, _, subtype = media_type.partition("/")
    if main != "application" or not (subtype == "json" or subtype.endswith("+json")):
        raise HttpError(f"expected a JSON response, got {media_type}")
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise HttpError("response is not valid JSON") from error
    if not isinstance(value, dict):
        raise HttpError("response is not a JSON object")
    return value


def http_fetch_json(url: str, *, timeout: float = HTTP_TIMEOUT_SECONDS) -> dict[str, Any]:
    """GET a JSON object (discovery, JWKS); raise HttpError unless 200 with JSON."""
    request = urllib.request.Request(  # noqa: S310 - _open allows only http(s)
        url, headers={"Accept": "application/json", "User-Agent": _USER_AGENT}
    )
    status, body, media_type = _open(request, timeout)
    if status != 200:
        raise HttpError(f"HTTP {status} from {urlsplit(url).hostname}")
    return _json_object(body, media_type)


def http_post_form(
    url: str,
    data: Mapping[str, str],
    auth: tuple[str, str],
    *,
    timeout: float = HTTP_TIMEOUT_SECONDS,
) -> JsonResponse:
    """POST a form with HTTP Basic client credentials and return the JSON answer.

    ``auth`` is ``(client_id, client_secret)``; both are form-encoded before Base64 as
    RFC 6749 §2.3.1 requires. Error statuses are returned (OAuth errors are JSON), but
    an answer that is not a JSON object raises HttpError.
    """
    client_id, client_secret = auth
    credentials = f"{quote_plus(client_id, safe='')}:{quote_plus(client_secret, safe='')}"
    request = urllib.request.Request(  # noqa: S310 - _open allows only http(s)
        url,
        data=urlencode(data).encode("ascii"),
        method="POST",
        headers={
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "Basic " + base64.b64encode(credentials.encode()).decode("ascii"),
            "User-Agent": _USER_AGENT,
        },
    )
    status, body, media_type = _open(request, timeout)
    return JsonResponse(status=status, body=_json_object(body, media_type))


# --- Discovery ----------------------------------------------------------------------


def _metadata_error(detail: str) -> SignInError:
    return SignInError("provider_metadata_invalid", detail=detail)


def _is_loopback_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS


def _check_endpoint(value: object, name: str, *, http_allowed: bool) -> str:
    """Return an endpoint URL if it is absolute https (or loopback http in development)."""
    if not isinstance(value, str) or not value:
        raise _metadata_error(f"{name} is missing")
    parts = urlsplit(value)
    secure = parts.scheme == "https" or (http_allowed and _is_loopback_http(value))
    if not secure or not parts.hostname or parts.fragment:
        raise _metadata_error(f"{name} must be an https URL without a fragment, not {value!r}")
    return value


def _string_list(document: Mapping[str, Any], name: str) -> list[str] | None:
    value = document.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _metadata_error(f"{name} must be a list of strings")
    return value


@dataclass(frozen=True)
class ProviderMetadata:
    """The checked parts of a provider's discovery document that the sign-in flow uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    id_token_signing_alg_values: tuple[str, ...]
    end_session_endpoint: str | None = None
    issuer_in_authorization_response: bool = False

    @classmethod
    def from_document(
        cls,
        document: Mapping[str, Any],
        *,
        issuer: str,
        algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
        allow_loopback_http: bool = True,
    ) -> ProviderMetadata:
        """Validate a discovery document for the configured issuer, or raise SignInError.

        ``id_token_signing_alg_values`` keeps our allow-list's order, limited to what the
        provider supports. ``allow_loopback_http=False`` (production) insists on https.
        """
        allowed = validate_algorithms(algorithms)
        if not isinstance(document, Mapping):
            raise _metadata_error("the discovery document is not a JSON object")
        if document.get("issuer") != issuer:
            raise _metadata_error(
                f"issuer {document.get('issuer')!r} is not the configured issuer {issuer!r}"
            )
        http_allowed = allow_loopback_http and _is_loopback_http(issuer)
        issuer_parts = urlsplit(_check_endpoint(issuer, "issuer", http_allowed=http_allowed))
        if issuer_parts.query:
            raise _metadata_error("issuer must not have a query component")

        response_types = _string_list(document, "response_types_supported")
        if response_types is not None and "code" not in response_types:
            raise _metadata_error("the provider does not support the authorization code flow")
        challenge_methods = _string_list(document, "code_challenge_methods_supported")
        if challenge_methods is not None and "S256" not in challenge_methods:
            raise _metadata_error("the provider does not support PKCE with S256")
        auth_methods = _string_list(document, "token_endpoint_auth_methods_supported")
        if auth_methods is not None and "client_secret_basic" not in auth_methods:
            raise _metadata_error("the provider does not support client_secret_basic")
        provider_algorithms = _string_list(document, "id_token_signing_alg_values_supported")
        if provider_algorithms is None:
            raise _metadata_error("id_token_signing_alg_values_supported is missing")
        shared = tuple(name for name in allowed if name in provider_algorithms)
        if not shared:
            raise _metadata_error(
                f"the provider signs ID tokens only with {', '.join(provider_algorithms)}; "
                f"we accept {', '.join(allowed)}"
            )
        iss_parameter = document.get("authorization_response_iss_parameter_supported", False)
        if not isinstance(iss_parameter, bool):
            raise _metadata_error("authorization_response_iss_parameter_supported must be a bool")
        end_session = document.get("end_session_endpoint")

        return cls(
            issuer=issuer,
            authorization_endpoint=_check_endpoint(
                document.get("authorization_endpoint"),
                "authorization_endpoint",
                http_allowed=http_allowed,
            ),
            token_endpoint=_check_endpoint(
                document.get("token_endpoint"), "token_endpoint", http_allowed=http_allowed
            ),
            jwks_uri=_check_endpoint(
                document.get("jwks_uri"), "jwks_uri", http_allowed=http_allowed
            ),
            id_token_signing_alg_values=shared,
            end_session_endpoint=None
            if end_session is None
            else _check_endpoint(end_session, "end_session_endpoint", http_allowed=http_allowed),
            issuer_in_authorization_response=iss_parameter,
        )


def discovery_url(issuer: str) -> str:
    """Return where the issuer's discovery document lives (OIDC Discovery 1.0 §4)."""
    return issuer.rstrip("/") + DISCOVERY_PATH


def discover(
    issuer: str,
    *,
    fetch_json: FetchJson = http_fetch_json,
    algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
    allow_loopback_http: bool = True,
) -> ProviderMetadata:
    """Fetch and validate the issuer's discovery document, or raise SignInError."""
    try:
        document = fetch_json(discovery_url(issuer))
    except (OSError, ValueError) as error:
        raise SignInError("provider_unreachable", detail=type(error).__name__) from error
    return ProviderMetadata.from_document(
        document, issuer=issuer, algorithms=algorithms, allow_loopback_http=allow_loopback_http
    )


# --- Authorization request and callback ---------------------------------------------


def pkce_challenge(code_verifier: str) -> str:
    """Return the S256 code challenge of a verifier (RFC 7636 §4.2)."""
    if not _CODE_VERIFIER.fullmatch(code_verifier):
        raise ValueError("a PKCE code verifier is 43-128 unreserved characters (RFC 7636 §4.1)")
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class AuthorizationState:
    """What the server-side session must remember between the redirect and the callback."""

    state: str = field(repr=False)
    nonce: str = field(repr=False)
    code_verifier: str = field(repr=False)
    redirect_uri: str
    issuer: str
    issuer_in_response_required: bool
    created_at: int

    def to_dict(self) -> dict[str, str | int | bool]:
        """Return a JSON-safe dict for the session."""
        return {
            "state": self.state,
            "nonce": self.nonce,
            "code_verifier": self.code_verifier,
            "redirect_uri": self.redirect_uri,
            "issuer": self.issuer,
            "issuer_in_response_required": self.issuer_in_response_required,
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, data: object) -> AuthorizationState:
        """Rebuild the state from the session, or raise SignInError("no_pending_sign_in")."""
        text_fields = ("state", "nonce", "code_verifier", "redirect_uri", "issuer")
        if (
            not isinstance(data, Mapping)
            or not all(isinstance(data.get(name), str) and data[name] for name in text_fields)
            or not isinstance(data.get("issuer_in_response_required"), bool)
            or isinstance(data.get("created_at"), bool)
            or not isinstance(data.get("created_at"), int)
        ):
            raise SignInError("no_pending_sign_in")
        return cls(
            state=data["state"],
            nonce=data["nonce"],
            code_verifier=data["code_verifier"],
            redirect_uri=data["redirect_uri"],
            issuer=data["issuer"],
            issuer_in_response_required=data["issuer_in_response_required"],
            created_at=data["created_at"],
        )


def _with_query(url: str, parameters: Mapping[str, str]) -> str:
    """Add parameters to a URL, keeping its own query but never repeating a parameter."""
    parts = urlsplit(url)
    kept = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name not in parameters
    ]
    query = urlencode([*kept, *parameters.items()], quote_via=quote)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def _check_redirect_uri(redirect_uri: str) -> None:
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment:
        raise ValueError("redirect_uri must be an absolute http(s) URL without a fragment")


def start_authorization(
    metadata: ProviderMetadata,
    client_id: str,
    redirect_uri: str,
    scopes: Iterable[str],
    *,
    now: Callable[[], int] = _unix_time,
) -> tuple[str, AuthorizationState]:
    """Return the provider's authorization URL and the state to keep in the session."""
    scope_list = list(scopes)
    if "openid" not in scope_list:
        raise ValueError("scopes must include 'openid' for an OpenID Connect sign-in")
    if not all(_SCOPE_TOKEN.fullmatch(scope) for scope in scope_list):
        raise ValueError("each scope must be a non-empty token without spaces or quotes")
    if not client_id:
        raise ValueError("client_id must not be empty")
    _check_redirect_uri(redirect_uri)
    pending = AuthorizationState(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(48),
        redirect_uri=redirect_uri,
        issuer=metadata.issuer,
        issuer_in_response_required=metadata.issuer_in_authorization_response,
        created_at=now(),
    )
    url = _with_query(
        metadata.authorization_endpoint,
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(dict.fromkeys(scope_list)),
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": pkce_challenge(pending.code_verifier),
            "code_challenge_method": "S256",
        },
    )
    return url, pending


def _safe_error_code(value: object) -> str:
    """Return a provider's OAuth error code for the logs, or a placeholder if it looks odd."""
    if isinstance(value, str) and _SAFE_ERROR_CODE.fullmatch(value):
        return value
    return "unrecognised"


def parse_callback(
    query: Mapping[str, str],
    expected: AuthorizationState,
    *,
    now: Callable[[], int] = _unix_time,
    max_age_seconds: int = AUTHORIZATION_MAX_AGE_SECONDS,
) -> str:
    """Check the provider's redirect back to us and return the authorization code.

    Raises SignInError with ``state_mismatch``, ``authorization_expired``,
    ``callback_issuer_mismatch``, ``callback_issuer_missing``, ``provider_error``
    (``detail`` is the OAuth error code, e.g. ``access_denied``) or ``missing_code``.
    The view should refuse a query that repeats a parameter before calling this.
    """
    returned_state = query.get("state")
    if not isinstance(returned_state, str) or not hmac.compare_digest(
        returned_state.encode("utf-8"), expected.state.encode("utf-8")
    ):
        raise SignInError("state_mismatch")
    if now() - expected.created_at > max_age_seconds:
        raise SignInError("authorization_expired")
    returned_issuer = query.get("iss")
    if returned_issuer is None:
        if expected.issuer_in_response_required:
            raise SignInError("callback_issuer_missing")
    elif returned_issuer != expected.issuer:
        raise SignInError("callback_issuer_mismatch")
    if "error" in query:
        raise SignInError("provider_error", detail=_safe_error_code(query["error"]))
    code = query.get("code")
    if not isinstance(code, str) or not code:
        raise SignInError("missing_code")
    return code


# --- Token exchange and logout ------------------------------------------------------


@dataclass(frozen=True)
class SignInResult:
    """A completed sign-in: the verified claims, and the raw ID token for the logout hint."""

    claims: VerifiedClaims
    id_token: str = field(repr=False)


def exchange_code(
    metadata: ProviderMetadata,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    post_form: PostForm = http_post_form,
    *,
    jwks: JwksCache,
    nonce: str,
    leeway_seconds: int = 30,
    now: Callable[[], int] = _unix_time,
) -> SignInResult:
    """Redeem the authorization code and return the verified ID token, or raise SignInError.

    ``jwks`` must be the cache of ``metadata.jwks_uri`` and ``nonce`` the one sent with
    the authorization request; a bad ID token raises ``TokenRejected`` (a SignInError).
    """
    if jwks.url != metadata.jwks_uri:
        raise ValueError("the JWKS cache does not belong to this provider's jwks_uri")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
    }
    try:
        response = post_form(metadata.token_endpoint, form, (client_id, client_secret))
    except (OSError, ValueError) as error:
        raise SignInError("token_endpoint_unreachable", detail=type(error).__name__) from error
    if response.status != 200:
        detail = f"HTTP {response.status} {_safe_error_code(response.body.get('error'))}"
        raise SignInError("token_endpoint_error", detail=detail)
    token_type = response.body.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":  # RFC 6749 §7.1
        raise SignInError("token_type_not_bearer")
    id_token = response.body.get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise SignInError("missing_id_token")
    claims = verify_id_token(
        id_token,
        issuer=metadata.issuer,
        client_id=client_id,
        jwks=jwks,
        nonce=nonce,
        algorithms=metadata.id_token_signing_alg_values,
        leeway_seconds=leeway_seconds,
        now=now,
    )
    return SignInResult(claims=claims, id_token=id_token)


def logout_url(
    metadata: ProviderMetadata,
    id_token_hint: str,
    post_logout_redirect_uri: str,
    state: str,
) -> str | None:
    """Return the provider's RP-initiated logout URL, or None if it offers none."""
    if metadata.end_session_endpoint is None:
        return None
    return _with_query(
        metadata.end_session_endpoint,
        {
            "id_token_hint": id_token_hint,
            "post_logout_redirect_uri": post_logout_redirect_uri,
            "state": state,
        },
    )
