"""Work lists: who sees what, each list and filter, keyset pages, claiming without races."""

from __future__ import annotations

import base64
import json
import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, event, func, select
from sqlalchemy.orm import Session

from portal.audit.models import AuditEntry
from portal.audit.services import verify_chain
from portal.backoffice import worklist
from portal.backoffice.models import Application, SavedView, StatusChange, Submission
from portal.extensions import db
from portal.identity.models import User
from tests.backoffice.conftest import RECEIVED
from tests.conftest import using_postgres

TOKYO = ZoneInfo("Asia/Tokyo")
DAY = worklist.WorkDay(today=date(2026, 12, 1), zone=TOKYO)  # a Tuesday
NOW = RECEIVED + timedelta(hours=2)


def _references(page_or_items) -> list[str]:
    items = page_or_items.items if isinstance(page_or_items, worklist.Page) else page_or_items
    return [item.reference for item in items]


def _list(user, list_name="all", limit=50, **filters):
    page = worklist.work_list(
        db.session, user, worklist.Filters(list_name=list_name, **filters), limit=limit, day=DAY
    )
    return _references(page)


def _audit(action):
    return db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
    ).all()


# ------------------------------------------------------------------ who sees what


def test_a_clerk_sees_only_their_departments_and_an_admin_sees_everything(app, office):
    pension = office.file("insurance_pension")
    nursery = office.file("nursery")
    triage = office.file("triage")
    resident = office.add_person("someone", "resident")
    with app.app_context():
        assert _list(office.user("insurance_pension")) == [pension]
        assert _list(office.user("citizens")) == []
        assert _list(office.user("child_support")) == [nursery]
        assert _list(office.user("admin")) == [pension, nursery, triage]
        assert worklist.visible_submission(db.session, office.user("citizens"), pension) is None
        assert _list(db.session.get(User, resident)) == []
        assert worklist.visible_queues(office.user("admin")).includes("triage")
        assert not worklist.visible_queues(office.user("insurance_pension")).includes("triage")


# ------------------------------------------------------------------ lists


def test_each_list_holds_what_its_name_says(app, office):
    mine = office.file(assignee="insurance_pension", due_on=date(2026, 12, 20))
    colleague = office.file(assignee="pension2", due_on=date(2026, 12, 20))
    unassigned = office.file(due_on=date(2026, 12, 20))
    due_today = office.file(due_on=date(2026, 12, 1))
    due_friday = office.file(due_on=date(2026, 12, 4))  # three business days from Tuesday
    due_monday = office.file(due_on=date(2026, 12, 7))
    overdue = office.file(due_on=date(2026, 11, 30))
    overdue_paused = office.file(
        status="awaiting_applicant", due_on=date(2026, 11, 30), paused=True
    )
    overdue_closed = office.file(status="completed", due_on=date(2026, 11, 30))
    no_due_date = office.file(due_on=None)
    with app.app_context():
        clerk = office.user("insurance_pension")
        assert _list(clerk, "mine") == [mine]
        assert set(_list(clerk, "team_unassigned")) == {
            unassigned,
            due_today,
            due_friday,
            due_monday,
            overdue,
            overdue_paused,
            no_due_date,
        }
        assert len(_list(clerk, "all")) == 10
        assert set(_list(clerk, "due_soon")) == {due_today, due_friday}
        assert _list(clerk, "overdue") == [overdue]
        assert colleague not in _list(clerk, "team_unassigned")
        assert overdue_closed in _list(clerk, "all")
        assert worklist.counts(db.session, clerk, day=DAY) == {
            "mine": worklist.TabCount(1),
            "team_unassigned": worklist.TabCount(7),
            "all": worklist.TabCount(10),
            "due_soon": worklist.TabCount(2),
            "overdue": worklist.TabCount(1),
        }
        assert worklist.counts(db.session, office.user("citizens"), day=DAY) == dict.fromkeys(
            worklist.LISTS, worklist.TabCount(0)
        )


