"""One bounded HTTP GET to a register API: a connect timeout, a deadline, a size cap.

Built on the standard library's ``http.client`` so that every limit is explicit:
connecting may take ``timeout`` seconds, and the whole answer (status, headers and
body) must then arrive within another ``timeout`` seconds, so a register that
trickles bytes cannot hold a resident's request. Failures become ``RemoteError``,
which says whether trying again could help.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

CHUNK_BYTES = 64 * 1024


class RemoteError(Exception):
    """The register could not be reached or answered badly; ``reason`` is for operators."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


@dataclass(frozen=True)
class Reply:
    """A complete answer from the register API."""

    status: int
    content_type: str
    body: bytes


def _connection(url: str, timeout: float) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=timeout)
    return http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)


def _target(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def get(url: str, headers: Mapping[str, str], timeout: float, max_bytes: int) -> Reply:
    """GET ``url`` once; raise RemoteError on a connection problem, a timeout or a huge answer.

    Connection failures (refused, reset, closed early) are retryable; a register too
    slow to answer is not, because asking again would keep the resident waiting twice.
    """
    connection = _connection(url, timeout)
    try:
        try:
            connection.connect()
        except OSError as error:
            raise RemoteError(
                f"could not connect ({type(error).__name__})", retryable=True
            ) from None
        # A socket timeout bounds each read, not the answer: a register sending a byte
        # at a time would never trip it. At the deadline the socket is shut instead.
        expired = threading.Event()
        deadline = threading.Timer(timeout, _expire, (connection.sock, expired))
        deadline.daemon = True
        deadline.start()
        too_slow = RemoteError(f"no complete answer within {timeout:g} s", retryable=False)
        try:
            reply = _exchange(connection, url, headers, max_bytes)
        except (http.client.HTTPException, OSError) as error:
            if expired.is_set() or isinstance(error, TimeoutError):
                raise too_slow from None
            raise RemoteError(
                f"connection failed ({type(error).__name__})", retryable=True
            ) from None
        finally:
            deadline.cancel()
        # A body that ends by closing the connection looks complete when cut at the deadline.
        if expired.is_set():
            raise too_slow
        return reply
    finally:
        connection.close()


def _expire(sock: socket.socket, expired: threading.Event) -> None:
    """Stop a request at its deadline: whatever read is waiting ends at once.

    The socket is the one connected, not ``connection.sock``: http.client hands it to
    the response and forgets it when the register says it will close the connection.
    """
    expired.set()
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _exchange(
    connection: http.client.HTTPConnection, url: str, headers: Mapping[str, str], max_bytes: int
) -> Reply:
    """Send the request and read the whole answer, refusing one larger than ``max_bytes``."""
    connection.request("GET", _target(url), headers=dict(headers))
    response = connection.getresponse()
    declared = response.getheader("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise RemoteError(f"answer larger than {max_bytes} bytes", retryable=False)
    body = bytearray()
    while chunk := response.read1(min(CHUNK_BYTES, max_bytes + 1 - len(body))):
        body += chunk
        if len(body) > max_bytes:
            raise RemoteError(f"answer larger than {max_bytes} bytes", retryable=False)
    return Reply(response.status, response.getheader("Content-Type") or "", bytes(body))
