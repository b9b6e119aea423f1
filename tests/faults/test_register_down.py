"""The register API down, then too slow, then back: residents still file, clerks check later.

The portal reads the registers through its ``http`` adapter from a register API served
at a fixed address (the demo register API, over real HTTP). While the API refuses
connections or answers after the adapter's deadline, the resident is told plainly, types
the values in and files; nothing entered is lost. Once the API answers again, the
clerk's "Check the register again" compares the filed answers with it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from portal import create_app
from portal.audit.models import AuditEntry
from portal.backoffice.models import Application
from portal.extensions import db
from portal.resident.models import Draft
from tests.backoffice.conftest import NHI, Staff
from tests.backoffice.test_case_views import case_url, post
from tests.conftest import app_config
from tests.faults.support import SwitchableServer, empty_tables
from tests.resident.test_journey import _walk_form
from tests.resident.test_prefill import _consent_all, _to_consent
from tests.resident.test_submit import _submit

pytestmark = pytest.mark.faults

TOKEN = "faults-register-token-" + "r" * 24
TIMEOUT_SECONDS = 0.5
# What the resident reads when the registers cannot be read (the msgid's Japanese).
UNAVAILABLE_NOTICE = "ただいま市の記録を読み込めませんでした。"
RECHECK_UNAVAILABLE = "The registers cannot be read at the moment. Try again later."


@pytest.fixture
def register() -> Iterator[SwitchableServer]:
    """The register API's address; down (connections refused) until the test starts it."""
    server = SwitchableServer()
    yield server
    server.stop()


@pytest.fixture
def app(database_url: str, register: SwitchableServer, monkeypatch) -> Iterator[Flask]:
    """The portal reading its registers over HTTP from ``register``, with a short deadline.

    The same app serves the demo register API behind ``register``, as a city's register
    system would, from the demo registers the tests seed.
    """
    monkeypatch.setenv("RECORDS_ADAPTER", "http")
    monkeypatch.setenv("RECORDS_API_URL", f"{register.url}/demo-registers/v1")
    monkeypatch.setenv("RECORDS_API_TOKEN", TOKEN)
    monkeypatch.setenv("RECORDS_TIMEOUT_SECONDS", str(TIMEOUT_SECONDS))
    built = create_app(app_config(database_url))
    register.app = built
    yield built
    empty_tables(built)


def _file_while_the_register_fails(signed_in_as, client, person_key: str) -> tuple[str, float]:
    """Consent to the registers, be told they cannot be read, type everything in and file.

    Returns the application's reference and how long asking the registers kept the
    resident waiting.
    """
    signed_in_as(person_key)
    consent = _to_consent(client)
    started = time.monotonic()
    response = _consent_all(client, consent)
    waited = time.monotonic() - started
    first = response.headers["Location"]
    page = client.get(first).get_data(as_text=True)
    assert UNAVAILABLE_NOTICE in page
    assert 'name="applicant_name.family" value=""' in page, "nothing is filled in"
    check, _pages = _walk_form(client, first)
    filed = _submit(client, check, declaration="yes")
    assert filed.status_code == 303
    reference = filed.headers["Location"].rsplit("/", 1)[1]
    assert re.fullmatch(r"MD-\d{4}-\d{6}", reference)
    return reference, waited


def _stored(app: Flask, reference: str) -> Application:
    with app.app_context():
        application = db.session.scalars(
            select(Application).where(Application.reference == reference)
        ).one()
        assert [s.procedure_id for s in application.submissions] == ["nhi_loss_on_death"]
        db.session.expunge_all()
        return application


def _nhi_case(app: Flask, reference: str) -> str:
    with app.app_context():
        application = db.session.scalars(
            select(Application).where(Application.reference == reference)
        ).one()
        return next(s.reference for s in application.submissions if s.department_id == NHI)


def test_residents_file_while_the_register_is_down_or_slow_and_clerks_check_once_it_is_back(
    signed_in_as, app, client, register
):
    staff = Staff(app)  # clerks, before the app's first request
    # Down: nothing listens at the register's address.
    down_reference, _waited = _file_while_the_register_fails(signed_in_as, client, "demo-0024")
    assert register.requests == 0

    # Slow: the register answers only long after the adapter's deadline.
    register.start()
    register.slow(10 * TIMEOUT_SECONDS)
    slow_reference, waited = _file_while_the_register_fails(signed_in_as, client, "demo-0018")
    assert register.requests == 1, "a register too slow to answer is not asked again"
    assert waited < TIMEOUT_SECONDS + 2, f"the resident waited {waited:.1f} s"

    for reference in (down_reference, slow_reference):
        application = _stored(app, reference)
        assert application.register["status"] == "unavailable"
        assert application.checked_against_register is False
        assert application.answers, "what the resident typed is kept"
    with app.app_context():
        assert db.session.scalars(select(Draft)).all() == []

    # A clerk's check while the register is still slow says so and changes nothing.
    staff.act_as(staff.nhi)
    client.set_cookie("madoguchi_lang", "en")
    case = _nhi_case(app, down_reference)
    page = post(client, case_url(case, "/register-check"))
    assert page.status_code == 200
    assert RECHECK_UNAVAILABLE in page.get_data(as_text=True)

    # Back: the same check now compares the filed answers with the register.
    register.prompt()
    page = post(client, case_url(case, "/register-check"))
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert RECHECK_UNAVAILABLE not in text
    assert "Answers compared with the register" in text
    assert re.search(r"answers? (?:differs?|matches?) |Every answer matches", text)
    with app.app_context():
        reads = db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "register.read", AuditEntry.subject_id == "demo-0024"
            )
        ).all()
        checks = [entry for entry in reads if entry.details.get("ground") == "case_check"]
        assert [entry.details["submission"] for entry in checks] == [case]
