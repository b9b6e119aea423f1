"""The resident's journey as a browser sees it: questions, the list, one form, the review."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.resident.models import Draft
from tests.resident.conftest import documents_data, fill_page, token

QUESTIONS = {
    "deceased_was_resident": "yes",
    "death_registered": "yes",
    "deceased_birth_date": "1948-05-01",
    "death_date": "2026-11-20",
    "deceased_had_nhi": "no",
    "deceased_was_household_head": "yes",
    "household_remains_two_or_more": "yes",
    "deceased_had_medical_costs": "no",
    "deceased_received_pension": "yes",
    "deceased_had_disability_certificate": "no",
    "deceased_owned_property": "no",
}


def start(client, life_event="bereavement"):
    page = client.get(f"/life-events/{life_event}").get_data(as_text=True)
    response = client.post(f"/life-events/{life_event}/start", data={"csrf_token": token(page)})
    assert response.status_code == 303
    return response.headers["Location"]


def answer_questions(client, location, answers=QUESTIONS):
    """Walk the questionnaire with the given answers; return where it leads."""
    for _ in range(20):
        if "/questions/" not in location:
            return location
        html = client.get(location).get_data(as_text=True)
        data = {"csrf_token": token(html)}
        names = set(re.findall(r'name="([a-z0-9_]+)"', html)) & set(answers)
        if not names:
            return location
        for name in names:
            data[name] = answers[name]
        response = client.post(location, data=data)
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
        location = response.headers["Location"]
    raise AssertionError("questionnaire did not end")


def test_home_offers_the_three_life_events(procedures_loaded, client):
    html = client.get("/").get_data(as_text=True)
    for life_event in ("childcare", "moving", "bereavement"):
        assert f'href="/life-events/{life_event}"' in html


def test_unknown_life_event_is_not_found(procedures_loaded, client):
    assert client.get("/life-events/wedding").status_code == 404


def test_one_question_page_uses_the_label_as_heading(procedures_loaded, client):
    html = client.get(start(client)).get_data(as_text=True)
    legend = re.search(r'<legend class="fieldset-legend legend-heading">\s*<h1[^>]*>([^<]+)', html)
    assert legend and "住民票がありましたか" in legend.group(1)
    assert html.count("<h1") == 1
    assert "質問 1 / " in html


def test_not_resident_leads_to_an_exit_page(procedures_loaded, client):
    location = start(client)
    html = client.get(location).get_data(as_text=True)
    response = client.post(
        location, data={"csrf_token": token(html), "deceased_was_resident": "no"}
    )
    exit_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "市区町村にお問い合わせください" in exit_page
    assert client.get(location.rsplit("/questions/", 1)[0] + "/procedures").status_code == 303


def test_empty_page_shows_errors_and_keeps_what_was_typed(procedures_loaded, client):
    location = answer_questions(
        client, start(client), {"deceased_was_resident": "yes", "death_registered": "yes"}
    )
    html = client.get(location).get_data(as_text=True)
    response = client.post(
        location, data={"csrf_token": token(html), "deceased_birth_date": "令和99年13月1日"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<title>エラー：" in page
    assert 'value="令和99年13月1日"' in page
    assert "「亡くなった日」を入力してください。" in page
    for href in re.findall(r'<li><a href="#([^"]+)">', page):
        assert f'id="{href}"' in page


def test_procedure_list_shows_online_counter_and_automatic(procedures_loaded, client):
    listing = answer_questions(client, start(client), {**QUESTIONS, "death_registered": "no"})
    assert listing.endswith("/procedures")
    html = client.get(listing).get_data(as_text=True)
    assert 'name="procedures" value="household_head_change"' in html
    assert "死亡届" in html and "持ち物" in html
    # The death registration deadline is 7 days counting the day of death.
    assert "2026年11月26日" in html
    assert "手続は不要です" in html
    assert 'value="nhi_loss_on_death"' not in html  # the deceased had no NHI


def _walk_form(client, location, limit=40, overrides=None):
    """Fill every form page with valid answers (`overrides` first) until the check page."""
    seen = []
    for _ in range(limit):
        if location.endswith("/check"):
            return location, seen
        response = client.get(location)
        if response.status_code == 303:
            location = response.headers["Location"]
            continue
        html = response.get_data(as_text=True)
        seen.append((location, html))
        if location.endswith("/documents"):
            response = client.post(
                location, data=documents_data(html), content_type="multipart/form-data"
            )
            assert response.status_code == 303, response.get_data(as_text=True)[:2000]
            location = response.headers["Location"]
            continue
        add = re.search(r'id="add-item" [^>]*href="([^"]+/items/0[^"]*)"', html)
        if add and "まだ追加されていません" in html:
            item_page = client.get(add.group(1)).get_data(as_text=True)
            posted = client.post(add.group(1), data=fill_page(item_page))
            assert posted.status_code == 303, posted.get_data(as_text=True)[:3000]
            html = client.get(location).get_data(as_text=True)
        response = client.post(location, data=fill_page(html, overrides))
        assert response.status_code == 303, (
            location,
            re.findall(r'<li><a href="#[^"]+">([^<]+)', response.get_data(as_text=True)),
        )
        location = response.headers["Location"]
    raise AssertionError("form did not reach the check page")


def _choose(client, listing, procedures):
    html = client.get(listing).get_data(as_text=True)
    response = client.post(listing, data={"csrf_token": token(html), "procedures": procedures})
    assert response.status_code == 303
    return response.headers["Location"]


def test_shared_fact_is_asked_once_and_review_links_back(procedures_loaded, client):
    listing = answer_questions(client, start(client))
    first = _choose(
        client,
        listing,
        ["household_head_change", "ltc_insurance_loss", "late_elderly_loss_and_funeral_grant"],
    )
    check, pages = _walk_form(client, first)
    asked = [
        name
        for _location, html in pages
        for name in set(re.findall(r'name="(applicant_name\.family)"', html))
    ]
    assert asked == ["applicant_name.family"]
    review = client.get(check).get_data(as_text=True)
    assert "入力内容の確認" in review
    change = re.search(r'href="([^"]+/form/bereavement\.applicant\?return=check)"', review)
    assert change, "a change link for the applicant's details"
    html = client.get(change.group(1)).get_data(as_text=True)
    response = client.post(
        change.group(1), data=fill_page(html, {"applicant_phone": "03-1234-5678"})
    )
    assert response.headers["Location"].endswith("/check")
    assert "0312345678" in client.get(check).get_data(as_text=True)


def test_changed_answer_drops_hidden_answers(procedures_loaded, app, client):
    location = start(client)
    answer_questions(client, location)
    draft_id = location.split("/")[2]
    with app.app_context():
        stored = db.session.get(Draft, draft_id).answers
    assert stored["household_remains_two_or_more"] is True
    step = location.rsplit("/", 1)[0] + "/bereavement.household_head"
    html = client.get(step).get_data(as_text=True)
    client.post(step, data={"csrf_token": token(html), "deceased_was_household_head": "no"})
    with app.app_context():
        stored = db.session.get(Draft, draft_id).answers
    assert "household_remains_two_or_more" not in stored


def test_another_browser_cannot_open_the_draft(procedures_loaded, app, client):
    location = start(client)
    stranger = app.test_client()
    assert stranger.get(location).status_code == 404
    assert stranger.post(location, data={}).status_code in (400, 404)


def test_step_not_on_the_route_is_not_found(procedures_loaded, client):
    location = start(client)
    assert client.get(location.rsplit("/", 1)[0] + "/bereavement.nonexistent").status_code == 404


def test_posting_a_step_without_csrf_is_refused(procedures_loaded, client):
    location = start(client)
    response = client.post(location, data={"deceased_was_resident": "yes"})
    assert response.status_code == 400


def test_a_draft_keeps_its_versions_when_a_new_one_is_published(
    procedures_loaded, app, client, tmp_path
):
    import shutil

    from portal.catalogue.services import load_directory
    from tests.resident.conftest import PROCEDURES

    location = start(client)
    copy = tmp_path / "procedures"
    shutil.copytree(PROCEDURES, copy)
    life_event = copy / "life-events" / "bereavement.yaml"
    text = life_event.read_text(encoding="utf-8")
    life_event.write_text(
        text.replace("おくやみ（ご家族が亡くなったとき）", "おくやみ手続（改訂）", 1),
        encoding="utf-8",
    )
    with app.app_context():
        report = load_directory(db.session, copy, actor="test")
        assert not report.issues
        db.session.commit()
    old = client.get(location).get_data(as_text=True)
    assert "おくやみ（ご家族が亡くなったとき）" in old and "改訂" not in old
    new = client.get(start(client)).get_data(as_text=True)
    assert "おくやみ手続（改訂）" in new
    with app.app_context():
        drafts = db.session.scalars(select(Draft).order_by(Draft.created_at)).all()
        assert drafts[0].pins != drafts[1].pins


@pytest.mark.parametrize("life_event", ["childcare", "moving", "bereavement"])
def test_each_life_event_starts_in_both_languages(procedures_loaded, client, life_event):
    html = client.get(f"/life-events/{life_event}").get_data(as_text=True)
    assert "今すぐ始める" in html
    client.post("/language", data={"csrf_token": token(html), "language": "en", "next": "/"})
    english = client.get(f"/life-events/{life_event}").get_data(as_text=True)
    assert "Start now" in english


def test_find_address_fills_the_address_without_javascript(procedures_loaded, client):
    listing = answer_questions(client, start(client))
    first = _choose(client, listing, ["household_head_change"])
    assert first.endswith("/form/bereavement.applicant")
    html = client.get(first).get_data(as_text=True)
    response = client.post(
        first,
        data={
            "csrf_token": token(html),
            "applicant_name.family": "鈴木",
            "applicant_address.postal_code": "１００－０００１",
            "find_address": "applicant_address",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'name="applicant_address.prefecture" value="東京都"' in page
    assert 'name="applicant_address.city" value="千代田区"' in page
    assert 'name="applicant_name.family" value="鈴木"' in page  # nothing typed is lost
    assert "入力内容に問題があります" not in page


def test_unknown_postal_code_says_so_politely(procedures_loaded, client):
    listing = answer_questions(client, start(client))
    first = _choose(client, listing, ["household_head_change"])
    html = client.get(first).get_data(as_text=True)
    response = client.post(
        first,
        data={
            "csrf_token": token(html),
            "applicant_address.postal_code": "999-9999",
            "find_address": "applicant_address",
        },
    )
    assert "この郵便番号の住所が見つかりませんでした" in response.get_data(as_text=True)


MOVING = {
    "move_type": "out_of_city",
    "moving_date": "2026-12-10",
    "household_in_nhi": "no",
    "anyone_65_or_over": "no",
    "has_children": "no",
    "has_dog": "no",
}


def test_people_moving_are_added_changed_and_removed(procedures_loaded, client):
    listing = answer_questions(client, start(client, "moving"), MOVING)
    location = _choose(client, listing, ["move_out_notice"])
    for _ in range(5):
        if location.endswith("bereavement.members") or location.endswith("moving.members"):
            break
        html = client.get(location).get_data(as_text=True)
        location = client.post(location, data=fill_page(html)).headers["Location"]
    assert location.endswith("/form/moving.members")
    for family in ("一郎", "次郎"):
        item = location + f"/items/{0 if family == '一郎' else 1}"
        html = client.get(item).get_data(as_text=True)
        posted = client.post(
            item,
            data=fill_page(
                html,
                {
                    "moving_members.name.given": family,
                    "moving_members.name.given_kana": "イチロウ" if family == "一郎" else "ジロウ",
                },
            ),
        )
        assert posted.status_code == 303
    summary = client.get(location).get_data(as_text=True)
    assert "一郎" in summary and "次郎" in summary
    removed = client.post(location + "/items/0/remove", data={"csrf_token": token(summary)})
    assert removed.status_code == 303
    summary = client.get(location).get_data(as_text=True)
    assert "一郎" not in summary and "次郎" in summary
    # An item past the end (other than the next one) does not exist.
    assert client.get(location + "/items/5").status_code == 404
    response = client.post(location, data={"csrf_token": token(summary)})
    assert response.status_code == 303
    assert not response.headers["Location"].endswith("/form/moving.members")
