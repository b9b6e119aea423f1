"""Signed webhooks: tell departments' systems and private services of residents' changes.

``notify_webhooks`` enqueues one ``webhook.deliver`` job per active endpoint that
subscribed to the event and belongs to a live client of the submission's department,
in the caller's transaction, so nothing is sent for a change that rolls back. The
job POSTs the event as JSON, signed Stripe-style::

    Madoguchi-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">
    Madoguchi-Event-Id: <event id>

Event ids are derived from the submission and its number of status changes, so the
same event always has the same id and receivers can skip repeats. An answer other
than 2xx, or no answer within 10 seconds, makes the job try again with backoff. Each
endpoint's signing secret is derived from a random seed and ``SECRET_KEY``; changing
``SECRET_KEY`` changes every signing secret.

A private service (a utility company, say) is an API client whose endpoint subscribed
to ``private_service.<service id>``. ``notify_private_services`` enqueues the same
delivery jobs when a resident files an application and asked the city to tell that
service; the event carries only the fields the service's definition declares in
``sends``. Those values are personal data, so the job holds the application's
reference and the field ids, and the values are read from the application when the
delivery is sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import logging
import re
import secrets
import ssl
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.api.models import WEBHOOK_EVENTS, ApiClient, WebhookEndpoint
from portal.api.schema import (
    PRIVATE_SERVICE_EVENT_PATTERN,
    PrivateServiceEvent,
    PrivateServiceEventData,
    WebhookEvent,
    WebhookEventData,
)
from portal.audit.services import record_event
from portal.backoffice.models import Application, Submission
from portal.database import utcnow
from portal.definitions.schema import PrivateService
from portal.jobs.models import Job
from portal.jobs.services import enqueue, job_handler

log = logging.getLogger("portal.api.webhooks")

JOB_KIND = "webhook.deliver"
SIGNATURE_HEADER = "Madoguchi-Signature"
EVENT_ID_HEADER = "Madoguchi-Event-Id"
PRIVATE_SERVICE_EVENT_PREFIX = "private_service."
_PRIVATE_SERVICE_EVENT = re.compile(PRIVATE_SERVICE_EVENT_PATTERN)
TIMEOUT_SECONDS = 10.0
MAX_URL_LENGTH = 2000
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Fixed, so that an event's id is the same in every process and on every retry.
EVENT_NAMESPACE = uuid.UUID("4f0c2a5e-8d3b-4c61-9a57-6e2d1b0f7c13")
_SECRET_CONTEXT = b"madoguchi.webhook-signing-secret.v1"


class WebhookRefused(ValueError):
    """An endpoint URL or event list the portal will not send to; the message says why."""


class DeliveryFailed(Exception):
    """The endpoint did not take the event; the job tries again later."""


@dataclass(frozen=True)
class CreatedEndpoint:
    """A new endpoint and its signing secret, which is shown this once."""

    endpoint: WebhookEndpoint
    secret: str


def private_service_event(service_id: str) -> str:
    """The event a private service's endpoint subscribes to: ``private_service.<service id>``."""
    return PRIVATE_SERVICE_EVENT_PREFIX + service_id


def is_private_service_event(event: str) -> bool:
    """Whether ``event`` is shaped like a private service's event."""
    return bool(_PRIVATE_SERVICE_EVENT.fullmatch(event))


