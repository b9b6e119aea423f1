"""Identity providers: the adapters residents and staff sign in through.

House pattern: a small base class, a stable ``code``, typed options built from the
settings, and ``check_config()`` for ``/readyz`` and the admin health page. The one
adapter, ``oidc``, is standard OpenID Connect (``portal.identity.oidc``) and serves
both real providers and the built-in demo provider, which it reaches over real HTTP
like any other, so development signs in through exactly the production code.

Two instances are configured: ``resident`` (``OIDC_*``) and ``staff``
(``STAFF_OIDC_*``). Each caches its provider's discovery document for an hour and
keeps one ``JwksCache`` (which rate-limits key refreshes itself).
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

from flask import Flask, current_app

from portal import health
from portal.identity import services
from portal.identity.oidc import (
    AuthorizationState,
    FetchJson,
    PostForm,
    ProviderMetadata,
    SignInResult,
    discover,
    exchange_code,
    http_fetch_json,
    http_post_form,
    parse_callback,
    start_authorization,
)
from portal.identity.oidc import logout_url as oidc_logout_url
from portal.identity.tokens import JwksCache, SignInError, VerifiedClaims

EXTENSION_KEY = "madoguchi.identity.providers"
AUDIENCES = ("resident", "staff")
# Where each kind of user comes back from the provider; registered there exactly.
CALLBACK_PATHS = {"resident": "/auth/callback", "staff": "/staff/auth/callback"}
DISCOVERY_MAX_AGE_SECONDS = 3600
DISCOVERY_RETRY_SECONDS = 60


@dataclass(frozen=True)
class ProviderOptions:
    """One configured provider: where it is, our client there, and the claims we read."""

    audience: str
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...] = ("openid", "profile")
    person_claim: str = "sub"
    roles_claim: str = "roles"
    departments_claim: str = "departments"
    allow_loopback_http: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any], audience: str) -> ProviderOptions:
        """Build the options of ``audience`` from the (already validated) app configuration."""
        prefix = "STAFF_" if audience == "staff" else ""
        return cls(
            audience=audience,
            issuer=config[f"{prefix}OIDC_ISSUER"],
            client_id=config[f"{prefix}OIDC_CLIENT_ID"],
            client_secret=config[f"{prefix}OIDC_CLIENT_SECRET"],
            scopes=tuple(config[f"{prefix}OIDC_SCOPES"]),
            person_claim=config["OIDC_PERSON_CLAIM"],
            roles_claim=config["STAFF_ROLES_CLAIM"],
            departments_claim=config["STAFF_DEPARTMENTS_CLAIM"],
            allow_loopback_http=config["PORTAL_ENV"] != "production",
        )

    @property
    def origin(self) -> str:
        """The issuer's scheme, host and port, which sign-in forms redirect to."""
        parts = urlsplit(self.issuer)
        return f"{parts.scheme}://{parts.netloc}"


class IdentityProvider(ABC):
    """An adapter that signs people in; ``name`` is ``resident`` or ``staff``."""

    code: ClassVar[str]

    def __init__(self, name: str, options: ProviderOptions) -> None:
        self.name = name
        self.options = options

    @abstractmethod
    def check_config(self) -> health.CheckResult:
        """Say whether sign-in can work, for readiness; no secret in the detail."""

    @abstractmethod
    def begin(self, redirect_uri: str) -> tuple[str, dict[str, Any]]:
        """Return the provider URL to send the browser to and the state to keep for the callback.

        Raises SignInError when the provider cannot be used right now.
        """

    @abstractmethod
    def complete(self, query: Mapping[str, str], state: object) -> SignInResult:
        """Check the provider's redirect back and return the verified sign-in, or raise.

        ``state`` is what ``begin`` returned, as kept in the session; every failure is
        a SignInError (``TokenRejected`` for a bad ID token) with a reason code.
        """

    @abstractmethod
    def logout_url(
        self, id_token_hint: str, post_logout_redirect_uri: str, state: str
    ) -> str | None:
        """The provider's logout URL to end its own session too, or None if it has none."""

    def identity(self, claims: VerifiedClaims) -> services.Identity:
        """Who signed in, read from the verified claims as this provider's audience requires."""
        if self.options.audience == "staff":
            return services.staff_identity(
                claims, self.options.roles_claim, self.options.departments_claim
            )
        return services.resident_identity(claims, self.options.person_claim)


