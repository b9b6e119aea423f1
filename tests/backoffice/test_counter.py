"""Counter-assisted filing: a clerk checks a resident's identity and files for them through
the resident's own pages; the application, the audit trail and the printed forms say so."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.backoffice import counter
from portal.backoffice.models import Application, CounterSession
from portal.extensions import db
from portal.identity.models import User
from tests.conftest import csrf_token
from tests.documents.pdf_text import extract_text
from tests.resident.conftest import token
from tests.resident.test_journey import _walk_form, answer_questions
from tests.resident.test_submit import CHOSEN, QUESTIONS

RESIDENT = "demo-0024"  # 中村 健太, born 12 March 1988, whose father died
# The family has not registered the death yet: the death registration is done at the
# counter, and its form is printed pre-filled.
COUNTER_QUESTIONS = {**QUESTIONS, "death_registered": "no"}
SEEN = {
    "document_type": "drivers_licence",
    "document_last_characters": "5678",
    "name_as_seen": "中村　健太",
    "birth_date_as_seen": "1988-03-12",
    "person_key": RESIDENT,
}


def _post(client, url: str, **data):
    return client.post(url, data={"csrf_token": csrf_token(client, "/backoffice/counter"), **data})


def _start_session(client) -> str:
    """Check the resident's identity and confirm the register match; return the session id."""
    checked = _post(client, "/backoffice/counter", **SEEN)
    assert checked.status_code == 303, checked.get_data(as_text=True)[:3000]
    confirm = checked.headers["Location"]
    page = client.get(confirm).get_data(as_text=True)
    assert "中村 健太" in page
    started = client.post(confirm, data={"csrf_token": token(page)})
    assert started.headers["Location"] == "/backoffice/counter/session"
    return confirm.split("/")[3]


def _through_the_resident_pages(client) -> str:
    """Walk the same resident pages as online, with the resident's consent; return the check."""
    page = client.get("/life-events/bereavement").get_data(as_text=True)
    assert "assisted_session" not in page and "/backoffice/counter/session/end" in page
    started = client.post("/life-events/bereavement/start", data={"csrf_token": token(page)})
    assert started.status_code == 303
    listing = answer_questions(client, started.headers["Location"], COUNTER_QUESTIONS)
    html = client.get(listing).get_data(as_text=True)
    location = client.post(listing, data={"csrf_token": token(html), "procedures": CHOSEN}).headers[
        "Location"
    ]
    for _ in range(5):
        page = client.get(location).get_data(as_text=True)
        if location.endswith("/records"):
            sources = re.findall(r'name="sources" value="([^"]+)"', page)
            data = {"csrf_token": token(page), "action": "fetch", "sources": sources}
        elif location.endswith("/filing-for"):
            data = {"csrf_token": token(page), "filing_for": "self"}
        elif location.endswith("/records/person"):
            father = re.search(r'name="person" value="(demo-[0-9]+)">\s*<label[^>]*>中村 勝', page)
            data = {"csrf_token": token(page), "person": father.group(1)}
        else:
            break
        location = client.post(location, data=data).headers["Location"]
    check, _pages = _walk_form(client, location)
    return check


def _file_at_counter(client, staff) -> tuple[str, str]:
    """A clerk files for the resident at the counter; return the session id and the reference."""
    staff.act_as(staff.nhi)
    session_id = _start_session(client)
    check = _through_the_resident_pages(client)
    html = client.get(check).get_data(as_text=True)
    submitted = client.post(
        check.replace("/check", "/submit"), data={"csrf_token": token(html), "declaration": "yes"}
    )
    assert submitted.status_code == 303, submitted.get_data(as_text=True)[:3000]
    assert submitted.headers["Location"] == "/backoffice/counter/session"
    page = client.get("/backoffice/counter/session").get_data(as_text=True)
    reference = re.search(r"MD-\d{4}-\d{6}", page).group(0)
    return session_id, reference


def _audit(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        return db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        ).all()


