"""Once only: fill a draft from the city's registers, with consent, provenance and audit.

The definitions say which register fills which field (`prefill:`). Before anything is
fetched the resident sees which registers would be read and why, and agrees per
register; declining means typing the values in, never a dead end. Fetched values keep
their provenance (register, time, editability); a locked value is put back from the
register on every save, so a tampered form cannot change it; a correctable value may be
changed with a reason, and the clerk sees "changed from register value X". Every read
is written to the audit log: who, whose record, which fields, for which draft, on what
ground.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from portal.audit.services import record_event
from portal.definitions.fields import LoadError, dump_value, load_value, seal_data, stored_value
from portal.definitions.journey import Journey
from portal.definitions.schema import AnyField, FieldBase, TextPair
from portal.definitions.sealing import unsealed
from portal.records.extract import RegisterExtract, RegisterUnavailable
from portal.records.sources import RecordSource
from portal.resident.models import RegisterReport
from portal.resident.services import DraftState, store_answers

REGISTER_NAMES: dict[str, TextPair] = {
    "resident_register": TextPair(ja="住民基本台帳", en="Resident register"),
    "resident_tax": TextPair(ja="住民税の記録", en="Resident tax records"),
    "nhi": TextPair(ja="国民健康保険の記録", en="National Health Insurance records"),
    "late_elderly": TextPair(
        ja="後期高齢者医療の記録", en="Late-stage elderly medical care records"
    ),
    "ltc_insurance": TextPair(ja="介護保険の記録", en="Long-term care insurance records"),
    "seal": TextPair(ja="印鑑登録の記録", en="Seal registration records"),
    "child_allowance": TextPair(ja="児童手当の記録", en="Child allowance records"),
    "disability": TextPair(ja="障害者手帳の記録", en="Disability certificate records"),
    "public_fund_account": TextPair(
        ja="公金受取口座（登録されている方のみ）",
        en="Registered public-fund bank account (only if you registered one)",
    ),
}

# The department that keeps each register and hears that a value in it is wrong.
REGISTER_DEPARTMENTS = {
    "resident_register": "citizens",
    "seal": "citizens",
    "resident_tax": "taxation",
    "nhi": "insurance_pension",
    "late_elderly": "insurance_pension",
    "ltc_insurance": "ltc_insurance",
    "child_allowance": "child_support",
    "disability": "disability_welfare",
    # The public-fund account is registered with the Digital Agency; the citizens
    # division helps residents correct it.
    "public_fund_account": "citizens",
}
MAX_REPORT_LENGTH = 1000

# What the resident is asked about, in this order.
STATUS_NOT_ASKED = "not_asked"
STATUS_CHECKED = "checked"
STATUS_DECLINED = "declined"
STATUS_UNAVAILABLE = "unavailable"


@dataclass
class SourceUse:
    """One register the journey could fill from, and the fields it would fill."""

    source: str
    fields: list[str] = field(default_factory=list)
    subjects: set[str] = field(default_factory=set)

    def name(self, lang: str) -> str:
        return REGISTER_NAMES[self.source].get(lang)


def prefilled_fields(journey: Journey) -> dict[str, FieldBase]:
    """The journey's fields that a register can fill, by id (groups are typed in)."""
    found: dict[str, FieldBase] = {}
    for step in journey.steps:
        for field_id in step.fields:
            spec = journey.field_spec(field_id)
            if isinstance(spec, FieldBase) and spec.prefill is not None:
                found[field_id] = spec
    return found


def plan(journey: Journey) -> dict[str, SourceUse]:
    """Which registers the chosen procedures would read, and for which fields."""
    uses: dict[str, SourceUse] = {}
    for field_id, spec in prefilled_fields(journey).items():
        assert spec.prefill is not None
        use = uses.setdefault(spec.prefill.source, SourceUse(spec.prefill.source))
        use.fields.append(field_id)
        use.subjects.add(spec.prefill.subject)
    return dict(sorted(uses.items(), key=lambda item: list(REGISTER_NAMES).index(item[0])))


def register_state(state: DraftState) -> dict[str, Any]:
    """The draft's register record: consents, provenance, corrections, status."""
    record = dict(state.draft.register or {})
    record.setdefault("status", STATUS_NOT_ASKED)
    record.setdefault("consents", {})
    record.setdefault("provenance", {})
    record.setdefault("corrections", {})
    return record


def _save_register(state: DraftState, record: Mapping[str, Any]) -> None:
    # Assign a new dict so that SQLAlchemy sees the JSON column change.
    state.draft.register = dict(record)


def decline(state: DraftState, *, now: datetime) -> None:
    """The resident types everything in; the clerk sees "not checked against the register"."""
    record = register_state(state)
    record["status"] = STATUS_DECLINED
    record["consents"] = {}
    record["decided_at"] = now.isoformat()
    _save_register(state, record)


