"""The world the route sweep requests every page in: six people, each with a real session
cookie, two API clients, and objects owned by one of them for the others to try.

Resident A (demo-0024) files a bereavement application: ``-1`` goes to Insurance and
Pension (department X), ``-2`` to Long-term Care. Clerk X works in Insurance and Pension;
clerk Y in Child Support, which handles nothing of A's. Resident B (demo-0018) owns
nothing. The first submission carries a request answered with a file, an uploaded
document, a decision notice and a register report; A also keeps two unfinished drafts:
a bereavement one filled from the registers, with an upload, and a moving one with one
person moving. Clerk X owns a saved view, a pending and an
ended counter session. API client X reads and writes department X, client Y only
Child Support. ``fingerprint`` tells whether any row changed between two requests.
"""

from __future__ import annotations

import hashlib
import io
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from portal.api.services import add_webhook, create_client
from portal.backoffice import worklist
from portal.backoffice.counter import CounterSession
from portal.backoffice.models import Submission
from portal.catalogue.models import DefinitionVersion
from portal.catalogue.services import load_directory
from portal.database import utcnow
from portal.documents.storage import file_storage
from portal.extensions import db
from portal.identity import services as identity
from portal.identity.auth import SESSION_TOKEN_KEY
from portal.identity.models import User
from portal.notifications.mail import OutboxSender
from portal.records.services import seed_demo_registers
from portal.resident import services as drafts
from portal.resident.models import Draft, RegisterReport
from tests.conftest import PROCEDURES, csrf_token
from tests.notifications.conftest import use_sender
from tests.resident.conftest import TINY_PDF, as_myself, fill_page, token
from tests.resident.test_journey import MOVING, _choose, answer_questions, start
from tests.resident.test_prefill import _consent_all, _to_consent
from tests.resident.test_submit import _submit, _to_check

X = "insurance_pension"
Y = "child_support"
ANONYMOUS = "anonymous"
RESIDENT_A = "resident_a"
RESIDENT_B = "resident_b"
CLERK_X = "clerk_x"
CLERK_Y = "clerk_y"
ADMIN = "admin"
API_X = "api_x"
API_Y = "api_y"
# Everyone who uses the pages with a browser cookie, and the two back-office systems.
BROWSER_ACTORS = (ANONYMOUS, RESIDENT_A, RESIDENT_B, CLERK_X, CLERK_Y, ADMIN)
API_ACTORS = (API_X, API_Y)
ACTORS = BROWSER_ACTORS + API_ACTORS
COUNTER_FORM = "death_registration"

# Rows a reading request may touch: a signed-in session slides its idle expiry once a
# minute (``portal.identity.auth``). Audit entries are compared on their own.
SLIDING_COLUMNS = {"user_sessions": {"last_seen_at", "idle_expires_at"}}
AUDIT_TABLE = "audit_entries"


@dataclass
class World:
    """The app, one client per actor (with its bearer or CSRF token), and the values the
    sweep builds URLs from."""

    app: Flask
    clients: dict[str, FlaskClient] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)
    bearer: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    watch: StateWatch | None = None
    values: dict[str, Any] = field(default_factory=dict)

    def headers(self, actor: str) -> dict[str, str]:
        """The Authorization header an API actor sends (browsers send none)."""
        token = self.bearer.get(actor)
        return {"Authorization": f"Bearer {token}"} if token else {}


def _add_user(name: str, role: str, departments: tuple[str, ...] = (), person: str = "") -> int:
    user = User(
        issuer="https://sweep.test",
        subject=f"sweep-{name}",
        role=role,
        person_key=person or None,
        display_name=name,
        departments=list(departments),
        preferred_language="ja",
    )
    db.session.add(user)
    db.session.flush()
    return user.id


def _signed_in_client(app: Flask, user_id: int | None, language: str) -> FlaskClient:
    """A browser whose cookie holds a live server session of the user (None: nobody)."""
    client = app.test_client()
    client.set_cookie("madoguchi_lang", language)
    if user_id is None:
        return client
    with app.app_context():
        session_token = identity.start_session(
            db.session,
            db.session.get(User, user_id),
            id_token=None,
            user_agent="route sweep",
            now=utcnow(),
        )
        db.session.commit()
    with client.session_transaction() as cookie:
        cookie[SESSION_TOKEN_KEY] = session_token
    return client


def _post(client: FlaskClient, url: str, **data: Any) -> Any:
    return client.post(url, data={"csrf_token": csrf_token(client), **data})


