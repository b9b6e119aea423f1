"""Job engines: what runs the jobs a commit recorded, chosen by ``JOBS_ENGINE``.

One small base class, one stable ``code`` per engine, and ``check_config()`` for
``/readyz``. ``thread`` is the embedded default: one background thread per process
drains due jobs whenever a commit enqueued some, and every 30 seconds for retries and
for jobs left over from a previous run. ``inline`` runs due jobs synchronously right
after the commit that enqueued them, which makes tests deterministic; it is the
default when ``TESTING=1`` and refused in production (outside tests), where no request
should wait for a PDF. ``celery`` (``celery_engine.py``, an optional extra) hands the
ids of committed jobs to Celery workers through Redis, for production with several app
servers. ``flask jobs work`` processes can run beside any engine: claims never clash.

Jobs never run before the commit that recorded them: a listener on the Flask-SQLAlchemy
session notices commits of transactions that enqueued jobs, and only the outermost
commit counts, never the release of a savepoint.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, SessionTransaction

from portal import health
from portal.config import ConfigError
from portal.extensions import db
from portal.jobs.services import (
    ENQUEUED_FLAG,
    RUNNER_FLAG,
    job_counts,
    run_pending,
    schedule_periodic_due,
)

log = logging.getLogger("portal.jobs")

SETTING = "JOBS_ENGINE"
EXTENSION_KEY = "madoguchi.jobs"
POLL_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 30.0
# A safety net for inline runs: handlers that keep enqueueing cannot hold a request for ever.
INLINE_LIMIT = 1000


def _queue_summary() -> str:
    with Session(db.engine) as session:
        counts = job_counts(session)
    return f"{counts['pending']} pending, {counts['running']} running, {counts['dead']} dead"


class JobEngine(ABC):
    """Runs the jobs that committed transactions recorded."""

    code: ClassVar[str]
    # Whether this engine's runners pick up the jobs their handlers enqueue by themselves
    # (a drain loop), so that the commits of their sessions need not be announced.
    runners_drain_follow_ups: ClassVar[bool] = True

    def __init__(self, app: Flask) -> None:
        self.app = app

    @abstractmethod
    def check_config(self) -> health.CheckResult:
        """Say whether jobs get run here, with the queue's counts (no personal data)."""

    @abstractmethod
    def jobs_committed(self, job_ids: Sequence[int]) -> None:
        """React to a commit of the app's session that enqueued the jobs ``job_ids``."""

    @abstractmethod
    def start(self) -> None:
        """Start what runs jobs in this process; called before every request."""

    @abstractmethod
    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Stop running jobs here, letting the current job finish within ``timeout``."""


class InlineEngine(JobEngine):
    """Runs due jobs in the committing thread, right after the commit (tests)."""

    code = "inline"

    def check_config(self) -> health.CheckResult:
        try:
            summary = _queue_summary()
        except SQLAlchemyError as error:
            return health.CheckResult(False, f"jobs unreadable: {type(error).__name__}")
        return health.CheckResult(True, f"inline, after each commit; {summary}")

    def start(self) -> None:
        """Nothing runs in the background: jobs run in the committing thread."""

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Nothing to stop: no job outlives the commit that ran it."""

    def jobs_committed(self, job_ids: Sequence[int]) -> None:
        try:
            run_pending(self.app, limit=INLINE_LIMIT)
        except Exception:
            # The caller's transaction has committed: a failure here must not look
            # like a failed commit. The jobs stay pending for the next run.
            log.exception("inline job run failed")


