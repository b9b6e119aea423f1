"""The clerk's case view: one submission with what is needed to decide it, and its actions.

A clerk sees a submission only when it is in one of their departments (admins see all);
for anyone else it does not exist. The case shows the answers the department received,
where each value came from, every value the resident changed from the register and
why, who acted for whom, the attachments, the application's other submissions (only
their headlines outside the clerk's departments), the messages with the internal notes,
and the submission's audit trail. Every action takes the session and explicit
arguments, writes its audit entry in the caller's transaction and never commits; every
status change goes through `workflow.transition`.

Four eyes: when a procedure asks for it, a clerk's approval (or completion) is a
proposal that another clerk of the department confirms or sends back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.models import AuditEntry
from portal.audit.services import record_event
from portal.backoffice import workflow
from portal.backoffice.decisions import enqueue_decision_notice
from portal.backoffice.models import Application, CaseMessage, Submission
from portal.catalogue.services import catalogue_for_pins, published_catalogue, published_pins
from portal.definitions.catalogue import TRIAGE_QUEUE, Catalogue, CompiledProcedure
from portal.definitions.expressions import default_context
from portal.definitions.fields import LoadError, display, dump_value, load_value
from portal.definitions.journey import Journey
from portal.definitions.schema import AnyField, ContentField, FieldBase, TextPair
from portal.identity.models import User
from portal.notifications.services import notify_if_wanted
from portal.records.extract import RegisterUnavailable
from portal.records.sources import RecordSource
from portal.resident.models import RegisterReport
from portal.resident.pages import answer_sections, source_badge
from portal.resident.prefill import REGISTER_NAMES
from portal.resident.representation import POWER_OF_ATTORNEY_DOCUMENT
from portal.resident.services import field_specs, load_answers

# Decisions a clerk may take on a submission in review.
DECISIONS = ("approved", "rejected", "completed")
# The decisions that grant something: with four eyes, a second clerk confirms them.
FOUR_EYES_DECISIONS = frozenset({"approved", "completed"})

SHARED_TITLE = TextPair(ja="申請者と出来事", en="About the applicant and the event")
QUESTIONNAIRE_TITLE = TextPair(ja="最初の質問への回答", en="Answers to the first questions")
TRIAGE_NAME = TextPair(ja="受付（振り分け前）", en="Reception (not yet routed)")

# Requests for information the clerk starts from, by purpose: title (in the clerk's
# language) and body (in the applicant's). A procedure's own documents add one each.
BUILT_IN_REQUESTS: dict[str, tuple[TextPair, TextPair]] = {
    "clarify": (
        TextPair(ja="回答内容の確認", en="Ask about an answer"),
        TextPair(
            ja="申請内容について確認させてください。次の点についてお答えください。\n\n・",
            en="We need to check something in your application. Please answer the following:\n\n- ",
        ),
    ),
    "document": (
        TextPair(ja="書類の提出を依頼", en="Ask for a document"),
        TextPair(
            ja="審査のため、次の書類を提出してください。\n\n・\n\n"
            "このページから写し（PDF・JPEG・PNG）を添付して回答できます。",
            en="To check your application, we need the following document:\n\n- \n\n"
            "You can attach a copy (PDF, JPEG or PNG) to your answer on this page.",
        ),
    ),
    "contact": (
        TextPair(ja="担当課への連絡を依頼", en="Ask the applicant to contact us"),
        TextPair(
            ja="お手続きについてご相談したいことがあります。お手数ですが、担当課までご連絡ください。"
            "ご連絡の際は受付番号をお伝えください。",
            en="We would like to talk to you about this procedure. Please contact the "
            "department and quote the reference number.",
        ),
    ),
}
DOCUMENT_REQUEST = (
    TextPair(ja="「{label}」の提出を依頼", en="Ask for: {label}"),
    TextPair(
        ja="審査のため、「{label}」を提出してください。\n\n"
        "このページから写し（PDF・JPEG・PNG）を添付して回答できます。",
        en="To check your application, we need this document: {label}.\n\n"
        "You can attach a copy (PDF, JPEG or PNG) to your answer on this page.",
    ),
)


class ActionRefused(Exception):
    """An action the form or the case's state does not allow; ``code`` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Clock:
    """The moment an action happens: UTC time, the city's day, and its business days."""

    now: datetime
    local_day: date
    is_business_day: Callable[[date], bool]


