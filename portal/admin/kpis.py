"""The indicators the national digital-government plan tracks, per life event and procedure.

Every function takes the session, a period of whole days in the city's time zone and a
scope (a life event, a procedure, or both), and returns plain dataclasses that the
dashboard draws and the CSV export writes. Counts are summed by the database; medians
and the fields pre-filled from registers are worked out here, because SQLite has no
median and the provenance of fields is JSON.

Definitions, so the numbers can be checked by hand:

- Weeks start on Monday, in the city's time zone; the first and last week of a period
  may be partial.
- An application is filed *online* unless a clerk filed it at the counter (``assisted``).
- With a procedure chosen, application counts are of the applications that include it.
- Time to decision: from receipt to the first decision (approved, rejected or
  completed), in days, for submissions decided in the period; also without the time
  the clock stood still while the applicant was asked for information.
- Overdue: open submissions past their due date now, as the clerks' work list counts them.
- Visits saved (bereavement): each procedure filed would otherwise be its own visit to
  a counter; an application filed online saves one visit per procedure, one filed at the
  counter saves all but the one visit made.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from portal.admin.models import AbandonedDrafts
from portal.backoffice.models import Application, StatusChange, Submission
from portal.backoffice.workflow import DECIDED
from portal.backoffice.worklist import WorkDay, overdue_conditions
from portal.catalogue.services import CatalogueError
from portal.definitions.catalogue import Catalogue
from portal.definitions.expressions import EvalContext, default_context
from portal.definitions.sealing import unsealed
from portal.resident.models import Draft
from portal.resident.services import draft_state, stopping_point

BEREAVEMENT = "bereavement"
DEFAULT_WEEKS = 12
# The longest period the dashboard sums week by week (two years and a day or two).
MAX_PERIOD_DAYS = 731
# An open draft nobody has saved for this long counts as stalled where it stopped.
IDLE_DRAFT_DAYS = 7
SECONDS_PER_DAY = 86_400
STAGE_ORDER = ("questionnaire", "choosing", "form", "review")


@dataclass(frozen=True)
class Week:
    """One Monday-to-Sunday week of a period, cut to the period's first and last day."""

    monday: date
    first_day: date
    last_day: date


@dataclass(frozen=True)
class Period:
    """Whole days from ``first_day`` to ``last_day`` (both included) in a time zone."""

    first_day: date
    last_day: date
    zone: ZoneInfo

    @classmethod
    def last_weeks(cls, today: date, zone: ZoneInfo, weeks: int = DEFAULT_WEEKS) -> Period:
        """The current week and the ``weeks - 1`` whole weeks before it, up to today."""
        monday = today - timedelta(days=today.weekday())
        return cls(monday - timedelta(weeks=weeks - 1), today, zone)

    def start_of(self, day: date) -> datetime:
        """Local midnight at the start of ``day``, as an aware time."""
        return datetime.combine(day, time(), tzinfo=self.zone)

    @property
    def starts_at(self) -> datetime:
        """The first moment of the period."""
        return self.start_of(self.first_day)

    @property
    def ends_at(self) -> datetime:
        """The first moment after the period."""
        return self.start_of(self.last_day + timedelta(days=1))

    def weeks(self) -> list[Week]:
        """The period's weeks in order, Monday first."""
        found = []
        monday = self.first_day - timedelta(days=self.first_day.weekday())
        while monday <= self.last_day:
            sunday = monday + timedelta(days=6)
            found.append(Week(monday, max(monday, self.first_day), min(sunday, self.last_day)))
            monday += timedelta(weeks=1)
        return found

    def week_bounds(self, week: Week) -> tuple[datetime, datetime]:
        """The first moment of a week and the first moment after it."""
        return self.start_of(week.first_day), self.start_of(week.last_day + timedelta(days=1))

    def week_of(self, moment: datetime) -> int:
        """The index in ``weeks()`` of the week a moment of the period falls in."""
        day = moment.astimezone(self.zone).date()
        first_monday = self.first_day - timedelta(days=self.first_day.weekday())
        return (day - first_monday).days // 7


@dataclass(frozen=True)
class Scope:
    """Which applications the indicators cover: all, one life event's, one procedure's."""

    life_event: str | None = None
    procedure: str | None = None


