"""Mail senders: SMTP_URL is checked at start, smtp sends over the wire, outbox keeps files."""

from __future__ import annotations

import multiprocessing
import os
import socket
import time
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path

import pytest
from flask import Flask

from portal.config import ConfigError, load_settings, parse_smtp_url
from portal.notifications.mail import (
    SMTP_TIMEOUT_SECONDS,
    MailNotSent,
    OutboxSender,
    SmtpSender,
    mail_sender,
    new_message,
    readiness,
)
from tests.notifications.support import HOST, LocalSmtpServer, make_authority
from tests.test_config import PRODUCTION

FROM = "noreply@city.example"
TO = "hanako@example.jp"
SUBJECT = "申請を受け付けました（MD-2026-000123）"
BODY = "鈴木 花子 様\n\n受付番号: MD-2026-000123\n"


def _message(subject: str = SUBJECT, to: str = TO) -> EmailMessage:
    message = new_message()
    message["Subject"] = subject
    message["From"] = Address("窓口市 オンライン手続", addr_spec=FROM)
    message["To"] = to
    message.set_content(BODY, charset="utf-8")
    return message


# --- SMTP_URL -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"smtp://127.0.0.1?from={FROM}", ("smtp", "127.0.0.1", 25, None, None)),
        (f"smtps://mail.city.example?from={FROM}", ("smtps", "mail.city.example", 465, None, None)),
        (
            f"smtp+starttls://portal%40city:p%40ss%3Aword@mail.city.example?from={FROM}",
            ("smtp+starttls", "mail.city.example", 587, "portal@city", "p@ss:word"),
        ),
        (f"SMTP://relay.city.lan:2525/?from={FROM}", ("smtp", "relay.city.lan", 2525, None, None)),
        (
            f"smtp://user:secret@localhost:1025?from={FROM}",
            ("smtp", "localhost", 1025, "user", "secret"),
        ),
    ],
)
def test_smtp_url_names_server_port_login_and_sender(url, expected):
    server = parse_smtp_url(url)
    assert (server.scheme, server.host, server.port, server.username, server.password) == expected
    assert server.sender == FROM
    assert "secret" not in repr(server) and "word" not in repr(server)


@pytest.mark.parametrize(
    "url",
    [
        f"http://mail.city.example?from={FROM}",
        f"smtp://?from={FROM}",
        f"smtp://mail.city.example:99999?from={FROM}",
        f"smtp://mail.city.example:port?from={FROM}",
        f"smtp://mail.city.example/inbox?from={FROM}",
        "smtp://mail.city.example",
        "smtp://mail.city.example?from=not-an-address",
        f"smtp://mail.city.example?from={FROM}&from=other@city.example",
        f"smtp://mail.city.example?from={FROM}&debug=1",
        f"smtp://user@mail.city.example?from={FROM}",
        f"smtp://user:hunter2-secret@mail.city.example?from={FROM}",
    ],
)
def test_a_bad_smtp_url_stops_the_start_without_repeating_it(url):
    with pytest.raises(ConfigError) as raised:
        parse_smtp_url(url)
    message = str(raised.value)
    assert message.startswith("SMTP_URL")
    assert "hunter2" not in message


def test_production_refuses_to_start_without_smtp_url(tmp_path):
    environ = {key: value for key, value in PRODUCTION.items() if key != "SMTP_URL"}
    with pytest.raises(ConfigError, match=r"^SMTP_URL must be set when PORTAL_ENV=production"):
        load_settings(environ, tmp_path)
    url = f"smtps://portal:pw@mail.city.example?from={FROM}"
    settings = load_settings({**environ, "SMTP_URL": url}, tmp_path)
    assert settings.flask_config()["SMTP_URL"] == url
    assert "pw@" not in repr(settings)
    assert load_settings({}, tmp_path).flask_config()["SMTP_URL"] == ""


def _bare_app(tmp_path: Path, **config: object) -> Flask:
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.config.update({"PORTAL_ENV": "development", **config})
    return app


