"""Field types at run time: inputs, parsing, display, storage and expression types.

One small class per field type, registered under its type name. The web pages ask a
type which HTML inputs to draw (`inputs`), the journey asks it to turn what was typed
into a value (`parse`), review pages and clerks get `to_display`, drafts are stored
with `dump`/`load`, and the type checker uses `value_type`.

Values are plain data: str, int, Decimal, bool, date, dicts for records (names,
addresses, bank accounts, groups) and lists for checkboxes and repeatable groups.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import ClassVar

from portal.definitions import japanese, sealing
from portal.definitions.expressions import (
    BOOL,
    DATE,
    NUMBER,
    TEXT,
    UNKNOWN,
    ListType,
    RecordType,
    Type,
)
from portal.definitions.schema import (
    UNKNOWN_OPTION,
    AnyField,
    BankAccountField,
    ChoiceField,
    FieldBase,
    FileField,
    GroupField,
    NumberField,
    RelationshipField,
    TextareaField,
    TextField,
    TextPair,
    YesNoField,
)

RawInputs = Mapping[str, str | Sequence[str]]
MAX_REFERENCE_LENGTH = 200

MESSAGES: dict[str, dict[str, str]] = {
    "choose_one": {"ja": "選んでください。", "en": "Select an answer."},
    "choose_some": {"ja": "1つ以上選んでください。", "en": "Select at least one."},
    "invalid_choice": {
        "ja": "表示された選択肢から選んでください。",
        "en": "Select one of the options shown.",
    },
    "declaration_required": {
        "ja": "内容を確認し、チェックを入れてください。",
        "en": "Read the statement and tick the box to confirm it.",
    },
    "upload_required": {"ja": "ファイルを添付してください。", "en": "Attach a file."},
    "upload_invalid": {
        "ja": "添付ファイルを確認できませんでした。もう一度添付してください。",
        "en": "The attached file could not be found. Attach it again.",
    },
    "address_required": {
        "ja": "住所を入力してください。",
        "en": "Enter the address.",
    },
    "address_both": {
        "ja": "国内の住所か海外の住所のどちらか一方を入力してください。",
        "en": "Enter either an address in Japan or an address abroad, not both.",
    },
    "postal_code_unknown": {
        "ja": (
            "この郵便番号の住所が見つかりませんでした。"
            "郵便番号を確かめるか、住所を入力してください。"
        ),
        "en": (
            "No address was found for this postal code. Check it, or enter the address yourself."
        ),
    },
    "correction_reason_required": {
        "ja": "市の記録と違う内容にした理由を入力してください。",
        "en": "Tell us why this differs from the city's records.",
    },
    "too_few_items": {
        "ja": "{minimum}件以上追加してください。",
        "en": "Add at least {minimum}.",
    },
    "too_many_items": {
        "ja": "追加できるのは{maximum}件までです。",
        "en": "You can add up to {maximum}.",
    },
}


class FieldError(Exception):
    """A value that cannot be accepted; `code` keys into MESSAGES or japanese.MESSAGES.

    `part` names the input of a multi-input field at fault ("family_kana"), so a
    page can show the message next to the right box.
    """

    def __init__(
        self, code: str, params: Mapping[str, object] | None = None, part: str | None = None
    ) -> None:
        super().__init__(code)
        self.code = code
        self.params = dict(params or {})
        self.part = part

    def message(self, lang: str) -> str:
        """Return the message in `lang` ("ja" or "en")."""
        return message_text(self.code, self.params, lang)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FieldError):
            return NotImplemented
        return (self.code, self.params, self.part) == (other.code, other.params, other.part)

    def __hash__(self) -> int:
        return hash((self.code, self.part))

    def __repr__(self) -> str:
        return f"FieldError({self.code!r}, {self.params!r}, part={self.part!r})"


def message_text(code: str, params: Mapping[str, object], lang: str) -> str:
    """Return the message for an error code in `lang`, from ours or japanese.py's."""
    texts = MESSAGES.get(code) or japanese.MESSAGES[code]
    template = texts["en"] if lang.split("-")[0].lower() == "en" else texts["ja"]
    return template.format(**params)


def _from_invalid(error: japanese.InvalidValue, part: str | None = None) -> FieldError:
    return FieldError(error.code, error.params, error.field or part)


def _text(raw: RawInputs, name: str) -> str:
    """The single text a browser sent under `name` ('' when absent)."""
    value = raw.get(name, "")
    if isinstance(value, str):
        return value
    return value[0] if value else ""


def _texts(raw: RawInputs, name: str) -> list[str]:
    """Every text a browser sent under `name` (ticked checkboxes)."""
    value = raw.get(name, ())
    return [value] if isinstance(value, str) else list(value)


def _pair(ja: str, en: str) -> TextPair:
    return TextPair(ja=ja, en=en)


@dataclass(frozen=True)
class InputSpec:
    """One HTML input of a field, with what the server-rendered page needs to draw it."""

    name: str
    control: str  # text | textarea | radio | checkbox | select | file
    part: str = ""
    label: TextPair | None = None
    autocomplete: str | None = None
    inputmode: str | None = None
    options: tuple[tuple[str, TextPair], ...] = ()


