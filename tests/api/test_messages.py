"""Writing to applicants through the API: a message they read, or a request that stops the clock."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from portal.api.schema import MAX_MESSAGE_LENGTH, MESSAGE_TEXT_PATTERN
from portal.audit.models import AuditEntry
from portal.backoffice import workflow
from portal.backoffice.models import Submission
from portal.extensions import db
from tests.api.conftest import bearer

TYPED = "保険証は郵送で返却してください。\r\n窓口でも受け付けます。\x07"
ASKED = "資格喪失日を確認できる書類を送ってください。"


def _post(client, reference, token, body=None, **options):
    return client.post(
        f"/api/v1/submissions/{reference}/messages",
        headers=bearer(token),
        **({"json": body} if body is not None else options),
    )


def _submission(app, reference):
    with app.app_context():
        submission = db.session.scalars(
            select(Submission).where(Submission.reference == reference)
        ).one()
        messages = [(m.kind, m.author_id, m.body) for m in submission.messages]
        return submission.status, submission.paused_since, messages


def _audit(app, action):
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()
        return [(entry.actor, entry.subject_id, entry.details) for entry in entries]


def _client_actor(token):
    return "api:" + token.split(".", 1)[0]


def _application_page(client, reference):
    return client.get(f"/applications/{reference.rsplit('-', 1)[0]}").get_data(as_text=True)


def test_a_message_reaches_the_applicants_page_cleaned_and_audited(
    filed, issue_client, app, client
):
    token = issue_client()
    response = _post(client, filed.nhi, token, {"kind": "message", "body": TYPED})
    assert response.status_code == 201, response.get_json()
    sent = response.get_json()
    text = "保険証は郵送で返却してください。\n窓口でも受け付けます。"
    assert (sent["reference"], sent["kind"], sent["body"], sent["status"]) == (
        filed.nhi,
        "message",
        text,
        "received",
    )
    status, paused, messages = _submission(app, filed.nhi)
    assert (status, paused) == ("received", None)  # a message does not stop the clock
    assert messages == [("message", None, text)]
    assert "保険証は郵送で返却してください。" in _application_page(client, filed.nhi)
    ((actor, subject, details),) = _audit(app, "submission.message_sent")
    assert (actor, subject) == (_client_actor(token), filed.nhi)
    assert "保険証" not in str(details)  # the audit log names the act, not the text


def test_a_request_stops_the_clock_and_the_applicant_can_answer(filed, issue_client, app, client):
    token = issue_client()
    moved = client.post(
        f"/api/v1/submissions/{filed.nhi}/status",
        json={"status": "in_review"},
        headers=bearer(token),
    )
    assert moved.status_code == 200
    response = _post(client, filed.nhi, token, {"kind": "request", "body": ASKED})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["status"] == "awaiting_applicant"
    status, paused, messages = _submission(app, filed.nhi)
    assert status == "awaiting_applicant" and paused is not None
    assert messages == [("request", None, ASKED)]
    changes = _audit(app, "submission.status_changed")
    assert changes[-1] == (
        _client_actor(token),
        filed.nhi,
        {"from": "in_review", "to": "awaiting_applicant"},
    )
    page = _application_page(client, filed.nhi)
    assert ASKED in page
    assert re.search(r'action="/applications/MD-\d{4}-\d{6}/1/answer"', page)


def test_a_request_the_status_does_not_allow_is_refused_and_adds_nothing(
    filed, issue_client, app, client
):
    token = issue_client()
    response = _post(client, filed.nhi, token, {"kind": "request", "body": ASKED})
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["type"] == "urn:madoguchi:problem:transition-refused"
    assert (problem["current_status"], problem["requested_status"]) == (
        "received",
        "awaiting_applicant",
    )
    assert problem["allowed_statuses"] == ["in_review"]
    assert _submission(app, filed.nhi) == ("received", None, [])
    assert _audit(app, "submission.status_changed") == []


def test_no_request_while_a_four_eyes_decision_waits(filed, issue_client, app, client):
    token = issue_client()
    client.post(
        f"/api/v1/submissions/{filed.nhi}/status",
        json={"status": "in_review"},
        headers=bearer(token),
    )
    with app.app_context():
        submission = db.session.scalars(
            select(Submission).where(Submission.reference == filed.nhi)
        ).one()
        submission.proposed_decision = "approved"
        db.session.commit()
    response = _post(client, filed.nhi, token, {"kind": "request", "body": "確認させてください。"})
    assert response.status_code == 409
    assert response.get_json()["type"] == "urn:madoguchi:problem:proposal-waiting"
    assert _submission(app, filed.nhi) == ("in_review", None, [])


def test_a_body_that_is_not_a_message_is_refused(filed, issue_client, app, client):
    token = issue_client()
    for body in (
        {"kind": "note", "body": "内部メモ"},  # internal notes are the clerks' own
        {"kind": "reply", "body": "回答"},
        {"kind": "message"},
        {"kind": "message", "body": ""},
        {"kind": "message", "body": " \n\t "},
        {"kind": "message", "body": "\x00\x01\x1b"},
        {"kind": "message", "body": "。！？"},
        {"kind": "message", "body": "あ" * (MAX_MESSAGE_LENGTH + 1)},
        {"kind": "message", "body": "こんにちは", "to": "someone"},
        ["message", "こんにちは"],
    ):
        response = _post(client, filed.nhi, token, body)
        assert response.status_code == 400, body
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["detail"]
    assert _post(client, filed.nhi, token, data="kind=message").status_code == 415
    broken = _post(client, filed.nhi, token, data="{", content_type="application/json")
    assert broken.status_code == 400
    longest = {"kind": "message", "body": "あ" * MAX_MESSAGE_LENGTH}
    assert _post(client, filed.nhi, token, longest).status_code == 201
    assert len(_submission(app, filed.nhi)[2]) == 1
    assert len(_audit(app, "submission.message_sent")) == 1


def test_writing_needs_the_write_scope_and_the_department(filed, issue_client, app, client):
    body = {"kind": "message", "body": "お知らせです。"}
    reader = issue_client(scopes=("submissions:read",))
    refused = _post(client, filed.nhi, reader, body)
    assert refused.status_code == 403
    assert 'scope="submissions:write"' in refused.headers["WWW-Authenticate"]
    other_department = issue_client(departments=("ltc_insurance",))
    assert _post(client, filed.nhi, other_department, body).status_code == 404
    assert _post(client, filed.ltc, other_department, body).status_code == 201
    unauthenticated = client.post(f"/api/v1/submissions/{filed.nhi}/messages", json=body)
    assert unauthenticated.status_code == 401
    assert _submission(app, filed.nhi)[2] == []


def test_the_documented_limits_are_the_workflows():
    assert MAX_MESSAGE_LENGTH == workflow.MAX_MESSAGE_LENGTH


@given(st.from_regex(MESSAGE_TEXT_PATTERN))
def test_any_body_the_document_accepts_keeps_some_text_once_cleaned(body):
    # Otherwise a request the OpenAPI document calls valid would be refused.
    assert workflow.clean_message(body)
