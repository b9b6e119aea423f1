"""The demo registers: seeding them from `demo_data` and reading a person's extract from them.

Both take the session explicitly so that the CLI, the ``demo`` record source and the
demo register API share them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload

from portal.records import demo_data
from portal.records.extract import checked_sources
from portal.records.models import (
    ChildAllowance,
    ChildAllowanceChild,
    DisabilityCertificate,
    Household,
    LateElderlyMembership,
    LtcMembership,
    NhiMembership,
    Person,
    PublicFundAccount,
    Relation,
    ResidentTax,
    SealRegistration,
)
from portal.records.schema import (
    APPLICANT_ONLY_REGISTERS,
    SOURCE_EXTRACTS,
    Address,
    AllowanceChild,
    ApiModel,
    BankAccount,
    Certificate,
    ChildAllowanceRecord,
    DisabilityRecord,
    ExtractDocument,
    LateElderlyRecord,
    LtcRecord,
    NhiRecord,
    PersonName,
    PublicFundAccountRecord,
    RelatedPerson,
    ResidentRecord,
    ResidentTaxRecord,
    SealRecord,
)

# --- Seeding ------------------------------------------------------------------------------

SEEDED_TABLES: tuple[type[Any], ...] = (
    Household,
    Person,
    Relation,
    ResidentTax,
    NhiMembership,
    LateElderlyMembership,
    LtcMembership,
    SealRegistration,
    ChildAllowance,
    ChildAllowanceChild,
    DisabilityCertificate,
    PublicFundAccount,
)


@dataclass(frozen=True)
class SeedReport:
    """What `seed_demo_registers` did: persons added, and the rows each table now holds."""

    persons_created: int
    rows: dict[str, int]


def _assign(row: object, values: dict[str, object]) -> None:
    """Set attributes; SQLAlchemy writes only those that changed."""
    for name, value in values.items():
        setattr(row, name, value)


def _status(person: demo_data.DemoPerson) -> str:
    if person.death_date is not None:
        return "deceased"
    return "resident" if person.household is not None else "non_resident"


def _sync_per_person(
    session: Session,
    model: type[Any],
    person_column: str,
    person_ids: dict[str, int],
    wanted: dict[str, dict[str, object]],
    *criteria: ColumnElement[bool],
) -> None:
    """Make a one-record-per-person register hold exactly ``wanted`` for the seeded persons.

    ``criteria`` narrow the rows the register holds per person to one (a fiscal year).
    """
    column = getattr(model, person_column)
    existing = {
        getattr(row, person_column): row
        for row in session.scalars(select(model).where(column.in_(person_ids.values()), *criteria))
    }
    for person_key, person_id in person_ids.items():
        row = existing.get(person_id)
        values = wanted.get(person_key)
        if values is None:
            if row is not None:
                session.delete(row)
            continue
        if row is None:
            row = model(**{person_column: person_id})
            session.add(row)
        _assign(row, values)


def seed_demo_registers(session: Session) -> SeedReport:
    """Insert or update the demo residents by person key; running it twice changes nothing."""
    households = {
        row.household_key: row
        for row in session.scalars(
            select(Household).where(
                Household.household_key.in_([h.key for h in demo_data.HOUSEHOLDS])
            )
        )
    }
    for household in demo_data.HOUSEHOLDS:
        row = households.get(household.key)
        if row is None:
            row = households[household.key] = Household(household_key=household.key)
            session.add(row)
        _assign(
            row,
            {
                "postal_code": household.postal_code,
                "town": household.town,
                "address_line": household.line,
            },
        )
    session.flush()

    persons = {
        row.person_key: row
        for row in session.scalars(
            select(Person).where(Person.person_key.in_([p.key for p in demo_data.PERSONS]))
        )
    }
    created = 0
    for person in demo_data.PERSONS:
        row = persons.get(person.key)
        if row is None:
            row = persons[person.key] = Person(person_key=person.key)
            session.add(row)
            created += 1
        _assign(
            row,
            {
                "persona": person.persona,
                "status": _status(person),
                "family_name": person.family,
                "given_name": person.given,
                "family_name_kana": person.family_kana,
                "given_name_kana": person.given_kana,
                "birth_date": person.birth_date,
                "sex": person.sex,
                "household_id": households[person.household].id if person.household else None,
                "relationship_to_head": person.relationship_to_head,
                "moved_in_date": person.moved_in_date,
                "moved_out_date": None,
                "death_date": person.death_date,
                "my_number_on_file": person.my_number_on_file,
            },
        )
    session.flush()
    ids = {key: row.id for key, row in persons.items()}

    _seed_registers(session, ids)
    session.flush()
    rows = {
        model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
        for model in SEEDED_TABLES
    }
    return SeedReport(persons_created=created, rows=rows)


def _seed_registers(session: Session, ids: dict[str, int]) -> None:
    """Bring every register of the seeded persons in line with `demo_data`."""
    _sync_per_person(
        session,
        NhiMembership,
        "person_id",
        ids,
        {
            key: {
                "insured_number": m.insured_number,
                "nhi_household_number": m.nhi_household_number,
                "acquired_date": m.acquired_date,
                "lost_date": None,
            }
            for key, m in demo_data.NHI.items()
        },
    )
    _sync_per_person(
        session,
        LateElderlyMembership,
        "person_id",
        ids,
        {
            key: {
                "insured_number": m.insured_number,
                "copayment_percent": m.copayment_percent,
                "acquired_date": m.acquired_date,
                "lost_date": None,
            }
            for key, m in demo_data.LATE_ELDERLY.items()
        },
    )
    _sync_per_person(
        session,
        LtcMembership,
        "person_id",
        ids,
        {
            key: {
                "insured_number": m.insured_number,
                "care_level": m.care_level,
                "certified_until": m.certified_until,
                "acquired_date": m.acquired_date,
                "lost_date": None,
            }
            for key, m in demo_data.LTC.items()
        },
    )
    _sync_per_person(
        session,
        SealRegistration,
        "person_id",
        ids,
        {
            key: {
                "registration_number": s.registration_number,
                "registered_date": s.registered_date,
                "cancelled_date": None,
            }
            for key, s in demo_data.SEALS.items()
        },
    )
    _sync_per_person(
        session,
        PublicFundAccount,
        "person_id",
        ids,
        {
            key: {
                "bank_code": a.bank_code,
                "branch_code": a.branch_code,
                "account_type": a.account_type,
                "account_number": a.account_number,
                "holder_kana": a.holder_kana,
                "yucho_kigou": a.yucho_kigou,
                "yucho_bangou": a.yucho_bangou,
                "registered_date": a.registered_date,
            }
            for key, a in demo_data.PUBLIC_FUND_ACCOUNTS.items()
        },
    )
    _sync_per_person(
        session,
        ResidentTax,
        "person_id",
        ids,
        {
            key: {
                "fiscal_year": demo_data.TAX_FISCAL_YEAR,
                "income": t.income,
                "income_levy": t.income_levy,
                "per_capita_levy": t.per_capita_levy,
                "tax_amount": t.income_levy + t.per_capita_levy,
            }
            for key, t in demo_data.RESIDENT_TAXES.items()
        },
        ResidentTax.fiscal_year == demo_data.TAX_FISCAL_YEAR,
    )
    _sync_per_person(
        session,
        ChildAllowance,
        "recipient_id",
        ids,
        {
            key: {"started_date": a.started_date, "ended_date": None}
            for key, a in demo_data.CHILD_ALLOWANCES.items()
        },
    )
    session.flush()
    _seed_allowance_children(session, ids)
    _seed_relations(session, ids)
    _seed_certificates(session, ids)


def _seed_allowance_children(session: Session, ids: dict[str, int]) -> None:
    """Add and remove the children of each allowance (never re-insert a kept one)."""
    allowances = session.scalars(
        select(ChildAllowance)
        .where(ChildAllowance.recipient_id.in_(ids.values()))
        .options(selectinload(ChildAllowance.children))
    )
    keys_by_id = {person_id: key for key, person_id in ids.items()}
    for allowance in allowances:
        data = demo_data.CHILD_ALLOWANCES[keys_by_id[allowance.recipient_id]]
        wanted = {ids[child] for child in data.children}
        for child in list(allowance.children):
            if child.child_id not in wanted:
                allowance.children.remove(child)
        present = {child.child_id for child in allowance.children}
        for child_id in sorted(wanted - present):
            allowance.children.append(ChildAllowanceChild(child_id=child_id))


def _seed_relations(session: Session, ids: dict[str, int]) -> None:
    """Make the relations of the seeded persons those of `demo_data`."""
    existing = {
        (row.person_id, row.related_person_id): row
        for row in session.scalars(select(Relation).where(Relation.person_id.in_(ids.values())))
    }
    wanted = {(ids[r.person], ids[r.related]): r for r in demo_data.RELATIONS}
    for pair, row in existing.items():
        if pair not in wanted:
            session.delete(row)
    for (person_id, related_id), relation in wanted.items():
        row = existing.get((person_id, related_id))
        if row is None:
            row = Relation(person_id=person_id, related_person_id=related_id)
            session.add(row)
        _assign(
            row,
            {
                "relationship": relation.relationship,
                "power_of_attorney_scope": relation.power_of_attorney_scope,
                "power_of_attorney_until": relation.power_of_attorney_until,
            },
        )


def _seed_certificates(session: Session, ids: dict[str, int]) -> None:
    """Make the disability certificates of the seeded persons those of `demo_data`."""
    existing = {
        row.certificate_number: row
        for row in session.scalars(
            select(DisabilityCertificate).where(DisabilityCertificate.person_id.in_(ids.values()))
        )
    }
    wanted = {c.certificate_number: c for c in demo_data.DISABILITY_CERTIFICATES}
    for number, row in existing.items():
        if number not in wanted:
            session.delete(row)
    for number, certificate in wanted.items():
        row = existing.get(number)
        if row is None:
            row = DisabilityCertificate(certificate_number=number)
            session.add(row)
        _assign(
            row,
            {
                "person_id": ids[certificate.person],
                "kind": certificate.kind,
                "grade": certificate.grade,
                "issued_date": certificate.issued_date,
                "valid_until": certificate.valid_until,
                "returned_date": None,
            },
        )


def persona_person_key(session: Session, persona: str) -> str | None:
    """The person key of a demo persona (the demo identity provider's ``sub``), if any."""
    return session.scalar(select(Person.person_key).where(Person.persona == persona))


# --- Reading an extract ---------------------------------------------------------------------

# (the person's relationship to the head, the related person's) → what the person is
# to the related person. Pairs the register cannot settle are left out (null).
HOUSEHOLD_RELATIONSHIPS = {
    ("head", "spouse"): "spouse",
    ("spouse", "head"): "spouse",
    ("head", "child"): "parent",
    ("child", "head"): "child",
    ("spouse", "child"): "parent",
    ("child", "spouse"): "child",
    ("child", "child"): "sibling",
    ("head", "parent"): "child",
    ("parent", "head"): "parent",
    ("parent", "child"): "grandparent",
    ("child", "parent"): "grandchild",
    ("spouse", "parent"): "relative",
    ("parent", "spouse"): "relative",
}


@dataclass(frozen=True)
class _Related:
    person: Person
    via: str
    relationship: str | None
    scope: str | None = None


def _related_persons(session: Session, person: Person, today: date) -> list[_Related]:
    """Household members (the deceased included), deceased relatives, and principals.

    A living relative outside the household is not included: being family gives no
    right to their records, a power of attorney does.
    """
    related: dict[int, _Related] = {}
    if person.household_id is not None:
        members = session.scalars(
            select(Person).where(
                Person.household_id == person.household_id,
                Person.id != person.id,
                Person.status.in_(("resident", "deceased")),
            )
        )
        for member in members:
            pair = (person.relationship_to_head, member.relationship_to_head)
            related[member.id] = _Related(member, "household", HOUSEHOLD_RELATIONSHIPS.get(pair))
    relations = session.execute(
        select(Relation, Person)
        .join(Person, Person.id == Relation.related_person_id)
        .where(Relation.person_id == person.id)
    )
    for relation, other in relations:
        if other.id in related:
            continue
        if other.status == "deceased":
            related[other.id] = _Related(other, "deceased_relative", relation.relationship)
        elif relation.power_of_attorney_scope is not None and (
            relation.power_of_attorney_until is None or relation.power_of_attorney_until >= today
        ):
            related[other.id] = _Related(
                other, "power_of_attorney", relation.relationship, relation.power_of_attorney_scope
            )
    return sorted(related.values(), key=lambda item: item.person.person_key)


def _name(person: Person) -> PersonName:
    return PersonName(
        family=person.family_name,
        given=person.given_name,
        family_kana=person.family_name_kana,
        given_kana=person.given_name_kana,
    )


def _household_head(members: Sequence[Person]) -> Person | None:
    """The living head; else the head who died, until the change of head is notified."""
    heads = [member for member in members if member.relationship_to_head == "head"]
    living = [head for head in heads if head.status == "resident"]
    if living:
        return living[0]
    return max(heads, key=lambda head: head.death_date or date.min, default=None)


def _resident_records(
    session: Session, subjects: Sequence[Person], today: date
) -> dict[str, ApiModel]:
    registered = [person for person in subjects if person.household_id is not None]
    household_ids = {person.household_id for person in registered}
    members: dict[int, list[Person]] = defaultdict(list)
    for member in session.scalars(select(Person).where(Person.household_id.in_(household_ids))):
        members[member.household_id].append(member)  # type: ignore[index]
    households = {
        row.id: row
        for row in session.scalars(select(Household).where(Household.id.in_(household_ids)))
    }
    records: dict[str, ApiModel] = {}
    for person in registered:
        household = households[person.household_id]  # type: ignore[index]
        mates = members[household.id]
        head = _household_head(mates)
        records[person.person_key] = ResidentRecord(
            status=person.status,  # type: ignore[arg-type]
            name=_name(person),
            birth_date=person.birth_date,
            sex=person.sex,  # type: ignore[arg-type]
            address=Address(
                postal_code=household.postal_code,
                prefecture=demo_data.PREFECTURE,
                city=demo_data.CITY,
                town=household.town,
                line=household.address_line,
                overseas=None,
            ),
            household_key=household.household_key,
            relationship_to_head=person.relationship_to_head,  # type: ignore[arg-type]
            is_household_head=head is not None and head.id == person.id,
            household_head_key=head.person_key if head is not None else None,
            household_size=sum(1 for mate in mates if mate.status == "resident"),
            moved_in_date=person.moved_in_date,  # type: ignore[arg-type]
            moved_out_date=person.moved_out_date,
            death_date=person.death_date,
            my_number_on_file=person.my_number_on_file,
        )
    return records


def _by_person(
    session: Session, model: type[Any], column: str, subjects: Sequence[Person]
) -> list[tuple[Any, Person]]:
    """Rows of a register about the subjects, each with its person."""
    by_id = {person.id: person for person in subjects}
    rows = session.scalars(select(model).where(getattr(model, column).in_(by_id)))
    return [(row, by_id[getattr(row, column)]) for row in rows]


def _tax_records(session: Session, subjects: Sequence[Person], today: date) -> dict[str, ApiModel]:
    records: dict[str, ApiModel] = {}
    for person in subjects:
        tax = session.scalars(
            select(ResidentTax)
            .where(ResidentTax.person_id == person.id)
            .order_by(ResidentTax.fiscal_year.desc())
            .limit(1)
        ).first()
        if tax is not None:
            records[person.person_key] = ResidentTaxRecord(
                fiscal_year=tax.fiscal_year,
                income=tax.income,
                income_levy=tax.income_levy,
                per_capita_levy=tax.per_capita_levy,
                tax_amount=tax.tax_amount,
            )
    return records


def _nhi_records(session: Session, subjects: Sequence[Person], today: date) -> dict[str, ApiModel]:
    return {
        person.person_key: NhiRecord(
            insured_number=row.insured_number,
            nhi_household_number=row.nhi_household_number,
            acquired_date=row.acquired_date,
            lost_date=row.lost_date,
        )
        for row, person in _by_person(session, NhiMembership, "person_id", subjects)
    }


def _late_elderly_records(
    session: Session, subjects: Sequence[Person], today: date
) -> dict[str, ApiModel]:
    return {
        person.person_key: LateElderlyRecord(
            insured_number=row.insured_number,
            copayment_percent=row.copayment_percent,
            acquired_date=row.acquired_date,
            lost_date=row.lost_date,
        )
        for row, person in _by_person(session, LateElderlyMembership, "person_id", subjects)
    }


def _ltc_records(session: Session, subjects: Sequence[Person], today: date) -> dict[str, ApiModel]:
    return {
        person.person_key: LtcRecord(
            insured_number=row.insured_number,
            care_level=row.care_level,
            certified_until=row.certified_until,
            acquired_date=row.acquired_date,
            lost_date=row.lost_date,
        )
        for row, person in _by_person(session, LtcMembership, "person_id", subjects)
    }


def _seal_records(session: Session, subjects: Sequence[Person], today: date) -> dict[str, ApiModel]:
    return {
        person.person_key: SealRecord(
            registration_number=row.registration_number,
            registered_date=row.registered_date,
            cancelled_date=row.cancelled_date,
        )
        for row, person in _by_person(session, SealRegistration, "person_id", subjects)
    }


def _allowance_records(
    session: Session, subjects: Sequence[Person], today: date
) -> dict[str, ApiModel]:
    records: dict[str, ApiModel] = {}
    for allowance, person in _by_person(session, ChildAllowance, "recipient_id", subjects):
        children = session.scalars(
            select(Person)
            .join(ChildAllowanceChild, ChildAllowanceChild.child_id == Person.id)
            .where(ChildAllowanceChild.allowance_id == allowance.id)
            .order_by(Person.birth_date, Person.person_key)
        )
        records[person.person_key] = ChildAllowanceRecord(
            is_recipient=allowance.ended_date is None or allowance.ended_date >= today,
            started_date=allowance.started_date,
            ended_date=allowance.ended_date,
            children=[
                AllowanceChild(
                    person_key=child.person_key, name=_name(child), birth_date=child.birth_date
                )
                for child in children
            ],
        )
    return records


def _disability_records(
    session: Session, subjects: Sequence[Person], today: date
) -> dict[str, ApiModel]:
    held: dict[str, list[Certificate]] = defaultdict(list)
    rows = sorted(
        _by_person(session, DisabilityCertificate, "person_id", subjects),
        key=lambda item: (item[0].issued_date, item[0].certificate_number),
    )
    for row, person in rows:
        if row.returned_date is None:
            held[person.person_key].append(
                Certificate(
                    certificate_number=row.certificate_number,
                    kind=row.kind,
                    grade=row.grade,
                    issued_date=row.issued_date,
                    valid_until=row.valid_until,
                )
            )
    return {
        key: DisabilityRecord(
            certificate_number=certificates[0].certificate_number, certificates=certificates
        )
        for key, certificates in held.items()
    }


def _account_records(
    session: Session, subjects: Sequence[Person], today: date
) -> dict[str, ApiModel]:
    return {
        person.person_key: PublicFundAccountRecord(
            account=BankAccount(
                method="yucho" if row.yucho_kigou else "bank",
                bank_code=row.bank_code,
                branch_code=row.branch_code,
                account_type=row.account_type,
                account_number=row.account_number,
                holder_kana=row.holder_kana,
                yucho_kigou=row.yucho_kigou,
                yucho_bangou=row.yucho_bangou,
            ),
            registered_date=row.registered_date,
        )
        for row, person in _by_person(session, PublicFundAccount, "person_id", subjects)
    }


RecordReader = Callable[[Session, Sequence[Person], date], dict[str, ApiModel]]
RECORD_READERS: dict[str, RecordReader] = {
    "resident_register": _resident_records,
    "resident_tax": _tax_records,
    "nhi": _nhi_records,
    "late_elderly": _late_elderly_records,
    "ltc_insurance": _ltc_records,
    "seal": _seal_records,
    "child_allowance": _allowance_records,
    "disability": _disability_records,
    "public_fund_account": _account_records,
}


def demo_extract(
    session: Session, person_key: str, sources: Collection[str], now: datetime, today: date
) -> ExtractDocument | None:
    """Read a person's records from the demo registers; None for a person they do not know.

    ``now`` (UTC) stamps the extract; ``today`` (the city's date) decides whether a
    power of attorney or an allowance is still current.
    """
    wanted = checked_sources(sources)
    person = session.scalar(select(Person).where(Person.person_key == person_key))
    if person is None:
        return None
    related = _related_persons(session, person, today)
    everyone = [person, *(item.person for item in related)]
    present: list[Any] = []
    missing: list[str] = []
    for source in wanted:
        subjects = [person] if source in APPLICANT_ONLY_REGISTERS else everyone
        records = RECORD_READERS[source](session, subjects, today)
        if records:
            extract_model = SOURCE_EXTRACTS[source]
            present.append(
                extract_model(source=source, fetched_at=now, records=_in_order(records, everyone))
            )
        else:
            missing.append(source)
    return ExtractDocument(
        person_key=person.person_key,
        fetched_at=now,
        related=[
            RelatedPerson(
                person_key=item.person.person_key,
                via=item.via,  # type: ignore[arg-type]
                relationship=item.relationship,  # type: ignore[arg-type]
                power_of_attorney_scope=item.scope,
            )
            for item in related
        ],
        sources=present,
        missing_sources=missing,  # type: ignore[arg-type]
    )


def _in_order(records: dict[str, ApiModel], people: Iterable[Person]) -> dict[str, ApiModel]:
    """The records with the person asked about first, then the related persons in order."""
    return {
        person.person_key: records[person.person_key]
        for person in people
        if person.person_key in records
    }
