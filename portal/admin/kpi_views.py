"""The KPI dashboard and its CSV export, for administrators.

The figures come from `portal.admin.kpis`; this module reads the filters, names ids in
the reader's language from the published definitions and draws the charts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import Response, current_app, render_template, request, stream_with_context, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from markupsafe import Markup

from portal.admin import charts, kpis
from portal.admin.blueprint import bp
from portal.backoffice.views import csv_line
from portal.backoffice.worklist import WorkDay, query_day
from portal.catalogue.services import CatalogueError, published_catalogue
from portal.database import utcnow
from portal.definitions.catalogue import Catalogue
from portal.extensions import db
from portal.i18n import current_language
from portal.identity.auth import login_required
from portal.resident.services import field_specs


@dataclass(frozen=True)
class KpiFilters:
    """The dashboard's filters as the URL query carries them."""

    scope: kpis.Scope
    period: kpis.Period
    # Whether the period is the default one (not typed in).
    default_period: bool = True

    def to_query(self) -> dict[str, str]:
        """The URL query of these filters, leaving out what is not chosen."""
        values = {
            "life_event": self.scope.life_event,
            "procedure": self.scope.procedure,
            "from": None if self.default_period else self.period.first_day.isoformat(),
            "to": None if self.default_period else self.period.last_day.isoformat(),
        }
        return {name: value for name, value in values.items() if value}


def parse_kpi_filters(
    args: Mapping[str, str], catalogue: Catalogue | None, today: date, zone: ZoneInfo
) -> tuple[KpiFilters, list[str]]:
    """Read the filters from a URL query; values not understood are dropped and named."""
    invalid: list[str] = []

    def known(name: str, choices: Mapping[str, object]) -> str | None:
        value = (args.get(name) or "").strip()
        if value and value not in choices:
            invalid.append(name)
            return None
        return value or None

    def day(name: str) -> date | None:
        return query_day(args, name, invalid)

    life_event = known("life_event", catalogue.life_events if catalogue else {})
    procedure = known("procedure", catalogue.procedures if catalogue else {})
    default = kpis.Period.last_weeks(today, zone)
    first, last = day("from"), day("to")
    if first and last and first > last:
        invalid.append("to")
        last = None
    if first is None and last is None:
        period, default_period = default, True
    else:
        last = last or today
        first = first or last - (default.last_day - default.first_day)
        if (last - first).days >= kpis.MAX_PERIOD_DAYS:
            invalid.append("from")
            first = last - timedelta(days=kpis.MAX_PERIOD_DAYS - 1)
        period, default_period = kpis.Period(first, last, zone), False
    scope = kpis.Scope(life_event=life_event, procedure=procedure)
    return KpiFilters(scope, period, default_period), invalid


@dataclass(frozen=True)
class Names:
    """What ids stand for in the reader's language, from the published definitions."""

    life_events: dict[str, str] = field(default_factory=dict)
    procedures: dict[str, str] = field(default_factory=dict)
    steps: dict[str, str] = field(default_factory=dict)

    def stop(self, stop: kpis.Stop) -> str:
        """Where drafts stopped, as the page's heading says it."""
        if stop.stage == "choosing":
            return _("Choosing the procedures")
        if stop.stage == "review":
            return _("Checking the answers before sending")
        title = self.steps.get(stop.step, stop.step)
        if stop.stage == "questionnaire":
            return _("Questions: %(page)s", page=title)
        return _("Form: %(page)s", page=title)


def _names(catalogue: Catalogue | None, lang: str) -> Names:
    if catalogue is None:
        return Names()
    steps: dict[str, str] = {}
    for life_event in catalogue.life_events.values():
        specs = field_specs(catalogue, life_event)
        compiled_steps = [*life_event.questionnaire_steps, *life_event.shared_steps]
        for procedure_id in life_event.model.procedures:
            compiled_steps += catalogue.procedure(procedure_id).steps
        for compiled in compiled_steps:
            step = compiled.step
            label = getattr(specs.get(step.fields[0]), "label", None) if step.fields else None
            title = step.title or (step.exit.title if step.exit else None)
            if title is None and len(step.fields) == 1:
                title = label
            steps[compiled.key] = title.get(lang) if title is not None else step.id
    return Names(
        life_events={
            key: event.model.title.get(lang) for key, event in catalogue.life_events.items()
        },
        procedures={key: proc.model.title.get(lang) for key, proc in catalogue.procedures.items()},
        steps=steps,
    )


def _published() -> Catalogue | None:
    try:
        return published_catalogue(db.session)[0]
    except CatalogueError:
        return None