def test_the_sender_is_chosen_by_smtp_url(tmp_path):
    smtp = mail_sender(_bare_app(tmp_path, SMTP_URL=f"smtps://mail.city.example?from={FROM}"))
    assert isinstance(smtp, SmtpSender)
    assert (smtp.code, smtp.from_address, smtp.timeout) == ("smtp", FROM, SMTP_TIMEOUT_SECONDS)
    assert SMTP_TIMEOUT_SECONDS == 10
    outbox = mail_sender(_bare_app(tmp_path, SMTP_URL=""))
    assert isinstance(outbox, OutboxSender)
    assert outbox.folder == tmp_path / "instance" / "outbox"
    with pytest.raises(ConfigError, match="SMTP_URL"):
        mail_sender(_bare_app(tmp_path, PORTAL_ENV="production", SMTP_URL=""))


# --- smtp -------------------------------------------------------------------------


@pytest.fixture
def smtp_server(request):
    """A started local SMTP server; parametrise indirectly with its options."""
    server = LocalSmtpServer(**getattr(request, "param", {})).start()
    yield server
    server.stop()


def _sender(
    server: LocalSmtpServer, scheme: str = "smtp", login: str = "", **options
) -> SmtpSender:
    return SmtpSender(
        parse_smtp_url(f"{scheme}://{login}{HOST}:{server.port}?from={FROM}"), **options
    )


def test_smtp_delivers_a_japanese_message_as_plain_ascii_on_the_wire(smtp_server):
    _sender(smtp_server).send(_message())
    [received] = smtp_server.received
    assert (received.mail_from, received.rcpt_to) == (FROM, (TO,))
    assert received.data.isascii(), "headers are RFC 2047 encoded and the body is transfer-encoded"
    assert b"Subject: =?utf-8?" in received.data
    parsed = received.parsed()
    assert parsed["Subject"] == SUBJECT
    assert parsed["From"].addresses[0].display_name == "窓口市 オンライン手続"
    assert parsed.get_content_charset() == "utf-8"
    assert parsed.get_content().replace("\r\n", "\n") == BODY


def test_smtp_logs_in_only_after_starttls(tmp_path):
    authority = make_authority(tmp_path)
    server = LocalSmtpServer(
        tls_context=authority.server_context(), login=("portal", "s3cret")
    ).start()
    try:
        _sender(
            server,
            "smtp+starttls",
            "portal:s3cret@",
            tls_context=authority.client_context(),
        ).send(_message())
    finally:
        server.stop()
    assert server.options.logins == ["portal"]
    assert [received.tls for received in server.received] == [True]


def test_smtps_speaks_tls_from_the_first_byte(tmp_path):
    authority = make_authority(tmp_path)
    server = LocalSmtpServer(tls_context=authority.server_context(), implicit_tls=True).start()
    try:
        _sender(server, "smtps", tls_context=authority.client_context()).send(_message())
    finally:
        server.stop()
    assert [received.tls for received in server.received] == [True]


def test_starttls_never_falls_back_to_plain(tmp_path):
    authority = make_authority(tmp_path)
    server = LocalSmtpServer(tls_context=authority.server_context(), offer_starttls=False).start()
    try:
        with pytest.raises(MailNotSent, match="not reached: SMTPNotSupportedError"):
            _sender(server, "smtp+starttls", tls_context=authority.client_context()).send(
                _message()
            )
    finally:
        server.stop()
    assert server.received == []


def test_a_certificate_the_system_does_not_trust_is_refused(tmp_path):
    authority = make_authority(tmp_path)
    server = LocalSmtpServer(tls_context=authority.server_context(), implicit_tls=True).start()
    try:
        with pytest.raises(MailNotSent, match="SSLCertVerificationError"):
            _sender(server, "smtps").send(_message())
    finally:
        server.stop()
    assert server.received == []


@pytest.mark.parametrize("smtp_server", [{"login": ("portal", "right")}], indirect=True)
def test_a_wrong_password_says_what_the_server_answered(smtp_server):
    with pytest.raises(MailNotSent, match="answered 535"):
        _sender(smtp_server, login="portal:wrong@").send(_message())
    assert smtp_server.received == []


