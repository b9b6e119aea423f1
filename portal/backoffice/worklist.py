"""The clerk's work lists: who sees which submissions, the lists and filters, claiming.

A clerk sees the submissions of their own departments; an admin sees every
department, the triage queue included. Lists are paged by keyset (the last row's
sort value and id), never by offset, and each page is read one (department or
assignee, status) slice at a time, each slice an index range scan in sort order, so
a page costs the same with a thousand submissions or a million. The numbers on the
tabs are counted only up to a cap (``TAB_COUNT_CAP``) for the same reason, and each
query's statement is built once per shape and run with bound values.

Claiming locks the row first: on PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so a
second clerk is told at once that someone else has it; on SQLite every writing
transaction starts with ``BEGIN IMMEDIATE``, so the second claim runs after the
first has committed and finds the submission taken. Every claim, release and
reassignment writes an audit entry in the caller's transaction; nothing here commits.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Date,
    Integer,
    Label,
    Select,
    String,
    bindparam,
    false,
    func,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from portal.audit.services import record_event
from portal.backoffice import workflow
from portal.backoffice.models import SUBMISSION_STATUSES, Application, SavedView, Submission
from portal.database import UTCDateTime
from portal.definitions.expressions import japanese_business_day
from portal.definitions.routing import due_date
from portal.identity.models import User

LISTS = ("mine", "team_unassigned", "all", "due_soon", "overdue")
DEFAULT_LIST = "mine"
OPEN_STATUSES = ("received", "in_review", "awaiting_applicant")
SORTS = ("received_at", "due_on")
DUE_SOON_BUSINESS_DAYS = 3
# A tab's number stops at 99: past it the tab says "99+". A page of the list shows 50
# rows, so "99+" already says "more than two pages", and past that a clerk narrows the
# list with the filters rather than counting; exact workloads by procedure are on the
# KPI dashboard. Counting exactly would read every row of the department on every page
# ("All in my team" grows without end); counting to 100 reads at most 100 index
# entries a tab (a cap of 999 measured 18 ms a page at a million rows, 99 about 2 ms),
# and two digits keep the tabs on one line.
TAB_COUNT_CAP = 99
MAX_PAGE_SIZE = 200
MAX_TEXT_LENGTH = 100
MAX_VIEW_NAME_LENGTH = 80
MAX_SAVED_VIEWS = 50
MAX_REASON_LENGTH = 500
# A bulk reassignment moves at most this many submissions (four pages of the list).
MAX_BULK_REASSIGN = 200
# Ids are 32-bit integers on PostgreSQL: a larger number in a URL must not reach it.
MAX_ID = 2**31 - 1
# Dates a filter accepts: far enough apart for any real list, never at the calendar's edge.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2999, 12, 31)


class NotVisible(LookupError):
    """No such submission in the user's departments: shown as 404, as if it did not exist."""


class WorkRefused(Exception):
    """A claim, release or reassignment that cannot be made; ``code`` says why."""

    def __init__(self, code: str, references: Sequence[str] = ()) -> None:
        super().__init__(f"{code}: {', '.join(references)}")
        self.code = code
        self.references = tuple(references)


class InvalidCursor(ValueError):
    """A page token that this list did not give out (tampered, or from another sort)."""


@dataclass(frozen=True)
class QueueScope:
    """The departments whose submissions a user sees; ``everything`` for admins."""

    departments: frozenset[str] = frozenset()
    everything: bool = False

    def includes(self, department_id: str) -> bool:
        """Whether a submission of this department is visible."""
        return self.everything or department_id in self.departments

    @property
    def empty(self) -> bool:
        """Whether the user sees nothing at all."""
        return not self.everything and not self.departments

    def clause(self) -> ColumnElement[bool]:
        """The same rule as a SQL condition on submissions."""
        if self.everything:
            return true()
        if not self.departments:
            return false()
        return Submission.department_id.in_(sorted(self.departments))


def visible_queues(user: User) -> QueueScope:
    """What a user sees: an admin every queue (triage too), a clerk their departments only."""
    if user.role == "admin":
        return QueueScope(everything=True)
    if user.role == "clerk":
        return QueueScope(departments=frozenset(user.departments or ()))
    return QueueScope()