def test_a_tab_counts_exactly_up_to_the_cap_and_says_more_past_it(app, office, monkeypatch):
    monkeypatch.setattr(worklist, "TAB_COUNT_CAP", 3)
    for _ in range(3):
        office.file()
    office.file(assignee="insurance_pension")
    office.file(status="completed")
    with app.app_context():
        clerk = office.user("insurance_pension")
        assert worklist.counts(db.session, clerk, day=DAY) == {
            "mine": worklist.TabCount(1),
            "team_unassigned": worklist.TabCount(3),  # exactly the cap: still exact
            "all": worklist.TabCount(3, more=True),  # five
            "due_soon": worklist.TabCount(0),
            "overdue": worklist.TabCount(0),
        }
        # An admin sees every department: the same cap, counted over all of them.
        assert worklist.counts(db.session, office.user("admin"), day=DAY)["all"] == (
            worklist.TabCount(3, more=True)
        )
    assert worklist.TabCount.of(4) == worklist.TabCount(3, more=True)
    assert worklist.TabCount.of(3) == worklist.TabCount(3)


def test_the_tabs_are_counted_in_one_query_that_stops_at_the_cap(app, office):
    office.file()
    statements = []
    with app.app_context():
        clerk = office.user("insurance_pension")
        listen = event.listens_for(db.engine, "before_cursor_execute")

        @listen
        def record(_connection, _cursor, statement, parameters, _context, _many):
            statements.append((statement, parameters))

        try:
            worklist.counts(db.session, clerk, day=DAY)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
    (statement, parameters), *more = [
        (sql, values) for sql, values in statements if "count(" in sql.lower()
    ]
    assert more == []
    assert statement.lower().count("count(") == len(worklist.LISTS)
    assert "LIMIT" in statement.upper()
    bound = parameters.values() if isinstance(parameters, dict) else parameters
    assert worklist.TAB_COUNT_CAP + 1 in bound


def test_a_kept_statement_runs_with_each_requests_own_values(app, office):
    """The page statements are built once per shape: no value of one request may stick."""
    first = office.file(procedure="nhi_loss_on_death", assignee="insurance_pension")
    second = office.file(procedure="nhi_funeral_grant", assignee="pension2")
    with app.app_context():
        clerk, colleague = office.user("insurance_pension"), office.user("pension2")
        for _ in range(2):
            assert _list(clerk, "mine") == [first]
            assert _list(colleague, "mine") == [second]
            assert _list(clerk, procedure="nhi_loss_on_death") == [first]
            assert _list(clerk, procedure="nhi_funeral_grant") == [second]
            assert _list(clerk, assignee=str(office.ids["pension2"])) == [second]
            assert _list(clerk, assignee=str(office.ids["insurance_pension"])) == [first]
            assert _list(clerk, text=first) == [first]
            assert _list(clerk, text=second) == [second]


def test_due_soon_counts_business_days_across_a_weekend_and_holiday(app, office):
    # Friday 20 November 2026: Mon 23 Nov is Labour Thanksgiving Day, so three
    # business days on are Tue 24, Wed 25, Thu 26.
    friday = worklist.WorkDay(today=date(2026, 11, 20), zone=TOKYO)
    assert friday.due_soon_until == date(2026, 11, 26)
    inside = office.file(due_on=date(2026, 11, 26))
    outside = office.file(due_on=date(2026, 11, 27))
    with app.app_context():
        page = worklist.work_list(
            db.session,
            office.user("insurance_pension"),
            worklist.Filters(list_name="due_soon"),
            day=friday,
        )
        assert _references(page) == [inside]
        assert outside not in _references(page)


