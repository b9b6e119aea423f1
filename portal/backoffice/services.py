"""Filing: turn a finished draft into one application with one submission per procedure.

Everything happens in the caller's transaction — the application, every submission
routed to its queue, the audit entries and the follow-up jobs (receipt, emails, webhooks
and the private services the resident asked to tell) — so a submit is all or nothing,
and the jobs run only after it commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from portal.audit.services import record_event
from portal.backoffice.models import Application, ReferenceCounter, Submission
from portal.definitions.catalogue import TRIAGE_QUEUE
from portal.definitions.expressions import EvalContext
from portal.definitions.fields import dump_value, stored_value
from portal.definitions.journey import Errors
from portal.definitions.routing import due_date, required_documents, route
from portal.definitions.sealing import unsealed
from portal.resident.representation import (
    DOCUMENT_KEY,
    POWER_OF_ATTORNEY_DOCUMENT,
    representing,
)

REFERENCE_PREFIX = "MD"


class SubmitRefused(Exception):
    """The draft cannot be filed as it is; `problems` says where."""

    def __init__(self, problems: Errors | Mapping[str, Sequence[object]]) -> None:
        super().__init__(", ".join(sorted(problems)))
        self.problems = problems


@dataclass(frozen=True)
class Filed:
    """The application created, or the one a repeated submit already created."""

    application: Application
    created: bool


def next_application_reference(session: Session, year: int) -> str:
    """Give out the next application number of the year, e.g. ``MD-2026-000123``.

    One upsert starts the year's counter at 1 or counts it on, in the caller's
    transaction: PostgreSQL locks the row until commit and SQLite's writers are
    serialised by ``BEGIN IMMEDIATE``, so two submits never get the same number. When
    the year's first submits race to make the row, PostgreSQL makes the later ones wait
    for the first and they count on from its number instead of failing.
    """
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    number = session.execute(
        insert(ReferenceCounter)
        .values(year=year, last_number=1)
        .on_conflict_do_update(
            index_elements=["year"], set_={"last_number": ReferenceCounter.last_number + 1}
        )
        .returning(ReferenceCounter.last_number)
    ).scalar_one()
    return f"{REFERENCE_PREFIX}-{year}-{number:06d}"


def application_for_draft(session: Session, draft_id: str) -> Application | None:
    """The application a draft was already filed as, if any."""
    return session.scalars(select(Application).where(Application.draft_id == draft_id)).first()


def application_by_reference(session: Session, reference: str) -> Application | None:
    """An application by its human reference number."""
    return session.scalars(select(Application).where(Application.reference == reference)).first()


def _department_of(queue_id: str) -> str:
    return TRIAGE_QUEUE if queue_id == TRIAGE_QUEUE else queue_id.split(".", 1)[0]


def file_draft(
    session: Session,
    state: Any,
    *,
    applicant_id: int,
    applicant_name: str,
    language: str,
    now: datetime,
    context: EvalContext,
    timezone: str,
    assisted_by: int | None = None,
    identity_check: Mapping[str, Any] | None = None,
) -> Filed:
    """File a draft: validate it all once more, then create the application and cases.

    ``state`` is a `portal.resident.services.DraftState`. Locked register values are
    compared with what the register gave; a difference refuses the submit. A clerk who
    files for a resident at the counter is ``assisted_by``, with the ``identity_check``
    they recorded: the clerk is the actor of the audit entry, the resident the applicant.
    """
    from portal.api.webhooks import notify_private_services, notify_webhooks_for_all
    from portal.jobs.services import enqueue
    from portal.notifications.services import notify
    from portal.resident import prefill
    from portal.resident.services import chosen_private_services, field_specs

    existing = application_for_draft(session, state.draft.id)
    if existing is not None:
        return Filed(existing, created=False)

    journey = state.form
    answers = journey.prune(state.answers, context)
    problems = journey.validate_all(answers, context)
    register = prefill.register_state(state)
    for field_id, origin in register["provenance"].items():
        if origin["editability"] != "locked" or field_id not in answers:
            continue
        if dump_value(journey.field_spec(field_id), answers[field_id]) != unsealed(origin["value"]):
            problems.setdefault(field_id, []).append("locked_value_changed")  # type: ignore[arg-type]
    from portal.resident.filers import procedures_not_allowed

    not_allowed = procedures_not_allowed(journey, register, answers)
    if not_allowed:
        problems.setdefault("procedures", []).extend(  # type: ignore[arg-type]
            f"not_allowed:{procedure_id}" for procedure_id in not_allowed
        )
    supplied = state.draft.documents or {}
    exited = set(journey.exited_procedures(answers, context))
    for procedure in journey.procedures:
        if procedure.id in exited:
            continue
        for document in required_documents(procedure, answers, context):
            if not supplied.get(f"{procedure.id}.{document.id}"):
                problems.setdefault("documents", []).append(  # type: ignore[arg-type]
                    f"missing:{procedure.id}.{document.id}"
                )
    acting_for = representing(register)
    if acting_for is not None and not supplied.get(DOCUMENT_KEY):
        problems.setdefault("documents", []).append(  # type: ignore[arg-type]
            f"missing:{DOCUMENT_KEY}"
        )
    if problems:
        raise SubmitRefused(problems)

    local_day = now.astimezone(ZoneInfo(timezone)).date()
    reference = next_application_reference(session, local_day.year)
    # The questionnaire's answers too: the receipt works out the counter visits from them.
    known = field_specs(state.catalogue, state.life_event)
    specs = {field_id: known[field_id] for field_id in answers if field_id in known}
    application = Application(
        reference=reference,
        draft_id=state.draft.id,
        life_event_id=state.life_event.id,
        applicant_id=applicant_id,
        applicant_name=applicant_name,
        language=language,
        pins=dict(state.draft.pins),
        answers={name: stored_value(spec, answers[name]) for name, spec in specs.items()},
        register={key: value for key, value in register.items() if key != "extract"},
        checked_against_register=register["status"] == prefill.STATUS_CHECKED,
        representation=dict(acting_for) if acting_for is not None else None,
        assisted=assisted_by is not None,
        assisted_by=assisted_by,
        identity_check=dict(identity_check) if identity_check is not None else None,
        submitted_at=now,
    )
    session.add(application)
    # Each procedure receives its own fields of the route's answers (as answers_for gives).
    on_route = journey.prune(answers, context)
    number = 0
    for procedure in journey.procedures:
        if procedure.id in exited:
            continue
        number += 1
        delivery = procedure.model.delivery
        queue_id = route(procedure, answers, context)
        own = {name: value for name, value in on_route.items() if name in procedure.fields}
        submission = Submission(
            number=number,
            reference=f"{reference}-{number}",
            procedure_id=procedure.id,
            procedure_version_id=state.draft.pins[f"procedure:{procedure.id}"],
            department_id=_department_of(queue_id),
            queue_id=queue_id,
            status="received",
            answers={
                name: stored_value(journey.field_spec(name), value)
                for name, value in own.items()
                if _known(journey, name)
            },
            documents=[
                {"id": document.id, **supplied.get(f"{procedure.id}.{document.id}", {})}
                for document in required_documents(procedure, answers, context)
            ]
            + (
                [{"id": POWER_OF_ATTORNEY_DOCUMENT.id, **supplied[DOCUMENT_KEY]}]
                if acting_for is not None
                else []
            ),
            four_eyes=bool(delivery and delivery.four_eyes),
            received_at=now,
            due_on=due_date(local_day, delivery.service_level_days, context.is_business_day)
            if delivery
            else None,
        )
        application.submissions.append(submission)
    if number == 0:
        raise SubmitRefused({"procedures": ["nothing_to_file"]})
    session.flush()
    record_event(
        session,
        actor=f"user:{assisted_by if assisted_by is not None else applicant_id}",
        action="application.submitted",
        subject_type="application",
        subject_id=reference,
        details={
            "life_event": application.life_event_id,
            "submissions": [s.reference for s in application.submissions],
            "assisted": assisted_by is not None,
            "assisted_by": f"user:{assisted_by}" if assisted_by is not None else None,
            "applicant": f"user:{applicant_id}",
            "checked_against_register": application.checked_against_register,
            "on_behalf_of": acting_for.get("person_key") or "declared"
            if acting_for is not None
            else None,
        },
    )
    for submission in application.submissions:
        record_event(
            session,
            actor="system",
            action="submission.received",
            subject_type="submission",
            subject_id=submission.reference,
            details={"queue": submission.queue_id, "procedure": submission.procedure_id},
        )
    notify_webhooks_for_all(session, "submission.received", application.submissions)
    notify_private_services(
        session,
        application,
        chosen_private_services(state, context),
        actor=f"user:{applicant_id}",
    )
    enqueue(session, "receipt.render", {"application": reference}, key=f"receipt:{reference}")
    if any(
        procedure.model.delivery and "received" in procedure.model.delivery.notify
        for procedure in journey.procedures
        if procedure.id not in exited
    ):
        notify(session, "received", reference)
    session.delete(state.draft)
    return Filed(application, created=True)


def _known(journey: Any, field_id: str) -> bool:
    try:
        journey.field_spec(field_id)
    except KeyError:
        return False
    return True
