"""The shape of every definition file (`schema: madoguchi/1`), as strict pydantic models.

These models say what a file may contain; `lint.py` says whether what it contains
makes sense (known ids, well-typed expressions, reachable steps). Unknown keys are
refused everywhere so that a misspelt key is an error rather than silently ignored.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    model_validator,
)

SCHEMA_VERSION = "madoguchi/1"
ID_PATTERN = r"^[a-z][a-z0-9_]*$"
QUEUE_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$"
OPTION_PATTERN = r"^[a-z0-9][a-z0-9_]*$"
UNKNOWN_OPTION = "unknown"
MAX_EXPRESSION_LENGTH = 2000
MAX_GROUP_ITEMS = 100

_ID_RE = re.compile(ID_PATTERN)
_QUEUE_RE = re.compile(QUEUE_PATTERN)
_OPTION_RE = re.compile(OPTION_PATTERN)


def _check_id(value: str) -> str:
    if not _ID_RE.match(value):
        raise ValueError(f"{value!r} is not an id: ids are lower_snake_case ([a-z][a-z0-9_]*)")
    return value


def _check_queue(value: str) -> str:
    if not _QUEUE_RE.match(value):
        raise ValueError(
            f"{value!r} is not a queue id: a department id, optionally a dot and a suffix"
        )
    return value


def _check_option(value: str) -> str:
    if not _OPTION_RE.match(value):
        raise ValueError(f"{value!r} is not an option value: use [a-z0-9][a-z0-9_]*")
    if value == UNKNOWN_OPTION:
        raise ValueError("'unknown' is reserved for the \"don't know\" answer")
    return value


def _check_text(value: str) -> str:
    if not value.strip():
        raise ValueError("text may not be empty")
    return value


def _expression_from_yaml(value: object) -> object:
    # `required_if: true` unquoted is a YAML boolean; it plainly means the expression.
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _check_expression(value: str) -> str:
    if not value.strip():
        raise ValueError("an expression may not be empty")
    if len(value) > MAX_EXPRESSION_LENGTH:
        raise ValueError(f"an expression may be at most {MAX_EXPRESSION_LENGTH} characters")
    return value


Id = Annotated[str, AfterValidator(_check_id), Field(json_schema_extra={"pattern": ID_PATTERN})]
QueueId = Annotated[
    str, AfterValidator(_check_queue), Field(json_schema_extra={"pattern": QUEUE_PATTERN})
]
OptionValue = Annotated[
    str, AfterValidator(_check_option), Field(json_schema_extra={"pattern": OPTION_PATTERN})
]
Text = Annotated[str, AfterValidator(_check_text), Field(min_length=1)]
Expression = Annotated[
    str,
    BeforeValidator(_expression_from_yaml),
    AfterValidator(_check_expression),
    Field(
        min_length=1,
        max_length=MAX_EXPRESSION_LENGTH,
        description="An expression of the definition language (see expressions.py).",
    ),
]

Sensitivity = Literal["public", "personal", "special", "my_number"]
Register = Literal[
    "resident_register",
    "resident_tax",
    "nhi",
    "late_elderly",
    "ltc_insurance",
    "seal",
    "child_allowance",
    "disability",
    "public_fund_account",
]
Role = Literal["self", "representative", "funeral_host", "heir", "household_member", "relative"]
Mode = Literal["online", "counter", "automatic"]
Alternative = Literal["later", "counter", "post"]
Notification = Literal["received", "information_requested", "decided"]
MimeType = Literal["application/pdf", "image/jpeg", "image/png"]


class StrictModel(BaseModel):
    """Base of every model: unknown keys refused, no silent type coercion."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class TextPair(StrictModel):
    """A human text in Japanese and English; both are required and shown literally."""

    ja: Text
    en: Text

    def get(self, lang: str) -> str:
        """Return the text in `lang`, Japanese for any language other than English."""
        return self.en if lang == "en" else self.ja


class Prefill(StrictModel):
    """Where a field's value may come from in a register, and how far it may be edited."""

    source: Register
    subject: Literal["applicant", "concerned"] = "applicant"
    path: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")]
    editability: Literal["locked", "correctable", "free"] = "locked"


class FieldBase(StrictModel):
    """Keys shared by every field type."""

    label: TextPair
    hint: TextPair | None = None
    sensitivity: Sensitivity = "personal"
    legal_basis: Annotated[str, Field(min_length=1)] | None = None
    prefill: Prefill | None = None
    required: bool = True
    required_if: Expression | None = None
    purpose: TextPair | None = None
    autocomplete: bool | None = None

    @property
    def autofill(self) -> bool:
        """Whether the browser may fill this field from the resident's own details."""
        if self.autocomplete is not None:
            return self.autocomplete
        return not (self.prefill is not None and self.prefill.subject == "concerned")


