"""The built-in demo OpenID provider: development signs in through real OpenID Connect.

It is a minimal but genuine provider (OpenID Connect Core 1.0, RFC 6749, RFC 7636,
RFC 9207, RP-Initiated Logout 1.0), served at ``/demo-idp`` only when ``DEMO_IDP`` is
on, which production refuses. The portal reaches it over HTTP through the same
``oidc`` adapter it uses for a real provider, so every rule of the relying party is
exercised in development and in the tests.

What it does differently from a real provider, on purpose: instead of a password it
shows the demo personas (the fictional residents of the demo registers and a few
staff), and it keeps its codes and tokens in process memory, per app. Its RSA key is
generated on first start and kept in the instance folder. The two clients it knows
are the portal's own resident and staff clients, each with exactly one redirect URI.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import (
    Blueprint,
    Flask,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
)
from flask.typing import ResponseReturnValue
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from jose import jwt
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from portal.config import DEMO_IDP_PATH, development_file
from portal.extensions import csrf
from portal.identity.providers import CALLBACK_PATHS
from portal.records import demo_data

bp = Blueprint("demo_idp", __name__, url_prefix=DEMO_IDP_PATH)

EXTENSION_KEY = "madoguchi.demo_idp"
KEY_FILE = "demo-idp-signing-key.pem"
CODE_LIFETIME_SECONDS = 60
ID_TOKEN_LIFETIME_SECONDS = 300
ACCESS_TOKEN_LIFETIME_SECONDS = 300
# An ID token may come back as a logout hint for as long as a portal session lasts.
LOGOUT_HINT_LIFETIME_SECONDS = 12 * 3600
SIGNING_ALGORITHM = "RS256"
ADULT_AGE = 18

_CODE_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url of a SHA-256 digest
_CODE_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 §4.1
_MAX_PARAMETER_LENGTH = 512
_AUTHORIZATION_PARAMETERS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
)


@dataclass(frozen=True)
class DemoClient:
    """A relying party registered here: the portal's resident or staff client."""

    audience: str
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    post_logout_redirect_uri: str


@dataclass(frozen=True)
class Persona:
    """Someone the demo provider can sign in as, with the claims its ID token carries."""

    subject: str
    audience: str
    name: str
    description: str
    # The language ``description`` is written in (None: translated like the page).
    description_language: str | None
    claims: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StaffPersona:
    """A member of staff of the demo city; descriptions are translated with the page."""

    subject: str
    family: str
    given: str
    roles: tuple[str, ...]
    departments: tuple[str, ...]
    description: LazyString


STAFF = (
    StaffPersona(
        "staff-clerk-citizens",
        "青木",
        "直子",
        ("clerk",),
        ("citizens",),
        _l("Clerk in the Citizens Division: resident register, moving in and out, deaths."),
    ),
    StaffPersona(
        "staff-clerk-insurance-pension",
        "森",
        "大介",
        ("clerk",),
        ("insurance_pension",),
        _l("Clerk in the Insurance and Pension Division: National Health Insurance, pensions."),
    ),
    StaffPersona(
        "staff-clerk-child-support",
        "松本",
        "さくら",
        ("clerk",),
        ("child_support", "nursery"),
        _l("Clerk for child allowance and nursery places (two departments)."),
    ),
    StaffPersona(
        "staff-clerk-ltc-insurance",
        "井上",
        "誠",
        ("clerk",),
        ("ltc_insurance",),
        _l("Clerk in the Long-Term Care Insurance Division."),
    ),
    StaffPersona(
        "staff-admin",
        "石川",
        "涼子",
        ("admin",),
        (),
        _l("Administrator: procedures, people and settings; no department queue."),
    ),
)


def _adult(person: demo_data.DemoPerson) -> bool:
    """Whether the person is 18 or over (Japan's age of majority) on the demo's "today"."""
    today = demo_data.REFERENCE_DATE
    born = person.birth_date
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return age >= ADULT_AGE


