"""The KPI dashboard: each indicator computed from generated data equals the value worked
out by hand; the page, its charts and the CSV export, for administrators only.

The generated month (November 2026, Japan time, weeks from Monday 2 November):

=====  ===================  ===========  ========  ======================================
app    submitted (JST)      life event   channel   submissions
=====  ===================  ===========  ========  ======================================
out1   Sun 1 Nov 23:30      bereavement  online    P1 (decided Tue 3 Nov 23:30: 2 days)
a1     Mon 2 Nov 00:30      bereavement  online    P1 (2.5 days), P2 (10 days, 8 waiting)
a2     Sun 8 Nov 23:30      bereavement  counter   P1 (1 day), P2 withdrawn, P3 overdue
a3     Mon 9 Nov 08:00      childcare    online    C1 (decided after the period)
a4     Wed 18 Nov 10:00     bereavement  online    P1 (4 days, rejected), P2 paused, overdue
a5     Sun 29 Nov 23:59     moving       counter   M1 overdue
out2   Mon 30 Nov 00:10     bereavement  online    P1 open
=====  ===================  ===========  ========  ======================================

out1 and out2 fall on 1 and 29 November in UTC, inside the month: only Japan time
puts them outside it. a2 (Sunday night) and a3 (Monday morning) are the same UTC day.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from portal.admin import charts, kpis
from portal.admin.models import AbandonedDrafts
from portal.backoffice.models import Application, StatusChange, Submission
from portal.backoffice.worklist import WorkDay
from portal.catalogue.models import DefinitionVersion
from portal.catalogue.services import published_catalogue
from portal.database import utcnow
from portal.documents.storage import file_storage
from portal.extensions import db
from portal.identity.models import User
from portal.resident import dashboard as resident_dashboard
from portal.resident import services as resident_services
from portal.resident.models import Draft
from tests.admin.conftest import sign_in_as

JAPAN = ZoneInfo("Asia/Tokyo")
NOVEMBER = kpis.Period(date(2026, 11, 2), date(2026, 11, 29), JAPAN)
TODAY = WorkDay(today=date(2026, 12, 1), zone=JAPAN)
P1, P2, P3 = "nhi_loss_on_death", "ltc_insurance_loss", "household_head_change"
C1, M1 = "child_allowance_claim", "move_out_notice"


def jst(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of 2026 in Japan time, as an aware datetime."""
    return datetime(2026, month, day, hour, minute, tzinfo=JAPAN)


class Generator:
    """Makes applications, submissions and their timelines with known timestamps."""

    def __init__(self) -> None:
        applicant = User(
            issuer="https://idp.test",
            subject="kpi-applicant",
            role="resident",
            display_name="申請 太郎",
            departments=[],
            preferred_language="ja",
        )
        db.session.add(applicant)
        version = db.session.scalar(select(DefinitionVersion).limit(1))
        if version is None:
            version = DefinitionVersion(
                kind="procedure",
                definition_id="kpi_test",
                number=1,
                status="draft",
                content_hash="0" * 64,
                source_name="kpi.yaml",
                source_text="",
                created_by="test",
            )
            db.session.add(version)
        db.session.flush()
        self.applicant_id = applicant.id
        self.version_id = version.id
        self.count = 0

    def application(
        self,
        submitted_at: datetime,
        life_event: str,
        procedures: list[str],
        *,
        assisted: bool = False,
        answers: dict | None = None,
        register: dict | None = None,
    ) -> list[Submission]:
        """File an application with one received submission per procedure."""
        self.count += 1
        reference = f"MD-2026-{self.count:06d}"
        application = Application(
            reference=reference,
            draft_id=f"kpi-draft-{self.count}",
            life_event_id=life_event,
            applicant_id=self.applicant_id,
            applicant_name="申請 太郎",
            language="ja",
            pins={},
            answers=answers or {},
            register=register or {},
            checked_against_register=bool(register),
            assisted=assisted,
            submitted_at=submitted_at,
        )
        for number, procedure_id in enumerate(procedures, 1):
            application.submissions.append(
                Submission(
                    number=number,
                    reference=f"{reference}-{number}",
                    procedure_id=procedure_id,
                    procedure_version_id=self.version_id,
                    department_id="citizens",
                    queue_id="citizens",
                    status="received",
                    answers={},
                    documents=[],
                    received_at=submitted_at,
                    due_on=(submitted_at + timedelta(days=14)).astimezone(JAPAN).date(),
                )
            )
        db.session.add(application)
        db.session.flush()
        return list(application.submissions)

    @staticmethod
    def move(submission: Submission, to_status: str, at: datetime) -> None:
        """A step of the timeline, as the workflow writes it."""
        submission.changes.append(
            StatusChange(from_status=submission.status, to_status=to_status, actor="test", at=at)
        )
        submission.status = to_status

    def decide(
        self,
        submission: Submission,
        at: datetime,
        status: str = "approved",
        waiting: tuple[datetime, datetime] | None = None,
    ) -> None:
        """Review, optionally ask the applicant (and get the answer), then decide."""
        self.move(submission, "in_review", submission.received_at + timedelta(minutes=1))
        if waiting:
            self.move(submission, "awaiting_applicant", waiting[0])
            self.move(submission, "in_review", waiting[1])
        self.move(submission, status, at)
        submission.decided_at = at


