"""The case services: who sees a case, four eyes, requests, notes, and the one transition."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.backoffice import cases, workflow
from portal.backoffice.models import StatusChange, Submission
from portal.definitions.expressions import default_context
from portal.extensions import db
from portal.identity.models import User
from portal.jobs.models import Job
from tests.backoffice.conftest import LTC, NHI
from tests.resident.conftest import fill_page, token
from tests.resident.test_journey import _walk_form
from tests.resident.test_prefill import _consent_all, _to_consent
from tests.resident.test_submit import _submit

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # Tuesday 1 December, 10:00 in Japan
CLOCK = cases.Clock(NOW, NOW.date(), default_context().is_business_day)
MOVED_AWAY = "先月引越しました"


def file_with_correction(signed_in_as, client) -> str:
    """demo-0018 files NHI loss from the register, changing her address line with a reason."""
    signed_in_as("demo-0018")
    response = _consent_all(client, _to_consent(client))
    location = response.headers["Location"]
    if location.endswith("/records/person"):
        html = client.get(location).get_data(as_text=True)
        location = client.post(
            location, data={"csrf_token": token(html), "person": "demo-0017"}
        ).headers["Location"]
    page = client.get(location).get_data(as_text=True)
    data = fill_page(
        page, {"applicant_address.line": "9-9-9", "reason:applicant_address": MOVED_AWAY}
    )
    response = client.post(location, data=data)
    assert response.status_code == 303
    check, _pages = _walk_form(client, response.headers["Location"])
    response = _submit(client, check, declaration="yes")
    assert response.status_code == 303
    return response.headers["Location"].rsplit("/", 1)[1]


def submission(reference: str) -> Submission:
    return db.session.scalars(select(Submission).where(Submission.reference == reference)).one()


def user(user_id: int) -> User:
    return db.session.get(User, user_id)


def test_a_clerk_sees_only_their_departments_cases_and_an_admin_sees_all(filed, staff, app):
    with app.app_context():
        assert cases.case_for(db.session, user(staff.nhi), f"{filed}-1") is not None
        assert cases.case_for(db.session, user(staff.nhi), f"{filed}-2") is None
        assert cases.case_for(db.session, user(staff.ltc), f"{filed}-1") is None
        assert cases.case_for(db.session, user(staff.admin), f"{filed}-2") is not None
        assert cases.case_for(db.session, user(staff.nhi), "MD-2099-999999-1") is None
        resident = db.session.scalars(select(User).where(User.role == "resident")).one()
        assert cases.case_for(db.session, resident, f"{filed}-1") is None


def test_the_case_shows_the_other_procedures_but_opens_only_the_clerks_own(filed, staff, app):
    with app.app_context():
        view = cases.case_view(db.session, submission(f"{filed}-1"), user(staff.nhi), "en")
        assert view.checked_against_register is False
        assert view.answers and all(group.lines for group in view.answers)
        (other,) = view.others
        assert (other.reference, other.status, other.open_to_user) == (
            f"{filed}-2",
            "received",
            False,
        )
        admin_view = cases.case_view(db.session, submission(f"{filed}-1"), user(staff.admin), "en")
        assert admin_view.others[0].open_to_user is True


def test_every_status_change_goes_through_the_one_transition(filed, staff, app, monkeypatch):
    calls = []
    original = workflow.transition

    def spy(session, item, to_status, **kwargs):
        calls.append((item.reference, item.status, to_status))
        return original(session, item, to_status, **kwargs)

    monkeypatch.setattr(workflow, "transition", spy)
    with app.app_context():
        clerk = user(staff.nhi)
        case = submission(f"{filed}-1")
        cases.start_review(db.session, case, clerk, CLOCK)
        cases.request_information(db.session, case, clerk, "写しを送ってください。", CLOCK)
        workflow.answer_request(
            db.session,
            case,
            "送ります。",
            applicant_id=case.application.applicant_id,
            documents=[],
            now=NOW,
            local_day=NOW.date(),
            is_business_day=CLOCK.is_business_day,
        )
        cases.decide(db.session, case, clerk, "rejected", "要件を満たしません。", CLOCK)
        db.session.commit()
        changes = db.session.scalars(select(StatusChange).order_by(StatusChange.id)).all()
        assert [(c.from_status, c.to_status) for c in changes] == [
            (start, to) for _ref, start, to in calls
        ]
        assert [to for _ref, _start, to in calls] == [
            "in_review",
            "awaiting_applicant",
            "in_review",
            "rejected",
        ]


@pytest.mark.parametrize(
    ("action", "status"),
    [
        (
            lambda case, clerk: cases.decide(db.session, case, clerk, "approved", "可", CLOCK),
            "received",
        ),
        (
            lambda case, clerk: cases.request_information(db.session, case, clerk, "?", CLOCK),
            "received",
        ),
        (lambda case, clerk: cases.start_review(db.session, case, clerk, CLOCK), "in_review"),
        (
            lambda case, clerk: cases.start_review(db.session, case, clerk, CLOCK),
            "awaiting_applicant",
        ),
        (
            lambda case, clerk: cases.decide(db.session, case, clerk, "rejected", "否", CLOCK),
            "withdrawn",
        ),
    ],
)
def test_an_illegal_move_is_refused_before_anything_changes(filed, staff, app, action, status):
    with app.app_context():
        case = submission(f"{filed}-1")
        case.status = status
        db.session.commit()
        messages_before = len(case.messages)
        with pytest.raises(workflow.TransitionRefused):
            action(case, user(staff.nhi))
        assert case.status == status
        assert len(case.messages) == messages_before
        assert case.decision_reason is None and case.proposed_decision is None
        assert db.session.scalar(select(func.count()).select_from(StatusChange)) == 0


def test_four_eyes_the_proposer_cannot_confirm_and_a_second_clerk_can(filed, staff, app):
    with app.app_context():
        case = submission(f"{filed}-1")
        case.four_eyes = True
        first, second = user(staff.nhi), user(staff.nhi_second)
        cases.start_review(db.session, case, first, CLOCK)
        assert cases.decide(db.session, case, first, "approved", "要件を満たします。", CLOCK) == (
            "proposed"
        )
        assert case.status == "in_review"
        assert (case.proposed_decision, case.proposed_by) == ("approved", first.id)
        with pytest.raises(cases.ActionRefused) as refused:
            cases.confirm_proposal(db.session, case, first, CLOCK)
        assert refused.value.code == "own_proposal"
        with pytest.raises(cases.ActionRefused):
            cases.decide(db.session, case, second, "rejected", "やはり否", CLOCK)
        assert case.status == "in_review"

        cases.confirm_proposal(db.session, case, second, CLOCK)
        assert case.status == "approved"
        assert case.decision_reason == "要件を満たします。"
        assert case.proposed_decision is None
        db.session.commit()
        change = db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "submission.status_changed")
            .order_by(AuditEntry.id.desc())
        ).first()
        assert change.actor == f"user:{second.id}"
        assert change.details["proposed_by"] == f"user:{first.id}"
        assert db.session.scalars(select(Job.kind).where(Job.kind == "decision.render")).all()


def test_four_eyes_a_proposal_sent_back_leaves_the_case_in_review_with_a_note(filed, staff, app):
    with app.app_context():
        case = submission(f"{filed}-1")
        case.four_eyes = True
        first, second = user(staff.nhi), user(staff.nhi_second)
        cases.start_review(db.session, case, first, CLOCK)
        cases.decide(db.session, case, first, "completed", "届出を受理しました。", CLOCK)
        cases.return_proposal(db.session, case, second, "添付の確認をお願いします。", NOW)
        assert case.status == "in_review" and case.proposed_decision is None
        assert case.messages[-1].kind == "note"
        with pytest.raises(cases.ActionRefused) as refused:
            cases.confirm_proposal(db.session, case, second, CLOCK)
        assert refused.value.code == "no_proposal"
        # Without four eyes a rejection is decided at once.
        assert cases.decide(db.session, case, first, "rejected", "否", CLOCK) == "decided"


def test_a_decision_needs_a_reason_and_a_known_outcome(filed, staff, app):
    with app.app_context():
        case = submission(f"{filed}-1")
        clerk = user(staff.nhi)
        cases.start_review(db.session, case, clerk, CLOCK)
        for decision, reason, code in [
            ("approved", "  \x00 ", "reason_empty"),
            ("granted", "可", "decision_missing"),
            (None, "可", "decision_missing"),
            ("approved", "あ" * (workflow.MAX_MESSAGE_LENGTH + 1), "too_long"),
        ]:
            with pytest.raises(cases.ActionRefused) as refused:
                cases.decide(db.session, case, clerk, decision, reason, CLOCK)
            assert refused.value.code == code
        assert case.status == "in_review"


def test_request_templates_come_from_the_definition_in_the_applicants_language(filed, staff, app):
    with app.app_context():
        case = submission(f"{filed}-1")
        templates = {t.key: t for t in cases.request_templates(db.session, case, "en")}
        assert list(templates) == ["document:deceased_nhi_certificate", *cases.BUILT_IN_REQUESTS]
        certificate = templates["document:deceased_nhi_certificate"]
        assert certificate.title.startswith("Ask for: The National Health Insurance")
        assert (
            "「亡くなった方の国民健康保険の資格確認書（返却）」を提出してください"
            in certificate.body
        )
        # The clerk reads English; the applicant filed in Japanese.
        assert templates["clarify"].title == "Ask about an answer"
        assert "確認させてください" in templates["clarify"].body
        case.application.language = "en"
        english = {t.key: t for t in cases.request_templates(db.session, case, "ja")}
        assert english["clarify"].title == "回答内容の確認"
        assert english["clarify"].body.startswith("We need")


def test_viewing_and_register_reports_are_audited(filed, staff, app):
    from portal.resident.models import RegisterReport

    with app.app_context():
        case = submission(f"{filed}-1")
        cases.record_view(db.session, case, user(staff.nhi))
        resident = db.session.scalars(select(User).where(User.role == "resident")).one()
        for department in (NHI, LTC):
            db.session.add(
                RegisterReport(
                    user_id=resident.id,
                    person_key="demo-0024",
                    source="nhi",
                    field_id="nhi_number",
                    department_id=department,
                    message="番号が違います",
                    status="open",
                    created_at=NOW,
                )
            )
        db.session.commit()
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "submission.viewed")
        ).one()
        assert (entry.actor, entry.subject_id) == (f"user:{staff.nhi}", case.reference)
        (line,) = cases.open_register_reports(db.session, user(staff.nhi), "ja")
        assert line.report.department_id == NHI and line.register == "国民健康保険の記録"
        other = db.session.scalars(
            select(RegisterReport).where(RegisterReport.department_id == LTC)
        ).one()
        assert cases.close_register_report(db.session, user(staff.nhi), other.id) is None
        assert cases.close_register_report(db.session, user(staff.nhi), line.report.id)
        db.session.commit()
        assert cases.open_register_reports(db.session, user(staff.nhi), "ja") == []
        closed = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "register_report.closed")
        ).one()
        assert closed.subject_id == str(line.report.id)
        assert len(cases.open_register_reports(db.session, user(staff.admin), "ja")) == 1
