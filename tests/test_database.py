"""Database conventions: UTC timestamps and the SQLite settings of the embedded default."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select, text

from portal.audit.models import AuditEntry
from portal.audit.services import record_event
from portal.extensions import db
from tests.conftest import csrf_token, using_postgres

TOKYO = timezone(timedelta(hours=9))


def test_times_come_back_as_aware_utc(app):
    with app.app_context():
        entry = record_event(
            db.session, actor="system", action="test", subject_type="t", subject_id="1"
        )
        db.session.commit()
        entry_id = entry.id
        db.session.expunge_all()
        stored = db.session.get(AuditEntry, entry_id)
        assert stored.occurred_at.tzinfo is not None
        assert stored.occurred_at.utcoffset() == timedelta(0)
        assert abs(datetime.now(UTC) - stored.occurred_at) < timedelta(minutes=1)


def test_local_times_are_converted_to_utc_on_the_way_in(app):
    with app.app_context():
        entry = record_event(
            db.session, actor="system", action="test", subject_type="t", subject_id="2"
        )
        db.session.flush()
        db.session.execute(
            AuditEntry.__table__.update()
            .where(AuditEntry.id == entry.id)
            .values(occurred_at=datetime(2026, 4, 1, 9, 0, tzinfo=TOKYO))
        )
        db.session.commit()
        value = db.session.scalars(select(AuditEntry.occurred_at)).one()
        assert value == datetime(2026, 4, 1, 0, 0, tzinfo=UTC)


def test_naive_times_are_refused(app):
    with app.app_context():
        with pytest.raises(Exception, match="naive datetime"):
            db.session.execute(
                AuditEntry.__table__.update().values(occurred_at=datetime(2026, 4, 1))  # noqa: DTZ001
            )
        db.session.rollback()


def test_local_time_filter_shows_the_city_time(app):
    with app.test_request_context():
        shown = app.jinja_env.filters["localtime"](datetime(2026, 4, 1, 0, 0, tzinfo=UTC))
        assert shown.hour == 9 and str(shown.tzinfo) == "Asia/Tokyo"


@pytest.mark.skipif(using_postgres(), reason="SQLite settings of the embedded default")
def test_sqlite_runs_in_wal_with_foreign_keys_and_a_busy_timeout(app):
    with app.app_context(), db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


@pytest.mark.skipif(using_postgres(), reason="SQLite settings of the embedded default")
def test_sqlite_writes_begin_immediate_and_reads_do_not(app, client):
    begins: list[str] = []
    with app.app_context():
        engine = db.engine

    def remember(_conn, _cursor, statement, *_args):
        if statement.startswith("BEGIN"):
            begins.append(statement)

    event.listen(engine, "before_cursor_execute", remember)
    try:
        client.get("/readyz")
        assert begins and all(statement == "BEGIN" for statement in begins)
        begins.clear()
        with app.test_request_context(method="POST"):
            app.preprocess_request()
            db.session.execute(text("SELECT 1"))
            db.session.rollback()
        assert begins == ["BEGIN IMMEDIATE"]
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    assert csrf_token(client)
