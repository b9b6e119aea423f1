"""One submit files every chosen procedure, routed to its queue, all or nothing, once."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.backoffice.models import Application, Submission
from portal.extensions import db
from portal.jobs.models import Job
from portal.resident.models import Draft
from tests.resident.conftest import token
from tests.resident.test_journey import _walk_form, answer_questions, start
from tests.resident.test_prefill import BEREAVEMENT

CHOSEN = ["nhi_loss_on_death", "ltc_insurance_loss"]
QUESTIONS = {**BEREAVEMENT, "deceased_birth_date": "1958-06-01"}  # 68: NHI and LTC


def _to_check(client):
    listing = answer_questions(client, start(client), QUESTIONS)
    html = client.get(listing).get_data(as_text=True)
    offered = re.findall(r'name="procedures" value="([^"]+)"', html)
    assert set(CHOSEN) <= set(offered), offered
    location = client.post(listing, data={"csrf_token": token(html), "procedures": CHOSEN}).headers[
        "Location"
    ]
    if location.endswith("/records"):
        page = client.get(location).get_data(as_text=True)
        location = client.post(
            location, data={"csrf_token": token(page), "action": "decline"}
        ).headers["Location"]
    check, _pages = _walk_form(client, location)
    return check


def _submit(client, check, **extra):
    html = client.get(check).get_data(as_text=True)
    return client.post(
        check.replace("/check", "/submit"), data={"csrf_token": token(html), **extra}
    )


def test_one_submit_files_each_procedure_to_its_queue(signed_in_as, app, client):
    signed_in_as("demo-0024")
    check = _to_check(client)
    refused = _submit(client, check)
    assert refused.status_code == 400
    assert "入力した情報が正しいことを確認してください。" in refused.get_data(as_text=True)
    response = _submit(client, check, declaration="yes")
    assert response.status_code == 303
    location = response.headers["Location"]
    assert re.fullmatch(r"/applications/MD-\d{4}-000001", location)
    page = client.get(location).get_data(as_text=True)
    assert "MD-" in page and "-1" in page and "-2" in page
    with app.app_context():
        application = db.session.scalars(select(Application)).one()
        queues = {s.procedure_id: s.queue_id for s in application.submissions}
        assert queues["nhi_loss_on_death"].startswith("insurance_pension")
        assert queues["ltc_insurance_loss"].startswith("ltc_insurance")
        assert [s.reference for s in application.submissions] == [
            f"{application.reference}-1",
            f"{application.reference}-2",
        ]
        assert all(s.status == "received" and s.due_on for s in application.submissions)
        assert application.checked_against_register is False
        assert db.session.scalars(select(Draft)).all() == []
        actions = db.session.scalars(select(AuditEntry.action)).all()
        assert actions.count("submission.received") == 2
        assert "application.submitted" in actions
        # The receipt, and the email saying it arrived (in the same transaction).
        assert sorted(db.session.scalars(select(Job.kind))) == ["email.send", "receipt.render"]


def test_pressing_submit_twice_files_once(signed_in_as, app, client):
    signed_in_as("demo-0024")
    check = _to_check(client)
    html = client.get(check).get_data(as_text=True)
    submit = check.replace("/check", "/submit")
    first = client.post(submit, data={"csrf_token": token(html), "declaration": "yes"})
    second = client.post(submit, data={"csrf_token": token(html), "declaration": "yes"})
    assert first.headers["Location"] == second.headers["Location"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Application)) == 1


def test_a_failure_during_submit_leaves_nothing_half_filed(
    signed_in_as,
    app,
    client,
    monkeypatch,
):
    signed_in_as("demo-0024")
    check = _to_check(client)
    import portal.backoffice.services as filing

    calls = {"n": 0}
    original = filing.route

    def failing_route(procedure, answers, context=None):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the second procedure could not be routed")
        return original(procedure, answers, context)

    monkeypatch.setattr(filing, "route", failing_route)
    response = _submit(client, check, declaration="yes")
    assert response.status_code == 500
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Application)) == 0
        assert db.session.scalar(select(func.count()).select_from(Submission)) == 0
        assert db.session.scalar(select(func.count()).select_from(Job)) == 0
        assert len(db.session.scalars(select(Draft)).all()) == 1  # nothing entered is lost
    monkeypatch.setattr(filing, "route", original)
    assert _submit(client, check, declaration="yes").status_code == 303


def test_another_resident_cannot_see_the_application(signed_in_as, app, client):
    signed_in_as("demo-0024")
    check = _to_check(client)
    location = _submit(client, check, declaration="yes").headers["Location"]
    signed_in_as("demo-0018")
    assert client.get(location).status_code == 404


def test_signed_out_visitors_are_asked_to_sign_in_before_sending(procedures_loaded, client):
    check = _to_check(client)
    page = client.get(check).get_data(as_text=True)
    assert "/sign-in?next=" in page
    assert 'name="declaration"' not in page
    html = page
    assert (
        client.post(
            check.replace("/check", "/submit"), data={"csrf_token": token(html)}
        ).status_code
        == 403
    )


def test_the_receipt_is_made_after_the_commit_and_only_its_applicant_gets_it(
    signed_in_as,
    app,
    client,
):
    from tests.documents.pdf_text import extract_text

    signed_in_as("demo-0024")
    location = _submit(client, _to_check(client), declaration="yes").headers["Location"]
    page = client.get(location).get_data(as_text=True)
    assert "receipt.pdf" in page
    reference = location.rsplit("/", 1)[1]
    download = client.get(f"{location}/receipt.pdf")
    assert download.status_code == 200
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    text = extract_text(download.data)
    assert reference in text
    assert "国民健康保険" in text
    signed_in_as("demo-0018")
    assert client.get(f"{location}/receipt.pdf").status_code == 404