def _application_conditions(period: Period, scope: Scope) -> list[ColumnElement[bool]]:
    """Applications submitted in the period, within the scope."""
    conditions = [
        Application.submitted_at >= period.starts_at,
        Application.submitted_at < period.ends_at,
    ]
    if scope.life_event:
        conditions.append(Application.life_event_id == scope.life_event)
    if scope.procedure:
        # Its own alias: queries that join the application's submissions stay whole.
        filed = aliased(Submission)
        conditions.append(
            exists().where(
                filed.application_id == Application.id, filed.procedure_id == scope.procedure
            )
        )
    return conditions


def _submission_conditions(scope: Scope) -> list[ColumnElement[bool]]:
    """Submissions within the scope (the query joins their application)."""
    conditions: list[ColumnElement[bool]] = []
    if scope.life_event:
        conditions.append(Application.life_event_id == scope.life_event)
    if scope.procedure:
        conditions.append(Submission.procedure_id == scope.procedure)
    return conditions


# --------------------------------------------------------------------------- coverage


@dataclass(frozen=True)
class Coverage:
    """A life event's procedures by how they are done: online, at a counter, automatically."""

    life_event_id: str
    online: tuple[str, ...]
    counter: tuple[str, ...]
    automatic: tuple[str, ...]

    @property
    def total(self) -> int:
        """How many procedures the life event may bring."""
        return len(self.online) + len(self.counter) + len(self.automatic)

    @property
    def online_share(self) -> float | None:
        """The share of procedures residents need to do that can be filed online."""
        to_do = len(self.online) + len(self.counter)
        return len(self.online) / to_do if to_do else None


def online_coverage(catalogue: Catalogue, life_event: str | None = None) -> list[Coverage]:
    """For each published life event (or one), its procedures that can be filed online."""
    found = []
    for life_event_id, compiled in catalogue.life_events.items():
        if life_event and life_event_id != life_event:
            continue
        modes: dict[str, list[str]] = {"online": [], "counter": [], "automatic": []}
        for procedure_id in compiled.model.procedures:
            modes[catalogue.procedure(procedure_id).model.mode].append(procedure_id)
        found.append(
            Coverage(
                life_event_id,
                tuple(modes["online"]),
                tuple(modes["counter"]),
                tuple(modes["automatic"]),
            )
        )
    return found


# --------------------------------------------------------------------------- applications


@dataclass(frozen=True)
class WeekCount:
    """Applications of one week, filed online and at the counter."""

    week: Week
    online: int
    counter: int

    @property
    def total(self) -> int:
        return self.online + self.counter


@dataclass(frozen=True)
class ApplicationCounts:
    """Applications of the period, week by week, by how they were filed."""

    weeks: list[WeekCount]

    @property
    def online(self) -> int:
        return sum(week.online for week in self.weeks)

    @property
    def counter(self) -> int:
        return sum(week.counter for week in self.weeks)

    @property
    def total(self) -> int:
        return self.online + self.counter

    @property
    def online_share(self) -> float | None:
        """The share filed online rather than at the counter; None without applications."""
        return self.online / self.total if self.total else None


def applications_by_week(session: Session, period: Period, scope: Scope) -> ApplicationCounts:
    """How many applications each week brought, online and at the counter (one query)."""
    weeks = period.weeks()
    columns = []
    for week in weeks:
        start, end = period.week_bounds(week)
        in_week = and_(Application.submitted_at >= start, Application.submitted_at < end)
        columns.append(func.sum(case((in_week, 1), else_=0)))
    rows = session.execute(
        select(Application.assisted, *columns)
        .where(*_application_conditions(period, scope))
        .group_by(Application.assisted)
    ).all()
    by_channel = {bool(row[0]): [int(value or 0) for value in row[1:]] for row in rows}
    online = by_channel.get(False, [0] * len(weeks))
    counter = by_channel.get(True, [0] * len(weeks))
    return ApplicationCounts(
        [WeekCount(week, online[i], counter[i]) for i, week in enumerate(weeks)]
    )


# --------------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class Decision:
    """One submission decided in the period: how long it took, and how long it waited."""

    procedure_id: str
    decided_at: datetime
    days: float
    waiting_days: float

    @property
    def days_without_waiting(self) -> float:
        """The days the city's clock ran: without the time the applicant was asked."""
        return self.days - self.waiting_days


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


