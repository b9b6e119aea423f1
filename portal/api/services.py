"""The rules of the back-office API: credentials, what a client may see, and status changes.

A client authenticates with ``Authorization: Bearer <client_id>.<secret>``. Only a
scrypt hash of the secret is stored, with a salt of its own. A client sees the
submissions of its departments and nothing else; a submission of another department
is treated as if it did not exist. My Numbers are left out of every answer unless
the client holds the ``personal:my_number`` scope.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.api import webhooks
from portal.api.models import SCOPES, ApiClient, WebhookEndpoint
from portal.api.schema import (
    DEFINITION_ID_PATTERN,
    DocumentInfo,
    SubmissionDetail,
    SubmissionPage,
    SubmissionSummary,
    TimelineEntry,
)
from portal.api.webhooks import CreatedEndpoint
from portal.audit.services import record_event
from portal.backoffice.models import CaseMessage, StatusChange, Submission
from portal.backoffice.workflow import (
    MAX_MESSAGE_LENGTH,
    TransitionRefused,
    allowed_moves,
    clean_message,
    request_information,
    transition,
)
from portal.catalogue.models import DefinitionVersion
from portal.catalogue.services import catalogue_for_pins, published_catalogue
from portal.database import UTCDateTime
from portal.definitions.catalogue import TRIAGE_QUEUE
from portal.definitions.fields import requires_purpose
from portal.definitions.schema import AnyField, GroupField
from portal.definitions.sealing import unsealed

CLIENT_ID_PREFIX = "mdc_"
SECRET_BYTES = 32
# The secrets are 256 random bits, not passwords: no guessing can find one, so a modest
# scrypt cost keeps each request fast. The cost is stored with each hash and can grow.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**12, 8, 1
SCRYPT_LENGTH = 32
SALT_BYTES = 16
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50
# Six bytes are eight base64url characters with no padding bits: every such text decodes.
CURSOR_BYTES = 6
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{8}$"
_CURSOR = re.compile(CURSOR_PATTERN)
_DEPARTMENT = re.compile(DEFINITION_ID_PATTERN)
# Verified when no client has the id given, so that a wrong id costs as long as a
# wrong secret and the answer time does not tell which client ids exist.
_UNKNOWN_CLIENT_HASH = f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${'A' * 22}${'A' * 43}"


class ClientRefused(ValueError):
    """A client cannot be created like this; the message says why."""


class BadCursor(ValueError):
    """A page cursor not shaped like the ones this API hands out."""


class MessageRefused(ValueError):
    """A message with no text once cleaned, or too long; the message says which."""


class ProposalWaiting(Exception):
    """A four-eyes decision waits for a second clerk: the applicant is not asked meanwhile."""


@dataclass(frozen=True)
class IssuedClient:
    """A new client and its bearer token, which is shown this once and never stored."""

    client: ApiClient
    token: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_secret(secret: str) -> str:
    """Hash a client secret with scrypt and a fresh salt, as ``scrypt$n$r$p$salt$hash``."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = hashlib.scrypt(
        secret.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=SCRYPT_LENGTH
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def secret_matches(secret: str, stored: str) -> bool:
    """Whether ``secret`` is the one ``stored`` was hashed from; compared in constant time."""
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        wanted = _unb64(expected)
        digest = hashlib.scrypt(
            secret.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=len(wanted)
        )
    except ValueError:  # binascii.Error, a bad number or a malformed hash
        return False
    return hmac.compare_digest(digest, wanted)


def known_departments(session: Session) -> set[str]:
    """The department codes of the published definitions, and triage."""
    catalogue, _pins = published_catalogue(session)
    return {department.id for department in catalogue.departments} | {TRIAGE_QUEUE}


def known_private_services(session: Session) -> set[str]:
    """The ids of the published private services a resident can ask the city to tell."""
    catalogue, _pins = published_catalogue(session)
    return {
        compiled.service.id
        for life_event in catalogue.life_events.values()
        for compiled in life_event.private_services
        if compiled.service.sends
    }


