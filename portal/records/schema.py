"""The register extract: what a record source hands back about a person, as pydantic models.

One set of models serves three purposes: the ``demo`` source builds them, the demo
register API serves them as JSON (and its OpenAPI document is generated from them),
and the ``http`` source validates every answer against them before anything is used.

Each register's record is shaped so that the ``prefill.path`` of the definitions
reads straight from it, and values have the form the definition engine holds
(a name is ``{family, given, family_kana, given_kana}``, an address has the parts of
``address_jp``, an account those of ``bank_account_jp``, dates are dates).
"""

from __future__ import annotations

import types
from datetime import UTC, date, datetime
from typing import Annotated, Literal, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

from portal.definitions.schema import Register

REGISTERS: tuple[str, ...] = get_args(Register)
# Registers read only about the person who asked: their tax and bank account are
# nobody else's business, not even their household's.
APPLICANT_ONLY_REGISTERS = frozenset({"resident_tax", "public_fund_account"})

PERSON_KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
PersonKey = Annotated[
    str,
    Field(
        pattern=PERSON_KEY_PATTERN,
        description="The stable key of a person in the registers (the identity's person claim).",
    ),
]
RelationshipCode = Literal[
    "spouse", "child", "parent", "sibling", "grandchild", "grandparent", "relative", "other"
]
RelationshipToHead = Literal[
    "head",
    "spouse",
    "child",
    "parent",
    "sibling",
    "grandchild",
    "grandparent",
    "relative",
    "other",
]


def _in_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


# Any offset is accepted on input and kept in UTC, as every time in the portal is.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_in_utc)]
CareLevel = Literal["support_1", "support_2", "care_1", "care_2", "care_3", "care_4", "care_5"]


