"""Back-office fixtures: clerks of two departments and an admin, and a filed application
(``staff``, ``filed``); the demo city's staff by short name with submissions made to order,
inserted directly without a resident's journey (``office``)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest
from flask import Flask, g
from sqlalchemy import select

from portal.backoffice.models import Application, Submission
from portal.catalogue.models import DefinitionVersion
from portal.extensions import db
from portal.identity.demo_idp import STAFF
from portal.identity.models import User
from tests.resident.test_submit import _submit, _to_check

NHI = "insurance_pension"  # where demo-0024's first submission goes
LTC = "ltc_insurance"  # and the second
RECEIVED = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # Tuesday 1 December, 10:00 in Japan


class Staff:
    """Clerks of the NHI and LTC departments, an admin, and who makes the next requests.

    ``act_as(None)`` hands the requests back to the resident ``signed_in_as`` signed in.
    """

    def __init__(self, app):
        self.app = app
        self.current: int | None = None

        @app.before_request
        def _staff_user():
            if self.current is not None:
                g.user = db.session.get(User, self.current)

        self.nhi = self.make("保険 一郎", [NHI])
        self.nhi_second = self.make("保険 二郎", [NHI])
        self.ltc = self.make("介護 三郎", [LTC])
        self.admin = self.make("管理 花子", role="admin")

    def make(self, name: str, departments=(), role: str = "clerk") -> int:
        with self.app.app_context():
            user = User(
                issuer="https://staff.test",
                subject=name,
                role=role,
                display_name=name,
                departments=list(departments),
                preferred_language="ja",
            )
            db.session.add(user)
            db.session.commit()
            return user.id

    def act_as(self, user_id: int | None) -> None:
        self.current = user_id


def file_bereavement(signed_in_as, client) -> str:
    """demo-0024 files NHI loss (-1, insurance and pension) and LTC loss (-2), typed in."""
    signed_in_as("demo-0024")
    response = _submit(client, _to_check(client), declaration="yes")
    assert response.status_code == 303
    return response.headers["Location"].rsplit("/", 1)[1]


@pytest.fixture
def staff(signed_in_as, app):
    return Staff(app)


@pytest.fixture
def filed(staff, signed_in_as, client):
    return file_bereavement(signed_in_as, client)


@dataclass
class Office:
    """The demo city's staff by short name, and helpers to sign in and file submissions."""

    app: Flask
    signed_in: dict[str, int]
    ids: dict[str, int] = field(default_factory=dict)
    _numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _version_id: int | None = None

    def add_person(self, name: str, role: str, departments: tuple[str, ...] = ()) -> int:
        """Add a user (staff or resident) under a short name and return their id."""
        with self.app.app_context():
            user = User(
                issuer="https://staff-idp.test",
                subject=f"test-{name}",
                role=role,
                person_key=None,
                display_name=name,
                departments=list(departments),
                preferred_language="ja",
            )
            db.session.add(user)
            db.session.commit()
            self.ids[name] = user.id
            return user.id

    def sign_in(self, name: str) -> None:
        """Make every following request come from this person."""
        self.signed_in["id"] = self.ids[name]

    def sign_out(self) -> None:
        self.signed_in.clear()

    def user(self, name: str) -> User:
        """The person's row in the current app context."""
        return db.session.get(User, self.ids[name])

    def procedure_version(self) -> int:
        """Any stored procedure version: submissions must point at one."""
        if self._version_id is None:
            version_id = db.session.scalar(
                select(DefinitionVersion.id).where(DefinitionVersion.kind == "procedure").limit(1)
            )
            if version_id is None:
                version = DefinitionVersion(
                    kind="procedure",
                    definition_id="test_procedure",
                    number=1,
                    status="draft",
                    content_hash="0" * 64,
                    source_name="test.yaml",
                    source_text="",
                    created_by="test",
                )
                db.session.add(version)
                db.session.flush()
                version_id = version.id
            self._version_id = version_id
        return self._version_id

    def file(
        self,
        department: str = "insurance_pension",
        *,
        status: str = "received",
        received_at: datetime = RECEIVED,
        due_on: date | None = date(2026, 12, 15),
        assignee: str | None = None,
        paused: bool = False,
        procedure: str = "nhi_loss_on_death",
        applicant_name: str = "窓口 花子",
        answers: dict[str, Any] | None = None,
    ) -> str:
        """File one submission straight into a department's queue; returns its reference."""
        number = next(self._numbers)
        reference = f"MD-2026-{number:06d}"
        with self.app.app_context():
            if "applicant" not in self.ids:
                self.add_person("applicant", "resident")
            application = Application(
                reference=reference,
                draft_id=f"draft-{number}",
                life_event_id="bereavement",
                applicant_id=self.ids["applicant"],
                applicant_name=applicant_name,
                language="ja",
                pins={},
                answers=answers or {},
                register={},
                checked_against_register=False,
                submitted_at=received_at,
            )
            application.submissions.append(
                Submission(
                    number=1,
                    reference=f"{reference}-1",
                    procedure_id=procedure,
                    procedure_version_id=self.procedure_version(),
                    department_id=department,
                    queue_id=department,
                    status=status,
                    answers=answers or {},
                    documents=[],
                    received_at=received_at,
                    due_on=due_on,
                    assignee_id=self.ids[assignee] if assignee else None,
                    paused_since=received_at if paused else None,
                )
            )
            db.session.add(application)
            db.session.commit()
        return f"{reference}-1"


@pytest.fixture
def office(app: Flask) -> Office:
    """The demo staff (clerks of four departments and an admin) as users; nobody signed in.

    Short names: ``citizens``, ``insurance_pension``, ``child_support`` (also nursery),
    ``ltc_insurance``, ``admin``; plus ``pension2``, a second Insurance and Pension clerk.
    """
    signed_in: dict[str, int] = {}

    @app.before_request
    def _stand_in_for_sign_in() -> None:
        if signed_in:
            g.user = db.session.get(User, signed_in["id"])

    desk = Office(app, signed_in)
    short_names = {
        "staff-clerk-citizens": "citizens",
        "staff-clerk-insurance-pension": "insurance_pension",
        "staff-clerk-child-support": "child_support",
        "staff-clerk-ltc-insurance": "ltc_insurance",
        "staff-admin": "admin",
    }
    for member in STAFF:
        desk.add_person(short_names[member.subject], member.roles[0], member.departments)
    desk.add_person("pension2", "clerk", ("insurance_pension",))
    return desk
