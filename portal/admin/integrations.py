"""What administrators see and do about the portal's integrations: API clients, webhooks,
and jobs that ran out of attempts.

Creating and revoking clients and adding webhooks go through `portal.api.services`,
the same functions ``flask api`` uses; replaying a dead job goes through
``retry_dead_job``, as ``flask jobs retry`` does. This module adds the listing and the
audit entry for a replay. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from portal.api.models import ApiClient
from portal.audit.services import record_event
from portal.jobs.models import Job
from portal.jobs.services import dead_jobs, retry_dead_job

DEAD_JOBS_SHOWN = 100


def api_clients(session: Session) -> list[ApiClient]:
    """Every API client with its webhook endpoints, live ones first, newest first."""
    return list(
        session.scalars(
            select(ApiClient)
            .options(selectinload(ApiClient.endpoints))
            .order_by(ApiClient.revoked_at.is_not(None), ApiClient.created_at.desc())
        )
    )


def dead_letters(session: Session) -> list[Job]:
    """The jobs that used all their attempts, most recently failed first."""
    return dead_jobs(session, limit=DEAD_JOBS_SHOWN)


@dataclass
class Replay:
    """Which dead jobs were queued again, and which could not be (with why)."""

    queued: list[Job] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)


def replay_dead_jobs(
    session: Session, job_ids: Iterable[int], *, actor: str, now: datetime
) -> Replay:
    """Queue dead jobs again with fresh attempts, as ``flask jobs retry`` does, and audit each.

    A job that is gone or no longer dead (another admin replayed it) is reported in
    ``refused`` and left alone.
    """
    replay = Replay()
    for job_id in dict.fromkeys(job_ids):
        try:
            job = retry_dead_job(session, job_id, now)
        except (LookupError, ValueError) as error:
            replay.refused.append((job_id, str(error)))
            continue
        record_event(
            session,
            actor=actor,
            action="job.replayed",
            subject_type="job",
            subject_id=str(job.id),
            details={"kind": job.kind, "last_error": job.last_error},
        )
        replay.queued.append(job)
    return replay