def share(value: float | None) -> str:
    """A share as a percentage with one decimal, or a dash when there is nothing to share."""
    return "–" if value is None else f"{value * 100:.1f}%"


def days(value: float | None) -> str:
    """Days to one decimal, or a dash."""
    return "–" if value is None else f"{value:.1f}"


def _week_label(week: kpis.Week) -> str:
    return _("Week of %(day)s", day=week.monday.isoformat())


def _charts(board: kpis.Dashboard, names: Names) -> dict[str, Markup]:
    weeks = board.applications.weeks
    week_labels = [_week_label(item.week) for item in weeks]
    axis = [f"{item.week.monday:%m/%d}" for item in weeks]
    drawn = {
        "applications": charts.bar_chart(
            "kpi-applications",
            _("Applications per week, online and at the counter"),
            _(
                "%(total)d applications in the period: %(online)d online, %(counter)d at "
                "the counter.",
                total=board.applications.total,
                online=board.applications.online,
                counter=board.applications.counter,
            ),
            week_labels,
            [
                charts.Series(_("Online"), [item.online for item in weeks]),
                charts.Series(_("At the counter"), [item.counter for item in weeks]),
            ],
            category_heading=_("Week"),
            axis_labels=axis,
        ),
        "decisions": charts.line_chart(
            "kpi-decisions",
            _("Median days to decision, week by week"),
            _(
                "%(count)d submissions decided in the period; median %(days)s days.",
                count=board.decisions.decided,
                days=days(board.decisions.median_days),
            ),
            week_labels,
            [
                charts.Series(
                    _("Median days"),
                    [median for _week, _count, median in board.decisions.weekly_medians()],
                )
            ],
            category_heading=_("Week"),
            axis_labels=axis,
            format_value=days,
        ),
    }
    if board.coverage:
        drawn["coverage"] = charts.bar_chart(
            "kpi-coverage",
            _("Procedures per life event by how they are done"),
            _("How many of each life event's procedures can be filed online."),
            [
                names.life_events.get(item.life_event_id, item.life_event_id)
                for item in board.coverage
            ],
            [
                charts.Series(_("Online"), [len(item.online) for item in board.coverage]),
                charts.Series(
                    _("At a counter only"), [len(item.counter) for item in board.coverage]
                ),
                charts.Series(_("Automatic"), [len(item.automatic) for item in board.coverage]),
            ],
            category_heading=_("Life event"),
        )
    if board.stops:
        drawn["stops"] = charts.bar_chart(
            "kpi-stops",
            _("Where residents give up"),
            _("Drafts by the page they stopped at; the numbers match the rows of the table."),
            [f"{index}. {names.stop(item.stop)}" for index, item in enumerate(board.stops, 1)],
            [
                charts.Series(_("Expired unsent"), [item.abandoned for item in board.stops]),
                charts.Series(_("Open, untouched"), [item.idle for item in board.stops]),
            ],
            category_heading=_("Where"),
            axis_labels=[str(index) for index in range(1, len(board.stops) + 1)],
        )
    return drawn


def _board() -> tuple[kpis.Dashboard | None, KpiFilters, list[str], Catalogue | None]:
    zone = ZoneInfo(current_app.config["PORTAL_TIMEZONE"])
    now = utcnow()
    day = WorkDay.at(now, current_app.config["PORTAL_TIMEZONE"])
    catalogue = _published()
    filters, invalid = parse_kpi_filters(request.args, catalogue, day.today, zone)
    if catalogue is None:
        return None, filters, invalid, None
    board = kpis.dashboard(db.session, catalogue, filters.period, filters.scope, now=now, day=day)
    return board, filters, invalid, catalogue


@bp.get("/kpis")
@login_required("admin")
def show_kpis() -> ResponseReturnValue:
    """The indicators the national plan tracks, for the chosen life event, procedure, period."""
    board, filters, invalid, catalogue = _board()
    names = _names(catalogue, current_language())
    return render_template(
        "admin/kpis.html",
        board=board,
        filters=filters,
        invalid=invalid,
        names=names,
        charts=_charts(board, names) if board else {},
        csv_url=url_for("admin.export_kpis", **filters.to_query()),
        share=share,
        days=days,
        idle_days=kpis.IDLE_DRAFT_DAYS,
        bereavement=names.life_events.get(kpis.BEREAVEMENT, kpis.BEREAVEMENT),
    )


