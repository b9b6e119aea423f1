"""Enqueue jobs in the caller's transaction, claim them safely, and run them.

The jobs table is a transactional outbox. ``enqueue`` adds a job to the caller's
transaction, so the job exists exactly when the change that needs it was committed.
Workers ``claim`` a due job under a lease (``SELECT … FOR UPDATE SKIP LOCKED`` on
PostgreSQL; on SQLite every writer's ``BEGIN IMMEDIATE`` serialises claims), then
``run_one`` runs its handler in a transaction of its own and marks the job done in that
same transaction: a handler's database effects and "done" commit together or not at all.
A handler with effects outside the database (an email, a webhook, a stored file) must
make them idempotent with the job's idempotency key, because a worker can die after the
effect and before the commit.

On SQLite the runner's transaction holds the database's write lock while the handler
runs, so handlers keep slow work short; PostgreSQL only locks the job's row.
"""

from __future__ import annotations

import contextvars
import logging
import random
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from portal.database import set_write_intent, utcnow
from portal.extensions import db
from portal.jobs.models import JOB_STATUSES, Job

log = logging.getLogger("portal.jobs")

JobHandler = Callable[..., None]
JobPreparer = Callable[[Session, dict[str, Any]], Any]

DEFAULT_LEASE_SECONDS = 300
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 3600
MAX_ERROR_LENGTH = 500
MAX_MESSAGE_LENGTH = 200
# session.info keys: the ids of the jobs this transaction enqueued, and "this session
# belongs to a job runner" (whose follow-up jobs its own drain loop picks up).
ENQUEUED_FLAG = "madoguchi.jobs.enqueued"
RUNNER_FLAG = "madoguchi.jobs.runner"

_handlers: dict[str, JobHandler] = {}
_preparers: dict[str, JobPreparer] = {}
_periodic: dict[str, int] = {}
SCHEDULE_EVERY = timedelta(minutes=1)
NEXT_SCHEDULE_KEY = "madoguchi.jobs.next_schedule"


def job_handler(
    kind: str, *, prepare: JobPreparer | None = None
) -> Callable[[JobHandler], JobHandler]:
    """Register the function that runs jobs of ``kind``: ``handler(session, payload)``.

    The handler works in the session it is given and never commits: the runner commits
    its effects together with marking the job done. Raising makes the job try again.

    Slow work (rendering a PDF, talking to a mail server) goes in ``prepare(session,
    payload)``: it runs first, in a session that only reads, so no write lock is held
    meanwhile (SQLite has one for the whole database); the handler then gets its result
    as ``handler(session, payload, prepared)`` and only writes. ``prepare`` may run
    again on a retry, so what it does outside the database must be safe to repeat.
    """

    def register(handler: JobHandler) -> JobHandler:
        registered = _handlers.get(kind)
        if registered is not None and registered is not handler:
            raise ValueError(f"a handler for job kind {kind!r} is already registered")
        _handlers[kind] = handler
        if prepare is not None:
            _preparers[kind] = prepare
        return handler

    return register


def periodic_job(kind: str, *, every_minutes: int) -> Callable[[JobHandler], JobHandler]:
    """Register a handler that workers run once every ``every_minutes`` (e.g. purges)."""
    if every_minutes < 1:
        raise ValueError("a periodic job runs at most once a minute")

    def register(handler: JobHandler) -> JobHandler:
        job_handler(kind)(handler)
        _periodic[kind] = every_minutes
        return handler

    return register


def periodic_kinds() -> list[str]:
    """The kinds of every registered periodic job (the admin and the tests list them)."""
    return sorted(_periodic)


def schedule_periodic(session: Session, now: datetime) -> list[Job]:
    """Enqueue each periodic job for the period ``now`` falls in (no commit).

    The period is in the idempotency key, so any number of workers calling this enqueue
    each job once per period.
    """
    jobs = []
    for kind, minutes in sorted(_periodic.items()):
        period = int(now.timestamp()) // (minutes * 60)
        jobs.append(enqueue(session, kind, {}, key=f"{kind}@{minutes}m:{period}"))
    return jobs


