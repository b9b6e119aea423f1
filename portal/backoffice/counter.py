"""Counter-assisted filing: a clerk files for a walk-in resident with the same definitions.

The clerk records an identity check (which document was shown, at most the last four
characters of its number — never a whole number, never any part of a My Number — and
the name and birth date as seen), finds the resident in the register by their person
key and confirms that the register's name and birth date are the ones seen. That opens
an assisted session: the clerk then walks the resident's own journey pages for that
person, the draft owned by the session (``counter:<id>``), the register read on the
ground ``counter_identity_check``, and the resident's consent recorded as given at the
counter. On submit the application is the resident's (their user, found by person key
or made for the counter), marked as assisted by the clerk with the identity check; the
counter-only procedures' forms are rendered pre-filled in jobs, for the clerk to print.

Every step is audited with the clerk as the actor. Functions take explicit arguments
(the database session, the clerk, the time) and never read the request.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.services import record_event
from portal.backoffice.cases import may_handle
from portal.backoffice.models import (
    COUNTER_SESSION_LIFETIME,
    Application,
    CounterSession,
)
from portal.backoffice.services import application_by_reference
from portal.catalogue.services import catalogue_for_pins
from portal.definitions.applicability import ProcedureEntry, applicable_procedures
from portal.definitions.expressions import default_context
from portal.definitions.fields import display
from portal.definitions.journey import Journey
from portal.definitions.schema import ContentField, GroupField
from portal.documents.counter_form import (
    CounterFormData,
    FormRow,
    FormSection,
    render_counter_form,
)
from portal.documents.storage import file_storage
from portal.identity.models import User
from portal.jobs.services import enqueue, job_handler
from portal.records.extract import RegisterExtract, RegisterUnavailable, checked_person_key
from portal.records.sources import RecordSource
from portal.resident import representation
from portal.resident.pages import item_summaries
from portal.resident.prefill import REGISTER_NAMES
from portal.resident.services import field_specs, load_answers

DOCUMENT_TYPES = ("my_number_card", "drivers_licence", "passport", "residence_card", "other")
MY_NUMBER_CARD = "my_number_card"
OTHER_DOCUMENT = "other"
MAX_LAST_CHARACTERS = 4
MAX_DESCRIPTION = 100
MAX_NAME = 100
# A run this long in a description is a document number, which is not to be kept.
_NUMBER_RUN = re.compile(r"[0-9]{5,}")
_LAST_CHARACTERS = re.compile(r"[A-Z0-9]*")

# The ground on which the clerk reads the person's registers, in every audit entry.
IDENTITY_GROUND = "counter_identity_check"
# Residents first seen at the counter get a user of their own under this issuer; no
# identity provider has it, so nobody can sign in as that user.
COUNTER_ISSUER = "urn:madoguchi:counter"
JOB_KIND = "counter_form.render"


class IdentityRefused(Exception):
    """The identity check cannot be recorded as it is; ``problems`` maps fields to codes."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__(", ".join(f"{name}:{code}" for name, code in sorted(problems.items())))
        self.problems = dict(problems)


@dataclass(frozen=True)
class IdentityCheck:
    """What the clerk saw, as it may be kept."""

    document_type: str
    document_description: str
    document_last_characters: str
    name_as_seen: str
    birth_date_as_seen: date
    person_key: str

    def as_record(self) -> dict[str, Any]:
        """The check as stored on the session and the application (no person key)."""
        return {
            "document_type": self.document_type,
            "document_description": self.document_description or None,
            "document_last_characters": self.document_last_characters or None,
            "name_as_seen": self.name_as_seen,
            "birth_date_as_seen": self.birth_date_as_seen.isoformat(),
        }


def _clean(value: object) -> str:
    """Form text folded to NFKC (full-width digits and letters become ASCII), trimmed."""
    return unicodedata.normalize("NFKC", str(value or "")).strip()


def _has_control_characters(text: str) -> bool:
    return any(unicodedata.category(character).startswith("C") for character in text)


