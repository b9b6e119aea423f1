"""Filing for a living person: who acted, for whom, in what scope, with a power of attorney."""

from __future__ import annotations

import re

from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.backoffice.models import Application
from portal.extensions import db
from portal.resident import filers, representation
from portal.resident.models import Draft
from tests.resident.conftest import documents_data, token
from tests.resident.test_journey import _walk_form, answer_questions, start

# 木村 洋子 holds a power of attorney for her father 加藤 清 (demo-0027), kept in the
# register, for care insurance, medical insurance and address notices.
REPRESENTATIVE = "demo-0028"
PRINCIPAL = "demo-0027"
MOVING_OUT = {
    "move_type": "out_of_city",
    "moving_date": "2026-12-10",
    "household_in_nhi": "no",
    "anyone_65_or_over": "no",
    "has_children": "no",
    "has_dog": "no",
}


def _to_filing_for(client, consent_to_records: bool = True) -> str:
    """Choose the move-out notice and consent to every register; return the page URL."""
    listing = answer_questions(client, start(client, "moving"), MOVING_OUT)
    html = client.get(listing).get_data(as_text=True)
    location = client.post(
        listing, data={"csrf_token": token(html), "procedures": ["move_out_notice"]}
    ).headers["Location"]
    if location.endswith("/records"):
        html = client.get(location).get_data(as_text=True)
        sources = re.findall(r'name="sources" value="([^"]+)"', html)
        data = {"csrf_token": token(html), "sources": sources, "action": "fetch"}
        if not consent_to_records:
            data = {"csrf_token": token(html), "action": "decline"}
        location = client.post(location, data=data).headers["Location"]
    assert location.endswith("/filing-for")
    return location


def _choose(client, location, **data):
    html = client.get(location).get_data(as_text=True)
    return client.post(location, data={"csrf_token": token(html), **data})


def test_the_register_power_of_attorney_is_offered_and_fills_the_form_with_the_principal(
    signed_in_as, app, client
):
    signed_in_as(REPRESENTATIVE)
    location = _to_filing_for(client)
    html = client.get(location).get_data(as_text=True)
    assert "加藤 清" in html
    assert "介護保険・医療保険・住所の届出に関する手続き" in html  # the scope
    assert f'value="{PRINCIPAL}"' in html

    first = _choose(client, location, filing_for=PRINCIPAL).headers["Location"]
    page = client.get(first).get_data(as_text=True)
    assert "加藤 清さんの代理人として申請しています" in page
    assert "加藤" in page and "木村" not in page.split("<main", 1)[1]
    with app.app_context():
        reads = db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "register.read", AuditEntry.subject_id == PRINCIPAL
            )
        ).all()
        assert [entry.details["ground"] for entry in reads] == ["related:power_of_attorney"]
        assert reads[0].details["acted_by"] == REPRESENTATIVE
        assert "applicant_name" in reads[0].details["fields"]


def test_a_representative_files_with_one_power_of_attorney_for_every_procedure(
    signed_in_as, app, client
):
    signed_in_as(REPRESENTATIVE)
    first = _choose(client, _to_filing_for(client), filing_for=PRINCIPAL).headers["Location"]
    check, pages = _walk_form(client, first)
    documents = [html for location, html in pages if location.endswith("/documents")]
    assert documents and "委任状" in documents[0]
    assert "代理人として申請するすべての手続" in documents[0]
    html = client.get(check).get_data(as_text=True)
    assert "申請の相手" in html and "加藤 清" in html
    sent = client.post(
        check.replace("/check", "/submit"), data={"csrf_token": token(html), "declaration": "yes"}
    )
    assert sent.status_code == 303, sent.get_data(as_text=True)[:2000]
    with app.app_context():
        application = db.session.scalars(select(Application)).one()
        assert application.representation == {
            "kind": "power_of_attorney",
            "proven_by": "register",
            "person_key": PRINCIPAL,
            "name": "加藤 清",
            "relationship": "child",
            "scope": "介護保険・医療保険・住所の届出に関する手続き",
        }
        assert application.answers["applicant_name"]["family"] == "加藤"
        for submission in application.submissions:
            assert "power_of_attorney" in [item["id"] for item in submission.documents]
        filed = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "application.submitted")
        ).one()
        assert filed.details["on_behalf_of"] == PRINCIPAL
    page = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "加藤 清さんの代理人として申請しました" in page


