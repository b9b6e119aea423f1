"""Fixtures: an app on a database built by the migrations, on SQLite or PostgreSQL.

``TEST_DATABASE_URL`` (set by ``scripts/with-postgres.sh``) selects PostgreSQL;
otherwise each test session uses a SQLite file in a temporary folder. Each test gets
a fresh app; rows are removed after each test so tests never see each other's data.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import delete
from sqlalchemy.engine import make_url

from portal import create_app
from portal.extensions import db
from portal.records.services import seed_demo_registers

TEST_SECRET_KEY = "test-secret-key-" + "x" * 32
PROCEDURES = Path(__file__).resolve().parent.parent / "procedures"
_CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session", autouse=True)
def _definitions_checked_once_per_content() -> Iterator[None]:
    """Check each set of definition files once per test run, not once per test.

    Linting, compiling and running every scenario of the shipped definitions takes
    seconds, and hundreds of tests load them. The result depends only on the files'
    paths and text (it is immutable), so it is kept by those; a test that writes other
    files, or changes one, gets a fresh check.
    """
    from portal.catalogue import services
    from portal.definitions.loader import definition_paths

    checked: dict[tuple[tuple[str, bytes], ...], services.CheckedSources] = {}
    check = services.check_sources

    def check_once(paths):
        paths = list(paths)
        try:
            key = tuple((str(path), path.read_bytes()) for path in definition_paths(paths))
        except OSError:
            return check(paths)
        if key not in checked:
            checked[key] = check(paths)
        return checked[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(services, "check_sources", check_once)
        yield


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, run the tests that use a database; the SQLite run runs them all.

    A test that builds no app and no database (the procedure engine, the parsers) would
    only repeat itself on PostgreSQL, so it is left to the SQLite run.
    """
    if not os.environ.get("TEST_DATABASE_URL"):
        return
    keep: list[pytest.Item] = []
    left: list[pytest.Item] = []
    for item in items:
        uses_database = "fresh_database_url" in getattr(item, "fixturenames", ())
        (keep if uses_database else left).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = keep


def pytest_report_header(config: pytest.Config) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return f"database: PostgreSQL ({make_url(url).render_as_string(hide_password=True)})"
    return "database: SQLite (temporary file)"


def using_postgres() -> bool:
    return bool(os.environ.get("TEST_DATABASE_URL"))


def _admin_connection(url: str) -> psycopg.Connection:
    parsed = make_url(url)
    return psycopg.connect(
        host=parsed.host, port=parsed.port, user=parsed.username, dbname="postgres", autocommit=True
    )


@pytest.fixture(scope="session")
def fresh_database_url(tmp_path_factory: pytest.TempPathFactory):
    """Return a factory of empty databases of the kind this run uses."""
    created: list[str] = []
    base = os.environ.get("TEST_DATABASE_URL")

    def make() -> str:
        if not base:
            folder = tmp_path_factory.mktemp("db")
            return f"sqlite:///{folder / 'test.sqlite3'}"
        name = f"madoguchi_test_{uuid.uuid4().hex[:12]}"
        with _admin_connection(base) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return make_url(base).set(database=name).render_as_string(hide_password=False)

    yield make
    if base:
        with _admin_connection(base) as connection:
            for name in created:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# Production needs real OpenID providers; these are never contacted by the tests.
PRODUCTION_IDENTITY = {
    "OIDC_ISSUER": "https://login.example.test",
    "OIDC_CLIENT_ID": "madoguchi",
    "OIDC_CLIENT_SECRET": "test-resident-client-secret",
    "STAFF_OIDC_ISSUER": "https://staff-login.example.test",
    "STAFF_OIDC_CLIENT_ID": "madoguchi-staff",
    "STAFF_OIDC_CLIENT_SECRET": "test-staff-client-secret",
    "SMTP_URL": "smtps://portal:pw@mail.city.example?from=noreply@city.example",
    "PORTAL_URL": "https://madoguchi.city.example",
    "MY_NUMBER_KEYS": "3q2FoVCl1bWDs8Ou8gVMmOSHnH9h_3wq6TbnRIS7ofQ=",
}


def app_config(database_url: str, **overrides: str) -> dict[str, str]:
    """The settings a test app is built with; keyword arguments override them."""
    production = overrides.get("PORTAL_ENV") == "production"
    return {
        "PORTAL_ENV": "development",
        "SECRET_KEY": TEST_SECRET_KEY,
        "DATABASE_URL": database_url,
        "TESTING": "1",
        **(PRODUCTION_IDENTITY if production else {}),
        **overrides,
    }


@pytest.fixture(scope="session")
def database_url(fresh_database_url) -> str:
    """A database migrated to head once for the whole session."""
    url = fresh_database_url()
    app = create_app(app_config(url))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    app = create_app(app_config(database_url))
    yield app
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(delete(table))
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def procedures_loaded(app: Flask) -> Flask:
    """The shipped definitions stored as published versions."""
    from portal.catalogue.services import load_directory

    with app.app_context():
        report = load_directory(db.session, PROCEDURES, actor="test")
        assert not report.issues
        db.session.commit()
    return app


def csrf_token(client: FlaskClient, path: str = "/") -> str:
    """Fetch a page and return the CSRF token of its forms, as a browser would."""
    page = client.get(path).get_data(as_text=True)
    match = _CSRF_INPUT.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


@pytest.fixture
def signed_in_as(procedures_loaded):
    """Stand in for sign-in: the request's user is a demo register person."""
    app = procedures_loaded
    with app.app_context():
        seed_demo_registers(db.session)
        db.session.commit()
    who = {}

    @app.before_request
    def _user():
        if who:
            g.user = SimpleNamespace(
                id=who["id"], person_key=who["person_key"], role="resident", display_name="テスト"
            )

    def sign_in(person_key: str) -> None:
        from portal.identity.models import User

        with app.app_context():
            user = User(
                issuer="https://idp.test",
                subject=person_key,
                role="resident",
                person_key=person_key,
                display_name="テスト",
                departments=[],
                preferred_language="ja",
            )
            db.session.add(user)
            db.session.commit()
            who.update(id=user.id, person_key=person_key)

    return sign_in