def test_filters_narrow_the_list(app, office):
    nhi = office.file(procedure="nhi_loss_on_death", applicant_name="Madoguchi Hanako")
    funeral = office.file(
        procedure="nhi_funeral_grant",
        status="in_review",
        assignee="pension2",
        applicant_name="山田 太郎",
        # 00:30 on 2 December in Japan, still 1 December in UTC.
        received_at=datetime(2026, 12, 1, 15, 30, tzinfo=UTC),
    )
    late = office.file(due_on=date(2026, 11, 30), applicant_name="100% 確認")
    with app.app_context():
        clerk = office.user("insurance_pension")
        assert _list(clerk, procedure="nhi_funeral_grant") == [funeral]
        assert _list(clerk, status="in_review") == [funeral]
        assert _list(clerk, assignee="none") == [nhi, late]
        assert _list(clerk, assignee=str(office.ids["pension2"])) == [funeral]
        assert _list(clerk, assignee="me") == []
        assert _list(clerk, received_from=date(2026, 12, 2)) == [funeral]
        assert _list(clerk, received_to=date(2026, 12, 1)) == [nhi, late]
        assert _list(clerk, overdue=True) == [late]
        assert _list(clerk, text="MADOGUCHI") == [nhi]
        assert _list(clerk, text="山田") == [funeral]
        assert _list(clerk, text=funeral.lower()) == [funeral]
        assert _list(clerk, text="100%") == [late]
        assert _list(clerk, text="%") == [late]  # a wildcard is only a character here
        assert _list(clerk, text="_") == []


def test_a_filter_the_list_already_implies_changes_nothing(app, office):
    mine = office.file(status="in_review", assignee="insurance_pension", due_on=date(2026, 11, 30))
    unassigned = office.file(due_on=date(2026, 11, 30))
    office.file(status="completed", due_on=date(2026, 11, 30))
    with app.app_context():
        clerk = office.user("insurance_pension")
        assert _list(clerk, "mine", assignee="me") == _list(clerk, "mine") == [mine]
        assert _list(clerk, "team_unassigned", assignee="none") == [unassigned]
        assert _list(clerk, "overdue", overdue=True) == _list(clerk, "overdue")
        assert _list(clerk, "overdue") == [mine, unassigned]
        assert _list(clerk, "all", overdue=True) == [mine, unassigned]
        assert _list(clerk, "mine", status="completed") == []
        assert _list(clerk, "mine", assignee="none") == []


def test_filters_round_trip_through_the_url_and_bad_values_are_named():
    filters, invalid = worklist.parse_filters(
        {
            "list": "overdue",
            "status": "in_review",
            "assignee": "12",
            "received_from": "2026-12-01",
            "received_to": "2026-12-31",
            "overdue": "yes",
            "q": "  山田   太郎 ",
            "sort": "due_on",
            "order": "desc",
        }
    )
    assert invalid == []
    assert filters.text == "山田 太郎"
    assert worklist.parse_filters(filters.to_query())[0] == filters
    filters, invalid = worklist.parse_filters(
        {
            "list": "everything",
            "status": "lost",
            "assignee": "someone",
            "received_from": "2026-13-01",
            "sort": "reference",
        }
    )
    assert filters == worklist.Filters()
    assert sorted(invalid) == ["assignee", "list", "received_from", "sort", "status"]
    filters, invalid = worklist.parse_filters(
        {"received_from": "2026-12-10", "received_to": "2026-12-01"}
    )
    assert invalid == ["received_to"] and filters.received_to is None
    # Values the database could not take (a 64-bit id, the calendar's first and last day).
    filters, invalid = worklist.parse_filters(
        {"assignee": "9" * 12, "received_from": "0001-01-01", "received_to": "9999-12-31"}
    )
    assert filters == worklist.Filters()
    assert sorted(invalid) == ["assignee", "received_from", "received_to"]


def test_sorting_by_due_date_puts_submissions_without_one_last_then_first(app, office):
    later = office.file(due_on=date(2026, 12, 20))
    none = office.file(due_on=None)
    sooner = office.file(due_on=date(2026, 12, 10))
    with app.app_context():
        clerk = office.user("insurance_pension")
        assert _list(clerk, sort="due_on") == [sooner, later, none]
        assert _list(clerk, sort="due_on", descending=True) == [none, later, sooner]
        assert _list(clerk, sort="received_at", descending=True) == [sooner, none, later]


# ------------------------------------------------------------------ keyset pages