class TextField(FieldBase):
    """One line of text."""

    type: Literal["text"]
    max_length: Annotated[int, Field(ge=1, le=2000)] = 200


class TextareaField(FieldBase):
    """Several lines of text."""

    type: Literal["textarea"]
    max_length: Annotated[int, Field(ge=1, le=20000)] = 2000


class NumberField(FieldBase):
    """An integer or a decimal number within optional bounds."""

    type: Literal["number"]
    minimum: int | float | None = None
    maximum: int | float | None = None
    decimals: Annotated[int, Field(ge=0, le=6)] = 0

    @model_validator(mode="after")
    def _bounds_in_order(self) -> NumberField:
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError("minimum is greater than maximum")
        return self


class MoneyField(FieldBase):
    """An amount of yen."""

    type: Literal["money_jpy"]


class YesNoField(FieldBase):
    """Yes or no, optionally "don't know"."""

    type: Literal["yes_no"]
    allow_unknown: bool = False


class Option(StrictModel):
    """One answer of a choice."""

    value: OptionValue
    label: TextPair


class ChoiceField(FieldBase):
    """One answer (radio, select) or several (checkbox) out of fixed options."""

    type: Literal["choice"]
    options: Annotated[list[Option], Field(min_length=1)]
    widget: Literal["radio", "checkbox", "select"] = "radio"
    allow_unknown: bool = False

    @model_validator(mode="after")
    def _distinct_values(self) -> ChoiceField:
        values = [option.value for option in self.options]
        duplicates = sorted({value for value in values if values.count(value) > 1})
        if duplicates:
            raise ValueError(f"option values appear twice: {', '.join(duplicates)}")
        if self.allow_unknown and self.widget == "checkbox":
            raise ValueError('checkboxes cannot offer "don\'t know"; use radio or select')
        return self


class DateField(FieldBase):
    """A calendar date, typed in the Western or the Japanese era calendar."""

    type: Literal["date_jp"]


class PersonNameField(FieldBase):
    """A person's family and given names with their readings."""

    type: Literal["person_name_ja"]


class PostalCodeField(FieldBase):
    """A seven-digit Japanese postal code."""

    type: Literal["postal_code_jp"]


class AddressField(FieldBase):
    """An address in Japan, or an address abroad as free text."""

    type: Literal["address_jp"]


class PhoneField(FieldBase):
    """A Japanese telephone number."""

    type: Literal["phone_jp"]


class EmailField(FieldBase):
    """An email address."""

    type: Literal["email"]


class BankAccountField(FieldBase):
    """A bank account for payments: a bank, Japan Post Bank, or the public-fund account."""

    type: Literal["bank_account_jp"]
    allow_public_fund: bool = True


class RelationshipField(FieldBase):
    """How one person is related to another, as a fixed code."""

    type: Literal["relationship"]
    codes: Literal["to_applicant", "to_household_head", "to_deceased"]


class MyNumberField(FieldBase):
    """An individual number (マイナンバー); needs a stated purpose."""

    type: Literal["my_number"]


class FileField(FieldBase):
    """An uploaded file."""

    type: Literal["file"]
    accept: Annotated[list[MimeType], Field(min_length=1)] = [
        "application/pdf",
        "image/jpeg",
        "image/png",
    ]
    max_size_mb: Annotated[int, Field(ge=1, le=50)] = 10


class DeclarationField(FieldBase):
    """A statement the resident ticks to declare it true."""

    type: Literal["declaration"]


class ContentField(StrictModel):
    """A block of text shown on a page; takes no answer."""

    type: Literal["content"]
    label: TextPair | None = None
    body: TextPair


MemberField = (
    TextField
    | TextareaField
    | NumberField
    | MoneyField
    | YesNoField
    | ChoiceField
    | DateField
    | PersonNameField
    | PostalCodeField
    | AddressField
    | PhoneField
    | EmailField
    | BankAccountField
    | RelationshipField
    | MyNumberField
    | FileField
    | DeclarationField
    | ContentField
)
MemberSpec = Annotated[MemberField, Field(discriminator="type")]


class GroupField(FieldBase):
    """A record of fields of its own; repeatable groups are lists (children, heirs)."""

    type: Literal["group"]
    fields: Annotated[dict[Id, MemberSpec], Field(min_length=1)]
    repeatable: bool = False
    min_items: Annotated[int, Field(ge=0, le=MAX_GROUP_ITEMS)] = 0
    max_items: Annotated[int, Field(ge=1, le=MAX_GROUP_ITEMS)] = 20
    item_label: TextPair | None = None

    @model_validator(mode="after")
    def _item_bounds(self) -> GroupField:
        if self.min_items > self.max_items:
            raise ValueError("min_items is greater than max_items")
        return self


