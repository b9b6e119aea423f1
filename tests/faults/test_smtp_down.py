"""The mail server down while residents file: filing succeeds, each notice goes out once later.

A real SMTP server on 127.0.0.1 (``tests.notifications.support``) is bound but not
listening while two residents file, so every connection is refused. The filings stand;
each "received" email waits as a job that is tried again with growing pauses, and once
the server listens each notice is delivered exactly once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from portal import create_app
from portal.audit.models import AuditEntry
from portal.backoffice.models import Application
from portal.database import utcnow
from portal.extensions import db
from portal.identity.models import User
from portal.jobs.services import RETRY_BASE_SECONDS, run_pending
from portal.notifications.services import JOB_KIND
from tests.conftest import app_config
from tests.faults.support import empty_tables, jobs_of, make_due
from tests.notifications.support import HOST, LocalSmtpServer
from tests.resident.test_submit import _submit, _to_check

pytestmark = pytest.mark.faults

SENDER = "noreply@city.example"
RESIDENTS = {"demo-0024": "kenta@example.jp", "demo-0018": "yoko@example.jp"}


@pytest.fixture
def smtp_server() -> Iterator[LocalSmtpServer]:
    """The city's mail server: bound, and refusing connections until the test starts it."""
    server = LocalSmtpServer()
    yield server
    server.stop()


@pytest.fixture
def app(database_url: str, smtp_server: LocalSmtpServer) -> Iterator[Flask]:
    """The portal sending its emails through ``smtp_server``."""
    built = create_app(
        app_config(database_url, SMTP_URL=f"smtp://{HOST}:{smtp_server.port}?from={SENDER}")
    )
    yield built
    empty_tables(built)


def _file_with_an_address(signed_in_as, app: Flask, client, person_key: str) -> str:
    """Sign in as ``person_key`` with a verified email address, file, return the reference."""
    signed_in_as(person_key)
    with app.app_context():
        user = db.session.scalars(select(User).where(User.person_key == person_key)).one()
        user.email = RESIDENTS[person_key]
        db.session.commit()
    response = _submit(client, _to_check(client), declaration="yes")
    assert response.status_code == 303
    location = response.headers["Location"]
    assert client.get(location).status_code == 200, "the resident sees their application"
    return location.rsplit("/", 1)[1]


def test_filing_succeeds_with_the_mail_server_down_and_each_notice_is_sent_once_when_back(
    signed_in_as, app, client, smtp_server
):
    references = [
        _file_with_an_address(signed_in_as, app, client, person_key) for person_key in RESIDENTS
    ]
    with app.app_context():
        stored = db.session.scalars(select(Application.reference)).all()
    assert sorted(stored) == sorted(references)

    jobs = jobs_of(app, JOB_KIND)
    assert sorted(job.payload["application"] for job in jobs) == sorted(references)
    for job in jobs:
        assert (job.status, job.attempts) == ("pending", 1)
        assert (
            job.last_error == "MailNotSent: the mail server was not reached: ConnectionRefusedError"
        )
        assert job.run_after >= utcnow() + timedelta(seconds=RETRY_BASE_SECONDS - 5)
    assert run_pending(app, limit=10) == 0, "not tried again before the pause is over"

    # The pause is over, the server is still down: the next pause is longer.
    make_due(app, JOB_KIND)
    tried = utcnow()
    assert run_pending(app, limit=10) == len(jobs)
    for job in jobs_of(app, JOB_KIND):
        assert (job.status, job.attempts) == ("pending", 2)
        assert job.run_after >= tried + timedelta(seconds=2 * RETRY_BASE_SECONDS)

    smtp_server.start()
    make_due(app, JOB_KIND)
    assert run_pending(app, limit=10) == len(jobs)
    make_due(app, JOB_KIND)
    assert run_pending(app, limit=10) == 0, "nothing is left to send"

    assert [(job.status, job.attempts) for job in jobs_of(app, JOB_KIND)] == [("done", 3)] * 2
    received = smtp_server.received
    assert sorted(message.rcpt_to for message in received) == sorted(
        (address,) for address in RESIDENTS.values()
    )
    subjects = [message.parsed()["Subject"] for message in received]
    for reference in references:
        assert sum(reference in subject for subject in subjects) == 1
    message_ids = {message.parsed()["Message-ID"] for message in received}
    assert len(message_ids) == len(received)
    with app.app_context():
        sent = db.session.scalars(
            select(AuditEntry.subject_id).where(AuditEntry.action == "notification.sent")
        ).all()
    assert sorted(sent) == sorted(references)