def check_url(url: str, *, production: bool) -> str:
    """Return ``url`` if events may be sent there, else raise WebhookRefused.

    https anywhere; plain http only to this machine, and never in production.
    Redirects are never followed, so an allowed URL cannot lead elsewhere.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise WebhookRefused("not a URL") from None
    if len(url) > MAX_URL_LENGTH or not parts.hostname or port == 0:
        raise WebhookRefused(
            f"a webhook URL is an absolute URL of at most {MAX_URL_LENGTH} characters"
        )
    if parts.username or parts.password or parts.fragment:
        raise WebhookRefused("a webhook URL carries no user name, password or fragment")
    if parts.scheme == "https":
        return url
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS and not production:
        return url
    raise WebhookRefused(
        "a webhook URL must be https (plain http only to 127.0.0.1 or localhost, "
        "and never in production)"
    )


def signing_secret(seed: str, secret_key: str) -> str:
    """The secret an endpoint's deliveries are signed with, derived from its seed."""
    key = hmac.new(secret_key.encode(), _SECRET_CONTEXT, hashlib.sha256).digest()
    derived = hmac.new(key, seed.encode(), hashlib.sha256).digest()
    return "whsec_" + base64.urlsafe_b64encode(derived).rstrip(b"=").decode("ascii")


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Madoguchi-Signature`` value of ``body`` signed at ``timestamp``."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def create_endpoint(
    session: Session,
    client: ApiClient,
    *,
    url: str,
    events: Sequence[str],
    production: bool,
    secret_key: str,
    now: datetime,
) -> CreatedEndpoint:
    """Register a URL of the client's system for some events; the caller commits.

    With no events named, the submission events. WebhookRefused for a URL the portal
    will not send to or an event that is neither a submission event nor shaped like
    ``private_service.<service id>`` (the caller checks that the service exists).
    """
    check_url(url, production=production)
    wanted = list(dict.fromkeys(events or WEBHOOK_EVENTS))
    unknown = [
        event
        for event in wanted
        if event not in WEBHOOK_EVENTS and not is_private_service_event(event)
    ]
    if unknown:
        raise WebhookRefused(
            f"unknown event {', '.join(unknown)}; the events are {', '.join(WEBHOOK_EVENTS)} "
            f"and {PRIVATE_SERVICE_EVENT_PREFIX}<service id>"
        )
    seed = secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(
        api_client_id=client.id, url=url, secret_seed=seed, events=wanted, created_at=now
    )
    session.add(endpoint)
    session.flush()
    return CreatedEndpoint(endpoint, signing_secret(seed, secret_key))


def _active_endpoints(session: Session) -> Sequence[WebhookEndpoint]:
    """The active endpoints of live clients, oldest first."""
    return session.scalars(
        select(WebhookEndpoint)
        .join(WebhookEndpoint.client)
        .where(WebhookEndpoint.active.is_(True), ApiClient.revoked_at.is_(None))
        .order_by(WebhookEndpoint.id)
    ).all()


def _subscribed(endpoints: Sequence[WebhookEndpoint], event: str) -> list[WebhookEndpoint]:
    """Those of ``endpoints`` that subscribed to ``event``, in the same order."""
    return [endpoint for endpoint in endpoints if event in endpoint.events]


def _enqueue_delivery(
    session: Session, endpoint: WebhookEndpoint, event_id: str, content: dict[str, Any]
) -> Job:
    """One delivery job: the endpoint and what to send; the same event twice is one job."""
    return enqueue(
        session,
        JOB_KIND,
        {"endpoint": endpoint.id, **content},
        key=f"webhook:{endpoint.id}:{event_id}",
    )


def _event(event: str, submission: Submission) -> WebhookEvent:
    """The event as every endpoint is sent it; its id and time come from the submission."""
    sequence = len(submission.changes)
    happened = submission.changes[-1].at if sequence else submission.received_at
    return WebhookEvent(
        id=str(uuid.uuid5(EVENT_NAMESPACE, f"{submission.reference}/{sequence}")),
        type=event,  # type: ignore[arg-type]
        created_at=happened,
        data=WebhookEventData(
            reference=submission.reference,
            status=submission.status,  # type: ignore[arg-type]
            procedure=submission.procedure_id,
            department=submission.department_id,
        ),
    )


def notify_webhooks(session: Session, event: str, submission: Submission) -> list[Job]:
    """Enqueue the delivery of ``event`` about ``submission`` to every endpoint that wants it.

    Call it in the transaction that made the change, after the change (for a status
    change, after the timeline row is added). The same event enqueued twice is one job.
    """
    return notify_webhooks_for_all(session, event, [submission])


def notify_webhooks_for_all(
    session: Session, event: str, submissions: Sequence[Submission]
) -> list[Job]:
    """Enqueue ``event`` about each of ``submissions``, as ``notify_webhooks`` does for one.

    The endpoints are looked up once for all of them (a submit files several
    submissions); the jobs are enqueued submission by submission, in the given order.
    """
    if event not in WEBHOOK_EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    subscribed = _subscribed(_active_endpoints(session), event)
    jobs: list[Job] = []
    for submission in submissions:
        wanted = [
            endpoint
            for endpoint in subscribed
            if submission.department_id in endpoint.client.departments
        ]
        if not wanted:
            continue
        body = _event(event, submission).model_dump(mode="json")
        jobs.extend(
            _enqueue_delivery(session, endpoint, body["id"], {"event": body}) for endpoint in wanted
        )
    return jobs


