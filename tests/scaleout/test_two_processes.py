"""Scale-out: two app server processes, one Celery worker, PostgreSQL, Redis, on this machine.

As docs/DEPLOY.md describes production: gunicorn processes that share nothing but the
database, the broker (which also keeps the rate-limit counts), the file storage and the
mail server; a Celery worker with beat that renders the receipts and sends the emails.
Residents sign in through the demo provider and file bereavement applications over
HTTP through a "load balancer" without sticky sessions: every request of a journey goes
to the next process in turn. Every application must be stored once, and every receipt
rendered and every email delivered exactly once, with no job dead or run twice.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.backoffice.models import Application
from portal.extensions import db
from portal.jobs.models import Job
from portal.records.services import seed_demo_registers
from tests.conftest import TEST_SECRET_KEY, using_postgres
from tests.identity.live import Browser, LiveApp, Page, sign_in
from tests.jobs.redis_server import free_port, running_redis
from tests.notifications.support import LocalSmtpServer
from tests.resident.test_submit import _submit, _to_check

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.scaleout,
    pytest.mark.skipif(
        not using_postgres(),
        reason="the scale-out test needs PostgreSQL (scripts/with-postgres.sh provides it)",
    ),
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
APPLICATIONS = 12
FILING_THREADS = 4
# Adults of the demo registers who sign in and file (each files several times).
RESIDENTS = ("demo-0024", "demo-0001", "demo-0018", "demo-0005")
START_TIMEOUT_SECONDS = 120
JOBS_TIMEOUT_SECONDS = 90
FOLLOW_UP_KINDS = ("receipt.render", "email.send")


@dataclass
class Answer:
    """An HTTP answer with the Flask test client's API, for the journey helpers."""

    page: Page

    @property
    def status_code(self) -> int:
        return self.page.status

    @property
    def headers(self) -> Any:
        return self.page.headers

    def get_data(self, as_text: bool = False) -> str | bytes:
        return self.page.text if as_text else self.page.text.encode()


class BalancedClient:
    """The test client's API over HTTP: each request goes to the next app process in turn.

    The browser's cookies go with it to every process (cookies do not depend on the
    port), as they would through one load balancer address.
    """

    def __init__(self, browser: Browser, servers: list[str]) -> None:
        self.browser = browser
        self._servers = itertools.cycle(servers)
        self.sent: Counter[str] = Counter()

    def _url(self, path: str) -> str:
        if not path.startswith("/"):
            raise AssertionError(f"the journey left the portal: {path}")
        server = next(self._servers)
        self.sent[server] += 1
        return server + path

    def get(self, path: str) -> Answer:
        return Answer(self.browser.get(self._url(path)))

    def post(self, path: str, data: Mapping[str, Any], **_: Any) -> Answer:
        fields = []
        for name, value in data.items():
            values = value if isinstance(value, list) else [value]
            if any(isinstance(item, tuple) for item in values):
                raise AssertionError(f"{name}: uploads are not part of this journey")
            fields.extend((name, str(item)) for item in values)
        return Answer(self.browser.post(self._url(path), fields))  # type: ignore[arg-type]


def _tail(path: Path, characters: int = 3000) -> str:
    return path.read_text(errors="replace")[-characters:] if path.exists() else "(no log)"