@dataclass(frozen=True)
class DecisionTimes:
    """Submissions decided in the period and the median days they took."""

    decisions: list[Decision]
    weeks: list[Week]
    week_of: Mapping[int, list[Decision]] = field(default_factory=dict)

    @property
    def decided(self) -> int:
        return len(self.decisions)

    @property
    def median_days(self) -> float | None:
        """Median days from receipt to decision."""
        return _median([decision.days for decision in self.decisions])

    @property
    def median_days_without_waiting(self) -> float | None:
        """The same, with the clock stopped while waiting for the applicant."""
        return _median([decision.days_without_waiting for decision in self.decisions])

    def weekly_medians(self) -> list[tuple[Week, int, float | None]]:
        """Each week: how many were decided in it, and the median days they took."""
        return [
            (
                week,
                len(self.week_of.get(index, [])),
                _median([decision.days for decision in self.week_of.get(index, [])]),
            )
            for index, week in enumerate(self.weeks)
        ]

    def of_procedure(self, procedure_id: str) -> list[Decision]:
        """The decisions about one procedure."""
        return [d for d in self.decisions if d.procedure_id == procedure_id]


def _waiting_seconds(changes: Iterable[Any], decided_at: datetime) -> float:
    """Seconds spent waiting for the applicant before the decision, from the timeline."""
    waiting = 0.0
    paused_at: datetime | None = None
    for change in changes:
        if change.at > decided_at:
            break
        if change.to_status == "awaiting_applicant":
            paused_at = change.at
        elif change.from_status == "awaiting_applicant" and paused_at is not None:
            waiting += (change.at - paused_at).total_seconds()
            paused_at = None
    return waiting


def decision_times(session: Session, period: Period, scope: Scope) -> DecisionTimes:
    """The submissions decided in the period, with their days to decision."""
    conditions = [
        Submission.status.in_(sorted(DECIDED)),
        Submission.decided_at.is_not(None),
        Submission.decided_at >= period.starts_at,
        Submission.decided_at < period.ends_at,
        *_submission_conditions(scope),
    ]
    rows = session.execute(
        select(
            Submission.id, Submission.procedure_id, Submission.received_at, Submission.decided_at
        )
        .join(Application, Application.id == Submission.application_id)
        .where(*conditions)
        .order_by(Submission.id)
    ).all()
    changes: dict[int, list[Any]] = defaultdict(list)
    for change in session.execute(
        select(
            StatusChange.submission_id,
            StatusChange.from_status,
            StatusChange.to_status,
            StatusChange.at,
        )
        .join(Submission, Submission.id == StatusChange.submission_id)
        .join(Application, Application.id == Submission.application_id)
        .where(*conditions)
        .order_by(StatusChange.submission_id, StatusChange.id)
    ):
        changes[change.submission_id].append(change)
    decisions = [
        Decision(
            procedure_id=row.procedure_id,
            decided_at=row.decided_at,
            days=(row.decided_at - row.received_at).total_seconds() / SECONDS_PER_DAY,
            waiting_days=_waiting_seconds(changes[row.id], row.decided_at) / SECONDS_PER_DAY,
        )
        for row in rows
    ]
    week_of: dict[int, list[Decision]] = defaultdict(list)
    for decision in decisions:
        week_of[period.week_of(decision.decided_at)].append(decision)
    return DecisionTimes(decisions, period.weeks(), dict(week_of))


# --------------------------------------------------------------------------- overdue


def overdue_now(session: Session, scope: Scope, *, day: WorkDay) -> dict[str, int]:
    """Open submissions past their due date now, by procedure (the work list's rule)."""
    rows = session.execute(
        select(Submission.procedure_id, func.count())
        .join(Application, Application.id == Submission.application_id)
        .where(*overdue_conditions(day), *_submission_conditions(scope))
        .group_by(Submission.procedure_id)
    ).all()
    return {procedure_id: int(count) for procedure_id, count in rows}


# --------------------------------------------------------------------------- per procedure


@dataclass(frozen=True)
class ProcedureFigures:
    """One procedure's figures: received and decided in the period, overdue now."""

    procedure_id: str
    received: int
    decided: int
    median_days: float | None
    overdue: int


