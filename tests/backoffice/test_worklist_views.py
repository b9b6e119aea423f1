"""The work-list pages: staff only, a clerk's own departments only, claim and reassign by
form, saved views, and a CSV export that carries no answers and runs no formulas."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import date

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.backoffice import views, worklist
from portal.backoffice.models import SavedView, Submission
from portal.catalogue.services import published_catalogue
from portal.extensions import db
from tests.conftest import csrf_token
from tests.resident.test_submit import _submit, _to_check

LIST = "/backoffice/"


@pytest.fixture(autouse=True)
def english(client):
    """Read the pages in English: the msgids, whatever the Japanese catalogue holds."""
    client.set_cookie("madoguchi_lang", "en")


def _post(client, path, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/"), **data})


def _page(client, path=LIST):
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _rows(page):
    """The references the list's table shows, in order."""
    return re.findall(r'<th scope="row"><a href="/backoffice/cases/([^"]+)">', page)


def _link(page, rel):
    match = re.search(rf'rel="{rel}" href="([^"]+)"', page)
    return html.unescape(match.group(1)) if match else None


def _submission(app, reference):
    with app.app_context():
        return db.session.scalars(select(Submission).where(Submission.reference == reference)).one()


def _actions(app, action):
    with app.app_context():
        return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()


# ------------------------------------------------------------------ who may come in

GET_PATHS = [LIST, "/backoffice/export.csv"]
POST_PATHS = [
    "/backoffice/cases/MD-2026-000001-1/claim",
    "/backoffice/cases/MD-2026-000001-1/release",
    "/backoffice/cases/MD-2026-000001-1/reassign",
    "/backoffice/reassign",
    "/backoffice/views",
    "/backoffice/views/1/delete",
]


@pytest.mark.parametrize("path", GET_PATHS + POST_PATHS)
def test_anonymous_people_are_sent_to_the_staff_sign_in(office, client, path):
    office.file()
    response = client.get(path) if path in GET_PATHS else _post(client, path)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("/staff/sign-in?next=")
    if path in GET_PATHS:
        assert location.endswith("next=" + path)


@pytest.mark.parametrize("path", GET_PATHS + POST_PATHS)
def test_residents_are_refused(office, client, path):
    office.file()
    office.add_person("resident", "resident")
    office.sign_in("resident")
    response = client.get(path) if path in GET_PATHS else _post(client, path)
    assert response.status_code == 403


# ------------------------------------------------------------------ the list page


def test_a_clerk_sees_their_departments_list_with_tabs_counts_and_an_accessible_table(
    office, client
):
    mine = office.file(status="in_review", assignee="insurance_pension")
    open_one = office.file()
    other = office.file("citizens")
    office.sign_in("insurance_pension")
    page = _page(client, LIST + "?list=all")
    assert _rows(page) == [mine, open_one]
    assert other not in page
    assert re.search(
        r'href="/backoffice/\?list=all" aria-current="page">[^<]*<span class="count">\(2\)', page
    )
    assert re.search(r'href="/backoffice/\?list=mine">[^<]*<span class="count">\(1\)', page)
    assert "<caption>" in page and '<th scope="col"' in page
    assert 'aria-sort="ascending"' in page
    for control in (
        "filter-q",
        "filter-procedure",
        "filter-status",
        "filter-assignee",
        "filter-received-from",
        "filter-received-to",
        "filter-overdue",
        "view-name",
        "reassign-assignee",
        "reassign-reason",
    ):
        assert f'for="{control}"' in page and f'id="{control}"' in page
    # The row of the clerk's own submission offers release, the unassigned one claim.
    assert f'action="/backoffice/cases/{mine}/release"' in page
    assert f'action="/backoffice/cases/{open_one}/claim"' in page

    office.sign_in("citizens")
    assert _rows(_page(client, LIST + "?list=all")) == [other]


def test_a_tab_over_the_cap_shows_the_cap_with_a_plus_and_says_more_than_in_words(
    office, client, monkeypatch
):
    monkeypatch.setattr(worklist, "TAB_COUNT_CAP", 2)
    for _ in range(3):
        office.file()
    office.file(assignee="insurance_pension")
    office.sign_in("insurance_pension")
    page = _page(client, LIST + "?list=all")
    tab = re.search(r'href="/backoffice/\?list=all" aria-current="page">(.*?)</a>', page).group(1)
    # Seen: "(2+)"; heard instead: "(more than 2)", not "two plus".
    assert '<span aria-hidden="true">(2+)</span>' in tab
    assert '<span class="visually-hidden">(more than 2)</span>' in tab
    unassigned = re.search(r'href="/backoffice/\?list=team_unassigned">(.*?)</a>', page).group(1)
    assert "(2+)" in unassigned  # three
    mine = re.search(r'href="/backoffice/\?list=mine">(.*?)</a>', page).group(1)
    assert mine.endswith('<span class="count">(1)</span>')
    assert "more than" not in mine and "aria-hidden" not in mine