class LoadError(ValueError):
    """A stored or scenario value that does not fit the field's type."""


class FieldType:
    """What every field type knows how to do; subclasses override what differs."""

    name: ClassVar[str]

    def value_type(self, spec: AnyField) -> Type | None:
        """The type of the value in expressions; None for fields without a value."""
        return TEXT

    def inputs(self, field_id: str, spec: AnyField) -> list[InputSpec]:
        """The HTML inputs of the field, named after the field id."""
        return [InputSpec(field_id, "text", autocomplete=_off(spec))]

    def parse(self, field_id: str, spec: AnyField, raw: RawInputs) -> object:
        """Turn what was typed into a value; None if nothing was; FieldError if invalid."""
        text = _text(raw, field_id)
        if not text.strip():
            return None
        return self.parse_text(text, spec)

    def parse_text(self, text: str, spec: AnyField) -> object:
        """Parse the text of a single-input field."""
        try:
            return japanese.check_text(text, max_length=200)
        except japanese.InvalidValue as error:
            raise _from_invalid(error) from None

    def to_display(self, spec: AnyField, value: object, lang: str) -> str:
        """Show a value to a person, in `lang`."""
        return str(value)

    def required_code(self, spec: AnyField) -> str:
        """The error code shown when a required field is left empty."""
        return "required"

    def is_empty(self, spec: AnyField, value: object) -> bool:
        """Whether a value counts as not given for `required` ("don't know" is given)."""
        return value is None

    def dump(self, spec: AnyField, value: object) -> object:
        """Turn a value into JSON-compatible data for drafts and submissions."""
        return value

    def load(self, spec: AnyField, data: object) -> object:
        """Turn stored (or scenario) data back into a value; LoadError if it does not fit."""
        if not isinstance(data, str):
            raise LoadError(f"expected text, got {data!r}")
        return data


def _off(spec: AnyField) -> str | None:
    """`off` when the browser must not fill the field from the resident's own details."""
    return None if _autofill(spec) else "off"


def _autofill(spec: AnyField) -> bool:
    return isinstance(spec, FieldBase) and spec.autofill


def _token(spec: AnyField, token: str) -> str:
    return token if _autofill(spec) else "off"


class TextType(FieldType):
    """One line of text."""

    name = "text"

    def parse_text(self, text: str, spec: AnyField) -> object:
        assert isinstance(spec, TextField | TextareaField)
        try:
            return japanese.check_text(
                text, max_length=spec.max_length, multiline=spec.type == "textarea"
            )
        except japanese.InvalidValue as error:
            raise _from_invalid(error) from None


class TextareaType(TextType):
    """Several lines of text."""

    name = "textarea"

    def inputs(self, field_id: str, spec: AnyField) -> list[InputSpec]:
        return [InputSpec(field_id, "textarea", autocomplete=_off(spec))]


class NumberType(FieldType):
    """An integer, or a Decimal when the field allows decimals."""

    name = "number"

    def value_type(self, spec: AnyField) -> Type:
        return NUMBER

    def inputs(self, field_id: str, spec: AnyField) -> list[InputSpec]:
        assert isinstance(spec, NumberField)
        mode = "numeric" if spec.decimals == 0 else "decimal"
        return [InputSpec(field_id, "text", autocomplete=_off(spec), inputmode=mode)]

    def parse_text(self, text: str, spec: AnyField) -> object:
        assert isinstance(spec, NumberField)
        try:
            return japanese.parse_number(
                text,
                minimum=_decimal(spec.minimum),
                maximum=_decimal(spec.maximum),
                decimals=spec.decimals,
            )
        except japanese.InvalidValue as error:
            raise _from_invalid(error) from None

    def to_display(self, spec: AnyField, value: object, lang: str) -> str:
        return f"{value:,}"

    def dump(self, spec: AnyField, value: object) -> object:
        return str(value) if isinstance(value, Decimal) else value

    def load(self, spec: AnyField, data: object) -> object:
        assert isinstance(spec, NumberField)
        if isinstance(data, bool):
            raise LoadError(f"expected a number, got {data!r}")
        if isinstance(data, int) and spec.decimals == 0:
            return data
        try:
            number = Decimal(str(data)) if isinstance(data, int | float | str) else None
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            raise LoadError(f"expected a number, got {data!r}")
        if spec.decimals == 0:
            if number != number.to_integral_value():
                raise LoadError(f"expected a whole number, got {data!r}")
            return int(number)
        return number


def _decimal(bound: int | float | None) -> int | Decimal | None:
    if bound is None or isinstance(bound, int):
        return bound
    return Decimal(str(bound))


class MoneyType(FieldType):
    """Whole yen."""

    name = "money_jpy"

    def value_type(self, spec: AnyField) -> Type:
        return NUMBER

    def inputs(self, field_id: str, spec: AnyField) -> list[InputSpec]:
        return [InputSpec(field_id, "text", autocomplete=_off(spec), inputmode="numeric")]

    def parse_text(self, text: str, spec: AnyField) -> object:
        try:
            return japanese.parse_money_jpy(text)
        except japanese.InvalidValue as error:
            raise _from_invalid(error) from None

    def to_display(self, spec: AnyField, value: object, lang: str) -> str:
        return f"{value:,} yen" if lang == "en" else f"{value:,}円"

    def load(self, spec: AnyField, data: object) -> object:
        if isinstance(data, bool) or not isinstance(data, int) or data < 0:
            raise LoadError(f"expected a whole number of yen, got {data!r}")
        return data