def procedure_figures(
    session: Session,
    period: Period,
    scope: Scope,
    *,
    decisions: DecisionTimes,
    overdue: Mapping[str, int],
) -> list[ProcedureFigures]:
    """Every procedure with something to show in the period or overdue now, by id."""
    received = dict(
        session.execute(
            select(Submission.procedure_id, func.count())
            .join(Application, Application.id == Submission.application_id)
            .where(
                Submission.received_at >= period.starts_at,
                Submission.received_at < period.ends_at,
                *_submission_conditions(scope),
            )
            .group_by(Submission.procedure_id)
        ).all()
    )
    decided_ids = {decision.procedure_id for decision in decisions.decisions}
    figures = []
    for procedure_id in sorted(set(received) | decided_ids | set(overdue)):
        own = decisions.of_procedure(procedure_id)
        figures.append(
            ProcedureFigures(
                procedure_id=procedure_id,
                received=int(received.get(procedure_id, 0)),
                decided=len(own),
                median_days=_median([decision.days for decision in own]),
                overdue=overdue.get(procedure_id, 0),
            )
        )
    return figures


# --------------------------------------------------------------------------- prefill


@dataclass(frozen=True)
class PrefillFigures:
    """The answers of the period's applications by where their values came from."""

    applications: int = 0
    from_register: int = 0
    changed_from_register: int = 0
    typed: int = 0

    @property
    def answered(self) -> int:
        return self.from_register + self.changed_from_register + self.typed

    @property
    def prefilled_share(self) -> float | None:
        """The share of answers pre-filled from a register (kept or corrected)."""
        prefilled = self.from_register + self.changed_from_register
        return prefilled / self.answered if self.answered else None


def _given(value: object) -> bool:
    return value is not None and value != "" and value != [] and value != {}


def prefill_figures(session: Session, period: Period, scope: Scope) -> PrefillFigures:
    """Count each answer given (questionnaire included) as pre-filled, corrected or typed.

    An answer is pre-filled when the application's register record holds its provenance
    and the value filed is still the register's; corrected when it differs from it.
    """
    applications = from_register = changed = typed = 0
    rows = session.execute(
        select(Application.answers, Application.register).where(
            *_application_conditions(period, scope)
        )
    )
    for answers, register in rows:
        applications += 1
        provenance = (register or {}).get("provenance") or {}
        for field_id, value in (answers or {}).items():
            if not _given(value):
                continue
            origin = provenance.get(field_id)
            if origin is None:
                typed += 1
            elif unsealed(value) == unsealed(origin.get("value")):
                from_register += 1
            else:
                changed += 1
    return PrefillFigures(applications, from_register, changed, typed)


# --------------------------------------------------------------------------- bereavement


@dataclass(frozen=True)
class VisitsSaved:
    """Bereavement applications and the separate visits their one filing saved."""

    applications: int = 0
    procedures_filed: int = 0
    at_counter: int = 0

    @property
    def visits_saved(self) -> int:
        """One visit per procedure filed, less the one visit of each counter filing."""
        return self.procedures_filed - self.at_counter


def bereavement_visits_saved(session: Session, period: Period, scope: Scope) -> VisitsSaved:
    """Procedures the bereaved filed through one application instead of one visit each."""
    bereavement = Scope(life_event=BEREAVEMENT, procedure=scope.procedure)
    rows = session.execute(
        select(
            Application.assisted,
            func.count(func.distinct(Application.id)),
            func.count(Submission.id),
        )
        .join(Submission, Submission.application_id == Application.id)
        .where(*_application_conditions(period, bereavement))
        .group_by(Application.assisted)
    ).all()
    applications = sum(int(row[1]) for row in rows)
    procedures = sum(int(row[2]) for row in rows)
    at_counter = sum(int(row[1]) for row in rows if row[0])
    return VisitsSaved(applications, procedures, at_counter)


# --------------------------------------------------------------------------- giving up


@dataclass(frozen=True, order=True)
class Stop:
    """Where drafts of a life event stopped: ``step`` is a page key or "" (see stages)."""

    life_event_id: str
    stage: str
    step: str


@dataclass(frozen=True)
class StopCount:
    """Drafts that stopped at one place: expired in the period, and open but idle now."""

    stop: Stop
    abandoned: int
    idle: int


def _hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def stop_of(session: Session, draft: Draft, context: EvalContext) -> Stop:
    """Where one draft stopped; its saved stage alone if its definitions cannot be read."""
    try:
        stage, step = stopping_point(draft_state(session, draft), context)
    except (CatalogueError, LookupError):
        stage, step = draft.stage, ""
    return Stop(draft.life_event_id, stage, step)


