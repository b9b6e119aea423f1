"""The one status workflow: allowed moves only, audited in the same transaction, paused clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.backoffice import workflow
from portal.backoffice.models import StatusChange, Submission
from portal.definitions.expressions import default_context
from portal.extensions import db
from tests.resident.test_submit import _submit, _to_check

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # Tuesday 1 December, 10:00 in Japan
BUSINESS_DAY = default_context().is_business_day


@pytest.fixture
def filed(signed_in_as, app, client):
    """One bereavement application of two submissions, filed by demo-0024."""
    signed_in_as("demo-0024")
    response = _submit(client, _to_check(client), declaration="yes")
    assert response.status_code == 303
    return app


def _move(submission, to, role="clerk", when=NOW, **extra):
    return workflow.transition(
        db.session,
        submission,
        to,
        actor="user:1" if role != "system" else "system",
        role=role,
        now=when,
        local_day=when.date(),
        is_business_day=BUSINESS_DAY,
        **extra,
    )


def _first_submission():
    return db.session.scalars(select(Submission).order_by(Submission.id)).first()


def test_every_move_the_table_allows_and_nothing_else(filed):
    statuses = ("received", "in_review", "awaiting_applicant", "approved", "rejected",
                "completed", "withdrawn")
    with filed.app_context():
        submission = _first_submission()
        for start in statuses:
            for to in statuses:
                for role in ("applicant", "clerk", "system"):
                    submission.status = start
                    allowed = role in workflow.MOVES.get((start, to), frozenset())
                    if allowed:
                        _move(submission, to, role)
                        assert submission.status == to
                    else:
                        with pytest.raises(workflow.TransitionRefused):
                            _move(submission, to, role)
                        assert submission.status == start
        db.session.rollback()


def test_a_move_writes_the_timeline_and_the_audit_entry_in_the_same_transaction(filed):
    with filed.app_context():
        submission = _first_submission()
        _move(submission, "in_review")
        db.session.rollback()
        assert not db.session.scalars(select(StatusChange)).all()
        assert not db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "submission.status_changed")
        ).all()
        submission = _first_submission()
        _move(submission, "in_review")
        db.session.commit()
        change = db.session.scalars(select(StatusChange)).one()
        assert (change.from_status, change.to_status, change.actor) == (
            "received",
            "in_review",
            "user:1",
        )
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "submission.status_changed")
        ).one()
        assert entry.subject_id == submission.reference
        assert entry.details == {"from": "received", "to": "in_review"}


def test_a_decision_is_final_and_stamped(filed):
    with filed.app_context():
        submission = _first_submission()
        _move(submission, "in_review")
        _move(submission, "approved")
        assert submission.decided_at == NOW
        assert not workflow.may_withdraw(submission)
        with pytest.raises(workflow.TransitionRefused):
            _move(submission, "withdrawn", "applicant")
        _move(submission, "completed", "system")
        assert workflow.allowed_moves(submission, "clerk") == []


def test_the_clock_stops_while_the_applicant_is_asked_and_restarts_on_the_answer(filed):
    with filed.app_context():
        submission = _first_submission()
        submission.due_on = date(2026, 12, 10)
        _move(submission, "in_review")
        message = workflow.request_information(
            db.session,
            submission,
            "除籍謄本の写しを送ってください。",
            clerk_id=None,
            now=NOW,
            local_day=NOW.date(),
            is_business_day=BUSINESS_DAY,
        )
        assert submission.status == "awaiting_applicant"
        assert submission.paused_since == NOW
        assert workflow.open_request(submission) is message
        # Answered the next Monday: Wed, Thu, Fri and Mon are four business days.
        answered = NOW + timedelta(days=6)
        workflow.answer_request(
            db.session,
            submission,
            "送ります。",
            applicant_id=submission.application.applicant_id,
            documents=[],
            now=answered,
            local_day=answered.date(),
            is_business_day=BUSINESS_DAY,
        )
        assert submission.status == "in_review"
        assert submission.paused_since is None
        assert message.answered_at == answered
        assert workflow.open_request(submission) is None
        assert submission.due_on == date(2026, 12, 16)


def test_an_answer_without_an_open_request_is_refused(filed):
    with filed.app_context():
        submission = _first_submission()
        with pytest.raises(workflow.TransitionRefused):
            workflow.answer_request(
                db.session,
                submission,
                "?",
                applicant_id=submission.application.applicant_id,
                documents=[],
                now=NOW,
                local_day=NOW.date(),
                is_business_day=BUSINESS_DAY,
            )


def test_messages_keep_line_breaks_and_drop_control_characters():
    assert workflow.clean_message(" 一行目\r\n二行目\x00\x1b \n") == "一行目\n二行目"
