"""The pre-filled form of a procedure that can only be filed at a counter, printed for signing.

``CounterFormData`` holds everything the form shows, already in the application's
language: the procedure, where and by when to hand it in, what to bring, and each page
of the procedure's form with the values the portal holds (from the resident's answers
or the city's records) and blank boxes for the rest. ``render_counter_form`` lays it out
on A4 with the receipt's style sheet and font. Like the receipt, its wording lives here
beside its template: it is a fixed document rendered in a job, outside any request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple, get_args
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime

from portal.documents.pdf import render_pdf, template_environment
from portal.documents.receipt import (
    DATE_FORMATS,
    DATETIME_FORMATS,
    DEFAULT_TIMEZONE,
    STYLESHEET,
    Language,
)

TEMPLATE = "documents/counter_form.html"

LABELS: dict[str, dict[str, str]] = {
    "ja": {
        "title": "窓口提出用 届書（記入済み）",
        "reference": "受付番号",
        "submitted_at": "作成の元になった申請",
        "applicant": "届出人",
        "filed_for": "委任者（代理で届出）",
        "intro": (
            "窓口でお手続きいただいた内容と市の記録から、わかっている項目を印字しています。"
            "内容を確認し、空欄に記入して、署名のうえ提出してください。"
        ),
        "procedure": "手続き",
        "where": "提出先",
        "deadline": "期限",
        "bring": "お持ちいただくもの",
        "nothing_to_bring": "特にありません",
        "item": "項目",
        "entry": "記入内容",
        "from_register": "市の記録から",
        "blank": "（窓口で記入）",
        "signature": "届出人の署名",
        "signed_on": "記入日",
    },
    "en": {
        "title": "Form to hand in at the counter (pre-filled)",
        "reference": "Reference",
        "submitted_at": "Prepared from the application of",
        "applicant": "Person filing",
        "filed_for": "Filed on behalf of",
        "intro": (
            "What is known from your application at the counter and from the city's records "
            "is printed below. Check it, fill in the empty boxes, sign and hand it in."
        ),
        "procedure": "Procedure",
        "where": "Where to hand it in",
        "deadline": "Deadline",
        "bring": "What to bring",
        "nothing_to_bring": "Nothing in particular",
        "item": "Item",
        "entry": "Entry",
        "from_register": "From the city's records",
        "blank": "(fill in at the counter)",
        "signature": "Signature of the person filing",
        "signed_on": "Date",
    },
}


class FormRow(NamedTuple):
    """One item of the form: its label, the value as printed ("" for a blank box), its source."""

    label: str
    value: str = ""
    source: str = ""


class FormSection(NamedTuple):
    """One page of the procedure's form: its heading and its items."""

    title: str
    rows: tuple[FormRow, ...] = ()


@dataclass(frozen=True)
class CounterFormData:
    """Everything one pre-filled counter form shows, in the form's language."""

    reference: str
    language: Language
    submitted_at: datetime
    applicant_name: str
    procedure_title: str
    where: str
    sections: Sequence[FormSection]
    deadline: date | None = None
    bring: Sequence[str] = ()
    # Filed by a representative: the person acted for and the scope, as shown.
    filed_for: str | None = None

    def __post_init__(self) -> None:
        if self.language not in get_args(Language):
            raise ValueError(f"a counter form's language is ja or en, not {self.language!r}")
        if self.submitted_at.tzinfo is None:
            raise ValueError("submitted_at must be an aware datetime")
        sections = tuple(
            FormSection(item[0], tuple(FormRow(*row) for row in item[1])) for item in self.sections
        )
        object.__setattr__(self, "sections", sections)
        object.__setattr__(self, "bring", tuple(self.bring))


def counter_form_context(
    data: CounterFormData, *, timezone: str = DEFAULT_TIMEZONE
) -> dict[str, Any]:
    """What the template shows: the data with its dates written out in its language."""
    language = data.language
    return {
        "lang": language,
        "t": LABELS[language],
        "data": data,
        "submitted": format_datetime(
            data.submitted_at,
            DATETIME_FORMATS[language],
            tzinfo=ZoneInfo(timezone),
            locale=language,
        ),
        "deadline": format_date(data.deadline, DATE_FORMATS[language], locale=language)
        if data.deadline
        else None,
    }


def counter_form_html(data: CounterFormData, *, timezone: str = DEFAULT_TIMEZONE) -> str:
    """The form as the HTML the PDF is rendered from (what it says, before layout)."""
    template = template_environment().get_template(TEMPLATE)
    return template.render(**counter_form_context(data, timezone=timezone))


def render_counter_form(data: CounterFormData, *, timezone: str = DEFAULT_TIMEZONE) -> bytes:
    """Render the pre-filled form as a tagged A4 PDF, times shown in ``timezone``."""
    return render_pdf(
        TEMPLATE, counter_form_context(data, timezone=timezone), stylesheets=[STYLESHEET]
    )
