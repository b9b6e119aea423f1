"""Delete or anonymise decided applications' personal data when their periods end.

Each procedure's definition says how long (`retention`, see
`portal.definitions.schema.Retention`); periods count from the decision (for a
withdrawal, from the day it was withdrawn). Each step happens once and is audited:

- attachments: files the resident uploaded, also with replies, after `attachments_days`;
- register extract: the values read from the registers, once every submission of the
  application is past `register_extract_days`;
- anonymisation: after `years` (`rejected_years` for refusals and withdrawals) a
  submission's answers, decision reason, messages and decision notice go; once every
  submission of an application is anonymised, the application's answers, register,
  name, representation and receipt go too.

What the statistics need stays: dates, statuses, procedures, departments. Undecided
submissions are never touched; drafts have their own lifetime (`drafts.purge`). Files are
deleted by a `files.delete` job enqueued in the same transaction, so a rolled-back purge
never leaves records pointing at deleted files.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, selectinload

from portal.audit.services import record_event
from portal.backoffice.models import Application, Submission
from portal.backoffice.workflow import CLOSED
from portal.catalogue.models import DefinitionVersion
from portal.database import utcnow
from portal.definitions.loader import load_text
from portal.definitions.schema import Procedure, Retention
from portal.definitions.source import DefinitionError
from portal.documents.storage import file_storage
from portal.jobs.services import enqueue, job_handler, periodic_job

log = logging.getLogger(__name__)

REFUSED = frozenset({"rejected", "withdrawn"})
ACTION = "retention.applied"
DELETE_FILES_JOB = "files.delete"
BATCH_SIZE = 200


def add_years(moment: datetime, years: int) -> datetime:
    """The same day and time `years` later (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


@dataclass(frozen=True)
class Due:
    """When each deletion falls due for one decided submission."""

    attachments: datetime
    register_extract: datetime
    anonymise: datetime


def due_dates(retention: Retention, status: str, closed_at: datetime) -> Due:
    """The deadlines of a submission closed (decided or withdrawn) at `closed_at`."""
    years = retention.rejected_years if status in REFUSED else None
    anonymise = add_years(closed_at, years or retention.years)

    def sooner(days: int | None) -> datetime:
        return min(closed_at + timedelta(days=days), anonymise) if days else anonymise

    return Due(
        attachments=sooner(retention.attachments_days),
        register_extract=sooner(retention.register_extract_days),
        anonymise=anonymise,
    )


@dataclass
class PurgeReport:
    """What one purge did (or, on a dry run, would do)."""

    attachments_removed: list[str] = field(default_factory=list)
    registers_removed: list[str] = field(default_factory=list)
    submissions_anonymised: list[str] = field(default_factory=list)
    applications_anonymised: list[str] = field(default_factory=list)
    files_to_delete: int = 0
    # Applications left as they are because a pinned procedure version could not be read.
    skipped: list[str] = field(default_factory=list)


class _Retentions:
    """Each procedure version's retention, read once per purge."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._known: dict[int, Retention | None] = {}

    def of(self, version_id: int) -> Retention | None:
        if version_id not in self._known:
            version = self._session.get(DefinitionVersion, version_id)
            retention = None
            if version is not None:
                try:
                    model = load_text(version.source_text, version.source_name).model
                except DefinitionError:
                    model = None
                if isinstance(model, Procedure):
                    retention = model.retention
            self._known[version_id] = retention
        return self._known[version_id]


def _closed_at(submission: Submission) -> datetime | None:
    """When the submission was decided, or withdrawn."""
    if submission.decided_at is not None:
        return submission.decided_at
    withdrawn = [change.at for change in submission.changes if change.to_status == "withdrawn"]
    return max(withdrawn) if withdrawn else None


def _keys(documents: Iterable[dict[str, Any]]) -> set[str]:
    return {document["key"] for document in documents if document.get("key")}


def _removed(documents: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Document entries without their file: which document it was, and that it is gone."""
    return [
        {**({"id": document["id"]} if "id" in document else {}), "removed": True}
        for document in documents
    ]


def _remove_attachments(submission: Submission) -> set[str]:
    """Drop the submission's files from its records; return their storage keys."""
    keys = _keys(submission.documents)
    submission.documents = _removed(submission.documents)
    for message in submission.messages:
        keys |= _keys(message.documents)
        message.documents = _removed(message.documents)
    return keys


def _anonymise_submission(submission: Submission, now: datetime) -> set[str]:
    keys = set()
    if submission.attachments_removed_at is None:
        keys |= _remove_attachments(submission)
        submission.attachments_removed_at = now
    if submission.decision_key:
        keys.add(submission.decision_key)
        submission.decision_key = None
    submission.answers = {}
    submission.decision_reason = None
    submission.proposal_reason = None
    for message in submission.messages:
        message.body = ""
    submission.anonymised_at = now
    return keys


def _anonymise_application(application: Application, now: datetime) -> set[str]:
    keys = {application.receipt_key} if application.receipt_key else set()
    application.receipt_key = None
    application.answers = {}
    application.register = {}
    application.register_removed_at = application.register_removed_at or now
    application.applicant_name = ""
    application.representation = None
    application.private_services = None
    application.anonymised_at = now
    return keys


def _still_referenced(application: Application) -> set[str]:
    """Storage keys some record of the application still points at."""
    keys = {application.receipt_key} if application.receipt_key else set()
    for submission in application.submissions:
        keys |= _keys(submission.documents)
        if submission.decision_key:
            keys.add(submission.decision_key)
        for message in submission.messages:
            keys |= _keys(message.documents)
    return keys


def _apply(
    application: Application, dues: dict[int, Due], now: datetime, report: PurgeReport
) -> tuple[set[str], dict[str, Any]]:
    """Carry out every deletion that is due; return the storage keys no record needs."""
    freed: set[str] = set()
    done: dict[str, Any] = {}
    for submission in application.submissions:
        due = dues[submission.id]
        if submission.anonymised_at is None and now >= due.anonymise:
            freed |= _anonymise_submission(submission, now)
            report.submissions_anonymised.append(submission.reference)
            done.setdefault("anonymised", []).append(submission.reference)
        elif submission.attachments_removed_at is None and now >= due.attachments:
            freed |= _remove_attachments(submission)
            submission.attachments_removed_at = now
            report.attachments_removed.append(submission.reference)
            done.setdefault("attachments", []).append(submission.reference)
    if application.register_removed_at is None and all(
        now >= due.register_extract for due in dues.values()
    ):
        application.register = {}
        application.register_removed_at = now
        report.registers_removed.append(application.reference)
        done["register_extract"] = True
    if all(submission.anonymised_at is not None for submission in application.submissions):
        freed |= _anonymise_application(application, now)
        report.applications_anonymised.append(application.reference)
        done["application"] = True
    return freed - _still_referenced(application), done


def _candidates(session: Session, after_id: int) -> list[Application]:
    """The next batch of not yet anonymised applications whose submissions are all closed."""
    open_submission = exists().where(
        Submission.application_id == Application.id, Submission.status.not_in(CLOSED)
    )
    return list(
        session.scalars(
            select(Application)
            .where(Application.anonymised_at.is_(None), Application.id > after_id, ~open_submission)
            .order_by(Application.id)
            .limit(BATCH_SIZE)
            .options(
                selectinload(Application.submissions).selectinload(Submission.messages),
                selectinload(Application.submissions).selectinload(Submission.changes),
            )
        )
    )


def _batches(session: Session) -> Iterator[list[Application]]:
    after_id = 0
    while batch := _candidates(session, after_id):
        yield batch
        after_id = batch[-1].id


def _dues(application: Application, retentions: _Retentions) -> dict[int, Due] | None:
    """Each submission's deadlines, or None when a pinned version cannot be read."""
    dues: dict[int, Due] = {}
    for submission in application.submissions:
        retention = retentions.of(submission.procedure_version_id)
        closed_at = _closed_at(submission)
        if retention is None or closed_at is None:
            return None
        dues[submission.id] = due_dates(retention, submission.status, closed_at)
    return dues


def purge(session: Session, now: datetime, *, actor: str = "system") -> PurgeReport:
    """Apply every retention period that has ended, in the caller's transaction (no commit).

    Files are deleted by a `files.delete` job that runs after the commit.
    """
    report = PurgeReport()
    retentions = _Retentions(session)
    for batch in _batches(session):
        for application in batch:
            dues = _dues(application, retentions)
            if dues is None:
                log.warning("retention skipped %s: a version cannot be read", application.reference)
                report.skipped.append(application.reference)
                continue
            freed, done = _apply(application, dues, now, report)
            if done:
                _record(session, application, done, freed, actor)
                report.files_to_delete += len(freed)
        session.flush()
    return report


def _record(
    session: Session, application: Application, done: dict[str, Any], freed: set[str], actor: str
) -> None:
    """Audit what was deleted and hand the files to the delete job."""
    record_event(
        session,
        actor=actor,
        action=ACTION,
        subject_type="application",
        subject_id=application.reference,
        details={**done, "files": len(freed)},
    )
    if freed:
        keys = sorted(freed)
        digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]
        enqueue(
            session,
            DELETE_FILES_JOB,
            {"keys": keys},
            key=f"{DELETE_FILES_JOB}:{application.reference}:{digest}",
        )


@job_handler(DELETE_FILES_JOB)
def delete_files_job(session: Session, payload: dict[str, Any]) -> None:
    """Delete stored files no record points at any more (deleting a missing one is fine)."""
    storage = file_storage()
    for key in payload["keys"]:
        storage.delete(key)


@periodic_job("retention.purge", every_minutes=24 * 60)
def purge_job(session: Session, payload: dict[str, Any]) -> None:
    """Daily: every retention period that ended since yesterday is applied."""
    purge(session, utcnow())
