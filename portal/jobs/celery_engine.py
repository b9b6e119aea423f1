"""The ``celery`` job engine: Celery workers run the jobs, a Redis server carries their ids.

For production with several app servers. The ``jobs`` table stays the record of the
work: a request enqueues its jobs in its own transaction as with every engine, and only
after the commit does this engine hand the new jobs' ids to the broker (task
``madoguchi.run_job``). A worker that receives an id claims that job under its lease and
runs it with the same code as ``flask jobs work`` (``run_job_if_due``), so idempotency
keys, retries with backoff, leases and the dead state behave exactly as with the
embedded engines, and a message delivered twice runs the job once.

A broker message is only a wake-up, never the job itself. Whatever the broker never got
(a crash between the commit and the hand-over, the broker down, a retry that has come
due, a worker that died holding a lease) is handed over again by the relay
(``madoguchi.relay_jobs``): Celery beat sends it every ``JOBS_RELAY_SECONDS``, and every
worker sends it once when it starts. The relay also enqueues the periodic jobs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

from celery import Celery
from celery.signals import worker_process_init, worker_ready
from flask import Flask
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from portal import health
from portal.config import ConfigError
from portal.database import utcnow
from portal.extensions import db
from portal.jobs.engines import EXTENSION_KEY, STOP_TIMEOUT_SECONDS, JobEngine
from portal.jobs.services import (
    due_job_ids,
    job_counts,
    oldest_due_seconds,
    run_job_if_due,
    schedule_periodic_due,
)

log = logging.getLogger("portal.jobs")

QUEUE = "madoguchi"
RUN_TASK = "madoguchi.run_job"
RELAY_TASK = "madoguchi.relay_jobs"
# At most this many ids per relay run; the next run hands over the rest.
RELAY_BATCH = 500
# A request hands its jobs over after its commit: if Redis does not answer quickly the
# request goes on and the relay hands the jobs over later.
CONNECT_TIMEOUT_SECONDS = 2
SOCKET_TIMEOUT_SECONDS = 5
PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 0.5,
}


def describe_broker(url: str) -> str:
    """The broker's address without its password, for operators."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"


def make_celery(broker_url: str, relay_seconds: int) -> Celery:
    """A Celery app for the portal's queue: JSON ids only, no results, the relay on beat."""
    celery = Celery("madoguchi", broker=broker_url, set_as_current=False)
    celery.conf.update(
        task_default_queue=QUEUE,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        # The outbox is the record of the work, so a message is acknowledged when it is
        # received: one lost with a dying worker is handed over again by the relay.
        task_acks_late=False,
        worker_prefetch_multiplier=1,
        worker_send_task_events=False,
        # The portal's own JSON-line logging stays in charge.
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=CONNECT_TIMEOUT_SECONDS,
        broker_transport_options={
            "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "socket_timeout": SOCKET_TIMEOUT_SECONDS,
        },
        task_publish_retry_policy=PUBLISH_RETRY_POLICY,
        beat_schedule={
            "madoguchi-relay": {
                "task": RELAY_TASK,
                "schedule": float(relay_seconds),
                "kwargs": {"due_for_seconds": relay_seconds},
            }
        },
        enable_utc=True,
        timezone="UTC",
    )
    return celery