# --- who may see what ------------------------------------------------------------------


def may_handle(user: User, department_id: str) -> bool:
    """Whether the user works on the department's submissions (admins work on all)."""
    if user.role == "admin":
        return True
    return user.role == "clerk" and department_id in (user.departments or ())


def case_for(session: Session, user: User, reference: str) -> Submission | None:
    """The submission if it is in one of the user's departments; None as if it did not exist."""
    submission = session.scalars(
        select(Submission).where(Submission.reference == reference)
    ).first()
    if submission is None or not may_handle(user, submission.department_id):
        return None
    return submission


def _actor(user: User) -> str:
    return f"user:{user.id}"


def _audit(
    session: Session, user: User, submission: Submission, action: str, **details: Any
) -> None:
    record_event(
        session,
        actor=_actor(user),
        action=action,
        subject_type="submission",
        subject_id=submission.reference,
        details=details,
    )


def record_view(session: Session, submission: Submission, user: User) -> None:
    """Audit that the user opened the case: who read which application data, when."""
    _audit(session, user, submission, "submission.viewed")


# --- the case as the clerk sees it -----------------------------------------------------


@dataclass(frozen=True)
class Correction:
    """A value the resident changed from the register, with their reason, as shown."""

    field_id: str
    label: str
    register_value: str
    new_value: str
    reason: str


@dataclass(frozen=True)
class AnswerLine:
    """One answer the department received: where it came from, and whether it was changed."""

    field_id: str
    label: str
    value: str
    source_badge: str | None = None
    correction: Correction | None = None


@dataclass(frozen=True)
class AnswerGroup:
    title: str
    lines: list[AnswerLine]


@dataclass(frozen=True)
class DocumentLine:
    """A supporting document: uploaded (downloadable by index) or coming another way."""

    index: int
    label: str
    delivery: str | None
    name: str | None
    size: int | None

    @property
    def downloadable(self) -> bool:
        return self.delivery == "upload"


@dataclass(frozen=True)
class OtherSubmission:
    """Another procedure of the same application; its details only in the clerk's departments."""

    reference: str
    title: str
    department: str
    status: str
    open_to_user: bool


@dataclass(frozen=True)
class MessageLine:
    message: CaseMessage
    author: str


@dataclass(frozen=True)
class TrailEntry:
    """One audit entry of the submission: who did what, when."""

    at: datetime
    actor: str
    action: str
    details: Mapping[str, Any]


@dataclass(frozen=True)
class Proposal:
    """A decision waiting for a second clerk's confirmation."""

    decision: str
    by: int
    by_name: str
    at: datetime | None
    reason: str


@dataclass
class CaseView:
    """Everything the case page shows, in the clerk's language."""

    submission: Submission
    application: Application
    title: str
    life_event_title: str
    department: str
    applicant_language: str
    register_status: str
    answers: list[AnswerGroup] = field(default_factory=list)
    corrections: list[Correction] = field(default_factory=list)
    documents: list[DocumentLine] = field(default_factory=list)
    others: list[OtherSubmission] = field(default_factory=list)
    messages: list[MessageLine] = field(default_factory=list)
    trail: list[TrailEntry] = field(default_factory=list)
    moves: list[str] = field(default_factory=list)
    proposal: Proposal | None = None
    assignee: str | None = None

    @property
    def checked_against_register(self) -> bool:
        return self.application.checked_against_register

    @property
    def decisions(self) -> list[str]:
        """The decisions the clerk may take now (none while a proposal waits)."""
        if self.proposal is not None or self.submission.status != "in_review":
            return []
        return [decision for decision in DECISIONS if decision in self.moves]