def schedule_periodic_due(app: Flask) -> None:
    """Let a worker look for periodic jobs, at most once a minute per app and process."""
    now = utcnow()
    next_time = app.extensions.get(NEXT_SCHEDULE_KEY)
    if not _periodic or (next_time is not None and now < next_time):
        return
    app.extensions[NEXT_SCHEDULE_KEY] = now + SCHEDULE_EVERY
    with _runner_session(app) as session:
        schedule_periodic(session, now)
        session.commit()


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any],
    *,
    key: str,
    run_after: datetime | None = None,
) -> Job:
    """Add a job to the caller's transaction (no commit); the same ``key`` twice gives one job.

    ``key`` names the work, such as ``receipt:MD-2026-000123``, so a retried request
    returns the job its first attempt enqueued. The payload holds ids and references,
    never personal data, because it is stored as it is.
    """
    if not 0 < len(kind) <= 80:
        raise ValueError("a job kind is 1 to 80 characters")
    if not 0 < len(key) <= 200:
        raise ValueError("an idempotency key is 1 to 200 characters")
    now = utcnow()
    values = {
        "kind": kind,
        "payload": payload,
        "idempotency_key": key,
        "status": "pending",
        "run_after": run_after or now,
        "created_at": now,
    }
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # ON CONFLICT DO NOTHING keeps the caller's transaction usable when a concurrent
    # transaction enqueued the same key first: PostgreSQL waits for it, then skips. The
    # new job comes back from RETURNING; only a key already taken is read again.
    added = session.scalars(
        insert(Job)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(Job)
    ).first()
    job = (
        added
        if added is not None
        else session.scalars(select(Job).where(Job.idempotency_key == key)).one()
    )
    if job.kind != kind:
        raise ValueError(f"idempotency key {key!r} already names a job of kind {job.kind!r}")
    if added is not None:
        session.info.setdefault(ENQUEUED_FLAG, []).append(job.id)
    return job


def _expired_or_due(now: datetime) -> Any:
    return or_(
        and_(Job.status == "pending", Job.run_after <= now),
        and_(Job.status == "running", Job.locked_until <= now),
    )