def create_client(
    session: Session,
    *,
    name: str,
    departments: Sequence[str],
    scopes: Sequence[str],
    now: datetime,
) -> IssuedClient:
    """Add a client for some departments with some scopes; the caller commits and shows the token.

    ClientRefused for an empty name, no department, a malformed department code or an
    unknown scope (the caller checks that the departments exist).
    """
    name = name.strip()
    if not 0 < len(name) <= 120:
        raise ClientRefused("a client's name is 1 to 120 characters")
    wanted_departments = list(dict.fromkeys(departments))
    if not wanted_departments:
        raise ClientRefused("name at least one department")
    malformed = [code for code in wanted_departments if not _DEPARTMENT.fullmatch(code)]
    if malformed:
        raise ClientRefused(f"not a department code: {', '.join(malformed)}")
    wanted_scopes = list(dict.fromkeys(scopes))
    unknown = [scope for scope in wanted_scopes if scope not in SCOPES]
    if unknown:
        raise ClientRefused(
            f"unknown scope {', '.join(unknown)}; the scopes are {', '.join(SCOPES)}"
        )
    client_id = CLIENT_ID_PREFIX + secrets.token_hex(12)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    client = ApiClient(
        name=name,
        client_id=client_id,
        secret_hash=hash_secret(secret),
        departments=wanted_departments,
        scopes=wanted_scopes,
        created_at=now,
    )
    session.add(client)
    session.flush()
    return IssuedClient(client, f"{client_id}.{secret}")


def client_by_id(session: Session, client_id: str) -> ApiClient | None:
    """The client with this public id, revoked or not."""
    return session.scalars(select(ApiClient).where(ApiClient.client_id == client_id)).first()


def revoke_client(session: Session, client_id: str, *, now: datetime) -> ApiClient:
    """Refuse the client's token from now on; LookupError when there is no such client."""
    client = client_by_id(session, client_id)
    if client is None:
        raise LookupError(f"there is no API client {client_id}")
    if client.revoked_at is None:
        client.revoked_at = now
    return client


# --- Managing clients: one way for `flask api` and the admin pages -------------------


def issue_client(
    session: Session,
    *,
    name: str,
    departments: Sequence[str],
    scopes: Sequence[str],
    actor: str,
    now: datetime,
) -> IssuedClient:
    """Create a client for existing departments and audit it; the caller commits and shows
    the token once.

    ClientRefused as ``create_client`` says, and for a department the published
    definitions do not have. The audit entry names the client, never its secret.
    """
    unknown = sorted(set(departments) - known_departments(session))
    if unknown:
        raise ClientRefused(f"unknown department {', '.join(unknown)}")
    issued = create_client(session, name=name, departments=departments, scopes=scopes, now=now)
    client = issued.client
    record_event(
        session,
        actor=actor,
        action="api.client_created",
        subject_type="api_client",
        subject_id=client.client_id,
        details={"departments": client.departments, "scopes": client.scopes},
    )
    return issued


def withdraw_client(session: Session, client_id: str, *, actor: str, now: datetime) -> ApiClient:
    """Revoke a client and audit it (once: revoking a revoked client changes nothing).

    LookupError when there is no such client.
    """
    found = client_by_id(session, client_id)
    was_live = found is not None and found.revoked_at is None
    client = revoke_client(session, client_id, now=now)
    if was_live:
        record_event(
            session,
            actor=actor,
            action="api.client_revoked",
            subject_type="api_client",
            subject_id=client.client_id,
        )
    return client