def _names(session: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {user_id for user_id in user_ids if user_id is not None}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))
    return {user_id: name for user_id, name in rows}


def _actor_id(actor: str) -> int | None:
    kind, _, number = actor.partition(":")
    return int(number) if kind == "user" and number.isdigit() else None


def _shown(spec: AnyField, data: object, lang: str) -> str:
    """A stored (JSON) value as people read it; the raw data if it no longer fits its field."""
    try:
        return display(spec, load_value(spec, data), lang)
    except LoadError:
        return str(data)


def _label(spec: AnyField, field_id: str, lang: str) -> str:
    return spec.label.get(lang) if getattr(spec, "label", None) else field_id


def _answer_groups(
    catalogue: Catalogue, application: Application, submission: Submission, lang: str
) -> tuple[list[AnswerGroup], list[Correction]]:
    """The submission's answers by step, with source badges and the resident's corrections."""
    life_event = catalogue.life_event(application.life_event_id)
    specs = field_specs(catalogue, life_event)
    journey = Journey.for_life_event(catalogue, life_event, [submission.procedure_id])
    answers = load_answers(application.answers, specs)
    context = default_context(application.submitted_at.date())
    register = application.register or {}
    provenance: Mapping[str, Mapping[str, Any]] = register.get("provenance", {})
    received = submission.answers
    corrections = [
        Correction(
            field_id,
            _label(specs[field_id], field_id, lang),
            _shown(specs[field_id], change["register_value"], lang),
            _shown(specs[field_id], change["new_value"], lang),
            str(change.get("reason", "")),
        )
        for field_id, change in register.get("corrections", {}).items()
        if field_id in received and field_id in specs
    ]
    corrected = {correction.field_id: correction for correction in corrections}

    def line(field_id: str, label: str, value: str) -> AnswerLine:
        origin = provenance.get(field_id)
        return AnswerLine(
            field_id,
            label,
            value,
            source_badge(origin, lang) if origin else None,
            corrected.get(field_id),
        )

    groups: list[AnswerGroup] = []
    shown: set[str] = set()
    for section in answer_sections(
        journey, answers, shared_title=SHARED_TITLE.get(lang), lang=lang, context=context
    ):
        lines = []
        for row in section.rows:
            field_id = row.field_id
            if field_id not in received:
                continue
            shown.add(field_id)
            lines.append(line(field_id, row.label, row.value))
        if lines:
            groups.append(AnswerGroup(section.title, lines))
    # Questionnaire answers the procedure uses are asked before the form, on no step.
    earlier = [
        line(field_id, _label(specs[field_id], field_id, lang), _shown(specs[field_id], data, lang))
        for field_id, data in received.items()
        if field_id not in shown
        and field_id in specs
        and not isinstance(specs[field_id], ContentField)
    ]
    if earlier:
        groups.insert(0, AnswerGroup(QUESTIONNAIRE_TITLE.get(lang), earlier))
    return groups, corrections


def _document_labels(procedure: CompiledProcedure, lang: str) -> dict[str, str]:
    delivery = procedure.model.delivery
    labels = {item.id: item.label.get(lang) for item in (delivery.documents if delivery else ())}
    labels[POWER_OF_ATTORNEY_DOCUMENT.id] = POWER_OF_ATTORNEY_DOCUMENT.label.get(lang)
    return labels


def _department_names(catalogue: Catalogue, lang: str) -> dict[str, str]:
    names = {department.id: department.name.get(lang) for department in catalogue.departments}
    names[TRIAGE_QUEUE] = TRIAGE_NAME.get(lang)
    return names


def audit_trail(session: Session, submission: Submission) -> list[AuditEntry]:
    """The submission's audit entries, oldest first."""
    return list(
        session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.subject_type == "submission",
                AuditEntry.subject_id == submission.reference,
            )
            .order_by(AuditEntry.id)
        )
    )


