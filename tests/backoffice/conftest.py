"""Back-office fixtures: clerks of two departments and an admin, and a filed application."""

from __future__ import annotations

import pytest
from flask import g

from portal.extensions import db
from portal.identity.models import User
from tests.resident.test_submit import _submit, _to_check

NHI = "insurance_pension"  # where demo-0024's first submission goes
LTC = "ltc_insurance"  # and the second


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
