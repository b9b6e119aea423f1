"""Fixtures for sign-in: a live portal with its demo provider, a browser, the identity log."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.identity.live import Browser, LiveApp, live_app


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every request on 127.0.0.1 even where the shell sets a proxy."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def portal(database_url: str) -> Iterator[LiveApp]:
    """The portal served over HTTP, signing in through its own demo provider."""
    with live_app(database_url) as live:
        yield live


@pytest.fixture
def browser() -> Browser:
    return Browser()


@pytest.fixture
def identity_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Capture what the ``portal.identity`` logger says from INFO up.

    The portal's loggers do not propagate to the root logger, where pytest listens,
    so the capturing handler is attached to the portal's logger when it is missing.
    """
    caplog.set_level(logging.INFO, logger="portal.identity")
    portal_logger = logging.getLogger("portal")
    attached = caplog.handler not in portal_logger.handlers
    if attached:
        portal_logger.addHandler(caplog.handler)
    yield caplog
    if attached:
        portal_logger.removeHandler(caplog.handler)


def reasons(log: pytest.LogCaptureFixture) -> list[str]:
    """The reason codes of the sign-in failures logged so far."""
    return [
        record.reason
        for record in log.records
        if record.name == "portal.identity" and record.levelno == logging.WARNING
    ]