YES_NO_LABELS = {
    "yes": _pair("はい", "Yes"),
    "no": _pair("いいえ", "No"),
    UNKNOWN_OPTION: _pair("わからない", "Don't know"),
}


class YesNoType(FieldType):
    """True or False, or UNKNOWN for "don't know" when the field allows it."""

    name = "yes_no"

    def value_type(self, spec: AnyField) -> Type:
        return BOOL

    def inputs(self, field_id: str, spec: AnyField) -> list[InputSpec]:
        assert isinstance(spec, YesNoField)
        answers = ["yes", "no", UNKNOWN_OPTION] if spec.allow_unknown else ["yes", "no"]
        options = tuple((answer, YES_NO_LABELS[answer]) for answer in answers)
        return [InputSpec(field_id, "radio", options=options)]

    def parse_text(self, text: str, spec: AnyField) -> object:
        assert isinstance(spec, YesNoField)
        if text == "yes":
            return True
        if text == "no":
            return False
        if text == UNKNOWN_OPTION and spec.allow_unknown:
            return UNKNOWN
        raise FieldError("invalid_choice")

    def required_code(self, spec: AnyField) -> str:
        return "choose_one"

    def to_display(self, spec: AnyField, value: object, lang: str) -> str:
        key = UNKNOWN_OPTION if value is UNKNOWN else ("yes" if value else "no")
        return YES_NO_LABELS[key].get(lang)

    def dump(self, spec: AnyField, value: object) -> object:
        return UNKNOWN_OPTION if value is UNKNOWN else value

    def load(self, spec: AnyField, data: object) -> object:
        assert isinstance(spec, YesNoField)
        if data == UNKNOWN_OPTION and spec.allow_unknown:
            return UNKNOWN
        if not isinstance(data, bool):
            raise LoadError(f"expected true or false, got {data!r}")
        return data


DONT_KNOW = _pair("わからない", "Don't know")


class ChoiceType(FieldType):
    """An option value, or a list of them for checkboxes; UNKNOWN for "don't know"."""

    name = "choice"

    def value_type(self, spec: AnyField) -> Type:
        assert isinstance(spec, ChoiceField)
        return ListType(TEXT) if spec.widget == "checkbox" else TEXT

    def inputs(self, field_id: str, spec: AnyField) -> list[InputSpec]:
        assert isinstance(spec, ChoiceField)
        options = tuple((option.value, option.label) for option in spec.options)
        if spec.allow_unknown:
            options = (*options, (UNKNOWN_OPTION, DONT_KNOW))
        return [InputSpec(field_id, spec.widget, options=options)]

    def parse(self, field_id: str, spec: AnyField, raw: RawInputs) -> object:
        assert isinstance(spec, ChoiceField)
        allowed = {option.value for option in spec.options}
        if spec.widget == "checkbox":
            # A page with checkboxes was answered even when none is ticked.
            chosen = [value for value in _texts(raw, field_id) if value]
            if any(value not in allowed for value in chosen):
                raise FieldError("invalid_choice")
            return [option.value for option in spec.options if option.value in chosen]
        text = _text(raw, field_id)
        if not text:
            return None
        if text == UNKNOWN_OPTION and spec.allow_unknown:
            return UNKNOWN
        if text not in allowed:
            raise FieldError("invalid_choice")
        return text

    def required_code(self, spec: AnyField) -> str:
        assert isinstance(spec, ChoiceField)
        return "choose_some" if spec.widget == "checkbox" else "choose_one"

    def is_empty(self, spec: AnyField, value: object) -> bool:
        return value is None or value == []

    def to_display(self, spec: AnyField, value: object, lang: str) -> str:
        assert isinstance(spec, ChoiceField)
        if value is UNKNOWN:
            return DONT_KNOW.get(lang)
        labels = {option.value: option.label.get(lang) for option in spec.options}
        if isinstance(value, list):
            return ("、" if lang != "en" else ", ").join(labels[item] for item in value)
        return labels[str(value)]

    def dump(self, spec: AnyField, value: object) -> object:
        return UNKNOWN_OPTION if value is UNKNOWN else value

    def load(self, spec: AnyField, data: object) -> object:
        assert isinstance(spec, ChoiceField)
        allowed = [option.value for option in spec.options]
        if spec.widget == "checkbox":
            if not isinstance(data, list) or any(item not in allowed for item in data):
                raise LoadError(f"expected a list of {', '.join(allowed)}, got {data!r}")
            return [value for value in allowed if value in data]
        if data == UNKNOWN_OPTION and spec.allow_unknown:
            return UNKNOWN
        if data not in allowed:
            raise LoadError(f"expected one of {', '.join(allowed)}, got {data!r}")
        return data