@dataclass(frozen=True)
class WorkDay:
    """Today in the city's time zone, and its calendar: what due dates are measured by."""

    today: date
    zone: ZoneInfo
    is_business_day: Callable[[date], bool] = japanese_business_day

    @classmethod
    def at(cls, now: datetime, timezone: str) -> WorkDay:
        """The working day at the moment ``now`` in the city's time zone."""
        zone = ZoneInfo(timezone)
        return cls(today=now.astimezone(zone).date(), zone=zone)

    @property
    def due_soon_until(self) -> date:
        """The last due date that counts as due soon: three business days from today."""
        return due_date(self.today, DUE_SOON_BUSINESS_DAYS, self.is_business_day)

    def start_of(self, day: date) -> datetime:
        """Local midnight at the start of ``day``, as an aware time."""
        return datetime.combine(day, time(), tzinfo=self.zone)


@dataclass(frozen=True)
class Filters:
    """One work list with its filters and sort, as the list page's URL query carries them.

    ``assignee`` is ``"me"``, ``"none"`` (unassigned) or a user id as text.
    """

    list_name: str = DEFAULT_LIST
    procedure: str | None = None
    status: str | None = None
    assignee: str | None = None
    received_from: date | None = None
    received_to: date | None = None
    overdue: bool = False
    text: str = ""
    sort: str = "received_at"
    descending: bool = False

    def to_query(self) -> dict[str, str]:
        """The URL query of these filters, leaving out defaults."""
        values = {
            "list": self.list_name if self.list_name != DEFAULT_LIST else None,
            "procedure": self.procedure,
            "status": self.status,
            "assignee": self.assignee,
            "received_from": self.received_from.isoformat() if self.received_from else None,
            "received_to": self.received_to.isoformat() if self.received_to else None,
            "overdue": "yes" if self.overdue else None,
            "q": self.text or None,
            "sort": self.sort if self.sort != "received_at" else None,
            "order": "desc" if self.descending else None,
        }
        return {name: value for name, value in values.items() if value}

    @property
    def filtered(self) -> bool:
        """Whether any filter narrows the list (list, sort and order are not filters)."""
        return bool(
            self.procedure
            or self.status
            or self.assignee
            or self.received_from
            or self.received_to
            or self.overdue
            or self.text
        )


def query_day(args: Mapping[str, str], name: str, invalid: list[str]) -> date | None:
    """A day given in a URL query as YYYY-MM-DD; None when absent, and named in
    ``invalid`` when it is not a day or lies outside the years a filter can mean."""
    value = (args.get(name) or "").strip()
    if not value:
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or not EARLIEST_DAY <= parsed <= LATEST_DAY:
        invalid.append(name)
        return None
    return parsed


def parse_filters(args: Mapping[str, str]) -> tuple[Filters, list[str]]:
    """Read filters from a URL query; unknown values are dropped and their fields named."""
    invalid: list[str] = []

    def choice(name: str, allowed: Sequence[str]) -> str | None:
        value = (args.get(name) or "").strip()
        if not value:
            return None
        if value not in allowed:
            invalid.append(name)
            return None
        return value

    def day(name: str) -> date | None:
        return query_day(args, name, invalid)

    assignee = (args.get("assignee") or "").strip() or None
    if assignee is not None and assignee not in ("me", "none") and parse_id(assignee) is None:
        invalid.append("assignee")
        assignee = None
    procedure = (args.get("procedure") or "").strip()[:80] or None
    received_from, received_to = day("received_from"), day("received_to")
    if received_from and received_to and received_from > received_to:
        invalid.append("received_to")
        received_to = None
    filters = Filters(
        list_name=choice("list", LISTS) or DEFAULT_LIST,
        procedure=procedure,
        status=choice("status", SUBMISSION_STATUSES),
        assignee=assignee,
        received_from=received_from,
        received_to=received_to,
        overdue=args.get("overdue") == "yes",
        text=" ".join((args.get("q") or "").split())[:MAX_TEXT_LENGTH],
        sort=choice("sort", SORTS) or "received_at",
        descending=choice("order", ("asc", "desc")) == "desc",
    )
    return filters, invalid