def claim(
    session: Session, now: datetime, lease_seconds: int, *, job_id: int | None = None
) -> Job | None:
    """Take the next due job for ``lease_seconds`` and return it, or None; the caller commits.

    With ``job_id``, only that job is taken, and only if it is due (a queue engine's
    message names the job it is about).

    A job whose lease ran out (its worker died) is due again; one that has used all its
    attempts that way is marked dead instead. Two workers never claim the same job: on
    PostgreSQL the row is locked and others skip it, on SQLite the caller's transaction
    began with ``BEGIN IMMEDIATE`` and holds the write lock.
    """
    due = _expired_or_due(now) if job_id is None else and_(_expired_or_due(now), Job.id == job_id)
    while True:
        job = session.scalars(
            select(Job)
            .where(due)
            .order_by(Job.run_after, Job.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if job is None:
            return None
        if job.status == "running" and job.attempts >= job.max_attempts:
            job.status = "dead"
            job.locked_until = None
            job.finished_at = now
            job.last_error = f"LeaseExpired: the worker stopped during attempt {job.attempts}"
            session.flush()
            continue
        job.status = "running"
        job.attempts += 1
        job.locked_until = now + timedelta(seconds=lease_seconds)
        session.flush()
        return job


def retry_delay(attempts: int, *, jitter: Callable[[], float] = random.random) -> timedelta:
    """How long to wait after failed attempt ``attempts`` (1, 2, …): doubling, plus jitter.

    The jitter (up to the delay again) spreads retries of jobs that failed together,
    such as every email during a mail server's outage.
    """
    base = min(RETRY_BASE_SECONDS * 2 ** (attempts - 1), RETRY_MAX_SECONDS)
    return timedelta(seconds=base + base * jitter())


def describe_error(error: BaseException) -> str:
    """The class and a short message of an exception, safe to store and log.

    Database errors carry the statement and its parameters in their message, which may
    hold personal data, so only their classes are kept.
    """
    name = type(error).__name__
    if isinstance(error, SQLAlchemyError):
        original = getattr(error, "orig", None)
        return f"{name}: {type(original).__name__}" if original is not None else name
    lines = str(error).strip().splitlines()
    message = lines[0][:MAX_MESSAGE_LENGTH] if lines else ""
    return f"{name}: {message}"[:MAX_ERROR_LENGTH] if message else name


@contextmanager
def _runner_session(app: Flask) -> Iterator[Session]:
    """An app context of its own whose session may write and is marked as the runner's."""
    with app.app_context():
        set_write_intent(True)
        session = db.session()
        session.info[RUNNER_FLAG] = True
        try:
            yield session
        finally:
            session.rollback()


@contextmanager
def _reading_session(app: Flask) -> Iterator[Session]:
    """An app context of its own whose session only reads: it never takes a write lock."""
    with app.app_context():
        set_write_intent(False)
        session = db.session()
        try:
            yield session
        finally:
            session.rollback()


def _prepare(app: Flask, job_id: int) -> tuple[bool, Any]:
    """Run the job's slow, read-only part with no lock held: (ran, its result)."""
    with _reading_session(app) as session:
        job = session.get(Job, job_id)
        if job is None or job.status != "running" or job.kind not in _preparers:
            return False, None
        return True, _preparers[job.kind](session, dict(job.payload))


def _locked_job(session: Session, job_id: int) -> Job | None:
    return session.scalars(select(Job).where(Job.id == job_id).with_for_update()).first()


def run_one(app: Flask, job_id: int) -> str | None:
    """Run a claimed job's handler and commit its effects with the job's new state.

    Returns the job's status afterwards (``done``, ``pending`` for a retry, ``dead``),
    or None when the job was not running (another worker finished it).
    """
    return contextvars.copy_context().run(_run_one, app, job_id)


def _run_one(app: Flask, job_id: int) -> str | None:
    try:
        prepared, result = _prepare(app, job_id)
        failure = None
    except Exception as error:
        prepared, result, failure = False, None, error
    with _runner_session(app) as session:
        job = _locked_job(session, job_id)
        if job is None or job.status != "running":
            return None
        kind, attempt = job.kind, job.attempts
        try:
            if failure is not None:
                raise failure
            handler = _handlers.get(kind)
            if handler is None:
                raise LookupError(f"no handler is registered for job kind {kind!r}")
            if prepared:
                handler(session, dict(job.payload), result)
            else:
                handler(session, dict(job.payload))
            job.status = "done"
            job.locked_until = None
            job.finished_at = utcnow()
            session.commit()
        except Exception as error:
            session.rollback()
            description = describe_error(error)
            log.warning(
                "job failed",
                extra={"job_id": job_id, "kind": kind, "attempt": attempt, "error": description},
            )
            # The traceback repeats the message, which may hold what the handler worked
            # on; it is logged only where an operator asked for DEBUG.
            log.debug("job failed", exc_info=True, extra={"job_id": job_id})
            return _record_failure(session, job_id, description)
        log.info("job done", extra={"job_id": job_id, "kind": kind, "attempt": attempt})
        return "done"


def _record_failure(session: Session, job_id: int, description: str) -> str | None:
    """Schedule the next attempt, or mark the job dead after its last one."""
    job = _locked_job(session, job_id)
    if job is None or job.status != "running":
        return None
    now = utcnow()
    job.last_error = description[:MAX_ERROR_LENGTH]
    job.locked_until = None
    if job.attempts >= job.max_attempts:
        job.status = "dead"
        job.finished_at = now
        log.error("job dead", extra={"job_id": job_id, "kind": job.kind, "attempts": job.attempts})
    else:
        job.status = "pending"
        job.run_after = now + retry_delay(job.attempts)
    status = job.status
    session.commit()
    return status


def claim_next(
    app: Flask, *, lease_seconds: int = DEFAULT_LEASE_SECONDS, job_id: int | None = None
) -> int | None:
    """Claim the next due job (or job ``job_id``, if due) in a transaction of its own.

    Returns the claimed job's id, or None when nothing was due.
    """
    return contextvars.copy_context().run(_claim_next, app, lease_seconds, job_id)


def _claim_next(app: Flask, lease_seconds: int, job_id: int | None) -> int | None:
    with _runner_session(app) as session:
        job = claim(session, utcnow(), lease_seconds, job_id=job_id)
        job_id = job.id if job is not None else None
        session.commit()
        return job_id


def run_pending(app: Flask, *, limit: int, lease_seconds: int = DEFAULT_LEASE_SECONDS) -> int:
    """Claim and run due jobs one at a time, at most ``limit``; return how many ran.

    Jobs that handlers enqueue while this runs are due at once and run in the same call.
    """
    ran = 0
    while ran < limit:
        job_id = claim_next(app, lease_seconds=lease_seconds)
        if job_id is None:
            break
        run_one(app, job_id)
        ran += 1
    return ran


def run_job_if_due(
    app: Flask, job_id: int, *, lease_seconds: int = DEFAULT_LEASE_SECONDS
) -> str | None:
    """Claim job ``job_id`` and run it, as a queue engine's message about it asks.

    Returns its status afterwards, or None when it was not due: already done or dead,
    waiting for a later retry, or running under another worker's lease. A message
    delivered twice therefore runs the job once.
    """
    if claim_next(app, lease_seconds=lease_seconds, job_id=job_id) != job_id:
        return None
    return run_one(app, job_id)


def due_job_ids(session: Session, now: datetime, *, due_for: timedelta, limit: int) -> list[int]:
    """The ids of jobs due (or whose lease ran out) for at least ``due_for``, oldest first.

    A queue engine's relay hands these to its broker again: ``due_for`` leaves alone the
    jobs that were published at their commit a moment ago and are still on their way.
    """
    return list(
        session.scalars(
            select(Job.id)
            .where(_expired_or_due(now - due_for))
            .order_by(Job.run_after, Job.id)
            .limit(limit)
        )
    )


def oldest_due_seconds(session: Session, now: datetime) -> float | None:
    """How long the longest-waiting due pending job has waited, or None when none is due."""
    oldest = session.scalar(
        select(func.min(Job.run_after)).where(Job.status == "pending", Job.run_after <= now)
    )
    return None if oldest is None else max(0.0, (now - oldest).total_seconds())


def job_counts(session: Session) -> dict[str, int]:
    """How many jobs are in each status (every status is listed, zero included)."""
    counts = dict.fromkeys(JOB_STATUSES, 0)
    rows = session.execute(select(Job.status, func.count()).group_by(Job.status))
    counts.update({status: count for status, count in rows})
    return counts


def dead_jobs(session: Session, *, limit: int = 50) -> list[Job]:
    """The most recently failed dead jobs, newest first."""
    return list(
        session.scalars(
            select(Job)
            .where(Job.status == "dead")
            .order_by(Job.finished_at.desc(), Job.id.desc())
            .limit(limit)
        )
    )


def retry_dead_job(session: Session, job_id: int, now: datetime) -> Job:
    """Put a dead job back in the queue with a fresh set of attempts; the caller commits.

    LookupError when there is no such job, ValueError when it is not dead.
    """
    job = _locked_job(session, job_id)
    if job is None:
        raise LookupError(f"there is no job {job_id}")
    if job.status != "dead":
        raise ValueError(f"job {job_id} is {job.status}, not dead")
    job.status = "pending"
    job.attempts = 0
    job.run_after = now
    job.finished_at = None
    session.flush()
    return job


def work(app: Flask, *, stop: threading.Event, once: bool, interval: float) -> int:
    """Run due jobs until ``stop`` is set (or none is due, with ``once``); return how many ran.

    ``stop`` is only looked at between jobs, so the job in hand always finishes.
    """
    ran = 0
    while not stop.is_set():
        try:
            schedule_periodic_due(app)
            if run_pending(app, limit=1):
                ran += 1
                continue
        except Exception:
            log.exception("job worker could not claim or run a job")
        if once:
            break
        stop.wait(interval)
    return ran
