"""A department's webhook receiver down while residents file and clerks act.

The filing and the status change stand; each event waits as a delivery job. Once the
receiver is back (failing one more time with a 500), every event arrives exactly once
accepted, and a retried event carries the same id and the same body every time, so a
receiver can tell a repeat from a new event.
"""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from portal.api import webhooks
from portal.api.services import create_client
from portal.backoffice.models import Submission
from portal.database import utcnow
from portal.extensions import db
from portal.jobs.services import run_pending
from tests.api.conftest import bearer
from tests.api.test_webhooks import Receiver, _add_webhook, verified_event
from tests.faults.support import jobs_of, make_due
from tests.resident.test_submit import _submit, _to_check

pytestmark = pytest.mark.faults

DEPARTMENTS = ("insurance_pension", "ltc_insurance")


def _api_token(app) -> str:
    with app.app_context():
        issued = create_client(
            db.session,
            name="基幹系",
            departments=DEPARTMENTS,
            scopes=("submissions:read", "submissions:write"),
            now=utcnow(),
        )
        db.session.commit()
        return issued.token


def test_events_wait_while_the_receiver_is_down_and_each_is_accepted_once_when_back(
    signed_in_as, app, client
):
    down = Receiver()
    port = down.server.server_port
    down.close()  # nothing listens on the port
    token = _api_token(app)
    secret = _add_webhook(
        app,
        token,
        f"http://127.0.0.1:{port}/madoguchi/events",
        "submission.received",
        "submission.status_changed",
    )

    signed_in_as("demo-0024")
    filed = _submit(client, _to_check(client), declaration="yes")
    assert filed.status_code == 303
    with app.app_context():
        nhi = db.session.scalars(
            select(Submission.reference).where(Submission.department_id == DEPARTMENTS[0])
        ).one()
    changed = client.post(
        f"/api/v1/submissions/{nhi}/status", json={"status": "in_review"}, headers=bearer(token)
    )
    assert changed.status_code == 200, "the change stands while the receiver is down"

    waiting = jobs_of(app, webhooks.JOB_KIND)
    assert [(job.status, job.attempts) for job in waiting] == [("pending", 1)] * 3
    assert all("unreachable" in (job.last_error or "") for job in waiting)
    expected = {job.payload["event"]["id"]: job.payload["event"]["type"] for job in waiting}
    assert sorted(expected.values()) == [
        "submission.received",
        "submission.received",
        "submission.status_changed",
    ]

    receiver = Receiver(port)
    try:
        receiver.answers = [500]  # back, but the first delivery it gets fails once more
        make_due(app, webhooks.JOB_KIND)
        assert run_pending(app, limit=10) == 3
        make_due(app, webhooks.JOB_KIND)
        assert run_pending(app, limit=10) == 1
        make_due(app, webhooks.JOB_KIND)
        assert run_pending(app, limit=10) == 0, "nothing is left to deliver"
    finally:
        receiver.close()

    assert [job.status for job in jobs_of(app, webhooks.JOB_KIND)] == ["done"] * 3
    events = [verified_event(secret, headers, body) for headers, body in receiver.requests]
    refused, accepted = events[0], events[1:]
    assert Counter(event["id"] for event in accepted) == Counter(dict.fromkeys(expected, 1))
    assert {event["id"]: event["type"] for event in accepted} == expected
    repeat = next(event for event in accepted if event["id"] == refused["id"])
    assert repeat == refused, "a retried event is the same event"
