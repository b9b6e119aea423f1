"""Read the portal's settings from the environment and refuse a start on bad values.

Every setting is documented in the README's configuration table. A missing or bad
value stops the start with one sentence that names the variable, so an operator never
has to read a traceback to find out what to fix.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import limits
import limits.storage
from cryptography.fernet import Fernet

ENVIRONMENTS = ("development", "production")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
MIN_SECRET_KEY_LENGTH = 32
DEMO_IDP_PATH = "/demo-idp"
DEFAULT_OIDC_SCOPES = ("openid", "profile", "email")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")  # RFC 6749 §3.3
_CLAIM_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
# The default port of each way of reaching a mail server: plain, TLS from the first
# byte (RFC 8314), and plain upgraded with STARTTLS (RFC 3207).
SMTP_PORTS = {"smtp": 25, "smtps": 465, "smtp+starttls": 587}
SMTP_URL_EXAMPLE = "smtp+starttls://user:password@mail.city.example:587?from=noreply@city.example"
_MAIL_ADDRESS = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
)
# Where JOBS_ENGINE=celery hands jobs over: a Redis server, plain or over TLS.
CELERY_BROKER_SCHEMES = ("redis", "rediss")
CELERY_BROKER_EXAMPLE = "redis://redis.city.example:6379/1"
# Each rate limit's variable and its default: "N per minute/hour/day", several with ";".
RATE_LIMITS = {
    "RATELIMIT_DEFAULT": "300 per minute",
    "RATELIMIT_SIGN_IN": "10 per minute; 50 per hour",
    "RATELIMIT_SUBMIT": "5 per minute; 30 per hour",
    "RATELIMIT_UPLOAD": "20 per minute; 200 per hour",
    "RATELIMIT_API": "120 per minute",
}


class ConfigError(Exception):
    """A setting is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class OidcClientSettings:
    """How the portal signs one kind of user in: an OpenID provider and our client there.

    ``prefix`` is ``""`` for residents and ``"STAFF_"`` for clerks and admins; it is
    the prefix of the environment variables these values came from.
    """

    prefix: str
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...]

    def flask_config(self) -> dict[str, object]:
        """The Flask configuration keys of this client, named like the variables."""
        return {
            f"{self.prefix}OIDC_ISSUER": self.issuer,
            f"{self.prefix}OIDC_CLIENT_ID": self.client_id,
            f"{self.prefix}OIDC_CLIENT_SECRET": self.client_secret,
            f"{self.prefix}OIDC_SCOPES": self.scopes,
        }


@dataclass(frozen=True)
class IdentitySettings:
    """Sign-in for residents and for staff, and whether the demo provider is served."""

    resident: OidcClientSettings
    staff: OidcClientSettings
    person_claim: str
    roles_claim: str
    departments_claim: str
    demo_idp: bool
    demo_idp_issuer: str

    def flask_config(self) -> dict[str, object]:
        """The Flask configuration keys of the identity settings."""
        return {
            **self.resident.flask_config(),
            **self.staff.flask_config(),
            "OIDC_PERSON_CLAIM": self.person_claim,
            "STAFF_ROLES_CLAIM": self.roles_claim,
            "STAFF_DEPARTMENTS_CLAIM": self.departments_claim,
            "DEMO_IDP": self.demo_idp,
            "DEMO_IDP_ISSUER": self.demo_idp_issuer,
        }


@dataclass(frozen=True)
class SmtpServer:
    """The mail server emails leave through, how to reach and log in to it, and our From."""

    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None = field(repr=False)
    sender: str

    @property
    def loopback(self) -> bool:
        return self.host in LOOPBACK_HOSTS


@dataclass(frozen=True)
class RateLimitSettings:
    """How often a visitor, user or API client may knock, and where the counts are kept."""

    enabled: bool = True
    # memory:// counts per process; a Redis URL shares the counts between workers.
    storage_uri: str = field(default="memory://", repr=False)
    limits: Mapping[str, str] = field(default_factory=lambda: dict(RATE_LIMITS))

    def flask_config(self) -> dict[str, object]:
        """The Flask configuration keys of the rate limits, named like the variables."""
        return {
            "RATELIMIT_ENABLED": self.enabled,
            "RATELIMIT_STORAGE_URI": self.storage_uri,
            **self.limits,
        }