@contextmanager
def _process(command: list[str], *, env: dict[str, str], cwd: Path, log: Path) -> Iterator[None]:
    """Run a process for the duration of the block; SIGTERM, then SIGKILL after 30 s."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=5) as answer:  # noqa: S310 - loopback
            return answer.status == 200
    except OSError:
        return False


def _wait_for(condition: Any, timeout: float, describe: Any) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(describe())
        time.sleep(0.25)


@pytest.fixture
def city(procedures_loaded: Flask) -> Flask:
    """The test database with the shipped definitions and the demo registers (emptied after)."""
    with procedures_loaded.app_context():
        seed_demo_registers(db.session)
        db.session.commit()
    return procedures_loaded


def _file_one(number: int, servers: list[str], checker: Flask) -> tuple[str, Counter[str]]:
    """Sign a resident in on one process, then file through both; return the reference."""
    browser = Browser()
    signed_in_at = servers[number % 2]
    sign_in(LiveApp(signed_in_at, checker), browser, RESIDENTS[number % len(RESIDENTS)])
    client = BalancedClient(browser, servers[number % 2 :] + servers[: number % 2])
    response = _submit(client, _to_check(client), declaration="yes")
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return response.headers["Location"].rsplit("/", 1)[1], client.sent


def test_applications_filed_through_two_processes_are_each_handled_exactly_once(
    city: Flask, tmp_path: Path
):
    started = time.monotonic()
    storage = tmp_path / "files"
    database_url = city.config["SQLALCHEMY_DATABASE_URI"]
    smtp = LocalSmtpServer().start()
    with ExitStack() as stack:
        stack.callback(smtp.stop)
        broker_url = stack.enter_context(running_redis(tmp_path / "redis"))
        common = {
            **{name: value for name, value in os.environ.items() if name != "TESTING"},
            "PYTHONPATH": str(PROJECT_ROOT),
            "PORTAL_ENV": "development",
            "SECRET_KEY": TEST_SECRET_KEY,
            "DATABASE_URL": database_url,
            "JOBS_ENGINE": "celery",
            "CELERY_BROKER_URL": broker_url,
            "JOBS_RELAY_SECONDS": "2",
            "STORAGE_PATH": str(storage),
            "SMTP_URL": f"smtp://127.0.0.1:{smtp.port}?from=noreply@city.example",
            "LOG_LEVEL": "WARNING",
            # The counts are shared through Redis; the limits leave room for the test.
            "RATELIMIT_STORAGE_URI": broker_url.rsplit("/", 1)[0] + "/1",
            "RATELIMIT_DEFAULT": "100000 per minute",
            "RATELIMIT_SIGN_IN": "1000 per minute",
            "RATELIMIT_SUBMIT": "1000 per minute",
        }
        servers = []
        logs = []
        for name in ("a", "b"):
            port = free_port()
            log = tmp_path / f"gunicorn-{name}.log"
            stack.enter_context(
                _process(
                    [
                        sys.executable,
                        "-m",
                        "gunicorn",
                        "--workers",
                        "1",
                        "--worker-class",
                        "gthread",
                        "--threads",
                        "4",
                        "--graceful-timeout",
                        "5",
                        "--bind",
                        f"127.0.0.1:{port}",
                        "app:app",
                    ],
                    env={**common, "PORT": str(port)},
                    cwd=PROJECT_ROOT,
                    log=log,
                )
            )
            servers.append(f"http://127.0.0.1:{port}")
            logs.append(log)
        worker_log = tmp_path / "celery.log"
        stack.enter_context(
            _process(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "portal.jobs.celery_app",
                    "worker",
                    "--beat",
                    "--schedule",
                    str(tmp_path / "beat-schedule"),
                    "--pool",
                    "prefork",
                    "--concurrency",
                    "2",
                    "--loglevel",
                    "WARNING",
                    "--without-mingle",
                    "--without-gossip",
                ],
                env=common,
                cwd=tmp_path,
                log=worker_log,
            )
        )
        _wait_for(
            lambda: all(_ready(server) for server in servers),
            START_TIMEOUT_SECONDS,
            lambda: (
                "the app processes did not become ready:\n" + "\n".join(_tail(log) for log in logs)
            ),
        )
        up = time.monotonic()

        with ThreadPoolExecutor(FILING_THREADS) as pool:
            filed = list(
                pool.map(lambda number: _file_one(number, servers, city), range(APPLICATIONS))
            )
        references = [reference for reference, _ in filed]
        requests_per_server = sum((sent for _, sent in filed), Counter())
        done_filing = time.monotonic()

        def follow_ups_done() -> bool:
            with city.app_context():
                unfinished = db.session.scalar(
                    select(func.count())
                    .select_from(Job)
                    .where(Job.kind.in_(FOLLOW_UP_KINDS), Job.status != "done")
                )
                db.session.rollback()
            return unfinished == 0

        _wait_for(
            follow_ups_done,
            JOBS_TIMEOUT_SECONDS,
            lambda: "the receipts and emails were not all done:\n" + _tail(worker_log),
        )
        # Once the follow-ups are done, give a duplicate message time to show itself.
        time.sleep(1)
        finished = time.monotonic()
    stopped = time.monotonic()

    # Both processes served the journeys, about equally.
    assert set(requests_per_server) == set(servers)
    assert min(requests_per_server.values()) >= max(requests_per_server.values()) - APPLICATIONS

    with city.app_context():
        applications = db.session.scalars(select(Application)).all()
        jobs = db.session.scalars(select(Job)).all()
        sent = db.session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "notification.sent")
        )

    # Every application stored once.
    assert len(set(references)) == APPLICATIONS
    assert sorted(application.reference for application in applications) == sorted(references)

    # Every follow-up job queued once, run once, and nothing dead.
    kinds = Counter(job.kind for job in jobs if job.kind in FOLLOW_UP_KINDS)
    assert kinds == {kind: APPLICATIONS for kind in FOLLOW_UP_KINDS}
    assert [job for job in jobs if job.status != "done" and job.kind in FOLLOW_UP_KINDS] == []
    assert [job for job in jobs if job.status == "dead"] == []
    assert {job.attempts for job in jobs if job.kind in FOLLOW_UP_KINDS} == {1}

    # Every receipt rendered exactly once: one stored PDF per application, no other.
    keys = [application.receipt_key for application in applications]
    assert None not in keys and len(set(keys)) == APPLICATIONS
    stored = sorted(str(path.relative_to(storage)) for path in (storage / "receipts").iterdir())
    assert stored == sorted(keys)
    assert all((storage / key).read_bytes().startswith(b"%PDF") for key in keys)

    # Every email delivered exactly once: one message per application at the mail server.
    message_ids = Counter(message.parsed()["Message-ID"] for message in smtp.received)
    assert message_ids == Counter(
        {f"<received.{reference}@city.example>": 1 for reference in references}
    )
    assert sent == APPLICATIONS

    timings = (
        f"start {up - started:.1f} s, filing {done_filing - up:.1f} s, "
        f"jobs {finished - done_filing:.1f} s, stop {stopped - finished:.1f} s"
    )
    print(f"scale-out: {APPLICATIONS} applications; {timings}")