def parse_id(value: str | None) -> int | None:
    """A database id typed in a form or URL, or None if it cannot be one."""
    text = (value or "").strip()
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(MAX_ID))):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


@dataclass(frozen=True)
class WorkItem:
    """One row of a work list: what the list shows, never an answer the applicant gave."""

    id: int
    reference: str
    procedure_id: str
    department_id: str
    status: str
    received_at: datetime
    due_on: date | None
    paused: bool
    assignee_id: int | None
    assignee_name: str | None
    applicant_name: str
    overdue: bool

    def sort_value(self, sort: str) -> datetime | date | None:
        """The value of the sort column for this row."""
        return self.received_at if sort == "received_at" else self.due_on


@dataclass(frozen=True)
class Page:
    """One page of a list, with the tokens of the pages before and after it, if any."""

    items: list[WorkItem]
    next_cursor: str | None = None
    previous_cursor: str | None = None


@dataclass(frozen=True)
class _Cursor:
    """A position in a list: the sort value (None for rows without a due date) and id."""

    value: datetime | date | None
    id: int


def encode_cursor(sort: str, item: WorkItem) -> str:
    """An opaque, URL-safe token for the position just at ``item``."""
    value = item.sort_value(sort)
    payload = json.dumps(
        [sort, value.isoformat() if value is not None else None, item.id], separators=(",", ":")
    )
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _decode_cursor(token: str, sort: str) -> _Cursor:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        token_sort, value, row_id = json.loads(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError) as error:
        raise InvalidCursor(token) from error
    if (
        token_sort != sort
        or type(row_id) is not int
        or not 0 < row_id <= MAX_ID
        or not (value is None or isinstance(value, str))
    ):
        raise InvalidCursor(token)
    if value is None:
        if sort == "received_at":
            raise InvalidCursor(token)
        return _Cursor(None, row_id)
    try:
        parsed: datetime | date = (
            datetime.fromisoformat(value) if sort == "received_at" else date.fromisoformat(value)
        )
        if isinstance(parsed, datetime):
            if parsed.tzinfo is None:
                raise InvalidCursor(token)
            parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise InvalidCursor(token) from error
    return _Cursor(parsed, row_id)


def _clock_overdue(today: date | BindParameter[date]) -> list[ColumnElement[bool]]:
    """An open submission is overdue when its clock runs and its due day has passed."""
    return [Submission.paused_since.is_(None), Submission.due_on < today]


def overdue_conditions(day: WorkDay) -> list[ColumnElement[bool]]:
    """What makes a submission overdue: open, its clock running, its due day passed."""
    return [Submission.status.in_(OPEN_STATUSES), *_clock_overdue(day.today)]


# The values a list's query is run with. Its SQL is built once per shape (`_Shape`) from
# these named parameters, never from the values, so a built statement serves every clerk.
_USER_ID = bindparam("user_id", type_=Integer)
_TODAY = bindparam("today", type_=Date)
_DUE_SOON_UNTIL = bindparam("due_soon_until", type_=Date)
_LIMIT = bindparam("limit", type_=Integer)


def _day_params(user: User, day: WorkDay) -> dict[str, Any]:
    """The values of the parameters the lists' rules use."""
    return {"user_id": user.id, "today": day.today, "due_soon_until": day.due_soon_until}


def _list_statuses(list_name: str) -> tuple[str, ...]:
    """The statuses a list can hold: every one in "All in my team", else the open ones."""
    return SUBMISSION_STATUSES if list_name == "all" else OPEN_STATUSES


