"""Applications and the submissions they file: what residents send and clerks decide.

One application comes from one submit of a life event's combined form; it holds one
submission per procedure, each routed to a department's queue. People see reference
numbers (``MD-2026-000123`` for the application, ``MD-2026-000123-1`` for its first
submission), never database ids.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.database import utcnow
from portal.extensions import db

SUBMISSION_STATUSES = (
    "received",
    "in_review",
    "awaiting_applicant",
    "approved",
    "rejected",
    "completed",
    "withdrawn",
)


class ReferenceCounter(db.Model):  # type: ignore[name-defined]
    """The last application number given out in a year."""

    __tablename__ = "reference_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(default=0)


class Application(db.Model):  # type: ignore[name-defined]
    """Everything one resident filed in one go for one life event."""

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    # The draft it came from: unique, so pressing submit twice files once.
    draft_id: Mapped[str] = mapped_column(String(43), unique=True)
    life_event_id: Mapped[str] = mapped_column(String(80))
    applicant_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    applicant_name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(5))
    pins: Mapped[dict[str, int]] = mapped_column(JSON)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    register: Mapped[dict[str, Any]] = mapped_column(JSON)
    checked_against_register: Mapped[bool]
    # Filed by a representative: for whom, how it is proven, in what scope (see
    # portal.resident.representation); the applicant is who acted.
    representation: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    assisted: Mapped[bool] = mapped_column(default=False)
    # Filed at the counter: the clerk who assisted, and the identity check they recorded
    # (see portal.backoffice.counter); never a whole document number or a My Number.
    assisted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    identity_check: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The counter-only procedures' pre-filled forms by procedure id: storage keys of PDFs.
    counter_forms: Mapped[dict[str, str] | None] = mapped_column(JSON)
    # The private services the resident chose to tell, each ``{"id": ..., "told": bool}``:
    # told when a company's endpoint is sent the change, else the resident contacts them.
    private_services: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    receipt_key: Mapped[str | None] = mapped_column(String(120))
    # Retention: when the register extract was deleted, and when everything personal was.
    register_removed_at: Mapped[datetime | None]
    anonymised_at: Mapped[datetime | None]

    submissions: Mapped[list[Submission]] = relationship(
        back_populates="application", order_by="Submission.number"
    )


class Submission(db.Model):  # type: ignore[name-defined]
    """One procedure filed, in one department's queue, moving through the workflow."""

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("application_id", "number", name="uq_submissions_number"),
        CheckConstraint(
            "status IN ('received', 'in_review', 'awaiting_applicant', 'approved', "
            "'rejected', 'completed', 'withdrawn')",
            name="status",
        ),
        Index("ix_submissions_queue_status", "queue_id", "status", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    number: Mapped[int]
    reference: Mapped[str] = mapped_column(String(24), unique=True)
    procedure_id: Mapped[str] = mapped_column(String(80))
    procedure_version_id: Mapped[int] = mapped_column(ForeignKey("definition_versions.id"))
    department_id: Mapped[str] = mapped_column(String(80))
    queue_id: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(24), default="received")
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    documents: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    four_eyes: Mapped[bool] = mapped_column(default=False)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_on: Mapped[date | None]
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The service-level clock stops while the applicant is asked for information.
    paused_since: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    decision_key: Mapped[str | None] = mapped_column(String(120))
    # Why it was decided so: the decision notice states it.
    decision_reason: Mapped[str | None] = mapped_column(Text)
    # Four eyes: one clerk's approval waits here until a second clerk confirms it.
    proposed_decision: Mapped[str | None] = mapped_column(String(24))
    proposed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[datetime | None]
    proposal_reason: Mapped[str | None] = mapped_column(Text)
    # Retention: when the uploaded files were deleted, and when the answers and messages were.
    attachments_removed_at: Mapped[datetime | None]
    anonymised_at: Mapped[datetime | None]

    application: Mapped[Application] = relationship(back_populates="submissions")
    changes: Mapped[list[StatusChange]] = relationship(
        back_populates="submission", order_by="StatusChange.id"
    )
    messages: Mapped[list[CaseMessage]] = relationship(
        back_populates="submission", order_by="CaseMessage.id"
    )