def add_webhook(
    session: Session,
    client_id: str,
    *,
    url: str,
    events: Sequence[str],
    production: bool,
    secret_key: str,
    actor: str,
    now: datetime,
) -> CreatedEndpoint:
    """Add a webhook endpoint to a live client and audit it; the caller shows the secret once.

    LookupError when there is no live client with that id; WebhookRefused for a URL
    the portal will not send to (https only, plain http to this machine outside
    production), an unknown event, or a private service that is not published.
    """
    client = client_by_id(session, client_id)
    if client is None or client.revoked_at is not None:
        raise LookupError(f"there is no live API client {client_id}")
    prefix = webhooks.PRIVATE_SERVICE_EVENT_PREFIX
    services_named = {event.removeprefix(prefix) for event in events if event.startswith(prefix)}
    unknown = sorted(services_named - known_private_services(session))
    if unknown:
        raise webhooks.WebhookRefused(
            f"no published private service {', '.join(unknown)} can be told by the city"
        )
    created = webhooks.create_endpoint(
        session,
        client,
        url=url,
        events=events,
        production=production,
        secret_key=secret_key,
        now=now,
    )
    endpoint = created.endpoint
    record_event(
        session,
        actor=actor,
        action="api.webhook_added",
        subject_type="api_client",
        subject_id=client.client_id,
        details={"endpoint": endpoint.id, "events": endpoint.events},
    )
    return created


def disable_webhook(session: Session, endpoint_id: int, *, actor: str) -> WebhookEndpoint:
    """Stop sending events to an endpoint and audit it; LookupError when there is none.

    Deliveries already queued for it are dropped when their job runs.
    """
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise LookupError(f"there is no webhook endpoint {endpoint_id}")
    if endpoint.active:
        endpoint.active = False
        record_event(
            session,
            actor=actor,
            action="api.webhook_disabled",
            subject_type="api_client",
            subject_id=endpoint.client.client_id,
            details={"endpoint": endpoint.id, "url": endpoint.url},
        )
    return endpoint


def authenticate(session: Session, authorization: str | None) -> ApiClient | None:
    """The live client an ``Authorization: Bearer <client_id>.<secret>`` header proves, or None."""
    scheme, _, credentials = (authorization or "").strip().partition(" ")
    client_id, dot, secret = credentials.strip().partition(".")
    if scheme.lower() != "bearer" or not dot or not client_id or not secret:
        return None
    client = client_by_id(session, client_id)
    if client is None:
        secret_matches(secret, _UNKNOWN_CLIENT_HASH)
        return None
    if not secret_matches(secret, client.secret_hash) or client.revoked_at is not None:
        return None
    return client


# --- Reading submissions ---------------------------------------------------------------


def _updated_at() -> Any:
    """A submission's last status change, or its receipt when it has none (SQL)."""
    last_change = (
        select(func.max(StatusChange.at))
        .where(StatusChange.submission_id == Submission.id)
        .correlate(Submission)
        .scalar_subquery()
    )
    return func.coalesce(last_change, Submission.received_at, type_=UTCDateTime())


MAX_SUBMISSION_ID = 2**31 - 1


def encode_cursor(last_id: int) -> str:
    """The opaque cursor of the page after the submission ``last_id``: 8 URL-safe characters."""
    return _b64(last_id.to_bytes(CURSOR_BYTES, "big"))


def decode_cursor(cursor: str) -> int:
    """The submission a cursor continues after; BadCursor when it is not shaped like one.

    Every string of the cursor's shape names a place in the list, so a client cannot
    hand back a cursor that breaks the query, only one that skips ahead.
    """
    if not _CURSOR.fullmatch(cursor):
        raise BadCursor(cursor)
    # Ids are 32-bit integers in the database: a place past the last one is the end.
    return min(int.from_bytes(_unb64(cursor), "big"), MAX_SUBMISSION_ID)


def _summary(submission: Submission, updated_at: datetime) -> SubmissionSummary:
    return SubmissionSummary(
        reference=submission.reference,
        application_reference=submission.application.reference,
        procedure=submission.procedure_id,
        department=submission.department_id,
        queue=submission.queue_id,
        status=submission.status,  # type: ignore[arg-type]
        received_at=submission.received_at,
        updated_at=updated_at,
        due_on=submission.due_on,
    )