def _slices(
    scope: QueueScope, list_name: str, statuses: Sequence[str]
) -> list[list[ColumnElement[bool]]]:
    """The (department or assignee, status) slices a list is read from, one index range each.

    Each slice says its department (or assignee) and status once, and nothing else says
    them again: PostgreSQL takes ``status = 'x' AND status IN (…)`` for two independent
    conditions, expects a handful of rows and reads the whole slice into a sort instead
    of walking the index to the limit.
    """
    if list_name == "mine":
        within = [] if scope.everything else [scope.clause()]
        return [
            [Submission.assignee_id == _USER_ID, Submission.status == status, *within]
            for status in statuses
        ]
    if scope.everything:
        return [[Submission.status == status] for status in statuses]
    return [
        [Submission.department_id == department, Submission.status == status]
        for department in sorted(scope.departments)
        for status in statuses
    ]


def _list_rule(list_name: str) -> list[ColumnElement[bool]]:
    """What a list asks of a submission beyond its slice's department (or assignee) and status."""
    if list_name == "team_unassigned":
        return [Submission.assignee_id.is_(None)]
    if list_name == "due_soon":
        # The clock of a paused submission is stopped: its due date will move.
        return [
            Submission.paused_since.is_(None),
            Submission.due_on >= _TODAY,
            Submission.due_on <= _DUE_SOON_UNTIL,
        ]
    if list_name == "overdue":
        return _clock_overdue(_TODAY)
    return []


@dataclass(frozen=True)
class _Shape:
    """What decides the SQL of one page's query; the values are bound parameters.

    Putting the union of index slices together (each slice a subquery, each subquery
    its own column proxies) costs more than compiling it, and SQLAlchemy's compiled
    cache saves only the compiling: so each shape's statement is built once and kept
    (`_page_statement`), and a request only binds its values (`_page_params`).
    """

    scope: QueueScope
    list_name: str
    # The statuses read one slice each: the list's, narrowed by the status and overdue filters.
    statuses: tuple[str, ...]
    sort: str
    greater: bool
    # Where the cursor is: none (first page), at a row with a sort value, or without one.
    cursor: str
    procedure: bool
    # "me", "none", "id" (a clerk's id), or None.
    assignee: str | None
    received_from: bool
    received_to: bool
    overdue: bool
    text: bool


def _shape(scope: QueueScope, filters: Filters, cursor: _Cursor | None, greater: bool) -> _Shape:
    """The shape of a page's query; a filter the list already implies is left out."""
    statuses = _list_statuses(filters.list_name)
    if filters.status:
        statuses = tuple(status for status in statuses if status == filters.status)
    if filters.overdue:
        statuses = tuple(status for status in statuses if status in OPEN_STATUSES)
    assignee = filters.assignee
    if assignee is not None and assignee not in ("me", "none"):
        assignee = "id"
    if (filters.list_name, assignee) in (("mine", "me"), ("team_unassigned", "none")):
        assignee = None
    cursor_kind = "none" if cursor is None else "no_value" if cursor.value is None else "value"
    return _Shape(
        scope=scope,
        list_name=filters.list_name,
        statuses=statuses,
        sort=filters.sort,
        greater=greater,
        cursor=cursor_kind,
        procedure=bool(filters.procedure),
        assignee=assignee,
        received_from=filters.received_from is not None,
        received_to=filters.received_to is not None,
        overdue=filters.overdue and filters.list_name != "overdue",
        text=bool(filters.text),
    )


def _like_escaped(text: str) -> str:
    """``text`` for a LIKE pattern: its wildcards are plain characters (escaped with ``/``)."""
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def _page_params(
    user: User, filters: Filters, day: WorkDay, cursor: _Cursor | None, limit: int
) -> dict[str, Any]:
    """Every parameter any page statement can use, always the same keys.

    The compiled cache's key includes the parameter names passed, so passing the
    same set every time keeps one compiled form per shape.
    """
    return {
        **_day_params(user, day),
        "procedure": filters.procedure,
        "assignee_id": (
            int(filters.assignee) if filters.assignee not in (None, "me", "none") else None
        ),
        "received_from": day.start_of(filters.received_from) if filters.received_from else None,
        "received_until": (
            day.start_of(filters.received_to + timedelta(days=1)) if filters.received_to else None
        ),
        "text": _like_escaped(filters.text) if filters.text else None,
        "cursor_value": cursor.value if cursor is not None else None,
        "cursor_id": cursor.id if cursor is not None else None,
        "limit": limit,
    }


