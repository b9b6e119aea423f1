"""The resident's dashboard: applications with each submission's timeline, and drafts.

Residents see a plain status per submission (the clerk's finer steps are folded into
the ones that mean something to them), the messages meant for them, whether a request
waits for their answer, and the documents they may download. Unfinished drafts are
listed with the day they expire; a periodic job deletes them after that day.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from portal.admin.kpis import record_abandoned_drafts
from portal.audit.services import record_event
from portal.backoffice.models import Application, CaseMessage, Submission
from portal.backoffice.workflow import may_withdraw, open_request
from portal.catalogue.services import catalogue_for_pins
from portal.database import utcnow
from portal.definitions.catalogue import Catalogue
from portal.definitions.schema import TextPair
from portal.documents.storage import Storage, file_storage
from portal.identity.models import User
from portal.jobs.services import periodic_job
from portal.records.extract import RegisterUnavailable
from portal.records.sources import RecordSource
from portal.resident.models import Draft
from portal.resident.services import drafts_of, field_label
from portal.resident.suggestions import Suggestion, registers_used, suggest

# What residents are shown for each status: this mapping is the configuration of which
# statuses they see (statuses mapped to the same words read as one step in the timeline).
RESIDENT_STATUS: dict[str, TextPair] = {
    "received": TextPair(ja="受け付けました", en="Received"),
    "in_review": TextPair(ja="審査中", en="Being checked"),
    "awaiting_applicant": TextPair(ja="あなたの回答待ち", en="Waiting for your answer"),
    "approved": TextPair(ja="承認されました", en="Approved"),
    "rejected": TextPair(ja="承認されませんでした", en="Not approved"),
    "completed": TextPair(ja="完了しました", en="Completed"),
    "withdrawn": TextPair(ja="取り下げました", en="Withdrawn"),
}


@dataclass(frozen=True)
class TimelineEntry:
    """One step a resident sees: the status it reached and when."""

    status: str
    label: str
    at: datetime


@dataclass
class SubmissionView:
    """One filed procedure as its applicant follows it."""

    submission: Submission
    title: str
    department: str
    status_label: str
    timeline: list[TimelineEntry]
    messages: list[CaseMessage]
    request: CaseMessage | None
    may_withdraw: bool


@dataclass(frozen=True)
class PrivateServiceView:
    """A private service the resident asked the city to tell: whether it was, and what."""

    label: str
    told: bool
    sent: list[str]


@dataclass
class ApplicationView:
    """One application and its submissions, in the resident's language."""

    application: Application
    life_event_title: str
    submissions: list[SubmissionView] = field(default_factory=list)
    private_services: list[PrivateServiceView] = field(default_factory=list)

    @property
    def waiting_for_answer(self) -> bool:
        return any(item.request is not None for item in self.submissions)


def timeline(submission: Submission, lang: str) -> list[TimelineEntry]:
    """Arrival, then each change the resident can tell apart, oldest first."""
    entries = [
        TimelineEntry("received", RESIDENT_STATUS["received"].get(lang), submission.received_at)
    ]
    for change in submission.changes:
        label = RESIDENT_STATUS[change.to_status].get(lang)
        if label != entries[-1].label:
            entries.append(TimelineEntry(change.to_status, label, change.at))
    return entries


def application_view(session: Session, application: Application, lang: str) -> ApplicationView:
    """What the applicant sees of one application, from the versions it was filed with."""
    catalogue = catalogue_for_pins(session, application.pins)
    departments = {d.id: d.name.get(lang) for d in catalogue.departments}
    life_event = catalogue.life_event(application.life_event_id)
    view = ApplicationView(application, life_event.model.title.get(lang))
    services = {compiled.service.id: compiled.service for compiled in life_event.private_services}
    for chosen in application.private_services or ():
        service = services[chosen["id"]]
        view.private_services.append(
            PrivateServiceView(
                label=service.label.get(lang),
                told=chosen["told"],
                sent=[field_label(life_event, field_id, lang) for field_id in service.sends or ()],
            )
        )
    for submission in application.submissions:
        view.submissions.append(
            SubmissionView(
                submission=submission,
                title=catalogue.procedure(submission.procedure_id).model.title.get(lang),
                department=departments.get(submission.department_id, ""),
                status_label=RESIDENT_STATUS[submission.status].get(lang),
                timeline=timeline(submission, lang),
                messages=[m for m in submission.messages if m.visible_to_applicant],
                request=open_request(submission),
                may_withdraw=may_withdraw(submission),
            )
        )
    return view


