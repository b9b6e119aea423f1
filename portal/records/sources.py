"""Record sources: where the portal reads the registers it pre-fills forms from.

One small base class, one stable ``code`` per adapter, typed options built from the
settings, and ``check_config()`` for the readiness check and the admin health page.
``RECORDS_ADAPTER`` picks the adapter: ``demo`` (the default) reads the demo
registers in the portal's own database, ``http`` asks a register API that speaks the
contract in ``docs/register-api.openapi.json``.

Whatever goes wrong remotely, ``fetch`` raises only ``RegisterUnavailable``: callers
tell the resident plainly and let them type the values in.
"""

from __future__ import annotations

import logging
import os
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from ipaddress import ip_address
from typing import ClassVar
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from portal import health
from portal.config import ConfigError
from portal.database import utcnow
from portal.extensions import db
from portal.records import http_client, services
from portal.records.circuit import CircuitBreaker
from portal.records.extract import (
    RegisterExtract,
    RegisterUnavailable,
    checked_person_key,
    checked_sources,
)
from portal.records.models import Person
from portal.records.schema import ErrorDocument, ExtractDocument

log = logging.getLogger("portal.records")

SETTINGS = (
    "RECORDS_ADAPTER",
    "RECORDS_API_URL",
    "RECORDS_API_TOKEN",
    "RECORDS_TIMEOUT_SECONDS",
    "DEMO_REGISTERS_API",
)
EXTENSION_KEY = "madoguchi.records"
DEFAULT_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class SourceOptions:
    """Options common to every adapter, and how they are read from the settings."""

    timezone: str

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, str | None], *, timezone: str, production: bool
    ) -> SourceOptions:
        """Build and check the options; raise ConfigError naming a bad variable."""
        return cls(timezone=timezone)


class RecordSource(ABC):
    """An adapter that reads a person's records from the city's registers."""

    code: ClassVar[str]
    Options: ClassVar[type[SourceOptions]] = SourceOptions

    def __init__(self, options: SourceOptions) -> None:
        self.options = options

    def today(self, now: datetime) -> date:
        """The city's date at ``now`` (powers of attorney and allowances end on dates)."""
        return now.astimezone(ZoneInfo(self.options.timezone)).date()

    @abstractmethod
    def check_config(self) -> health.CheckResult:
        """Say whether the adapter is set up to work, without personal data in the detail."""

    @abstractmethod
    def fetch(self, person_key: str, sources: Collection[str]) -> RegisterExtract:
        """Fetch a person's records from ``sources``; RegisterUnavailable if they cannot be read.

        ValueError for an unknown register or a malformed person key: asking for either
        is a programming mistake, not a register's trouble.
        """


class DemoRecordSource(RecordSource):
    """Reads the demo registers in the portal's database (seeded by ``flask demo seed``)."""

    code = "demo"

    def check_config(self) -> health.CheckResult:
        """Check the demo registers can be read and say how many persons they hold."""
        try:
            with db.engine.connect() as connection:
                count = connection.scalar(select(func.count()).select_from(Person))
        except SQLAlchemyError as error:
            return health.CheckResult(
                False, f"demo registers unreadable: {type(error.orig or error).__name__}"
            )
        if not count:
            return health.CheckResult(True, "demo registers empty; run `flask demo seed`")
        return health.CheckResult(True, f"demo registers, {count} persons")

    def fetch(self, person_key: str, sources: Collection[str]) -> RegisterExtract:
        checked_person_key(person_key)
        wanted = checked_sources(sources)
        now = utcnow()
        try:
            # A savepoint keeps a failed read from spoiling the caller's transaction.
            with db.session.begin_nested():
                document = services.demo_extract(
                    db.session, person_key, wanted, now=now, today=self.today(now)
                )
        except SQLAlchemyError as error:
            raise RegisterUnavailable(",".join(wanted), "demo registers unreadable") from error
        if document is None:
            return RegisterExtract.empty(person_key, wanted, now)
        return RegisterExtract(document)