class DateType(FieldType):
    """A date typed in one box, Western (2026-04-01) or era (令和8年4月1日) form."""

    name = "date_jp"

    def value_type(self, spec: AnyField) -> Type:
        return DATE

    def inputs(self, field_id: str, spec: AnyField) -> list[InputSpec]:
        token = _token(spec, "bday") if field_id.endswith("birth_date") else _off(spec)
        return [InputSpec(field_id, "text", autocomplete=token)]

    def parse_text(self, text: str, spec: AnyField) -> object:
        try:
            return japanese.parse_date_jp(text)
        except japanese.InvalidValue as error:
            raise _from_invalid(error) from None

    def to_display(self, spec: AnyField, value: object, lang: str) -> str:
        assert isinstance(value, date)
        return japanese.format_date_both(value, lang)

    def dump(self, spec: AnyField, value: object) -> object:
        assert isinstance(value, date)
        return value.isoformat()

    def load(self, spec: AnyField, data: object) -> object:
        if isinstance(data, date):
            return data
        if isinstance(data, str):
            try:
                return date.fromisoformat(data)
            except ValueError:
                pass
        raise LoadError(f"expected a date (YYYY-MM-DD), got {data!r}")


def _record_load(data: object, parts: Sequence[str], required: Sequence[str]) -> dict[str, object]:
    """Read a stored record of text parts, checking its keys."""
    if not isinstance(data, Mapping):
        raise LoadError(f"expected a mapping of {', '.join(parts)}, got {data!r}")
    unknown = sorted(set(data) - set(parts))
    if unknown:
        raise LoadError(f"unknown parts {', '.join(map(str, unknown))}")
    record: dict[str, object] = {}
    for part in parts:
        value = data.get(part)
        if value is not None and not isinstance(value, str):
            raise LoadError(f"{part} should be text, got {value!r}")
        record[part] = value if value != "" else None
    missing = [part for part in required if record[part] is None]
    if missing:
        raise LoadError(f"missing {', '.join(missing)}")
    return record


NAME_PARTS = ("family", "given", "family_kana", "given_kana")
NAME_LABELS = {
    "family": _pair("姓", "Family name"),
    "given": _pair("名", "Given name"),
    "family_kana": _pair("セイ（フリガナ）", "Family name reading (katakana)"),
    "given_kana": _pair("メイ（フリガナ）", "Given name reading (katakana)"),
}
NAME_TOKENS = {"family": "family-name", "given": "given-name"}


class PersonNameType(FieldType):
    """Family and given names with their readings in full-width katakana."""

    name = "person_name_ja"

    def value_type(self, spec: AnyField) -> Type:
        return RecordType(dict.fromkeys(NAME_PARTS, TEXT))

    def inputs(self, field_id: str, spec: AnyField) -> list[InputSpec]:
        return [
            InputSpec(
                f"{field_id}.{part}",
                "text",
                part=part,
                label=NAME_LABELS[part],
                autocomplete=_token(spec, NAME_TOKENS[part]) if part in NAME_TOKENS else _off(spec),
            )
            for part in NAME_PARTS
        ]

    def parse(self, field_id: str, spec: AnyField, raw: RawInputs) -> object:
        texts = {part: _text(raw, f"{field_id}.{part}") for part in NAME_PARTS}
        if not any(text.strip() for text in texts.values()):
            return None
        try:
            name = japanese.parse_person_name(**texts)
        except japanese.InvalidValue as error:
            raise _from_invalid(error) from None
        return {
            "family": name.family,
            "given": name.given or None,
            "family_kana": name.family_kana,
            "given_kana": name.given_kana or None,
        }

    def to_display(self, spec: AnyField, value: object, lang: str) -> str:
        assert isinstance(value, Mapping)
        name = " ".join(str(value[part]) for part in ("family", "given") if value.get(part))
        kana = " ".join(
            str(value[part]) for part in ("family_kana", "given_kana") if value.get(part)
        )
        return f"{name}（{kana}）" if lang != "en" else f"{name} ({kana})"

    def load(self, spec: AnyField, data: object) -> object:
        return _record_load(data, NAME_PARTS, ("family", "family_kana"))


class PostalCodeType(FieldType):
    """Seven digits."""

    name = "postal_code_jp"

    def inputs(self, field_id: str, spec: AnyField) -> list[InputSpec]:
        return [
            InputSpec(
                field_id,
                "text",
                autocomplete=_token(spec, "postal-code"),
                inputmode="numeric",
            )
        ]

    def parse_text(self, text: str, spec: AnyField) -> object:
        try:
            return japanese.parse_postal_code(text)
        except japanese.InvalidValue as error:
            raise _from_invalid(error) from None

    def to_display(self, spec: AnyField, value: object, lang: str) -> str:
        return "〒" + japanese.format_postal_code(str(value))


ADDRESS_PARTS = ("postal_code", "prefecture", "city", "town", "line", "overseas")
ADDRESS_DOMESTIC_REQUIRED = ("postal_code", "prefecture", "city", "line")
ADDRESS_LABELS = {
    "postal_code": _pair("郵便番号", "Postal code"),
    "prefecture": _pair("都道府県", "Prefecture"),
    "city": _pair("市区町村", "City, ward, town or village"),
    "town": _pair("町名・丁目", "Area and chōme"),
    "line": _pair("番地・建物名・部屋番号", "Block and building number, building name, room"),
    "overseas": _pair("海外の住所（国名まで）", "Address abroad, including the country"),
}
ADDRESS_TOKENS = {
    "postal_code": "postal-code",
    "prefecture": "address-level1",
    "city": "address-level2",
    "town": "address-level3",
    "line": "address-line1",
}