def _filter_conditions(shape: _Shape) -> list[ColumnElement[bool]]:
    """The filters' conditions; the status filter is in the shape's slices."""
    conditions: list[ColumnElement[bool]] = []
    if shape.procedure:
        conditions.append(Submission.procedure_id == bindparam("procedure", type_=String))
    if shape.assignee == "me":
        conditions.append(Submission.assignee_id == _USER_ID)
    elif shape.assignee == "none":
        conditions.append(Submission.assignee_id.is_(None))
    elif shape.assignee == "id":
        conditions.append(Submission.assignee_id == bindparam("assignee_id", type_=Integer))
    if shape.received_from:
        conditions.append(Submission.received_at >= bindparam("received_from", type_=UTCDateTime))
    if shape.received_to:
        conditions.append(Submission.received_at < bindparam("received_until", type_=UTCDateTime))
    if shape.overdue:
        conditions += _clock_overdue(_TODAY)
    if shape.text:
        pattern = bindparam("text", type_=String)
        conditions.append(
            or_(
                Submission.reference.icontains(pattern, escape="/"),
                Application.applicant_name.icontains(pattern, escape="/"),
            )
        )
    return conditions


def _segment_bounds(column: Any, shape: _Shape) -> list[list[ColumnElement[bool]]]:
    """Conditions selecting the rows after (``greater``) or before the cursor.

    Rows are ordered by (value, id) with rows without a value (no due date) last; each
    returned condition list is one segment, read as one index range.
    """
    nullable = shape.sort == "due_on"
    value = bindparam("cursor_value", type_=column.type)
    row_id = bindparam("cursor_id", type_=Integer)
    with_value: list[ColumnElement[bool]] = [column.is_not(None)] if nullable else []
    without_value: list[ColumnElement[bool]] = [column.is_(None)]
    if shape.cursor == "none":
        return [with_value, without_value] if nullable else [with_value]
    if shape.cursor == "no_value":  # the cursor is among the rows without a value
        if shape.greater:
            return [[*without_value, Submission.id > row_id]]
        return [with_value, [*without_value, Submission.id < row_id]]
    if shape.greater:
        after = [column >= value, or_(column > value, Submission.id > row_id)]
        return [after, without_value] if nullable else [after]
    return [[column <= value, or_(column < value, Submission.id < row_id)]]


@lru_cache(maxsize=256)
def _page_statement(shape: _Shape) -> Select[Any]:
    """The query of one page of this shape: each slice's nearest rows, merged in order."""
    column = Submission.received_at if shape.sort == "received_at" else Submission.due_on
    assignee = aliased(User)
    shared = [*_list_rule(shape.list_name), *_filter_conditions(shape)]
    if shape.greater:
        inner_order = (column.asc(), Submission.id.asc())
    else:
        inner_order = (column.desc(), Submission.id.desc())
    parts = [
        select(
            Submission.id,
            Submission.reference,
            Submission.procedure_id,
            Submission.department_id,
            Submission.status,
            Submission.received_at,
            Submission.due_on,
            Submission.paused_since,
            Submission.assignee_id,
            assignee.display_name.label("assignee_name"),
            Application.applicant_name,
        )
        .join(Application, Application.id == Submission.application_id)
        .outerjoin(assignee, assignee.id == Submission.assignee_id)
        .where(*slice_conditions, *shared, *bounds)
        .order_by(*inner_order)
        .limit(_LIMIT)
        .subquery()
        for slice_conditions in _slices(shape.scope, shape.list_name, shape.statuses)
        for bounds in _segment_bounds(column, shape)
    ]
    merged = union_all(*(select(part) for part in parts)).subquery() if len(parts) > 1 else parts[0]
    sort_column = merged.c[shape.sort]
    outer_order = (
        (sort_column.asc().nulls_last(), merged.c.id.asc())
        if shape.greater
        else (sort_column.desc().nulls_first(), merged.c.id.desc())
    )
    return select(merged).order_by(*outer_order).limit(_LIMIT)


