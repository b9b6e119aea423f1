"""The case page over HTTP: what the right clerk sees, what everyone else cannot reach."""

from __future__ import annotations

import html
import io
import re

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.backoffice.models import Application, StatusChange
from portal.documents.storage import file_storage
from portal.extensions import db
from portal.resident.models import RegisterReport
from tests.backoffice.conftest import LTC, NHI
from tests.backoffice.test_cases import MOVED_AWAY, file_with_correction, submission
from tests.conftest import csrf_token
from tests.resident.conftest import TINY_PDF, token

CASE_MODULE = "portal.backoffice.case_views"


def case_url(reference: str, action: str = "") -> str:
    return f"/backoffice/cases/{reference}{action}"


def post(client, url: str, **data):
    return client.post(url, data={"csrf_token": csrf_token(client), **data})


@pytest.fixture
def clerk_client(client):
    """The test client, reading the back office in English (stable, untranslated msgids)."""
    client.set_cookie("madoguchi_lang", "en")
    return client


def _audit_actions(app) -> list[str]:
    with app.app_context():
        return db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()


def test_the_departments_clerk_sees_the_changed_value_with_old_new_and_reason(
    signed_in_as, staff, app, clerk_client
):
    reference = file_with_correction(signed_in_as, clerk_client)
    with app.app_context():
        application = db.session.scalars(select(Application)).one()
        register_line = application.register["corrections"]["applicant_address"]["register_value"][
            "line"
        ]
        case = next(s for s in application.submissions if s.department_id == NHI)
    staff.act_as(staff.nhi)
    page = clerk_client.get(case_url(case.reference))
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    row = re.search(r'<tr id="correction-applicant_address">(.*?)</tr>', text, re.S).group(1)
    assert re.search(rf"<del>[^<]*{re.escape(register_line)}[^<]*</del>", row)
    assert re.search(r"<ins>[^<]*9-9-9[^<]*</ins>", row)
    assert MOVED_AWAY in row
    answer = re.search(r'id="answer-applicant_address">(.*?)</div>', text, re.S).group(1)
    assert re.search(r'<mark class="answer-value">[^<]*9-9-9', answer)
    assert "From the resident register" in text  # source badges, in the clerk's language
    assert "Not checked against the register" not in text
    assert reference in text
    with app.app_context():
        viewed = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "submission.viewed")
        ).one()
        assert (viewed.actor, viewed.subject_id) == (f"user:{staff.nhi}", case.reference)
    assert "Opened the case" in clerk_client.get(case_url(case.reference)).get_data(as_text=True)