class AddressType(FieldType):
    """An address in Japan in parts, or an address abroad as one text."""

    name = "address_jp"

    def value_type(self, spec: AnyField) -> Type:
        return RecordType(dict.fromkeys(ADDRESS_PARTS, TEXT))

    def inputs(self, field_id: str, spec: AnyField) -> list[InputSpec]:
        return [
            InputSpec(
                f"{field_id}.{part}",
                "textarea" if part == "overseas" else "text",
                part=part,
                label=ADDRESS_LABELS[part],
                autocomplete=_token(spec, ADDRESS_TOKENS[part])
                if part in ADDRESS_TOKENS
                else _off(spec),
                inputmode="numeric" if part == "postal_code" else None,
            )
            for part in ADDRESS_PARTS
        ]

    def parse(self, field_id: str, spec: AnyField, raw: RawInputs) -> object:
        texts = {part: _text(raw, f"{field_id}.{part}").strip() for part in ADDRESS_PARTS}
        domestic = [part for part in ADDRESS_PARTS if part != "overseas" and texts[part]]
        if not domestic and not texts["overseas"]:
            return None
        if domestic and texts["overseas"]:
            raise FieldError("address_both", part="overseas")
        address: dict[str, object] = dict.fromkeys(ADDRESS_PARTS)
        if texts["overseas"]:
            address["overseas"] = _checked(texts["overseas"], 500, "overseas", multiline=True)
            return address
        for part in ADDRESS_DOMESTIC_REQUIRED:
            if not texts[part]:
                raise FieldError("required", part=part)
        try:
            address["postal_code"] = japanese.parse_postal_code(texts["postal_code"])
        except japanese.InvalidValue as error:
            raise _from_invalid(error, "postal_code") from None
        for part in ("prefecture", "city", "town", "line"):
            if texts[part]:
                address[part] = _checked(texts[part], 100, part)
        return address

    def to_display(self, spec: AnyField, value: object, lang: str) -> str:
        assert isinstance(value, Mapping)
        if value.get("overseas"):
            return str(value["overseas"])
        code = japanese.format_postal_code(str(value["postal_code"]))
        rest = "".join(
            str(value[part]) for part in ("prefecture", "city", "town") if value.get(part)
        )
        return f"〒{code} {rest} {value.get('line') or ''}".rstrip()

    def load(self, spec: AnyField, data: object) -> object:
        record = _record_load(data, ADDRESS_PARTS, ())
        if record["overseas"] is None:
            missing = [part for part in ADDRESS_DOMESTIC_REQUIRED if record[part] is None]
            if missing:
                raise LoadError(f"missing {', '.join(missing)} (or give overseas)")
        return record


def _checked(text: str, max_length: int, part: str, *, multiline: bool = False) -> str:
    try:
        return japanese.check_text(text, max_length=max_length, multiline=multiline)
    except japanese.InvalidValue as error:
        raise FieldError(error.code, error.params, part) from None


class PhoneType(FieldType):
    """A Japanese phone number as digits."""

    name = "phone_jp"

    def inputs(self, field_id: str, spec: AnyField) -> list[InputSpec]:
        return [InputSpec(field_id, "text", autocomplete=_token(spec, "tel"), inputmode="tel")]

    def parse_text(self, text: str, spec: AnyField) -> object:
        try:
            return japanese.parse_phone_jp(text)
        except japanese.InvalidValue as error:
            raise _from_invalid(error) from None


class EmailType(FieldType):
    """An email address."""

    name = "email"

    def inputs(self, field_id: str, spec: AnyField) -> list[InputSpec]:
        return [InputSpec(field_id, "text", autocomplete=_token(spec, "email"), inputmode="email")]

    def parse_text(self, text: str, spec: AnyField) -> object:
        try:
            return japanese.parse_email(text)
        except japanese.InvalidValue as error:
            raise _from_invalid(error) from None


BANK_PARTS = (
    "method",
    "bank_code",
    "branch_code",
    "account_type",
    "account_number",
    "holder_kana",
    "yucho_kigou",
    "yucho_bangou",
)
BANK_METHODS = {
    "bank": _pair("銀行・信用金庫など", "A bank or credit union"),
    "yucho": _pair("ゆうちょ銀行（記号・番号）", "Japan Post Bank (kigou and bangou)"),
    "public_fund": _pair("登録済みの公金受取口座を使う", "Use my registered public-fund account"),
}
BANK_LABELS = {
    "method": _pair("振込先", "Where to pay"),
    "bank_code": _pair("金融機関コード（4桁）", "Bank code (4 digits)"),
    "branch_code": _pair("支店コード（3桁）", "Branch code (3 digits)"),
    "account_type": _pair("預金種目", "Account type"),
    "account_number": _pair("口座番号（7桁）", "Account number (7 digits)"),
    "holder_kana": _pair("口座名義（カタカナ）", "Account holder (katakana)"),
    "yucho_kigou": _pair("記号（5桁）", "Kigou (5 digits)"),
    "yucho_bangou": _pair("番号（8桁まで）", "Bangou (up to 8 digits)"),
}
ACCOUNT_TYPE_OPTIONS = tuple(
    (code, _pair(labels["ja"], labels["en"])) for code, labels in japanese.ACCOUNT_TYPES.items()
)