def list_submissions(
    session: Session,
    client: ApiClient,
    *,
    status: str | None = None,
    procedure: str | None = None,
    updated_since: datetime | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
) -> SubmissionPage:
    """One page of the client's departments' submissions, oldest first.

    Pages are cut by submission order, not by time, so a submission that changes while
    a client pages through is neither skipped nor repeated; it is found again by the
    next ``updated_since`` poll. BadCursor for a malformed cursor.
    """
    updated_at = _updated_at()
    query = (
        select(Submission, updated_at)
        .where(Submission.department_id.in_(client.departments))
        .order_by(Submission.id)
        .limit(limit + 1)
    )
    if cursor is not None:
        query = query.where(Submission.id > decode_cursor(cursor))
    if status is not None:
        query = query.where(Submission.status == status)
    if procedure is not None:
        query = query.where(Submission.procedure_id == procedure)
    if updated_since is not None:
        query = query.where(updated_at >= updated_since)
    rows = session.execute(query).all()
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1][0].id) if len(rows) > limit else None
    return SubmissionPage(
        items=[_summary(submission, changed) for submission, changed in page],
        next_cursor=next_cursor,
    )


def find_submission(session: Session, client: ApiClient, reference: str) -> Submission | None:
    """The submission with this reference if it is in one of the client's departments."""
    return session.scalars(
        select(Submission).where(
            Submission.reference == reference,
            Submission.department_id.in_(client.departments),
        )
    ).first()


def visible_answers(
    stored: Mapping[str, Any], specs: Mapping[str, AnyField], *, my_number: bool
) -> tuple[dict[str, Any], list[str]]:
    """The answers a client may read, and the fields left out because they hold a My Number.

    A field the pinned definition does not describe is left out too: nothing shows
    that it holds no My Number.
    """
    answers: dict[str, Any] = {}
    withheld: list[str] = []
    for field_id, value in stored.items():
        spec = specs.get(field_id)
        if spec is None or (requires_purpose(spec) and not my_number):
            withheld.append(field_id)
            continue
        if isinstance(spec, GroupField) and not my_number:
            hidden = [
                member
                for member, member_spec in spec.fields.items()
                if requires_purpose(member_spec)  # type: ignore[arg-type]
            ]
            value = _without_members(value, hidden)
            withheld.extend(f"{field_id}.{member}" for member in hidden)
        # Sealed at rest; a client scoped for My Numbers gets them as the resident gave them.
        answers[field_id] = unsealed(value) if my_number else value
    return answers, withheld


def _without_members(value: Any, members: Sequence[str]) -> Any:
    """A group's answer (one record or a list of them) without some of its members."""
    if not members:
        return value
    if isinstance(value, list):
        return [_without_members(item, members) for item in value]
    if isinstance(value, dict):
        return {key: item for key, item in value.items() if key not in members}
    return value


def _actor_kind(actor: str, applicant_id: int) -> str:
    if actor == "system":
        return "system"
    if actor.startswith("api:"):
        return "api"
    return "applicant" if actor == f"user:{applicant_id}" else "staff"


def _document_info(index: int, entry: Mapping[str, Any]) -> DocumentInfo:
    return DocumentInfo(
        index=index,
        id=entry["id"],
        delivery=entry.get("delivery"),
        content_type=entry.get("content_type"),
        size=entry.get("size"),
        name=entry.get("name"),
        has_file=bool(entry.get("key")),
    )