def _rows(
    session: Session,
    user: User,
    filters: Filters,
    day: WorkDay,
    cursor: _Cursor | None,
    *,
    greater: bool,
    limit: int,
) -> list[WorkItem]:
    """Up to ``limit`` rows after (or before) the cursor, nearest first."""
    scope = visible_queues(user)
    shape = _shape(scope, filters, cursor, greater)
    if scope.empty or not shape.statuses:
        return []
    rows = session.execute(_page_statement(shape), _page_params(user, filters, day, cursor, limit))
    return [
        WorkItem(
            id=row.id,
            reference=row.reference,
            procedure_id=row.procedure_id,
            department_id=row.department_id,
            status=row.status,
            received_at=row.received_at,
            due_on=row.due_on,
            paused=row.paused_since is not None,
            assignee_id=row.assignee_id,
            assignee_name=row.assignee_name,
            applicant_name=row.applicant_name,
            overdue=row.status in OPEN_STATUSES
            and row.paused_since is None
            and row.due_on is not None
            and row.due_on < day.today,
        )
        for row in rows
    ]


def work_list(
    session: Session,
    user: User,
    filters: Filters,
    after: str | None = None,
    limit: int = 50,
    *,
    before: str | None = None,
    day: WorkDay,
) -> Page:
    """One page of a list: the first, the one after ``after`` or the one before ``before``.

    Raises InvalidCursor for a token this list did not give out.
    """
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    backwards = before is not None
    token = before if backwards else after
    cursor = _decode_cursor(token, filters.sort) if token else None
    # Rows "after" the cursor have greater keys in ascending order, smaller in descending.
    greater = filters.descending == backwards
    items = _rows(session, user, filters, day, cursor, greater=greater, limit=limit + 1)
    more = len(items) > limit
    items = items[:limit]
    if backwards:
        items.reverse()
    has_next = True if backwards else more
    has_previous = more if backwards else cursor is not None
    if not items:
        return Page(items)
    return Page(
        items,
        next_cursor=encode_cursor(filters.sort, items[-1]) if has_next else None,
        previous_cursor=encode_cursor(filters.sort, items[0]) if has_previous else None,
    )


def all_items(
    session: Session, user: User, filters: Filters, *, day: WorkDay, batch: int = 500
) -> Iterator[WorkItem]:
    """Every row of a filtered list in order, read page by page (for the export)."""
    after = None
    while True:
        page = work_list(session, user, filters, after, limit=batch, day=day)
        yield from page.items
        if page.next_cursor is None:
            return
        after = page.next_cursor


@dataclass(frozen=True)
class TabCount:
    """The number on a list's tab: exact up to ``TAB_COUNT_CAP``, else "more than" the cap."""

    number: int
    more: bool = False

    @classmethod
    def of(cls, counted: int) -> TabCount:
        """The tab's number for ``counted`` rows (counted no further than the cap plus one)."""
        return cls(TAB_COUNT_CAP, more=True) if counted > TAB_COUNT_CAP else cls(counted)


def _capped_count(scope: QueueScope, list_name: str) -> Label[int]:
    """How many rows a list holds, counted no further than the ``limit`` parameter.

    Each slice is read in its index's order and stops at the limit, as a page is: a
    plain count, even under a LIMIT, lets the planner first collect every matching row
    of the department (a bitmap of all of them) and so grows with the table.
    """
    column = Submission.due_on if list_name in ("due_soon", "overdue") else Submission.received_at
    rule = _list_rule(list_name)
    slices = [
        select(Submission.id)
        .where(*slice_conditions, *rule)
        .order_by(column, Submission.id)
        .limit(_LIMIT)
        .subquery()
        for slice_conditions in _slices(scope, list_name, _list_statuses(list_name))
    ]
    rows = (
        union_all(*(select(part) for part in slices)).subquery() if len(slices) > 1 else slices[0]
    )
    counted = select(rows.c.id).limit(_LIMIT).subquery()
    return select(func.count()).select_from(counted).scalar_subquery().label(list_name)


