"""The one status workflow of a submission, and the messages that move it.

received → in review → awaiting applicant ↔ in review → approved | rejected | completed,
and withdrawn by the applicant before a decision. Every change goes through
`transition`, which refuses a move the workflow does not allow (or that the actor may
not make) and writes the timeline row and the audit entry in the caller's transaction.
While the applicant is asked for information the service-level clock stops; their
answer restarts it and moves the due date on by the business days it was stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from portal.api.webhooks import notify_webhooks
from portal.audit.services import record_event
from portal.backoffice.models import CaseMessage, StatusChange, Submission
from portal.definitions.routing import due_date
from portal.notifications.services import notify_if_wanted

# "api": a department's system through the back-office API, making a clerk's moves.
ActorRole = Literal["applicant", "clerk", "system", "api"]

# (from, to) → who may make that move.
MOVES: dict[tuple[str, str], frozenset[ActorRole]] = {
    ("received", "in_review"): frozenset({"clerk", "api"}),
    ("in_review", "awaiting_applicant"): frozenset({"clerk", "api"}),
    ("awaiting_applicant", "in_review"): frozenset({"applicant", "clerk", "api"}),
    ("in_review", "approved"): frozenset({"clerk", "api"}),
    ("in_review", "rejected"): frozenset({"clerk", "api"}),
    ("in_review", "completed"): frozenset({"clerk", "api"}),
    ("approved", "completed"): frozenset({"clerk", "system", "api"}),
    ("received", "withdrawn"): frozenset({"applicant"}),
    ("in_review", "withdrawn"): frozenset({"applicant"}),
    ("awaiting_applicant", "withdrawn"): frozenset({"applicant"}),
}
DECIDED = frozenset({"approved", "rejected", "completed"})
CLOSED = DECIDED | {"withdrawn"}
MAX_MESSAGE_LENGTH = 4000


class TransitionRefused(Exception):
    """A status change the workflow does not allow, or not to this actor."""

    def __init__(self, submission: Submission, to_status: str, role: ActorRole) -> None:
        super().__init__(f"{submission.reference}: {submission.status} → {to_status} by {role}")
        self.from_status = submission.status
        self.to_status = to_status
        self.role = role


def allowed_moves(submission: Submission, role: ActorRole) -> list[str]:
    """The statuses this actor may move the submission to now."""
    return [
        to for (start, to), roles in MOVES.items() if start == submission.status and role in roles
    ]


def may_withdraw(submission: Submission) -> bool:
    """Whether the applicant may still withdraw it (not decided, not withdrawn)."""
    return "withdrawn" in allowed_moves(submission, "applicant")


def transition(
    session: Session,
    submission: Submission,
    to_status: str,
    *,
    actor: str,
    role: ActorRole,
    now: datetime,
    local_day: date,
    is_business_day: Callable[[date], bool],
    details: dict[str, Any] | None = None,
) -> StatusChange:
    """Move a submission to ``to_status`` or raise TransitionRefused; never commits."""
    if role not in MOVES.get((submission.status, to_status), frozenset()):
        raise TransitionRefused(submission, to_status, role)
    from_status = submission.status
    if to_status == "awaiting_applicant":
        submission.paused_since = now
    elif from_status == "awaiting_applicant":
        _resume_clock(submission, local_day, is_business_day)
    if to_status in DECIDED and submission.decided_at is None:
        submission.decided_at = now
    submission.status = to_status
    change = StatusChange(from_status=from_status, to_status=to_status, actor=actor, at=now)
    submission.changes.append(change)
    if to_status == "awaiting_applicant":
        requests = sum(1 for message in submission.messages if message.kind == "request")
        notify_if_wanted(session, "information_requested", submission, occasion=str(requests))
    elif to_status in DECIDED:
        notify_if_wanted(session, "decided", submission)
    record_event(
        session,
        actor=actor,
        action="submission.status_changed",
        subject_type="submission",
        subject_id=submission.reference,
        details={"from": from_status, "to": to_status, **(details or {})},
    )
    notify_webhooks(session, "submission.status_changed", submission)
    return change


def _resume_clock(
    submission: Submission, local_day: date, is_business_day: Callable[[date], bool]
) -> None:
    """Move the due date on by the business days the clock was stopped."""
    paused = submission.paused_since
    submission.paused_since = None
    if paused is None or submission.due_on is None:
        return
    stopped = _business_days_between(paused.date(), local_day, is_business_day)
    if stopped:
        submission.due_on = due_date(submission.due_on, stopped, is_business_day)


def _business_days_between(
    start: date, end: date, is_business_day: Callable[[date], bool]
) -> int:
    """Business days after ``start`` up to and including ``end``."""
    count = 0
    day = start
    while day < end:
        day = date.fromordinal(day.toordinal() + 1)
        if is_business_day(day):
            count += 1
    return count


def open_request(submission: Submission) -> CaseMessage | None:
    """The clerk's request for information still waiting for an answer, if any.

    Only while the submission waits for the applicant: a clerk who takes it back into
    review without an answer has withdrawn the question.
    """
    if submission.status != "awaiting_applicant":
        return None
    for message in reversed(submission.messages):
        if message.kind == "request" and message.answered_at is None:
            return message
    return None


def clean_message(body: str | None) -> str:
    """A message as typed, with line breaks kept and other control characters removed."""
    text = (body or "").replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in text if ch == "\n" or ch.isprintable()).strip()


def request_information(
    session: Session,
    submission: Submission,
    body: str,
    *,
    clerk_id: int | None,
    now: datetime,
    local_day: date,
    is_business_day: Callable[[date], bool],
    actor: str | None = None,
    role: ActorRole = "clerk",
) -> CaseMessage:
    """Ask the applicant for information: the message, then the paused status.

    A clerk asks as ``user:<clerk_id>``; a department's system through the API passes
    no clerk, its own ``actor`` and the role ``api``.
    """
    message = CaseMessage(kind="request", author_id=clerk_id, body=body, created_at=now)
    submission.messages.append(message)
    transition(
        session,
        submission,
        "awaiting_applicant",
        actor=actor or f"user:{clerk_id}",
        role=role,
        now=now,
        local_day=local_day,
        is_business_day=is_business_day,
    )
    return message


def answer_request(
    session: Session,
    submission: Submission,
    body: str,
    *,
    applicant_id: int,
    documents: Sequence[dict[str, Any]],
    now: datetime,
    local_day: date,
    is_business_day: Callable[[date], bool],
) -> CaseMessage:
    """The applicant's answer to the open request: kept with its uploads; the clock restarts."""
    request = open_request(submission)
    if request is None or submission.status != "awaiting_applicant":
        raise TransitionRefused(submission, "in_review", "applicant")
    request.answered_at = now
    reply = CaseMessage(
        kind="reply", author_id=applicant_id, body=body, documents=list(documents), created_at=now
    )
    submission.messages.append(reply)
    transition(
        session,
        submission,
        "in_review",
        actor=f"user:{applicant_id}",
        role="applicant",
        now=now,
        local_day=local_day,
        is_business_day=is_business_day,
        details={"answered_request": True},
    )
    return reply