@pytest.fixture
def month(app):
    """The generated month of the module docstring, in the app's database."""
    with app.app_context():
        make = Generator()
        (out1,) = make.application(jst(11, 1, 23, 30), "bereavement", [P1])
        make.decide(out1, jst(11, 3, 23, 30))
        a1_p1, a1_p2 = make.application(
            jst(11, 2, 0, 30),
            "bereavement",
            [P1, P2],
            answers={
                "applicant_name": {"family": "山田", "given": "花子"},
                "applicant_address": "新しい住所",
                "relationship": "child",
                "bank_account": "1234567",
            },
            register={
                "status": "checked",
                "provenance": {
                    "applicant_name": {"value": {"family": "山田", "given": "花子"}},
                    "applicant_address": {"value": "古い住所"},
                },
            },
        )
        make.decide(a1_p1, jst(11, 4, 12, 30))
        make.decide(a1_p2, jst(11, 12, 0, 30), waiting=(jst(11, 3, 0, 30), jst(11, 11, 0, 30)))
        a2_p1, a2_p2, a2_p3 = make.application(
            jst(11, 8, 23, 30),
            "bereavement",
            [P1, P2, P3],
            assisted=True,
            answers={"a": 1, "b": None, "c": "", "d": True},
        )
        make.decide(a2_p1, jst(11, 9, 23, 30))
        make.move(a2_p2, "withdrawn", jst(11, 10, 9))
        make.move(a2_p3, "in_review", jst(11, 10, 9))
        a2_p3.due_on = date(2026, 11, 20)
        (a3_c1,) = make.application(
            jst(11, 9, 8),
            "childcare",
            [C1],
            answers={"x": "v"},
            register={"provenance": {"x": {"value": "v"}, "y": {"value": "not filed"}}},
        )
        make.decide(a3_c1, jst(11, 30, 1))
        a4_p1, a4_p2 = make.application(jst(11, 18, 10), "bereavement", [P1, P2])
        make.decide(a4_p1, jst(11, 22, 10), status="rejected")
        make.move(a4_p2, "in_review", jst(11, 19, 9))
        make.move(a4_p2, "awaiting_applicant", jst(11, 20, 9))
        a4_p2.paused_since = jst(11, 20, 9)
        a4_p2.due_on = date(2026, 11, 25)
        (a5_m1,) = make.application(jst(11, 29, 23, 59), "moving", [M1], assisted=True)
        a5_m1.due_on = date(2026, 11, 30)
        (out2,) = make.application(jst(11, 30, 0, 10), "bereavement", [P1])
        out2.due_on = date(2026, 12, 10)
        db.session.commit()
    return app


def test_the_generated_boundaries_are_the_same_utc_day():
    """The data really tests Japan time: UTC would file these in the other week."""
    assert jst(11, 1, 23, 30).astimezone(UTC).date() == date(2026, 11, 1)
    assert jst(11, 30, 0, 10).astimezone(UTC).date() == date(2026, 11, 29)
    assert jst(11, 8, 23, 30).astimezone(UTC).date() == jst(11, 9, 8).astimezone(UTC).date()


