"""Jobs are recorded with the caller's transaction, run once, retried with backoff, then dead."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.audit.models import AuditEntry
from portal.database import utcnow
from portal.extensions import db
from portal.jobs.models import DEFAULT_MAX_ATTEMPTS, Job
from portal.jobs.services import (
    RETRY_BASE_SECONDS,
    RETRY_MAX_SECONDS,
    claim,
    claim_next,
    describe_error,
    enqueue,
    retry_delay,
    run_one,
    run_pending,
)
from tests.jobs.support import CALLS, WorkerKilled, effects, enqueue_unobserved, load_job


def _job_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Job))


def test_a_rolled_back_transaction_leaves_no_job(app):
    with app.app_context():
        enqueue(db.session, "test.record", {"n": "1"}, key="test.record:1")
        db.session.rollback()
    assert _job_count(app) == 0
    assert CALLS == []


def test_the_same_key_twice_gives_one_job_that_runs_once(app):
    with app.app_context():
        first = enqueue(db.session, "test.record", {"n": "1"}, key="receipt:MD-2026-000001")
        second = enqueue(db.session, "test.record", {"n": "1"}, key="receipt:MD-2026-000001")
        assert first.id == second.id
        db.session.commit()
        # A retried request after the first one committed: still the same job, not run again.
        again = enqueue(db.session, "test.record", {"n": "1"}, key="receipt:MD-2026-000001")
        db.session.commit()
        assert again.id == first.id
    assert _job_count(app) == 1
    assert CALLS == [{"n": "1"}]
    assert effects(app, "1") == 1


def test_a_key_cannot_name_jobs_of_two_kinds(app):
    with app.app_context():
        enqueue(db.session, "test.record", {"n": "1"}, key="shared-key")
        with pytest.raises(ValueError, match=r"already names a job of kind 'test\.record'"):
            enqueue(db.session, "test.fail", {"n": "1"}, key="shared-key")
        db.session.rollback()


def test_inline_engine_runs_jobs_after_the_commit_and_not_before(app):
    assert app.config["JOBS_ENGINE"] == "inline"
    with app.app_context():
        job = enqueue(db.session, "test.record", {"n": "7"}, key="test.record:7")
        job_id = job.id
        with db.session.begin_nested():  # releasing a savepoint is not the commit
            db.session.execute(text("SELECT 1"))
        db.session.flush()
        assert CALLS == []
        db.session.commit()
        assert CALLS == [{"n": "7"}]
    done = load_job(app, job_id)
    assert done.status == "done"
    assert done.attempts == 1
    assert done.finished_at is not None and done.locked_until is None
    assert effects(app, "7") == 1


def test_a_commit_without_new_jobs_runs_nothing(app):
    enqueue_unobserved(app, "test.record", "8", run_after=utcnow() - timedelta(seconds=1))
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        db.session.commit()
    assert CALLS == []


def test_a_failing_handler_is_retried_with_growing_delays_then_dead(app):
    with app.app_context():
        job_id = enqueue(db.session, "test.fail", {"n": "9"}, key="test.fail:9").id
        db.session.commit()  # the inline engine makes the first attempt here

    for attempt in range(1, DEFAULT_MAX_ATTEMPTS + 1):
        job = load_job(app, job_id)
        assert job.attempts == attempt
        assert job.last_error == "RuntimeError: printer on fire"
        if attempt == DEFAULT_MAX_ATTEMPTS:
            break
        assert job.status == "pending" and job.finished_at is None
        base = min(RETRY_BASE_SECONDS * 2 ** (attempt - 1), RETRY_MAX_SECONDS)
        waited = job.run_after - utcnow()
        assert timedelta(seconds=base - 5) <= waited <= timedelta(seconds=2 * base)
        with app.app_context():
            # Not due before its time, due at it.
            assert claim(db.session, job.run_after - timedelta(seconds=1), 60) is None
            claimed = claim(db.session, job.run_after, 60)
            assert claimed is not None and claimed.id == job_id
            db.session.commit()
        assert run_one(app, job_id) in ("pending", "dead")

    dead = load_job(app, job_id)
    assert dead.status == "dead"
    assert dead.finished_at is not None
    assert len(CALLS) == DEFAULT_MAX_ATTEMPTS
    assert effects(app, "9") == 0  # every attempt's effect was rolled back
    with app.app_context():
        assert claim(db.session, utcnow() + timedelta(days=365), 60) is None


def test_a_job_whose_worker_died_runs_again_after_its_lease_and_its_effect_happens_once(app):
    job_id = enqueue_unobserved(app, "test.dies_once", "10")
    assert claim_next(app, lease_seconds=60) == job_id
    with pytest.raises(WorkerKilled):
        run_one(app, job_id)
    stuck = load_job(app, job_id)
    assert stuck.status == "running" and stuck.locked_until is not None
    assert effects(app, "10") == 0

    with app.app_context():
        assert claim(db.session, stuck.locked_until - timedelta(seconds=1), 60) is None
        again = claim(db.session, stuck.locked_until + timedelta(seconds=1), 60)
        assert again is not None and again.id == job_id and again.attempts == 2
        db.session.commit()
    assert run_one(app, job_id) == "done"
    assert run_one(app, job_id) is None  # finished: a late duplicate does nothing
    assert run_pending(app, limit=10) == 0
    assert effects(app, "10") == 1
    assert len(CALLS) == 2


def test_a_job_whose_worker_died_on_its_last_attempt_is_dead(app):
    job_id = enqueue_unobserved(app, "test.dies_once", "11")
    with app.app_context():
        db.session.get(Job, job_id).max_attempts = 1
        db.session.commit()
    assert claim_next(app, lease_seconds=60) == job_id
    with pytest.raises(WorkerKilled):
        run_one(app, job_id)
    with app.app_context():
        assert claim(db.session, utcnow() + timedelta(seconds=61), 60) is None
        db.session.commit()
    dead = load_job(app, job_id)
    assert dead.status == "dead"
    assert dead.last_error.startswith("LeaseExpired")


def test_a_job_without_a_handler_fails_like_any_other(app):
    job_id = enqueue_unobserved(app, "test.unknown", "12")
    assert run_pending(app, limit=5) == 1
    job = load_job(app, job_id)
    assert job.status == "pending"
    assert job.last_error == "LookupError: no handler is registered for job kind 'test.unknown'"


def test_concurrent_workers_never_claim_the_same_job(app):
    job_ids = {enqueue_unobserved(app, "test.record", str(n)) for n in range(40)}
    workers = 4
    start = threading.Barrier(workers)
    claimed: list[list[int]] = [[] for _ in range(workers)]
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            start.wait()
            while (job_id := claim_next(app, lease_seconds=60)) is not None:
                claimed[index].append(job_id)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    everything = [job_id for ids in claimed for job_id in ids]
    assert len(everything) == len(set(everything))
    assert set(everything) == job_ids


def test_database_errors_are_described_without_their_values(app):
    with app.app_context(), Session(db.engine) as session:
        enqueue(session, "test.record", {"n": "13"}, key="same")
        session.flush()
        session.add(Job(kind="test.record", payload={}, idempotency_key="same"))
        with pytest.raises(IntegrityError) as raised:
            session.flush()
        assert "same" in str(raised.value)
        description = describe_error(raised.value)
    assert description.startswith("IntegrityError: ")
    assert "same" not in description


def test_other_errors_keep_their_class_and_first_line():
    assert describe_error(ValueError("bad\nsecret detail")) == "ValueError: bad"
    assert describe_error(KeyError()) == "KeyError"
    assert len(describe_error(RuntimeError("x" * 2000))) <= 500


@given(attempts=st.integers(min_value=1, max_value=40), jitter=st.floats(0, 1, exclude_max=True))
def test_retry_delays_double_up_to_an_hour_with_jitter(attempts, jitter):
    base = min(RETRY_BASE_SECONDS * 2 ** (attempts - 1), RETRY_MAX_SECONDS)
    delay = retry_delay(attempts, jitter=lambda: jitter).total_seconds()
    assert base <= delay < 2 * base + 1e-6
    assert retry_delay(attempts, jitter=lambda: 0) <= retry_delay(attempts + 1, jitter=lambda: 0)


def test_a_prepared_job_does_its_slow_part_while_others_can_write(app):
    job_id = enqueue_unobserved(app, "test.prepared", "9")
    assert run_pending(app, limit=1) == 1
    assert load_job(app, job_id).status == "done"
    assert CALLS == [{"n": "9", "prepared": "prepared 9"}]
    assert effects(app, "9") == 1
    with app.app_context():
        written = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "test.written_meanwhile")
        ).all()
        assert [entry.subject_id for entry in written] == ["meanwhile-9"]
