"""The city's registers that forms are pre-filled from, as the demo city keeps them.

A real city reads these registers through the ``http`` record source; the tables here
hold the fictional residents of 窓口市 that the ``demo`` source and the demo register
API serve. Each register keeps one current record per person (with the dates it
started and ended), not its whole history. My Number itself is never stored: the
resident register only says whether the city holds it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db

PERSON_STATUSES = ("resident", "moved_out", "deceased", "non_resident")
SEXES = ("female", "male")
# Relationship to the head of the household, as the resident register records it
# (the `to_household_head` codes of the definition language).
RELATIONSHIPS_TO_HEAD = (
    "head",
    "spouse",
    "child",
    "parent",
    "sibling",
    "grandchild",
    "grandparent",
    "relative",
    "other",
)
# What one person is to another (the `to_deceased` codes of the definition language).
RELATIONSHIPS = RELATIONSHIPS_TO_HEAD[1:]
CARE_LEVELS = (
    "support_1",
    "support_2",
    "care_1",
    "care_2",
    "care_3",
    "care_4",
    "care_5",
)
CERTIFICATE_KINDS = ("physical", "intellectual", "mental")
ACCOUNT_TYPES = ("ordinary", "current", "savings")
COPAYMENT_PERCENTS = (10, 20, 30)


def _in(column: str, codes: tuple[str, ...] | tuple[int, ...]) -> str:
    """SQL for a check that a column holds one of the codes."""
    listed = ", ".join(f"'{code}'" if isinstance(code, str) else str(code) for code in codes)
    return f"{column} IN ({listed})"


class Household(db.Model):  # type: ignore[name-defined]
    """A household (世帯) of the resident register and the address it lives at.

    Every address in the register is in the city, so only the postal code, the town
    (町名・丁目) and the rest of the line are kept.
    """

    __tablename__ = "register_households"
    __table_args__ = (CheckConstraint("length(postal_code) = 7", name="postal_code_length"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    household_key: Mapped[str] = mapped_column(String(20), unique=True)
    postal_code: Mapped[str] = mapped_column(String(7))
    town: Mapped[str] = mapped_column(String(60))
    address_line: Mapped[str] = mapped_column(String(100))


class Person(db.Model):  # type: ignore[name-defined]
    """A person in the resident register (住民基本台帳), or known to the city without one.

    ``non_resident`` persons (住登外者) live elsewhere: the city knows them, for
    instance as a relative of a resident, but holds no resident record for them.
    Records of people who died or moved away stay, marked, as the register keeps them
    (除票). ``persona`` is the demo identity provider's ``sub`` for this person.
    """

    __tablename__ = "register_persons"
    __table_args__ = (
        CheckConstraint(_in("status", PERSON_STATUSES), name="status"),
        CheckConstraint(_in("sex", SEXES), name="sex"),
        CheckConstraint(
            "relationship_to_head IS NULL OR " + _in("relationship_to_head", RELATIONSHIPS_TO_HEAD),
            name="relationship_to_head",
        ),
        CheckConstraint(
            "(status = 'non_resident' AND household_id IS NULL AND relationship_to_head IS NULL"
            " AND moved_in_date IS NULL)"
            " OR (status <> 'non_resident' AND household_id IS NOT NULL"
            " AND relationship_to_head IS NOT NULL AND moved_in_date IS NOT NULL)",
            name="resident_record",
        ),
        CheckConstraint(
            "(status = 'deceased' AND death_date IS NOT NULL)"
            " OR (status <> 'deceased' AND death_date IS NULL)",
            name="death_date",
        ),
        CheckConstraint(
            "(status = 'moved_out' AND moved_out_date IS NOT NULL)"
            " OR (status <> 'moved_out' AND moved_out_date IS NULL)",
            name="moved_out_date",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_key: Mapped[str] = mapped_column(String(64), unique=True)
    persona: Mapped[str] = mapped_column(String(60), unique=True)
    status: Mapped[str] = mapped_column(String(20))
    family_name: Mapped[str] = mapped_column(String(50))
    given_name: Mapped[str | None] = mapped_column(String(50))
    family_name_kana: Mapped[str] = mapped_column(String(100))
    given_name_kana: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date]
    sex: Mapped[str] = mapped_column(String(10))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("register_households.id"))
    relationship_to_head: Mapped[str | None] = mapped_column(String(20))
    moved_in_date: Mapped[date | None]
    moved_out_date: Mapped[date | None]
    death_date: Mapped[date | None]
    my_number_on_file: Mapped[bool]


class Relation(db.Model):  # type: ignore[name-defined]
    """What one person is to another outside their household, and any power of attorney.

    Read as "``person`` is the ``relationship`` of ``related_person``" (``child``: the
    person is the related person's child). The kinship comes from the family register;
    a power of attorney filed with the city lets the person act for the related one
    within ``power_of_attorney_scope`` until ``power_of_attorney_until``.
    """

    __tablename__ = "register_relations"
    __table_args__ = (
        UniqueConstraint("person_id", "related_person_id", name="uq_register_relations_pair"),
        CheckConstraint(_in("relationship", RELATIONSHIPS), name="relationship"),
        CheckConstraint("person_id <> related_person_id", name="not_self"),
        CheckConstraint(
            "power_of_attorney_until IS NULL OR power_of_attorney_scope IS NOT NULL",
            name="power_of_attorney",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("register_persons.id"))
    related_person_id: Mapped[int] = mapped_column(ForeignKey("register_persons.id"))
    relationship: Mapped[str] = mapped_column(String(20))
    power_of_attorney_scope: Mapped[str | None] = mapped_column(String(200))
    power_of_attorney_until: Mapped[date | None]


class ResidentTax(db.Model):  # type: ignore[name-defined]
    """One fiscal year's resident tax (住民税) of a person, levied on the previous year's income.

    ``income`` is the 所得 the tax is computed from; ``tax_amount`` is the income-based
    part (所得割) plus the per-capita part (均等割).
    """

    __tablename__ = "register_resident_taxes"
    __table_args__ = (
        UniqueConstraint("person_id", "fiscal_year", name="uq_register_resident_taxes_year"),
        CheckConstraint("income >= 0", name="income"),
        CheckConstraint("income_levy >= 0 AND per_capita_levy >= 0", name="levies"),
        CheckConstraint("tax_amount = income_levy + per_capita_levy", name="tax_amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("register_persons.id"))
    fiscal_year: Mapped[int]
    income: Mapped[int]
    income_levy: Mapped[int]
    per_capita_levy: Mapped[int]
    tax_amount: Mapped[int]


class NhiMembership(db.Model):  # type: ignore[name-defined]
    """A person's National Health Insurance (国民健康保険) membership and NHI household."""

    __tablename__ = "register_nhi_memberships"
    __table_args__ = (
        CheckConstraint(
            "lost_date IS NULL OR lost_date >= acquired_date", name="lost_after_acquired"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("register_persons.id"), unique=True)
    insured_number: Mapped[str] = mapped_column(String(20), unique=True)
    nhi_household_number: Mapped[str] = mapped_column(String(20))
    acquired_date: Mapped[date]
    lost_date: Mapped[date | None]


class LateElderlyMembership(db.Model):  # type: ignore[name-defined]
    """A person's late-stage elderly medical insurance (後期高齢者医療), from 75."""

    __tablename__ = "register_late_elderly_memberships"
    __table_args__ = (
        CheckConstraint("length(insured_number) = 8", name="insured_number_length"),
        CheckConstraint(_in("copayment_percent", COPAYMENT_PERCENTS), name="copayment_percent"),
        CheckConstraint(
            "lost_date IS NULL OR lost_date >= acquired_date", name="lost_after_acquired"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("register_persons.id"), unique=True)
    insured_number: Mapped[str] = mapped_column(String(8), unique=True)
    copayment_percent: Mapped[int]
    acquired_date: Mapped[date]
    lost_date: Mapped[date | None]


class LtcMembership(db.Model):  # type: ignore[name-defined]
    """A person's long-term-care insurance (介護保険) and certified care level, if any."""

    __tablename__ = "register_ltc_memberships"
    __table_args__ = (
        CheckConstraint("length(insured_number) = 10", name="insured_number_length"),
        CheckConstraint(
            "care_level IS NULL OR " + _in("care_level", CARE_LEVELS), name="care_level"
        ),
        CheckConstraint(
            "(care_level IS NULL AND certified_until IS NULL)"
            " OR (care_level IS NOT NULL AND certified_until IS NOT NULL)",
            name="certification",
        ),
        CheckConstraint(
            "lost_date IS NULL OR lost_date >= acquired_date", name="lost_after_acquired"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("register_persons.id"), unique=True)
    insured_number: Mapped[str] = mapped_column(String(10), unique=True)
    care_level: Mapped[str | None] = mapped_column(String(20))
    certified_until: Mapped[date | None]
    acquired_date: Mapped[date]
    lost_date: Mapped[date | None]


class SealRegistration(db.Model):  # type: ignore[name-defined]
    """A registered personal seal (印鑑登録)."""

    __tablename__ = "register_seal_registrations"
    __table_args__ = (
        CheckConstraint(
            "cancelled_date IS NULL OR cancelled_date >= registered_date",
            name="cancelled_after_registered",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("register_persons.id"), unique=True)
    registration_number: Mapped[str] = mapped_column(String(20), unique=True)
    registered_date: Mapped[date]
    cancelled_date: Mapped[date | None]


class ChildAllowance(db.Model):  # type: ignore[name-defined]
    """A child allowance (児童手当) paid to its recipient for the children listed with it."""

    __tablename__ = "register_child_allowances"
    __table_args__ = (
        CheckConstraint(
            "ended_date IS NULL OR ended_date >= started_date", name="ended_after_started"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("register_persons.id"), unique=True)
    started_date: Mapped[date]
    ended_date: Mapped[date | None]

    children: Mapped[list[ChildAllowanceChild]] = relationship(cascade="all, delete-orphan")


class ChildAllowanceChild(db.Model):  # type: ignore[name-defined]
    """One child a child allowance is paid for."""

    __tablename__ = "register_child_allowance_children"
    __table_args__ = (
        UniqueConstraint(
            "allowance_id", "child_id", name="uq_register_child_allowance_children_pair"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    allowance_id: Mapped[int] = mapped_column(ForeignKey("register_child_allowances.id"))
    child_id: Mapped[int] = mapped_column(ForeignKey("register_persons.id"))


class DisabilityCertificate(db.Model):  # type: ignore[name-defined]
    """A disability certificate (障害者手帳): physical, intellectual (療育) or mental health."""

    __tablename__ = "register_disability_certificates"
    __table_args__ = (
        CheckConstraint(_in("kind", CERTIFICATE_KINDS), name="kind"),
        CheckConstraint(
            "returned_date IS NULL OR returned_date >= issued_date", name="returned_after_issued"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("register_persons.id"), index=True)
    certificate_number: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    grade: Mapped[str] = mapped_column(String(10))
    issued_date: Mapped[date]
    valid_until: Mapped[date | None]
    returned_date: Mapped[date | None]


class PublicFundAccount(db.Model):  # type: ignore[name-defined]
    """The bank account a person registered for public payments (公金受取口座), by opt-in.

    A Japan Post Bank account keeps its 記号 and 番号 beside the converted Zengin codes.
    """

    __tablename__ = "register_public_fund_accounts"
    __table_args__ = (
        CheckConstraint(_in("account_type", ACCOUNT_TYPES), name="account_type"),
        CheckConstraint(
            "length(bank_code) = 4 AND length(branch_code) = 3 AND length(account_number) = 7",
            name="code_lengths",
        ),
        CheckConstraint(
            "(yucho_kigou IS NULL AND yucho_bangou IS NULL)"
            " OR (yucho_kigou IS NOT NULL AND yucho_bangou IS NOT NULL AND bank_code = '9900')",
            name="yucho",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("register_persons.id"), unique=True)
    bank_code: Mapped[str] = mapped_column(String(4))
    branch_code: Mapped[str] = mapped_column(String(3))
    account_type: Mapped[str] = mapped_column(String(10))
    account_number: Mapped[str] = mapped_column(String(7))
    holder_kana: Mapped[str] = mapped_column(String(50))
    yucho_kigou: Mapped[str | None] = mapped_column(String(5))
    yucho_bangou: Mapped[str | None] = mapped_column(String(8))
    registered_date: Mapped[date]
