"""Choosing on the procedures page which private services the city tells of a move.

None is ticked until the resident ticks it; each says exactly what it would be sent;
the choice is kept on the draft (and through an error on the page), and a service
left unticked is sent nothing.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from portal.api import webhooks
from portal.api.services import create_client
from portal.backoffice.models import Application
from portal.database import utcnow
from portal.extensions import db
from portal.jobs.models import Job
from portal.resident.models import Draft
from tests.resident.conftest import as_myself, token
from tests.resident.test_journey import QUESTIONS, _walk_form, answer_questions, start
from tests.resident.test_submit import _submit

MOVING_OUT = {
    "move_type": "out_of_city",
    "moving_date": "2026-12-10",
    "household_in_nhi": "no",
    "anyone_65_or_over": "no",
    "has_children": "no",
    "has_dog": "no",
}
SERVICES = ["water", "electricity", "gas"]
_CHECKBOX = re.compile(r'<input [^>]*name="private_services" value="([a-z_]+)"[^>]*>')


def ticked(html: str) -> dict[str, bool]:
    """Each private service checkbox on the page and whether it is ticked."""
    return {match.group(1): " checked" in match.group(0) for match in _CHECKBOX.finditer(html)}


def moving_listing(client) -> str:
    """Answer the moving questionnaire for a move out of the city; return the list's URL."""
    return answer_questions(client, start(client, "moving"), MOVING_OUT)


def choose(client, listing: str, procedures=("move_out_notice",), private_services=()):
    html = client.get(listing).get_data(as_text=True)
    return client.post(
        listing,
        data={
            "csrf_token": token(html),
            "procedures": list(procedures),
            "private_services": list(private_services),
        },
    )


def file_moving(client, private_services=()) -> str:
    """File a move-out notice through the pages, ticking some private services; return the
    application page's URL."""
    response = choose(client, moving_listing(client), private_services=private_services)
    location = response.headers["Location"]
    if location.endswith("/records"):
        html = client.get(location).get_data(as_text=True)
        response = client.post(location, data={"csrf_token": token(html), "action": "decline"})
    location = as_myself(client, response).headers["Location"]
    check, _pages = _walk_form(client, location)
    filed = _submit(client, check, declaration="yes")
    assert filed.status_code == 303, filed.get_data(as_text=True)[:2000]
    return filed.headers["Location"]


def _draft(app) -> Draft:
    with app.app_context():
        draft = db.session.scalars(select(Draft)).one()
        db.session.expunge(draft)
        return draft


def test_each_service_is_offered_unticked_and_says_exactly_what_it_is_sent(
    procedures_loaded, client
):
    client.set_cookie("madoguchi_lang", "en")
    html = client.get(moving_listing(client)).get_data(as_text=True)
    assert ticked(html) == dict.fromkeys(SERVICES, False)
    sent = "Only this is sent: Date of the move (or planned date), Your new address."
    assert html.count(sent) == len(SERVICES)
    assert "Nothing else about you is sent." in html
    assert "Nothing is sent to a company you do not tick." in html


def test_services_that_declare_nothing_to_send_are_only_listed(procedures_loaded, client):
    html = client.get(answer_questions(client, start(client), QUESTIONS)).get_data(as_text=True)
    assert ticked(html) == {}
    assert "水道の名義変更・使用中止" in html  # bereavement's water: contact them yourself


def test_ticking_and_unticking_is_kept_on_the_draft(procedures_loaded, app, client):
    listing = moving_listing(client)
    assert choose(client, listing, private_services=["gas", "water"]).status_code == 303
    assert _draft(app).private_services == ["water", "gas"]  # in the life event's order
    assert ticked(client.get(listing).get_data(as_text=True)) == {
        "water": True,
        "electricity": False,
        "gas": True,
    }
    assert choose(client, listing, private_services=["gas"]).status_code == 303
    assert _draft(app).private_services == ["gas"]
    assert choose(client, listing).status_code == 303
    assert _draft(app).private_services == []
    assert not any(ticked(client.get(listing).get_data(as_text=True)).values())


def test_the_choice_is_kept_when_the_page_has_an_error(procedures_loaded, app, client):
    listing = moving_listing(client)
    response = choose(client, listing, procedures=(), private_services=["electricity"])
    assert response.status_code == 400
    assert ticked(response.get_data(as_text=True)) == {
        "water": False,
        "electricity": True,
        "gas": False,
    }
    assert _draft(app).private_services is None  # nothing stored until the page is sent


def test_a_service_the_page_did_not_offer_is_refused(procedures_loaded, app, client):
    listing = moving_listing(client)
    assert choose(client, listing, private_services=["telephone"]).status_code == 400
    assert _draft(app).private_services is None


def test_nothing_is_sent_to_a_service_left_unticked(signed_in_as, app, client):
    signed_in_as("demo-0024")
    with app.app_context():
        company = create_client(
            db.session, name="水道局", departments=["citizens"], scopes=[], now=utcnow()
        ).client
        webhooks.create_endpoint(
            db.session,
            company,
            url="http://127.0.0.1:9/water",  # the discard port: nothing is to reach it
            events=[webhooks.private_service_event(service) for service in SERVICES],
            production=False,
            secret_key=app.config["SECRET_KEY"],
            now=utcnow(),
        )
        db.session.commit()
    client.set_cookie("madoguchi_lang", "en")
    page = client.get(file_moving(client)).get_data(as_text=True)
    with app.app_context():
        application = db.session.scalars(select(Application)).one()
        assert application.private_services == []
        assert db.session.scalars(select(Job).where(Job.kind == webhooks.JOB_KIND)).all() == []
    assert 'id="private-services"' not in page