@dataclass(frozen=True)
class JobQueueSettings:
    """The job engine asked for, its broker for celery, and how often celery's relay looks."""

    # Empty: the default (portal/jobs/engines.py checks the name and picks the default).
    engine: str = ""
    # May hold the broker's password: never shown.
    celery_broker_url: str = field(default="", repr=False)
    relay_seconds: int = 10

    def flask_config(self) -> dict[str, object]:
        """The Flask configuration keys of the job queue, named like the variables."""
        return {
            "JOBS_ENGINE": self.engine,
            "CELERY_BROKER_URL": self.celery_broker_url,
            "JOBS_RELAY_SECONDS": self.relay_seconds,
        }


@dataclass(frozen=True)
class Settings:
    """The validated settings the application is built from."""

    env: str
    secret_key: str
    database_url: str
    port: int
    timezone: str
    max_upload_mb: int
    log_level: str
    identity: IdentitySettings
    # Empty: development keeps emails in an outbox folder instead of sending them.
    smtp_url: str = field(repr=False)
    # The public address links in emails start with (a job has no request to ask).
    portal_url: str = ""
    rate_limits: RateLimitSettings = field(default_factory=RateLimitSettings)
    # Fernet keys that seal My Numbers at rest: the first seals, every one unseals.
    my_number_keys: tuple[str, ...] = field(default=(), repr=False)
    jobs: JobQueueSettings = field(default_factory=JobQueueSettings)
    # How many reverse proxies in front of the portal set X-Forwarded-* (ProxyFix).
    proxy_fix_hops: int = 0

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    def flask_config(self) -> dict[str, object]:
        """Translate the settings into Flask's configuration keys."""
        secure_cookies = self.is_production
        return {
            "PORTAL_ENV": self.env,
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            # A pooled connection the database closed (a restart, a failover) is noticed
            # and replaced before a request uses it, instead of failing that request.
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
            "PORT": self.port,
            "PORTAL_TIMEZONE": self.timezone,
            "MAX_CONTENT_LENGTH": self.max_upload_mb * 1024 * 1024,
            "LOG_LEVEL": self.log_level,
            "SESSION_COOKIE_SECURE": secure_cookies,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            # The __Host- prefix makes browsers refuse the cookie unless it is Secure
            # and bound to this host, so it is used wherever cookies are Secure.
            "SESSION_COOKIE_NAME": "__Host-madoguchi" if secure_cookies else "madoguchi_session",
            "PREFERRED_URL_SCHEME": "https" if self.is_production else "http",
            "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
            "BABEL_DEFAULT_LOCALE": "ja",
            "BABEL_DEFAULT_TIMEZONE": self.timezone,
            **self.identity.flask_config(),
            "SMTP_URL": self.smtp_url,
            "PORTAL_URL": self.portal_url,
            **self.rate_limits.flask_config(),
            "MY_NUMBER_KEYS": self.my_number_keys,
            **self.jobs.flask_config(),
            "PROXY_FIX_HOPS": self.proxy_fix_hops,
        }