@dataclass(frozen=True)
class HttpOptions(SourceOptions):
    """Where the register API is, how to authenticate, and how long to wait."""

    url: str
    token: str
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    max_retries: int = 2
    backoff_seconds: float = 0.2
    max_response_bytes: int = 1024 * 1024
    failure_threshold: int = 5
    reset_after_seconds: float = 30.0

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, str | None], *, timezone: str, production: bool
    ) -> HttpOptions:
        url = (settings.get("RECORDS_API_URL") or "").rstrip("/")
        token = settings.get("RECORDS_API_TOKEN") or ""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                "RECORDS_API_URL must be the http(s) address of the register API when "
                f"RECORDS_ADAPTER=http, not {url or 'empty'!r}."
            )
        if parts.query or parts.fragment:
            raise ConfigError("RECORDS_API_URL must not carry a query or a fragment.")
        if production and parts.scheme != "https" and not _is_loopback(parts.hostname or ""):
            raise ConfigError(
                "RECORDS_API_URL must use https in production: the answers carry personal data."
            )
        if not token:
            raise ConfigError("RECORDS_API_TOKEN must be set when RECORDS_ADAPTER=http.")
        return cls(
            timezone=timezone,
            url=url,
            token=token,
            timeout_seconds=_timeout(settings.get("RECORDS_TIMEOUT_SECONDS")),
        )


def _timeout(raw: str | None) -> float:
    if raw is None or not raw.strip():
        return DEFAULT_TIMEOUT_SECONDS
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"RECORDS_TIMEOUT_SECONDS must be a number, not {raw!r}.") from None
    if not 0.1 <= value <= 60:
        raise ConfigError(f"RECORDS_TIMEOUT_SECONDS must be between 0.1 and 60, not {raw}.")
    return value


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