@lru_cache(maxsize=64)
def _counts_statement(scope: QueueScope) -> Select[Any]:
    """One query for every tab, built once per scope."""
    return select(*(_capped_count(scope, list_name) for list_name in LISTS))


def counts(session: Session, user: User, *, day: WorkDay) -> dict[str, TabCount]:
    """How many submissions each list holds, unfiltered: the numbers on the tabs.

    Each list is counted only up to ``TAB_COUNT_CAP`` + 1 rows, so the counts cost the
    same with a thousand submissions or a million (see ``TAB_COUNT_CAP`` for why 99).
    """
    scope = visible_queues(user)
    if scope.empty:
        return dict.fromkeys(LISTS, TabCount(0))
    row = session.execute(
        _counts_statement(scope), {**_day_params(user, day), "limit": TAB_COUNT_CAP + 1}
    ).one()
    return {list_name: TabCount.of(row._mapping[list_name]) for list_name in LISTS}


def visible_submission(session: Session, user: User, reference: str) -> Submission | None:
    """A submission by reference if the user sees it, else None."""
    return session.scalars(
        select(Submission).where(Submission.reference == reference, visible_queues(user).clause())
    ).first()


def _locked(
    session: Session, user: User, reference: str, *, skip_locked: bool = False
) -> Submission | None:
    """The visible submission, locked until commit (SQLite compiles the lock away)."""
    return session.scalars(
        select(Submission)
        .where(Submission.reference == reference, visible_queues(user).clause())
        .with_for_update(skip_locked=skip_locked)
        .execution_options(populate_existing=True)
    ).first()


def _audit(session: Session, user: User, action: str, reference: str, **details: Any) -> None:
    record_event(
        session,
        actor=f"user:{user.id}",
        action=action,
        subject_type="submission",
        subject_id=reference,
        details=details,
    )


def claim(
    session: Session, user: User, reference: str, *, now: datetime, day: WorkDay
) -> Submission:
    """Take an unassigned open submission; one that is received moves to in review.

    Two clerks claiming at once: the second finds it taken (``WorkRefused("taken")``).
    Claiming one's own is a no-op.
    """
    submission = _locked(session, user, reference, skip_locked=True)
    if submission is None:
        if visible_submission(session, user, reference) is None:
            raise NotVisible(reference)
        # Another transaction holds the row right now: a claim, or a change on the case.
        raise WorkRefused("taken", [reference])
    if submission.status not in OPEN_STATUSES:
        raise WorkRefused("closed", [reference])
    if submission.assignee_id == user.id:
        return submission
    if submission.assignee_id is not None:
        raise WorkRefused("taken", [reference])
    submission.assignee_id = user.id
    _audit(session, user, "submission.claimed", reference, assignee=user.id)
    if submission.status == "received":
        workflow.transition(
            session,
            submission,
            "in_review",
            actor=f"user:{user.id}",
            role="clerk",
            now=now,
            local_day=day.today,
            is_business_day=day.is_business_day,
        )
    return submission


def release(session: Session, user: User, reference: str) -> Submission:
    """Give a submission back to the team's unassigned list; only its assignee or an admin."""
    submission = _locked(session, user, reference)
    if submission is None:
        raise NotVisible(reference)
    if submission.assignee_id is None:
        return submission
    if submission.assignee_id != user.id and user.role != "admin":
        raise WorkRefused("not_yours", [reference])
    previous = submission.assignee_id
    submission.assignee_id = None
    _audit(session, user, "submission.released", reference, previous=previous)
    return submission


def team_members(session: Session, user: User) -> list[User]:
    """Clerks who share a department with the user (every clerk, for an admin), by name."""
    clerks = session.scalars(select(User).where(User.role == "clerk").order_by(User.display_name))
    scope = visible_queues(user)
    return [
        clerk
        for clerk in clerks
        if scope.everything or scope.departments & set(clerk.departments or ())
    ]


