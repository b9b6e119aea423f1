"""Reading submissions: the client's departments only, filtered, paged; My Numbers by scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import get_args

from sqlalchemy import select

from portal.api.models import WEBHOOK_EVENTS
from portal.api.schema import EventType, Status
from portal.api.services import visible_answers
from portal.backoffice.models import SUBMISSION_STATUSES, StatusChange, Submission
from portal.definitions.schema import GroupField, MyNumberField, TextField, TextPair
from portal.extensions import db
from tests.api.conftest import CHILD_ALLOWANCE, EVERY_SCOPE, MY_NUMBER, bearer
from tests.resident.conftest import TINY_PDF

ALL_DEPARTMENTS = ("insurance_pension", "ltc_insurance", "child_support")


def _list(client, token, **query):
    response = client.get("/api/v1/submissions", query_string=query, headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_published_literals_are_the_ones_the_models_check():
    assert get_args(Status) == SUBMISSION_STATUSES
    assert get_args(EventType) == WEBHOOK_EVENTS


def test_a_client_lists_its_departments_submissions_only(
    child_allowance, filed, issue_client, client
):
    token = issue_client(departments=["insurance_pension", "child_support"])
    page = _list(client, token)
    assert [item["reference"] for item in page["items"]] == [filed.nhi, CHILD_ALLOWANCE]
    assert page["next_cursor"] is None
    nhi = page["items"][0]
    assert nhi["department"] == "insurance_pension"
    assert nhi["procedure"] == "nhi_loss_on_death"
    assert nhi["status"] == "received"
    assert nhi["application_reference"] == filed.nhi.rsplit("-", 1)[0]
    assert nhi["updated_at"] == nhi["received_at"]
    assert "answers" not in nhi


def test_filters_by_status_procedure_and_time_of_last_change(
    child_allowance, filed, issue_client, app, client
):
    token = issue_client(departments=ALL_DEPARTMENTS)
    later = datetime.now(UTC) + timedelta(days=3)
    with app.app_context():
        submission = db.session.scalars(
            select(Submission).where(Submission.reference == filed.ltc)
        ).one()
        submission.status = "in_review"
        submission.changes.append(
            StatusChange(from_status="received", to_status="in_review", actor="system", at=later)
        )
        db.session.commit()

    def references(**query):
        return [item["reference"] for item in _list(client, token, **query)["items"]]

    assert references(status="in_review") == [filed.ltc]
    assert references(status="received") == [filed.nhi, CHILD_ALLOWANCE]
    assert references(procedure="child_allowance_claim") == [CHILD_ALLOWANCE]
    since = (later - timedelta(minutes=1)).astimezone(UTC).isoformat()
    assert references(updated_since=since) == [filed.ltc]
    in_tokyo = (later + timedelta(minutes=1)).astimezone(timezone(timedelta(hours=9))).isoformat()
    assert references(updated_since=in_tokyo) == []
    assert references(updated_since="2000-01-01T00:00:00Z") == [
        filed.nhi,
        filed.ltc,
        CHILD_ALLOWANCE,
    ]
    (ltc,) = _list(client, token, status="in_review")["items"]
    assert datetime.fromisoformat(ltc["updated_at"]) == later


def test_pages_follow_each_other_with_an_opaque_cursor(
    child_allowance, filed, issue_client, client
):
    token = issue_client(departments=ALL_DEPARTMENTS)
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 1} | ({"cursor": cursor} if cursor else {})
        page = _list(client, token, **query)
        pages += 1
        seen += [item["reference"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert len(cursor) == 8 and cursor.isascii()
    assert seen == [filed.nhi, filed.ltc, CHILD_ALLOWANCE]
    assert pages == 3
    two = _list(client, token, limit=2)
    assert len(two["items"]) == 2
    rest = _list(client, token, limit=2, cursor=two["next_cursor"])
    assert [item["reference"] for item in rest["items"]] == [CHILD_ALLOWANCE]
    assert rest["next_cursor"] is None


def test_bad_filters_and_cursors_are_refused_as_problems(filed, issue_client, client):
    token = issue_client()
    for query in (
        {"status": "lost"},
        {"status": ""},
        {"procedure": "Not An Id"},
        {"updated_since": "yesterday"},
        {"updated_since": "2026-12-01T09:00:00"},  # no offset
        {"updated_since": "2026-13-01T09:00:00Z"},
        {"updated_since": "0001-01-01T00:00:00+09:00"},  # before year 1 in UTC
        {"cursor": "not-a-cursor"},
        {"cursor": "AAAAAAA"},
        {"cursor": "AAAAAAA="},
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "-1"},
        {"limit": "1_0"},
        {"updatedsince": "2026-12-01T09:00:00Z"},
        {"status": ["received", "in_review"]},
    ):
        response = client.get("/api/v1/submissions", query_string=query, headers=bearer(token))
        assert response.status_code == 400, query
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["detail"]


def test_a_submission_shows_its_answers_documents_and_timeline(
    child_allowance, filed, issue_client, client
):
    token = issue_client(departments=["insurance_pension"])
    response = client.get(f"/api/v1/submissions/{filed.nhi}", headers=bearer(token))
    assert response.status_code == 200
    detail = response.get_json()
    assert detail["reference"] == filed.nhi
    assert detail["life_event"] == "bereavement"
    assert detail["procedure_version"] >= 1
    assert detail["answers"]["deceased_nhi_number"]
    assert "applicant_name" in detail["answers"]
    assert detail["withheld_fields"] == []
    assert detail["documents"] == [
        {
            "index": 0,
            "id": "deceased_nhi_certificate",
            "delivery": "counter",
            "content_type": None,
            "size": None,
            "name": None,
            "has_file": False,
        }
    ]
    assert detail["timeline"] == []
    unexpected = client.get(f"/api/v1/submissions/{filed.nhi}?fields=all", headers=bearer(token))
    assert unexpected.status_code == 400
    assert "fields" in unexpected.get_json()["detail"]


def test_my_numbers_are_withheld_without_the_scope(child_allowance, issue_client, client):
    token = issue_client(departments=["child_support"], scopes=["submissions:read"])
    response = client.get(f"/api/v1/submissions/{child_allowance}", headers=bearer(token))
    detail = response.get_json()
    assert "claimant_my_number" not in detail["answers"]
    assert MY_NUMBER not in response.get_data(as_text=True)
    assert detail["withheld_fields"] == ["claimant_my_number"]
    assert detail["answers"]["claimant_income"] == 3_200_000


def test_my_numbers_are_given_with_the_scope(child_allowance, issue_client, client):
    token = issue_client(departments=["child_support"], scopes=EVERY_SCOPE)
    detail = client.get(f"/api/v1/submissions/{child_allowance}", headers=bearer(token)).get_json()
    assert detail["answers"]["claimant_my_number"] == MY_NUMBER
    assert detail["withheld_fields"] == []


def _label(text: str) -> TextPair:
    return TextPair(ja=text, en=text)


def test_a_my_number_inside_a_group_is_withheld_from_every_item():
    children = GroupField(
        type="group",
        label=_label("子"),
        repeatable=True,
        fields={
            "name": TextField(type="text", label=_label("氏名")),
            "my_number": MyNumberField(type="my_number", label=_label("個人番号")),
        },
    )
    stored = {
        "children": [{"name": "花子", "my_number": MY_NUMBER}, {"name": "太郎"}],
        "retired_field": "kept out",
    }
    specs = {"children": children}
    answers, withheld = visible_answers(stored, specs, my_number=False)
    assert answers == {"children": [{"name": "花子"}, {"name": "太郎"}]}
    assert withheld == ["children.my_number", "retired_field"]
    answers, withheld = visible_answers(stored, specs, my_number=True)
    assert answers["children"][0]["my_number"] == MY_NUMBER
    assert withheld == ["retired_field"]


def test_an_uploaded_document_downloads_and_the_others_do_not(
    child_allowance, issue_client, client
):
    token = issue_client(departments=["child_support"], scopes=["submissions:read"])
    base = f"/api/v1/submissions/{child_allowance}/documents"
    detail = client.get(f"/api/v1/submissions/{child_allowance}", headers=bearer(token)).get_json()
    assert [(d["index"], d["has_file"]) for d in detail["documents"]] == [(0, True), (1, False)]
    assert detail["documents"][0]["name"] == "所得証明書.pdf"
    response = client.get(f"{base}/0", headers=bearer(token))
    assert response.status_code == 200
    assert response.data == TINY_PDF
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment")
    for index in ("1", "2", "-1", "x"):
        missing = client.get(f"{base}/{index}", headers=bearer(token))
        assert missing.status_code == 404
        assert missing.mimetype == "application/problem+json"


def test_a_cursor_past_the_last_possible_id_is_the_end_of_the_list(filed, issue_client, client):
    from portal.api.services import encode_cursor

    token = issue_client()
    response = client.get(
        "/api/v1/submissions",
        query_string={"cursor": encode_cursor(2**40)},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    assert response.get_json()["items"] == []