def _parse_date(text: str) -> date | None:
    match = re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", text)
    if match is None:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def parse_identity_check(form: Mapping[str, Any]) -> IdentityCheck:
    """Check what the clerk typed; IdentityRefused names each field that cannot be kept.

    The document number is kept as its last four characters at most; more is refused
    rather than cut, so that a whole number is never stored, and a My Number card's
    number is not taken at all (its only number is the My Number).
    """
    problems: dict[str, str] = {}
    document_type = _clean(form.get("document_type"))
    if document_type not in DOCUMENT_TYPES:
        problems["document_type"] = "missing"
    description = _clean(form.get("document_description"))
    if document_type == OTHER_DOCUMENT and not description:
        problems["document_description"] = "missing"
    elif len(description) > MAX_DESCRIPTION:
        problems["document_description"] = "too_long"
    elif _NUMBER_RUN.search(description) or _has_control_characters(description):
        problems["document_description"] = "has_number"
    if document_type != OTHER_DOCUMENT:
        description = ""
    last = _clean(form.get("document_last_characters")).replace(" ", "").upper()
    if last and document_type == MY_NUMBER_CARD:
        problems["document_last_characters"] = "my_number"
    elif len(last) > MAX_LAST_CHARACTERS:
        problems["document_last_characters"] = "too_long"
    elif not _LAST_CHARACTERS.fullmatch(last):
        problems["document_last_characters"] = "invalid"
    name = _clean(form.get("name_as_seen"))
    if not name:
        problems["name_as_seen"] = "missing"
    elif len(name) > MAX_NAME or _has_control_characters(name):
        problems["name_as_seen"] = "invalid"
    birth_text = _clean(form.get("birth_date_as_seen"))
    birth_date = _parse_date(birth_text)
    if not birth_text:
        problems["birth_date_as_seen"] = "missing"
    elif birth_date is None:
        problems["birth_date_as_seen"] = "invalid"
    person_key = _clean(form.get("person_key"))
    if not person_key:
        problems["person_key"] = "missing"
    else:
        try:
            checked_person_key(person_key)
        except ValueError:
            problems["person_key"] = "invalid"
    if problems:
        raise IdentityRefused(problems)
    assert birth_date is not None
    return IdentityCheck(document_type, description, last, name, birth_date, person_key)


def _folded_name(text: str) -> str:
    """A name compared letter for letter: NFKC, no spaces of any width."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def register_name(extract: RegisterExtract, person_key: str) -> tuple[str, str] | None:
    """The person's name and its reading as the resident register holds them."""
    name = extract.value("resident_register", person_key, "name")
    if not isinstance(name, Mapping):
        return None
    written = f"{name.get('family', '')} {name.get('given') or ''}".strip()
    reading = f"{name.get('family_kana', '')} {name.get('given_kana') or ''}".strip()
    return written, reading


def find_resident(
    session: Session,
    check: IdentityCheck,
    *,
    source: RecordSource,
    clerk: User,
    now: datetime,
) -> CounterSession:
    """Find the person in the resident register and start a pending session with the check.

    The register's name (written or its reading) and birth date must be the ones seen on
    the document; otherwise IdentityRefused. The read itself is audited on the ground
    ``counter_identity_check`` whatever it finds.
    """
    try:
        extract = source.fetch(check.person_key, ["resident_register"])
    except RegisterUnavailable:
        raise IdentityRefused({"person_key": "unavailable"}) from None
    record_event(
        session,
        actor=f"user:{clerk.id}",
        action="register.read",
        subject_type="person",
        subject_id=check.person_key,
        details={
            "sources": ["resident_register"],
            "fields": ["name", "birth_date", "status"],
            "ground": IDENTITY_GROUND,
            "purpose": "identity_check",
        },
    )
    names = register_name(extract, check.person_key)
    if names is None:
        raise IdentityRefused({"person_key": "not_found"})
    if extract.value("resident_register", check.person_key, "status") == "deceased":
        raise IdentityRefused({"person_key": "deceased"})
    birth_date = extract.value("resident_register", check.person_key, "birth_date")
    seen = _folded_name(check.name_as_seen)
    same_birth_date = str(birth_date) == check.birth_date_as_seen.isoformat()
    if seen not in {_folded_name(name) for name in names} or not same_birth_date:
        raise IdentityRefused({"person_key": "mismatch"})
    counter_session = CounterSession(
        id=secrets.token_urlsafe(32),
        clerk_id=clerk.id,
        person_key=check.person_key,
        resident_name=names[0],
        identity_check=check.as_record(),
        applications=[],
        started_at=now,
    )
    session.add(counter_session)
    session.flush()
    return counter_session


def clerk_session(session: Session, session_id: object, clerk_id: int) -> CounterSession | None:
    """One of the clerk's own sessions, in any state; None for anyone else's."""
    if not isinstance(session_id, str) or not session_id:
        return None
    found = session.get(CounterSession, session_id)
    if found is None or found.clerk_id != clerk_id:
        return None
    return found