def case_view(session: Session, submission: Submission, user: User, lang: str) -> CaseView:
    """Gather the case page, in ``lang``, from the versions the application was filed with."""
    application = submission.application
    catalogue = catalogue_for_pins(session, application.pins)
    procedure = catalogue.procedure(submission.procedure_id)
    departments = _department_names(catalogue, lang)
    answers, corrections = _answer_groups(catalogue, application, submission, lang)
    labels = _document_labels(procedure, lang)
    entries = audit_trail(session, submission)
    names = _names(
        session,
        [
            submission.assignee_id,
            submission.proposed_by,
            *(message.author_id for message in submission.messages),
            *(_actor_id(entry.actor) for entry in entries),
        ],
    )

    def who(actor: str) -> str:
        user_id = _actor_id(actor)
        return names.get(user_id, actor) if user_id is not None else actor

    proposal = None
    # A proposal outlives a withdrawal only as history: it can no longer be confirmed.
    proposed = submission.proposed_decision
    if submission.status == "in_review" and proposed and submission.proposed_by is not None:
        proposal = Proposal(
            proposed,
            submission.proposed_by,
            names.get(submission.proposed_by, ""),
            submission.proposed_at,
            submission.proposal_reason or "",
        )
    return CaseView(
        submission=submission,
        application=application,
        title=procedure.model.title.get(lang),
        life_event_title=catalogue.life_event(application.life_event_id).model.title.get(lang),
        department=departments.get(submission.department_id, submission.department_id),
        applicant_language=application.language,
        register_status=str((application.register or {}).get("status", "not_asked")),
        answers=answers,
        corrections=corrections,
        documents=[
            DocumentLine(
                index,
                labels.get(str(entry.get("id")), str(entry.get("id"))),
                entry.get("delivery"),
                entry.get("name"),
                entry.get("size"),
            )
            for index, entry in enumerate(submission.documents or [])
        ],
        others=[
            OtherSubmission(
                other.reference,
                catalogue.procedure(other.procedure_id).model.title.get(lang),
                departments.get(other.department_id, other.department_id),
                other.status,
                may_handle(user, other.department_id),
            )
            for other in application.submissions
            if other.id != submission.id
        ],
        messages=[
            MessageLine(
                message,
                names.get(message.author_id, "") if message.author_id is not None else "",
            )
            for message in submission.messages
        ],
        trail=[
            TrailEntry(entry.occurred_at, who(entry.actor), entry.action, entry.details)
            for entry in entries
        ],
        moves=workflow.allowed_moves(submission, "clerk"),
        proposal=proposal,
        assignee=names.get(submission.assignee_id) if submission.assignee_id else None,
    )


def uploaded_document(submission: Submission, index: int) -> dict[str, Any] | None:
    """A supporting document the resident uploaded, by its place in the list."""
    documents = submission.documents or []
    if not 0 <= index < len(documents) or not documents[index].get("key"):
        return None
    return dict(documents[index])


def reply_file(submission: Submission, message_id: int, index: int) -> dict[str, Any] | None:
    """A file the applicant attached to an answer."""
    message = next((m for m in submission.messages if m.id == message_id), None)
    if message is None or message.kind != "reply" or not 0 <= index < len(message.documents):
        return None
    return dict(message.documents[index])


def record_download(session: Session, submission: Submission, user: User, what: str) -> None:
    """Audit that a clerk downloaded one of the case's files."""
    _audit(session, user, submission, "submission.file_downloaded", file=what)


# --- requests for information ----------------------------------------------------------


@dataclass(frozen=True)
class RequestTemplate:
    """A request to start from: its title in the clerk's language, its body in the applicant's."""

    key: str
    title: str
    body: str