def test_an_admin_sees_every_department_and_the_triage_queue(office, client):
    triage = office.file("triage")
    pension = office.file("insurance_pension")
    office.sign_in("admin")
    assert _rows(_page(client, LIST + "?list=team_unassigned")) == [triage, pension]
    office.sign_in("insurance_pension")
    assert _rows(_page(client, LIST + "?list=team_unassigned")) == [pension]


def test_sorting_and_filters_come_from_the_url(office, client):
    early = office.file(due_on=date(2026, 12, 20), applicant_name="山田 太郎")
    late = office.file(due_on=date(2026, 12, 10), applicant_name="佐藤 花子")
    office.sign_in("insurance_pension")
    page = _page(client, LIST + "?list=all&sort=due_on")
    assert _rows(page) == [late, early]
    assert page.count('aria-sort="ascending"') == 1
    descending = _page(client, LIST + "?list=all&sort=due_on&order=desc")
    assert _rows(descending) == [early, late]
    assert 'aria-sort="descending"' in descending
    assert _rows(_page(client, LIST + "?list=all&q=%E5%B1%B1%E7%94%B0")) == [early]  # 山田
    problem = _page(client, LIST + "?list=all&status=lost")
    assert 'role="alert"' in problem and _rows(problem) == [early, late]


def test_next_and_previous_pages(office, client, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    references = [office.file() for _ in range(5)]
    office.sign_in("insurance_pension")
    seen, path, pages = [], LIST + "?list=all", []
    while path:
        page = _page(client, path)
        pages.append(page)
        seen += _rows(page)
        path = _link(page, "next")
    assert seen == references
    assert 'aria-label="' in pages[0] and 'class="pagination"' in pages[0]
    assert _link(pages[0], "prev") is None
    back = _page(client, _link(pages[-1], "prev"))
    assert _rows(back) == references[2:4]
    broken = client.get(LIST + "?list=all&after=garbage")
    assert broken.status_code == 303 and broken.headers["Location"] == "/backoffice/?list=all"


def test_a_filed_application_reaches_each_departments_list(signed_in_as, office, app, client):
    client.delete_cookie("madoguchi_lang")  # the resident files in Japanese
    signed_in_as("demo-0024")
    assert _submit(client, _to_check(client), declaration="yes").status_code == 303
    client.set_cookie("madoguchi_lang", "en")
    with app.app_context():
        catalogue, _pins = published_catalogue(db.session)
        nhi_title = catalogue.procedure("nhi_loss_on_death").model.title.get("en")
        by_procedure = {s.procedure_id: s.reference for s in db.session.scalars(select(Submission))}
    office.sign_in("insurance_pension")
    page = _page(client, LIST + "?list=team_unassigned")
    assert _rows(page) == [by_procedure["nhi_loss_on_death"]]
    assert nhi_title in page
    office.sign_in("ltc_insurance")
    assert _rows(_page(client, LIST + "?list=team_unassigned")) == [
        by_procedure["ltc_insurance_loss"]
    ]
    office.sign_in("citizens")
    assert _rows(_page(client, LIST + "?list=all")) == []


# ------------------------------------------------------------------ claim, release, reassign


def test_claim_and_release_by_form(office, app, client):
    reference = office.file()
    office.sign_in("insurance_pension")
    response = _post(client, f"/backoffice/cases/{reference}/claim", next="/backoffice/?list=mine")
    assert response.status_code == 303
    assert response.headers["Location"] == "/backoffice/?list=mine"
    submission = _submission(app, reference)
    assert (submission.assignee_id, submission.status) == (
        office.ids["insurance_pension"],
        "in_review",
    )
    page = _page(client, LIST + "?list=mine")
    assert f"You have claimed {reference}." in page and _rows(page) == [reference]

    office.sign_in("pension2")
    _post(client, f"/backoffice/cases/{reference}/claim")
    assert "has already been claimed by someone else" in _page(client)
    _post(client, f"/backoffice/cases/{reference}/release")
    assert "Only the clerk" in _page(client)
    assert _submission(app, reference).assignee_id == office.ids["insurance_pension"]

    office.sign_in("insurance_pension")
    _post(client, f"/backoffice/cases/{reference}/release")
    assert _submission(app, reference).assignee_id is None
    assert len(_actions(app, "submission.claimed")) == 1
    assert len(_actions(app, "submission.released")) == 1


def test_another_departments_submission_does_not_exist_for_a_clerk(office, client):
    reference = office.file("insurance_pension")
    office.sign_in("citizens")
    for action, data in (
        ("claim", {}),
        ("release", {}),
        ("reassign", {"assignee": str(office.ids["citizens"])}),
    ):
        assert _post(client, f"/backoffice/cases/{reference}/{action}", **data).status_code == 404
    response = _post(
        client,
        "/backoffice/reassign",
        references=[reference],
        assignee=str(office.ids["citizens"]),
        reason="away",
    )
    assert response.status_code == 404


def test_reassign_one_to_a_clerk_of_its_department(office, app, client):
    reference = office.file(status="in_review", assignee="insurance_pension")
    office.sign_in("insurance_pension")
    _post(
        client,
        f"/backoffice/cases/{reference}/reassign",
        assignee=str(office.ids["citizens"]),
    )
    assert "does not work for the department" in _page(client)
    _post(
        client,
        f"/backoffice/cases/{reference}/reassign",
        assignee=str(office.ids["pension2"]),
        reason="Knows this case",
    )
    assert _submission(app, reference).assignee_id == office.ids["pension2"]
    assert "is now assigned to pension2" in _page(client)
    (entry,) = _actions(app, "submission.reassigned")
    assert entry.details["reason"] == "Knows this case"


def test_bulk_reassign_needs_a_reason(office, app, client):
    first = office.file(status="in_review", assignee="insurance_pension")
    second = office.file(status="in_review", assignee="insurance_pension")
    office.sign_in("insurance_pension")
    to = str(office.ids["pension2"])
    _post(client, "/backoffice/reassign", references=[first, second], assignee=to, reason=" ")
    assert "Give a reason for reassigning." in _page(client)
    assert _submission(app, first).assignee_id == office.ids["insurance_pension"]
    response = _post(
        client,
        "/backoffice/reassign",
        references=[first, second],
        assignee=to,
        reason="On leave this week",
        next="/backoffice/?list=all",
    )
    assert response.headers["Location"] == "/backoffice/?list=all"
    assert "2 submissions are now assigned to pension2." in _page(client)
    assert {_submission(app, r).assignee_id for r in (first, second)} == {office.ids["pension2"]}
    entries = _actions(app, "submission.reassigned")
    assert {e.details["reason"] for e in entries} == {"On leave this week"}


def test_numbers_and_dates_the_database_cannot_hold_are_refused_politely(office, client):
    reference = office.file(status="in_review", assignee="insurance_pension")
    office.sign_in("insurance_pension")
    huge = "9" * 12
    page = _page(client, LIST + f"?list=all&assignee={huge}&received_from=0001-01-01")
    assert 'role="alert"' in page and _rows(page) == [reference]
    token = "WyJyZWNlaXZlZF9hdCIsIjIwMjYtMTItMDFUMDE6MDA6MDArMDA6MDAiLDEwOTk1MTE2Mjc3NzZd"
    assert client.get(LIST + f"?after={token}").status_code == 303
    response = _post(client, f"/backoffice/cases/{reference}/reassign", assignee=huge)
    assert response.status_code == 303
    assert "Choose a clerk to assign to." in _page(client)
    assert _post(client, f"/backoffice/views/{huge}/delete").status_code == 404


def test_a_form_cannot_send_the_clerk_off_site(office, client):
    reference = office.file()
    office.sign_in("insurance_pension")
    response = _post(client, f"/backoffice/cases/{reference}/claim", next="https://evil.example/")
    assert response.headers["Location"] == "/backoffice/"


# ------------------------------------------------------------------ saved views


def test_save_open_and_delete_a_view(office, app, client):
    office.sign_in("insurance_pension")
    response = _post(client, "/backoffice/views", name="Late ones", list="overdue", sort="due_on")
    assert response.status_code == 303
    assert response.headers["Location"] == "/backoffice/?list=overdue&sort=due_on"
    page = _page(client)
    assert '<a href="/backoffice/?list=overdue&amp;sort=due_on">Late ones</a>' in page
    with app.app_context():
        view_id = db.session.scalars(select(SavedView.id)).one()

    office.sign_in("pension2")
    assert "Late ones" not in _page(client)
    assert _post(client, f"/backoffice/views/{view_id}/delete").status_code == 404

    office.sign_in("insurance_pension")
    assert _post(client, f"/backoffice/views/{view_id}/delete").status_code == 303
    assert "Late ones" not in _page(client)


# ------------------------------------------------------------------ CSV


def test_the_csv_export_has_the_list_no_answers_and_no_formulas(office, client):
    dangerous = ['=HYPERLINK("https://evil.example","x")', "+81 3 1234", "-2+3", "@SUM(A1)"]
    references = [
        office.file(applicant_name=name, answers={"claimant_my_number": "123456789018"})
        for name in dangerous
    ]
    office.file("citizens", applicant_name="Other department")
    office.sign_in("insurance_pension")
    response = client.get("/backoffice/export.csv?list=all&sort=received_at")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    assert "123456789018" not in body and "Other department" not in body
    rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))
    assert len(rows[0]) == 7
    assert [row[0] for row in rows[1:]] == references
    assert [row[-1] for row in rows[1:]] == ["'" + name for name in dangerous]
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert rows[1][3] == "2026-12-01 10:00" and rows[1][4] == "2026-12-15"
