"""Mail senders: how an email leaves the portal, chosen by ``SMTP_URL``.

One small base class with a stable ``code`` and ``check_config()`` (shown on ``/readyz``
as "mail"), and two adapters. ``smtp`` hands each message to the server ``SMTP_URL``
names: ``smtp://`` (plain, for a relay on this machine or the city's network),
``smtps://`` (TLS from the first byte) or ``smtp+starttls://`` (upgraded with STARTTLS,
never falling back to plain). ``outbox``, the development default when ``SMTP_URL`` is
empty, sends nothing: it keeps each message as an ``.eml`` file in ``instance/outbox``
for the ``/dev/outbox`` page. Production refuses to start without ``SMTP_URL``.

Errors never carry an address or a message's content: they end up in the jobs table
and the logs.
"""

from __future__ import annotations

import os
import re
import secrets
import smtplib
import ssl
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import ClassVar

from flask import Flask

from portal import health
from portal.config import ConfigError, SmtpServer, parse_smtp_url
from portal.database import utcnow

SMTP_TIMEOUT_SECONDS = 10.0
OUTBOX_FOLDER = "outbox"
# The outbox never sends, so its From may be an address that can never exist (RFC 2606).
OUTBOX_FROM = "noreply@madoguchi.invalid"
# A UTC time to the microsecond first, so that names sort by when the message was kept;
# the process id and a random part keep names apart between processes and threads.
_OUTBOX_NAME = re.compile(r"(?P<stamp>\d{8}T\d{12}Z)-\d{1,10}-[0-9a-f]{16}\.eml")
_STAMP_FORMAT = "%Y%m%dT%H%M%S%fZ"
# Headers are RFC 2047 encoded and bodies quoted-printable or base64, so every byte on
# the wire is ASCII and no server on the way has to support 8BITMIME or SMTPUTF8.
MESSAGE_POLICY = policy.SMTP.clone(cte_type="7bit")


class MailNotSent(Exception):
    """A message could not be handed over; the text names neither address nor content."""


def mail_address(text: str) -> Address | None:
    """The address in ``text`` if it is one a message can be sent to, else None."""
    try:
        address = Address(addr_spec=text.strip())
    except (ValueError, IndexError, HeaderParseError):
        return None
    return address if address.username and address.domain else None


def new_message() -> EmailMessage:
    """An empty message that encodes whatever it is given into 7-bit ASCII with CRLF."""
    return EmailMessage(policy=MESSAGE_POLICY)


class MailSender(ABC):
    """Hands finished messages over for delivery; the From address is the sender's."""

    code: ClassVar[str]

    def __init__(self, from_address: str) -> None:
        self.from_address = from_address

    @abstractmethod
    def send(self, message: EmailMessage) -> None:
        """Hand ``message`` over, or raise (MailNotSent, OSError) so the job tries again."""

    @abstractmethod
    def check_config(self) -> list[str]:
        """What stops mail from leaving, for operators and without secrets; empty when fine."""

    @abstractmethod
    def describe(self) -> str:
        """Where mail goes, for operators and without secrets."""


