"""The decision notice a resident gets when a department approves or refuses a procedure.

``DecisionData`` holds everything the notice shows, already in the applicant's language;
``render_decision`` lays it out on A4 with the receipt's style sheet and font. Like the
receipt, its wording lives here rather than in the translation catalogue: it is a fixed
document rendered in a job, outside any request and its language choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from portal.documents.pdf import render_pdf
from portal.documents.receipt import DATE_FORMATS, DEFAULT_TIMEZONE, STYLESHEET, Language

TEMPLATE = "documents/decision.html"
Outcome = Literal["approved", "rejected"]

LABELS: dict[str, dict[str, str]] = {
    "ja": {
        "title": "決定通知書",
        "reference": "受付番号",
        "application_reference": "申請の受付番号",
        "decided_on": "決定日",
        "submitted_on": "申請日",
        "applicant": "申請者",
        "filed_for": "委任者（代理で申請）",
        "procedure": "手続き",
        "department": "担当",
        "outcome": "決定",
        "approved": "承認",
        "rejected": "不承認",
        "intro_approved": (
            "あなたの申請について、次のとおり承認することに決定しましたので通知します。"
        ),
        "intro_rejected": (
            "あなたの申請について、次のとおり承認しないことに決定しましたので、"
            "その理由とあわせて通知します。"
        ),
        "reason": "理由",
        "appeal": "不服申立てについて",
        "appeal_review": (
            "この決定に不服がある場合は、この決定があったことを知った日の翌日から起算して"
            "3か月以内に、市長に対して審査請求をすることができます。"
        ),
        "appeal_court": (
            "この決定の取消しを求める訴えは、この決定があったことを知った日の翌日から起算して"
            "6か月以内に、市を被告として提起することができます。"
        ),
        "contact": "お問い合わせの際は受付番号をお伝えください。",
        "none": "—",
    },
    "en": {
        "title": "Decision notice",
        "reference": "Reference",
        "application_reference": "Application reference",
        "decided_on": "Decided on",
        "submitted_on": "Applied on",
        "applicant": "Applicant",
        "filed_for": "Filed on behalf of",
        "procedure": "Procedure",
        "department": "Department",
        "outcome": "Decision",
        "approved": "Approved",
        "rejected": "Not approved",
        "intro_approved": "We have decided to approve your application as set out below.",
        "intro_rejected": (
            "We have decided not to approve your application as set out below. The reason "
            "is given with the decision."
        ),
        "reason": "Reason",
        "appeal": "If you disagree",
        "appeal_review": (
            "You may ask the mayor to review this decision within three months of the day "
            "after you learned of it."
        ),
        "appeal_court": (
            "You may bring an action to set this decision aside, against the city, within "
            "six months of the day after you learned of it."
        ),
        "contact": "Please quote the reference if you contact us.",
        "none": "—",
    },
}


@dataclass(frozen=True)
class DecisionData:
    """Everything one decision notice shows, in the notice's language."""

    reference: str
    application_reference: str
    language: Language
    outcome: Outcome
    decided_at: datetime
    submitted_at: datetime
    applicant_name: str
    procedure_title: str
    department: str
    reason: str
    # Filed by a representative: the person acted for and the scope, as shown.
    filed_for: str | None = None

    def __post_init__(self) -> None:
        if self.language not in get_args(Language):
            raise ValueError(f"a decision notice's language is ja or en, not {self.language!r}")
        if self.outcome not in get_args(Outcome):
            raise ValueError(f"a decision notice is for approved or rejected, not {self.outcome!r}")
        if self.decided_at.tzinfo is None or self.submitted_at.tzinfo is None:
            raise ValueError("decided_at and submitted_at must be aware datetimes")


def decision_context(data: DecisionData, *, timezone: str = DEFAULT_TIMEZONE) -> dict[str, Any]:
    """What the notice template shows: the data with its days written out in its language."""
    zone = ZoneInfo(timezone)
    language = data.language

    def day(moment: datetime) -> str:
        return format_datetime(moment, DATE_FORMATS[language], tzinfo=zone, locale=language)

    return {
        "lang": language,
        "t": LABELS[language],
        "data": data,
        "decided_on": day(data.decided_at),
        "submitted_on": day(data.submitted_at),
        "intro": LABELS[language][f"intro_{data.outcome}"],
        "outcome": LABELS[language][data.outcome],
    }


def render_decision(data: DecisionData, *, timezone: str = DEFAULT_TIMEZONE) -> bytes:
    """Render the decision notice as a tagged A4 PDF, days shown in ``timezone`` (the city's)."""
    return render_pdf(TEMPLATE, decision_context(data, timezone=timezone), stylesheets=[STYLESHEET])
