"""The receipt of an application: built in a job after the submit commits, never in the request."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from portal.backoffice.models import Application
from portal.backoffice.services import application_by_reference
from portal.catalogue.services import catalogue_for_pins
from portal.definitions.applicability import applicable_procedures
from portal.definitions.expressions import default_context
from portal.definitions.journey import Journey
from portal.documents.receipt import (
    AnswerSection,
    CounterVisit,
    FiledProcedure,
    ReceiptData,
    render_receipt,
)
from portal.documents.storage import file_storage
from portal.jobs.services import job_handler
from portal.resident import representation
from portal.resident.pages import answer_sections
from portal.resident.services import field_specs, load_answers

NEXT_STEPS = {
    "ja": [
        "各担当課が申請内容を確認します。追加の書類や情報が必要な場合は、マイページとメールでお知らせします。",
        "手続ごとの進み具合と結果は、マイページで確認できます。",
    ],
    "en": [
        "Each department checks its part. If it needs anything more, it will tell you on "
        "your applications page and by email.",
        "You can follow each procedure to its decision on your applications page.",
    ],
}
SHARED_TITLE = {"ja": "申請者と出来事", "en": "About you and the event"}


def receipt_data(session: Session, application: Application) -> ReceiptData:
    """Gather what the receipt shows, from the versions the application was filed with."""
    lang = "en" if application.language == "en" else "ja"
    catalogue = catalogue_for_pins(session, application.pins)
    life_event = catalogue.life_event(application.life_event_id)
    procedure_ids = [submission.procedure_id for submission in application.submissions]
    journey = Journey.for_life_event(catalogue, life_event, procedure_ids)
    answers = load_answers(application.answers, field_specs(catalogue, life_event))
    context = default_context(application.submitted_at.date())
    departments = {department.id: department.name.get(lang) for department in catalogue.departments}
    listing = applicable_procedures(catalogue, life_event, answers, context)
    return ReceiptData(
        reference=application.reference,
        submitted_at=application.submitted_at,
        language=lang,
        applicant_name=application.applicant_name,
        filed_for=representation.described(application.representation, lang),
        procedures=[
            FiledProcedure(
                submission.reference,
                catalogue.procedure(submission.procedure_id).model.title.get(lang),
                departments.get(submission.department_id, submission.department_id),
                submission.due_on,
            )
            for submission in application.submissions
        ],
        counter_visits=[
            CounterVisit(
                entry.title.get(lang),
                entry.counter.where.get(lang) if entry.counter else "",
                entry.deadline,
                tuple(item.get(lang) for item in entry.counter.bring) if entry.counter else (),
            )
            for entry in listing.counter
        ],
        next_steps=NEXT_STEPS[lang],
        answer_sections=[
            AnswerSection(section.title, tuple((row.label, row.value) for row in section.rows))
            for section in answer_sections(
                journey, answers, shared_title=SHARED_TITLE[lang], lang=lang, context=context
            )
        ],
    )


def _render_for_job(session: Session, payload: dict[str, Any]) -> bytes | None:
    """The slow part: render the PDF, with no lock held; None when there is nothing to do."""
    application = application_by_reference(session, str(payload["application"]))
    if application is None or application.receipt_key:
        return None
    return render_receipt(
        receipt_data(session, application), timezone=current_app.config["PORTAL_TIMEZONE"]
    )


@job_handler("receipt.render", prepare=_render_for_job)
def store_application_receipt(session: Session, payload: dict[str, Any], pdf: bytes | None) -> None:
    """Store the rendered receipt once; a retried job finds it done and stops."""
    application = application_by_reference(session, str(payload["application"]))
    if pdf is None or application is None or application.receipt_key:
        return
    application.receipt_key = file_storage().put("receipts", pdf, "application/pdf")