def test_a_power_of_attorney_the_register_does_not_hold_is_typed_in_and_checked(
    signed_in_as, app, client
):
    signed_in_as("demo-0024")  # holds no power of attorney in the register
    location = _to_filing_for(client)
    html = client.get(location).get_data(as_text=True)
    assert re.findall(r'name="filing_for" value="([^"]+)"', html) == ["self", "other"]

    refused = _choose(client, location, filing_for="other", other_scope="住所の届出")
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "代理で申請する相手の方の氏名を入力してください。" in html
    assert 'value="住所の届出"' in html  # nothing typed is lost

    first = _choose(
        client, location, filing_for="other", other_name="山本 一郎", other_scope="住所の届出"
    ).headers["Location"]
    page = client.get(first).get_data(as_text=True)
    assert 'name="applicant_name.family" value=""' in page  # typed in, not the filer's own
    with app.app_context():
        draft = db.session.scalars(select(Draft)).one()
        assert draft.register["representation"]["proven_by"] == "declared"
        assert draft.register["provenance"] == {}


def test_changing_from_myself_to_someone_else_drops_the_values_read_about_me(
    signed_in_as, app, client
):
    signed_in_as(REPRESENTATIVE)
    location = _to_filing_for(client)
    first = _choose(client, location, filing_for="self").headers["Location"]
    assert "木村" in client.get(first).get_data(as_text=True)
    _choose(client, location, filing_for="other", other_name="山本 一郎", other_scope="住所の届出")
    with app.app_context():
        draft = db.session.scalars(select(Draft)).one()
        assert "applicant_name" not in draft.answers
        assert not any(
            origin["subject"] == "applicant" for origin in draft.register["provenance"].values()
        )


def test_nothing_chosen_is_a_polite_error(signed_in_as, client):
    signed_in_as(REPRESENTATIVE)
    response = _choose(client, _to_filing_for(client))
    assert response.status_code == 400
    assert "どなたの申請か選んでください。" in response.get_data(as_text=True)


def test_the_submit_refuses_without_the_power_of_attorney(signed_in_as, app, client):
    signed_in_as(REPRESENTATIVE)
    first = _choose(client, _to_filing_for(client), filing_for=PRINCIPAL).headers["Location"]
    check, _pages = _walk_form(client, first)
    html = client.get(check).get_data(as_text=True)
    with app.app_context():
        draft = db.session.scalars(select(Draft)).one()
        documents = dict(draft.documents)
        documents.pop(representation.DOCUMENT_KEY)
        draft.documents = documents
        db.session.commit()
    response = client.post(
        check.replace("/check", "/submit"), data={"csrf_token": token(html), "declaration": "yes"}
    )
    assert response.headers["Location"].endswith("/check")
    assert client.get(check).headers["Location"].endswith("/documents")
    with app.app_context():
        assert db.session.scalars(select(Application)).first() is None


def test_a_representative_may_file_only_what_allows_a_representative():
    register = {"representation": representation.declared("山本 一郎", "住所の届出")}
    assert filers.proven_roles(register, {}) == {"representative"}
    assert filers.proven_roles({"representation": {"kind": "self"}}, {}) is None


def test_the_documents_page_offers_the_power_of_attorney_once(signed_in_as, client):
    signed_in_as(REPRESENTATIVE)
    first = _choose(client, _to_filing_for(client), filing_for=PRINCIPAL).headers["Location"]
    _check, pages = _walk_form(client, first)
    html = next(html for location, html in pages if location.endswith("/documents"))
    data = documents_data(html)
    assert list(data).count(f"delivery:{representation.DOCUMENT_KEY}") == 1
