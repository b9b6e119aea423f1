"""The audit log is hash-chained: any edit is found, and the first broken entry named."""

import pytest
from sqlalchemy import update

from portal.audit.models import AuditEntry
from portal.audit.services import record_event, verify_chain
from portal.extensions import db


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
