"""The receipt a resident gets for one submit: what was filed, what happens next, what to bring.

``ReceiptData`` holds everything the receipt shows, already in the resident's language;
``render_receipt`` lays it out on A4 in Japanese or English. The receipt's own wording
lives here beside its template rather than in the translation catalogue: it is a fixed
document and is rendered in jobs, outside any request and its language choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, NamedTuple, get_args
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, get_timezone_name

from portal.documents.pdf import render_pdf

Language = Literal["ja", "en"]
DEFAULT_TIMEZONE = "Asia/Tokyo"
TEMPLATE = "documents/receipt.html"
STYLESHEET = "receipt.css"

DATETIME_FORMATS = {"ja": "y年M月d日（E）H時mm分", "en": "EEEE d MMMM y, HH:mm"}
DATE_FORMATS = {"ja": "y年M月d日（E）", "en": "EEE d MMMM y"}

LABELS: dict[str, dict[str, str]] = {
    "ja": {
        "title": "申請受付票",
        "reference": "受付番号",
        "submitted_at": "受付日時",
        "applicant": "申請者",
        "filed_for": "委任者（代理で申請）",
        "intro": (
            "次の内容で申請を受け付けました。この受付票は大切に保管してください。"
            "お問い合わせの際は受付番号をお伝えください。"
        ),
        "procedures": "申請した手続き",
        "procedure": "手続き",
        "procedure_reference": "手続きの受付番号",
        "department": "担当",
        "due": "処理予定日",
        "next_steps": "今後の流れ",
        "counter_visits": "窓口でのお手続き",
        "counter_intro": "次の手続きは窓口でのお手続きが必要です。期限までにお越しください。",
        "no_counter_visits": "窓口にお越しいただく必要のある手続きはありません。",
        "where": "場所",
        "deadline": "期限",
        "bring": "お持ちいただくもの",
        "nothing_to_bring": "特にありません",
        "answers": "申請内容",
        "none": "—",
        "page": "ページ",
    },
    "en": {
        "title": "Application receipt",
        "reference": "Reference",
        "submitted_at": "Received",
        "applicant": "Applicant",
        "filed_for": "Filed on behalf of",
        "intro": (
            "We have received your application as set out below. Please keep this "
            "receipt and quote the reference if you contact us."
        ),
        "procedures": "Procedures filed",
        "procedure": "Procedure",
        "procedure_reference": "Reference",
        "department": "Department",
        "due": "Expected decision by",
        "next_steps": "What happens next",
        "counter_visits": "Visits to a counter still needed",
        "counter_intro": (
            "These procedures need a visit to a counter. Please come before the deadline."
        ),
        "no_counter_visits": "You do not need to visit a counter for any procedure.",
        "where": "Where",
        "deadline": "Deadline",
        "bring": "What to bring",
        "nothing_to_bring": "Nothing in particular",
        "answers": "Your answers",
        "none": "—",
        "page": "Page",
    },
}


class FiledProcedure(NamedTuple):
    """A procedure the application filed; ``due`` is when its department expects to decide."""

    reference: str
    title: str
    department: str
    due: date | None = None


class CounterVisit(NamedTuple):
    """A procedure that still needs a visit to a counter, by ``deadline``, with what to bring."""

    title: str
    where: str
    deadline: date | None = None
    bring: tuple[str, ...] = ()


class AnswerSection(NamedTuple):
    """One section of the answers given: its title and (label, value) rows as shown."""

    title: str
    rows: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ReceiptData:
    """Everything one receipt shows, in the receipt's language; lists become tuples."""

    reference: str
    submitted_at: datetime
    language: Language
    applicant_name: str
    procedures: Sequence[FiledProcedure]
    # Filed by a representative: the person acted for and the scope, as shown.
    filed_for: str | None = None
    counter_visits: Sequence[CounterVisit] = ()
    next_steps: Sequence[str] = ()
    answer_sections: Sequence[AnswerSection] = ()

    def __post_init__(self) -> None:
        if self.language not in get_args(Language):
            raise ValueError(f"a receipt's language is ja or en, not {self.language!r}")
        if self.submitted_at.tzinfo is None:
            raise ValueError("submitted_at must be an aware datetime")
        if not self.reference:
            raise ValueError("a receipt needs the application's reference")
        # Accept plain lists and tuples from callers; keep the receipt immutable.
        procedures = tuple(FiledProcedure(*item) for item in self.procedures)
        visits = tuple(
            CounterVisit(*item[:3], tuple(item[3]) if len(item) > 3 else ())
            for item in self.counter_visits
        )
        sections = tuple(
            AnswerSection(item[0], tuple((label, value) for label, value in item[1]))
            for item in self.answer_sections
        )
        object.__setattr__(self, "procedures", procedures)
        object.__setattr__(self, "counter_visits", visits)
        object.__setattr__(self, "next_steps", tuple(self.next_steps))
        object.__setattr__(self, "answer_sections", sections)


def _date(value: date | None, language: str) -> str | None:
    return format_date(value, DATE_FORMATS[language], locale=language) if value else None


def receipt_context(data: ReceiptData, *, timezone: str = DEFAULT_TIMEZONE) -> dict[str, Any]:
    """What the receipt template shows: the data with dates written out in its language."""
    zone = ZoneInfo(timezone)
    language = data.language
    submitted = format_datetime(
        data.submitted_at, DATETIME_FORMATS[language], tzinfo=zone, locale=language
    )
    zone_name = get_timezone_name(data.submitted_at.astimezone(zone), width="long", locale=language)
    zone_note = f"（{zone_name}）" if language == "ja" else f" ({zone_name})"
    return {
        "lang": language,
        "t": LABELS[language],
        "data": data,
        "submitted": submitted + zone_note,
        "procedures": [
            {**procedure._asdict(), "due": _date(procedure.due, language)}
            for procedure in data.procedures
        ],
        "visits": [
            {**visit._asdict(), "deadline": _date(visit.deadline, language)}
            for visit in data.counter_visits
        ],
    }


def render_receipt(data: ReceiptData, *, timezone: str = DEFAULT_TIMEZONE) -> bytes:
    """Render the receipt as a tagged A4 PDF, times shown in ``timezone`` (the city's)."""
    return render_pdf(TEMPLATE, receipt_context(data, timezone=timezone), stylesheets=[STYLESHEET])
