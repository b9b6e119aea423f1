"""``flask jobs``: a worker that stops cleanly, the queue's counts, and retrying dead jobs."""

from __future__ import annotations

from sqlalchemy import update

from portal.database import utcnow
from portal.extensions import db
from portal.jobs.models import Job
from portal.jobs.services import periodic_kinds
from tests.jobs.support import CALLS, effects, enqueue_unobserved, load_job


def _make_dead(app, job_id: int) -> None:
    with app.app_context():
        db.session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(
                status="dead", attempts=8, finished_at=utcnow(), last_error="OSError: disk full"
            )
        )
        db.session.commit()


def test_work_once_runs_the_due_jobs_and_exits(app):
    first = enqueue_unobserved(app, "test.record", "1")
    second = enqueue_unobserved(app, "test.record", "2")
    result = app.test_cli_runner().invoke(args=["jobs", "work", "--once"])
    assert result.exit_code == 0, result.output
    # The two, and the periodic jobs a worker schedules when it starts (draft purge, retention).
    periodic = len(periodic_kinds())
    assert {"drafts.purge", "retention.purge"} <= set(periodic_kinds())
    assert f"stopped after {2 + periodic} jobs" in result.output
    assert {load_job(app, first).status, load_job(app, second).status} == {"done"}


def test_sigterm_lets_the_current_job_finish_then_stops_the_worker(app):
    job_id = enqueue_unobserved(app, "test.sigterm", "3")
    # Without --once the worker would poll for ever; SIGTERM during the job ends it.
    result = app.test_cli_runner().invoke(args=["jobs", "work", "--interval", "0.1"])
    assert result.exit_code == 0, result.output
    assert "stopped after 1 job." in result.output
    assert CALLS == [{"n": "3"}]
    assert load_job(app, job_id).status == "done"
    assert effects(app, "3") == 1


def test_list_counts_jobs_and_shows_the_dead_with_their_error(app):
    enqueue_unobserved(app, "test.record", "4")
    dead = enqueue_unobserved(app, "test.record", "5")
    _make_dead(app, dead)
    result = app.test_cli_runner().invoke(args=["jobs", "list"])
    assert result.exit_code == 0, result.output
    assert "pending  1" in result.output and "dead     1" in result.output
    assert f"  {dead}  test.record  8 attempts" in result.output
    assert "OSError: disk full" in result.output


def test_retry_puts_a_dead_job_back_with_fresh_attempts(app):
    job_id = enqueue_unobserved(app, "test.record", "6")
    _make_dead(app, job_id)
    result = app.test_cli_runner().invoke(args=["jobs", "retry", str(job_id)])
    assert result.exit_code == 0, result.output
    assert f"Job {job_id} (test.record) is pending again." in result.output
    job = load_job(app, job_id)
    assert (job.status, job.attempts, job.finished_at) == ("pending", 0, None)


def test_retry_refuses_a_job_that_is_not_dead_or_does_not_exist(app):
    job_id = enqueue_unobserved(app, "test.record", "7")
    runner = app.test_cli_runner()
    not_dead = runner.invoke(args=["jobs", "retry", str(job_id)])
    assert not_dead.exit_code == 1
    assert f"job {job_id} is pending, not dead" in not_dead.output
    missing = runner.invoke(args=["jobs", "retry", "999999"])
    assert missing.exit_code == 1
    assert "there is no job 999999" in missing.output
