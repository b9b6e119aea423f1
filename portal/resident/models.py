"""Drafts: a resident's unfinished life-event application, saved at every step."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.database import utcnow
from portal.extensions import db

DRAFT_STAGES = ("questionnaire", "choosing", "form", "review")


class Draft(db.Model):  # type: ignore[name-defined]
    """Answers given so far, pinned to the definition versions the draft started with.

    The id is a long random token: it appears in URLs, so it must not be guessable,
    and it is also checked against the owner on every request.
    """

    __tablename__ = "drafts"
    __table_args__ = (
        CheckConstraint("stage IN ('questionnaire', 'choosing', 'form', 'review')", name="stage"),
    )

    id: Mapped[str] = mapped_column(String(43), primary_key=True)
    owner_key: Mapped[str] = mapped_column(String(80), index=True)
    life_event_id: Mapped[str] = mapped_column(String(80))
    pins: Mapped[dict[str, int]] = mapped_column(JSON)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    procedure_ids: Mapped[list[str] | None] = mapped_column(JSON)
    stage: Mapped[str] = mapped_column(String(20), default="questionnaire")
    # Consents per register, the fetched extract, where each prefilled value came
    # from and the resident's corrections: see portal.resident.prefill.
    register: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Supporting documents by procedure and document id: an upload's storage key,
    # type, size and shown name, or the alternative chosen (later, counter, post).
    documents: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The private services (ids) the resident asked to be told when the draft is filed.
    private_services: Mapped[list[str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class RegisterReport(db.Model):  # type: ignore[name-defined]
    """A resident's report that a register holds a wrong value, for the owning department."""

    __tablename__ = "register_reports"
    __table_args__ = (CheckConstraint("status IN ('open', 'closed')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    person_key: Mapped[str] = mapped_column(String(80))
    draft_id: Mapped[str | None] = mapped_column(String(43))
    source: Mapped[str] = mapped_column(String(40))
    field_id: Mapped[str] = mapped_column(String(80))
    department_id: Mapped[str] = mapped_column(String(80), index=True)
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
