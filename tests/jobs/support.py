"""Job handlers the job tests enqueue, and helpers to look at what they did.

Handlers write an audit entry as their database effect, so a test can count how many
times an effect was committed, and note each call in ``CALLS`` (in memory, so calls
whose transaction rolled back are seen too).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.audit.models import AuditEntry
from portal.audit.services import record_event
from portal.extensions import db
from portal.jobs.models import Job
from portal.jobs.services import enqueue, job_handler

CALLS: list[dict[str, Any]] = []
_calls_lock = threading.Lock()


class WorkerKilled(BaseException):
    """Stands in for the worker process dying in the middle of a job."""


def _note(payload: dict[str, Any]) -> None:
    with _calls_lock:
        CALLS.append(payload)


def _effect(session: Session, payload: dict[str, Any]) -> None:
    record_event(
        session, actor="job", action="test.effect", subject_type="test", subject_id=payload["n"]
    )


@job_handler("test.record")
def record_handler(session: Session, payload: dict[str, Any]) -> None:
    _note(payload)
    _effect(session, payload)


@job_handler("test.fail")
def failing_handler(session: Session, payload: dict[str, Any]) -> None:
    _note(payload)
    _effect(session, payload)
    raise RuntimeError("printer on fire\nsecond line with details")


@job_handler("test.chain")
def chain_handler(session: Session, payload: dict[str, Any]) -> None:
    """Enqueue a follow-up job, as the receipt job's handler may."""
    _note(payload)
    follow_up = f"{payload['n']}+1"
    enqueue(session, "test.record", {"n": follow_up}, key=f"test.record:{follow_up}")


@job_handler("test.dies_once")
def dies_once_handler(session: Session, payload: dict[str, Any]) -> None:
    first_call = payload not in CALLS
    _note(payload)
    _effect(session, payload)
    if first_call:
        raise WorkerKilled


@job_handler("test.sigterm")
def sigterm_handler(session: Session, payload: dict[str, Any]) -> None:
    _note(payload)
    os.kill(os.getpid(), signal.SIGTERM)
    _effect(session, payload)


def _prepare_while_others_write(session: Session, payload: dict[str, Any]) -> str:
    """Slow part of a prepared job: another connection writes meanwhile, as a request would.

    Were the runner holding a write lock now, this write would wait for it and fail.
    """
    with Session(db.engine) as other:
        record_event(
            other,
            actor="request",
            action="test.written_meanwhile",
            subject_type="test",
            subject_id=f"meanwhile-{payload['n']}",
        )
        other.commit()
    return f"prepared {payload['n']}"


@job_handler("test.prepared", prepare=_prepare_while_others_write)
def prepared_handler(session: Session, payload: dict[str, Any], prepared: str) -> None:
    _note({**payload, "prepared": prepared})
    _effect(session, payload)


def enqueue_unobserved(app: Flask, kind: str, n: str, **options: Any) -> int:
    """Enqueue and commit outside the app's session, so no engine reacts: as a past run left it."""
    with app.app_context(), Session(db.engine) as session:
        job = enqueue(session, kind, {"n": n}, key=f"{kind}:{n}", **options)
        session.commit()
        return job.id


def effects(app: Flask, n: str) -> int:
    """How many committed effects the job with payload ``n`` had."""
    with app.app_context(), Session(db.engine) as session:
        return session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.subject_id == n)
        )


def load_job(app: Flask, job_id: int) -> Job:
    with app.app_context(), Session(db.engine, expire_on_commit=False) as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``condition`` briefly until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)