def test_an_assisted_filing_is_the_residents_and_is_audited_as_assisted(staff, app, client):
    session_id, reference = _file_at_counter(client, staff)
    clerk = f"user:{staff.nhi}"
    with app.app_context():
        application = db.session.scalars(select(Application)).one()
        assert application.reference == reference
        assert application.assisted is True
        assert application.assisted_by == staff.nhi
        check = application.identity_check
        assert check["document_type"] == "drivers_licence"
        assert check["document_last_characters"] == "5678"
        assert check["person_key"] == RESIDENT and check["checked_by"] == clerk
        assert check["birth_date_as_seen"] == "1988-03-12"
        applicant = db.session.get(User, application.applicant_id)
        assert applicant.role == "resident" and applicant.person_key == RESIDENT
        assert applicant.issuer == counter.COUNTER_ISSUER
        assert application.applicant_name == "中村 健太"
        assert application.checked_against_register is True

    # Every step, with the clerk as the actor.
    (identity,) = _audit(app, "counter.identity_checked")
    assert identity.actor == clerk and identity.subject_id == RESIDENT
    assert identity.details["document_type"] == "drivers_licence"
    assert [entry.actor for entry in _audit(app, "counter.session_started")] == [clerk]
    reads = _audit(app, "register.read")
    own_reads = [entry for entry in reads if entry.subject_id == RESIDENT]
    assert len(own_reads) == 2  # the identity check's lookup and the form's prefill
    assert {entry.details["ground"] for entry in own_reads} == {counter.IDENTITY_GROUND}
    assert {entry.actor for entry in reads} == {clerk}
    (consent,) = _audit(app, "counter.consent_recorded")
    assert consent.actor == clerk and consent.details["given"] is True
    (submitted,) = _audit(app, "application.submitted")
    assert submitted.actor == clerk
    assert submitted.details["assisted"] is True and submitted.details["assisted_by"] == clerk

    # The death registration is done at the counter: its form, pre-filled, is printed.
    page = client.get("/backoffice/counter/session").get_data(as_text=True)
    form_url = f"/backoffice/applications/{reference}/counter-forms/death_registration.pdf"
    assert form_url in page
    download = client.get(form_url)
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    text = extract_text(download.data)
    assert "中村" in text and "健太" in text and "勝" in text  # the resident and the deceased
    assert reference in text
    (printed,) = _audit(app, "counter.form_printed")
    assert printed.actor == clerk and printed.details["procedure"] == "death_registration"

    ended = client.post("/backoffice/counter/session/end", data={"csrf_token": token(page)})
    assert ended.headers["Location"] == f"/backoffice/counter/sessions/{session_id}"
    assert form_url in client.get(ended.headers["Location"]).get_data(as_text=True)
    (end,) = _audit(app, "counter.session_ended")
    assert end.actor == clerk and end.details["applications"] == [reference]


def test_the_residents_online_dashboard_shows_what_was_filed_at_the_counter(
    staff, signed_in_as, app, client
):
    _session_id, reference = _file_at_counter(client, staff)
    staff.act_as(None)
    signed_in_as(RESIDENT)  # signs in online later: a user of their own, the same person
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert reference in dashboard
    assert client.get(f"/applications/{reference}").status_code == 200
    signed_in_as("demo-0018")
    assert reference not in client.get("/dashboard").get_data(as_text=True)
    assert client.get(f"/applications/{reference}").status_code == 404


def test_the_case_view_offers_the_counter_form_to_the_departments_clerk(staff, app, client):
    _session_id, reference = _file_at_counter(client, staff)
    client.post("/backoffice/counter/session/end", data={"csrf_token": csrf_token(client)})
    with app.app_context():
        application = db.session.scalars(select(Application)).one()
        ltc_case = next(
            s.reference for s in application.submissions if s.department_id != "insurance_pension"
        )
    staff.act_as(staff.ltc)
    form_url = f"/backoffice/applications/{reference}/counter-forms/death_registration.pdf"
    assert form_url in client.get(f"/backoffice/cases/{ltc_case}").get_data(as_text=True)
    assert client.get(form_url).status_code == 200
    other = staff.make("市民 四郎", ["citizens"])  # no submission of this application
    staff.act_as(other)
    assert client.get(form_url).status_code == 404


