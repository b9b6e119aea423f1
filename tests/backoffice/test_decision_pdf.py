"""The decision notice: rendered by a job after the commit, in the applicant's language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from portal.backoffice import cases
from portal.backoffice.decisions import JOB_KIND
from portal.documents.decision import DecisionData, render_decision
from portal.documents.storage import file_storage
from portal.extensions import db
from portal.jobs.models import Job
from tests.backoffice.test_cases import CLOCK, submission, user
from tests.documents.pdf_text import catalog, extract_text, font_names

# 00:30 on 2 December in Tokyo is still 1 December in UTC: the notice shows Tokyo's day.
DECIDED = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
HOSTILE = '<img src="https://evil.example/x.png"> 要件を満たしません'


def notice(language: str = "ja", **changes) -> DecisionData:
    data = {
        "reference": "MD-2026-000123-2",
        "application_reference": "MD-2026-000123",
        "language": language,
        "outcome": "rejected",
        "decided_at": DECIDED,
        "submitted_at": datetime(2026, 11, 24, 1, 0, tzinfo=UTC),
        "applicant_name": "窓口 花子",
        "procedure_title": "国民健康保険 葬祭費の支給申請",
        "department": "保険年金課",
        "reason": "喪主であることが確認できませんでした。",
        **changes,
    }
    return DecisionData(**data)


def test_a_japanese_refusal_states_the_reason_and_how_to_appeal():
    pdf = render_decision(notice())
    text = extract_text(pdf)
    for expected in (
        "決定通知書",
        "MD-2026-000123-2",
        "不承認",
        "喪主であることが確認できませんでした。",
        "審査請求",
        "2026年12月2日",
        "窓口 花子",
    ):
        assert expected in text, expected
    assert font_names(pdf) == {"Noto-Sans-CJK-JP"}
    assert b"/Lang (ja)" in catalog(pdf)


def test_an_english_approval_has_no_appeal_section():
    pdf = render_decision(notice("en", outcome="approved", reason="All conditions are met."))
    text = extract_text(pdf)
    assert "Decision notice" in text and "Approved" in text and "MD-2026-000123-2" in text
    assert "review this decision" not in text
    assert b"/Lang (en)" in catalog(pdf)


def test_typed_text_is_shown_as_text_and_fetches_nothing():
    text = extract_text(render_decision(notice(reason=HOSTILE)))
    assert "evil.example" in text and "要件を満たしません" in text


@pytest.mark.parametrize(
    "changes",
    [
        {"language": "fr"},
        {"outcome": "completed"},
        {"decided_at": datetime(2026, 12, 1)},  # noqa: DTZ001  (naive on purpose)
    ],
)
def test_a_notice_refuses_what_it_cannot_show(changes):
    with pytest.raises(ValueError):
        notice(**changes)


def test_the_job_renders_the_notice_after_the_decision_and_the_applicant_downloads_it(
    filed, staff, app, client
):
    reference = f"{filed}-1"
    with app.app_context():
        case = submission(reference)
        clerk = user(staff.nhi)
        cases.start_review(db.session, case, clerk, CLOCK)
        cases.decide(db.session, case, clerk, "rejected", "資格の喪失は届出済みです。", CLOCK)
        assert case.decision_key is None, "nothing is rendered before the commit"
        db.session.commit()  # the inline job engine runs the job after this commit
        job = db.session.scalars(select(Job).where(Job.kind == JOB_KIND)).one()
        assert (job.status, job.payload) == ("done", {"submission": reference})
        case = submission(reference)
        assert case.decision_key
        text = extract_text(file_storage().get(case.decision_key))
    assert reference in text and "不承認" in text and "資格の喪失は届出済みです。" in text
    page = client.get(f"/applications/{filed}").get_data(as_text=True)
    download = client.get(f"/applications/{filed}/1/decision.pdf")
    assert "/1/decision.pdf" in page and download.status_code == 200
    assert reference in extract_text(download.data)


def test_completing_without_a_decision_renders_no_notice(filed, staff, app):
    with app.app_context():
        case = submission(f"{filed}-2")
        clerk = user(staff.ltc)
        cases.start_review(db.session, case, clerk, CLOCK)
        cases.decide(db.session, case, clerk, "completed", "資格喪失を処理しました。", CLOCK)
        db.session.commit()
        assert case.status == "completed"
        assert not db.session.scalars(select(Job).where(Job.kind == JOB_KIND)).all()