class OidcProvider(IdentityProvider):
    """Standard OpenID Connect: discovery, code flow with PKCE, verified ID tokens.

    ``self_hosted_discovery`` is given for the built-in demo provider only: the
    readiness check then validates its discovery document in-process, because a
    process cannot fetch its own pages before it serves them (``flask portal check``,
    the test client). Sign-in itself always goes over HTTP.
    """

    code = "oidc"

    def __init__(
        self,
        name: str,
        options: ProviderOptions,
        *,
        fetch_json: FetchJson = http_fetch_json,
        post_form: PostForm = http_post_form,
        self_hosted_discovery: Callable[[], Mapping[str, Any]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name, options)
        self._fetch_json = fetch_json
        self._post_form = post_form
        self._self_hosted_discovery = self_hosted_discovery
        self._clock = clock
        self._lock = threading.Lock()
        self._metadata: ProviderMetadata | None = None
        self._fetched_at = 0.0
        self._failure: tuple[float, str, str] | None = None
        self._jwks: JwksCache | None = None

    def metadata(self) -> ProviderMetadata:
        """The provider's checked discovery document: cached an hour, retried once a minute.

        A failed refresh keeps using the document already known, so a provider's
        short outage does not stop sign-ins whose keys and endpoints have not changed.
        """
        with self._lock:
            now = self._clock()
            if self._metadata is not None and now - self._fetched_at < DISCOVERY_MAX_AGE_SECONDS:
                return self._metadata
            if self._failure is not None and now - self._failure[0] < DISCOVERY_RETRY_SECONDS:
                if self._metadata is not None:
                    return self._metadata
                raise SignInError(self._failure[1], detail=self._failure[2])
            try:
                metadata = discover(
                    self.options.issuer,
                    fetch_json=self._fetch_json,
                    allow_loopback_http=self.options.allow_loopback_http,
                )
            except SignInError as error:
                self._failure = (now, error.reason_code, error.detail)
                if self._metadata is not None:
                    return self._metadata
                raise
            self._metadata, self._fetched_at, self._failure = metadata, now, None
            return metadata

    def _jwks_cache(self, metadata: ProviderMetadata) -> JwksCache:
        """The provider's key cache, kept across sign-ins; a new one if ``jwks_uri`` moved."""
        with self._lock:
            if self._jwks is None or self._jwks.url != metadata.jwks_uri:
                self._jwks = JwksCache(metadata.jwks_uri, self._fetch_json)
            return self._jwks

    def check_config(self) -> health.CheckResult:
        """Check the discovery document is reachable and valid for the configured issuer."""
        issuer = self.options.issuer
        try:
            if self._self_hosted_discovery is not None:
                ProviderMetadata.from_document(
                    self._self_hosted_discovery(),
                    issuer=issuer,
                    allow_loopback_http=self.options.allow_loopback_http,
                )
                return health.CheckResult(True, f"built-in demo provider {issuer}")
            metadata = self.metadata()
        except SignInError as error:
            detail = f" ({error.detail})" if error.detail else ""
            return health.CheckResult(False, f"{issuer}: {error.reason_code}{detail}")
        algorithms = ", ".join(metadata.id_token_signing_alg_values)
        return health.CheckResult(True, f"{issuer}: discovery valid, ID tokens {algorithms}")

    def begin(self, redirect_uri: str) -> tuple[str, dict[str, Any]]:
        metadata = self.metadata()
        url, pending = start_authorization(
            metadata, self.options.client_id, redirect_uri, self.options.scopes
        )
        return url, pending.to_dict()

    def complete(self, query: Mapping[str, str], state: object) -> SignInResult:
        pending = AuthorizationState.from_dict(state)
        if pending.issuer != self.options.issuer:
            raise SignInError("no_pending_sign_in")
        code = parse_callback(query, pending)
        metadata = self.metadata()
        return exchange_code(
            metadata,
            self.options.client_id,
            self.options.client_secret,
            code,
            pending.redirect_uri,
            pending.code_verifier,
            self._post_form,
            jwks=self._jwks_cache(metadata),
            nonce=pending.nonce,
        )

    def logout_url(
        self, id_token_hint: str, post_logout_redirect_uri: str, state: str
    ) -> str | None:
        return oidc_logout_url(self.metadata(), id_token_hint, post_logout_redirect_uri, state)


def build_providers(
    config: Mapping[str, Any],
    demo_discovery: Callable[[], Mapping[str, Any]] | None = None,
) -> dict[str, IdentityProvider]:
    """Build the resident and staff providers; the demo one is checked in-process."""
    providers: dict[str, IdentityProvider] = {}
    for audience in AUDIENCES:
        options = ProviderOptions.from_config(config, audience)
        self_hosted = options.issuer == config["DEMO_IDP_ISSUER"] and demo_discovery is not None
        providers[audience] = OidcProvider(
            audience, options, self_hosted_discovery=demo_discovery if self_hosted else None
        )
    return providers


def init_app(app: Flask, demo_discovery: Callable[[], Mapping[str, Any]] | None = None) -> None:
    """Build the providers, add their readiness checks and let sign-in forms reach them."""
    providers = build_providers(app.config, demo_discovery)
    app.extensions[EXTENSION_KEY] = providers
    targets = list(app.config.get("CSP_FORM_TARGETS", ()))
    for audience, provider in providers.items():
        health.register_readiness_check(app, f"identity.{audience}", provider.check_config)
        if provider.options.origin not in targets:
            targets.append(provider.options.origin)
    app.config["CSP_FORM_TARGETS"] = tuple(targets)


def identity_provider(audience: str) -> IdentityProvider:
    """The current app's provider for ``resident`` or ``staff``."""
    return current_app.extensions[EXTENSION_KEY][audience]  # type: ignore[no-any-return]