def _file_and_work_the_case(world: World) -> None:
    """A files; clerk X starts, asks, gets a file in reply and decides the first submission."""
    resident = world.clients[RESIDENT_A]
    filed = _submit(resident, _to_check(resident), declaration="yes")
    assert filed.status_code == 303, filed.get_data(as_text=True)[:2000]
    application = filed.headers["Location"].rsplit("/", 1)[1]
    case = f"{application}-1"
    clerk = world.clients[CLERK_X]
    assert _post(clerk, f"/backoffice/cases/{case}/start").status_code == 303
    asked = _post(clerk, f"/backoffice/cases/{case}/request", body="写しを添付してください。")
    assert asked.status_code == 303
    page = resident.get(f"/applications/{application}").get_data(as_text=True)
    answered = resident.post(
        f"/applications/{application}/1/answer",
        data={
            "csrf_token": token(page),
            "body": "添付します。",
            "file": (io.BytesIO(TINY_PDF), "写し.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert answered.status_code == 303
    decided = _post(
        clerk, f"/backoffice/cases/{case}/decision", decision="rejected", reason="要件外"
    )
    assert decided.status_code == 303
    world.values.update(application=application, case=case)


def _unfinished_draft(world: World) -> None:
    """A starts a second bereavement draft, lets the registers fill it and stops on the form."""
    resident = world.clients[RESIDENT_A]
    response = _consent_all(resident, _to_consent(resident))
    location = response.headers["Location"]
    if location.endswith("/records/person"):
        html = resident.get(location).get_data(as_text=True)
        person = re.search(r'name="person" value="(demo-[0-9]+)"', html).group(1)
        response = as_myself(
            resident, resident.post(location, data={"csrf_token": token(html), "person": person})
        )
        location = response.headers["Location"]
    world.values["draft_id"] = location.split("/")[2]
    listing = answer_questions(resident, start(resident, "moving"), MOVING)
    location = _choose(resident, listing, ["move_out_notice"])
    while not location.endswith("/form/moving.members"):
        html = resident.get(location).get_data(as_text=True)
        location = resident.post(location, data=fill_page(html)).headers["Location"]
    item = f"{location}/items/0"
    added = resident.post(item, data=fill_page(resident.get(item).get_data(as_text=True)))
    assert added.status_code == 303, added.get_data(as_text=True)[:2000]
    world.values.update(loop_draft=location.split("/")[2], loop_step="moving.members")


def _objects(world: World) -> None:
    """Rows the pages do not make quickly: files, reports, views, counter sessions, clients."""
    values = world.values
    ids = world.user_ids
    now = utcnow()
    storage = file_storage()
    case = db.session.scalars(
        select(Submission).where(Submission.reference == values["case"])
    ).one()
    case.documents = [
        {
            "id": "deceased_nhi_certificate",
            "delivery": "upload",
            "key": storage.put("uploads", TINY_PDF, "application/pdf"),
            "content_type": "application/pdf",
            "size": len(TINY_PDF),
            "name": "証明書.pdf",
        }
    ]
    reply = next(message for message in case.messages if message.kind == "reply")
    application = case.application
    application.counter_forms = {COUNTER_FORM: storage.put("uploads", TINY_PDF, "application/pdf")}
    report = RegisterReport(
        user_id=ids[RESIDENT_A],
        person_key="demo-0024",
        source="nhi",
        field_id="deceased_nhi_number",
        department_id=X,
        message="違います",
        status="open",
        created_at=now,
    )
    db.session.add(report)

    draft = db.session.get(Draft, values["draft_id"])
    draft.documents = {
        "sweep_upload": {
            "delivery": "upload",
            "key": storage.put("uploads", TINY_PDF, "application/pdf"),
            "content_type": "application/pdf",
            "size": len(TINY_PDF),
            "name": "写し.pdf",
        }
    }
    state = drafts.open_draft(
        db.session, draft_id=draft.id, owner_key=f"user:{ids[RESIDENT_A]}", now=now
    )
    provenance = state.draft.register["provenance"]
    first_question = state.questionnaire.first_step(state.answers)
    values.update(
        question_step=first_question.step.key,
        form_step=state.form.steps[0].key,
        field_id=next(iter(provenance)),
        document_key="sweep_upload",
    )

    clerk_x = db.session.get(User, ids[CLERK_X])
    filters, _invalid = worklist.parse_filters({})
    view = worklist.save_view(db.session, clerk_x, "mine", filters, now=now)
    seen = {
        "document_type": "drivers_licence",
        "document_description": None,
        "document_last_characters": "5678",
        "name_as_seen": "中村　健太",
        "birth_date_as_seen": "1988-03-12",
    }
    pending = CounterSession(
        id="sweep-pending-" + "p" * 29,
        clerk_id=ids[CLERK_X],
        person_key="demo-0024",
        resident_name="中村 健太",
        identity_check=seen,
        started_at=now,
    )
    ended = CounterSession(
        id="sweep-ended-" + "e" * 31,
        clerk_id=ids[CLERK_X],
        person_key="demo-0024",
        resident_name="中村 健太",
        identity_check=seen,
        applications=[application.reference],
        started_at=now - timedelta(minutes=30),
        confirmed_at=now - timedelta(minutes=29),
        ended_at=now - timedelta(minutes=1),
    )
    db.session.add_all([pending, ended])

    version = db.session.scalars(
        select(DefinitionVersion).where(DefinitionVersion.kind == "procedure").limit(1)
    ).one()
    issued = {
        API_X: create_client(
            db.session,
            name="基幹系 X",
            departments=[X],
            scopes=["submissions:read", "submissions:write"],
            now=now,
        ),
        API_Y: create_client(
            db.session,
            name="基幹系 Y",
            departments=[Y],
            scopes=["submissions:read", "submissions:write"],
            now=now,
        ),
    }
    spare = create_client(
        db.session, name="予備", departments=[X], scopes=["submissions:read"], now=now
    )
    db.session.flush()
    webhook = add_webhook(
        db.session,
        spare.client.client_id,
        url="https://hooks.example.test/madoguchi",
        events=["submission.status_changed"],
        production=False,
        secret_key="sweep-webhook-key-" + "k" * 32,
        actor="test",
        now=now,
    )
    world.bearer.update({actor: issued[actor].token for actor in API_ACTORS})
    values.update(
        message_id=reply.id,
        report_id=report.id,
        view_id=view.id,
        pending_session=pending.id,
        ended_session=ended.id,
        version_id=version.id,
        kind=version.kind,
        definition_id=version.definition_id,
        client_id=spare.client.client_id,
        endpoint_id=webhook.endpoint.id,
        person_id=_add_user("spare clerk", "clerk", (X,)),
    )


def _keep_an_email(outbox: OutboxSender) -> None:
    """Keep one message in the outbox, whoever it was for."""
    message = EmailMessage()
    message["To"] = "resident@example.test"
    message["From"] = "noreply@madoguchi.invalid"
    message["Subject"] = "お知らせ"
    message.set_content("本文")
    outbox.send(message)


def build_world(app: Flask, outbox_folder: Path) -> World:
    """Load the procedures and registers, make the people and everything they own.

    Development mail goes to ``outbox_folder``, never to the instance folder.
    """
    world = World(app)
    outbox = OutboxSender(outbox_folder)
    use_sender(app, outbox)
    with app.app_context():
        assert not load_directory(db.session, PROCEDURES, actor="test").issues
        seed_demo_registers(db.session)
        world.user_ids.update(
            {
                RESIDENT_A: _add_user("resident A", "resident", person="demo-0024"),
                RESIDENT_B: _add_user("resident B", "resident", person="demo-0018"),
                CLERK_X: _add_user("clerk X", "clerk", (X,)),
                CLERK_Y: _add_user("clerk Y", "clerk", (Y,)),
                ADMIN: _add_user("admin", "admin"),
            }
        )
        db.session.commit()
    # The journeys are walked in Japanese, as the page helpers expect.
    world.clients[RESIDENT_A] = _signed_in_client(app, world.user_ids[RESIDENT_A], "ja")
    world.clients[CLERK_X] = _signed_in_client(app, world.user_ids[CLERK_X], "ja")
    _file_and_work_the_case(world)
    _unfinished_draft(world)
    with app.app_context():
        _objects(world)
        db.session.commit()
    _keep_an_email(outbox)
    world.values["outbox_name"] = outbox.names()[0]
    for actor in ACTORS:
        user_id = world.user_ids.get(actor)
        world.clients[actor] = _signed_in_client(app, user_id, "en")
    return world


def _rows(table: str, skipped: set[str]) -> Iterator[str]:
    columns = [
        column.name for column in db.metadata.tables[table].columns if column.name not in skipped
    ]
    quoted = ", ".join(f'"{name}"' for name in columns)
    statement = text(f'SELECT {quoted} FROM "{table}"')  # noqa: S608 - names from the metadata
    # Sorted here, not by the database: PostgreSQL cannot order by a JSON column.
    yield from sorted(repr(tuple(row)) for row in db.session.execute(statement))


def fingerprint(app: Flask) -> dict[str, str]:
    """A digest of every table's rows, by table (sliding session columns left out)."""
    digests = {}
    with app.app_context():
        for table in db.metadata.sorted_tables:
            digest = hashlib.sha256()
            for row in _rows(table.name, SLIDING_COLUMNS.get(table.name, set())):
                digest.update(row.encode())
            digests[table.name] = digest.hexdigest()
        db.session.remove()
    return digests


class StateWatch:
    """Fingerprints the database, skipping the work while SQLite says nobody wrote.

    SQLite's ``PRAGMA data_version``, read on a connection of the watch's own, changes
    whenever another connection commits; on PostgreSQL every snapshot is taken in full.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
        self._sqlite = sqlite3.connect(url.database) if url.get_backend_name() == "sqlite" else None
        self._version: int | None = None
        self._last: dict[str, str] | None = None

    def snapshot(self) -> dict[str, str]:
        """The fingerprint of the database as it is now."""
        version = None
        if self._sqlite is not None:
            version = self._sqlite.execute("PRAGMA data_version").fetchone()[0]
            if self._last is not None and version == self._version:
                return self._last
        self._version, self._last = version, fingerprint(self.app)
        return self._last

    def close(self) -> None:
        """Close the watch's own connection."""
        if self._sqlite is not None:
            self._sqlite.close()


def changed_tables(before: dict[str, str], after: dict[str, str]) -> set[str]:
    """The tables whose rows differ between two fingerprints."""
    return {table for table, digest in after.items() if before.get(table) != digest}