def same_person(session: Session, user_id: int, person_key: str | None) -> list[int]:
    """The user and every other resident user the registers know as the same person.

    A resident first seen at the counter has a user made there; when they sign in
    online they are another user with the same person key, and see what was filed.
    """
    if not person_key:
        return [user_id]
    others = session.scalars(
        select(User.id).where(User.person_key == person_key, User.role == "resident")
    )
    return sorted({user_id, *others})


def applications_of(session: Session, applicant_ids: Collection[int]) -> Sequence[Application]:
    """The resident's applications, newest first, with what the dashboard shows of them."""
    return session.scalars(
        select(Application)
        .where(Application.applicant_id.in_(list(applicant_ids)))
        .order_by(Application.submitted_at.desc(), Application.id.desc())
        .options(
            selectinload(Application.submissions).selectinload(Submission.changes),
            selectinload(Application.submissions).selectinload(Submission.messages),
        )
    ).all()


@dataclass(frozen=True)
class DraftView:
    """An unfinished draft: which life event, when last saved, when it will be deleted."""

    draft: Draft
    life_event_title: str


def draft_views(session: Session, drafts: Sequence[Draft], lang: str) -> list[DraftView]:
    """The drafts with the title of the life event version each one started with."""
    return [
        DraftView(
            draft,
            catalogue_for_pins(session, draft.pins)
            .life_event(draft.life_event_id)
            .model.title.get(lang),
        )
        for draft in drafts
    ]


def filed_or_started(
    session: Session, applicant_id: int, owner_key: str, now: datetime
) -> set[str]:
    """Procedures the resident has filed (and not withdrawn) or chosen in an open draft."""
    filed = set(
        session.scalars(
            select(Submission.procedure_id)
            .join(Application)
            .where(
                Application.applicant_id == applicant_id,
                Submission.status.not_in(("withdrawn", "rejected")),
            )
        )
    )
    for draft in drafts_of(session, owner_key=owner_key, now=now):
        filed.update(draft.procedure_ids or ())
    return filed


def suggestions_for(
    session: Session,
    catalogue: Catalogue,
    *,
    source: RecordSource,
    person_key: str,
    applicant_id: int,
    owner_key: str,
    actor: str,
    now: datetime,
) -> list[Suggestion]:
    """Read the registers the suggestions use (the resident agreed) and work them out.

    The read is audited on its own ground; nothing read is stored. A register that is
    down gives no suggestions rather than an error.
    """
    sources = sorted(registers_used(catalogue))
    try:
        extract = source.fetch(person_key, sources)
    except RegisterUnavailable:
        return []
    record_event(
        session,
        actor=actor,
        action="register.read",
        subject_type="person",
        subject_id=person_key,
        details={
            "sources": sources,
            "ground": "suggestions",
            "related": [person.person_key for person in extract.related],
        },
    )
    return suggest(
        catalogue,
        extract,
        filed_or_started(session, applicant_id, owner_key, now),
        source.today(now),
        consented=sources,
    )


def purge_expired_drafts(session: Session, storage: Storage, now: datetime) -> int:
    """Delete drafts past their expiry, with their uploads; return how many went.

    Where each stopped is counted first (no personal data), for the KPI dashboard.
    """
    expired = session.scalars(select(Draft).where(Draft.expires_at <= now)).all()
    record_abandoned_drafts(session, expired)
    for draft in expired:
        for entry in (draft.documents or {}).values():
            if entry.get("key"):
                storage.delete(entry["key"])
        session.delete(draft)
    if expired:
        record_event(
            session,
            actor="system",
            action="drafts.purged",
            subject_type="draft",
            subject_id="expired",
            details={"count": len(expired)},
        )
    return len(expired)


@periodic_job("drafts.purge", every_minutes=60)
def purge_drafts_job(session: Session, payload: dict[str, object]) -> None:
    """Hourly: drafts are kept for their lifetime and not a day longer."""
    purge_expired_drafts(session, file_storage(), utcnow())