def submission_detail(
    session: Session, client: ApiClient, submission: Submission
) -> SubmissionDetail:
    """A submission as the client may read it: answers (My Numbers per scope), documents, timeline.

    CatalogueError when the definitions it was filed on no longer compile: then nothing
    could tell which answers hold a My Number.
    """
    application = submission.application
    catalogue = catalogue_for_pins(session, application.pins)
    specs = catalogue.procedure(submission.procedure_id).fields
    answers, withheld = visible_answers(
        submission.answers, specs, my_number="personal:my_number" in client.scopes
    )
    version = session.scalars(
        select(DefinitionVersion.number).where(
            DefinitionVersion.id == submission.procedure_version_id
        )
    ).one()
    changes = submission.changes
    updated_at = max((change.at for change in changes), default=submission.received_at)
    summary = _summary(submission, updated_at)
    return SubmissionDetail(
        **summary.model_dump(),
        life_event=application.life_event_id,
        procedure_version=version,
        submitted_at=application.submitted_at,
        answers=answers,
        withheld_fields=withheld,
        documents=[
            _document_info(index, entry) for index, entry in enumerate(submission.documents)
        ],
        timeline=[
            TimelineEntry(
                from_status=change.from_status,  # type: ignore[arg-type]
                to_status=change.to_status,  # type: ignore[arg-type]
                at=change.at,
                by=_actor_kind(change.actor, application.applicant_id),  # type: ignore[arg-type]
            )
            for change in changes
        ],
    )


def document_entry(submission: Submission, index: int) -> Mapping[str, Any] | None:
    """The stored entry of an uploaded document, or None when there is no file at ``index``."""
    if not 0 <= index < len(submission.documents):
        return None
    entry = submission.documents[index]
    return entry if entry.get("key") else None


FOUR_EYES_DECISIONS = frozenset({"approved", "completed"})


def change_status(
    session: Session,
    client: ApiClient,
    submission: Submission,
    to_status: str,
    *,
    reason: str | None,
    now: datetime,
    timezone: str,
    is_business_day: Callable[[date], bool],
) -> StatusChange:
    """Move a submission as the client's department would; TransitionRefused when not allowed.

    A decision the definition wants two clerks for is never made by a system alone: it
    is proposed and confirmed in the clerk's workbench.
    """
    if submission.four_eyes and to_status in FOUR_EYES_DECISIONS:
        raise TransitionRefused(submission, to_status, "api")
    details = {"reason": clean_message(reason)} if reason else None
    return transition(
        session,
        submission,
        to_status,
        actor=client.actor,
        role="api",
        now=now,
        local_day=now.astimezone(ZoneInfo(timezone)).date(),
        is_business_day=is_business_day,
        details=details,
    )


def send_message(
    session: Session,
    client: ApiClient,
    submission: Submission,
    kind: str,
    body: str,
    *,
    now: datetime,
    timezone: str,
    is_business_day: Callable[[date], bool],
) -> CaseMessage:
    """Tell the applicant something (``message``) or ask them for information (``request``).

    The body is cleaned as a clerk's is (line breaks kept, other control characters
    removed); MessageRefused when no text is left or it is too long. A request goes
    through the workflow, which stops the clock: TransitionRefused when the status does
    not allow it, ProposalWaiting while a four-eyes decision waits. Audited under the
    client's id, without the text.
    """
    text = clean_message(body)
    if not text:
        raise MessageRefused("body has no text once control characters are removed")
    if len(text) > MAX_MESSAGE_LENGTH:
        raise MessageRefused(f"body is longer than {MAX_MESSAGE_LENGTH} characters")
    if kind == "request":
        if submission.proposed_decision:
            raise ProposalWaiting(submission.reference)
        if "awaiting_applicant" not in allowed_moves(submission, "api"):
            raise TransitionRefused(submission, "awaiting_applicant", "api")
        return request_information(
            session,
            submission,
            text,
            clerk_id=None,
            actor=client.actor,
            role="api",
            now=now,
            local_day=now.astimezone(ZoneInfo(timezone)).date(),
            is_business_day=is_business_day,
        )
    if kind != "message":
        raise ValueError(f"unknown message kind {kind!r}")
    message = CaseMessage(kind="message", author_id=None, body=text, created_at=now)
    submission.messages.append(message)
    record_event(
        session,
        actor=client.actor,
        action="submission.message_sent",
        subject_type="submission",
        subject_id=submission.reference,
    )
    return message