# The register says what the resident is to the related person ("child": the resident
# is their child); people read it the other way round ("your parent").
RELATED_AS = {
    "child": TextPair(ja="親", en="your parent"),
    "parent": TextPair(ja="子", en="your child"),
    "spouse": TextPair(ja="配偶者", en="your spouse"),
    "sibling": TextPair(ja="兄弟姉妹", en="your brother or sister"),
    "grandchild": TextPair(ja="祖父母", en="your grandparent"),
    "grandparent": TextPair(ja="孫", en="your grandchild"),
    "relative": TextPair(ja="親族", en="a relative"),
}
DIED = TextPair(ja="死亡", en="died")
BORN = TextPair(ja="生", en="born")


def candidates(extract: RegisterExtract, lang: str) -> list[tuple[str, str]]:
    """The related persons the resident may file about: (person key, how they are shown).

    Each is shown with what they are to the resident and their dates, the deceased first.
    """
    from portal.definitions.japanese import format_date_en, format_date_ja

    def day(value: object) -> str:
        parsed = date.fromisoformat(str(value))
        return format_date_en(parsed) if lang == "en" else format_date_ja(parsed)

    shown = []
    for person in extract.related:
        name = extract.value("resident_register", person.person_key, "name")
        if not isinstance(name, Mapping):
            continue
        birth = extract.value("resident_register", person.person_key, "birth_date")
        death = extract.value("resident_register", person.person_key, "death_date")
        details = []
        if person.relationship in RELATED_AS:
            details.append(RELATED_AS[person.relationship].get(lang))
        if birth:
            details.append(
                f"{BORN.get(lang)} {day(birth)}"
                if lang == "en"
                else f"{day(birth)}{BORN.get(lang)}"
            )
        if death:
            details.append(
                f"{DIED.get(lang)} {day(death)}"
                if lang == "en"
                else f"{day(death)}{DIED.get(lang)}"
            )
        text = f"{name.get('family', '')} {name.get('given') or ''}".strip()
        if details:
            separator = ", " if lang == "en" else "・"
            text += (
                f" ({separator.join(details)})"
                if lang == "en"
                else f"（{separator.join(details)}）"
            )
        shown.append((death is None, person.person_key, text))
    return [(key, text) for _alive, key, text in sorted(shown, key=lambda item: item[0])]


def fetch(
    session: Session,
    state: DraftState,
    *,
    source: RecordSource,
    person_key: str,
    consented: Collection[str],
    actor: str,
    now: datetime,
    ground: str = "self",
) -> RegisterExtract | None:
    """Read the consented registers once for this draft; None when they are unavailable.

    ``ground`` is why the reader may read this person's records: ``self`` for a signed-in
    resident, ``counter_identity_check`` for a clerk whose identity check found them.
    """
    record = register_state(state)
    sources = sorted(set(consented))
    record["consents"] = {name: now.isoformat() for name in sources}
    record["decided_at"] = now.isoformat()
    try:
        extract = source.fetch(person_key, sources)
    except RegisterUnavailable as error:
        record["status"] = STATUS_UNAVAILABLE
        record["unavailable"] = list(error.sources)
        _save_register(state, record)
        return None
    record["status"] = STATUS_CHECKED
    record["extract"] = extract.document.model_dump(mode="json")
    _save_register(state, record)
    record_event(
        session,
        actor=actor,
        action="register.read",
        subject_type="person",
        subject_id=person_key,
        details={
            "draft": state.draft.id,
            "sources": sources,
            "fields": sorted(
                field_id
                for field_id, spec in prefilled_fields(state.form).items()
                if spec.prefill is not None
                and spec.prefill.source in sources
                and spec.prefill.subject == "applicant"
            ),
            "ground": ground,
            "related": [person.person_key for person in extract.related],
        },
    )
    return extract


def stored_extract(state: DraftState) -> RegisterExtract | None:
    """The extract fetched for this draft, if any (never fetched twice)."""
    document = register_state(state).get("extract")
    if not document:
        return None
    return RegisterExtract.from_stored(document)