class StatusChange(db.Model):  # type: ignore[name-defined]
    """One step of a submission through the workflow: the timeline residents and clerks see."""

    __tablename__ = "status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    # "user:<id>" or "system": who moved it.
    actor: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="changes")


MESSAGE_KINDS = ("request", "message", "reply", "note")


class CaseMessage(db.Model):  # type: ignore[name-defined]
    """A message on a submission.

    ``request``: the clerk asks the applicant for information (the clock stops);
    ``message``: the clerk tells the applicant something; ``reply``: the applicant's
    answer, with uploads; ``note``: an internal note the applicant never sees.
    """

    __tablename__ = "case_messages"
    __table_args__ = (
        CheckConstraint("kind IN ('request', 'message', 'reply', 'note')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    # Uploads with a reply: storage key, type, size, shown name.
    documents: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A request's answer.
    answered_at: Mapped[datetime | None]

    submission: Mapped[Submission] = relationship(back_populates="messages")

    @property
    def visible_to_applicant(self) -> bool:
        return self.kind != "note"


class SavedView(db.Model):  # type: ignore[name-defined]
    """A clerk's named work-list query (list, filters, sort), to open again in one click."""

    __tablename__ = "saved_views"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    # The work list's URL query as text values, e.g. {"list": "overdue", "sort": "due_on"}.
    query: Mapped[dict[str, str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# The work lists read one (department or assignee, status) slice at a time in
# (sort column, id) order, so every page is an index range scan whatever the table's
# size; admins, who see every department, read by status alone (0016_worklist).
Index(
    "ix_submissions_department_status_received",
    Submission.department_id,
    Submission.status,
    Submission.received_at,
    Submission.id,
)
Index(
    "ix_submissions_department_status_due",
    Submission.department_id,
    Submission.status,
    Submission.due_on,
    Submission.id,
)
Index(
    "ix_submissions_assignee_status_received",
    Submission.assignee_id,
    Submission.status,
    Submission.received_at,
    Submission.id,
)
Index(
    "ix_submissions_assignee_status_due",
    Submission.assignee_id,
    Submission.status,
    Submission.due_on,
    Submission.id,
)
Index("ix_submissions_status_received", Submission.status, Submission.received_at, Submission.id)
Index("ix_submissions_status_due", Submission.status, Submission.due_on, Submission.id)


# A counter session's drafts are owned by `counter:<session id>`. An assisted session
# serves one visit: after its lifetime it is over, whatever the clerk does.
COUNTER_OWNER_PREFIX = "counter:"
COUNTER_SESSION_LIFETIME = timedelta(hours=2)


class CounterSession(db.Model):  # type: ignore[name-defined]
    """One clerk's session with one walk-in resident, from the identity check to its end.

    The id is a long random token: it appears in URLs and in the owner key of the
    session's drafts. Pending until the clerk confirms the register match.
    """

    __tablename__ = "counter_sessions"

    id: Mapped[str] = mapped_column(String(43), primary_key=True)
    clerk_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    person_key: Mapped[str] = mapped_column(String(80))
    # The resident's name as the register holds it (the application's applicant name).
    resident_name: Mapped[str] = mapped_column(String(200))
    identity_check: Mapped[dict[str, Any]] = mapped_column(JSON)
    # References of the applications filed in this session, in order.
    applications: Mapped[list[str]] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]

    @property
    def owner_key(self) -> str:
        """The owner key of the drafts started in this session."""
        return f"{COUNTER_OWNER_PREFIX}{self.id}"

    def live(self, now: datetime) -> bool:
        """Whether the clerk may still file in this session."""
        return (
            self.confirmed_at is not None
            and self.ended_at is None
            and now < self.started_at + COUNTER_SESSION_LIFETIME
        )