def test_periods_are_whole_japanese_days_in_monday_weeks():
    period = kpis.Period.last_weeks(date(2026, 12, 3), JAPAN)  # a Thursday
    assert period.first_day == date(2026, 9, 14)  # the Monday 11 weeks earlier
    assert len(period.weeks()) == 12
    assert period.weeks()[-1] == kpis.Week(
        date(2026, 11, 30), date(2026, 11, 30), date(2026, 12, 3)
    )
    assert period.starts_at == datetime(2026, 9, 13, 15, 0, tzinfo=UTC)
    partial = kpis.Period(date(2026, 11, 4), date(2026, 11, 10), JAPAN)
    assert partial.weeks() == [
        kpis.Week(date(2026, 11, 2), date(2026, 11, 4), date(2026, 11, 8)),
        kpis.Week(date(2026, 11, 9), date(2026, 11, 9), date(2026, 11, 10)),
    ]


def test_applications_per_week_and_the_online_share(month):
    with month.app_context():
        counts = kpis.applications_by_week(db.session, NOVEMBER, kpis.Scope())
        assert [(w.online, w.counter) for w in counts.weeks] == [(1, 1), (1, 0), (1, 0), (0, 1)]
        assert [w.week.monday.day for w in counts.weeks] == [2, 9, 16, 23]
        assert (counts.online, counts.counter, counts.online_share) == (3, 2, 0.6)
        bereavement = kpis.applications_by_week(
            db.session, NOVEMBER, kpis.Scope(life_event="bereavement")
        )
        assert [(w.online, w.counter) for w in bereavement.weeks] == [
            (1, 1),
            (0, 0),
            (1, 0),
            (0, 0),
        ]
        with_p2 = kpis.applications_by_week(db.session, NOVEMBER, kpis.Scope(procedure=P2))
        assert (with_p2.online, with_p2.counter) == (2, 1)
        empty = kpis.applications_by_week(db.session, NOVEMBER, kpis.Scope(procedure="nursery"))
        assert empty.total == 0 and empty.online_share is None


def test_median_days_to_decision_odd_even_and_without_waiting(month):
    with month.app_context():
        times = kpis.decision_times(db.session, NOVEMBER, kpis.Scope())
        # out1 2, a1 2.5 and 10 (8 waiting), a2 1, a4 4; a3's decision is after the month.
        assert sorted(d.days for d in times.decisions) == [1, 2, 2.5, 4, 10]
        assert times.median_days == 2.5
        # Without waiting: 1, 2, 2, 2.5, 4.
        assert times.median_days_without_waiting == 2
        assert [(count, median) for _week, count, median in times.weekly_medians()] == [
            (2, 2.25),  # out1 2 and a1 2.5: even, the mean of the middle two
            (2, 5.5),  # a1's 10 and a2's 1
            (1, 4),
            (0, None),
        ]
        p1 = kpis.decision_times(db.session, NOVEMBER, kpis.Scope(procedure=P1))
        assert (p1.decided, p1.median_days) == (4, 2.25)  # 1, 2, 2.5, 4
        childcare = kpis.decision_times(db.session, NOVEMBER, kpis.Scope(life_event="childcare"))
        assert (childcare.decided, childcare.median_days) == (0, None)


def test_overdue_uses_the_work_lists_rule_and_a_paused_clock_is_not_overdue(month):
    with month.app_context():
        # a2's P3 (due 20 Nov) and a5's M1 (due 30 Nov); a4's P2 waits for the applicant.
        assert kpis.overdue_now(db.session, kpis.Scope(), day=TODAY) == {P3: 1, M1: 1}
        assert kpis.overdue_now(db.session, kpis.Scope(life_event="moving"), day=TODAY) == {M1: 1}
        earlier = WorkDay(today=date(2026, 11, 30), zone=JAPAN)
        assert kpis.overdue_now(db.session, kpis.Scope(), day=earlier) == {P3: 1}