def record_abandoned_drafts(session: Session, drafts: Iterable[Draft]) -> int:
    """Count expired drafts by where they stopped, before the purge deletes them.

    Pages are worked out as the resident's journey does (today in Japan). Adds to the
    hourly counts with one upsert per (hour, life event, stage, page), in key order, so
    two purges at once still add up. Returns how many drafts were counted.
    """
    context = default_context()
    tally: Counter[tuple[datetime, Stop]] = Counter(
        (_hour(draft.updated_at), stop_of(session, draft, context)) for draft in drafts
    )
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for (hour, stop), count in sorted(tally.items()):
        statement = insert(AbandonedDrafts).values(
            last_saved_hour=hour,
            life_event_id=stop.life_event_id,
            stage=stop.stage,
            step=stop.step,
            count=count,
        )
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["last_saved_hour", "life_event_id", "stage", "step"],
                set_={"count": AbandonedDrafts.count + statement.excluded.count},
            )
        )
    return sum(tally.values())


def where_drafts_stop(
    session: Session, period: Period, scope: Scope, *, now: datetime
) -> list[StopCount]:
    """Where residents give up: drafts last saved in the period that expired unfiled, and
    open drafts nobody has saved for ``IDLE_DRAFT_DAYS`` days, by where they stopped.

    Drafts carry no procedure until one is chosen, so only the life event narrows this.
    The counts are kept by UTC hour, which is exact for Japan's whole-hour offset.
    """
    conditions = [
        AbandonedDrafts.last_saved_hour >= _hour(period.starts_at),
        AbandonedDrafts.last_saved_hour < _hour(period.ends_at),
    ]
    if scope.life_event:
        conditions.append(AbandonedDrafts.life_event_id == scope.life_event)
    abandoned: Counter[Stop] = Counter()
    for life_event_id, stage, step, count in session.execute(
        select(
            AbandonedDrafts.life_event_id,
            AbandonedDrafts.stage,
            AbandonedDrafts.step,
            func.sum(AbandonedDrafts.count),
        )
        .where(*conditions)
        .group_by(AbandonedDrafts.life_event_id, AbandonedDrafts.stage, AbandonedDrafts.step)
    ):
        abandoned[Stop(life_event_id, stage, step)] += int(count)
    idle_conditions = [
        Draft.expires_at > now,
        Draft.updated_at <= now - timedelta(days=IDLE_DRAFT_DAYS),
    ]
    if scope.life_event:
        idle_conditions.append(Draft.life_event_id == scope.life_event)
    context = default_context()
    idle: Counter[Stop] = Counter(
        stop_of(session, draft, context)
        for draft in session.scalars(select(Draft).where(*idle_conditions))
    )
    stops = set(abandoned) | set(idle)
    ordered = sorted(
        stops,
        key=lambda stop: (
            stop.life_event_id,
            -(abandoned[stop] + idle[stop]),
            STAGE_ORDER.index(stop.stage),
            stop.step,
        ),
    )
    return [StopCount(stop, abandoned[stop], idle[stop]) for stop in ordered]


# --------------------------------------------------------------------------- together


@dataclass(frozen=True)
class Dashboard:
    """Every indicator for one period and scope."""

    period: Period
    scope: Scope
    coverage: list[Coverage]
    applications: ApplicationCounts
    decisions: DecisionTimes
    overdue: int
    procedures: list[ProcedureFigures]
    stops: list[StopCount]
    prefill: PrefillFigures
    visits: VisitsSaved | None


def dashboard(
    session: Session,
    catalogue: Catalogue,
    period: Period,
    scope: Scope,
    *,
    now: datetime,
    day: WorkDay,
) -> Dashboard:
    """Work out every indicator; visits saved only where bereavement is in scope."""
    decisions = decision_times(session, period, scope)
    overdue = overdue_now(session, scope, day=day)
    in_scope = scope.life_event in (None, BEREAVEMENT)
    return Dashboard(
        period=period,
        scope=scope,
        coverage=online_coverage(catalogue, scope.life_event),
        applications=applications_by_week(session, period, scope),
        decisions=decisions,
        overdue=sum(overdue.values()),
        procedures=procedure_figures(session, period, scope, decisions=decisions, overdue=overdue),
        stops=where_drafts_stop(session, period, scope, now=now),
        prefill=prefill_figures(session, period, scope),
        visits=bereavement_visits_saved(session, period, scope) if in_scope else None,
    )