def _case_with_every_file(app, client, staff, reference: str) -> dict[str, int]:
    """Give the first submission a reply with a file, an uploaded document and a decision."""
    staff.act_as(staff.nhi)
    assert post(client, case_url(reference, "/start")).status_code == 303
    assert (
        post(client, case_url(reference, "/request"), body="資格確認書の写しを添付してください。")
    ).status_code == 303
    staff.act_as(None)
    application_page = f"/applications/{reference.rsplit('-', 1)[0]}"
    page = client.get(application_page).get_data(as_text=True)
    answered = client.post(
        f"{application_page}/1/answer",
        data={
            "csrf_token": token(page),
            "body": "添付します。",
            "file": (io.BytesIO(TINY_PDF), "写し.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert answered.status_code == 303
    staff.act_as(staff.nhi)
    decided = post(client, case_url(reference, "/decision"), decision="rejected", reason="要件外")
    assert decided.status_code == 303
    with app.app_context():
        case = submission(reference)
        key = file_storage().put("uploads", TINY_PDF, "application/pdf")
        case.documents = [
            {
                "id": "deceased_nhi_certificate",
                "delivery": "upload",
                "key": key,
                "content_type": "application/pdf",
                "size": len(TINY_PDF),
                "name": "証明書.pdf",
            }
        ]
        report = RegisterReport(
            user_id=case.application.applicant_id,
            person_key="demo-0024",
            source="nhi",
            field_id="deceased_nhi_number",
            department_id=NHI,
            message="違います",
            status="open",
            created_at=case.received_at,
        )
        db.session.add(report)
        db.session.commit()
        assert case.decision_key, "the decision notice was rendered after the commit"
        reply = next(m for m in case.messages if m.kind == "reply")
        return {"reference": reference, "message_id": reply.id, "index": 0, "report_id": report.id}


def _case_routes(app, values):
    """Every route of the case module, and every other back-office route about one
    submission (claim, release, reassign), as (endpoint, method, url)."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("backoffice."):
            continue
        module = app.view_functions[rule.endpoint].__module__
        if module != CASE_MODULE and "reference" not in rule.arguments:
            continue
        url = app.url_for(rule.endpoint, **{name: values[name] for name in rule.arguments})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((rule.endpoint, method, url))
    return routes


def test_every_case_route_is_404_for_another_department_and_403_for_a_resident(
    filed, staff, app, clerk_client
):
    values = _case_with_every_file(app, clerk_client, staff, f"{filed}-1")
    with app.test_request_context():
        routes = _case_routes(app, values)
    endpoints = {endpoint for endpoint, _method, _url in routes}
    assert len(endpoints) >= 17, endpoints
    assert {"backoffice.claim_case", "backoffice.release_case"} <= endpoints
    staff.act_as(staff.nhi)
    for endpoint, method, url in routes:
        if method == "GET":
            assert clerk_client.get(url).status_code == 200, (endpoint, "own department")
    before = _audit_actions(app)

    for who, expected in ((staff.ltc, 404), (None, 403)):
        staff.act_as(who)
        for endpoint, method, url in routes:
            if endpoint == "backoffice.list_register_reports" and who is not None:
                page = clerk_client.get(url)
                assert page.status_code == 200 and "違います" not in page.get_data(as_text=True)
                continue
            response = (
                clerk_client.get(url)
                if method == "GET"
                else post(clerk_client, url, body="x", decision="approved", reason="x", comment="x")
            )
            assert response.status_code == expected, (endpoint, method, who)
    assert _audit_actions(app) == before, "nothing was done or seen"
    with app.app_context():
        assert db.session.scalars(select(RegisterReport.status)).all() == ["open"]


def test_a_request_stops_the_clock_and_the_applicant_sees_it(filed, staff, app, clerk_client):
    reference = f"{filed}-1"
    staff.act_as(staff.nhi)
    assert post(clerk_client, case_url(reference, "/start")).status_code == 303
    form = clerk_client.get(case_url(reference, "/request?template=clarify"))
    assert "申請内容について確認させてください。" in form.get_data(as_text=True)
    empty = post(clerk_client, case_url(reference, "/request"), body="  ")
    assert empty.status_code == 400
    assert "Write what you need from the applicant." in empty.get_data(as_text=True)
    sent = post(clerk_client, case_url(reference, "/request"), body="葬儀の日付を教えてください。")
    assert sent.status_code == 303
    with app.app_context():
        case = submission(reference)
        assert case.status == "awaiting_applicant" and case.paused_since is not None
    staff.act_as(None)
    page = clerk_client.get(f"/applications/{filed}").get_data(as_text=True)
    assert "葬儀の日付を教えてください。" in page
    assert "Waiting for your answer" in page  # the resident's status, in their language


def test_internal_notes_never_reach_the_residents_pages(filed, staff, clerk_client):
    reference = f"{filed}-1"
    staff.act_as(staff.nhi)
    assert (
        post(
            clerk_client, case_url(reference, "/notes"), body="内部メモ：電話で確認済み"
        ).status_code
        == 303
    )
    assert (
        post(
            clerk_client, case_url(reference, "/messages"), body="書類を受け取りました。"
        ).status_code
        == 303
    )
    case_page = clerk_client.get(case_url(reference)).get_data(as_text=True)
    assert "内部メモ：電話で確認済み" in case_page and "Internal note" in case_page
    staff.act_as(None)
    for page in (f"/applications/{filed}", "/dashboard"):
        text = clerk_client.get(page).get_data(as_text=True)
        assert "内部メモ" not in text
    assert "書類を受け取りました。" in clerk_client.get(f"/applications/{filed}").get_data(
        as_text=True
    )


def test_an_illegal_move_is_refused_politely_and_changes_nothing(filed, staff, app, clerk_client):
    reference = f"{filed}-1"
    staff.act_as(staff.nhi)
    before = _audit_actions(app)
    refused = post(clerk_client, case_url(reference, "/decision"), decision="approved", reason="可")
    assert refused.status_code == 409
    text = html.unescape(refused.get_data(as_text=True))
    assert "cannot be moved from “Received” to “Approved”. Nothing was changed" in text
    assert 'href="#actions"' in text
    with app.app_context():
        assert submission(reference).status == "received"
        assert db.session.scalar(select(func.count()).select_from(StatusChange)) == 0
    assert _audit_actions(app) == before
    assert post(clerk_client, case_url(reference, "/start")).status_code == 303
    assert post(clerk_client, case_url(reference, "/start")).status_code == 409
    empty = post(clerk_client, case_url(reference, "/notes"), body=" ")
    assert empty.status_code == 400
    assert 'aria-invalid="true"' in empty.get_data(as_text=True)
    no_reason = post(clerk_client, case_url(reference, "/decision"), decision="rejected")
    assert no_reason.status_code == 400
    assert "Give the reason for the decision." in no_reason.get_data(as_text=True)
    with app.app_context():
        assert submission(reference).status == "in_review"


def test_four_eyes_a_second_clerk_confirms_over_http(filed, staff, app, clerk_client):
    reference = f"{filed}-1"
    with app.app_context():
        submission(reference).four_eyes = True
        db.session.commit()
    staff.act_as(staff.nhi)
    post(clerk_client, case_url(reference, "/start"))
    proposed = post(
        clerk_client,
        case_url(reference, "/decision"),
        decision="approved",
        reason="要件を満たします。",
    )
    assert proposed.status_code == 303
    own = clerk_client.get(case_url(reference)).get_data(as_text=True)
    assert "Decision waiting for confirmation" in own and "Confirm the decision" not in own
    refused = post(clerk_client, case_url(reference, "/decision/confirm"))
    assert refused.status_code == 400
    assert "another clerk of the department must confirm it" in refused.get_data(as_text=True)
    with app.app_context():
        assert submission(reference).status == "in_review"
    staff.act_as(staff.nhi_second)
    assert "Confirm the decision" in clerk_client.get(case_url(reference)).get_data(as_text=True)
    assert post(clerk_client, case_url(reference, "/decision/confirm")).status_code == 303
    with app.app_context():
        case = submission(reference)
        assert case.status == "approved" and case.decision_key
    trail = clerk_client.get(case_url(reference)).get_data(as_text=True)
    assert "Proposed the decision “Approved”" in html.unescape(trail)
    assert "confirming a proposed decision" in trail


def test_checking_the_register_again_shows_what_differs_and_is_audited(
    signed_in_as, staff, app, clerk_client
):
    file_with_correction(signed_in_as, clerk_client)
    with app.app_context():
        reference = next(
            s.reference
            for s in db.session.scalars(select(Application)).one().submissions
            if s.department_id == NHI
        )
    staff.act_as(staff.nhi)
    page = post(clerk_client, case_url(reference, "/register-check"))
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "differs from the register now" in text or "differ from the register now" in text
    assert re.search(r"<mark>[^<]*</mark>", text)
    with app.app_context():
        read = db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "register.read")
            .order_by(AuditEntry.id.desc())
        ).first()
        assert read.details["ground"] == "case_check"
        assert read.details["submission"] == reference
        checked = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "submission.register_rechecked")
        ).one()
        assert "applicant_address" in checked.details["differences"]


def test_register_reports_are_listed_for_the_department_and_closed_with_an_audit(
    filed, staff, app, clerk_client
):
    with app.app_context():
        applicant = submission(f"{filed}-1").application.applicant_id
        for department, message in ((NHI, "保険証の番号が違います"), (LTC, "介護の等級が違います")):
            db.session.add(
                RegisterReport(
                    user_id=applicant,
                    person_key="demo-0024",
                    source="nhi",
                    field_id="deceased_nhi_number",
                    department_id=department,
                    message=message,
                    status="open",
                    created_at=submission(f"{filed}-1").received_at,
                )
            )
        db.session.commit()
        report_id = db.session.scalars(
            select(RegisterReport.id).where(RegisterReport.department_id == NHI)
        ).one()
    staff.act_as(staff.nhi)
    listing = clerk_client.get("/backoffice/register-reports").get_data(as_text=True)
    assert "保険証の番号が違います" in listing and "介護の等級が違います" not in listing
    closed = post(clerk_client, f"/backoffice/register-reports/{report_id}/close")
    assert closed.status_code == 303
    listing = clerk_client.get("/backoffice/register-reports").get_data(as_text=True)
    assert "保険証の番号が違います" not in listing and "The report was closed." in listing
    assert "register_report.closed" in _audit_actions(app)