def test_figures_by_procedure(month):
    with month.app_context():
        scope = kpis.Scope()
        figures = kpis.procedure_figures(
            db.session,
            NOVEMBER,
            scope,
            decisions=kpis.decision_times(db.session, NOVEMBER, scope),
            overdue=kpis.overdue_now(db.session, scope, day=TODAY),
        )
        assert {
            f.procedure_id: (f.received, f.decided, f.median_days, f.overdue) for f in figures
        } == {
            P1: (3, 4, 2.25, 0),  # a1, a2, a4 received; out1 decided in the month too
            P2: (3, 1, 10, 0),
            P3: (1, 0, None, 1),
            C1: (1, 0, None, 0),
            M1: (1, 0, None, 1),
        }


def test_share_of_answers_prefilled_from_registers(month):
    with month.app_context():
        figures = kpis.prefill_figures(db.session, NOVEMBER, kpis.Scope())
        # a1: name kept, address corrected, two typed; a2: two typed (empty ones are not
        # answers); a3: one kept (y was never filed).
        assert (figures.applications, figures.from_register, figures.changed_from_register) == (
            5,
            2,
            1,
        )
        assert figures.typed == 4
        assert figures.prefilled_share == pytest.approx(3 / 7)
        moving = kpis.prefill_figures(db.session, NOVEMBER, kpis.Scope(life_event="moving"))
        assert (moving.applications, moving.answered, moving.prefilled_share) == (1, 0, None)


def test_bereavement_visits_saved(month):
    with month.app_context():
        visits = kpis.bereavement_visits_saved(db.session, NOVEMBER, kpis.Scope())
        # a1 online 2, a2 at the counter 3 (one visit made), a4 online 2.
        assert (visits.applications, visits.procedures_filed, visits.at_counter) == (3, 7, 1)
        assert visits.visits_saved == 6
        only_p3 = kpis.bereavement_visits_saved(db.session, NOVEMBER, kpis.Scope(procedure=P3))
        assert (only_p3.applications, only_p3.visits_saved) == (1, 2)


def test_procedures_that_can_be_filed_online(procedures_loaded):
    with procedures_loaded.app_context():
        catalogue, _pins = published_catalogue(db.session)
        (bereavement,) = kpis.online_coverage(catalogue, "bereavement")
        assert (len(bereavement.online), len(bereavement.counter), len(bereavement.automatic)) == (
            8,
            2,
            2,
        )
        assert bereavement.total == 12
        assert bereavement.online_share == 0.8
        assert set(bereavement.counter) == {"death_registration", "pension_death_notice"}
        assert {c.life_event_id for c in kpis.online_coverage(catalogue)} == {
            "bereavement",
            "childcare",
            "moving",
        }


def _draft(life_event: str, saved: datetime, expires: datetime) -> str:
    draft = resident_services.start_draft(
        db.session, owner_key="browser:kpi", life_event_id=life_event, now=saved
    )
    draft.expires_at = expires
    db.session.flush()
    return draft.id


def test_the_purge_counts_where_drafts_stopped_and_open_idle_drafts_count_too(procedures_loaded):
    app = procedures_loaded
    now = utcnow()
    with app.app_context():
        saved = jst(11, 10, 10, 20)
        for minute in (0, 30):
            _draft("bereavement", saved.replace(minute=minute), now - timedelta(hours=1))
        _draft("bereavement", jst(11, 12, 9), now - timedelta(hours=1))
        _draft("childcare", jst(11, 12, 9), now - timedelta(hours=1))
        _draft("bereavement", jst(12, 25, 9), now - timedelta(hours=1))  # after November
        db.session.commit()
        assert resident_dashboard.purge_expired_drafts(db.session, file_storage(), now) == 5
        db.session.commit()
        assert db.session.scalar(select(Draft.id)) is None
        rows = db.session.scalars(select(AbandonedDrafts).order_by(AbandonedDrafts.last_saved_hour))
        first = next(iter(rows))
        # Both drafts saved between 10:00 and 11:00 in Japan share one hourly row.
        assert (first.last_saved_hour, first.count) == (jst(11, 10, 10).astimezone(UTC), 2)
        # A second purge adds to the same rows (the upsert path).
        _draft("bereavement", saved, now - timedelta(hours=1))
        # Open drafts: one untouched for eight days counts, one saved yesterday does not.
        _draft("bereavement", now - timedelta(days=8), now + timedelta(days=22))
        _draft("bereavement", now - timedelta(days=1), now + timedelta(days=29))
        db.session.commit()
        assert resident_dashboard.purge_expired_drafts(db.session, file_storage(), now) == 1
        db.session.commit()
        stopped = kpis.Stop("bereavement", "questionnaire", "bereavement.resident")
        found = kpis.where_drafts_stop(
            db.session, NOVEMBER, kpis.Scope(life_event="bereavement"), now=now
        )
        assert found == [kpis.StopCount(stopped, abandoned=4, idle=1)]
        every = kpis.where_drafts_stop(db.session, NOVEMBER, kpis.Scope(), now=now)
        assert [(s.stop.life_event_id, s.abandoned, s.idle) for s in every] == [
            ("bereavement", 4, 1),
            ("childcare", 1, 0),
        ]