def resident_personas() -> tuple[Persona, ...]:
    """The living adults of the demo registers, signed in with their register key as ``sub``.

    Children are in the registers as members of their households, but they do not
    file procedures themselves, so they are not offered as sign-ins.
    """
    return tuple(
        Persona(
            subject=person.key,
            audience="resident",
            name=f"{person.family} {person.given}",
            description=person.description,
            description_language="en",
            claims={
                "name": f"{person.family} {person.given}",
                "family_name": person.family,
                "given_name": person.given,
                # A fictional mailbox: the development outbox shows what would be sent.
                "email": f"{person.key}@residents.madoguchi.example",
                "email_verified": True,
            },
        )
        for person in demo_data.PERSONS
        if person.death_date is None and _adult(person)
    )


def staff_personas() -> tuple[Persona, ...]:
    """The demo city's clerks and administrator, with ``roles`` and ``departments`` claims."""
    return tuple(
        Persona(
            subject=member.subject,
            audience="staff",
            name=f"{member.family} {member.given}",
            description=str(member.description),
            description_language=None,
            claims={
                "name": f"{member.family} {member.given}",
                "family_name": member.family,
                "given_name": member.given,
                "roles": list(member.roles),
                "departments": list(member.departments),
            },
        )
        for member in STAFF
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _uint(value: int) -> str:
    return _b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def public_jwk(key: rsa.RSAPrivateKey) -> dict[str, str]:
    """The public half of the signing key as a JWK whose ``kid`` is its RFC 7638 thumbprint."""
    numbers = key.public_key().public_numbers()
    members = {"e": _uint(numbers.e), "kty": "RSA", "n": _uint(numbers.n)}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode("ascii")
    kid = _b64(hashlib.sha256(canonical).digest())
    return {**members, "kid": kid, "use": "sig", "alg": SIGNING_ALGORITHM}


def load_or_create_key(instance_path: Path) -> rsa.RSAPrivateKey:
    """The provider's RSA 2048 key, generated on first start and kept (0600) in the instance."""

    def make() -> str:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")

    pem = development_file(instance_path, KEY_FILE, make)
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{KEY_FILE} does not hold an RSA private key")
    return key


class AuthorizationError(Exception):
    """An authorization request the provider refuses, with the OAuth error code.

    ``redirect_uri`` is None when the client or redirect URI cannot be trusted: then
    the error is shown here and the browser is never sent anywhere (RFC 6749 §4.1.2.1).
    """

    def __init__(
        self, error: str, description: str, redirect_uri: str | None = None, state: str = ""
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.redirect_uri = redirect_uri
        self.state = state


class TokenError(Exception):
    """A token request the provider refuses (RFC 6749 §5.2)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


@dataclass(frozen=True)
class AuthorizationRequest:
    """A checked authorization request (OpenID Connect Core 1.0 §3.1.2.1)."""

    client: DemoClient
    redirect_uri: str
    scope: str
    state: str
    nonce: str
    code_challenge: str

    def hidden_fields(self) -> dict[str, str]:
        """The request's parameters, carried through the persona form unchanged."""
        return {
            "client_id": self.client.client_id,
            "redirect_uri": self.redirect_uri,
            "response_type": "code",
            "scope": self.scope,
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": self.code_challenge,
            "code_challenge_method": "S256",
        }


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str
    persona: Persona
    expires_at: float
    redeemed: bool = False
    access_token: str | None = None


@dataclass(frozen=True)
class _AccessToken:
    persona: Persona
    client_id: str
    expires_at: float


def with_query(url: str, parameters: Mapping[str, str]) -> str:
    """Add parameters to a URL that may already have a query."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(parameters.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


class DemoProvider:
    """The provider's keys, registered clients and the codes and tokens it has issued."""

    def __init__(
        self,
        issuer: str,
        key: rsa.RSAPrivateKey,
        clients: Iterable[DemoClient],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer
        self.clock = clock
        self._key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")
        self._jwk = public_jwk(key)
        self.clients = {client.client_id: client for client in clients}
        self._lock = threading.Lock()
        self._grants: dict[str, _Grant] = {}
        self._access_tokens: dict[str, _AccessToken] = {}
        # SHA-256 of each ID token issued -> (client id, when), for logout hints.
        self._id_tokens: dict[str, tuple[str, float]] = {}

    @property
    def kid(self) -> str:
        return self._jwk["kid"]

    def endpoint(self, name: str) -> str:
        return f"{self.issuer}/{name}"

    def discovery_document(self) -> dict[str, Any]:
        """The provider metadata (OpenID Connect Discovery 1.0 §3, RFC 9207 §3)."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.endpoint("authorize"),
            "token_endpoint": self.endpoint("token"),
            "userinfo_endpoint": self.endpoint("userinfo"),
            "jwks_uri": self.endpoint("jwks"),
            "end_session_endpoint": self.endpoint("logout"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [SIGNING_ALGORITHM],
            "scopes_supported": ["openid", "profile", "email"],
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "nonce",
                "name",
                "family_name",
                "given_name",
                "email",
                "email_verified",
                "roles",
                "departments",
            ],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "authorization_response_iss_parameter_supported": True,
        }

    def jwks(self) -> dict[str, Any]:
        """The public signing key set."""
        return {"keys": [dict(self._jwk)]}

    def personas_for(self, client: DemoClient) -> tuple[Persona, ...]:
        """Residents for the resident client, staff for the staff client."""
        return staff_personas() if client.audience == "staff" else resident_personas()

    # --- authorization --------------------------------------------------------------

    def check_authorization(self, parameters: MultiDict[str, str]) -> AuthorizationRequest:
        """Check an authorization request, or raise AuthorizationError saying where to report."""
        client_ids = parameters.getlist("client_id")
        client = self.clients.get(client_ids[0]) if len(client_ids) == 1 else None
        if client is None:
            raise AuthorizationError("invalid_client", "unknown client_id")
        redirect_uris = parameters.getlist("redirect_uri")
        if redirect_uris != [client.redirect_uri]:
            # Only an exact match of the registered URI is trusted with the answer.
            raise AuthorizationError("invalid_request", "redirect_uri is not the registered one")
        states = parameters.getlist("state")
        state = states[0] if len(states) == 1 else ""

        def refuse(error: str, description: str) -> AuthorizationError:
            return AuthorizationError(error, description, client.redirect_uri, state)

        repeated = sorted(name for name in set(parameters) if len(parameters.getlist(name)) > 1)
        if repeated:
            raise refuse("invalid_request", f"repeated parameter {repeated[0]}")
        if any(len(value) > _MAX_PARAMETER_LENGTH for value in parameters.values()):
            raise refuse("invalid_request", "a parameter is too long")
        if parameters.get("response_type") != "code":
            raise refuse("unsupported_response_type", "only response_type=code is supported")
        scope = parameters.get("scope", "")
        if "openid" not in scope.split():
            raise refuse("invalid_scope", "the scope must include openid")
        if parameters.get("code_challenge_method") != "S256":
            raise refuse("invalid_request", "PKCE with code_challenge_method=S256 is required")
        code_challenge = parameters.get("code_challenge", "")
        if not _CODE_CHALLENGE.fullmatch(code_challenge):
            raise refuse("invalid_request", "code_challenge is missing or malformed")
        if not state:
            raise refuse("invalid_request", "state is required")
        nonce = parameters.get("nonce", "")
        if not nonce:
            raise refuse("invalid_request", "nonce is required")
        return AuthorizationRequest(
            client=client,
            redirect_uri=client.redirect_uri,
            scope=scope,
            state=state,
            nonce=nonce,
            code_challenge=code_challenge,
        )

    def issue_code(self, authorization: AuthorizationRequest, persona: Persona) -> str:
        """Issue a single-use authorization code for the persona chosen; valid 60 seconds."""
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._forget_expired()
            self._grants[code] = _Grant(
                client_id=authorization.client.client_id,
                redirect_uri=authorization.redirect_uri,
                code_challenge=authorization.code_challenge,
                nonce=authorization.nonce,
                persona=persona,
                expires_at=self.clock() + CODE_LIFETIME_SECONDS,
            )
        return code

    def success_redirect(self, authorization: AuthorizationRequest, code: str) -> str:
        """Where the browser goes with the code: ``code``, ``state`` and ``iss`` (RFC 9207)."""
        return with_query(
            authorization.redirect_uri,
            {"code": code, "state": authorization.state, "iss": self.issuer},
        )

    def error_redirect(self, error: AuthorizationError) -> str:
        """Where the browser goes with an error the client may learn about."""
        if error.redirect_uri is None:
            raise ValueError("this error must be shown here, not sent to an unchecked URI")
        parameters = {"error": error.error, "error_description": error.description}
        if error.state:
            parameters["state"] = error.state
        parameters["iss"] = self.issuer
        return with_query(error.redirect_uri, parameters)

    # --- token, userinfo, logout ----------------------------------------------------

    def authenticate_client(self, authorization_header: str | None) -> DemoClient:
        """Check HTTP Basic client credentials (RFC 6749 §2.3.1), or raise TokenError 401."""
        scheme, _, encoded = (authorization_header or "").partition(" ")
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except ValueError:
            decoded = ""
        raw_id, separator, raw_secret = decoded.partition(":")
        client = self.clients.get(unquote_plus(raw_id))
        if (
            scheme.lower() != "basic"
            or not separator
            or client is None
            or not hmac.compare_digest(
                unquote_plus(raw_secret).encode("utf-8"), client.client_secret.encode("utf-8")
            )
        ):
            raise TokenError("invalid_client", "client authentication failed", status=401)
        return client

    def redeem_code(self, client: DemoClient, form: MultiDict[str, str]) -> dict[str, Any]:
        """Exchange an authorization code for tokens (RFC 6749 §4.1.3, RFC 7636 §4.6)."""
        repeated = sorted(name for name in set(form) if len(form.getlist(name)) > 1)
        if repeated:
            raise TokenError("invalid_request", f"repeated parameter {repeated[0]}")
        if "client_secret" in form:
            raise TokenError("invalid_request", "use HTTP Basic authentication only")
        if form.get("grant_type") != "authorization_code":
            raise TokenError("unsupported_grant_type", "only authorization_code is supported")
        now = self.clock()
        with self._lock:
            grant = self._grants.get(form.get("code", ""))
            if grant is None or grant.client_id != client.client_id:
                raise TokenError("invalid_grant", "unknown code")
            if grant.redeemed:
                # A code used twice may have been stolen: withdraw what it bought (§4.1.2).
                if grant.access_token is not None:
                    self._access_tokens.pop(grant.access_token, None)
                raise TokenError("invalid_grant", "the code was already used")
            if now >= grant.expires_at:
                raise TokenError("invalid_grant", "the code has expired")
            if form.get("redirect_uri") != grant.redirect_uri:
                raise TokenError("invalid_grant", "redirect_uri does not match")
            verifier = form.get("code_verifier", "")
            challenge = _b64(hashlib.sha256(verifier.encode("ascii", "replace")).digest())
            if not _CODE_VERIFIER.fullmatch(verifier) or not hmac.compare_digest(
                challenge, grant.code_challenge
            ):
                raise TokenError("invalid_grant", "PKCE verification failed")
            grant.redeemed = True
            access_token = secrets.token_urlsafe(32)
            grant.access_token = access_token
            self._access_tokens[access_token] = _AccessToken(
                grant.persona, client.client_id, now + ACCESS_TOKEN_LIFETIME_SECONDS
            )
            id_token = self._id_token(grant, client, int(now))
            self._id_tokens[hashlib.sha256(id_token.encode("ascii")).hexdigest()] = (
                client.client_id,
                now,
            )
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_LIFETIME_SECONDS,
            "id_token": id_token,
        }

    def _id_token(self, grant: _Grant, client: DemoClient, now: int) -> str:
        claims = {
            **grant.persona.claims,
            "iss": self.issuer,
            "sub": grant.persona.subject,
            "aud": client.client_id,
            "azp": client.client_id,
            "exp": now + ID_TOKEN_LIFETIME_SECONDS,
            "iat": now,
            "auth_time": now,
            "nonce": grant.nonce,
        }
        return jwt.encode(
            claims,
            self._key_pem,
            algorithm=SIGNING_ALGORITHM,
            headers={"kid": self.kid, "typ": "JWT"},
        )

    def userinfo(self, authorization_header: str | None) -> dict[str, Any] | None:
        """The claims of a valid bearer access token's persona, or None (RFC 6750)."""
        scheme, _, token = (authorization_header or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        with self._lock:
            access = self._access_tokens.get(token)
        if access is None or self.clock() >= access.expires_at:
            return None
        return {**access.persona.claims, "sub": access.persona.subject}

    def logout_redirect(self, parameters: MultiDict[str, str]) -> str | None:
        """Where to send the browser after logout, or None to show the signed-out page.

        Only a ``post_logout_redirect_uri`` registered for the client that the ID token
        hint (or ``client_id``) names is followed, as RP-Initiated Logout 1.0 §3 asks.
        The hint is recognised by its hash among the tokens issued here, so no JWT is
        parsed outside ``portal.identity.tokens``.
        """
        hint = parameters.get("id_token_hint", "")
        with self._lock:
            issued = self._id_tokens.get(hashlib.sha256(hint.encode("utf-8")).hexdigest())
        hinted = issued[0] if issued is not None else None
        named = parameters.get("client_id")
        if hinted is not None and named is not None and named != hinted:
            return None
        client = self.clients.get(hinted or named or "")
        target = parameters.get("post_logout_redirect_uri")
        if client is None or target != client.post_logout_redirect_uri:
            return None
        state = parameters.get("state")
        return with_query(target, {"state": state}) if state else target

    def _forget_expired(self) -> None:
        now = self.clock()
        for code in [code for code, grant in self._grants.items() if grant.expires_at <= now]:
            del self._grants[code]
        for token in [t for t, access in self._access_tokens.items() if access.expires_at <= now]:
            del self._access_tokens[token]
        hint_cutoff = now - LOGOUT_HINT_LIFETIME_SECONDS
        for digest in [d for d, (_, issued) in self._id_tokens.items() if issued <= hint_cutoff]:
            del self._id_tokens[digest]


def demo_provider() -> DemoProvider:
    """The current app's demo provider."""
    return current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]


def _json_error(error: TokenError) -> Response:
    response = jsonify(error=error.error, error_description=error.description)
    response.status_code = error.status
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="demo-idp"'
    response.headers["Pragma"] = "no-cache"
    return response


@bp.get("/.well-known/openid-configuration")
def show_configuration() -> ResponseReturnValue:
    return jsonify(demo_provider().discovery_document())


@bp.get("/jwks")
def show_jwks() -> ResponseReturnValue:
    return jsonify(demo_provider().jwks())


def _authorization_failure(error: AuthorizationError) -> ResponseReturnValue:
    if error.redirect_uri is None:
        return render_template("identity/demo_idp_error.html", error=error), 400
    return redirect(demo_provider().error_redirect(error), code=303)


@bp.get("/authorize")
def show_personas() -> ResponseReturnValue:
    """Check the request, then let the visitor choose who to sign in as."""
    provider = demo_provider()
    try:
        authorization = provider.check_authorization(request.args)
    except AuthorizationError as error:
        return _authorization_failure(error)
    return render_template(
        "identity/demo_idp_personas.html",
        authorization=authorization,
        personas=provider.personas_for(authorization.client),
        issuer=provider.issuer,
    )


@bp.post("/authorize")
def choose_persona() -> ResponseReturnValue:
    """Sign in as the persona chosen (or refuse, if the visitor cancelled) and go back."""
    provider = demo_provider()
    fields = MultiDict(
        [
            (name, value)
            for name, value in request.form.items(multi=True)
            if name in _AUTHORIZATION_PARAMETERS
        ]
    )
    try:
        authorization = provider.check_authorization(fields)
    except AuthorizationError as error:
        return _authorization_failure(error)
    if "cancel" in request.form:
        refusal = AuthorizationError(
            "access_denied",
            "the visitor cancelled",
            authorization.redirect_uri,
            authorization.state,
        )
        return redirect(provider.error_redirect(refusal), code=303)
    chosen = request.form.get("persona", "")
    persona = next(
        (p for p in provider.personas_for(authorization.client) if p.subject == chosen), None
    )
    if persona is None:
        return render_template(
            "identity/demo_idp_error.html",
            error=AuthorizationError("invalid_request", "unknown persona"),
        ), 400
    code = provider.issue_code(authorization, persona)
    return redirect(provider.success_redirect(authorization, code), code=303)


@bp.post("/token")
@csrf.exempt
def issue_tokens() -> ResponseReturnValue:
    """The token endpoint: authenticated clients redeem codes for an ID token."""
    provider = demo_provider()
    try:
        client = provider.authenticate_client(request.headers.get("Authorization"))
        tokens = provider.redeem_code(client, request.form)
    except TokenError as error:
        return _json_error(error)
    response = jsonify(tokens)
    response.headers["Pragma"] = "no-cache"
    return response


@bp.route("/userinfo", methods=["GET", "POST"])
@csrf.exempt
def show_userinfo() -> ResponseReturnValue:
    claims = demo_provider().userinfo(request.headers.get("Authorization"))
    if claims is None:
        response = jsonify(error="invalid_token")
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response
    return jsonify(claims)


@bp.route("/logout", methods=["GET", "POST"])
@csrf.exempt
def end_session() -> ResponseReturnValue:
    """RP-initiated logout: the demo keeps no sign-in of its own, so only redirect back."""
    target = demo_provider().logout_redirect(request.values)
    if target is None:
        return render_template("identity/demo_idp_signed_out.html")
    return redirect(target, code=303)


def registered_clients(config: Mapping[str, Any]) -> list[DemoClient]:
    """The portal's own clients whose configured issuer is this demo provider."""
    issuer = config["DEMO_IDP_ISSUER"]
    parts = urlsplit(issuer)
    origin = f"{parts.scheme}://{parts.netloc}"
    clients = []
    for audience, prefix in (("resident", ""), ("staff", "STAFF_")):
        if config[f"{prefix}OIDC_ISSUER"] == issuer:
            clients.append(
                DemoClient(
                    audience=audience,
                    client_id=config[f"{prefix}OIDC_CLIENT_ID"],
                    client_secret=config[f"{prefix}OIDC_CLIENT_SECRET"],
                    redirect_uri=origin + CALLBACK_PATHS[audience],
                    post_logout_redirect_uri=origin + "/",
                )
            )
    return clients


def init_app(app: Flask) -> DemoProvider:
    """Create the app's demo provider (key from the instance folder) and serve it."""
    provider = DemoProvider(
        app.config["DEMO_IDP_ISSUER"],
        load_or_create_key(Path(app.instance_path)),
        registered_clients(app.config),
    )
    app.extensions[EXTENSION_KEY] = provider
    app.register_blueprint(bp)
    return provider
