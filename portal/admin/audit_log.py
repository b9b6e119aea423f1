"""Reading the audit log for administrators: filters, and pages newest first.

Pages are cut by entry id (keyset), not by offset, so a page costs the same however
deep it is and entries written meanwhile never shift what the next page shows. Dates
are the city's calendar days, turned into UTC bounds here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.models import AuditEntry

PAGE_SIZE = 50
MAX_TEXT_FILTER = 120
MAX_ENTRY_ID = 2**63 - 1


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _entry_id(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and 0 < int(text) <= MAX_ENTRY_ID else None


@dataclass(frozen=True)
class AuditFilters:
    """What the log is narrowed to, and where the page starts.

    ``before`` shows the entries older than that id; ``after`` the ones newer (the
    page before). Filters that were not understood are named in ``invalid`` and left out.
    """

    actor: str = ""
    action_prefix: str = ""
    subject_type: str = ""
    subject_id: str = ""
    since: date | None = None
    until: date | None = None
    before: int | None = None
    after: int | None = None
    invalid: tuple[str, ...] = ()

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> AuditFilters:
        """Read the filters from a query string."""
        invalid = []
        days: dict[str, date | None] = {}
        for name in ("since", "until"):
            value = (args.get(name) or "").strip()
            try:
                days[name] = date.fromisoformat(value) if value else None
            except ValueError:
                days[name] = None
                invalid.append(name)

        def text(name: str) -> str:
            return (args.get(name) or "").strip()[:MAX_TEXT_FILTER]

        return cls(
            actor=text("actor"),
            action_prefix=text("action"),
            subject_type=text("subject_type"),
            subject_id=text("subject_id"),
            since=days["since"],
            until=days["until"],
            before=_entry_id(args.get("before")),
            after=_entry_id(args.get("after")),
            invalid=tuple(invalid),
        )

    @property
    def filtered(self) -> bool:
        return any((self.actor, self.action_prefix, self.subject_type, self.subject_id)) or any(
            day is not None for day in (self.since, self.until)
        )

    def to_query(self, **changes: Any) -> dict[str, Any]:
        """The filters as query arguments (only those set), the page place replaced."""
        values = {
            "actor": self.actor or None,
            "action": self.action_prefix or None,
            "subject_type": self.subject_type or None,
            "subject_id": self.subject_id or None,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            **changes,
        }
        return {key: value for key, value in values.items() if value is not None}


@dataclass(frozen=True)
class AuditPage:
    """Entries newest first, and the ids to continue from in each direction (None at an end)."""

    entries: list[AuditEntry]
    older_than: int | None
    newer_than: int | None


def _day_start(day: date, timezone: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(timezone))


def search_audit_log(
    session: Session, filters: AuditFilters, *, timezone: str, limit: int = PAGE_SIZE
) -> AuditPage:
    """One page of entries matching the filters, newest first.

    Actor, subject type and subject id match exactly; the action matches by prefix
    (``user.`` finds every change to accounts). ``since`` and ``until`` are whole days
    in ``timezone``, both included.
    """
    query = select(AuditEntry)
    if filters.actor:
        query = query.where(AuditEntry.actor == filters.actor)
    if filters.action_prefix:
        query = query.where(
            AuditEntry.action.like(f"{_escaped(filters.action_prefix)}%", escape="\\")
        )
    if filters.subject_type:
        query = query.where(AuditEntry.subject_type == filters.subject_type)
    if filters.subject_id:
        query = query.where(AuditEntry.subject_id == filters.subject_id)
    if filters.since is not None:
        query = query.where(AuditEntry.occurred_at >= _day_start(filters.since, timezone))
    if filters.until is not None:
        end = _day_start(filters.until + timedelta(days=1), timezone)
        query = query.where(AuditEntry.occurred_at < end)

    if filters.after is not None and filters.before is None:
        # The page before: the oldest entries newer than ``after``, read upwards.
        rows = list(
            session.scalars(
                query.where(AuditEntry.id > filters.after).order_by(AuditEntry.id).limit(limit + 1)
            )
        )
        more_newer = len(rows) > limit
        entries = list(reversed(rows[:limit]))
        more_older = True
    else:
        if filters.before is not None:
            query = query.where(AuditEntry.id < filters.before)
        rows = list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit + 1)))
        entries = rows[:limit]
        more_older = len(rows) > limit
        more_newer = filters.before is not None
    return AuditPage(
        entries=entries,
        older_than=entries[-1].id if entries and more_older else None,
        newer_than=entries[0].id if entries and more_newer else None,
    )
