"""A real SMTP server on 127.0.0.1 for the mail tests, and a test certificate authority.

The server is built on the standard library's ``socketserver`` and speaks what smtplib
needs: EHLO/HELO, STARTTLS, TLS from the first byte, AUTH PLAIN, MAIL, RCPT, DATA,
RSET, NOOP and QUIT. It keeps every message it accepts, byte for byte, so a test sees
exactly what went over the wire. It can be bound before it listens, which is how a
test stands for a mail server that is down: connections are refused until ``start``.
"""

from __future__ import annotations

import base64
import datetime
import functools
import ipaddress
import socketserver
import ssl
import threading
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    """One message the server accepted: the envelope, the raw bytes after DATA, over TLS?"""

    mail_from: str
    rcpt_to: tuple[str, ...]
    data: bytes
    tls: bool

    def parsed(self) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(self.data)  # type: ignore[return-value]


@dataclass
class ServerOptions:
    tls_context: ssl.SSLContext | None = None
    implicit_tls: bool = False
    offer_starttls: bool = True
    login: tuple[str, str] | None = None
    refuse_recipients: bool = False
    received: list[Received] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)


class _SmtpSession(socketserver.StreamRequestHandler):
    server: _Server

    def _reply(self, *lines: str) -> None:
        text = "".join(
            f"{line[:3]}{'-' if index < len(lines) - 1 else ' '}{line[4:]}\r\n"
            for index, line in enumerate(lines)
        )
        self.connection.sendall(text.encode("ascii"))

    def _start_tls(self) -> None:
        assert self.server.options.tls_context is not None
        self.connection = self.server.options.tls_context.wrap_socket(
            self.connection, server_side=True
        )
        self.rfile = self.connection.makefile("rb")

    def _line(self) -> str | None:
        raw = self.rfile.readline(10_000)
        return raw.decode("ascii").rstrip("\r\n") if raw else None

    def _data(self) -> bytes:
        lines = []
        while True:
            raw = self.rfile.readline(100_000)
            if raw in (b".\r\n", b""):
                return b"".join(lines)
            lines.append(raw[1:] if raw.startswith(b"..") else raw)

    def handle(self) -> None:
        options = self.server.options
        tls = options.implicit_tls
        if tls:
            self._start_tls()
        self._reply("220 test.smtp ESMTP ready")
        authenticated = options.login is None
        mail_from: str | None = None
        recipients: list[str] = []
        while (line := self._line()) is not None:
            verb, _, argument = line.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                extensions = ["250 test.smtp", "250 8BITMIME"]
                if options.tls_context and options.offer_starttls and not tls:
                    extensions.append("250 STARTTLS")
                if options.login:
                    extensions.append("250 AUTH PLAIN")
                self._reply(*extensions)
            elif verb == "HELO" or verb == "NOOP":
                self._reply("250 ok")
            elif verb == "STARTTLS" and options.tls_context and not tls:
                self._reply("220 go ahead")
                self._start_tls()
                tls = True
            elif verb == "AUTH" and options.login:
                mechanism, _, initial = argument.partition(" ")
                if mechanism.upper() != "PLAIN":
                    self._reply("504 only PLAIN")
                    continue
                if not initial:
                    self._reply("334 ")
                    initial = self._line() or ""
                _, user, password = base64.b64decode(initial).decode().split("\0")
                authenticated = (user, password) == options.login
                options.logins.append(user)
                self._reply("235 welcome" if authenticated else "535 bad credentials")
            elif verb == "MAIL":
                if not authenticated:
                    self._reply("530 authentication required")
                    continue
                mail_from = argument.split(":", 1)[1].split()[0].strip("<>")
                recipients = []
                self._reply("250 ok")
            elif verb == "RCPT":
                if options.refuse_recipients:
                    self._reply("550 no such user here")
                    continue
                recipients.append(argument.split(":", 1)[1].strip().strip("<>"))
                self._reply("250 ok")
            elif verb == "DATA" and mail_from is not None and recipients:
                self._reply("354 end with <CRLF>.<CRLF>")
                options.received.append(Received(mail_from, tuple(recipients), self._data(), tls))
                self._reply("250 queued")
            elif verb == "RSET":
                mail_from, recipients = None, []
                self._reply("250 ok")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("502 not here")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, options: ServerOptions) -> None:
        super().__init__((HOST, 0), _SmtpSession, bind_and_activate=False)
        self.options = options


class LocalSmtpServer:
    """A local SMTP server: bound on creation, listening from ``start`` to ``stop``."""

    def __init__(self, **options: object) -> None:
        self.options = ServerOptions(**options)  # type: ignore[arg-type]
        self._server = _Server(self.options)
        self._server.server_bind()
        self.port: int = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def received(self) -> list[Received]:
        return self.options.received

    def start(self) -> LocalSmtpServer:
        self._server.server_activate()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
        self._server.server_close()


@dataclass(frozen=True)
class Authority:
    """A certificate authority made for the tests, and a server certificate it signed."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def client_context(self) -> ssl.SSLContext:
        """What the portal would use if this authority were one the system trusts."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@functools.cache
def _authority_pem() -> tuple[bytes, bytes, bytes]:
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Madoguchi test CA"))
        .issuer_name(_name("Madoguchi test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(_name(HOST))
        .issuer_name(ca.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = server_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    pem = serialization.Encoding.PEM
    return ca.public_bytes(pem), server.public_bytes(pem), key_pem


def make_authority(folder: Path) -> Authority:
    """Write the test authority's certificate, and the server's certificate and key."""
    ca_pem, cert_pem, key_pem = _authority_pem()
    files = Authority(folder / "ca.pem", folder / "server.pem", folder / "server-key.pem")
    files.ca_file.write_bytes(ca_pem)
    files.cert_file.write_bytes(cert_pem)
    files.key_file.write_bytes(key_pem)
    return files
