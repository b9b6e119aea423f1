"""Read the portal's settings from the environment and refuse a start on bad values.

Every setting is documented in the README's configuration table. A missing or bad
value stops the start with one sentence that names the variable, so an operator never
has to read a traceback to find out what to fix.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ENVIRONMENTS = ("development", "production")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
MIN_SECRET_KEY_LENGTH = 32


class ConfigError(Exception):
    """A setting is missing or invalid; the message names the variable."""


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

    return Settings(
        env=env,
        secret_key=_secret_key(environ, env, instance_path),
        database_url=_database_url(environ, instance_path),
        port=_integer(environ, "PORT", 5000, 1, 65535),
        timezone=timezone,
        max_upload_mb=_integer(environ, "MAX_UPLOAD_MB", 20, 1, 200),
        log_level=log_level,
    )
