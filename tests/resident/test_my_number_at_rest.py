"""A My Number typed into the form is stored sealed and shown masked, never in clear."""

from __future__ import annotations

import io
import logging
import re

from sqlalchemy import text

from portal.extensions import db
from portal.logs import JsonFormatter
from tests.resident.conftest import token
from tests.resident.test_journey import _walk_form, answer_questions, start

MY_NUMBER = "123456789018"  # what fill_page types into every My Number field
CHILDCARE = {
    "childcare_stage": "born",
    "child_birth_date": "2026-11-20",
    "birth_registered": "yes",
    "child_joins_nhi": "no",
    "wants_nursery": "no",
}


def _stored_text(app) -> str:
    """Every stored answer, register record and audit detail, as the database holds them."""
    with app.app_context():
        rows = []
        for query in (
            "SELECT answers, register FROM drafts",
            "SELECT answers, register FROM applications",
            "SELECT answers FROM submissions",
            "SELECT details FROM audit_entries",
            "SELECT payload FROM jobs",
        ):
            rows.extend(str(value) for row in db.session.execute(text(query)) for value in row)
        return "\n".join(rows)


def test_a_my_number_is_sealed_at_rest_and_masked_on_the_check_page(
    signed_in_as, app, client
):
    signed_in_as("demo-0024")
    logged = io.StringIO()
    handler = logging.StreamHandler(logged)
    handler.setFormatter(JsonFormatter())
    logging.getLogger("portal").addHandler(handler)
    listing = answer_questions(client, start(client, "childcare"), CHILDCARE)
    html = client.get(listing).get_data(as_text=True)
    location = client.post(
        listing, data={"csrf_token": token(html), "procedures": ["child_allowance_claim"]}
    ).headers["Location"]
    if location.endswith("/records"):
        page = client.get(location).get_data(as_text=True)
        location = client.post(
            location, data={"csrf_token": token(page), "action": "decline"}
        ).headers["Location"]
    check, pages = _walk_form(
        client,
        location,
        overrides={"claimant_is_public_servant": "no", "claimant_income": "4800000"},
    )
    assert any("my_number" in html for _, html in pages), "the form asks for a My Number"

    stored = _stored_text(app)
    assert MY_NUMBER not in stored
    assert "sealed:v1:" in stored
    review = client.get(check).get_data(as_text=True)
    assert "**** **** 9018" in review and MY_NUMBER not in review

    response = client.post(
        check.replace("/check", "/submit"), data={"csrf_token": token(review), "declaration": "yes"}
    )
    assert response.status_code == 303
    stored = _stored_text(app)
    assert MY_NUMBER not in stored
    assert re.search(r"sealed:v1:[A-Za-z0-9_=-]{40,}", stored)
    receipt_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert MY_NUMBER not in receipt_page
    # Nor in the logs: the access log names routes, never values.
    logging.getLogger("portal").removeHandler(handler)
    assert '"route": "/drafts/<draft_id>/form/<step_key>"' in logged.getvalue()
    assert MY_NUMBER not in logged.getvalue()
