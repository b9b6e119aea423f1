"""Field types at run time: expression types, inputs, parsing, display and storage."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from portal.definitions.expressions import BOOL, DATE, NUMBER, TEXT, UNKNOWN, ListType, RecordType
from portal.definitions.fields import (
    FIELD_TYPES,
    FieldError,
    LoadError,
    display,
    dump_value,
    field_type,
    input_names,
    load_value,
    parse_field,
    requires_purpose,
    value_type,
)
from portal.definitions.schema import AnyField, FieldSpec

SPEC = TypeAdapter(FieldSpec)
LABEL = {"ja": "項目", "en": "Item"}


def spec(kind: str, **options: object):
    return SPEC.validate_python({"type": kind, "label": LABEL, **options})


CHOICE_OPTIONS = [
    {"value": "post", "label": {"ja": "郵送", "en": "By post"}},
    {"value": "counter", "label": {"ja": "窓口", "en": "At the counter"}},
]


def test_every_schema_type_has_a_runtime_type() -> None:
    schema_types = {
        get_args(model.model_fields["type"].annotation)[0] for model in get_args(AnyField)
    }
    assert len(schema_types) == 19
    assert set(FIELD_TYPES) == schema_types


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        (spec("date_jp"), DATE),
        (spec("money_jpy"), NUMBER),
        (spec("number"), NUMBER),
        (spec("yes_no"), BOOL),
        (spec("declaration"), BOOL),
        (spec("choice", options=CHOICE_OPTIONS), TEXT),
        (spec("choice", options=CHOICE_OPTIONS, widget="checkbox"), ListType(TEXT)),
        (spec("phone_jp"), TEXT),
        (spec("my_number", purpose=LABEL), TEXT),
        (
            spec("person_name_ja"),
            RecordType({"family": TEXT, "given": TEXT, "family_kana": TEXT, "given_kana": TEXT}),
        ),
        (SPEC.validate_python({"type": "content", "body": LABEL}), None),
    ],
)
def test_value_types_for_the_type_checker(field, expected) -> None:
    assert value_type(field) == expected


def test_a_repeatable_group_is_a_list_of_records() -> None:
    group = spec(
        "group",
        repeatable=True,
        fields={
            "birth_date": {"type": "date_jp", "label": LABEL},
            "note": {"type": "content", "body": LABEL},
        },
    )
    assert value_type(group) == ListType(RecordType({"birth_date": DATE}))
    assert value_type(spec("group", fields={"n": {"type": "number", "label": LABEL}})) == (
        RecordType({"n": NUMBER})
    )


def test_inputs_carry_names_autocomplete_and_inputmode() -> None:
    name = spec("person_name_ja")
    assert input_names("applicant_name", name) == [
        "applicant_name.family",
        "applicant_name.given",
        "applicant_name.family_kana",
        "applicant_name.given_kana",
    ]
    tokens = [item.autocomplete for item in field_type(name).inputs("applicant_name", name)]
    assert tokens == ["family-name", "given-name", None, None]
    someone_else = spec(
        "person_name_ja",
        prefill={"source": "resident_register", "subject": "concerned", "path": "name"},
    )
    assert {item.autocomplete for item in field_type(someone_else).inputs("x", someone_else)} == {
        "off"
    }
    postal = field_type(spec("postal_code_jp")).inputs("zip", spec("postal_code_jp"))[0]
    assert (postal.name, postal.autocomplete, postal.inputmode) == ("zip", "postal-code", "numeric")
    phone = field_type(spec("phone_jp")).inputs("tel", spec("phone_jp"))[0]
    assert (phone.autocomplete, phone.inputmode) == ("tel", "tel")
    email = field_type(spec("email")).inputs("mail", spec("email"))[0]
    assert (email.autocomplete, email.inputmode) == ("email", "email")
    birth = field_type(spec("date_jp")).inputs("applicant_birth_date", spec("date_jp"))[0]
    assert birth.autocomplete == "bday"
    number = field_type(spec("my_number", purpose=LABEL)).inputs("mn", spec("my_number"))[0]
    assert (number.autocomplete, number.inputmode) == ("off", "numeric")
    assert spec("text", autocomplete=False).autofill is False


def test_yes_no_offers_dont_know_only_when_allowed() -> None:
    plain = field_type(spec("yes_no")).inputs("q", spec("yes_no"))[0]
    assert [value for value, _label in plain.options] == ["yes", "no"]
    open_ = spec("yes_no", allow_unknown=True)
    assert [value for value, _ in field_type(open_).inputs("q", open_)[0].options] == [
        "yes",
        "no",
        "unknown",
    ]
    assert parse_field("q", open_, {"q": "unknown"}) is UNKNOWN
    with pytest.raises(FieldError) as refused:
        parse_field("q", spec("yes_no"), {"q": "unknown"})
    assert refused.value.code == "invalid_choice"


@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        (spec("text"), {"f": "  こんにちは  "}, "  こんにちは"),
        (spec("text"), {"f": "   "}, None),
        (spec("number", decimals=1), {"f": "１２.５"}, Decimal("12.5")),
        (spec("money_jpy"), {"f": "¥1,234"}, 1234),
        (spec("date_jp"), {"f": "令和8年4月1日"}, date(2026, 4, 1)),
        (spec("date_jp"), {"f": "2026/4/1"}, date(2026, 4, 1)),
        (spec("postal_code_jp"), {"f": "〒１００－０００１"}, "1000001"),
        (spec("phone_jp"), {"f": "+81 90-1234-5678"}, "09012345678"),
        (spec("email"), {"f": "Taro@Example.JP"}, "Taro@example.jp"),
        (spec("my_number", purpose=LABEL), {"f": "1234 5678 9018"}, "123456789018"),
        (spec("relationship", codes="to_household_head"), {"f": "head"}, "head"),
        (spec("choice", options=CHOICE_OPTIONS), {"f": "post"}, "post"),
        (
            spec("choice", options=CHOICE_OPTIONS, widget="checkbox"),
            {"f": ["counter", "post"]},
            ["post", "counter"],
        ),
        (spec("choice", options=CHOICE_OPTIONS, widget="checkbox"), {}, []),
        (spec("declaration"), {"f": "yes"}, True),
        (spec("declaration"), {}, None),
        (spec("file"), {"f": "upload-3f2a"}, "upload-3f2a"),
    ],
)
def test_parse_turns_what_was_typed_into_a_value(field, raw, expected) -> None:
    assert parse_field("f", field, raw) == expected


@pytest.mark.parametrize(
    ("field", "raw", "code"),
    [
        (spec("text", max_length=3), {"f": "あいうえ"}, "too_long"),
        (spec("number", maximum=10), {"f": "11"}, "number_too_large"),
        (spec("number"), {"f": "1.5"}, "number_whole"),
        (spec("money_jpy"), {"f": "12円50銭"}, "money_format"),
        (spec("date_jp"), {"f": "平成31年5月1日"}, "era_out_of_range"),
        (spec("postal_code_jp"), {"f": "12345"}, "postal_code_format"),
        (spec("my_number", purpose=LABEL), {"f": "123456789012"}, "my_number_check_digit"),
        (spec("relationship", codes="to_deceased"), {"f": "head"}, "invalid_choice"),
        (spec("choice", options=CHOICE_OPTIONS), {"f": "email"}, "invalid_choice"),
        (spec("choice", options=CHOICE_OPTIONS, widget="checkbox"), {"f": ["x"]}, "invalid_choice"),
        (spec("declaration"), {"f": "no"}, "invalid_choice"),
    ],
)
def test_parse_refuses_with_a_code_that_has_messages(field, raw, code) -> None:
    with pytest.raises(FieldError) as refused:
        parse_field("f", field, raw)
    assert refused.value.code == code
    assert refused.value.message("ja")
    assert refused.value.message("en")


def test_a_person_name_is_normalised_and_errors_name_their_input() -> None:
    name = spec("person_name_ja")
    raw = {"n.family": "山田", "n.given": "太郎", "n.family_kana": "やまだ", "n.given_kana": "ﾀﾛｳ"}
    assert parse_field("n", name, raw) == {
        "family": "山田",
        "given": "太郎",
        "family_kana": "ヤマダ",
        "given_kana": "タロウ",
    }
    with pytest.raises(FieldError) as refused:
        parse_field("n", name, {**raw, "n.given_kana": "taro"})
    assert (refused.value.code, refused.value.part) == ("kana_only", "given_kana")
    assert parse_field("n", name, {}) is None


def test_an_address_is_domestic_or_overseas() -> None:
    address = spec("address_jp")
    domestic = {
        "a.postal_code": "100-0001",
        "a.prefecture": "東京都",
        "a.city": "千代田区",
        "a.town": "千代田",
        "a.line": "1-1",
    }
    assert parse_field("a", address, domestic) == {
        "postal_code": "1000001",
        "prefecture": "東京都",
        "city": "千代田区",
        "town": "千代田",
        "line": "1-1",
        "overseas": None,
    }
    abroad = parse_field("a", address, {"a.overseas": "10 Downing Street, London, UK"})
    assert abroad["overseas"] == "10 Downing Street, London, UK"
    assert abroad["postal_code"] is None
    with pytest.raises(FieldError) as both:
        parse_field("a", address, {**domestic, "a.overseas": "London"})
    assert (both.value.code, both.value.part) == ("address_both", "overseas")
    with pytest.raises(FieldError) as partial:
        parse_field("a", address, {"a.postal_code": "100-0001"})
    assert (partial.value.code, partial.value.part) == ("required", "prefecture")
    assert display(address, parse_field("a", address, domestic), "ja") == (
        "〒100-0001 東京都千代田区千代田 1-1"
    )


def test_bank_accounts_by_bank_yucho_or_public_fund() -> None:
    account = spec("bank_account_jp")
    bank = parse_field(
        "b",
        account,
        {
            "b.method": "bank",
            "b.bank_code": "０００１",
            "b.branch_code": "001",
            "b.account_type": "普通",
            "b.account_number": "1234567",
            "b.holder_kana": "やまだ たろう",
        },
    )
    assert bank["bank_code"] == "0001" and bank["account_type"] == "ordinary"
    assert bank["holder_kana"] == "ヤマダ タロウ"
    assert display(account, bank, "en") == "Bank 0001, branch 001, Ordinary 1234567, ヤマダ タロウ"
    yucho = parse_field(
        "b",
        account,
        {
            "b.method": "yucho",
            "b.yucho_kigou": "12345",
            "b.yucho_bangou": "12345671",
            "b.holder_kana": "ヤマダ タロウ",
        },
    )
    assert (yucho["bank_code"], yucho["branch_code"], yucho["account_number"]) == (
        "9900",
        "238",
        "1234567",
    )
    with pytest.raises(FieldError) as refused:
        parse_field(
            "b", account, {"b.method": "yucho", "b.yucho_kigou": "2", "b.holder_kana": "ア"}
        )
    assert (refused.value.code, refused.value.part) == ("yucho_kigou_format", "yucho_kigou")
    public = parse_field("b", account, {"b.method": "public_fund"})
    assert public["method"] == "public_fund" and public["bank_code"] is None
    no_public = spec("bank_account_jp", allow_public_fund=False)
    with pytest.raises(FieldError):
        parse_field("b", no_public, {"b.method": "public_fund"})
    with pytest.raises(FieldError) as no_method:
        parse_field("b", account, {"b.bank_code": "0001"})
    assert (no_method.value.code, no_method.value.part) == ("choose_one", "method")


@pytest.mark.parametrize(
    ("field", "value", "lang", "shown"),
    [
        (spec("date_jp"), date(2026, 4, 1), "ja", "2026年4月1日（令和8年）"),
        (spec("date_jp"), date(2026, 4, 1), "en", "1 April 2026 (Reiwa 8)"),
        (spec("money_jpy"), 1234567, "ja", "1,234,567円"),
        (spec("money_jpy"), 1234567, "en", "1,234,567 yen"),
        (spec("my_number", purpose=LABEL), "123456789018", "ja", "**** **** 9018"),
        (spec("yes_no", allow_unknown=True), UNKNOWN, "en", "Don't know"),
        (spec("yes_no"), False, "ja", "いいえ"),
        (
            spec("choice", options=CHOICE_OPTIONS, widget="checkbox"),
            ["post", "counter"],
            "en",
            "By post, At the counter",
        ),
        (spec("postal_code_jp"), "1000001", "ja", "〒100-0001"),
        (spec("relationship", codes="to_deceased"), "spouse", "en", "Spouse"),
        (
            spec("person_name_ja"),
            {"family": "山田", "given": "太郎", "family_kana": "ヤマダ", "given_kana": "タロウ"},
            "ja",
            "山田 太郎（ヤマダ タロウ）",
        ),
        (spec("file"), "upload-1", "en", "Attached"),
        (spec("text"), None, "en", "—"),
    ],
)
def test_display(field, value, lang, shown) -> None:
    assert display(field, value, lang) == shown


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_dates_survive_storage(day: date) -> None:
    field = spec("date_jp")
    stored = dump_value(field, day)
    assert stored == day.isoformat()
    assert load_value(field, stored) == day


@given(st.decimals(min_value=-(10**6), max_value=10**6, places=2, allow_nan=False))
def test_decimal_numbers_survive_storage(number: Decimal) -> None:
    field = spec("number", decimals=2)
    assert load_value(field, dump_value(field, number)) == number


def test_groups_and_dont_know_survive_storage() -> None:
    group = spec(
        "group",
        repeatable=True,
        fields={
            "born": {"type": "date_jp", "label": LABEL},
            "insured": {"type": "yes_no", "allow_unknown": True, "label": LABEL},
        },
    )
    items = [{"born": date(2020, 1, 2), "insured": UNKNOWN}, {"born": None, "insured": True}]
    stored = dump_value(group, items)
    assert stored == [{"born": "2020-01-02", "insured": "unknown"}, {"insured": True}]
    assert load_value(group, stored) == items


@pytest.mark.parametrize(
    ("field", "data"),
    [
        (spec("date_jp"), "20 Nov"),
        (spec("money_jpy"), -5),
        (spec("money_jpy"), True),
        (spec("number"), 1.5),
        (spec("yes_no"), "unknown"),
        (spec("choice", options=CHOICE_OPTIONS), "email"),
        (spec("my_number", purpose=LABEL), 123456789018),
        (spec("person_name_ja"), {"family": "山田"}),
        (spec("person_name_ja"), {"family": "山田", "family_kana": "ヤマダ", "middle": "x"}),
        (spec("address_jp"), {"city": "千代田区"}),
        (spec("group", fields={"n": {"type": "number", "label": LABEL}}), {"m": 1}),
    ],
)
def test_load_refuses_data_that_does_not_fit(field, data) -> None:
    with pytest.raises(LoadError):
        load_value(field, data)


def test_my_number_fields_need_a_purpose() -> None:
    assert requires_purpose(spec("my_number"))
    assert requires_purpose(spec("text", sensitivity="my_number"))
    assert not requires_purpose(spec("text", sensitivity="special"))
