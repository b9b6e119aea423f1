"""``flask jobs``: a worker process for scale-out, and the queue's state for operators."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click
from flask import current_app
from flask.cli import AppGroup

from portal.database import utcnow
from portal.extensions import db
from portal.jobs.services import dead_jobs, job_counts, retry_dead_job, work

jobs_cli = AppGroup("jobs", help="Run and inspect the jobs that follow requests.")


@jobs_cli.command("work")
@click.option("--once", is_flag=True, help="Run the jobs that are due now, then exit.")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1, max=3600),
    default=2.0,
    show_default=True,
    help="Seconds to wait before looking again when no job is due.",
)
def work_command(once: bool, interval: float) -> None:
    """Run jobs until stopped; SIGTERM or Ctrl-C lets the current job finish first."""
    stop = threading.Event()

    def request_stop(_signal: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {
        number: signal.signal(number, request_stop) for number in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        ran = work(current_app._get_current_object(), stop=stop, once=once, interval=interval)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    click.echo(f"Jobs worker stopped after {ran} job{'s' if ran != 1 else ''}.")


@jobs_cli.command("list")
def list_command() -> None:
    """Count the jobs in each status and show the dead ones with their last error."""
    for status, count in job_counts(db.session).items():
        click.echo(f"{status:<8} {count}")
    dead = dead_jobs(db.session)
    if dead:
        click.echo("\nDead jobs (`flask jobs retry ID` queues one again):")
    for job in dead:
        finished = job.finished_at.isoformat(timespec="seconds") if job.finished_at else "-"
        click.echo(
            f"  {job.id}  {job.kind}  {job.attempts} attempts  {finished}  {job.last_error or ''}"
        )


@jobs_cli.command("retry")
@click.argument("job_id", type=int)
def retry_command(job_id: int) -> None:
    """Queue a dead job again with a fresh set of attempts."""
    try:
        job = retry_dead_job(db.session, job_id, utcnow())
    except (LookupError, ValueError) as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Job {job.id} ({job.kind}) is pending again.")