def pending_session(
    session: Session, session_id: object, clerk_id: int, now: datetime
) -> CounterSession | None:
    """The clerk's session waiting for them to confirm the register match, if still fresh."""
    found = clerk_session(session, session_id, clerk_id)
    if (
        found is None
        or found.confirmed_at is not None
        or found.ended_at is not None
        or now >= found.started_at + COUNTER_SESSION_LIFETIME
    ):
        return None
    return found


def live_session(
    session: Session, session_id: object, clerk_id: int, now: datetime
) -> CounterSession | None:
    """The clerk's confirmed session that has neither ended nor run out."""
    found = clerk_session(session, session_id, clerk_id)
    return found if found is not None and found.live(now) else None


def confirm(session: Session, counter_session: CounterSession, *, now: datetime) -> None:
    """The clerk confirms the match: the identity check is recorded and the session starts."""
    counter_session.confirmed_at = now
    actor = f"user:{counter_session.clerk_id}"
    record_event(
        session,
        actor=actor,
        action="counter.identity_checked",
        subject_type="person",
        subject_id=counter_session.person_key,
        details={
            "session": counter_session.id,
            "clerk": actor,
            "document_type": counter_session.identity_check["document_type"],
        },
    )
    record_event(
        session,
        actor=actor,
        action="counter.session_started",
        subject_type="counter_session",
        subject_id=counter_session.id,
        details={"person": counter_session.person_key},
    )


def record_consent(
    session: Session,
    counter_session: CounterSession,
    *,
    draft_id: str,
    sources: Sequence[str],
) -> None:
    """Record that the resident, at the counter, agreed (or not) to the registers being read."""
    record_event(
        session,
        actor=f"user:{counter_session.clerk_id}",
        action="counter.consent_recorded",
        subject_type="person",
        subject_id=counter_session.person_key,
        details={
            "session": counter_session.id,
            "draft": draft_id,
            "sources": sorted(sources),
            "given": bool(sources),
            "given_by": "resident_at_counter",
        },
    )


def resident_applicant(
    session: Session, counter_session: CounterSession, *, language: str, now: datetime
) -> User:
    """The resident's user, found by person key; one made for the counter if they have none.

    A resident who signs in online later gets a user of their own with the same person
    key, and their dashboard shows what was filed for them here.
    """
    found = session.scalars(
        select(User)
        .where(User.person_key == counter_session.person_key, User.role == "resident")
        .order_by(User.id)
    ).first()
    if found is not None:
        return found
    user = User(
        issuer=COUNTER_ISSUER,
        subject=counter_session.person_key,
        role="resident",
        person_key=counter_session.person_key,
        display_name=counter_session.resident_name,
        departments=[],
        preferred_language=language,
        created_at=now,
        last_signed_in_at=now,
    )
    session.add(user)
    session.flush()
    return user


def identity_record(counter_session: CounterSession) -> dict[str, Any]:
    """The identity check as the application keeps it: what was seen, by whom, when."""
    assert counter_session.confirmed_at is not None, "only a confirmed session files"
    return {
        **counter_session.identity_check,
        "person_key": counter_session.person_key,
        "checked_by": f"user:{counter_session.clerk_id}",
        "checked_at": counter_session.confirmed_at.isoformat(),
        "session": counter_session.id,
    }


def printable_procedures(session: Session, application: Application) -> list[ProcedureEntry]:
    """The application's counter-only procedures that have a form to print, in order."""
    catalogue = catalogue_for_pins(session, application.pins)
    life_event = catalogue.life_event(application.life_event_id)
    answers = load_answers(application.answers, field_specs(catalogue, life_event))
    listing = applicable_procedures(
        catalogue, life_event, answers, default_context(application.submitted_at.date())
    )
    return [
        entry for entry in listing.counter if entry.counter is not None and entry.counter.print_form
    ]


def record_filed(
    session: Session, counter_session: CounterSession, application: Application
) -> None:
    """Note the application on the session and enqueue its counter-only forms (after commit)."""
    counter_session.applications = [*counter_session.applications, application.reference]
    for entry in printable_procedures(session, application):
        enqueue(
            session,
            JOB_KIND,
            {"application": application.reference, "procedure": entry.id},
            key=f"counter_form:{application.reference}:{entry.id}",
        )


