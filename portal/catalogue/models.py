"""Stored, numbered versions of the procedure definitions.

A version's text never changes once stored: editing makes a new version. Drafts and
submissions point at the versions they started with, so publishing a change never
alters anything under a resident or a clerk.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.database import utcnow
from portal.extensions import db

DEFINITION_KINDS = ("procedure", "life_event", "dictionary", "departments")
VERSION_STATUSES = ("draft", "published", "retired")


class DefinitionVersion(db.Model):  # type: ignore[name-defined]
    """One immutable version of one definition file."""

    __tablename__ = "definition_versions"
    __table_args__ = (
        UniqueConstraint("kind", "definition_id", "number", name="uq_definition_versions_number"),
        CheckConstraint(
            "kind IN ('procedure', 'life_event', 'dictionary', 'departments')", name="kind"
        ),
        CheckConstraint("status IN ('draft', 'published', 'retired')", name="status"),
        CheckConstraint("number >= 1", name="number_positive"),
        Index("ix_definition_versions_lookup", "kind", "definition_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    definition_id: Mapped[str] = mapped_column(String(80))
    number: Mapped[int]
    status: Mapped[str] = mapped_column(String(20))
    content_hash: Mapped[str] = mapped_column(String(64))
    source_name: Mapped[str] = mapped_column(String(255))
    source_text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120))
    published_at: Mapped[datetime | None]
    retired_at: Mapped[datetime | None]

    @property
    def label(self) -> str:
        """How people refer to it: ``nhi_funeral_grant v3``."""
        return f"{self.definition_id} v{self.number}"