def request_templates(session: Session, submission: Submission, lang: str) -> list[RequestTemplate]:
    """The procedure's documents first (from its definition), then the built-in purposes."""
    application = submission.application
    applicant_lang = application.language
    catalogue = catalogue_for_pins(session, application.pins)
    delivery = catalogue.procedure(submission.procedure_id).model.delivery
    documents = list(delivery.documents if delivery else ())
    if application.representation:
        documents.append(POWER_OF_ATTORNEY_DOCUMENT)
    title, body = DOCUMENT_REQUEST
    templates = [
        RequestTemplate(
            f"document:{document.id}",
            title.get(lang).format(label=document.label.get(lang)),
            body.get(applicant_lang).format(label=document.label.get(applicant_lang)),
        )
        for document in documents
    ]
    templates.extend(
        RequestTemplate(key, title.get(lang), body.get(applicant_lang))
        for key, (title, body) in BUILT_IN_REQUESTS.items()
    )
    return templates


# --- actions ----------------------------------------------------------------------------


def checked_text(body: str | None, *, empty: str) -> str:
    """A typed text cleaned of control characters; ActionRefused when empty or too long."""
    text = workflow.clean_message(body)
    if not text:
        raise ActionRefused(empty)
    if len(text) > workflow.MAX_MESSAGE_LENGTH:
        raise ActionRefused("too_long")
    return text


def _no_proposal_waiting(submission: Submission) -> None:
    if submission.proposed_decision:
        raise ActionRefused("proposal_waiting")


def _allowed(submission: Submission, to_status: str) -> None:
    """Refuse before anything changes, so that a refused action leaves nothing behind."""
    if to_status not in workflow.allowed_moves(submission, "clerk"):
        raise workflow.TransitionRefused(submission, to_status, "clerk")


def _move(
    session: Session,
    submission: Submission,
    to_status: str,
    user: User,
    clock: Clock,
    details: dict[str, Any] | None = None,
) -> None:
    workflow.transition(
        session,
        submission,
        to_status,
        actor=_actor(user),
        role="clerk",
        now=clock.now,
        local_day=clock.local_day,
        is_business_day=clock.is_business_day,
        details=details,
    )


def start_review(session: Session, submission: Submission, user: User, clock: Clock) -> None:
    """Take a received submission into review.

    Only from "received": the workflow also lets a clerk move a paused submission back
    into review, but that would leave the applicant's request open with no way to answer.
    """
    if submission.status != "received":
        raise workflow.TransitionRefused(submission, "in_review", "clerk")
    _move(session, submission, "in_review", user, clock)


def request_information(
    session: Session, submission: Submission, user: User, body: str | None, clock: Clock
) -> CaseMessage:
    """Ask the applicant for information (and email them); the clock stops until they answer."""
    text = checked_text(body, empty="request_empty")
    _no_proposal_waiting(submission)
    _allowed(submission, "awaiting_applicant")
    request = workflow.request_information(
        session,
        submission,
        text,
        clerk_id=user.id,
        now=clock.now,
        local_day=clock.local_day,
        is_business_day=clock.is_business_day,
    )
    session.flush()
    # Each request is its own occasion: a second request sends a second email.
    notify_if_wanted(session, "information_requested", submission, occasion=str(request.id))
    return request


def add_message(
    session: Session,
    submission: Submission,
    user: User,
    body: str | None,
    *,
    internal: bool,
    now: datetime,
) -> CaseMessage:
    """Tell the applicant something, or (``internal``) keep a note they never see."""
    text = checked_text(body, empty="note_empty" if internal else "message_empty")
    kind = "note" if internal else "message"
    message = CaseMessage(kind=kind, author_id=user.id, body=text, created_at=now)
    submission.messages.append(message)
    _audit(
        session,
        user,
        submission,
        "submission.note_added" if internal else "submission.message_sent",
    )
    return message


def decide(
    session: Session,
    submission: Submission,
    user: User,
    decision: str | None,
    reason: str | None,
    clock: Clock,
) -> str:
    """Decide the submission, or with four eyes propose it; return "decided" or "proposed".

    Deciding from review needs a reason (the notice states it); completing an approved
    submission does not and keeps the approval's reason.
    """
    if decision not in DECISIONS:
        raise ActionRefused("decision_missing")
    _no_proposal_waiting(submission)
    _allowed(submission, decision)
    if submission.status != "in_review":
        _move(session, submission, decision, user, clock)
        return "decided"
    text = checked_text(reason, empty="reason_empty")
    if submission.four_eyes and decision in FOUR_EYES_DECISIONS:
        submission.proposed_decision = decision
        submission.proposed_by = user.id
        submission.proposed_at = clock.now
        submission.proposal_reason = text
        _audit(session, user, submission, "submission.decision_proposed", decision=decision)
        return "proposed"
    _decide(session, submission, decision, text, user, clock)
    return "decided"