class BankAccountType(FieldType):
    """A bank account, a Japan Post Bank account, or the registered public-fund account."""

    name = "bank_account_jp"

    def value_type(self, spec: AnyField) -> Type:
        return RecordType(dict.fromkeys(BANK_PARTS, TEXT))

    def inputs(self, field_id: str, spec: AnyField) -> list[InputSpec]:
        assert isinstance(spec, BankAccountField)
        methods = tuple(
            (method, label)
            for method, label in BANK_METHODS.items()
            if method != "public_fund" or spec.allow_public_fund
        )
        specs = [
            InputSpec(
                f"{field_id}.method", "radio", "method", BANK_LABELS["method"], options=methods
            )
        ]
        for part in BANK_PARTS[1:]:
            if part == "account_type":
                specs.append(
                    InputSpec(
                        f"{field_id}.{part}",
                        "select",
                        part,
                        BANK_LABELS[part],
                        options=ACCOUNT_TYPE_OPTIONS,
                    )
                )
            else:
                numeric = part != "holder_kana"
                specs.append(
                    InputSpec(
                        f"{field_id}.{part}",
                        "text",
                        part,
                        BANK_LABELS[part],
                        autocomplete="off",
                        inputmode="numeric" if numeric else None,
                    )
                )
        return specs

    def parse(self, field_id: str, spec: AnyField, raw: RawInputs) -> object:
        assert isinstance(spec, BankAccountField)
        texts = {part: _text(raw, f"{field_id}.{part}") for part in BANK_PARTS}
        method = texts["method"]
        if not method:
            if any(text.strip() for text in texts.values()):
                raise FieldError("choose_one", part="method")
            return None
        try:
            if method == "bank":
                account = japanese.parse_bank_account(
                    texts["bank_code"],
                    texts["branch_code"],
                    texts["account_type"],
                    texts["account_number"],
                    texts["holder_kana"],
                )
            elif method == "yucho":
                account = japanese.parse_yucho(
                    texts["yucho_kigou"], texts["yucho_bangou"], texts["holder_kana"]
                )
            elif method == "public_fund" and spec.allow_public_fund:
                return {**dict.fromkeys(BANK_PARTS), "method": "public_fund"}
            else:
                raise FieldError("invalid_choice", part="method")
        except japanese.InvalidValue as error:
            part = {"kigou": "yucho_kigou", "bangou": "yucho_bangou"}.get(
                error.field or "", error.field
            )
            raise FieldError(error.code, error.params, part) from None
        return {
            "method": method,
            "bank_code": account.bank_code,
            "branch_code": account.branch_code,
            "account_type": account.account_type,
            "account_number": account.account_number,
            "holder_kana": account.holder_kana,
            "yucho_kigou": account.yucho_kigou,
            "yucho_bangou": account.yucho_bangou,
        }

    def to_display(self, spec: AnyField, value: object, lang: str) -> str:
        assert isinstance(value, Mapping)
        if value["method"] == "public_fund":
            return BANK_METHODS["public_fund"].get(lang)
        holder = value["holder_kana"]
        if value["method"] == "yucho":
            if lang == "en":
                return (
                    f"Japan Post Bank, kigou {value['yucho_kigou']}, "
                    f"bangou {value['yucho_bangou']}, {holder}"
                )
            return f"ゆうちょ銀行 記号{value['yucho_kigou']} 番号{value['yucho_bangou']} {holder}"
        kind = japanese.ACCOUNT_TYPES[str(value["account_type"])]
        if lang == "en":
            return (
                f"Bank {value['bank_code']}, branch {value['branch_code']}, "
                f"{kind['en']} {value['account_number']}, {holder}"
            )
        return (
            f"金融機関{value['bank_code']} 支店{value['branch_code']} "
            f"{kind['ja']} {value['account_number']} {holder}"
        )

    def load(self, spec: AnyField, data: object) -> object:
        record = _record_load(data, BANK_PARTS, ("method",))
        if record["method"] not in BANK_METHODS:
            raise LoadError(f"method should be one of {', '.join(BANK_METHODS)}")
        if record["method"] != "public_fund":
            parts = ("bank_code", "branch_code", "account_type", "account_number", "holder_kana")
            missing = [part for part in parts if record[part] is None]
            if missing:
                raise LoadError(f"missing {', '.join(missing)}")
        return record


RELATIONSHIPS = {
    "head": _pair("世帯主本人", "The head of the household"),
    "spouse": _pair("配偶者", "Spouse"),
    "child": _pair("子", "Child"),
    "parent": _pair("父母", "Parent"),
    "sibling": _pair("兄弟姉妹", "Brother or sister"),
    "grandchild": _pair("孫", "Grandchild"),
    "grandparent": _pair("祖父母", "Grandparent"),
    "relative": _pair("その他の親族", "Other relative"),
    "other": _pair("親族以外", "Not a relative"),
}
RELATIONSHIP_CODES = {
    "to_applicant": tuple(code for code in RELATIONSHIPS if code != "head"),
    "to_deceased": tuple(code for code in RELATIONSHIPS if code != "head"),
    "to_household_head": tuple(RELATIONSHIPS),
}


