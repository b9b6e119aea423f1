"""Write and verify the audit log.

Each entry's hash covers its own content and the previous entry's hash, so changing
or deleting any row breaks every hash after it, and ``verify_chain`` names the first
broken entry. Entries are written in the caller's transaction: the audit entry and
the change it records commit together or not at all.

A transaction reads the chain's head once, under the append lock on PostgreSQL, and
keeps it in ``session.info`` for its later entries: the lock is held until the
transaction ends, so no one else can append meanwhile. The head is forgotten when the
transaction (or a savepoint, whose rollback also releases the lock) ends. Entries are
added to the session, not flushed one by one; the unit of work inserts them in the
order they were added, so their ids follow the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session, SessionTransaction

from portal.audit.models import AuditEntry
from portal.database import utcnow

GENESIS_HASH = "0" * 64
# Serialises appends on PostgreSQL; SQLite writers are already serialised by
# BEGIN IMMEDIATE. The number is arbitrary but fixed.
_CHAIN_LOCK_KEY = 7_310_001
# session.info key: the hash of the last entry this transaction appended or read.
CHAIN_HEAD_KEY = "madoguchi.audit.chain_head"


def _entry_hash(entry: AuditEntry) -> str:
    content = {
        "previous_hash": entry.previous_hash,
        "occurred_at": entry.occurred_at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "subject_type": entry.subject_type,
        "subject_id": entry.subject_id,
        "details": entry.details,
        "request_id": entry.request_id,
    }
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _chain_head(session: Session) -> str:
    """The hash the next entry chains to; the first call in a transaction locks the chain."""
    head = session.info.get(CHAIN_HEAD_KEY)
    if head is not None:
        return str(head)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK_KEY})
    previous = session.scalars(
        select(AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1)
    ).first()
    return previous or GENESIS_HASH


@event.listens_for(Session, "after_transaction_end")
def _forget_chain_head(session: Session, transaction: SessionTransaction) -> None:
    """Forget the head when the transaction or a savepoint ends (not a flush's inner one)."""
    if transaction.parent is None or transaction.nested:
        session.info.pop(CHAIN_HEAD_KEY, None)


def record_event(
    session: Session,
    *,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    details: dict[str, Any] | None = None,
    request_id: str | None = None,
) -> AuditEntry:
    """Append one entry to the chain inside the caller's transaction.

    The entry is added to the session, not flushed: its ``id`` is set by the next flush.
    """
    entry = AuditEntry(
        occurred_at=utcnow().replace(microsecond=0),
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        details=details or {},
        request_id=request_id,
        previous_hash=_chain_head(session),
    )
    entry.entry_hash = _entry_hash(entry)
    session.add(entry)
    session.info[CHAIN_HEAD_KEY] = entry.entry_hash
    return entry


@dataclass(frozen=True)
class ChainReport:
    """The result of checking the chain: how many entries, and the first broken one."""

    checked: int
    broken_entry_id: int | None = None
    reason: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_entry_id is None


def _entries_in_order(session: Session, batch: int = 1000) -> Iterator[AuditEntry]:
    last_id = 0
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id


def verify_chain(session: Session) -> ChainReport:
    """Recompute every hash in order and report the first entry that does not match."""
    expected_previous = GENESIS_HASH
    checked = 0
    for entry in _entries_in_order(session):
        if entry.previous_hash != expected_previous:
            return ChainReport(checked, entry.id, "previous hash does not match the entry before")
        if _entry_hash(entry) != entry.entry_hash:
            return ChainReport(checked, entry.id, "content does not match its hash")
        expected_previous = entry.entry_hash
        checked += 1
    return ChainReport(checked)
