"""Admin fixtures: the demo city's staff (``office``) on the published definitions, a
stand-in for a staff sign-in, and a helper to post a form with its CSRF token as a
browser would."""

from __future__ import annotations

import itertools

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from portal.extensions import db
from portal.identity.models import User
from tests.backoffice.conftest import Office, office  # noqa: F401  (fixture used by tests)
from tests.conftest import csrf_token


@pytest.fixture
def desk(procedures_loaded, office: Office) -> Office:  # noqa: F811  (the fixture above)
    """The demo staff with the shipped definitions published, nobody signed in yet."""
    return office


def post_form(client: FlaskClient, path: str, data: dict | None = None) -> TestResponse:
    """POST a form to ``path`` with a valid CSRF token, as the page's own form would."""
    return client.post(path, data={"csrf_token": csrf_token(client, "/"), **(data or {})})


_subjects = itertools.count(1)


def sign_in_as(app: Flask, role: str, departments=()) -> int:
    """Make every following request come from a new user with this role; return its id."""
    with app.app_context():
        user = User(
            issuer="https://staff.test",
            subject=f"{role}-{next(_subjects)}",
            role=role,
            display_name=f"{role} 太郎",
            departments=list(departments),
            preferred_language="ja",
        )
        db.session.add(user)
        db.session.commit()
        user_id = user.id

    @app.before_request
    def _signed_in() -> None:
        g.user = db.session.get(User, user_id)

    return user_id