AnyField = MemberField | GroupField
FieldSpec = Annotated[AnyField, Field(discriminator="type")]


class Exit(StrictModel):
    """The page that ends a journey politely."""

    title: TextPair
    body: TextPair


class Step(StrictModel):
    """One page of a journey: questions, an add-to-a-list loop, or an exit."""

    id: Id
    title: TextPair | None = None
    fields: list[Id] = []
    loop: Id | None = None
    show_if: Expression | None = None
    exit: Exit | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Step:
        kinds = [bool(self.fields), self.loop is not None, self.exit is not None]
        if sum(kinds) != 1:
            raise ValueError("a step has exactly one of fields (non-empty), loop or exit")
        return self


class Check(StrictModel):
    """A rule over answers; it fails when `must` is false."""

    id: Id
    must: Expression
    fields: Annotated[list[Id], Field(min_length=1)]
    message: TextPair


class Rules(StrictModel):
    """Derived values, checks, applicability and who may file."""

    derive: dict[Id, Expression] = {}
    checks: list[Check] = []
    applies_if: Expression | None = None
    who_may_file: Annotated[list[Role], Field(min_length=1)] = ["self"]


class Route(StrictModel):
    """One routing rule: a condition and a queue, or the default queue."""

    when: Expression | None = None
    queue: QueueId | None = None
    default: QueueId | None = None

    @model_validator(mode="after")
    def _when_or_default(self) -> Route:
        conditional = self.when is not None and self.queue is not None
        fallback = self.default is not None and self.when is None and self.queue is None
        if not (conditional or fallback):
            raise ValueError("a route is either `when` with `queue`, or `default` alone")
        return self

    @property
    def target(self) -> str:
        """The queue this route sends to."""
        return self.queue if self.queue is not None else str(self.default)


class Document(StrictModel):
    """A supporting document an application may need."""

    id: Id
    label: TextPair
    hint: TextPair | None = None
    required: bool = True
    required_if: Expression | None = None
    waived_if: Expression | None = None
    accept: Annotated[list[MimeType], Field(min_length=1)] = [
        "application/pdf",
        "image/jpeg",
        "image/png",
    ]
    max_size_mb: Annotated[int, Field(ge=1, le=50)] = 10
    alternatives: list[Alternative] = []
    # The original itself is handed back (an insurance card): a scan will not do, so
    # only the counter or the post are offered.
    original: bool = False

    @model_validator(mode="after")
    def _original_is_delivered(self) -> Document:
        if self.original and not {"counter", "post"} & set(self.alternatives):
            raise ValueError(
                "a document handed back as the original needs counter or post among "
                "its alternatives"
            )
        return self


class Delivery(StrictModel):
    """How an online application reaches the city and how fast it is handled."""

    service_level_days: Annotated[int, Field(ge=1, le=365)]
    four_eyes: bool = False
    notify: list[Notification] = ["received", "decided"]
    routing: list[Route] = []
    documents: list[Document] = []


class Retention(StrictModel):
    """How long a decided submission's personal data is kept, counted from the decision.

    Cities keep each kind of record for a fixed period (文書保存年限). After `years`
    (`rejected_years` for a refusal or a withdrawal) the answers, messages and files
    are deleted and only what the statistics need stays. Uploaded files and the
    register extract may go sooner (`attachments_days`, `register_extract_days`).
    """

    years: Annotated[int, Field(ge=1, le=30)] = 5
    rejected_years: Annotated[int, Field(ge=1, le=30)] | None = None
    attachments_days: Annotated[int, Field(ge=1, le=10950)] | None = None
    register_extract_days: Annotated[int, Field(ge=1, le=10950)] | None = None


class Counter(StrictModel):
    """Guidance for a procedure that must be done at a counter."""

    where: TextPair
    bring: list[TextPair] = []
    deadline_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    counts_event_day: bool = False
    print_form: bool = False


class ProcedureExpect(StrictModel):
    """What a procedure scenario expects; only the keys given are checked."""

    applies: bool | Literal["unknown"] | None = None
    route: list[Id] | None = None
    exit: Id | None = None
    queue: QueueId | None = None
    documents: list[Id] | None = None
    checks: list[Id] | None = None