@pytest.mark.parametrize("smtp_server", [{"refuse_recipients": True}], indirect=True)
def test_a_refused_recipient_is_reported_without_the_address(smtp_server):
    with pytest.raises(MailNotSent) as raised:
        _sender(smtp_server).send(_message())
    assert "refused the recipient" in str(raised.value)
    assert TO not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_a_server_that_is_down_or_silent_fails_the_send():
    down = LocalSmtpServer()  # bound, not listening: connections are refused
    try:
        with pytest.raises(MailNotSent, match="not reached: ConnectionRefusedError"):
            _sender(down).send(_message())
    finally:
        down.stop()
    with socket.create_server((HOST, 0)) as silent:  # listens, never greets
        sender = SmtpSender(
            parse_smtp_url(f"smtp://{HOST}:{silent.getsockname()[1]}?from={FROM}"), timeout=0.3
        )
        started = time.monotonic()
        with pytest.raises(MailNotSent, match="not reached"):
            sender.send(_message())
        assert time.monotonic() - started < 5, "the timeout ends the wait"


def test_smtp_readiness_does_not_contact_the_server():
    down = LocalSmtpServer()
    try:
        result = readiness(_sender(down, login="portal:pw@"))
    finally:
        down.stop()
    assert result.ok
    assert result.detail == f"smtp://{HOST}:{down.port} with a login"


# --- outbox -----------------------------------------------------------------------


def test_the_outbox_keeps_each_message_as_a_private_eml_file(tmp_path):
    outbox = OutboxSender(tmp_path / "outbox")
    outbox.send(_message("first"))
    outbox.send(_message("second", to="taro@example.jp"))
    names = outbox.names()
    assert len(names) == 2 and all(name.endswith(".eml") for name in names)
    newest, oldest = (outbox.read(name) for name in names)
    assert (newest.subject, newest.to) == ("second", "taro@example.jp")
    assert (oldest.subject, oldest.body) == ("first", BODY)
    assert oldest.kept_at <= newest.kept_at
    for name in names:
        path = outbox.folder / name
        assert path.stat().st_mode & 0o077 == 0
        # The bytes smtplib would send: encoded headers, transfer-encoded body, CRLF.
        assert path.read_bytes().isascii()
        assert b"\r\n" in path.read_bytes()
    assert outbox.folder.stat().st_mode & 0o077 == 0


def test_the_outbox_reads_only_names_it_made(tmp_path):
    outbox = OutboxSender(tmp_path / "outbox")
    outbox.send(_message())
    (outbox.folder / "notes.txt").write_text("not mail")
    (tmp_path / "secret.eml").write_text("Subject: outside\n\nno")
    assert len(outbox.names()) == 1
    for name in ("notes.txt", "../secret.eml", "secret.eml", ".partial"):
        with pytest.raises(FileNotFoundError):
            outbox.read(name)


def _send_many(folder: str, count: int) -> None:
    outbox = OutboxSender(Path(folder))
    for number in range(count):
        outbox.send(_message(f"{os.getpid()}-{number}"))


def test_several_processes_share_one_outbox_without_losing_a_message(tmp_path):
    folder = tmp_path / "outbox"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_send_many, args=(str(folder), 20)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    outbox = OutboxSender(folder)
    names = outbox.names()
    assert len(names) == 60
    assert len({outbox.read(name).subject for name in names}) == 60
    assert names == sorted(names, reverse=True)
    assert sorted(path.name for path in folder.iterdir()) == sorted(names)  # no partial file


def test_outbox_readiness_reports_a_folder_it_cannot_use(tmp_path):
    (tmp_path / "taken").write_text("a file where the folder should be")
    broken = readiness(OutboxSender(tmp_path / "taken" / "outbox"))
    assert not broken.ok
    assert "cannot be created" in broken.detail
    working = readiness(OutboxSender(tmp_path / "outbox"))
    assert working.ok
    assert "nothing is sent" in working.detail