def test_a_clerk_without_an_assisted_session_cannot_open_resident_drafts(
    staff, signed_in_as, app, client
):
    signed_in_as(RESIDENT)
    page = client.get("/life-events/bereavement").get_data(as_text=True)
    draft = client.post("/life-events/bereavement/start", data={"csrf_token": token(page)}).headers[
        "Location"
    ]
    assert client.get(draft).status_code == 200
    staff.act_as(staff.nhi)
    assert client.get(draft).status_code == 403
    assert (
        client.post("/life-events/bereavement/start", data={"csrf_token": token(page)}).status_code
        == 403
    )
    # In a session, only the session's own drafts; after it ends, none.
    _start_session(client)
    assert client.get(draft).status_code == 404
    assisted = client.post(
        "/life-events/bereavement/start", data={"csrf_token": token(page)}
    ).headers["Location"]
    assert client.get(assisted).status_code == 200
    client.post("/backoffice/counter/session/end", data={"csrf_token": token(page)})
    assert client.get(assisted).status_code == 403


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/backoffice/counter"),
        ("post", "/backoffice/counter"),
        ("get", "/backoffice/counter/session"),
        ("post", "/backoffice/counter/session/end"),
        ("get", "/backoffice/applications/MD-2026-000001/counter-forms/death_registration.pdf"),
    ],
)
def test_residents_cannot_reach_the_counter(signed_in_as, client, method, path):
    token_value = csrf_token(client)
    anonymous = getattr(client, method)(path, data={"csrf_token": token_value})
    assert anonymous.status_code == 303 and "/staff/sign-in" in anonymous.headers["Location"]
    signed_in_as(RESIDENT)
    assert getattr(client, method)(path, data={"csrf_token": token_value}).status_code == 403


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"document_last_characters": "AB12345678"}, "document-last-characters"),
        (
            {"document_type": "my_number_card", "document_last_characters": "9018"},
            "document-last-characters",
        ),
        ({"document_type": "other", "document_description": ""}, "document-description"),
        (
            {"document_type": "other", "document_description": "保険証 123456789012"},
            "document-description",
        ),
        ({"birth_date_as_seen": "1988-02-30"}, "birth-date-as-seen"),
    ],
)
def test_the_identity_check_keeps_no_document_number_beyond_its_last_characters(
    staff, app, client, changes, field
):
    staff.act_as(staff.nhi)
    response = _post(client, "/backoffice/counter", **{**SEEN, **changes})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page
    assert "AB12345678" not in page and "123456789012" not in page
    with app.app_context():
        assert db.session.scalars(select(CounterSession)).all() == []
    assert _audit(app, "register.read") == []  # nothing was looked up


def test_a_resident_who_is_not_the_one_on_the_document_is_refused_but_the_read_is_audited(
    staff, app, client
):
    staff.act_as(staff.nhi)
    response = _post(client, "/backoffice/counter", **{**SEEN, "name_as_seen": "中村 里奈"})
    assert response.status_code == 400
    assert 'id="person-key-error"' in response.get_data(as_text=True)
    (read,) = _audit(app, "register.read")
    assert read.actor == f"user:{staff.nhi}" and read.subject_id == RESIDENT
    assert read.details["ground"] == counter.IDENTITY_GROUND
    with app.app_context():
        assert db.session.scalars(select(CounterSession)).all() == []
    assert client.get("/backoffice/counter/session").status_code == 303


def test_another_clerk_cannot_confirm_or_use_someone_elses_check(staff, app, client):
    staff.act_as(staff.nhi)
    checked = _post(client, "/backoffice/counter", **SEEN)
    confirm = checked.headers["Location"]
    staff.act_as(staff.ltc)
    assert client.get(confirm).status_code == 404
    assert client.post(confirm, data={"csrf_token": csrf_token(client)}).status_code == 404
    assert _audit(app, "counter.identity_checked") == []


@settings(max_examples=50, deadline=None)
@given(number=st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=5, max_size=20))
def test_a_document_number_longer_than_its_last_four_characters_is_never_accepted(number):
    with pytest.raises(counter.IdentityRefused) as refused:
        counter.parse_identity_check({**SEEN, "document_last_characters": number})
    assert refused.value.problems == {"document_last_characters": "too_long"}
    kept = counter.parse_identity_check({**SEEN, "document_last_characters": number[-4:]})
    assert kept.as_record()["document_last_characters"] == number[-4:]
