"""What the KPI dashboard keeps that no other table holds: where abandoned drafts stopped.

Drafts are deleted when they expire; before that, the purge counts them here by the
hour they were last saved, their life event and the page they stopped at. Counts only:
nothing says whose draft it was or what it held.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db

ABANDONED_STAGES = ("questionnaire", "choosing", "form", "review")


class AbandonedDrafts(db.Model):  # type: ignore[name-defined]
    """How many expired drafts of a life event stopped at one page, per hour last saved."""

    __tablename__ = "abandoned_drafts"
    __table_args__ = (
        CheckConstraint("stage IN ('questionnaire', 'choosing', 'form', 'review')", name="stage"),
        CheckConstraint("count > 0", name="count_positive"),
    )

    # The hour (UTC) the drafts were last saved: any time zone's days and weeks can be
    # told from it.
    last_saved_hour: Mapped[datetime] = mapped_column(primary_key=True)
    life_event_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    stage: Mapped[str] = mapped_column(String(20), primary_key=True)
    # The page key (``owner.step``) for the questionnaire and the form, else "".
    step: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int]