def test_where_a_draft_stopped_follows_the_journey(procedures_loaded):
    with procedures_loaded.app_context():
        now = utcnow()
        draft_id = _draft("bereavement", now, now + timedelta(days=30))
        state = resident_services.open_draft(
            db.session, draft_id=draft_id, owner_key="browser:kpi", now=now
        )
        assert state is not None
        context = kpis.default_context()
        assert resident_services.stopping_point(state, context) == (
            "questionnaire",
            "bereavement.resident",
        )
        resident_services.store_answers(state, {"deceased_was_resident": True}, now)
        stage, step = resident_services.stopping_point(state, context)
        assert stage == "questionnaire" and step not in ("", "bereavement.resident")


# --------------------------------------------------------------------------- charts


def test_a_bar_chart_is_an_accessible_image_with_its_data_as_a_table():
    markup = str(
        charts.bar_chart(
            "kpi-test",
            "Applications <per> week",
            "Three weeks & two channels.",
            ["Week 1", "Week 2", "Week 3"],
            [charts.Series("Online", [1, 4, 0]), charts.Series("<b>Counter</b>", [2, None, 1])],
            category_heading="Week",
        )
    )
    assert 'role="img"' in markup
    assert 'aria-labelledby="kpi-test-title kpi-test-desc"' in markup
    assert '<title id="kpi-test-title">Applications &lt;per&gt; week</title>' in markup
    assert '<desc id="kpi-test-desc">Three weeks &amp; two channels.</desc>' in markup
    assert "<b>" not in markup and "&lt;b&gt;Counter&lt;/b&gt;" in markup
    assert "<script" not in markup
    assert markup.count("<rect") == 5 + 2  # five values drawn (None is a gap), two legend keys
    assert "<caption>Applications &lt;per&gt; week</caption>" in markup
    assert '<th scope="row">Week 2</th><td>4</td><td>–</td>' in markup
    assert markup.count('<th scope="col">') == 3


def test_bar_heights_follow_the_values():
    markup = str(
        charts.bar_chart(
            "kpi-h", "t", "d", ["a", "b"], [charts.Series("s", [5, 10])], category_heading="c"
        )
    )
    # The scale tops out at 10: the plot is 192 high, from y=28 to y=220.
    assert 'y="124" width=' in markup and 'height="96"' in markup
    assert 'y="28" width=' in markup and 'height="192"' in markup


def test_a_line_chart_breaks_where_a_value_is_missing():
    markup = str(
        charts.line_chart(
            "kpi-line",
            "Median days",
            "d",
            ["1", "2", "3", "4", "5"],
            [charts.Series("Median", [2.25, 5.5, None, 4, 3])],
            category_heading="Week",
            format_value=lambda value: "–" if value is None else f"{value:.2f}",
        )
    )
    assert markup.count("<polyline") == 2
    assert markup.count("<circle") == 4
    assert "<td>2.25</td>" in markup and "<td>–</td>" in markup


def test_a_chart_refuses_series_that_do_not_fit_its_categories():
    with pytest.raises(ValueError):
        charts.bar_chart("x", "t", "d", ["a", "b"], [charts.Series("s", [1])], category_heading="c")
    with pytest.raises(ValueError):
        charts.bar_chart('x" onload="', "t", "d", [], [], category_heading="c")