def _text(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _integer(environ: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = _text(environ, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}.") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, not {value}.")
    return value


def _database_url(environ: Mapping[str, str], instance_path: Path) -> str:
    raw = _text(environ, "DATABASE_URL")
    if raw is None:
        return f"sqlite:///{instance_path / 'madoguchi.sqlite3'}"
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if scheme in ("postgres", "postgresql"):
        return "postgresql+psycopg://" + raw.split("://", 1)[1]
    if scheme in ("postgresql+psycopg", "sqlite"):
        return raw
    raise ConfigError(
        "DATABASE_URL must start with sqlite:/// or postgresql:// "
        f"(PostgreSQL is used through psycopg 3), not {scheme or raw!r}."
    )


def _secret_key(environ: Mapping[str, str], env: str, instance_path: Path) -> str:
    raw = _text(environ, "SECRET_KEY")
    if raw is not None:
        if len(raw) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(
                f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters long; "
                "generate one with: python3 -c 'import secrets; print(secrets.token_hex(32))'."
            )
        return raw
    if env == "production":
        raise ConfigError(
            "SECRET_KEY must be set when PORTAL_ENV=production; "
            "generate one with: python3 -c 'import secrets; print(secrets.token_hex(32))'."
        )
    # Development keeps a generated key in the instance folder so that sign-ins
    # survive a restart; it is never used in production.
    key_file = instance_path / "development-secret-key"
    if key_file.exists():
        return key_file.read_text(encoding="utf-8").strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    key_file.write_text(key, encoding="utf-8")
    key_file.chmod(0o600)
    return key


def _write_once(path: Path, content: str) -> str:
    """Create a private file unless it exists, and return what the file holds.

    Several processes (tests, a reloader) may start at once: the content is written to
    a temporary file and linked into place, so nobody ever reads a half-written file
    and the first writer wins.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(content)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return path.read_text(encoding="utf-8")


def development_file(instance_path: Path, name: str, make: Callable[[], str]) -> str:
    """Return a development-only secret kept in the instance folder, making it once."""
    path = instance_path / name
    return path.read_text(encoding="utf-8") if path.exists() else _write_once(path, make())


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = _text(environ, name)
    if raw is None:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ConfigError(f"{name} must be 1 (on) or 0 (off), not {raw!r}.")


def _issuer(environ: Mapping[str, str], name: str, production: bool) -> str | None:
    """Return an issuer URL: https, or http on this machine in development only."""
    raw = _text(environ, name)
    if raw is None:
        return None
    parts = urlsplit(raw)
    loopback_http = parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
    if production and parts.scheme != "https":
        raise ConfigError(f"{name} must be an https URL when PORTAL_ENV=production, not {raw!r}.")
    if not (parts.scheme == "https" or loopback_http) or not parts.hostname:
        raise ConfigError(
            f"{name} must be an https URL (http only on 127.0.0.1 or localhost), not {raw!r}."
        )
    if parts.query or parts.fragment:
        raise ConfigError(f"{name} must not have a query or a fragment, not {raw!r}.")
    return raw


def _scopes(environ: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = _text(environ, name)
    if raw is None:
        return DEFAULT_OIDC_SCOPES
    scopes = tuple(dict.fromkeys(raw.split()))
    if "openid" not in scopes or not all(_SCOPE_TOKEN.fullmatch(scope) for scope in scopes):
        raise ConfigError(
            f"{name} must be space-separated scopes including openid, such as "
            f"'openid profile', not {raw!r}."
        )
    return scopes


def _claim_name(environ: Mapping[str, str], name: str, default: str) -> str:
    raw = _text(environ, name) or default
    if not _CLAIM_NAME.fullmatch(raw):
        raise ConfigError(f"{name} must be a claim name such as {default!r}, not {raw!r}.")
    return raw


def _demo_client(instance_path: Path, kind: str) -> tuple[str, str]:
    """The client id and secret the portal uses at the demo provider (development only)."""

    def make() -> str:
        client = {
            "client_id": f"madoguchi-{kind}-{secrets.token_hex(4)}",
            "client_secret": secrets.token_urlsafe(32),
        }
        return json.dumps(client)

    client = json.loads(development_file(instance_path, f"demo-idp-client-{kind}.json", make))
    return client["client_id"], client["client_secret"]


def _oidc_client(
    environ: Mapping[str, str],
    prefix: str,
    *,
    env: str,
    demo_idp: bool,
    demo_issuer: str,
    instance_path: Path,
) -> OidcClientSettings:
    """Read one provider's settings; without an issuer, development uses the demo provider."""
    production = env == "production"
    issuer_name = f"{prefix}OIDC_ISSUER"
    id_name, secret_name = f"{prefix}OIDC_CLIENT_ID", f"{prefix}OIDC_CLIENT_SECRET"
    issuer = _issuer(environ, issuer_name, production)
    client_id, client_secret = _text(environ, id_name), _text(environ, secret_name)
    if issuer is None:
        if production:
            raise ConfigError(
                f"{issuer_name} must be set when PORTAL_ENV=production: "
                "the https address of the OpenID provider."
            )
        if not demo_idp:
            raise ConfigError(
                f"{issuer_name} must be set when DEMO_IDP is off: "
                "without it there is no provider to sign in with."
            )
        issuer = demo_issuer
    if issuer == demo_issuer and demo_idp and client_id is None and client_secret is None:
        client_id, client_secret = _demo_client(instance_path, "staff" if prefix else "resident")
    if client_id is None:
        raise ConfigError(f"{id_name} must be set: the client id {issuer} gave the portal.")
    if client_secret is None:
        raise ConfigError(f"{secret_name} must be set: the client secret for {client_id}.")
    return OidcClientSettings(
        prefix=prefix,
        issuer=issuer,
        client_id=client_id,
        client_secret=client_secret,
        scopes=_scopes(environ, f"{prefix}OIDC_SCOPES"),
    )


def _identity(
    environ: Mapping[str, str], env: str, port: int, instance_path: Path
) -> IdentitySettings:
    demo_idp = _flag(environ, "DEMO_IDP", default=env == "development")
    if demo_idp and env == "production":
        raise ConfigError(
            "DEMO_IDP must be off when PORTAL_ENV=production: "
            "the demo provider lets anyone sign in as anyone."
        )
    demo_issuer = f"http://127.0.0.1:{port}{DEMO_IDP_PATH}"
    clients = {
        prefix: _oidc_client(
            environ,
            prefix,
            env=env,
            demo_idp=demo_idp,
            demo_issuer=demo_issuer,
            instance_path=instance_path,
        )
        for prefix in ("", "STAFF_")
    }
    return IdentitySettings(
        resident=clients[""],
        staff=clients["STAFF_"],
        person_claim=_claim_name(environ, "OIDC_PERSON_CLAIM", "sub"),
        roles_claim=_claim_name(environ, "STAFF_ROLES_CLAIM", "roles"),
        departments_claim=_claim_name(environ, "STAFF_DEPARTMENTS_CLAIM", "departments"),
        demo_idp=demo_idp,
        demo_idp_issuer=demo_issuer,
    )


def parse_smtp_url(raw: str) -> SmtpServer:
    """Read ``scheme://[user:password@]host[:port]?from=address``; ConfigError when it is bad.

    Messages never repeat the URL, which may hold the password.
    """
    try:
        parts = urlsplit(raw)
    except ValueError:
        raise ConfigError(f"SMTP_URL must be a URL such as {SMTP_URL_EXAMPLE}.") from None
    scheme = parts.scheme.lower()
    if scheme not in SMTP_PORTS:
        raise ConfigError(
            "SMTP_URL must start with smtp://, smtps:// or smtp+starttls://, "
            f"such as {SMTP_URL_EXAMPLE}."
        )
    try:
        port = SMTP_PORTS[scheme] if parts.port is None else parts.port
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise ConfigError("SMTP_URL must have a port between 1 and 65535.")
    if not parts.hostname:
        raise ConfigError(f"SMTP_URL must name the mail server, such as {SMTP_URL_EXAMPLE}.")
    if parts.path not in ("", "/") or parts.fragment:
        raise ConfigError(
            f"SMTP_URL must not have a path or a fragment, such as {SMTP_URL_EXAMPLE}."
        )
    query = parse_qs(parts.query, keep_blank_values=True)
    senders = query.pop("from", [])
    if query or len(senders) != 1 or not _MAIL_ADDRESS.fullmatch(senders[0]):
        raise ConfigError(
            "SMTP_URL must end with ?from= and the address emails are sent from, "
            f"such as {SMTP_URL_EXAMPLE}."
        )
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if (username is None) != (password is None):
        raise ConfigError("SMTP_URL must give both a user name and a password, or neither.")
    server = SmtpServer(scheme, parts.hostname, port, username, password, senders[0])
    if password is not None and scheme == "smtp" and not server.loopback:
        raise ConfigError(
            "SMTP_URL must use smtps:// or smtp+starttls:// when it carries a password, "
            "unless the server is on 127.0.0.1 or localhost."
        )
    return server


def _portal_url(environ: Mapping[str, str], env: str, port: int) -> str:
    """The portal's public address; development serves on the loopback, production on https."""
    raw = _text(environ, "PORTAL_URL")
    production = env == "production"
    if raw is None:
        if production:
            raise ConfigError(
                "PORTAL_URL must be set when PORTAL_ENV=production: the portal's public "
                "address that links in emails point to, such as https://madoguchi.city.example."
            )
        return f"http://127.0.0.1:{port}"
    text = raw.rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(
            "PORTAL_URL must be the portal's public address, such as "
            f"https://madoguchi.city.example, not {text!r}."
        )
    if production and parts.scheme != "https":
        raise ConfigError(f"PORTAL_URL must be an https address in production, not {text!r}.")
    return text


def _smtp_url(environ: Mapping[str, str], env: str) -> str:
    """Return a checked SMTP_URL, or "" for the development outbox; production needs one."""
    raw = _text(environ, "SMTP_URL")
    if raw is None:
        if env == "production":
            raise ConfigError(
                "SMTP_URL must be set when PORTAL_ENV=production: the mail server emails "
                f"to residents go through, such as {SMTP_URL_EXAMPLE}."
            )
        return ""
    parse_smtp_url(raw)
    return raw


def _rate_limits(environ: Mapping[str, str]) -> RateLimitSettings:
    """Read the rate limits; they are on unless TESTING=1, where a test turns them on."""
    storage_uri = _text(environ, "RATELIMIT_STORAGE_URI") or "memory://"
    scheme = storage_uri.split("://", 1)[0] if "://" in storage_uri else ""
    # Messages never repeat the URI, which may hold a password.
    if scheme not in limits.storage.SCHEMES or scheme.startswith("async+"):
        raise ConfigError(
            "RATELIMIT_STORAGE_URI must be memory:// or the URL of a shared store such as "
            "redis://redis.city.example:6379/0."
        )
    chosen = {}
    for name, default in RATE_LIMITS.items():
        value = _text(environ, name) or default
        try:
            parsed = limits.parse_many(value)
        except ValueError:
            parsed = []
        if not parsed or any(item.amount < 1 for item in parsed):
            raise ConfigError(f"{name} must be limits such as {default!r}, not {value!r}.")
        chosen[name] = value
    return RateLimitSettings(
        enabled=_flag(environ, "RATELIMIT_ENABLED", default=_text(environ, "TESTING") != "1"),
        storage_uri=storage_uri,
        limits=chosen,
    )


def _my_number_keys(environ: Mapping[str, str], env: str, instance_path: Path) -> tuple[str, ...]:
    """The keys that seal My Numbers at rest (MY_NUMBER_KEYS, newest first, comma-separated).

    Production must set them; development keeps a generated key in the instance folder.
    Listing an old key after a new one keeps what it sealed readable while keys rotate.
    """
    raw = _text(environ, "MY_NUMBER_KEYS")
    if raw is None:
        if env == "production":
            raise ConfigError(
                "MY_NUMBER_KEYS must be set when PORTAL_ENV=production; generate one with: "
                "python3 -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'."
            )
        raw = development_file(
            instance_path, "development-my-number-key", lambda: Fernet.generate_key().decode()
        )
    keys = tuple(key.strip() for key in raw.split(",") if key.strip())
    for number, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            raise ConfigError(
                f"MY_NUMBER_KEYS: key {number} is not a Fernet key (32 bytes, URL-safe base64)."
            ) from None
    if not keys:
        raise ConfigError("MY_NUMBER_KEYS must hold at least one key.")
    return keys


def _job_queue(environ: Mapping[str, str]) -> JobQueueSettings:
    """Read the broker JOBS_ENGINE=celery publishes to (required there) and the relay period."""
    raw = _text(environ, "CELERY_BROKER_URL")
    engine = _text(environ, "JOBS_ENGINE")
    if raw is None:
        if engine == "celery":
            raise ConfigError(
                "CELERY_BROKER_URL must be set when JOBS_ENGINE=celery: the Redis server "
                f"jobs are handed to, such as {CELERY_BROKER_EXAMPLE}."
            )
        raw = ""
    else:
        # Messages never repeat the URL, which may hold a password.
        try:
            parts = urlsplit(raw)
            _ = parts.port  # raises ValueError for a port that is not a number up to 65535
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in CELERY_BROKER_SCHEMES or not parts.hostname:
            raise ConfigError(
                "CELERY_BROKER_URL must be a redis:// or rediss:// URL naming the server "
                f"(and a port up to 65535), such as {CELERY_BROKER_EXAMPLE}."
            )
    return JobQueueSettings(
        engine=engine or "",
        celery_broker_url=raw,
        relay_seconds=_integer(environ, "JOBS_RELAY_SECONDS", 10, 1, 3600),
    )


def load_settings(environ: Mapping[str, str], instance_path: Path) -> Settings:
    """Validate the environment and return the settings, or raise ConfigError."""
    env = _text(environ, "PORTAL_ENV") or "development"
    if env not in ENVIRONMENTS:
        raise ConfigError(f"PORTAL_ENV must be 'development' or 'production', not {env!r}.")

    timezone = _text(environ, "PORTAL_TIMEZONE") or "Asia/Tokyo"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"PORTAL_TIMEZONE must be an IANA time zone such as Asia/Tokyo, not {timezone!r}."
        ) from None

    log_level = (_text(environ, "LOG_LEVEL") or "INFO").upper()
    if log_level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {log_level!r}.")

    secret_key = _secret_key(environ, env, instance_path)
    port = _integer(environ, "PORT", 5000, 1, 65535)
    return Settings(
        env=env,
        secret_key=secret_key,
        database_url=_database_url(environ, instance_path),
        port=port,
        timezone=timezone,
        max_upload_mb=_integer(environ, "MAX_UPLOAD_MB", 20, 1, 200),
        log_level=log_level,
        identity=_identity(environ, env, port, instance_path),
        smtp_url=_smtp_url(environ, env),
        portal_url=_portal_url(environ, env, port),
        rate_limits=_rate_limits(environ),
        my_number_keys=_my_number_keys(environ, env, instance_path),
        jobs=_job_queue(environ),
        proxy_fix_hops=_integer(environ, "PROXY_FIX_HOPS", 0, 0, 5),
    )
