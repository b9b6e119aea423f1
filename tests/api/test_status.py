"""Status changes through the API go through the one workflow, audited, or are refused."""

from __future__ import annotations

from sqlalchemy import select

from portal.api.models import ApiClient
from portal.audit.models import AuditEntry
from portal.backoffice.models import StatusChange, Submission
from portal.extensions import db
from tests.api.conftest import bearer


def _post(client, reference, token, body=None, **options):
    return client.post(
        f"/api/v1/submissions/{reference}/status",
        headers=bearer(token),
        **({"json": body} if body is not None else options),
    )


def _status_changes(app):
    with app.app_context():
        return db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "submission.status_changed")
        ).all()


def test_a_legal_move_is_made_audited_and_shown_in_the_timeline(filed, issue_client, app, client):
    token = issue_client()
    response = _post(client, filed.nhi, token, {"status": "in_review", "reason": "基幹系で受付"})
    assert response.status_code == 200, response.get_json()
    detail = response.get_json()
    assert detail["status"] == "in_review"
    assert [(e["from_status"], e["to_status"], e["by"]) for e in detail["timeline"]] == [
        ("received", "in_review", "api")
    ]
    assert detail["updated_at"] == detail["timeline"][0]["at"]
    with app.app_context():
        client_id = db.session.scalars(select(ApiClient.client_id)).one()
        change = db.session.scalars(select(StatusChange)).one()
        assert change.actor == f"api:{client_id}"
    (entry,) = _status_changes(app)
    assert entry.actor == f"api:{client_id}"
    assert entry.subject_id == filed.nhi
    assert entry.details == {"from": "received", "to": "in_review", "reason": "基幹系で受付"}
    decided = _post(client, filed.nhi, token, {"status": "approved"})
    assert decided.status_code == 200
    assert decided.get_json()["status"] == "approved"
    assert _status_changes(app)[-1].details == {"from": "in_review", "to": "approved"}


def test_an_illegal_move_is_refused_with_a_problem_and_changes_nothing(
    filed, issue_client, app, client
):
    token = issue_client()
    response = _post(client, filed.nhi, token, {"status": "approved"})
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["type"] == "urn:madoguchi:problem:transition-refused"
    assert problem["status"] == 409
    assert problem["current_status"] == "received"
    assert problem["requested_status"] == "approved"
    assert problem["allowed_statuses"] == ["in_review"]
    # Withdrawing is the applicant's move, never a department's.
    assert _post(client, filed.nhi, token, {"status": "withdrawn"}).status_code == 409
    assert _post(client, filed.nhi, token, {"status": "received"}).status_code == 409
    with app.app_context():
        submission = db.session.scalars(
            select(Submission).where(Submission.reference == filed.nhi)
        ).one()
        assert submission.status == "received"
        assert submission.changes == []
    assert _status_changes(app) == []


def test_a_body_that_is_not_a_status_change_is_refused(filed, issue_client, app, client):
    token = issue_client()
    for body in (
        {"status": "lost"},
        {"reason": "no status"},
        {"status": "in_review", "extra": 1},
        {"status": "in_review", "reason": ""},
        {"status": "in_review", "reason": "x" * 501},
        ["in_review"],
    ):
        response = _post(client, filed.nhi, token, body)
        assert response.status_code == 400, body
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["detail"]
    not_json = _post(client, filed.nhi, token, data="status=in_review")
    assert not_json.status_code == 415
    broken = _post(client, filed.nhi, token, data="{", content_type="application/json")
    assert broken.status_code == 400
    assert _status_changes(app) == []