def _decide(
    session: Session,
    submission: Submission,
    decision: str,
    reason: str,
    user: User,
    clock: Clock,
    details: dict[str, Any] | None = None,
) -> None:
    _move(session, submission, decision, user, clock, details)
    submission.decision_reason = reason
    enqueue_decision_notice(session, submission)
    notify_if_wanted(session, "decided", submission)


def _clear_proposal(submission: Submission) -> None:
    submission.proposed_decision = None
    submission.proposed_by = None
    submission.proposed_at = None
    submission.proposal_reason = None


def confirm_proposal(session: Session, submission: Submission, user: User, clock: Clock) -> None:
    """A second clerk confirms the proposed decision; the proposer cannot confirm their own."""
    decision, proposer = submission.proposed_decision, submission.proposed_by
    if not decision or proposer is None:
        raise ActionRefused("no_proposal")
    if proposer == user.id:
        raise ActionRefused("own_proposal")
    _allowed(submission, decision)
    reason = submission.proposal_reason or ""
    _clear_proposal(submission)
    _decide(
        session,
        submission,
        decision,
        reason,
        user,
        clock,
        {"four_eyes": True, "proposed_by": f"user:{proposer}"},
    )


def return_proposal(
    session: Session, submission: Submission, user: User, comment: str | None, now: datetime
) -> None:
    """Send a proposed decision back (the proposer may take theirs back); the case stays in review.

    The comment, if any, is kept as an internal note for the proposer.
    """
    decision, proposer = submission.proposed_decision, submission.proposed_by
    if not decision or proposer is None:
        raise ActionRefused("no_proposal")
    text = workflow.clean_message(comment)
    if len(text) > workflow.MAX_MESSAGE_LENGTH:
        raise ActionRefused("too_long")
    if text:
        submission.messages.append(
            CaseMessage(kind="note", author_id=user.id, body=text, created_at=now)
        )
    _clear_proposal(submission)
    _audit(
        session,
        user,
        submission,
        "submission.proposal_returned",
        decision=decision,
        proposed_by=f"user:{proposer}",
    )


# --- checking the register again --------------------------------------------------------


@dataclass(frozen=True)
class RecheckLine:
    """One register-backed answer: as filed, as the register had it then, and as it has it now."""

    field_id: str
    label: str
    filed: str
    at_filing: str | None
    now: str

    @property
    def differs(self) -> bool:
        return self.filed != self.now


@dataclass(frozen=True)
class Recheck:
    """What reading the register again found; ``unavailable`` when it could not be read."""

    lines: list[RecheckLine]
    unavailable: bool = False

    @property
    def differences(self) -> list[RecheckLine]:
        return [line for line in self.lines if line.differs]


def _subject_keys(session: Session, application: Application) -> tuple[str | None, dict[str, Any]]:
    """Whose register is read (the resident who filed) and the key of each form subject."""
    applicant = session.get(User, application.applicant_id)
    own_key = applicant.person_key if applicant is not None else None
    representation = application.representation or {}
    register = application.register or {}
    # A representative's own record is not the applicant's part of the form.
    applicant_key = representation.get("person_key") if representation else own_key
    return own_key, {"applicant": applicant_key, "concerned": register.get("concerned")}


