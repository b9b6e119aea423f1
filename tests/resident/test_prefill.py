"""Once only: consent per register, prefill with provenance, locked values, corrections."""

from __future__ import annotations

import re

from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.resident.models import Draft
from tests.resident.conftest import as_myself, fill_page, token
from tests.resident.test_journey import answer_questions, start

BEREAVEMENT = {
    "deceased_was_resident": "yes",
    "death_registered": "yes",
    "deceased_birth_date": "1966-06-01",
    "death_date": "2026-11-22",
    "deceased_had_nhi": "yes",
    "deceased_was_household_head": "no",
    "deceased_had_medical_costs": "no",
    "deceased_received_pension": "no",
    "deceased_had_disability_certificate": "no",
    "deceased_owned_property": "no",
}


def _to_consent(client):
    listing = answer_questions(client, start(client), BEREAVEMENT)
    html = client.get(listing).get_data(as_text=True)
    offered = re.findall(r'name="procedures" value="([^"]+)"', html)
    assert "nhi_loss_on_death" in offered
    response = client.post(
        listing, data={"csrf_token": token(html), "procedures": ["nhi_loss_on_death"]}
    )
    return response.headers["Location"]


def test_signed_in_resident_is_asked_before_anything_is_read(signed_in_as, app, client):
    signed_in_as("demo-0024")
    consent = _to_consent(client)
    assert consent.endswith("/records")
    html = client.get(consent).get_data(as_text=True)
    assert "住民基本台帳" in html and "国民健康保険の記録" in html
    assert re.findall(r'name="sources" value="[^"]+"', html), "the registers are offered"
    assert not re.search(r'name="sources"[^>]*\bchecked', html), "nothing is ticked for them"
    with app.app_context():
        assert not db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "register.read")
        ).all()


def test_declining_means_typing_everything_and_is_recorded(signed_in_as, app, client):
    signed_in_as("demo-0024")
    consent = _to_consent(client)
    html = client.get(consent).get_data(as_text=True)
    response = client.post(consent, data={"csrf_token": token(html), "action": "decline"})
    response = as_myself(client, response)
    first = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="applicant_name.family" value=""' in first
    assert "から（" not in first  # no source badge
    with app.app_context():
        draft = db.session.scalars(select(Draft)).one()
        assert draft.register["status"] == "declined"
        assert not db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "register.read")
        ).all()


def _consent_all(client, consent):
    html = client.get(consent).get_data(as_text=True)
    sources = re.findall(r'name="sources" value="([^"]+)"', html)
    return as_myself(
        client,
        client.post(
            consent, data={"csrf_token": token(html), "action": "fetch", "sources": sources}
        ),
    )


def test_prefill_for_a_deceased_parent_with_badges_locks_and_corrections(signed_in_as, app, client):
    signed_in_as("demo-0024")
    consent = _to_consent(client)
    response = _consent_all(client, consent)
    person_page = response.headers["Location"]
    assert person_page.endswith("/records/person")
    html = client.get(person_page).get_data(as_text=True)
    people = dict(
        (label.strip(), key)
        for key, label in re.findall(
            r'name="person" value="(demo-[0-9]+)">\s*<label[^>]*>([^<]+)', html
        )
    )
    father = next(key for label, key in people.items() if label.startswith("中村 勝"))
    response = client.post(person_page, data={"csrf_token": token(html), "person": father})
    first = response.headers["Location"]
    page = client.get(first).get_data(as_text=True)
    # The applicant's name is locked and shown with its source; no input to tamper with.
    assert "住民基本台帳から（" in page
    assert 'name="applicant_name.family"' not in page
    assert "中村" in page

    # A tampered post cannot change a locked value.
    data = fill_page(page, {"applicant_name.family": "偽名", "applicant_name.given": "太郎"})
    response = client.post(first, data=data)
    assert response.status_code == 303
    draft_id = first.split("/")[2]
    with app.app_context():
        draft = db.session.get(Draft, draft_id)
        assert draft.answers["applicant_name"]["family"] == "中村"
        reads = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "register.read")
        ).all()
        assert {entry.subject_id for entry in reads} == {"demo-0024", father}
        about_father = next(entry for entry in reads if entry.subject_id == father)
        assert about_father.details["ground"].startswith("related:")
        assert about_father.details["on_behalf_of"] == "demo-0024"


