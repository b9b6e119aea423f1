"""Stored, numbered versions of the procedure definitions.

A published or retired version's text never changes: editing makes a new version.
Only a draft version's text is edited in place, by administrators, until it is
published. Resident drafts and submissions point at the published versions they
started with, so publishing a change never alters anything under a resident or a clerk.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.database import utcnow
from portal.extensions import db

DEFINITION_KINDS = ("procedure", "life_event", "dictionary", "departments")
VERSION_STATUSES = ("draft", "published", "retired")
# Where a version came from: `flask procedures load` reading the files, or the admin pages.
VERSION_ORIGINS = ("files", "admin")


class DefinitionVersion(db.Model):  # type: ignore[name-defined]
    """One version of one definition file; immutable once it is no longer a draft.

    A draft's `content_hash` is the SHA-256 of its exact text (it changes with every
    save, so a cached catalogue is never stale); publishing sets the engine's hash.
    """

    __tablename__ = "definition_versions"
    __table_args__ = (
        UniqueConstraint("kind", "definition_id", "number", name="uq_definition_versions_number"),
        CheckConstraint(
            "kind IN ('procedure', 'life_event', 'dictionary', 'departments')", name="kind"
        ),
        CheckConstraint("status IN ('draft', 'published', 'retired')", name="status"),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint("origin IN ('files', 'admin')", name="origin"),
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
    origin: Mapped[str] = mapped_column(String(20), default="files", server_default="files")

    @property
    def label(self) -> str:
        """How people refer to it: ``nhi_funeral_grant v3``."""
        return f"{self.definition_id} v{self.number}"