def recheck_register(
    session: Session,
    submission: Submission,
    user: User,
    *,
    source: RecordSource,
    lang: str,
) -> Recheck:
    """Read the register again for the answers it backs and compare; audited as a register read.

    Values the resident typed in (having declined the register) are checked too: that is
    how the city checks an application "not checked against the register".
    """
    application = submission.application
    catalogue = catalogue_for_pins(session, application.pins)
    procedure = catalogue.procedure(submission.procedure_id)
    provenance = (application.register or {}).get("provenance", {})
    own_key, subjects = _subject_keys(session, application)
    backed: list[tuple[str, FieldBase, str]] = []
    for field_id, spec in procedure.fields.items():
        if not isinstance(spec, FieldBase) or spec.prefill is None:
            continue
        subject_key = subjects.get(spec.prefill.subject)
        if subject_key and (field_id in submission.answers or field_id in provenance):
            backed.append((field_id, spec, subject_key))
    if not backed or own_key is None:
        return Recheck([])
    sources = sorted({spec.prefill.source for _, spec, _ in backed if spec.prefill})
    try:
        extract = source.fetch(own_key, sources)
    except RegisterUnavailable:
        return Recheck([], unavailable=True)
    lines = []
    for field_id, spec, subject_key in backed:
        assert spec.prefill is not None
        raw = extract.value(spec.prefill.source, subject_key, spec.prefill.path)
        try:
            current = dump_value(spec, load_value(spec, raw))
        except LoadError:
            current = raw
        origin = provenance.get(field_id)
        lines.append(
            RecheckLine(
                field_id,
                _label(spec, field_id, lang),
                _shown(spec, submission.answers.get(field_id), lang),
                _shown(spec, origin["value"], lang) if origin else None,
                _shown(spec, current, lang),
            )
        )
    record_event(
        session,
        actor=_actor(user),
        action="register.read",
        subject_type="person",
        subject_id=own_key,
        details={
            "ground": "case_check",
            "submission": submission.reference,
            "sources": sources,
            "fields": [field_id for field_id, _, _ in backed],
        },
    )
    _audit(
        session,
        user,
        submission,
        "submission.register_rechecked",
        sources=sources,
        differences=[line.field_id for line in lines if line.differs],
    )
    return Recheck(lines)


# --- residents' reports of wrong register values ----------------------------------------


@dataclass(frozen=True)
class ReportLine:
    """An open report as the department reads it."""

    report: RegisterReport
    register: str
    field_label: str
    reporter: str


def _published_labels(session: Session, lang: str) -> dict[str, str]:
    """Field labels from the published definitions (reports name a field by its id)."""
    if not published_pins(session):
        return {}
    catalogue, _pins = published_catalogue(session)
    specs: dict[str, AnyField] = dict(catalogue.dictionary)
    for procedure in catalogue.procedures.values():
        specs.update(procedure.fields)
    return {field_id: _label(spec, field_id, lang) for field_id, spec in specs.items()}


def open_register_reports(session: Session, user: User, lang: str) -> list[ReportLine]:
    """The open reports of the user's departments (admins: all), oldest first."""
    query = select(RegisterReport).where(RegisterReport.status == "open")
    if user.role != "admin":
        query = query.where(RegisterReport.department_id.in_(list(user.departments or ())))
    reports: Sequence[RegisterReport] = session.scalars(
        query.order_by(RegisterReport.created_at, RegisterReport.id)
    ).all()
    labels = _published_labels(session, lang) if reports else {}
    names = _names(session, [report.user_id for report in reports])
    return [
        ReportLine(
            report,
            REGISTER_NAMES[report.source].get(lang)
            if report.source in REGISTER_NAMES
            else report.source,
            labels.get(report.field_id, report.field_id),
            names.get(report.user_id, ""),
        )
        for report in reports
    ]


def close_register_report(session: Session, user: User, report_id: int) -> RegisterReport | None:
    """Close a report of the user's departments (once); None when there is no such report."""
    report = session.get(RegisterReport, report_id)
    if report is None or not may_handle(user, report.department_id):
        return None
    if report.status == "closed":
        return report
    report.status = "closed"
    record_event(
        session,
        actor=_actor(user),
        action="register_report.closed",
        subject_type="register_report",
        subject_id=str(report.id),
        details={"department": report.department_id, "source": report.source},
    )
    return report
