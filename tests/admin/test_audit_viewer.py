"""The audit log viewer: filters, pages newest first, escaped details, and the chain check
finding a row edited behind the application's back."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select, text

from portal.admin.audit_log import PAGE_SIZE
from portal.audit.models import AuditEntry
from portal.audit.services import record_event
from portal.extensions import db
from tests.backoffice.conftest import Office


def _record(app, count: int = 1, **values) -> list[int]:
    with app.app_context():
        entries = [
            record_event(
                db.session,
                actor=values.get("actor", "user:7"),
                action=values.get("action", "submission.viewed"),
                subject_type=values.get("subject_type", "submission"),
                subject_id=values.get("subject_id", f"MD-2026-{number:06d}-1"),
                details=values.get("details"),
            )
            for number in range(count)
        ]
        db.session.commit()
        return [entry.id for entry in entries]


def _entry_ids(page: str) -> list[int]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page else ""
    return [int(cell.split("</th>", 1)[0]) for cell in body.split('<th scope="row">')[1:]]


def test_filters_by_actor_action_prefix_and_subject(desk: Office, client, app):
    viewed = _record(app, 2)
    (role_change,) = _record(
        app, actor="user:9", action="user.disabled", subject_type="user", subject_id="42"
    )
    (ended,) = _record(
        app, actor="user:9", action="user.sessions_ended", subject_type="user", subject_id="43"
    )
    desk.sign_in("admin")
    by_actor = client.get("/admin/audit?actor=user:9").get_data(as_text=True)
    assert _entry_ids(by_actor) == [ended, role_change]
    by_prefix = client.get("/admin/audit?action=user.").get_data(as_text=True)
    assert _entry_ids(by_prefix) == [ended, role_change]
    # The prefix is literal: "_" and "%" are not wildcards.
    assert _entry_ids(client.get("/admin/audit?action=user_").get_data(as_text=True)) == []
    by_subject = client.get("/admin/audit?subject_type=user&subject_id=42").get_data(as_text=True)
    assert _entry_ids(by_subject) == [role_change]
    by_type = client.get("/admin/audit?subject_type=submission").get_data(as_text=True)
    assert set(viewed) <= set(_entry_ids(by_type)) and role_change not in _entry_ids(by_type)


def test_a_date_range_is_whole_days_in_the_citys_time(desk: Office, client, app):
    with app.app_context():
        moments = {
            "before": datetime(2026, 11, 30, 14, 59, tzinfo=UTC),  # 30 Nov 23:59 in Japan
            "first": datetime(2026, 11, 30, 15, 0, tzinfo=UTC),  # 1 Dec 00:00 in Japan
            "last": datetime(2026, 12, 2, 14, 59, tzinfo=UTC),  # 2 Dec 23:59 in Japan
            "after": datetime(2026, 12, 2, 15, 0, tzinfo=UTC),
        }
        # Rows written as they stand; the viewer reads dates, not the chain.
        for name, moment in moments.items():
            db.session.execute(
                insert(AuditEntry).values(
                    occurred_at=moment,
                    actor="system",
                    action=f"test.{name}",
                    subject_type="test",
                    subject_id=name,
                    details={},
                    previous_hash="0" * 64,
                    entry_hash=name.ljust(64, "0"),
                )
            )
        db.session.commit()
    desk.sign_in("admin")
    page = client.get("/admin/audit?since=2026-12-01&until=2026-12-02").get_data(as_text=True)
    assert "test.first" in page and "test.last" in page
    assert "test.before" not in page and "test.after" not in page
    odd = client.get("/admin/audit?since=yesterday").get_data(as_text=True)
    assert "since" in odd and 'role="alert"' in odd and "test.before" in odd


def test_pages_run_newest_first_by_keyset(desk: Office, client, app):
    ids = _record(app, PAGE_SIZE + 5)
    desk.sign_in("admin")
    first = client.get("/admin/audit?subject_type=submission").get_data(as_text=True)
    assert _entry_ids(first) == ids[::-1][:PAGE_SIZE]
    older = f"/admin/audit?subject_type=submission&before={ids[5]}"
    assert f'href="{older.replace("&", "&amp;")}"' in first
    second = client.get(older).get_data(as_text=True)
    assert _entry_ids(second) == ids[4::-1]
    assert 'rel="next"' not in second
    newer = client.get(f"/admin/audit?subject_type=submission&after={ids[4]}").get_data(
        as_text=True
    )
    assert _entry_ids(newer) == ids[::-1][:PAGE_SIZE]


def test_details_are_shown_escaped(desk: Office, client, app):
    _record(app, details={"reason": "<script>alert(1)</script>"}, subject_id="<b>x</b>")
    desk.sign_in("admin")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "<b>x</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;x&lt;/b&gt;" in page


def test_the_check_finds_a_row_edited_with_raw_sql_and_so_does_the_cli(desk, client, app):
    ids = _record(app, 3)
    desk.sign_in("admin")
    intact = client.get("/admin/audit/verify").get_data(as_text=True)
    assert 'role="alert"' not in intact and 'role="status"' in intact
    with app.app_context():
        # Straight SQL, past the ORM's append-only guard, as someone with database access could.
        with db.engine.begin() as connection:
            connection.execute(
                text("UPDATE audit_entries SET actor = 'user:1' WHERE id = :id"), {"id": ids[1]}
            )
        assert db.session.scalars(
            select(AuditEntry.actor).where(AuditEntry.id == ids[1])
        ).one() == ("user:1")
    broken = client.get("/admin/audit/verify").get_data(as_text=True)
    assert 'role="alert"' in broken
    assert "<code>user:1</code>" in broken  # the edited entry is shown
    assert f'href="/admin/audit?before={ids[1] + 1}"' in broken
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and f"broken at entry {ids[1]}" in result.output