class SmtpSender(MailSender):
    """Sends through a mail server with smtplib, logging in when SMTP_URL has a user."""

    code = "smtp"

    def __init__(
        self,
        server: SmtpServer,
        *,
        tls_context: ssl.SSLContext | None = None,
        timeout: float = SMTP_TIMEOUT_SECONDS,
    ) -> None:
        super().__init__(server.sender)
        self.server = server
        # Certificates are checked against the system's CAs unless a context is given.
        self.tls_context = tls_context or ssl.create_default_context()
        self.timeout = timeout

    def check_config(self) -> list[str]:
        """Nothing beyond what was checked at start: the server is not contacted here.

        A mail server that is down must not take the portal out of service; the emails
        wait in the jobs queue and go out once it is back.
        """
        return []

    def describe(self) -> str:
        login = " with a login" if self.server.username is not None else ""
        return f"{self.server.scheme}://{self.server.host}:{self.server.port}{login}"

    def _connect(self) -> smtplib.SMTP:
        server = self.server
        if server.scheme == "smtps":
            return smtplib.SMTP_SSL(
                server.host, server.port, timeout=self.timeout, context=self.tls_context
            )
        client = smtplib.SMTP(server.host, server.port, timeout=self.timeout)
        if server.scheme == "smtp+starttls":
            try:
                client.starttls(context=self.tls_context)
            except BaseException:
                client.close()
                raise
        return client

    def send(self, message: EmailMessage) -> None:
        # Each failure is re-raised without its cause: smtplib's exceptions can hold the
        # recipient's address, and jobs keep and log what their handler raised.
        try:
            with self._connect() as client:
                if self.server.username is not None:
                    client.login(self.server.username, self.server.password or "")
                client.send_message(message)
        except smtplib.SMTPRecipientsRefused:
            raise MailNotSent("the mail server refused the recipient") from None
        except smtplib.SMTPResponseException as error:
            raise MailNotSent(f"the mail server answered {error.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as error:
            raise MailNotSent(f"the mail server was not reached: {type(error).__name__}") from None


@dataclass(frozen=True)
class OutboxMessage:
    """One message kept in the development outbox, read back from its file."""

    name: str
    kept_at: datetime
    to: str
    subject: str
    body: str


class OutboxSender(MailSender):
    """Keeps every message as a file instead of sending it (development)."""

    code = "outbox"

    def __init__(self, folder: Path, from_address: str = OUTBOX_FROM) -> None:
        super().__init__(from_address)
        self.folder = folder

    def check_config(self) -> list[str]:
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            return [f"{self.folder} cannot be created: {error.strerror}"]
        if not os.access(self.folder, os.R_OK | os.W_OK | os.X_OK):
            return [f"{self.folder} is not readable and writable"]
        return []

    def describe(self) -> str:
        return f"development outbox {self.folder}, nothing is sent"

    def send(self, message: EmailMessage) -> None:
        data = message.as_bytes(policy=MESSAGE_POLICY)
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = f"{utcnow():{_STAMP_FORMAT}}-{os.getpid()}-{secrets.token_hex(8)}.eml"
        # Written beside its final name and renamed, so the outbox page never reads a
        # half-written file; the random part keeps two processes from sharing a name.
        temporary = self.folder / f".{name}.partial"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
            os.replace(temporary, self.folder / name)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def names(self) -> list[str]:
        """The names of the kept messages, newest first."""
        if not self.folder.is_dir():
            return []
        names = (entry.name for entry in os.scandir(self.folder) if entry.is_file())
        return sorted((name for name in names if _OUTBOX_NAME.fullmatch(name)), reverse=True)

    def read(self, name: str) -> OutboxMessage:
        """The message kept under ``name``; FileNotFoundError for any other name."""
        match = _OUTBOX_NAME.fullmatch(name)
        if match is None:
            raise FileNotFoundError(name)
        with (self.folder / name).open("rb") as handle:
            message = BytesParser(policy=policy.default).parse(handle)
        body = message.get_body(preferencelist=("plain",))
        return OutboxMessage(
            name=name,
            kept_at=datetime.strptime(match["stamp"], _STAMP_FORMAT).replace(tzinfo=UTC),
            to=str(message["To"] or ""),
            subject=str(message["Subject"] or ""),
            # Text is CRLF on the wire (and inside base64); pages show it with plain newlines.
            body=body.get_content().replace("\r\n", "\n") if body is not None else "",
        )


def mail_sender(app: Flask) -> MailSender:
    """Build the sender ``SMTP_URL`` names, or the development outbox when it is empty."""
    raw = str(app.config.get("SMTP_URL") or "").strip()
    if raw:
        return SmtpSender(parse_smtp_url(raw))
    if app.config["PORTAL_ENV"] == "production":
        raise ConfigError("SMTP_URL must be set when PORTAL_ENV=production.")
    return OutboxSender(Path(app.instance_path) / OUTBOX_FOLDER)


def readiness(sender: MailSender) -> health.CheckResult:
    """The sender's configuration problems as a readiness result."""
    problems = sender.check_config()
    return health.CheckResult(not problems, "; ".join(problems) or sender.describe())
