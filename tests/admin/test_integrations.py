"""API clients, webhooks and dead jobs from the admin pages: secrets shown once, the CLI's
rules, and replays that requeue."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import select, update

from portal.api import services as api_services
from portal.api.models import ApiClient, WebhookEndpoint
from portal.api.webhooks import WebhookRefused
from portal.audit.models import AuditEntry
from portal.database import utcnow
from portal.extensions import db
from portal.jobs.models import Job
from portal.jobs.services import enqueue
from tests.admin.conftest import post_form
from tests.backoffice.conftest import Office

_TOKEN = re.compile(r'id="shown-secret" value="([^"]+)"')


def _create_client(client, **overrides) -> tuple[int, str, object]:
    data = {"name": "国保年金課 基幹系", "departments": ["insurance_pension"]}
    data["scopes"] = ["submissions:read"]
    response = post_form(client, "/admin/integrations/clients", {**data, **overrides})
    return response.status_code, response.get_data(as_text=True), response


def test_a_new_clients_token_is_shown_once_and_never_again(desk: Office, client, app, caplog):
    desk.sign_in("admin")
    caplog.set_level(logging.DEBUG)
    status, page, response = _create_client(client)
    assert status == 200
    assert "no-store" in response.headers["Cache-Control"]
    token = _TOKEN.search(page).group(1)
    client_id, secret = token.split(".", 1)
    with app.app_context():
        stored = db.session.scalars(select(ApiClient)).one()
        assert stored.client_id == client_id and secret not in stored.secret_hash
        assert api_services.authenticate(db.session, f"Bearer {token}").id == stored.id
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "api.client_created")
        ).one()
    assert entry.actor == f"user:{desk.ids['admin']}" and entry.subject_id == client_id
    assert secret not in str(entry.details)
    assert secret not in caplog.text
    listing = client.get("/admin/integrations").get_data(as_text=True)
    assert client_id in listing and secret not in listing
    with client.session_transaction() as cookie:
        assert secret not in str(dict(cookie))


def test_a_client_for_an_unknown_department_or_without_scope_is_refused(desk, client, app):
    desk.sign_in("admin")
    status, page, _response = _create_client(client, departments=["no_such_department"])
    assert status == 400 and "no_such_department" in page and 'role="alert"' in page
    status, _page, _response = _create_client(client, scopes=["everything"])
    assert status == 400
    with app.app_context():
        assert db.session.scalars(select(ApiClient)).first() is None


def test_revoking_a_client_refuses_its_token_and_is_audited_once(desk: Office, client, app):
    desk.sign_in("admin")
    token = _TOKEN.search(_create_client(client)[1]).group(1)
    client_id = token.split(".", 1)[0]
    for _ in range(2):
        assert (
            post_form(client, f"/admin/integrations/clients/{client_id}/revoke").status_code == 303
        )
    with app.app_context():
        assert api_services.authenticate(db.session, f"Bearer {token}") is None
        revoked = db.session.scalars(
            select(AuditEntry.subject_id).where(AuditEntry.action == "api.client_revoked")
        ).all()
    assert revoked == [client_id]


def _live_client_id(client) -> str:
    return _TOKEN.search(_create_client(client)[1]).group(1).split(".", 1)[0]


def test_a_webhook_is_added_with_its_secret_shown_once_then_disabled(desk: Office, client, app):
    desk.sign_in("admin")
    client_id = _live_client_id(client)
    response = post_form(
        client,
        f"/admin/integrations/clients/{client_id}/webhooks",
        {"url": "https://nhi.city.example/hooks", "events": ["submission.received"]},
    )
    assert response.status_code == 200 and "no-store" in response.headers["Cache-Control"]
    secret = _TOKEN.search(response.get_data(as_text=True)).group(1)
    assert secret.startswith("whsec_")
    assert secret not in client.get("/admin/integrations").get_data(as_text=True)
    with app.app_context():
        endpoint = db.session.scalars(select(WebhookEndpoint)).one()
        assert (endpoint.url, endpoint.events, endpoint.active) == (
            "https://nhi.city.example/hooks",
            ["submission.received"],
            True,
        )
        endpoint_id = endpoint.id
    post_form(client, f"/admin/integrations/webhooks/{endpoint_id}/disable")
    with app.app_context():
        assert db.session.get(WebhookEndpoint, endpoint_id).active is False
        actions = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.action.like("api.webhook%"))
        ).all()
    assert actions == ["api.webhook_added", "api.webhook_disabled"]


def test_a_webhook_url_must_be_https_as_the_cli_requires(desk: Office, client, app):
    desk.sign_in("admin")
    client_id = _live_client_id(client)
    path = f"/admin/integrations/clients/{client_id}/webhooks"
    refused = post_form(client, path, {"url": "http://nhi.city.example/hooks"})
    assert refused.status_code == 400
    assert 'aria-describedby="webhook-url-hint-1 webhook-url-error-1"' in refused.get_data(
        as_text=True
    )
    # Plain http to this machine is allowed outside production only.
    assert post_form(client, path, {"url": "http://127.0.0.1:9000/hooks"}).status_code == 200
    with app.app_context():
        with pytest.raises(WebhookRefused):
            api_services.add_webhook(
                db.session,
                client_id,
                url="http://127.0.0.1:9000/hooks",
                events=(),
                production=True,
                secret_key="k" * 32,
                actor="test",
                now=utcnow(),
            )
        db.session.rollback()
        assert len(db.session.scalars(select(WebhookEndpoint)).all()) == 1


def _dead_job(app, key: str) -> int:
    with app.app_context():
        job = enqueue(db.session, "webhook.deliver", {"endpoint": 1}, key=key)
        db.session.flush()
        db.session.execute(
            update(Job)
            .where(Job.id == job.id)
            .values(
                status="dead", attempts=8, finished_at=utcnow(), last_error="DeliveryFailed: 503"
            )
        )
        db.session.commit()
        return job.id


def test_dead_jobs_are_listed_and_a_replay_requeues_them_audited(desk: Office, client, app):
    first, second = _dead_job(app, "webhook:1:a"), _dead_job(app, "webhook:1:b")
    desk.sign_in("admin")
    listing = client.get("/admin/jobs/dead").get_data(as_text=True)
    assert "DeliveryFailed: 503" in listing and "webhook.deliver" in listing and "8 / 8" in listing
    response = post_form(client, "/admin/jobs/dead/replay", {"job_ids": [str(first), "999999"]})
    assert response.status_code == 303
    with app.app_context():
        replayed, untouched = db.session.get(Job, first), db.session.get(Job, second)
        assert (replayed.status, replayed.attempts) == ("pending", 0)
        assert untouched.status == "dead"
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "job.replayed")
        ).one()
    assert entry.subject_id == str(first) and entry.actor == f"user:{desk.ids['admin']}"
    page = client.get("/admin/jobs/dead").get_data(as_text=True)
    assert "999999" in page  # reported as not replayed
    assert f'value="{first}"' not in page and f'value="{second}"' in page