class RelationshipType(FieldType):
    """A relationship code from a fixed list."""

    name = "relationship"

    def inputs(self, field_id: str, spec: AnyField) -> list[InputSpec]:
        assert isinstance(spec, RelationshipField)
        options = tuple((code, RELATIONSHIPS[code]) for code in RELATIONSHIP_CODES[spec.codes])
        return [InputSpec(field_id, "select", options=options)]

    def parse_text(self, text: str, spec: AnyField) -> object:
        assert isinstance(spec, RelationshipField)
        if text not in RELATIONSHIP_CODES[spec.codes]:
            raise FieldError("invalid_choice")
        return text

    def required_code(self, spec: AnyField) -> str:
        return "choose_one"

    def to_display(self, spec: AnyField, value: object, lang: str) -> str:
        return RELATIONSHIPS[str(value)].get(lang)

    def load(self, spec: AnyField, data: object) -> object:
        assert isinstance(spec, RelationshipField)
        if data not in RELATIONSHIP_CODES[spec.codes]:
            codes = ", ".join(RELATIONSHIP_CODES[spec.codes])
            raise LoadError(f"expected one of {codes}, got {data!r}")
        return data


class MyNumberType(FieldType):
    """Twelve digits with a valid check digit; shown masked."""

    name = "my_number"

    def inputs(self, field_id: str, spec: AnyField) -> list[InputSpec]:
        return [InputSpec(field_id, "text", autocomplete="off", inputmode="numeric")]

    def parse_text(self, text: str, spec: AnyField) -> object:
        try:
            return japanese.parse_my_number(text)
        except japanese.InvalidValue as error:
            raise _from_invalid(error) from None

    def to_display(self, spec: AnyField, value: object, lang: str) -> str:
        return japanese.mask_my_number(str(value))

    def load(self, spec: AnyField, data: object) -> object:
        if not isinstance(data, str):
            raise LoadError("expected the 12 digits as text (quote them)")
        try:
            return japanese.parse_my_number(data)
        except japanese.InvalidValue as error:
            raise LoadError(japanese.message_for(error, "en")) from None


ATTACHED = _pair("添付済み", "Attached")


class FileType(FieldType):
    """The reference of an upload the web layer has already stored."""

    name = "file"

    def inputs(self, field_id: str, spec: AnyField) -> list[InputSpec]:
        return [InputSpec(field_id, "file")]

    def parse_text(self, text: str, spec: AnyField) -> object:
        assert isinstance(spec, FileField)
        reference = text.strip()
        if len(reference) > MAX_REFERENCE_LENGTH or not reference.isprintable():
            raise FieldError("upload_invalid")
        return reference

    def required_code(self, spec: AnyField) -> str:
        return "upload_required"

    def to_display(self, spec: AnyField, value: object, lang: str) -> str:
        return ATTACHED.get(lang)


class DeclarationType(FieldType):
    """A ticked statement: True, or unanswered."""

    name = "declaration"

    def value_type(self, spec: AnyField) -> Type:
        return BOOL

    def inputs(self, field_id: str, spec: AnyField) -> list[InputSpec]:
        assert isinstance(spec, FieldBase)
        return [InputSpec(field_id, "checkbox", options=(("yes", spec.label),))]

    def parse_text(self, text: str, spec: AnyField) -> object:
        if text != "yes":
            raise FieldError("invalid_choice")
        return True

    def required_code(self, spec: AnyField) -> str:
        return "declaration_required"

    def to_display(self, spec: AnyField, value: object, lang: str) -> str:
        return YES_NO_LABELS["yes" if value else "no"].get(lang)

    def load(self, spec: AnyField, data: object) -> object:
        if not isinstance(data, bool):
            raise LoadError(f"expected true or false, got {data!r}")
        return data


class ContentType(FieldType):
    """Text on a page; it takes no answer."""

    name = "content"

    def value_type(self, spec: AnyField) -> Type | None:
        return None

    def inputs(self, field_id: str, spec: AnyField) -> list[InputSpec]:
        return []

    def parse(self, field_id: str, spec: AnyField, raw: RawInputs) -> object:
        return None