class CeleryEngine(JobEngine):
    """Hands the ids of committed jobs to Celery workers through the broker."""

    code: ClassVar[str] = "celery"
    # Jobs a handler enqueues are handed over at its commit like any others.
    runners_drain_follow_ups: ClassVar[bool] = False

    def __init__(self, app: Flask) -> None:
        super().__init__(app)
        self.broker_url = str(app.config["CELERY_BROKER_URL"])
        self.relay_seconds = int(app.config["JOBS_RELAY_SECONDS"])
        self.celery = make_celery(self.broker_url, self.relay_seconds)
        self._register_tasks()
        # Signals are process-wide; these weak bound methods go away with the engine.
        worker_ready.connect(self._relay_when_worker_ready)
        worker_process_init.connect(self._fresh_database_connections)

    def _register_tasks(self) -> None:
        app = self.app
        # shared=False: Celery would otherwise add these tasks, bound to this portal, to
        # every Celery app made later in the process.

        @self.celery.task(name=RUN_TASK, ignore_result=True, shared=False)
        def run_job(job_id: int) -> None:
            """Run the job this message names, if it is still due."""
            run_job_if_due(app, int(job_id))

        @self.celery.task(name=RELAY_TASK, ignore_result=True, shared=False)
        def relay_jobs(due_for_seconds: float = 0) -> None:
            """Hand over every job due for ``due_for_seconds`` and schedule periodic jobs."""
            self.relay(due_for=timedelta(seconds=float(due_for_seconds)))

    def _relay_when_worker_ready(self, sender: Any = None, **_: Any) -> None:
        """A starting worker asks for one relay run: jobs left from before it started."""
        if getattr(sender, "app", None) is self.celery:
            self.celery.send_task(RELAY_TASK, kwargs={"due_for_seconds": 0})

    def _fresh_database_connections(self, **_: Any) -> None:
        """A forked worker process must not share its parent's database connections."""
        with self.app.app_context():
            db.engine.dispose(close=False)

    def publish(self, job_ids: Sequence[int]) -> int:
        """Hand the jobs' ids to the broker and return how many went.

        A broker that cannot be reached is logged, not raised: the jobs are committed and
        the relay hands them over once it answers again.
        """
        sent = 0
        try:
            with self.celery.producer_or_acquire() as producer:
                for job_id in job_ids:
                    self.celery.send_task(RUN_TASK, args=[int(job_id)], producer=producer)
                    sent += 1
        except Exception as error:
            log.warning(
                "jobs not handed to the broker; the relay hands them over later",
                extra={"jobs": len(job_ids) - sent, "error": type(error).__name__},
            )
        return sent

    def relay(self, *, due_for: timedelta) -> int:
        """Schedule the periodic jobs, then hand over the jobs due for at least ``due_for``."""
        schedule_periodic_due(self.app)
        with self.app.app_context(), Session(db.engine) as session:
            job_ids = due_job_ids(session, utcnow(), due_for=due_for, limit=RELAY_BATCH)
        return self.publish(job_ids) if job_ids else 0

    def jobs_committed(self, job_ids: Sequence[int]) -> None:
        self.publish(job_ids)

    def start(self) -> None:
        """Nothing runs in an app server: Celery workers run the jobs."""

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """Nothing to stop in an app server: Celery workers stop on their own signals."""

    def broker_queue_length(self) -> int:
        """How many messages wait in the broker for a worker; raises when it is unreachable."""
        with self.celery.connection_for_write() as connection:
            connection.ensure_connection(
                max_retries=1, interval_start=0, timeout=CONNECT_TIMEOUT_SECONDS
            )
            return int(connection.default_channel.queue_declare(queue=QUEUE).message_count)

    def check_config(self) -> health.CheckResult:
        broker = describe_broker(self.broker_url)
        try:
            with Session(db.engine) as session:
                counts = job_counts(session)
                waiting = oldest_due_seconds(session, utcnow())
        except SQLAlchemyError as error:
            return health.CheckResult(False, f"jobs unreadable: {type(error).__name__}")
        summary = f"{counts['pending']} pending, {counts['running']} running, {counts['dead']} dead"
        if waiting is not None:
            summary += f", the oldest due for {waiting:.0f} s"
        try:
            length = self.broker_queue_length()
        except Exception as error:
            return health.CheckResult(
                False, f"celery broker {broker} unreachable: {type(error).__name__}; {summary}"
            )
        return health.CheckResult(
            True, f"celery via {broker}, {length} waiting in the broker; {summary}"
        )


def celery_app_of(flask_app: Flask) -> Celery:
    """The Celery app of a portal built with ``JOBS_ENGINE=celery``; ConfigError otherwise."""
    engine = flask_app.extensions[EXTENSION_KEY]
    if not isinstance(engine, CeleryEngine):
        raise ConfigError(
            "JOBS_ENGINE must be celery (with CELERY_BROKER_URL) to run Celery workers, "
            f"not {engine.code!r}."
        )
    return engine.celery