# --------------------------------------------------------------------------- pages


def test_anonymous_visitors_are_sent_to_the_staff_sign_in(procedures_loaded, client):
    for path in ("/admin/kpis", "/admin/kpis.csv"):
        response = client.get(path)
        assert response.status_code == 303
        assert "/staff/sign-in" in response.headers["Location"]


@pytest.mark.parametrize("role", ["clerk", "resident"])
def test_clerks_and_residents_may_not_see_the_dashboard_or_its_export(
    procedures_loaded, client, role
):
    sign_in_as(procedures_loaded, role, ["citizens"] if role == "clerk" else [])
    for path in ("/admin/kpis", "/admin/kpis.csv"):
        assert client.get(path).status_code == 403


def test_the_dashboard_shows_the_figures_for_the_chosen_period(procedures_loaded, client):
    app = procedures_loaded
    with app.app_context():
        make = Generator()
        make.application(jst(11, 2, 10), "bereavement", [P1, P2])
        make.application(jst(11, 3, 10), "bereavement", [P1], assisted=True)
        db.session.commit()
    sign_in_as(app, "admin")
    page = client.get("/admin/kpis?life_event=bereavement&from=2026-11-02&to=2026-11-29")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<dd class="summary-value" id="kpi-applications-total">2</dd>' in html
    assert '<dd class="summary-value" id="kpi-online-share">50.0%</dd>' in html
    assert '<dd class="summary-value" id="kpi-visits-saved">2</dd>' in html  # 2 + (1 - 1)
    assert html.count('role="img"') == 3  # coverage, applications, decisions
    assert "おくやみ" in html
    assert (
        'href="/admin/kpis.csv?life_event=bereavement&amp;from=2026-11-02&amp;to=2026-11-29"'
        in html
    )
    moving = client.get("/admin/kpis?life_event=moving").get_data(as_text=True)
    assert 'id="kpi-visits-saved"' not in moving


def test_filters_not_understood_are_named_and_not_applied(procedures_loaded, client):
    sign_in_as(procedures_loaded, "admin")
    page = client.get("/admin/kpis?life_event=nope&from=2026-13-01&procedure=%3Cx%3E")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "life_event, procedure, from" in html
    assert 'aria-describedby="kpi-problem"' in html


def test_the_csv_export_has_every_figure_and_no_formulas(procedures_loaded, client):
    app = procedures_loaded
    with app.app_context():
        make = Generator()
        (p1, _formula) = make.application(jst(11, 2, 10), "bereavement", [P1, "=HYPERLINK(1)"])
        make.decide(p1, jst(11, 5, 22))  # 3.5 days
        make.application(jst(11, 10, 10), "bereavement", [P1], assisted=True)
        db.session.commit()
    sign_in_as(app, "admin")
    client.set_cookie("madoguchi_lang", "en")
    response = client.get("/admin/kpis.csv?life_event=bereavement&from=2026-11-02&to=2026-11-15")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="kpis-20261102-20261115.csv"' in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0] == [
        "Indicator",
        "Life event",
        "Procedure",
        "From",
        "Until",
        "Breakdown",
        "Value",
    ]
    event = "When a family member dies"
    whole = [event, "", "2026-11-02", "2026-11-15", ""]
    expected = [
        ["Procedures in the life event", event, "", "", "", "", "12"],
        ["Procedures that can be filed online", event, "", "", "", "", "8"],
        ["Applications filed online", event, "", "2026-11-02", "2026-11-08", "", "1"],
        ["Applications filed at the counter", event, "", "2026-11-09", "2026-11-15", "", "1"],
        ["Applications", *whole, "2"],
        ["Share filed online (%)", *whole, "50.0"],
        ["Median days to decision", *whole, "3.5"],
        ["Median days to decision", event, "", "2026-11-09", "2026-11-15", "0 decided", ""],
        ["Submissions received", event, "'=HYPERLINK(1)", "2026-11-02", "2026-11-15", "", "1"],
        ["Share of answers pre-filled (%)", *whole, ""],
        ["Separate visits saved", event, "", "2026-11-02", "2026-11-15", "", "2"],  # 2 + 0
    ]
    for row in expected:
        assert row in rows, row
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