def tok(value) -> str:
    """A page token made by hand, the way someone editing the URL might."""
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _walk(user, filters, limit):
    """Every page forward, then every page back from the last one."""
    pages = [worklist.work_list(db.session, user, filters, limit=limit, day=DAY)]
    while pages[-1].next_cursor:
        pages.append(
            worklist.work_list(db.session, user, filters, pages[-1].next_cursor, limit, day=DAY)
        )
    back = [pages[-1]]
    while back[-1].previous_cursor:
        back.append(
            worklist.work_list(
                db.session, user, filters, limit=limit, before=back[-1].previous_cursor, day=DAY
            )
        )
    return pages, back


def test_pages_follow_each_other_without_gaps_or_repeats(app, office):
    # Five submissions received at the same moment: the id breaks the tie.
    references = [office.file(received_at=RECEIVED + timedelta(minutes=n // 5)) for n in range(12)]
    with app.app_context():
        clerk = office.user("insurance_pension")
        pages, back = _walk(clerk, worklist.Filters(list_name="all"), limit=5)
        assert [_references(page) for page in pages] == [
            references[0:5],
            references[5:10],
            references[10:12],
        ]
        assert pages[0].previous_cursor is None and pages[-1].next_cursor is None
        assert [_references(page) for page in back][1:] == [references[5:10], references[0:5]]
        assert back[-1].previous_cursor is None


def test_a_token_from_elsewhere_is_refused(app, office):
    office.file()
    office.file()
    with app.app_context():
        clerk = office.user("insurance_pension")
        everything = worklist.Filters(list_name="all")
        page = worklist.work_list(db.session, clerk, everything, limit=1, day=DAY)
        assert page.next_cursor
        assert worklist.work_list(db.session, clerk, everything, page.next_cursor, day=DAY).items
        # Garbage, a cut token, a token of the wrong shape, one without a received time,
        # an id larger than the database's, a time that has no UTC equivalent.
        for token in (
            tok(["received_at", "2026-12-01T01:00:00+00:00", 2**40]),
            tok(["received_at", "0001-01-01T00:00:00+09:00", 1]),
            "not-a-token",
            page.next_cursor[:-3],
            "W10",
            tok(["received_at", None, 1]),
        ):
            with pytest.raises(worklist.InvalidCursor):
                worklist.work_list(db.session, clerk, everything, token, day=DAY)
        by_due_date = worklist.Filters(list_name="all", sort="due_on")
        with pytest.raises(worklist.InvalidCursor):
            worklist.work_list(db.session, clerk, by_due_date, page.next_cursor, day=DAY)


VISIBLE = ("child_support", "nursery")
ROW = st.tuples(
    st.integers(0, 3),  # received: minutes after RECEIVED (many ties)
    st.sampled_from([None, 0, 1, 2]),  # due: days after 1 December, or none
    st.sampled_from((*VISIBLE, "citizens")),
    st.sampled_from(("received", "in_review", "awaiting_applicant", "completed", "withdrawn")),
    st.booleans(),  # assigned to the clerk
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(ROW, max_size=30),
    list_name=st.sampled_from(("all", "team_unassigned", "mine")),
    sort=st.sampled_from(worklist.SORTS),
    descending=st.booleans(),
    limit=st.integers(1, 7),
)
def test_walking_the_pages_either_way_gives_the_whole_list_in_order(
    app, office, rows, list_name, sort, descending, limit
):
    with app.app_context():
        db.session.execute(delete(StatusChange))
        db.session.execute(delete(Submission))
        db.session.execute(delete(Application))
        clerk = office.user("child_support")
        made = []
        for number, (minutes, due, department, status, assigned) in enumerate(rows, start=1):
            application = Application(
                reference=f"MD-2026-{number:06d}",
                draft_id=f"p-{number}",
                life_event_id="childcare",
                applicant_id=clerk.id,
                applicant_name="テスト",
                language="ja",
                pins={},
                answers={},
                register={},
                checked_against_register=False,
            )
            submission = Submission(
                number=1,
                reference=f"MD-2026-{number:06d}-1",
                procedure_id="child_allowance_claim",
                procedure_version_id=office.procedure_version(),
                department_id=department,
                queue_id=department,
                status=status,
                answers={},
                received_at=RECEIVED + timedelta(minutes=minutes),
                due_on=date(2026, 12, 1) + timedelta(days=due) if due is not None else None,
                assignee_id=clerk.id if assigned else None,
            )
            application.submissions.append(submission)
            db.session.add(application)
            made.append(submission)
        db.session.commit()

        def belongs(s):
            if s.department_id not in VISIBLE:
                return False
            if list_name == "all":
                return True
            is_open = s.status in worklist.OPEN_STATUSES
            if list_name == "mine":
                return is_open and s.assignee_id == clerk.id
            return is_open and s.assignee_id is None

        def key(s):
            value = s.received_at if sort == "received_at" else s.due_on
            return (value is None, value or date.min, s.id)

        expected = [s.reference for s in sorted(filter(belongs, made), key=key)]
        if descending:
            expected.reverse()
        filters = worklist.Filters(list_name=list_name, sort=sort, descending=descending)
        pages, back = _walk(clerk, filters, limit)
        assert [ref for page in pages for ref in _references(page)] == expected
        assert all(len(page.items) == limit for page in pages[:-1])
        assert [ref for page in reversed(back) for ref in _references(page)] == expected


# ------------------------------------------------------------------ claim, release, reassign


def test_claiming_assigns_moves_to_review_and_is_audited(app, office):
    reference = office.file()
    with app.app_context():
        clerk = office.user("insurance_pension")
        submission = worklist.claim(db.session, clerk, reference, now=NOW, day=DAY)
        db.session.commit()
        assert submission.assignee_id == clerk.id
        assert submission.status == "in_review"
        assert [(c.from_status, c.to_status) for c in submission.changes] == [
            ("received", "in_review")
        ]
        (claimed,) = _audit("submission.claimed")
        assert (claimed.actor, claimed.subject_id, claimed.details) == (
            f"user:{clerk.id}",
            reference,
            {"assignee": clerk.id},
        )
        assert len(_audit("submission.status_changed")) == 1
        # Claiming one's own again changes nothing and writes nothing.
        worklist.claim(db.session, clerk, reference, now=NOW, day=DAY)
        db.session.commit()
        assert len(_audit("submission.claimed")) == 1
        assert verify_chain(db.session).intact


def test_a_claimed_closed_or_foreign_submission_cannot_be_claimed(app, office):
    taken = office.file(status="in_review", assignee="pension2")
    closed = office.file(status="approved")
    waiting = office.file(status="awaiting_applicant", paused=True)
    with app.app_context():
        clerk = office.user("insurance_pension")
        with pytest.raises(worklist.WorkRefused) as refused:
            worklist.claim(db.session, clerk, taken, now=NOW, day=DAY)
        assert refused.value.code == "taken"
        with pytest.raises(worklist.WorkRefused) as refused:
            worklist.claim(db.session, clerk, closed, now=NOW, day=DAY)
        assert refused.value.code == "closed"
        with pytest.raises(worklist.NotVisible):
            worklist.claim(db.session, office.user("citizens"), waiting, now=NOW, day=DAY)
        submission = worklist.claim(db.session, clerk, waiting, now=NOW, day=DAY)
        assert submission.status == "awaiting_applicant"  # claimed, still waiting
        assert _audit("submission.status_changed") == []


def test_release_by_the_assignee_or_an_admin_only(app, office):
    first = office.file(status="in_review", assignee="pension2")
    second = office.file(status="in_review", assignee="pension2")
    with app.app_context():
        with pytest.raises(worklist.WorkRefused) as refused:
            worklist.release(db.session, office.user("insurance_pension"), first)
        assert refused.value.code == "not_yours"
        with pytest.raises(worklist.NotVisible):
            worklist.release(db.session, office.user("citizens"), first)
        assert worklist.release(db.session, office.user("pension2"), first).assignee_id is None
        assert worklist.release(db.session, office.user("admin"), second).assignee_id is None
        db.session.commit()
        entries = _audit("submission.released")
        assert [(e.subject_id, e.details) for e in entries] == [
            (first, {"previous": office.ids["pension2"]}),
            (second, {"previous": office.ids["pension2"]}),
        ]
        assert entries[1].actor == f"user:{office.ids['admin']}"


def test_reassign_only_to_a_clerk_of_the_same_department(app, office):
    reference = office.file(status="in_review", assignee="insurance_pension")
    closed = office.file(status="completed")
    with app.app_context():
        clerk = office.user("insurance_pension")
        for target in ("citizens", "admin", "applicant"):
            with pytest.raises(worklist.WorkRefused) as refused:
                worklist.reassign(db.session, clerk, reference, office.ids[target])
            assert refused.value.code in ("other_department", "not_a_clerk")
        with pytest.raises(worklist.WorkRefused) as refused:
            worklist.reassign(db.session, clerk, reference, None)
        assert refused.value.code == "not_a_clerk"
        with pytest.raises(worklist.WorkRefused) as refused:
            worklist.reassign(db.session, clerk, closed, office.ids["pension2"])
        assert refused.value.code == "closed"
        with pytest.raises(worklist.NotVisible):
            worklist.reassign(
                db.session, office.user("citizens"), reference, office.ids["citizens"]
            )
        submission = worklist.reassign(
            db.session, clerk, reference, office.ids["pension2"], reason="  on\nleave "
        )
        db.session.commit()
        assert submission.assignee_id == office.ids["pension2"]
        (entry,) = _audit("submission.reassigned")
        assert entry.details == {
            "from": clerk.id,
            "to": office.ids["pension2"],
            "bulk": False,
            "reason": "on leave",
        }


def test_bulk_reassign_needs_a_reason_and_moves_all_or_none(app, office):
    first = office.file(status="in_review", assignee="insurance_pension")
    second = office.file()
    nursery = office.file("nursery")
    with app.app_context():
        clerk = office.user("insurance_pension")
        to = office.ids["pension2"]
        with pytest.raises(worklist.WorkRefused) as refused:
            worklist.bulk_reassign(db.session, clerk, [first, second], to, " \n ")
        assert refused.value.code == "reason_required"
        with pytest.raises(worklist.WorkRefused) as refused:
            worklist.bulk_reassign(db.session, clerk, [], to, "away")
        assert refused.value.code == "nothing_chosen"
        too_many = [f"MD-2026-{n:06d}-1" for n in range(worklist.MAX_BULK_REASSIGN + 1)]
        with pytest.raises(worklist.WorkRefused) as refused:
            worklist.bulk_reassign(db.session, clerk, too_many, to, "away")
        assert refused.value.code == "too_many"
        with pytest.raises(worklist.NotVisible):
            worklist.bulk_reassign(db.session, clerk, [first, nursery], to, "away")
        db.session.rollback()
        admin = office.user("admin")
        with pytest.raises(worklist.WorkRefused) as refused:
            worklist.bulk_reassign(db.session, admin, [first, nursery], to, "away")
        assert refused.value.code == "other_department"
        assert refused.value.references == (nursery,)
        db.session.rollback()
        assert db.session.scalars(select(Submission.assignee_id).order_by(Submission.id)).all() == [
            clerk.id,
            None,
            None,
        ]
        moved = worklist.bulk_reassign(
            db.session, clerk, [second, first, first], to, "On leave until 15 December"
        )
        db.session.commit()
        assert [s.reference for s in moved] == [first, second]
        assert all(s.assignee_id == to for s in moved)
        entries = _audit("submission.reassigned")
        assert [(e.subject_id, e.details) for e in entries] == [
            (
                first,
                {"from": clerk.id, "to": to, "bulk": True, "reason": "On leave until 15 December"},
            ),
            (
                second,
                {"from": None, "to": to, "bulk": True, "reason": "On leave until 15 December"},
            ),
        ]


def _detached(app, *names):
    """Users loaded once, usable from other threads without touching the database."""
    with app.app_context(), Session(db.engine, expire_on_commit=False) as session:
        users = [session.scalars(select(User).where(User.display_name == n)).one() for n in names]
        session.expunge_all()
    return users


def _claim_in_own_transaction(app, user, reference, after_claim=None):
    """Claim in a session of its own, as a separate request would; returns the outcome."""
    with app.app_context(), Session(db.engine) as session:
        try:
            worklist.claim(session, user, reference, now=NOW, day=DAY)
        except worklist.WorkRefused as refused:
            session.rollback()
            return refused.code
        if after_claim:
            after_claim()
        session.commit()
        return "claimed"


def test_of_many_clerks_claiming_at_once_exactly_one_wins(app, office):
    """Fifty on PostgreSQL (row locks with SKIP LOCKED); a few on SQLite, which lets one
    writer in at a time anyway (BEGIN IMMEDIATE)."""
    with app.app_context():
        clerks = 50 if db.engine.dialect.name == "postgresql" else 6
    names = [f"clerk{n}" for n in range(clerks)]
    for name in names:
        office.add_person(name, "clerk", ("insurance_pension",))
    reference = office.file()
    users = _detached(app, *names)
    start = threading.Barrier(len(users))
    outcomes: list[str] = []

    def attempt(user):
        start.wait()
        outcomes.append(_claim_in_own_transaction(app, user, reference))

    threads = [threading.Thread(target=attempt, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["claimed"] + ["taken"] * (len(users) - 1)
    with app.app_context():
        submission = db.session.scalars(select(Submission)).one()
        assert submission.assignee_id in {user.id for user in users}
        assert len(_audit("submission.claimed")) == 1
        assert len(submission.changes) == 1


def test_a_claim_made_while_another_is_open_finds_it_taken(app, office):
    """The first claim holds its transaction open; the second is refused, never doubled.

    On PostgreSQL the second is refused at once (SKIP LOCKED), while the first still
    holds the row; on SQLite it waits for the first to commit (BEGIN IMMEDIATE).
    """
    reference = office.file()
    first, second = _detached(app, "insurance_pension", "pension2")
    claimed, second_done = threading.Event(), threading.Event()
    timeline: list[str] = []

    def hold():
        claimed.set()
        # Keep the row locked until the second claim has answered (PostgreSQL), or a
        # moment (SQLite, where the second claim cannot start before this commits).
        second_done.wait(timeout=0.5)
        timeline.append("first commits")

    results = {}
    holder = threading.Thread(
        target=lambda: results.update(first=_claim_in_own_transaction(app, first, reference, hold))
    )
    holder.start()
    assert claimed.wait(timeout=10)
    results["second"] = _claim_in_own_transaction(app, second, reference)
    timeline.append("second answered")
    second_done.set()
    holder.join()
    assert results == {"first": "claimed", "second": "taken"}
    if using_postgres():
        assert timeline == ["second answered", "first commits"]
    else:
        assert timeline == ["first commits", "second answered"]


# ------------------------------------------------------------------ saved views


def test_saved_views_belong_to_their_owner(app, office):
    with app.app_context():
        clerk = office.user("insurance_pension")
        filters = worklist.Filters(list_name="overdue", sort="due_on")
        view = worklist.save_view(db.session, clerk, "  Late\tones ", filters, now=NOW)
        db.session.commit()
        assert (view.name, view.query) == ("Late ones", {"list": "overdue", "sort": "due_on"})
        replaced = worklist.save_view(
            db.session, clerk, "Late ones", worklist.Filters(list_name="mine"), now=NOW
        )
        assert replaced.id == view.id and replaced.query == {}
        with pytest.raises(worklist.WorkRefused):
            worklist.save_view(db.session, clerk, " ", filters, now=NOW)
        assert [v.name for v in worklist.saved_views(db.session, clerk)] == ["Late ones"]
        assert worklist.saved_views(db.session, office.user("pension2")) == []
        with pytest.raises(worklist.NotVisible):
            worklist.delete_view(db.session, office.user("pension2"), view.id)
        worklist.delete_view(db.session, clerk, view.id)
        db.session.commit()
        assert db.session.scalars(select(SavedView)).all() == []


def test_the_benchmark_generator_fills_lists_clerks_can_page_through(app, office):
    from bench.worklist_data import generate

    with app.app_context():
        generate(db.session, 1000, seed=7, now=NOW)
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Submission)) == 1000
        admin = office.user("admin")
        pages, _back = _walk(admin, worklist.Filters(list_name="all", sort="due_on"), 200)
        references = [ref for page in pages for ref in _references(page)]
        assert len(references) == len(set(references)) == 1000