def notify_private_services(
    session: Session,
    application: Application,
    services: Sequence[PrivateService],
    *,
    actor: str,
) -> list[Job]:
    """Tell each chosen private service of a filed application, and note which were told.

    For every service, a delivery to each endpoint subscribed to its event, each audited
    (ids only); ``application.private_services`` records per service whether any
    endpoint was there, so the resident knows whom to contact themselves. Call it in the
    filing transaction; a service that declares no ``sends`` cannot be told.
    """
    jobs: list[Job] = []
    told: list[dict[str, Any]] = []
    active = _active_endpoints(session) if services else []
    for service in services:
        if not service.sends:
            raise ValueError(f"private service {service.id!r} declares nothing to send")
        event = private_service_event(service.id)
        event_id = str(uuid.uuid5(EVENT_NAMESPACE, f"{application.reference}/{event}"))
        endpoints = _subscribed(active, event)
        for endpoint in endpoints:
            content = {
                "private_service": {
                    "event_id": event_id,
                    "application": application.reference,
                    "service": service.id,
                    "sends": list(service.sends),
                }
            }
            jobs.append(_enqueue_delivery(session, endpoint, event_id, content))
            record_event(
                session,
                actor=actor,
                action="private_service.delivery_enqueued",
                subject_type="application",
                subject_id=application.reference,
                details={
                    "service": service.id,
                    "endpoint": endpoint.id,
                    "fields": list(service.sends),
                },
            )
        told.append({"id": service.id, "told": bool(endpoints)})
    application.private_services = told
    return jobs


def _private_service_event(
    session: Session, delivery: dict[str, Any]
) -> PrivateServiceEvent | None:
    """The event a private service is sent, read now from the filed application.

    The values are those of the declared fields only; None when the application is gone.
    """
    application = session.scalars(
        select(Application).where(Application.reference == delivery["application"])
    ).first()
    if application is None:
        return None
    answers = application.answers
    return PrivateServiceEvent(
        id=delivery["event_id"],
        type=private_service_event(delivery["service"]),
        created_at=application.submitted_at,
        data=PrivateServiceEventData(
            application_reference=application.reference,
            life_event=application.life_event_id,
            service=delivery["service"],
            values={
                field_id: answers[field_id]
                for field_id in delivery["sends"]
                if answers.get(field_id) is not None
            },
        ),
    )


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST once without following redirects; return the status; OSError when unreachable."""
    parts = urlsplit(url)
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            parts.hostname or "", parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", target, body=body, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def _send(session: Session, payload: dict[str, Any]) -> str | None:
    """Send one event to one endpoint, signed now, while no lock is held; raise so that
    the job tries again. Returns the event id, or None when the endpoint or, for a
    private service, the application is gone."""
    endpoint = session.get(WebhookEndpoint, payload["endpoint"])
    if endpoint is None or not endpoint.active or endpoint.client.revoked_at is not None:
        log.info("webhook dropped: endpoint gone", extra={"endpoint": payload["endpoint"]})
        return None
    config = current_app.config
    url = check_url(endpoint.url, production=config["PORTAL_ENV"] == "production")
    event: WebhookEvent | PrivateServiceEvent | None
    if "private_service" in payload:
        event = _private_service_event(session, payload["private_service"])
    else:
        event = WebhookEvent.model_validate(payload["event"])
    if event is None:
        log.info("webhook dropped: application gone", extra={"endpoint": payload["endpoint"]})
        return None
    body = event.model_dump_json().encode()
    timestamp = int(utcnow().timestamp())
    secret = signing_secret(endpoint.secret_seed, config["SECRET_KEY"])
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Madoguchi-Webhooks/1",
        SIGNATURE_HEADER: signature_header(secret, timestamp, body),
        EVENT_ID_HEADER: event.id,
    }
    try:
        status = _post(url, body, headers, TIMEOUT_SECONDS)
    except (OSError, http.client.HTTPException) as error:
        raise DeliveryFailed(
            f"endpoint {endpoint.id} unreachable ({type(error).__name__})"
        ) from None
    if not 200 <= status < 300:
        raise DeliveryFailed(f"endpoint {endpoint.id} answered {status}")
    return event.id


@job_handler(JOB_KIND, prepare=_send)
def deliver(session: Session, payload: dict[str, Any], event_id: str | None) -> None:
    """After the send: the delivery has no effect in the database but its log line."""
    if event_id is not None:
        log.info("webhook delivered", extra={"endpoint": payload["endpoint"], "event": event_id})