def test_changing_a_correctable_value_needs_a_reason_and_is_kept_for_the_clerk(
    signed_in_as, app, client
):
    signed_in_as("demo-0018")  # a widow filing about her husband, same household
    consent = _to_consent(client)
    response = _consent_all(client, consent)
    location = response.headers["Location"]
    if location.endswith("/records/person"):
        html = client.get(location).get_data(as_text=True)
        husband = re.search(r'name="person" value="(demo-0017)"', html).group(1)
        location = client.post(
            location, data={"csrf_token": token(html), "person": husband}
        ).headers["Location"]
    page = client.get(location).get_data(as_text=True)
    assert 'name="reason:applicant_address"' in page
    data = fill_page(page, {"applicant_address.line": "9-9-9", "reason:applicant_address": ""})
    data.pop("reason:applicant_address")
    refused = client.post(location, data=data)
    assert refused.status_code == 400
    assert "市の記録と違う内容にした理由を入力してください。" in refused.get_data(as_text=True)
    assert 'value="9-9-9"' in refused.get_data(as_text=True)
    data["reason:applicant_address"] = "先月引越しました"
    accepted = client.post(location, data=data)
    assert accepted.status_code == 303
    with app.app_context():
        draft = db.session.scalars(select(Draft)).one()
        correction = draft.register["corrections"]["applicant_address"]
        assert correction["reason"] == "先月引越しました"
        assert correction["new_value"]["line"] == "9-9-9"
        assert correction["register_value"]["line"] != "9-9-9"


def test_signed_out_residents_go_straight_to_the_form(procedures_loaded, client):
    listing = answer_questions(client, start(client), BEREAVEMENT)
    html = client.get(listing).get_data(as_text=True)
    response = client.post(
        listing, data={"csrf_token": token(html), "procedures": ["nhi_loss_on_death"]}
    )
    assert response.headers["Location"].endswith("/filing-for")
    assert "/form/" in as_myself(client, response).headers["Location"]


def test_a_register_that_is_down_means_manual_entry_with_a_plain_notice(
    signed_in_as, app, client, monkeypatch
):
    from portal.records.extract import RegisterUnavailable
    from portal.records.sources import DemoRecordSource

    def down(self, person_key, sources):
        raise RegisterUnavailable(",".join(sorted(sources)), "timeout")

    monkeypatch.setattr(DemoRecordSource, "fetch", down)
    signed_in_as("demo-0024")
    consent = _to_consent(client)
    first = _consent_all(client, consent).headers["Location"]
    page = client.get(first).get_data(as_text=True)
    assert "市の記録を読み込めませんでした" in page
    assert 'name="applicant_name.family" value=""' in page
    with app.app_context():
        draft = db.session.scalars(select(Draft)).one()
        assert draft.register["status"] == "unavailable"


def test_a_procedure_the_register_says_you_may_not_file_is_named_and_refused(
    signed_in_as, app, client
):
    from tests.resident.test_journey import _walk_form

    signed_in_as("demo-0024")  # the son of the deceased, living in another household
    answers = {
        **BEREAVEMENT,
        "deceased_was_household_head": "yes",
        "household_remains_two_or_more": "yes",
    }
    listing = answer_questions(client, start(client), answers)
    html = client.get(listing).get_data(as_text=True)
    chosen = ["household_head_change", "nhi_loss_on_death"]
    consent = client.post(listing, data={"csrf_token": token(html), "procedures": chosen}).headers[
        "Location"
    ]
    person_page = _consent_all(client, consent).headers["Location"]
    html = client.get(person_page).get_data(as_text=True)
    father = re.search(r'name="person" value="(demo-[0-9]+)">\s*<label[^>]*>中村 勝', html).group(1)
    first = client.post(person_page, data={"csrf_token": token(html), "person": father})
    check, _pages = _walk_form(client, first.headers["Location"])
    page = client.get(check).get_data(as_text=True)
    assert "ご自身では申請できない手続" in page
    assert "世帯主変更届" in page.split("ご自身では申請できない手続")[1].split("</ul>")[0]
    response = client.post(
        check.replace("/check", "/submit"), data={"csrf_token": token(page), "declaration": "yes"}
    )
    assert response.headers["Location"].endswith("/check")
    with app.app_context():
        from portal.backoffice.models import Application

        assert db.session.scalars(select(Application)).all() == []


def test_a_wrong_register_value_is_reported_to_its_department(signed_in_as, app, client):
    from portal.resident.models import RegisterReport

    signed_in_as("demo-0024")
    consent = _to_consent(client)
    person_page = _consent_all(client, consent).headers["Location"]
    html = client.get(person_page).get_data(as_text=True)
    father = re.search(r'name="person" value="(demo-[0-9]+)">\s*<label[^>]*>中村 勝', html).group(1)
    first = client.post(person_page, data={"csrf_token": token(html), "person": father})
    page = client.get(first.headers["Location"]).get_data(as_text=True)
    link = re.search(r'<a href="([^"]+/report/applicant_birth_date[^"]*)"', page)
    assert link, "a report link beside the locked birth date"
    url = link.group(1).replace("&amp;", "&")
    form = client.get(url).get_data(as_text=True)
    empty = client.post(url, data={"csrf_token": token(form), "message": "  "})
    assert empty.status_code == 400
    sent = client.post(
        url, data={"csrf_token": token(form), "message": "生年月日は3月21日が正しいです"}
    )
    assert sent.status_code == 200
    assert "市民課" in sent.get_data(as_text=True)
    with app.app_context():
        report = db.session.scalars(select(RegisterReport)).one()
        assert (report.source, report.field_id, report.department_id) == (
            "resident_register",
            "applicant_birth_date",
            "citizens",
        )
        assert "register.reported_wrong" in db.session.scalars(select(AuditEntry.action)).all()
