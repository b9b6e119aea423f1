"""Signed webhooks: enqueued with the change, verifiable by a receiver, retried until taken.

A small HTTP server on 127.0.0.1 stands in for a department's system; it checks each
delivery's signature the way the OpenAPI document tells receivers to.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from portal.api import webhooks
from portal.api.services import client_by_id
from portal.backoffice.models import Submission
from portal.database import utcnow
from portal.extensions import db
from portal.jobs.models import Job
from portal.jobs.services import run_pending
from tests.api.conftest import bearer

SIGNATURE_TOLERANCE_SECONDS = 300


class Receiver:
    """A department's system: keeps every request and answers with the statuses queued."""

    def __init__(self, port: int = 0) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.answers: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.answers.pop(0) if receiver.answers else 204)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/madoguchi/events"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


def verified_event(secret: str, headers: dict[str, str], body: bytes) -> dict:
    """Check a delivery as a receiver must, and return its event; AssertionError if forged."""
    parts = dict(item.split("=", 1) for item in headers["Madoguchi-Signature"].split(","))
    expected = hmac.new(
        secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(expected, parts["v1"]), "signature does not match"
    assert abs(time.time() - int(parts["t"])) < SIGNATURE_TOLERANCE_SECONDS
    event = json.loads(body)
    assert headers["Madoguchi-Event-Id"] == event["id"]
    assert headers["Content-Type"] == "application/json"
    return event


def _add_webhook(app, token: str, url: str, *events: str) -> str:
    """Register a webhook with the command line and return the secret it printed."""
    client_id = token.split(".", 1)[0]
    args = ["api", "add-webhook", client_id, "--url", url]
    for event in events:
        args += ["--event", event]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def _jobs(app) -> list[Job]:
    with app.app_context():
        jobs = db.session.scalars(select(Job).where(Job.kind == webhooks.JOB_KIND)).all()
        db.session.expunge_all()
        return list(jobs)


def test_a_status_change_reaches_the_receiver_signed(filed, issue_client, receiver, app, client):
    token = issue_client()
    secret = _add_webhook(app, token, receiver.url)
    assert secret.startswith("whsec_")
    response = client.post(
        f"/api/v1/submissions/{filed.nhi}/status",
        json={"status": "in_review"},
        headers=bearer(token),
    )
    assert response.status_code == 200
    ((headers, body),) = receiver.requests
    event = verified_event(secret, headers, body)
    assert event["type"] == "submission.status_changed"
    assert event["data"] == {
        "reference": filed.nhi,
        "status": "in_review",
        "procedure": "nhi_loss_on_death",
        "department": "insurance_pension",
    }
    assert event["created_at"] == response.get_json()["timeline"][0]["at"]
    with pytest.raises(AssertionError, match="signature"):
        verified_event("whsec_not-the-secret", headers, body)
    with pytest.raises(AssertionError, match="signature"):
        verified_event(secret, headers, body.replace(b"in_review", b"approved"))
    (job,) = _jobs(app)
    assert job.status == "done"
    assert job.idempotency_key == f"webhook:{job.payload['endpoint']}:{event['id']}"


def test_a_receiver_that_is_down_gets_the_event_later_and_once(filed, issue_client, app, client):
    receiver = Receiver()
    port = receiver.server.server_port
    receiver.close()  # down: nothing listens on the port
    token = issue_client()
    secret = _add_webhook(app, token, f"http://127.0.0.1:{port}/hook", "submission.status_changed")
    response = client.post(
        f"/api/v1/submissions/{filed.nhi}/status",
        json={"status": "in_review"},
        headers=bearer(token),
    )
    assert response.status_code == 200  # the change stands; the delivery waits
    (job,) = _jobs(app)
    assert (job.status, job.attempts) == ("pending", 1)
    assert "unreachable" in job.last_error and str(port) not in job.last_error
    assert job.run_after > utcnow()

    receiver = Receiver(port)
    try:
        receiver.answers = [500]  # up, but failing once more
        for expected_attempts in (2, 3):
            with app.app_context():
                db.session.get(Job, job.id).run_after = utcnow()
                db.session.commit()
            assert run_pending(app, limit=5) == 1
            (job,) = _jobs(app)
            assert job.attempts == expected_attempts
        assert job.status == "done"
        assert run_pending(app, limit=5) == 0
        assert len(receiver.requests) == 2
        first, second = (verified_event(secret, *request) for request in receiver.requests)
        assert first == second  # the same event, the same id, each time
    finally:
        receiver.close()


def test_only_subscribed_live_endpoints_of_the_department_are_notified(filed, issue_client, app):
    own, other, revoked = (
        issue_client(departments=["insurance_pension"]),
        issue_client(departments=["ltc_insurance"]),
        issue_client(departments=["insurance_pension"]),
    )
    url = "https://dept.example.test/hook"
    _add_webhook(app, own, url, "submission.status_changed")
    _add_webhook(app, own, url, "submission.received")
    _add_webhook(app, own, url + "/off")
    _add_webhook(app, other, url)
    _add_webhook(app, revoked, url)
    assert (
        app.test_cli_runner().invoke(args=["api", "revoke-client", revoked.split(".")[0]]).exit_code
        == 0
    )
    with app.app_context():
        client = client_by_id(db.session, own.split(".")[0])
        client.endpoints[2].active = False
        submission = db.session.scalars(
            select(Submission).where(Submission.reference == filed.nhi)
        ).one()
        received = webhooks.notify_webhooks(db.session, "submission.received", submission)
        again = webhooks.notify_webhooks(db.session, "submission.received", submission)
        assert [job.payload["endpoint"] for job in received] == [client.endpoints[1].id]
        assert [job.id for job in again] == [job.id for job in received]
        event = received[0].payload["event"]
        assert event["type"] == "submission.received"
        assert event["data"]["status"] == "received"
        assert event["created_at"] == submission.received_at.isoformat().replace("+00:00", "Z")
        db.session.rollback()


@pytest.mark.parametrize(
    ("url", "production", "allowed"),
    [
        ("https://dept.example.test/hook", True, True),
        ("https://dept.example.test:8443/hook?key=1", True, True),
        ("http://127.0.0.1:8080/hook", False, True),
        ("http://localhost/hook", False, True),
        ("http://127.0.0.1:8080/hook", True, False),
        ("http://dept.example.test/hook", False, False),
        ("http://10.0.0.5/hook", False, False),
        ("ftp://dept.example.test/hook", False, False),
        ("https://user:pass@dept.example.test/hook", False, False),
        ("https://dept.example.test:99999/hook", False, False),
        ("/relative/hook", False, False),
    ],
)
def test_events_go_to_https_only_and_to_plain_http_only_on_this_machine(url, production, allowed):
    if allowed:
        assert webhooks.check_url(url, production=production) == url
    else:
        with pytest.raises(webhooks.WebhookRefused):
            webhooks.check_url(url, production=production)


def test_the_command_refuses_a_url_it_would_never_send_to(issue_client, app):
    token = issue_client()
    result = app.test_cli_runner().invoke(
        args=["api", "add-webhook", token.split(".")[0], "--url", "http://dept.example.test/"]
    )
    assert result.exit_code == 1
    assert "must be https" in result.output


def test_the_signature_is_an_hmac_of_the_time_and_the_body():
    header = webhooks.signature_header("whsec_k", 1_700_000_000, b'{"a":1}')
    expected = hmac.new(b"whsec_k", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert webhooks.signing_secret("seed", "key-1") != webhooks.signing_secret("seed", "key-2")
    assert webhooks.signing_secret("seed", "key-1") == webhooks.signing_secret("seed", "key-1")


def test_a_receiver_down_for_every_attempt_leaves_the_event_dead_until_replayed_once(
    filed, issue_client, app, client
):
    down = Receiver()
    port = down.server.server_port
    down.close()  # nothing listens on the port for any attempt
    token = issue_client()
    secret = _add_webhook(app, token, f"http://127.0.0.1:{port}/hook", "submission.status_changed")
    response = client.post(
        f"/api/v1/submissions/{filed.nhi}/status",
        json={"status": "in_review"},
        headers=bearer(token),
    )
    assert response.status_code == 200
    (job,) = _jobs(app)
    event = job.payload["event"]
    for _attempt in range(job.attempts, job.max_attempts):
        with app.app_context():
            db.session.get(Job, job.id).run_after = utcnow()
            db.session.commit()
        assert run_pending(app, limit=5) == 1
    (job,) = _jobs(app)
    assert (job.status, job.attempts) == ("dead", job.max_attempts)
    assert job.payload["event"] == event  # the event is kept, not lost
    assert run_pending(app, limit=5) == 0  # a dead job is not tried again by itself

    runner = app.test_cli_runner()
    listed = runner.invoke(args=["jobs", "list"])
    assert listed.exit_code == 0
    assert re.search(r"^dead\s+1$", listed.output, re.MULTILINE)
    assert re.search(
        rf"^\s+{job.id}\s+{webhooks.JOB_KIND}\s+{job.max_attempts} attempts",
        listed.output,
        re.MULTILINE,
    )

    receiver = Receiver(port)
    try:
        retried = runner.invoke(args=["jobs", "retry", str(job.id)])
        assert retried.exit_code == 0, retried.output
        assert run_pending(app, limit=5) == 1
        assert run_pending(app, limit=5) == 0
        ((headers, body),) = receiver.requests  # delivered exactly once
        assert verified_event(secret, headers, body) == event  # the same event, the same id
        (job,) = _jobs(app)
        assert (job.status, job.attempts) == ("done", 1)
        assert runner.invoke(args=["jobs", "retry", str(job.id)]).exit_code == 1  # not dead
    finally:
        receiver.close()