def kpi_rows(board: kpis.Dashboard, names: Names) -> Iterator[list[str]]:
    """The dashboard as CSV rows: indicator, life event, procedure, from, to, breakdown, value.

    A value that does not exist (a median of nothing) is an empty cell, not a dash, so
    spreadsheets read the column as numbers.
    """

    def days(value: float | None) -> str:
        return "" if value is None else f"{value:.1f}"

    def share(value: float | None) -> str:
        return "" if value is None else f"{value * 100:.1f}"

    scope, period = board.scope, board.period
    life_event = names.life_events.get(scope.life_event or "", scope.life_event or "")
    procedure = names.procedures.get(scope.procedure or "", scope.procedure or "")
    first, last = period.first_day.isoformat(), period.last_day.isoformat()

    def whole(indicator: str, value: str, breakdown: str = "") -> list[str]:
        return [indicator, life_event, procedure, first, last, breakdown, value]

    for coverage in board.coverage:
        title = names.life_events.get(coverage.life_event_id, coverage.life_event_id)
        for indicator, value in (
            (_("Procedures in the life event"), str(coverage.total)),
            (_("Procedures that can be filed online"), str(len(coverage.online))),
            (_("Procedures at a counter only"), str(len(coverage.counter))),
            (_("Procedures done automatically"), str(len(coverage.automatic))),
        ):
            yield [indicator, title, "", "", "", "", value]
    for week in board.applications.weeks:
        start, end = week.week.first_day.isoformat(), week.week.last_day.isoformat()
        yield [
            _("Applications filed online"),
            life_event,
            procedure,
            start,
            end,
            "",
            str(week.online),
        ]
        yield [
            _("Applications filed at the counter"),
            life_event,
            procedure,
            start,
            end,
            "",
            str(week.counter),
        ]
    yield whole(_("Applications"), str(board.applications.total))
    yield whole(_("Share filed online (%)"), share(board.applications.online_share))
    yield whole(_("Submissions decided"), str(board.decisions.decided))
    yield whole(_("Median days to decision"), days(board.decisions.median_days))
    yield whole(
        _("Median days to decision, not counting waiting for the applicant"),
        days(board.decisions.median_days_without_waiting),
    )
    for week, count, median in board.decisions.weekly_medians():
        yield [
            _("Median days to decision"),
            life_event,
            procedure,
            week.first_day.isoformat(),
            week.last_day.isoformat(),
            _("%(count)d decided", count=count),
            days(median),
        ]
    yield whole(_("Overdue now"), str(board.overdue))
    for item in board.procedures:
        title = names.procedures.get(item.procedure_id, item.procedure_id)
        for indicator, value in (
            (_("Submissions received"), str(item.received)),
            (_("Submissions decided"), str(item.decided)),
            (_("Median days to decision"), days(item.median_days)),
            (_("Overdue now"), str(item.overdue)),
        ):
            yield [indicator, life_event, title, first, last, "", value]
    for stop in board.stops:
        where = names.life_events.get(stop.stop.life_event_id, stop.stop.life_event_id)
        label = f"{where}: {names.stop(stop.stop)}"
        yield whole(_("Drafts expired unsent"), str(stop.abandoned), label)
        yield whole(_("Drafts open and untouched"), str(stop.idle), label)
    prefill = board.prefill
    yield whole(_("Answers pre-filled from a register"), str(prefill.from_register))
    yield whole(_("Answers pre-filled and corrected"), str(prefill.changed_from_register))
    yield whole(_("Answers typed in"), str(prefill.typed))
    yield whole(_("Share of answers pre-filled (%)"), share(prefill.prefilled_share))
    if board.visits is not None:
        bereavement = names.life_events.get(kpis.BEREAVEMENT, kpis.BEREAVEMENT)
        for indicator, value in (
            (_("Applications"), board.visits.applications),
            (_("Procedures filed through one application"), board.visits.procedures_filed),
            (_("Separate visits saved"), board.visits.visits_saved),
        ):
            yield [indicator, bereavement, procedure, first, last, "", str(value)]


@bp.get("/kpis.csv")
@login_required("admin")
def export_kpis() -> ResponseReturnValue:
    """The dashboard's figures as CSV for Excel (UTF-8 with BOM), one figure a row."""
    board, filters, _invalid, catalogue = _board()
    names = _names(catalogue, current_language())
    header = [
        _("Indicator"),
        _("Life event"),
        _("Procedure"),
        _("From"),
        _("Until"),
        _("Breakdown"),
        _("Value"),
    ]
    rows = list(kpi_rows(board, names)) if board else []

    def lines() -> Iterator[str]:
        yield "\ufeff" + csv_line(header)
        for row in rows:
            yield csv_line(row)

    period = filters.period
    filename = f"kpis-{period.first_day:%Y%m%d}-{period.last_day:%Y%m%d}.csv"
    return Response(
        stream_with_context(lines()),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
