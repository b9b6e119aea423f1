"""The app a real ``flask jobs work`` process runs in the worker-killed test.

``flask --app tests.faults.worker_app:create_worker_app jobs work`` builds the portal
from the environment, as ``app.py`` does, with one more job kind whose handler the
test can catch in the middle, and a lease of a few seconds instead of five minutes so
that a dead worker's job is due again soon.

The handler has an effect outside the database (a line in a file, written at most once
per job key: the handler is idempotent, as the jobs module asks of such effects) and
one inside (an audit entry, committed with the job's "done"). On its first attempt it
stops after the outside effect and waits to be killed: the worst moment for a worker
to die.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from portal import create_app
from portal.audit.services import record_event
from portal.jobs import services as jobs
from portal.jobs.services import job_handler

JOB_KIND = "faults.effect_then_wait"
FOLDER_VARIABLE = "FAULTS_JOB_FOLDER"
LEASE_SECONDS = 2
ATTEMPTS_FILE = "attempts"  # one line per attempt: the worker's process id and the time
EFFECTS_FILE = "effects"  # one line per job key whose outside effect happened
WAITING_FILE = "waiting"  # made when the first attempt starts waiting to be killed


def _folder() -> Path:
    return Path(os.environ[FOLDER_VARIABLE])


@job_handler(JOB_KIND)
def effect_then_wait(session: Session, payload: dict[str, Any]) -> None:
    """Make the job's effects once each; on the first attempt, wait to be killed after one."""
    folder = _folder()
    key = str(payload["key"])
    with (folder / ATTEMPTS_FILE).open("a", encoding="utf-8") as attempts:
        attempts.write(f"{os.getpid()} {time.time()}\n")
    effects = folder / EFFECTS_FILE
    done = effects.read_text(encoding="utf-8").splitlines() if effects.exists() else []
    if key not in done:
        with effects.open("a", encoding="utf-8") as handle:
            handle.write(f"{key}\n")
    record_event(session, actor="job", action="faults.effect", subject_type="test", subject_id=key)
    waiting = folder / WAITING_FILE
    if not waiting.exists():
        waiting.touch()
        while True:  # until the test kills this worker
            time.sleep(1)


def create_worker_app() -> Flask:
    """Build the portal from the environment, with leases of ``LEASE_SECONDS``."""
    # `flask jobs work` has no lease option: the worker's claims use run_pending's default.
    jobs.run_pending.__kwdefaults__["lease_seconds"] = LEASE_SECONDS
    return create_app()