class HttpRecordSource(RecordSource):
    """Asks a register API for all the registers wanted in one request per fetch.

    Connection failures and 5xx answers are tried again (at most ``max_retries``
    times, with exponential backoff and jitter); 4xx answers never are. Answers are
    capped in size and validated against the extract schema. A circuit breaker stops
    calling after ``failure_threshold`` failed fetches in a row and lets one trial
    through after ``reset_after_seconds``.
    """

    code = "http"
    Options = HttpOptions

    def __init__(
        self,
        options: SourceOptions,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if not isinstance(options, HttpOptions):
            raise TypeError("HttpRecordSource needs HttpOptions")
        super().__init__(options)
        self.http_options = options
        self.breaker = CircuitBreaker(
            options.failure_threshold, options.reset_after_seconds, clock=clock
        )
        self._sleep = sleep
        self._jitter = jitter

    def check_config(self) -> health.CheckResult:
        """Report the API address and the circuit; a register outage does not fail readiness.

        Residents type values in while a register is down, so taking the portal out of
        service would only make things worse; the detail tells operators what is wrong.
        """
        host = urlsplit(self.http_options.url).hostname
        state = self.breaker.state
        if state == "open":
            wait = self.breaker.seconds_until_retry()
            return health.CheckResult(
                True, f"{host}: not answering, circuit open (next try in {wait:.0f} s)"
            )
        return health.CheckResult(True, f"{host}: circuit {state.replace('_', '-')}")

    def fetch(self, person_key: str, sources: Collection[str]) -> RegisterExtract:
        checked_person_key(person_key)
        wanted = checked_sources(sources)
        if not wanted:
            return RegisterExtract.empty(person_key, wanted, utcnow())
        label = ",".join(wanted)
        if not self.breaker.allow():
            raise RegisterUnavailable(label, "circuit open after repeated failures")
        try:
            extract = self._fetch(person_key, wanted, label)
        except RegisterUnavailable as error:
            self.breaker.record_failure()
            log.warning(
                "register API unavailable", extra={"registers": label, "reason": error.reason}
            )
            raise
        except BaseException:
            # Even a bug must not leave a half-open circuit waiting for its trial for ever.
            self.breaker.record_failure()
            raise
        self.breaker.record_success()
        return extract

    def _fetch(self, person_key: str, wanted: tuple[str, ...], label: str) -> RegisterExtract:
        options = self.http_options
        url = f"{options.url}/persons/{quote(person_key, safe='')}?sources={','.join(wanted)}"
        headers = {"Authorization": f"Bearer {options.token}", "Accept": "application/json"}
        for attempt in range(options.max_retries + 1):
            last_attempt = attempt == options.max_retries
            if attempt:
                self._sleep(self.backoff_delay(attempt))
            try:
                reply = http_client.get(
                    url, headers, options.timeout_seconds, options.max_response_bytes
                )
            except http_client.RemoteError as error:
                if error.retryable and not last_attempt:
                    continue
                raise RegisterUnavailable(label, error.reason) from None
            if reply.status >= 500 and not last_attempt:
                continue
            return self._read(reply, person_key, wanted, label)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def backoff_delay(self, attempt: int) -> float:
        """Seconds before retry ``attempt`` (1, 2, …): doubling each time, plus random jitter."""
        base = self.http_options.backoff_seconds * 2 ** (attempt - 1)
        return base + base * self._jitter()

    def _read(
        self, reply: http_client.Reply, person_key: str, wanted: tuple[str, ...], label: str
    ) -> RegisterExtract:
        if reply.status == 200:
            document = self._document(reply, label)
            present = {extract.source for extract in document.sources}
            if document.person_key != person_key:
                raise RegisterUnavailable(label, "the answer is about another person")
            if present | set(document.missing_sources) != set(wanted):
                raise RegisterUnavailable(label, "the answer does not cover the registers asked")
            return RegisterExtract(document)
        if reply.status == 404 and _error_code(reply) == "unknown_person":
            return RegisterExtract.empty(person_key, wanted, utcnow())
        if reply.status in (401, 403):
            raise RegisterUnavailable(label, f"the register API refused the token ({reply.status})")
        raise RegisterUnavailable(label, f"the register API answered {reply.status}")

    @staticmethod
    def _document(reply: http_client.Reply, label: str) -> ExtractDocument:
        if reply.content_type.split(";")[0].strip().lower() != "application/json":
            raise RegisterUnavailable(label, "the answer is not JSON")
        try:
            return ExtractDocument.model_validate_json(reply.body)
        except ValidationError as error:
            # Pydantic's messages name the rule broken, never the value (input excluded).
            first = error.errors(include_input=False, include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"]) or "the document"
            raise RegisterUnavailable(
                label, f"the answer does not match the schema at {where}: {first['msg']}"
            ) from None


def _error_code(reply: http_client.Reply) -> str | None:
    """The ``error.code`` of an error answer, if it is one."""
    try:
        return ErrorDocument.model_validate_json(reply.body).error.code
    except ValidationError:
        return None


RECORD_SOURCES: dict[str, type[RecordSource]] = {
    DemoRecordSource.code: DemoRecordSource,
    HttpRecordSource.code: HttpRecordSource,
}


def read_settings(app: Flask) -> dict[str, str | None]:
    """The records settings: the app's configuration first, then the environment."""
    settings: dict[str, str | None] = {}
    for name in SETTINGS:
        value = app.config.get(name, os.environ.get(name))
        settings[name] = str(value).strip() if value is not None else None
    return settings


def build_source(app: Flask) -> RecordSource:
    """Build the adapter ``RECORDS_ADAPTER`` names; ConfigError for bad settings."""
    settings = read_settings(app)
    code = settings["RECORDS_ADAPTER"] or DemoRecordSource.code
    if code not in RECORD_SOURCES:
        raise ConfigError(
            f"RECORDS_ADAPTER must be one of {', '.join(sorted(RECORD_SOURCES))}, not {code!r}."
        )
    source_class = RECORD_SOURCES[code]
    options = source_class.Options.from_settings(
        settings,
        timezone=app.config["PORTAL_TIMEZONE"],
        production=app.config["PORTAL_ENV"] == "production",
    )
    return source_class(options)


def demo_api_enabled(app: Flask) -> bool:
    """Serve the demo register API in development, or where ``DEMO_REGISTERS_API=1``."""
    return (
        app.config["PORTAL_ENV"] == "development" or read_settings(app)["DEMO_REGISTERS_API"] == "1"
    )


def init_app(app: Flask) -> None:
    """Build the record source, add its readiness check, and serve the demo API if enabled."""
    from portal.records import api

    source = build_source(app)
    app.extensions[EXTENSION_KEY] = source
    app.config["RECORDS_ADAPTER"] = source.code
    health.register_readiness_check(app, "records", source.check_config)
    if demo_api_enabled(app):
        api.init_app(app, read_settings(app)["RECORDS_API_TOKEN"])


def record_source() -> RecordSource:
    """The record source of the current app."""
    return current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]
