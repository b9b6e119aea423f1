"""The celery engine: committed jobs reach a real Celery worker through a real Redis, once.

Each test runs its own ``redis-server`` and a Celery worker: in this process (Celery's
``start_worker``, so the test's job handlers are known and calls can be counted), or
started as operators start it, ``celery -A portal.jobs.celery_app worker``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker
from celery.signals import worker_ready
from flask import Flask
from sqlalchemy import delete, select

from portal import create_app
from portal.config import ConfigError, load_settings
from portal.extensions import db
from portal.jobs.celery_engine import RELAY_TASK, CeleryEngine, celery_app_of
from portal.jobs.engines import job_engine
from portal.jobs.models import Job
from portal.jobs.services import enqueue, periodic_kinds
from tests.conftest import TEST_SECRET_KEY, app_config
from tests.jobs.redis_server import free_port, running_redis
from tests.jobs.support import (
    CALLS,
    effects,
    enqueue_unobserved,
    load_job,
    wait_until,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with running_redis(tmp_path) as url:
        yield url


def _celery_portal(database_url: str, broker_url: str) -> Flask:
    return create_app(app_config(database_url, JOBS_ENGINE="celery", CELERY_BROKER_URL=broker_url))


def _empty_tables(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(delete(table))
        db.engine.dispose()


@pytest.fixture
def portal(database_url: str, redis_url: str) -> Iterator[Flask]:
    """The portal with JOBS_ENGINE=celery handing jobs to the test's Redis."""
    app = _celery_portal(database_url, redis_url)
    yield app
    _empty_tables(app)


class StartedConsumer:
    """What a starting worker's ``worker_ready`` signal names: its consumer, with its app."""

    def __init__(self, celery: Celery) -> None:
        self.app = celery


def engine_of(app: Flask) -> CeleryEngine:
    with app.app_context():
        engine = job_engine()
    assert isinstance(engine, CeleryEngine)
    return engine