class LifeEventExpect(StrictModel):
    """What a life event scenario expects; only the keys given are checked."""

    route: list[Id] | None = None
    exit: Id | None = None
    online: list[Id] | None = None
    may_apply: list[Id] | None = None
    counter: list[Id] | None = None
    automatic: list[Id] | None = None
    private_services: list[Id] | None = None
    deadlines: dict[Id, date] | None = None


class ScenarioBase(StrictModel):
    """A worked example run by the linter."""

    name: Annotated[str, Field(min_length=1)]
    persona: Annotated[str, Field(min_length=1)] | None = None
    today: date | None = None
    answers: dict[Id, Any] = {}


class ProcedureScenario(ScenarioBase):
    """A scenario of a procedure; `life_event` says whose questionnaire the answers use."""

    life_event: Id | None = None
    expect: ProcedureExpect


class LifeEventScenario(ScenarioBase):
    """A scenario of a life event."""

    expect: LifeEventExpect


class Procedure(StrictModel):
    """One procedure: its questions, rules, delivery and scenarios."""

    schema_version: Literal["madoguchi/1"] = Field(alias="schema")
    kind: Literal["procedure"]
    id: Id
    title: TextPair
    summary: TextPair
    why: TextPair | None = None
    mode: Mode = "online"
    department: Id
    uses: list[Id] = []
    fields: dict[Id, FieldSpec] = {}
    steps: list[Step] = []
    rules: Rules = Rules()
    delivery: Delivery | None = None
    counter: Counter | None = None
    retention: Retention = Retention()
    scenarios: list[ProcedureScenario] = []


class RegisterAnswer(StrictModel):
    """An answer to a questionnaire question that register data implies.

    `when` may use only fields filled from a register (`prefill`) and values derived
    from them. Where it is true, the registers answer `field` with `value`, so the
    portal can suggest the life event's procedures to a resident who has not asked
    ("You may also be eligible"); the questionnaire itself still asks the question.
    """

    field: Id
    value: bool | OptionValue
    when: Expression


class Questionnaire(StrictModel):
    """The questions that decide which procedures a life event brings."""

    fields: dict[Id, FieldSpec] = {}
    uses: list[Id] = []
    steps: list[Step] = []
    derive: dict[Id, Expression] = {}
    register_answers: list[RegisterAnswer] = []


class PrivateService(StrictModel):
    """A private company's service connected to a life event (water, gas...).

    A service that declares `sends` (fields of the life event's questionnaire or shared
    steps) can be chosen on the procedures page: the company is then told the values
    of exactly those fields, and nothing else. One without `sends` is only listed, for
    the resident to contact the company themselves.
    """

    id: Id
    label: TextPair
    hint: TextPair | None = None
    applies_if: Expression | None = None
    sends: Annotated[list[Id], Field(min_length=1)] | None = None


class LifeEvent(StrictModel):
    """A life event: a questionnaire, shared steps and the procedures it may bring."""

    schema_version: Literal["madoguchi/1"] = Field(alias="schema")
    kind: Literal["life_event"]
    id: Id
    title: TextPair
    summary: TextPair | None = None
    event_date: Id | None = None
    questionnaire: Questionnaire = Questionnaire()
    fields: dict[Id, FieldSpec] = {}
    uses: list[Id] = []
    shared_steps: list[Step] = []
    procedures: Annotated[list[Id], Field(min_length=1)]
    private_services: list[PrivateService] = []
    scenarios: list[LifeEventScenario] = []


class Dictionary(StrictModel):
    """The city's data dictionary: fields shared by many procedures."""

    schema_version: Literal["madoguchi/1"] = Field(alias="schema")
    kind: Literal["dictionary"]
    fields: dict[Id, FieldSpec]


class Queue(StrictModel):
    """A work list of a department."""

    id: QueueId
    name: TextPair


class Department(StrictModel):
    """A department of the city and its queues."""

    id: Id
    name: TextPair
    queues: Annotated[list[Queue], Field(min_length=1)]


class Departments(StrictModel):
    """The city's departments (`procedures/departments.yaml`)."""

    schema_version: Literal["madoguchi/1"] = Field(alias="schema")
    kind: Literal["departments"]
    departments: Annotated[list[Department], Field(min_length=1)]


DefinitionFile = Annotated[
    Procedure | LifeEvent | Dictionary | Departments, Field(discriminator="kind")
]
DEFINITION_FILE: TypeAdapter[Procedure | LifeEvent | Dictionary | Departments] = TypeAdapter(
    DefinitionFile
)


def json_schema() -> dict[str, Any]:
    """Return the JSON Schema of definition files, for editors that validate as you type."""
    schema = DEFINITION_FILE.json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Madoguchi procedure definition (schema: madoguchi/1)"
    return schema
