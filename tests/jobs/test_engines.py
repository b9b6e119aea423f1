"""Engines: chosen by JOBS_ENGINE, and the thread engine drains jobs in the background."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from portal import create_app
from portal.config import ConfigError
from portal.extensions import db
from portal.jobs.engines import (
    EXTENSION_KEY,
    InlineEngine,
    ThreadEngine,
    build_engine,
    job_engine,
)
from portal.jobs.services import enqueue
from tests.conftest import app_config
from tests.jobs.support import CALLS, effects, enqueue_unobserved, load_job, wait_until


@pytest.fixture
def thread_engine(app: Flask) -> Iterator[ThreadEngine]:
    """The test app with a thread engine whose 30 s poll is far longer than any test."""
    engine = ThreadEngine(app, poll_seconds=600)
    app.extensions[EXTENSION_KEY] = engine
    yield engine
    engine.stop(timeout=10)


def test_the_thread_engine_starts_with_the_first_request_and_runs_leftover_jobs(app, thread_engine):
    job_id = enqueue_unobserved(app, "test.record", "1")
    assert CALLS == []
    with app.app_context():
        assert "starts with the first request" in thread_engine.check_config().detail
    assert app.test_client().get("/healthz").status_code == 200
    wait_until(lambda: load_job(app, job_id).status == "done")
    assert effects(app, "1") == 1

    def settled():
        # The worker also runs the periodic jobs it schedules when it starts.
        with app.app_context():
            return thread_engine.check_config()

    wait_until(lambda: settled().detail.startswith("worker thread running; 0 pending"))
    assert settled().ok


def test_a_commit_that_enqueued_jobs_wakes_the_thread(app, thread_engine):
    thread_engine.start()
    with app.app_context():
        job_id = enqueue(db.session, "test.record", {"n": "2"}, key="test.record:2").id
        db.session.commit()
    # The poll is 600 s away: only the wake-up can have run it.
    wait_until(lambda: load_job(app, job_id).status == "done")
    assert CALLS == [{"n": "2"}]


def test_stopping_the_thread_engine_ends_its_thread(app, thread_engine):
    thread_engine.start()
    thread_engine.stop(timeout=10)
    with app.app_context():
        job_id = enqueue(db.session, "test.record", {"n": "3"}, key="test.record:3").id
        db.session.commit()
        result = thread_engine.check_config()
    assert not result.ok and result.detail.startswith("worker thread stopped;")
    assert load_job(app, job_id).status == "pending"
    assert CALLS == []


def test_jobs_engine_defaults_to_inline_when_testing_and_thread_otherwise(
    database_url, monkeypatch
):
    monkeypatch.delenv("JOBS_ENGINE", raising=False)
    testing = create_app(app_config(database_url))
    served = create_app(app_config(database_url, TESTING="0"))
    with testing.app_context():
        assert isinstance(job_engine(), InlineEngine)
    with served.app_context():
        assert isinstance(job_engine(), ThreadEngine)
        assert served.config["JOBS_ENGINE"] == "thread"
    monkeypatch.setenv("JOBS_ENGINE", "thread")
    with create_app(app_config(database_url)).app_context():
        assert isinstance(job_engine(), ThreadEngine)


@pytest.mark.parametrize(
    ("engine", "environment", "message"),
    [
        ("mq", "development", "JOBS_ENGINE must be one of celery, inline, thread, not 'mq'"),
        ("inline", "production", "JOBS_ENGINE=inline is for tests"),
    ],
)
def test_bad_engine_settings_stop_the_start(engine, environment, message):
    app = Flask("settings")
    app.config.update(JOBS_ENGINE=engine, PORTAL_ENV=environment)
    with pytest.raises(ConfigError, match=message):
        build_engine(app)


def test_the_thread_engine_is_accepted_in_production():
    app = Flask("settings")
    app.config.update(PORTAL_ENV="production")
    assert isinstance(build_engine(app), ThreadEngine)


def test_readiness_shows_the_jobs_and_the_storage(client):
    body = client.get("/readyz").get_json()
    assert body["checks"]["jobs"] == {
        "ok": True,
        "detail": "inline, after each commit; 0 pending, 0 running, 0 dead",
    }
    assert body["checks"]["storage"]["ok"] is True
