"""The decision notice of a submission: enqueued with the decision, rendered after it commits.

The PDF is rendered in the job ``decision.render`` in the application's language, from
the definition versions the application was filed with, and stored once; the resident's
application page offers it as soon as ``Submission.decision_key`` is set.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.backoffice.models import Submission
from portal.catalogue.services import catalogue_for_pins
from portal.documents.decision import DecisionData, render_decision
from portal.documents.storage import file_storage
from portal.jobs.models import Job
from portal.jobs.services import enqueue, job_handler
from portal.resident import representation

JOB_KIND = "decision.render"
# The decisions a notice is issued for; "completed" ends a notification without one.
NOTICE_OUTCOMES = ("approved", "rejected")


def enqueue_decision_notice(session: Session, submission: Submission) -> Job | None:
    """Record, in the caller's transaction, that the submission's notice is to be rendered."""
    if submission.status not in NOTICE_OUTCOMES:
        return None
    return enqueue(
        session,
        JOB_KIND,
        {"submission": submission.reference},
        key=f"decision:{submission.reference}",
    )


def decision_data(session: Session, submission: Submission) -> DecisionData:
    """Gather what the notice shows, in the application's language."""
    application = submission.application
    lang = "en" if application.language == "en" else "ja"
    catalogue = catalogue_for_pins(session, application.pins)
    departments = {department.id: department.name.get(lang) for department in catalogue.departments}
    assert submission.decided_at is not None, "a decided submission has its decision time"
    return DecisionData(
        reference=submission.reference,
        application_reference=application.reference,
        language=lang,
        outcome=submission.status,  # type: ignore[arg-type]
        decided_at=submission.decided_at,
        submitted_at=application.submitted_at,
        applicant_name=application.applicant_name,
        procedure_title=catalogue.procedure(submission.procedure_id).model.title.get(lang),
        department=departments.get(submission.department_id, submission.department_id),
        reason=submission.decision_reason or "",
        filed_for=representation.described(application.representation, lang),
    )


def _submission(session: Session, reference: str) -> Submission:
    submission = session.scalars(
        select(Submission).where(Submission.reference == reference)
    ).first()
    if submission is None:
        raise LookupError(f"there is no submission {reference}")
    return submission


def _render_for_job(session: Session, payload: dict[str, Any]) -> bytes | None:
    """The slow part: render the notice, with no lock held; None when there is nothing to do."""
    submission = _submission(session, str(payload["submission"]))
    if submission.decision_key or submission.status not in NOTICE_OUTCOMES:
        return None
    return render_decision(
        decision_data(session, submission), timezone=current_app.config["PORTAL_TIMEZONE"]
    )


@job_handler(JOB_KIND, prepare=_render_for_job)
def store_decision_notice(session: Session, payload: dict[str, Any], pdf: bytes | None) -> None:
    """Store the rendered notice once; a retried job finds it done and stops."""
    submission = _submission(session, str(payload["submission"]))
    if pdf is None or submission.decision_key:
        return
    submission.decision_key = file_storage().put("decisions", pdf, "application/pdf")
