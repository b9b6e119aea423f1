"""Fixtures for the records layer: seeded demo registers, live servers, a fake register API."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from flask import Flask
from werkzeug.serving import make_server

from portal.extensions import db
from portal.records.services import seed_demo_registers
from portal.records.sources import SETTINGS, HttpOptions, HttpRecordSource

API_TOKEN = "records-test-token-" + "y" * 24
ALL_SOURCES = (
    "resident_register",
    "resident_tax",
    "nhi",
    "late_elderly",
    "ltc_insurance",
    "seal",
    "child_allowance",
    "disability",
    "public_fund_account",
)


@pytest.fixture(autouse=True)
def _records_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every app built in these tests serves the demo API with a known token."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RECORDS_API_TOKEN", API_TOKEN)


@pytest.fixture
def seeded(app: Flask) -> Flask:
    """The app with the demo registers seeded."""
    with app.app_context():
        seed_demo_registers(db.session)
        db.session.commit()
    return app


def serve(wsgi_app: Callable) -> tuple[str, Callable[[], None]]:
    """Serve a WSGI app on a free loopback port; return its address and a stop function."""
    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    # A short poll interval lets shutdown return quickly between tests.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()

    def stop() -> None:
        server.shutdown()
        thread.join(timeout=5)

    return f"http://127.0.0.1:{server.server_port}", stop


@pytest.fixture
def live_server(seeded: Flask) -> Iterator[str]:
    """The seeded portal over real HTTP; the address of its demo register API."""
    address, stop = serve(seeded)
    yield f"{address}/demo-registers/v1"
    stop()


Reply = tuple[str, list[tuple[str, str]], Callable[[], Iterator[bytes]] | bytes]


def json_reply(status: str, body: bytes, content_type: str = "application/json") -> Reply:
    """A reply with its length declared."""
    return status, [("Content-Type", content_type), ("Content-Length", str(len(body)))], body


@dataclass
class FakeRegister:
    """A register API that answers what the test says, and counts what it was asked."""

    replies: list[Reply] = field(default_factory=list)
    requests: list[dict[str, str | None]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def answer(self, *replies: Reply) -> None:
        """Answer with these replies in turn; the last one repeats."""
        self.replies = list(replies)

    def __call__(self, environ: dict, start_response: Callable) -> Iterator[bytes] | list[bytes]:
        self.requests.append(
            {
                "path": environ["PATH_INFO"],
                "uri": environ.get("REQUEST_URI"),
                "query": environ["QUERY_STRING"],
                "authorization": environ.get("HTTP_AUTHORIZATION"),
            }
        )
        status, headers, body = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        start_response(status, headers)
        return body() if callable(body) else [body]


@pytest.fixture
def fake_register() -> Iterator[tuple[FakeRegister, str]]:
    """A fake register API and its address."""
    register = FakeRegister()
    address, stop = serve(register)
    yield register, f"{address}/v1"
    register.release.set()
    stop()


@dataclass
class Recorder:
    """Stands in for ``time.sleep`` and a clock: records waits, moves time by hand."""

    now: float = 1000.0
    waits: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)

    def clock(self) -> float:
        return self.now


def http_source(
    url: str, recorder: Recorder | None = None, token: str = API_TOKEN, **options: object
) -> HttpRecordSource:
    """An http record source for ``url`` that never really sleeps."""
    recorder = recorder or Recorder()
    return HttpRecordSource(
        HttpOptions(timezone="Asia/Tokyo", url=url, token=token, **options),  # type: ignore[arg-type]
        clock=recorder.clock,
        sleep=recorder.sleep,
        jitter=lambda: 0.5,
    )