class GroupType(FieldType):
    """A record of member fields, or a list of such records when repeatable.

    Groups are parsed member by member by the journey, which knows the conditions
    (`required_if`) of the members; this class gives their types, inputs and display.
    """

    name = "group"

    def value_type(self, spec: AnyField) -> Type:
        assert isinstance(spec, GroupField)
        members = {
            member_id: member_type
            for member_id, member in spec.fields.items()
            if (member_type := value_type(member)) is not None
        }
        record = RecordType(members)
        return ListType(record) if spec.repeatable else record

    def inputs(self, field_id: str, spec: AnyField) -> list[InputSpec]:
        assert isinstance(spec, GroupField)
        return [
            replaced
            for member_id, member in spec.fields.items()
            for replaced in field_type(member).inputs(f"{field_id}.{member_id}", member)
        ]

    def parse(self, field_id: str, spec: AnyField, raw: RawInputs) -> object:
        raise TypeError("groups are parsed member by member: use Journey.validate_step")

    def to_display(self, spec: AnyField, value: object, lang: str) -> str:
        assert isinstance(spec, GroupField)
        if isinstance(value, list):
            return f"{len(value)} entries" if lang == "en" else f"{len(value)}件"
        assert isinstance(value, Mapping)
        return " / ".join(
            f"{member.label.get(lang) if member.label else member_id}: "
            f"{display(member, value[member_id], lang)}"
            for member_id, member in spec.fields.items()
            if value.get(member_id) is not None
        )

    def dump(self, spec: AnyField, value: object) -> object:
        assert isinstance(spec, GroupField)
        if isinstance(value, list):
            return [self._dump_item(spec, item) for item in value]
        return self._dump_item(spec, value)

    @staticmethod
    def _dump_item(spec: GroupField, item: object) -> dict[str, object]:
        assert isinstance(item, Mapping)
        return {
            member_id: dump_value(member, item[member_id])
            for member_id, member in spec.fields.items()
            if item.get(member_id) is not None
        }

    def load(self, spec: AnyField, data: object) -> object:
        assert isinstance(spec, GroupField)
        if spec.repeatable:
            if not isinstance(data, list):
                raise LoadError(f"expected a list of items, got {data!r}")
            if len(data) > spec.max_items:
                raise LoadError(f"at most {spec.max_items} items")
            return [self._load_item(spec, item) for item in data]
        return self._load_item(spec, data)

    @staticmethod
    def _load_item(spec: GroupField, data: object) -> dict[str, object]:
        if not isinstance(data, Mapping):
            raise LoadError(f"expected a mapping of {', '.join(spec.fields)}, got {data!r}")
        unknown = sorted(set(data) - set(spec.fields))
        if unknown:
            raise LoadError(f"unknown members {', '.join(map(str, unknown))}")
        item: dict[str, object] = {}
        for member_id, member in spec.fields.items():
            if data.get(member_id) is None:
                item[member_id] = None
                continue
            try:
                item[member_id] = load_value(member, data[member_id])
            except LoadError as error:
                raise LoadError(f"{member_id}: {error}") from None
        return item


FIELD_TYPES: dict[str, FieldType] = {
    kind.name: kind()
    for kind in (
        TextType,
        TextareaType,
        NumberType,
        MoneyType,
        YesNoType,
        ChoiceType,
        DateType,
        PersonNameType,
        PostalCodeType,
        AddressType,
        PhoneType,
        EmailType,
        BankAccountType,
        RelationshipType,
        MyNumberType,
        FileType,
        DeclarationType,
        ContentType,
        GroupType,
    )
}


def field_type(spec: AnyField) -> FieldType:
    """The run-time type of a field definition."""
    return FIELD_TYPES[spec.type]


def value_type(spec: AnyField) -> Type | None:
    """The expression type of a field's value; None for fields that take no answer."""
    return field_type(spec).value_type(spec)


def input_names(field_id: str, spec: AnyField) -> list[str]:
    """The HTML input names of a field."""
    return [item.name for item in field_type(spec).inputs(field_id, spec)]


def parse_field(field_id: str, spec: AnyField, raw: RawInputs) -> object:
    """Parse one (non-group) field from the inputs of a page; None when left empty."""
    return field_type(spec).parse(field_id, spec, raw)


def display(spec: AnyField, value: object, lang: str) -> str:
    """Show a value in `lang`: dates in both calendars, My Number masked, yen with commas."""
    if value is None:
        return "—"
    return field_type(spec).to_display(spec, value, lang)


def dump_value(spec: AnyField, value: object) -> object:
    """Turn a value into JSON-compatible data (dates as ISO text, "don't know" as 'unknown')."""
    if value is None:
        return None
    return field_type(spec).dump(spec, value)


def load_value(spec: AnyField, data: object) -> object:
    """Turn JSON or YAML data back into a value; raise LoadError when it does not fit.

    Stored data may hold sealed My Numbers (`stored_value`); they are opened first.
    """
    if data is None:
        return None
    return field_type(spec).load(spec, sealing.unsealed(data))


def stored_value(spec: AnyField, value: object) -> object:
    """The data an answer is stored as: `dump_value`, with every My Number sealed."""
    return seal_data(spec, dump_value(spec, value))


def seal_data(spec: AnyField, data: object) -> object:
    """Seal the parts of dumped data that hold a My Number (group members one by one)."""
    if data is None:
        return None
    if isinstance(spec, GroupField):
        items = data if isinstance(data, list) else [data]
        sealed = [
            {
                member_id: seal_data(spec.fields[member_id], value)  # type: ignore[arg-type]
                if member_id in spec.fields
                else value
                for member_id, value in item.items()
            }
            for item in items
            if isinstance(item, Mapping)
        ]
        return sealed if isinstance(data, list) else sealed[0]
    if requires_purpose(spec) and not sealing.is_sealed(data):
        return sealing.sealer().seal(data)
    return data


def requires_purpose(spec: AnyField) -> bool:
    """Whether a field handles a My Number and so must state its legal purpose."""
    return spec.type == "my_number" or (
        isinstance(spec, FieldBase) and spec.sensitivity == "my_number"
    )