def end(session: Session, counter_session: CounterSession, *, now: datetime) -> None:
    """End the session: its drafts can no longer be opened, what was filed stays filed."""
    if counter_session.ended_at is not None:
        return
    counter_session.ended_at = now
    record_event(
        session,
        actor=f"user:{counter_session.clerk_id}",
        action="counter.session_ended",
        subject_type="counter_session",
        subject_id=counter_session.id,
        details={
            "person": counter_session.person_key,
            "applications": counter_session.applications,
        },
    )


def session_applications(session: Session, counter_session: CounterSession) -> list[Application]:
    """The applications filed in the session, in the order they were filed."""
    found = [
        application_by_reference(session, reference) for reference in counter_session.applications
    ]
    return [application for application in found if application is not None]


def may_print(user: User, application: Application) -> bool:
    """The clerk who assisted, or staff who handle one of the application's submissions."""
    return application.assisted_by == user.id or any(
        may_handle(user, submission.department_id) for submission in application.submissions
    )


def record_print(session: Session, application: Application, procedure_id: str, user: User) -> None:
    """Audit that a clerk printed (downloaded) a counter-only procedure's pre-filled form."""
    record_event(
        session,
        actor=f"user:{user.id}",
        action="counter.form_printed",
        subject_type="application",
        subject_id=application.reference,
        details={"procedure": procedure_id, "assisted": application.assisted},
    )


def counter_form_data(
    session: Session, application: Application, procedure_id: str
) -> CounterFormData:
    """What one counter-only form shows: the procedure's pages filled from what the portal holds.

    Values come from the application's answers (register values among them, marked with
    their register); anything the portal does not hold is left as a box to fill in.
    """
    lang = "en" if application.language == "en" else "ja"
    catalogue = catalogue_for_pins(session, application.pins)
    life_event = catalogue.life_event(application.life_event_id)
    procedure = catalogue.procedure(procedure_id)
    answers = load_answers(application.answers, field_specs(catalogue, life_event))
    context = default_context(application.submitted_at.date())
    entry = next(
        (
            item
            for item in applicable_procedures(catalogue, life_event, answers, context).counter
            if item.id == procedure_id
        ),
        None,
    )
    provenance = (application.register or {}).get("provenance", {})
    journey = Journey.for_procedure(procedure)
    sections = []
    for page in journey.reachable_steps(answers, context):
        if page.is_exit:
            continue
        rows = []
        for field_id in page.fields:
            spec = journey.field_spec(field_id)
            if isinstance(spec, ContentField):
                continue
            value = answers.get(field_id)
            if value is None:
                shown = ""
            elif isinstance(spec, GroupField) and isinstance(value, list):
                shown = "\n".join(item_summaries(spec, value, lang))
            else:
                shown = display(spec, value, lang)
            origin = provenance.get(field_id)
            source = REGISTER_NAMES[str(origin["source"])].get(lang) if origin else ""
            label = spec.label.get(lang) if spec.label else field_id
            rows.append(FormRow(label, shown, source))
        heading = journey.heading(page)
        title = heading.get(lang) if heading else procedure.model.title.get(lang)
        if rows:
            sections.append(FormSection(title, tuple(rows)))
    counter = procedure.model.counter
    return CounterFormData(
        reference=application.reference,
        language=lang,
        submitted_at=application.submitted_at,
        applicant_name=application.applicant_name,
        filed_for=representation.described(application.representation, lang),
        procedure_title=procedure.model.title.get(lang),
        where=counter.where.get(lang) if counter else "",
        deadline=entry.deadline if entry is not None else None,
        bring=[item.get(lang) for item in counter.bring] if counter else [],
        sections=sections,
    )


def _render_for_job(session: Session, payload: dict[str, Any]) -> bytes | None:
    """The slow part: render the form, with no lock held; None when there is nothing to do."""
    application = application_by_reference(session, str(payload["application"]))
    procedure_id = str(payload["procedure"])
    if application is None or procedure_id in (application.counter_forms or {}):
        return None
    return render_counter_form(
        counter_form_data(session, application, procedure_id),
        timezone=current_app.config["PORTAL_TIMEZONE"],
    )


@job_handler(JOB_KIND, prepare=_render_for_job)
def store_counter_form(session: Session, payload: dict[str, Any], pdf: bytes | None) -> None:
    """Store the rendered form once; a retried job finds it done and stops."""
    application = application_by_reference(session, str(payload["application"]))
    procedure_id = str(payload["procedure"])
    if pdf is None or application is None or procedure_id in (application.counter_forms or {}):
        return
    key = file_storage().put("counter-forms", pdf, "application/pdf")
    application.counter_forms = {**(application.counter_forms or {}), procedure_id: key}