def _reassign_locked(
    session: Session,
    user: User,
    submissions: Sequence[Submission],
    assignee_id: int | None,
    *,
    reason: str | None,
    bulk: bool,
) -> None:
    """Assign locked submissions to a clerk of their department, one audit entry each."""
    closed = [s.reference for s in submissions if s.status not in OPEN_STATUSES]
    if closed:
        raise WorkRefused("closed", closed)
    target = session.get(User, assignee_id) if assignee_id is not None else None
    if target is None or target.role != "clerk":
        raise WorkRefused("not_a_clerk")
    outside = [
        s.reference for s in submissions if s.department_id not in (target.departments or ())
    ]
    if outside:
        raise WorkRefused("other_department", outside)
    for submission in submissions:
        if submission.assignee_id == target.id:
            continue
        details: dict[str, Any] = {"from": submission.assignee_id, "to": target.id, "bulk": bulk}
        if reason:
            details["reason"] = reason
        submission.assignee_id = target.id
        _audit(session, user, "submission.reassigned", submission.reference, **details)


def one_line(text: str | None, limit: int) -> str:
    """Text as typed, on one line: control characters and runs of spaces become one space."""
    spaced = "".join(ch if ch.isprintable() else " " for ch in text or "")
    return " ".join(spaced.split())[:limit]


def reassign(
    session: Session,
    user: User,
    reference: str,
    assignee_id: int | None,
    *,
    reason: str | None = None,
) -> Submission:
    """Hand one open submission to a clerk of its department."""
    submission = _locked(session, user, reference)
    if submission is None:
        raise NotVisible(reference)
    _reassign_locked(
        session,
        user,
        [submission],
        assignee_id,
        reason=one_line(reason, MAX_REASON_LENGTH) or None,
        bulk=False,
    )
    return submission


def bulk_reassign(
    session: Session,
    user: User,
    references: Sequence[str],
    assignee_id: int | None,
    reason: str,
) -> list[Submission]:
    """Hand several open submissions to one clerk at once, with a reason; all or none."""
    reason = one_line(reason, MAX_REASON_LENGTH)
    if not reason:
        raise WorkRefused("reason_required")
    wanted = sorted(set(references))
    if not wanted:
        raise WorkRefused("nothing_chosen")
    if len(wanted) > MAX_BULK_REASSIGN:
        raise WorkRefused("too_many")
    # Locked in id order, so two bulk moves over the same rows cannot deadlock.
    submissions = list(
        session.scalars(
            select(Submission)
            .where(Submission.reference.in_(wanted), visible_queues(user).clause())
            .order_by(Submission.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )
    missing = sorted(set(wanted) - {s.reference for s in submissions})
    if missing:
        raise NotVisible(", ".join(missing))
    _reassign_locked(session, user, submissions, assignee_id, reason=reason, bulk=True)
    return submissions


def saved_views(session: Session, user: User) -> list[SavedView]:
    """The user's saved views, by name."""
    return list(
        session.scalars(
            select(SavedView).where(SavedView.user_id == user.id).order_by(SavedView.name)
        )
    )


def save_view(
    session: Session, user: User, name: str, filters: Filters, *, now: datetime
) -> SavedView:
    """Keep the current list and filters under a name; the same name replaces the old one."""
    name = one_line(name, MAX_VIEW_NAME_LENGTH)
    if not name:
        raise WorkRefused("name_required")
    existing = session.scalars(
        select(SavedView).where(SavedView.user_id == user.id, SavedView.name == name)
    ).first()
    if existing is not None:
        existing.query = filters.to_query()
        return existing
    count = session.scalar(
        select(func.count()).select_from(SavedView).where(SavedView.user_id == user.id)
    )
    if (count or 0) >= MAX_SAVED_VIEWS:
        raise WorkRefused("too_many_views")
    view = SavedView(user_id=user.id, name=name, query=filters.to_query(), created_at=now)
    session.add(view)
    session.flush()
    return view


def delete_view(session: Session, user: User, view_id: int) -> None:
    """Delete one of the user's saved views; someone else's is NotVisible."""
    view = session.get(SavedView, view_id)
    if view is None or view.user_id != user.id:
        raise NotVisible(str(view_id))
    session.delete(view)