class ApiModel(BaseModel):
    """Base of the extract models: every key present, nothing unknown, no type coercion."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# --- Values in the form the definition engine holds ------------------------------------


class PersonName(ApiModel):
    """A name as `person_name_ja` holds it; readings in full-width katakana."""

    family: str = Field(min_length=1)
    given: str | None
    family_kana: str = Field(min_length=1)
    given_kana: str | None


class Address(ApiModel):
    """An address as `address_jp` holds it; registers hold addresses in Japan only."""

    postal_code: str = Field(pattern=r"^[0-9]{7}$")
    prefecture: str | None = Field(
        description="The prefecture; empty only where a register does not record it."
    )
    city: str = Field(min_length=1)
    town: str | None
    line: str = Field(min_length=1)
    overseas: None = Field(description="Always null: a register address is in Japan.")


class BankAccount(ApiModel):
    """An account as `bank_account_jp` holds it; Japan Post Bank keeps 記号 and 番号 too."""

    method: Literal["bank", "yucho"]
    bank_code: str = Field(pattern=r"^[0-9]{4}$")
    branch_code: str = Field(pattern=r"^[0-9]{3}$")
    account_type: Literal["ordinary", "current", "savings"]
    account_number: str = Field(pattern=r"^[0-9]{7}$")
    holder_kana: str = Field(min_length=1)
    yucho_kigou: str | None = Field(pattern=r"^1[0-9]{4}$")
    yucho_bangou: str | None = Field(pattern=r"^[0-9]{1,7}1$")


# --- One record per register ------------------------------------------------------------


class ResidentRecord(ApiModel):
    """住民基本台帳: a resident record, or a removed one (除票) after a death or a move away."""

    status: Literal["resident", "moved_out", "deceased"]
    name: PersonName
    birth_date: date
    sex: Literal["female", "male"]
    address: Address
    household_key: str
    relationship_to_head: RelationshipToHead
    is_household_head: bool
    household_head_key: PersonKey | None = Field(
        description=(
            "The head of the household; still a deceased head until the change of head "
            "is notified; null if the register names none."
        )
    )
    household_size: int = Field(ge=0, description="Living members still registered.")
    moved_in_date: date = Field(
        description="The day the person became a resident (住民となった日)."
    )
    moved_out_date: date | None
    death_date: date | None
    my_number_on_file: bool = Field(description="Whether the city holds the person's My Number.")


class ResidentTaxRecord(ApiModel):
    """住民税: the latest fiscal year's resident tax, levied on the previous year's income."""

    fiscal_year: int = Field(ge=2000)
    income: int = Field(ge=0, description="所得 in yen.")
    income_levy: int = Field(ge=0, description="所得割額 in yen.")
    per_capita_levy: int = Field(ge=0, description="均等割額 in yen.")
    tax_amount: int = Field(ge=0, description="The income levy plus the per-capita levy.")


class NhiRecord(ApiModel):
    """国民健康保険: the membership and the NHI household."""

    insured_number: str = Field(min_length=1, max_length=20, description="記号・番号.")
    nhi_household_number: str
    acquired_date: date
    lost_date: date | None


class LateElderlyRecord(ApiModel):
    """後期高齢者医療: the membership from 75."""

    insured_number: str = Field(pattern=r"^[0-9]{8}$")
    copayment_percent: Literal[10, 20, 30]
    acquired_date: date
    lost_date: date | None


class LtcRecord(ApiModel):
    """介護保険: the membership and the certified care level, if any."""

    insured_number: str = Field(pattern=r"^[0-9]{10}$")
    care_level: CareLevel | None
    certified_until: date | None
    acquired_date: date
    lost_date: date | None


class SealRecord(ApiModel):
    """印鑑登録: the registered seal."""

    registration_number: str
    registered_date: date
    cancelled_date: date | None


class AllowanceChild(ApiModel):
    """A child a child allowance is paid for."""

    person_key: PersonKey
    name: PersonName
    birth_date: date


class ChildAllowanceRecord(ApiModel):
    """児童手当: the allowance the person receives, and for which children."""

    is_recipient: bool = Field(description="Whether the allowance is paid to the person now.")
    started_date: date
    ended_date: date | None
    children: list[AllowanceChild]


class Certificate(ApiModel):
    """One disability certificate."""

    certificate_number: str
    kind: Literal["physical", "intellectual", "mental"]
    grade: str
    issued_date: date
    valid_until: date | None


class DisabilityRecord(ApiModel):
    """障害者手帳: the certificates the person holds (returned ones are left out)."""

    certificate_number: str = Field(description="The number of the earliest-issued certificate.")
    certificates: list[Certificate] = Field(min_length=1)


class PublicFundAccountRecord(ApiModel):
    """公金受取口座: the account registered for public payments (opt-in)."""

    account: BankAccount
    registered_date: date


# --- The records of one register --------------------------------------------------------

RECORDS_DESCRIPTION = "The records by person key: the person asked about and related persons."
FETCHED_AT_DESCRIPTION = "When the register was read (UTC)."


class ResidentRegisterExtract(ApiModel):
    """What the resident register holds about the person and the related persons."""

    source: Literal["resident_register"]
    fetched_at: UtcDatetime = Field(description=FETCHED_AT_DESCRIPTION)
    records: dict[PersonKey, ResidentRecord] = Field(description=RECORDS_DESCRIPTION)


class ResidentTaxExtract(ApiModel):
    """The resident tax of the person (never of anyone else)."""

    source: Literal["resident_tax"]
    fetched_at: UtcDatetime = Field(description=FETCHED_AT_DESCRIPTION)
    records: dict[PersonKey, ResidentTaxRecord] = Field(description=RECORDS_DESCRIPTION)


class NhiExtract(ApiModel):
    """National Health Insurance memberships."""

    source: Literal["nhi"]
    fetched_at: UtcDatetime = Field(description=FETCHED_AT_DESCRIPTION)
    records: dict[PersonKey, NhiRecord] = Field(description=RECORDS_DESCRIPTION)


class LateElderlyExtract(ApiModel):
    """Late-stage elderly medical insurance memberships."""

    source: Literal["late_elderly"]
    fetched_at: UtcDatetime = Field(description=FETCHED_AT_DESCRIPTION)
    records: dict[PersonKey, LateElderlyRecord] = Field(description=RECORDS_DESCRIPTION)


class LtcExtract(ApiModel):
    """Long-term-care insurance memberships."""

    source: Literal["ltc_insurance"]
    fetched_at: UtcDatetime = Field(description=FETCHED_AT_DESCRIPTION)
    records: dict[PersonKey, LtcRecord] = Field(description=RECORDS_DESCRIPTION)


class SealExtract(ApiModel):
    """Seal registrations."""

    source: Literal["seal"]
    fetched_at: UtcDatetime = Field(description=FETCHED_AT_DESCRIPTION)
    records: dict[PersonKey, SealRecord] = Field(description=RECORDS_DESCRIPTION)


class ChildAllowanceExtract(ApiModel):
    """Child allowances."""

    source: Literal["child_allowance"]
    fetched_at: UtcDatetime = Field(description=FETCHED_AT_DESCRIPTION)
    records: dict[PersonKey, ChildAllowanceRecord] = Field(description=RECORDS_DESCRIPTION)


class DisabilityExtract(ApiModel):
    """Disability certificates."""

    source: Literal["disability"]
    fetched_at: UtcDatetime = Field(description=FETCHED_AT_DESCRIPTION)
    records: dict[PersonKey, DisabilityRecord] = Field(description=RECORDS_DESCRIPTION)


class PublicFundAccountExtract(ApiModel):
    """The public-fund account of the person (never of anyone else)."""

    source: Literal["public_fund_account"]
    fetched_at: UtcDatetime = Field(description=FETCHED_AT_DESCRIPTION)
    records: dict[PersonKey, PublicFundAccountRecord] = Field(description=RECORDS_DESCRIPTION)


SourceExtract = Annotated[
    ResidentRegisterExtract
    | ResidentTaxExtract
    | NhiExtract
    | LateElderlyExtract
    | LtcExtract
    | SealExtract
    | ChildAllowanceExtract
    | DisabilityExtract
    | PublicFundAccountExtract,
    Field(discriminator="source"),
]
SOURCE_EXTRACTS: dict[str, type[ApiModel]] = {
    "resident_register": ResidentRegisterExtract,
    "resident_tax": ResidentTaxExtract,
    "nhi": NhiExtract,
    "late_elderly": LateElderlyExtract,
    "ltc_insurance": LtcExtract,
    "seal": SealExtract,
    "child_allowance": ChildAllowanceExtract,
    "disability": DisabilityExtract,
    "public_fund_account": PublicFundAccountExtract,
}


# --- The whole extract ------------------------------------------------------------------


class RelatedPerson(ApiModel):
    """A person whose records come with the extract, and why."""

    person_key: PersonKey
    via: Literal["household", "deceased_relative", "power_of_attorney"] = Field(
        description=(
            "household: a member of the person's household (a deceased one included); "
            "deceased_relative: a deceased relative in the family register; "
            "power_of_attorney: someone the person holds a valid power of attorney for."
        )
    )
    relationship: RelationshipCode | None = Field(
        description=(
            "What the person asked about is to this related person (child: they are "
            "its child); null when the register does not say."
        )
    )
    power_of_attorney_scope: str | None


class ExtractDocument(ApiModel):
    """Everything fetched for one person from the registers asked for, in one answer.

    Every register asked for is either in ``sources`` or in ``missing_sources`` (no
    record about anyone in the extract). Records are keyed by person: the person asked
    about, and the related persons listed in ``related``; ``resident_tax`` and
    ``public_fund_account`` only ever hold the person's own record.
    """

    person_key: PersonKey
    fetched_at: UtcDatetime = Field(description=FETCHED_AT_DESCRIPTION)
    related: list[RelatedPerson]
    sources: list[SourceExtract]
    missing_sources: list[Register]

    @model_validator(mode="after")
    def _consistent(self) -> ExtractDocument:
        """Refuse an extract that repeats registers or holds records about strangers."""
        present = [extract.source for extract in self.sources]
        if len(set(present)) != len(present):
            raise ValueError("a register appears twice in sources")
        if len(set(self.missing_sources)) != len(self.missing_sources):
            raise ValueError("a register appears twice in missing_sources")
        if set(present) & set(self.missing_sources):
            raise ValueError("a register is both in sources and in missing_sources")
        related = {person.person_key for person in self.related}
        if self.person_key in related or len(related) != len(self.related):
            raise ValueError("related persons must be distinct and not the person asked about")
        for extract in self.sources:
            subjects = set(extract.records)  # type: ignore[attr-defined]
            allowed = {self.person_key}
            if extract.source not in APPLICANT_ONLY_REGISTERS:
                allowed |= related
            if not subjects or not subjects <= allowed:
                raise ValueError(f"{extract.source} holds records of persons not in the extract")
        return self


class ApiError(ApiModel):
    """What went wrong, for machines (``code``) and for operators (``title``)."""

    status: int
    code: Literal[
        "unauthorized", "bad_sources", "unknown_person", "request_error", "internal_error"
    ]
    title: str


class ErrorDocument(ApiModel):
    """The body of every error answer of the register API."""

    error: ApiError


# --- Paths, as `prefill.path` names them ------------------------------------------------


def record_model(source: str) -> type[ApiModel]:
    """The record model of a register; KeyError for an unknown register."""
    records_field = SOURCE_EXTRACTS[source].model_fields["records"]
    _key, value = get_args(records_field.annotation)
    return value  # type: ignore[no-any-return]


def _model_in(annotation: object) -> type[BaseModel] | None:
    """The model a field holds (directly or as ``Model | None``), if it holds one."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, types.UnionType):
        models = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(models) == 1:
            return _model_in(models[0])
    return None


def has_path(source: str, path: str) -> bool:
    """Whether a dotted path (``name.family_kana``) names a value in a register's records."""
    if source not in SOURCE_EXTRACTS:
        return False
    model: type[BaseModel] | None = record_model(source)
    for part in path.split("."):
        if model is None or part not in model.model_fields:
            return False
        model = _model_in(model.model_fields[part].annotation)
    return True