class ThreadEngine(JobEngine):
    """One background thread per process that drains due jobs when woken or every 30 s.

    The thread starts with the first request the process serves, never at import or in
    a CLI command, so it lives in each forked server process and not in a master that
    only forks. A commit outside a serving process leaves its jobs to a serving process
    or to ``flask jobs work``.
    """

    code = "thread"

    def __init__(self, app: Flask, *, poll_seconds: float = POLL_SECONDS) -> None:
        super().__init__(app)
        self.poll_seconds = poll_seconds
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    def _started_here(self) -> bool:
        return self._thread is not None and self._pid == os.getpid()

    def start(self) -> None:
        if self._started_here():
            return
        with self._lock:
            if self._started_here():
                return
            first_start = self._thread is None
            self._pid = os.getpid()
            self._wake = threading.Event()
            self._stopping = threading.Event()
            self._thread = threading.Thread(target=self._work, name="madoguchi-jobs", daemon=True)
            self._thread.start()
        if first_start:
            atexit.register(self.stop)

    def jobs_committed(self, job_ids: Sequence[int]) -> None:
        if self._started_here():
            self._wake.set()

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        thread = self._thread
        if thread is None or self._pid != os.getpid():
            return
        self._stopping.set()
        self._wake.set()
        thread.join(timeout)

    def check_config(self) -> health.CheckResult:
        try:
            summary = _queue_summary()
        except SQLAlchemyError as error:
            return health.CheckResult(False, f"jobs unreadable: {type(error).__name__}")
        thread = self._thread
        if thread is None or self._pid != os.getpid():
            return health.CheckResult(
                True, f"worker thread starts with the first request; {summary}"
            )
        if self._stopping.is_set():
            return health.CheckResult(False, f"worker thread stopped; {summary}")
        if not thread.is_alive():
            return health.CheckResult(False, f"worker thread stopped unexpectedly; {summary}")
        return health.CheckResult(True, f"worker thread running; {summary}")

    def _work(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                schedule_periodic_due(self.app)
                ran = run_pending(self.app, limit=1)
            except Exception:
                log.exception("job worker could not claim or run a job")
                ran = 0
            if not ran:
                self._wake.wait(self.poll_seconds)


ENGINES: dict[str, type[JobEngine]] = {
    InlineEngine.code: InlineEngine,
    ThreadEngine.code: ThreadEngine,
}
# Engines whose libraries are optional extras, imported only when chosen.
CELERY = "celery"
ENGINE_CODES = (*ENGINES, CELERY)


def _celery_engine_class() -> type[JobEngine]:
    try:
        from portal.jobs.celery_engine import CeleryEngine
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] not in ("celery", "kombu", "redis"):
            raise
        raise ConfigError(
            f"{SETTING}=celery needs Celery with Redis: install the extra, "
            "pip install 'madoguchi[celery]' (or .[celery] from the source tree)."
        ) from None
    return CeleryEngine


def build_engine(app: Flask) -> JobEngine:
    """Build the engine ``JOBS_ENGINE`` names (``thread``; ``inline`` when testing)."""
    raw = app.config.get(SETTING, os.environ.get(SETTING))
    code = str(raw).strip() if raw is not None and str(raw).strip() else None
    code = code or (InlineEngine.code if app.testing else ThreadEngine.code)
    if code not in ENGINE_CODES:
        raise ConfigError(
            f"{SETTING} must be one of {', '.join(sorted(ENGINE_CODES))}, not {code!r}."
        )
    if code == InlineEngine.code and app.config["PORTAL_ENV"] == "production" and not app.testing:
        raise ConfigError(
            f"{SETTING}=inline is for tests: in production no request may wait for its jobs; "
            "use thread or celery."
        )
    engine_class = _celery_engine_class() if code == CELERY else ENGINES[code]
    return engine_class(app)


def _after_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint was released; the transaction itself has not committed
    job_ids: list[int] = session.info.pop(ENQUEUED_FLAG, [])
    if not job_ids or not has_app_context():
        return
    engine: JobEngine | None = current_app.extensions.get(EXTENSION_KEY)
    if engine is None:
        return
    if session.info.get(RUNNER_FLAG) and engine.runners_drain_follow_ups:
        return  # a runner's own drain loop picks up the jobs its handlers enqueue
    engine.jobs_committed(job_ids)


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(ENQUEUED_FLAG, None)  # rolled back or closed: nothing to run


def _start_engine() -> None:
    job_engine().start()


def init_app(app: Flask) -> None:
    """Build the engine, add its readiness check, and watch the session's commits."""
    engine = build_engine(app)
    app.extensions[EXTENSION_KEY] = engine
    app.config[SETTING] = engine.code
    health.register_readiness_check(app, "jobs", engine.check_config)
    app.before_request(_start_engine)
    # db.session is shared by every app built in this process: listen once.
    if not event.contains(db.session, "after_commit", _after_commit):
        event.listen(db.session, "after_commit", _after_commit)
        event.listen(db.session, "after_transaction_end", _after_transaction_end)


def job_engine() -> JobEngine:
    """The job engine of the current app."""
    return current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]