def apply(
    session: Session,
    state: DraftState,
    journey: Journey,
    *,
    extract: RegisterExtract,
    concerned_key: str | None,
    actor: str,
    now: datetime,
    acting_for: str | None = None,
) -> list[str]:
    """Fill the journey's fields from the extract; return the ids filled.

    Values already answered in the questionnaire stay as the resident gave them. A
    representative files in the name of the person they act for (`acting_for`, someone
    the extract relates to them by a power of attorney): the applicant's fields are
    that person's.
    """
    record = register_state(state)
    consents = record["consents"]
    applicant_key = acting_for or extract.person_key
    answers = dict(state.answers)
    provenance: dict[str, Any] = dict(record["provenance"])
    filled: list[str] = []
    read_about_concerned: list[str] = []
    prior = set(state.life_event.questionnaire.fields)
    for field_id, spec in prefilled_fields(journey).items():
        assert spec.prefill is not None
        prefill = spec.prefill
        if prefill.source not in consents or field_id in prior:
            continue
        subject = applicant_key if prefill.subject == "applicant" else concerned_key
        if subject is None:
            continue
        raw = extract.value(prefill.source, subject, prefill.path)
        if raw is None:
            continue
        try:
            value = load_value(spec, raw)
        except LoadError:
            continue
        answers[field_id] = value
        provenance[field_id] = {
            "source": prefill.source,
            "subject": prefill.subject,
            "fetched_at": (extract.source_fetched_at(prefill.source) or now).isoformat(),
            "editability": prefill.editability,
            "value": stored_value(spec, value),
        }
        filled.append(field_id)
        if prefill.subject == "concerned":
            read_about_concerned.append(field_id)
    record["provenance"] = provenance
    if acting_for is not None:
        record_event(
            session,
            actor=actor,
            action="register.read",
            subject_type="person",
            subject_id=acting_for,
            details={
                "draft": state.draft.id,
                "fields": sorted(
                    field_id for field_id in filled if field_id not in read_about_concerned
                ),
                "ground": "related:power_of_attorney",
                "on_behalf_of": acting_for,
                "acted_by": extract.person_key,
            },
        )
    if concerned_key is not None:
        record["concerned"] = concerned_key
        via = next((p.via for p in extract.related if p.person_key == concerned_key), None)
        record_event(
            session,
            actor=actor,
            action="register.read",
            subject_type="person",
            subject_id=concerned_key,
            details={
                "draft": state.draft.id,
                "fields": sorted(read_about_concerned),
                "ground": f"related:{via}",
                "on_behalf_of": applicant_key,
            },
        )
    _save_register(state, record)
    store_answers(state, answers, now)
    return filled


def forget_applicant_values(state: DraftState, now: datetime) -> None:
    """Drop the values filled about the applicant, before filling them about someone else."""
    record = register_state(state)
    provenance = record["provenance"]
    dropped = {key for key, origin in provenance.items() if origin.get("subject") == "applicant"}
    record["provenance"] = {k: v for k, v in provenance.items() if k not in dropped}
    record["corrections"] = {k: v for k, v in record["corrections"].items() if k not in dropped}
    _save_register(state, record)
    store_answers(state, {k: v for k, v in state.answers.items() if k not in dropped}, now)


def provenance_of(state: DraftState) -> dict[str, dict[str, Any]]:
    """Where each prefilled value came from."""
    return dict(register_state(state)["provenance"])


def locked_inputs(state: DraftState, journey: Journey) -> dict[str, str | list[str]]:
    """The input values of locked fields, as the register gave them (put back on save)."""
    from portal.resident.pages import stored_inputs

    inputs: dict[str, str | list[str]] = {}
    for field_id, origin in provenance_of(state).items():
        if origin["editability"] != "locked":
            continue
        try:
            spec: AnyField = journey.field_spec(field_id)
        except KeyError:
            continue
        inputs.update(stored_inputs(field_id, spec, load_value(spec, origin["value"])))
    return inputs


def record_corrections(
    state: DraftState, journey: Journey, values: Mapping[str, object], reasons: Mapping[str, str]
) -> dict[str, str]:
    """Keep "changed from register value X" with the reason; return fields missing a reason."""
    record = register_state(state)
    corrections = dict(record["corrections"])
    missing: dict[str, str] = {}
    for field_id, origin in provenance_of(state).items():
        if field_id not in values or origin["editability"] != "correctable":
            continue
        spec = journey.field_spec(field_id)
        new = dump_value(spec, values[field_id])
        if new == unsealed(origin["value"]):
            corrections.pop(field_id, None)
            continue
        reason = (reasons.get(field_id) or "").strip()
        if not reason:
            missing[field_id] = "correction_reason_required"
            continue
        corrections[field_id] = {
            "register_value": origin["value"],
            "new_value": seal_data(spec, new),
            "reason": reason[:500],
        }
    record["corrections"] = corrections
    _save_register(state, record)
    return missing


def report_wrong_value(
    session: Session,
    state: DraftState,
    *,
    user_id: int,
    person_key: str,
    field_id: str,
    message: str,
    actor: str,
    now: datetime,
) -> RegisterReport:
    """Send the owning department a report that a prefilled register value is wrong."""
    origin = provenance_of(state).get(field_id)
    if origin is None:
        raise KeyError(field_id)
    report = RegisterReport(
        user_id=user_id,
        person_key=person_key,
        draft_id=state.draft.id,
        source=str(origin["source"]),
        field_id=field_id,
        department_id=REGISTER_DEPARTMENTS[str(origin["source"])],
        message=message,
        status="open",
        created_at=now,
    )
    session.add(report)
    session.flush()
    record_event(
        session,
        actor=actor,
        action="register.reported_wrong",
        subject_type="register_report",
        subject_id=str(report.id),
        details={"source": report.source, "field": field_id, "department": report.department_id},
    )
    return report