@pytest.fixture
def published(portal: Flask, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The ids the engine hands to the broker, in order."""
    engine = engine_of(portal)
    seen: list[int] = []
    publish = engine.publish

    def noting(job_ids):
        seen.extend(job_ids)
        return publish(job_ids)

    monkeypatch.setattr(engine, "publish", noting)
    return seen


@pytest.fixture
def worker(portal: Flask) -> Iterator[None]:
    """One Celery worker in this process, taking one message at a time, in order."""
    with start_worker(engine_of(portal).celery, pool="solo", perform_ping_check=False):
        yield


def enqueue_committed(app: Flask, kind: str, n: str, **options) -> int:
    """Enqueue in the app's session and commit, as a request does."""
    with app.app_context():
        job_id = enqueue(db.session, kind, {"n": n}, key=f"{kind}:{n}", **options).id
        db.session.commit()
        return job_id


def test_a_committed_job_runs_once_even_when_its_message_comes_twice(portal, published, worker):
    job_id = enqueue_committed(portal, "test.record", "1")
    assert published == [job_id]  # handed over at the commit, not later
    wait_until(lambda: load_job(portal, job_id).status == "done")
    engine_of(portal).publish([job_id])  # the same message again, as a relay run may send
    follower = enqueue_committed(portal, "test.record", "2")
    # One message at a time, in order: once the follower ran, the repeat was taken too.
    wait_until(lambda: load_job(portal, follower).status == "done")
    assert CALLS == [{"n": "1"}, {"n": "2"}]
    assert effects(portal, "1") == 1
    assert load_job(portal, job_id).attempts == 1


def test_a_rolled_back_job_is_never_handed_over_or_run(portal, published, worker):
    with portal.app_context():
        enqueue(db.session, "test.record", {"n": "gone"}, key="test.record:gone")
        db.session.rollback()
    engine_of(portal).relay(due_for=timedelta(0))
    follower = enqueue_committed(portal, "test.record", "after")
    wait_until(lambda: load_job(portal, follower).status == "done")
    assert CALLS == [{"n": "after"}]
    with portal.app_context():
        # Besides the periodic jobs the relay run scheduled, only the follower exists
        # and only it (and they) went to the broker.
        kinds = dict(db.session.execute(select(Job.id, Job.kind)).all())
    assert sorted(kinds.values()) == sorted([*periodic_kinds(), "test.record"])
    assert set(published) == set(kinds)


def test_a_job_whose_hand_over_was_lost_is_run_by_the_relay(portal, published, worker):
    # Committed outside the app's session: no hand-over, as after a crash at the commit.
    job_id = enqueue_unobserved(portal, "test.record", "lost")
    time.sleep(0.3)
    assert published == [] and load_job(portal, job_id).status == "pending"
    engine = engine_of(portal)
    # Beat's relay leaves alone jobs that have been due for less than its period.
    assert engine.relay(due_for=timedelta(minutes=5)) == 0
    engine.celery.send_task(RELAY_TASK, kwargs={"due_for_seconds": 0})
    wait_until(lambda: load_job(portal, job_id).status == "done")
    assert published[-1] == job_id
    assert CALLS == [{"n": "lost"}]


def test_a_starting_worker_asks_for_a_relay_run(portal, published, worker):
    job_id = enqueue_unobserved(portal, "test.record", "left over")
    worker_ready.send(sender=StartedConsumer(engine_of(portal).celery))
    wait_until(lambda: load_job(portal, job_id).status == "done")
    assert CALLS == [{"n": "left over"}]


def test_a_dead_job_stays_dead_whatever_the_broker_carries(portal, published, worker):
    with portal.app_context():
        job = enqueue(db.session, "test.fail", {"n": "1"}, key="test.fail:1")
        job.max_attempts = 1
        job_id = job.id
        db.session.commit()
    wait_until(lambda: load_job(portal, job_id).status == "dead")
    engine = engine_of(portal)
    engine.publish([job_id])
    engine.relay(due_for=timedelta(0))
    follower = enqueue_committed(portal, "test.record", "after")
    wait_until(lambda: load_job(portal, follower).status == "done")
    dead = load_job(portal, job_id)
    assert (dead.status, dead.attempts) == ("dead", 1)
    assert dead.last_error == "RuntimeError: printer on fire"
    assert [call["n"] for call in CALLS] == ["1", "after"]


def test_jobs_a_handler_enqueues_are_handed_over_at_its_commit(portal, published, worker):
    job_id = enqueue_committed(portal, "test.chain", "1")
    wait_until(lambda: load_job(portal, job_id).status == "done")
    with portal.app_context():
        follow_up = db.session.scalars(
            select(Job.id).where(Job.idempotency_key == "test.record:1+1")
        ).one()
    wait_until(lambda: load_job(portal, follow_up).status == "done")
    assert published == [job_id, follow_up]
    assert CALLS == [{"n": "1"}, {"n": "1+1"}]


def test_readiness_says_when_the_broker_is_down_and_jobs_wait_safely(database_url, tmp_path):
    port = free_port()
    app = _celery_portal(database_url, f"redis://127.0.0.1:{port}/0")
    try:
        with running_redis(tmp_path / "first", port):
            ready = app.test_client().get("/readyz")
            assert ready.status_code == 200
            check = ready.get_json()["checks"]["jobs"]
            assert check["ok"] is True
            assert check["detail"].startswith(
                f"celery via redis://127.0.0.1:{port}/0, 0 waiting in the broker; 0 pending"
            )
        # The broker is down: the request that records a job still commits, quickly.
        started = time.monotonic()
        job_id = enqueue_committed(app, "test.record", "while down")
        assert time.monotonic() - started < 5
        assert load_job(app, job_id).status == "pending"
        down = app.test_client().get("/readyz")
        assert down.status_code == 503
        check = down.get_json()["checks"]["jobs"]
        assert check["ok"] is False
        assert check["detail"].startswith(f"celery broker redis://127.0.0.1:{port}/0 unreachable")
        assert "1 pending" in check["detail"]
        # Back again: a starting worker's relay run hands the job over.
        with (
            running_redis(tmp_path / "second", port),
            start_worker(engine_of(app).celery, pool="solo", perform_ping_check=False),
        ):
            worker_ready.send(sender=StartedConsumer(engine_of(app).celery))
            wait_until(lambda: load_job(app, job_id).status == "done")
            assert app.test_client().get("/readyz").status_code == 200
        assert CALLS == [{"n": "while down"}]
    finally:
        _empty_tables(app)


def test_operators_start_workers_with_the_celery_command(database_url, redis_url, tmp_path):
    """``celery -A portal.jobs.celery_app worker`` (prefork) runs what was left waiting."""
    app = _celery_portal(database_url, redis_url)
    try:
        job_id = enqueue_unobserved(app, "test.record", "for the command")
        environment = {
            **os.environ,
            **app_config(database_url, JOBS_ENGINE="celery", CELERY_BROKER_URL=redis_url),
            "PYTHONPATH": str(PROJECT_ROOT),
        }
        worker_process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal.jobs.celery_app",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                "1",
                "--include",
                "tests.jobs.support",
                "--loglevel",
                "WARNING",
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=tmp_path,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / "worker.log").open("wb"),
        )
        try:
            # A prefork worker imports the whole app in each child: on a busy machine
            # (the three test runs of `make test` share its cores) that takes a while.
            wait_until(lambda: load_job(app, job_id).status == "done", timeout=90)
        finally:
            worker_process.terminate()
            worker_process.wait(timeout=30)
        assert effects(app, "for the command") == 1
    finally:
        _empty_tables(app)


def test_workers_refuse_a_portal_without_the_celery_engine(app):
    with pytest.raises(ConfigError, match=r"JOBS_ENGINE must be celery .* not 'inline'"):
        celery_app_of(app)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"JOBS_ENGINE": "celery"}, "CELERY_BROKER_URL must be set when JOBS_ENGINE=celery"),
        (
            {"JOBS_ENGINE": "celery", "CELERY_BROKER_URL": "amqp://guest:secret@mq.example/"},
            "CELERY_BROKER_URL must be a redis:// or rediss:// URL",
        ),
        (
            {"CELERY_BROKER_URL": "redis://:secret@redis.example:99999/0"},
            "CELERY_BROKER_URL must be a redis:// or rediss:// URL",
        ),
        ({"JOBS_RELAY_SECONDS": "0"}, "JOBS_RELAY_SECONDS must be between 1 and 3600"),
    ],
)
def test_bad_broker_settings_stop_the_start_without_showing_the_password(
    environ, message, tmp_path
):
    with pytest.raises(ConfigError, match=message) as refused:
        load_settings({"SECRET_KEY": TEST_SECRET_KEY, **environ}, tmp_path)
    assert "secret" not in str(refused.value)


def test_the_broker_setting_reaches_the_engine_and_hides_its_password(tmp_path):
    url = "rediss://:hunter2-password@redis.city.example:6380/1"
    settings = load_settings(
        {"SECRET_KEY": TEST_SECRET_KEY, "JOBS_ENGINE": "celery", "CELERY_BROKER_URL": url},
        tmp_path,
    )
    config = settings.flask_config()
    assert (config["JOBS_ENGINE"], config["CELERY_BROKER_URL"]) == ("celery", url)
    assert config["JOBS_RELAY_SECONDS"] == 10
    assert "hunter2" not in repr(settings)
