"""Fixtures: an app whose emails go to an outbox in a temporary folder, and filed applications.

Applications are built as rows (a user, a definition version, an application and its
submissions), with answers full of personal data an email must never repeat.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest
from flask import Flask

from portal.backoffice.models import Application, Submission
from portal.catalogue.models import DefinitionVersion
from portal.database import utcnow
from portal.extensions import db
from portal.identity.models import User
from portal.notifications import register_notifications
from portal.notifications.mail import MailSender, OutboxSender
from portal.notifications.services import EXTENSION_KEY, set_address_lookup

NAME = "鈴木 花子"
ADDRESS = "hanako@example.jp"
# What a filed application holds that no email may carry.
PRIVATE_VALUES = {
    "applicant_address": {
        "postal_code": "1000001",
        "prefecture": "東京都",
        "city": "千代田区",
        "town": "千代田",
        "line": "1-1 窓口ハイツ101",
    },
    "applicant_birth_date": "1950-04-01",
    "applicant_phone": "090-1234-5678",
    "my_number": "123456789018",
    "deceased_name": "鈴木 一郎",
}
PRIVATE_STRINGS = ("窓口ハイツ", "千代田区", "1950", "090-1234-5678", "123456789018", "鈴木 一郎")


def use_sender(app: Flask, sender: MailSender) -> None:
    """Send this app's notices through ``sender`` from now on."""
    app.extensions[EXTENSION_KEY] = replace(app.extensions[EXTENSION_KEY], sender=sender)


@pytest.fixture
def mail_app(app: Flask, tmp_path) -> Flask:
    """The test app with notifications on, kept in an outbox under ``tmp_path``."""
    if EXTENSION_KEY not in app.extensions:  # create_app does not register notifications
        register_notifications(app)
    use_sender(app, OutboxSender(tmp_path / "outbox"))
    return app


@pytest.fixture
def outbox(mail_app: Flask) -> OutboxSender:
    sender = mail_app.extensions[EXTENSION_KEY].sender
    assert isinstance(sender, OutboxSender)
    return sender


@pytest.fixture
def addresses(mail_app: Flask) -> dict[int, str]:
    """The residents' email addresses by user id, as the app's address lookup sees them."""
    known: dict[int, str] = {}
    set_address_lookup(mail_app, lambda _session, application: known.get(application.applicant_id))
    return known


@dataclass(frozen=True)
class Filed:
    """What a test needs to know of a stored application: its references."""

    reference: str
    submissions: tuple[str, ...]
    applicant_id: int


FileApplication = Callable[..., Filed]


@pytest.fixture
def file_application(mail_app: Flask, addresses: dict[int, str]) -> FileApplication:
    """Store an application with two submissions; the applicant's address is known."""
    numbers = iter(range(123, 1000))

    def make(*, language: str = "ja", name: str = NAME, address: str | None = ADDRESS) -> Filed:
        number = next(numbers)
        reference = f"MD-2026-{number:06d}"
        now = utcnow()
        with mail_app.app_context():
            session = db.session
            user = User(
                issuer="https://login.example.test",
                subject=f"resident-{number}",
                role="resident",
                person_key=f"demo-{number}",
                display_name=name,
                departments=[],
                preferred_language=language,
            )
            version = DefinitionVersion(
                kind="procedure",
                definition_id=f"nhi_loss_on_death_{number}",
                number=1,
                status="published",
                content_hash="0" * 64,
                source_name="nhi_loss_on_death.yaml",
                source_text="",
                created_by="test",
            )
            session.add_all([user, version])
            session.flush()
            application = Application(
                reference=reference,
                draft_id=secrets.token_urlsafe(32),
                life_event_id="bereavement",
                applicant_id=user.id,
                applicant_name=name,
                language=language,
                pins={},
                answers=PRIVATE_VALUES,
                register={"values": PRIVATE_VALUES},
                checked_against_register=True,
                submitted_at=now,
            )
            for index in (1, 2):
                application.submissions.append(
                    Submission(
                        number=index,
                        reference=f"{reference}-{index}",
                        procedure_id=version.definition_id,
                        procedure_version_id=version.id,
                        department_id="insurance_pension",
                        queue_id="insurance_pension.main",
                        answers=PRIVATE_VALUES,
                        received_at=now,
                    )
                )
            session.add(application)
            session.commit()
            filed = Filed(reference, tuple(s.reference for s in application.submissions), user.id)
        if address is not None:
            addresses[filed.applicant_id] = address
        return filed

    return make
