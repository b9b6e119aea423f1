"""The audit log is hash-chained: any edit is found, and the first broken entry named."""

import threading

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from portal.audit.models import AuditEntry
from portal.audit.services import ChainReport, record_event, verify_chain
from portal.extensions import db
from tests.conftest import using_postgres


def _record_three():
    for number in range(3):
        record_event(
            db.session,
            actor="clerk:tanaka",
            action="submission.viewed",
            subject_type="submission",
            subject_id=f"MD-2026-00000{number}-1",
            details={"queue": "citizens"},
        )
    db.session.commit()
    return db.session.scalars(db.select(AuditEntry).order_by(AuditEntry.id)).all()


def test_chain_of_untouched_entries_is_intact(app):
    with app.app_context():
        entries = _record_three()
        assert entries[0].previous_hash == "0" * 64
        assert entries[1].previous_hash == entries[0].entry_hash
        report = verify_chain(db.session)
        assert report.intact and report.checked == 3


def test_editing_a_row_in_the_database_is_found_at_that_row(app):
    with app.app_context():
        entries = _record_three()
        db.session.execute(
            update(AuditEntry).where(AuditEntry.id == entries[1].id).values(actor="clerk:someone")
        )
        db.session.commit()
        report = verify_chain(db.session)
        assert not report.intact
        assert report.broken_entry_id == entries[1].id
        assert report.checked == 1


def test_deleting_a_row_is_found_at_the_next_row(app):
    with app.app_context():
        entries = _record_three()
        db.session.execute(db.delete(AuditEntry).where(AuditEntry.id == entries[1].id))
        db.session.commit()
        assert verify_chain(db.session).broken_entry_id == entries[2].id


def test_the_orm_refuses_to_change_an_entry(app):
    with app.app_context():
        entry = _record_three()[0]
        entry.actor = "clerk:else"
        with pytest.raises(PermissionError):
            db.session.commit()
        db.session.rollback()


def test_cli_verify_names_the_broken_entry(app):
    runner = app.test_cli_runner()
    with app.app_context():
        broken_id = _record_three()[2].id
        intact = runner.invoke(args=["audit", "verify"])
        assert intact.exit_code == 0
        assert "intact: 3 entries" in intact.output
        db.session.execute(
            update(AuditEntry).where(AuditEntry.id == broken_id).values(details={"x": 1})
        )
        db.session.commit()
    broken = runner.invoke(args=["audit", "verify"])
    assert broken.exit_code == 1
    assert f"broken at entry {broken_id}" in broken.output


def _record(session, subject_id: str) -> AuditEntry:
    return record_event(
        session,
        actor="system",
        action="test.recorded",
        subject_type="test",
        subject_id=subject_id,
    )


def _chain(session) -> list[tuple[int, str, str, str]]:
    """Every entry in id order: id, subject, previous hash, own hash."""
    rows = session.execute(
        select(
            AuditEntry.id, AuditEntry.subject_id, AuditEntry.previous_hash, AuditEntry.entry_hash
        ).order_by(AuditEntry.id)
    )
    return [tuple(row) for row in rows]


def test_entries_of_one_transaction_are_stored_in_chain_order(app):
    with app.app_context():
        # Five entries inserted by one flush, as a submit's are, then three more after a
        # query that flushed the pending ones.
        for number in range(5):
            _record(db.session, f"e{number}")
        db.session.scalars(select(AuditEntry.id)).all()
        for number in range(5, 8):
            _record(db.session, f"e{number}")
        db.session.commit()
        chain = _chain(db.session)
        assert [subject for _id, subject, _previous, _hash in chain] == [
            f"e{number}" for number in range(8)
        ]
        ids = [entry_id for entry_id, *_rest in chain]
        assert ids == sorted(ids)
        assert [previous for _id, _subject, previous, _hash in chain] == [
            "0" * 64,
            *(entry_hash for *_rest, entry_hash in chain[:-1]),
        ]
        assert verify_chain(db.session) == ChainReport(8)


def test_the_head_is_read_once_per_transaction_and_entries_are_not_flushed_one_by_one(app):
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

        def remember(_conn, _cursor, statement, *_args):
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", remember)
        try:
            for number in range(3):
                _record(db.session, f"first-{number}")
            after_first_transaction = list(statements)
            db.session.commit()
            statements.clear()
            _record(db.session, "second")
            db.session.commit()
        finally:
            event.remove(engine, "before_cursor_execute", remember)
        reads = [s for s in after_first_transaction if s.lstrip().startswith("SELECT")]
        assert len(reads) == (2 if using_postgres() else 1)  # the lock, then the head
        assert not any("INSERT" in s for s in after_first_transaction)
        # The next transaction reads the head again: the chain goes on from the first.
        assert any("FROM audit_entries" in s for s in statements)
        assert verify_chain(db.session) == ChainReport(4)


def test_a_rolled_back_transaction_leaves_no_link_behind(app):
    with app.app_context():
        _record(db.session, "kept")
        db.session.commit()
        _record(db.session, "rolled back")
        db.session.rollback()
        _record(db.session, "after")
        db.session.commit()
        assert [subject for _id, subject, *_rest in _chain(db.session)] == ["kept", "after"]
        assert verify_chain(db.session) == ChainReport(2)


def test_a_rolled_back_savepoint_leaves_no_link_behind(app):
    with app.app_context():
        _record(db.session, "before")
        savepoint = db.session.begin_nested()
        _record(db.session, "in the savepoint")
        savepoint.rollback()
        _record(db.session, "after")
        with db.session.begin_nested():
            _record(db.session, "in a kept savepoint")
        _record(db.session, "last")
        db.session.commit()
        assert [subject for _id, subject, *_rest in _chain(db.session)] == [
            "before",
            "after",
            "in a kept savepoint",
            "last",
        ]
        assert verify_chain(db.session) == ChainReport(4)


def test_a_session_closed_without_commit_starts_over_from_the_stored_head(app):
    with app.app_context():
        with Session(db.engine) as session:
            _record(session, "stored")
            session.commit()
            _record(session, "dropped")
            session.close()
            _record(session, "next")
            session.commit()
        assert [subject for _id, subject, *_rest in _chain(db.session)] == ["stored", "next"]
        assert verify_chain(db.session) == ChainReport(2)


def test_a_writer_that_waits_for_another_chains_to_its_entries(app):
    with app.app_context():
        engine = db.engine
        written = threading.Event()

        def other_writer() -> None:
            with Session(engine) as session:
                _record(session, "other")
                session.commit()
            written.set()

        with Session(engine) as session:
            _record(session, "first")
            session.flush()  # holds the append lock (PostgreSQL) or the write lock (SQLite)
            thread = threading.Thread(target=other_writer)
            thread.start()
            # The other writer waits for this transaction; give it time to be waiting.
            assert not written.wait(0.5)
            _record(session, "second")
            session.commit()
        thread.join(timeout=30)
        assert written.is_set()
        assert [subject for _id, subject, *_rest in _chain(db.session)] == [
            "first",
            "second",
            "other",
        ]
        assert verify_chain(db.session) == ChainReport(3)
