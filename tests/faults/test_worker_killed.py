"""A ``flask jobs work`` process killed (SIGKILL) in the middle of a job.

Real worker processes against the run's database (a SQLite file, or PostgreSQL when
``TEST_DATABASE_URL`` is set). Two workers run; the one that claims the job is killed after
the job's outside effect and before its commit; the other takes the job once its lease
has run out, and each effect of the job exists exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal import PROJECT_ROOT
from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.jobs.models import Job
from portal.jobs.services import enqueue
from tests.conftest import app_config
from tests.faults import worker_app

pytestmark = pytest.mark.faults

KEY = "faults:killed-worker"
FLASK = Path(sys.executable).with_name("flask")
STARTUP_SECONDS = 90.0  # a ceiling: two processes importing the portal on a busy machine


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = STARTUP_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.05)


@pytest.fixture
def start_worker(database_url: str, tmp_path: Path) -> Iterator[Callable[[], subprocess.Popen]]:
    """Start ``flask jobs work`` processes on the run's database; kill any left at the end."""
    started: list[subprocess.Popen] = []
    environment = {
        **os.environ,
        **app_config(database_url),
        "PYTHONPATH": str(PROJECT_ROOT),
        worker_app.FOLDER_VARIABLE: str(tmp_path),
    }

    def start() -> subprocess.Popen:
        log = (tmp_path / f"worker-{len(started)}.log").open("wb")
        process = subprocess.Popen(
            [
                str(FLASK),
                "--app",
                "tests.faults.worker_app:create_worker_app",
                "jobs",
                "work",
                "--interval",
                "0.2",
            ],
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def _job(app: Flask) -> Job:
    with app.app_context(), Session(db.engine, expire_on_commit=False) as session:
        return session.scalars(select(Job).where(Job.idempotency_key == KEY)).one()


def _committed_effects(app: Flask) -> int:
    with app.app_context(), Session(db.engine) as session:
        return session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.subject_id == KEY)
        )


def _attempts(folder: Path) -> list[tuple[int, float]]:
    """The process id and start time of each attempt, as the handler noted them."""
    lines = (folder / worker_app.ATTEMPTS_FILE).read_text().splitlines()
    return [(int(pid), float(started)) for pid, started in (line.split() for line in lines)]


def test_a_job_whose_worker_was_killed_runs_again_and_its_effects_happen_once(
    app, start_worker, tmp_path
):
    with app.app_context(), Session(db.engine) as session:
        enqueue(session, worker_app.JOB_KIND, {"key": KEY}, key=KEY)
        session.commit()

    # Two workers, as in a scaled-out deployment; whichever claims the job is killed.
    workers = {process.pid: process for process in (start_worker(), start_worker())}
    _wait_for((tmp_path / worker_app.WAITING_FILE).exists, "a worker reached the job")
    [(killed_pid, _started)] = _attempts(tmp_path)
    killed = workers.pop(killed_pid)
    killed.send_signal(signal.SIGKILL)
    assert killed.wait(10) == -signal.SIGKILL
    stuck = _job(app)
    assert (stuck.status, stuck.attempts) == ("running", 1)
    assert _committed_effects(app) == 0, "the killed attempt's transaction never committed"

    [survivor] = workers.values()
    _wait_for(lambda: _job(app).status == "done", "the other worker finished the job")
    survivor.send_signal(signal.SIGTERM)
    assert survivor.wait(30) == 0

    done = _job(app)
    assert done.attempts == 2 and done.last_error is None
    (first_pid, first_start), (second_pid, second_start) = _attempts(tmp_path)
    assert (first_pid, second_pid) == (killed_pid, survivor.pid)
    assert second_start - first_start >= worker_app.LEASE_SECONDS - 0.5, (
        "not before the lease ran out"
    )
    assert (tmp_path / worker_app.EFFECTS_FILE).read_text().split() == [KEY]
    assert _committed_effects(app) == 1
