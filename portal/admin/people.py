"""Who works in the back office, as administrators manage them: roles, departments, accounts.

A staff member's role and departments normally come from the staff provider's claims
at each sign-in. An administrator can set them here instead (a ``StaffAssignment``):
from then on the portal's assignment wins over the claims until it is handed back,
which restores what the provider last claimed. The provider still decides who is
staff at all, and a resident account never becomes a staff one.

Two rules keep an administrator from locking themselves out: they cannot take away
their own admin role (nor hand themselves back to claims that would) and cannot
disable their own account. Every change is audited with what it was before and after.
These functions take the session and the time explicitly and never commit.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session, selectinload

from portal.audit.services import record_event
from portal.backoffice.models import Submission
from portal.backoffice.worklist import OPEN_STATUSES
from portal.catalogue.services import published_catalogue
from portal.definitions.catalogue import TRIAGE_QUEUE
from portal.definitions.schema import TextPair
from portal.identity.models import ROLES, STAFF_ROLES, StaffAssignment, User, UserSession
from portal.identity.services import revoke_user_sessions

PAGE_SIZE = 50
MAX_NAME_FILTER = 100
MAX_PAGE = 10_000


class PeopleRefused(ValueError):
    """A change to an account the portal will not make; ``reason`` names the rule."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def actor_for(user: User) -> str:
    """How the audit log names a staff member, as the back office does: ``user:<id>``."""
    return f"user:{user.id}"


# --- the list ------------------------------------------------------------------------


@dataclass(frozen=True)
class PeopleFilters:
    """What the list of people is narrowed to; anything not understood is left out."""

    role: str | None = None
    department: str | None = None
    name: str = ""
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> PeopleFilters:
        """Read the filters from a query string, ignoring values that are not valid."""
        role = args.get("role") or None
        department = (args.get("department") or "").strip() or None
        page = args.get("page", "")
        return cls(
            role=role if role in ROLES else None,
            department=department if department and len(department) <= 80 else None,
            name=" ".join((args.get("name") or "").split())[:MAX_NAME_FILTER],
            page=min(int(page), MAX_PAGE) if page.isdigit() and int(page) > 0 else 1,
        )

    def to_query(self, **changes: Any) -> dict[str, Any]:
        """These filters as query arguments (only those set), with some changed."""
        values = {
            "role": self.role,
            "department": self.department,
            "name": self.name or None,
            "page": self.page if self.page > 1 else None,
            **changes,
        }
        return {key: value for key, value in values.items() if value is not None}


@dataclass(frozen=True)
class PersonRow:
    """One person in the list, with how many sessions they have open now."""

    user: User
    live_sessions: int


@dataclass(frozen=True)
class PeoplePage:
    rows: list[PersonRow]
    page: int
    has_next: bool


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_people(session: Session, filters: PeopleFilters, *, now: datetime) -> PeoplePage:
    """One page of users, staff first then by name, narrowed by role, department and name."""
    live = (
        select(UserSession.user_id, func.count().label("live"))
        .where(
            UserSession.revoked_at.is_(None),
            UserSession.idle_expires_at > now,
            UserSession.absolute_expires_at > now,
        )
        .group_by(UserSession.user_id)
        .subquery()
    )
    query = (
        select(User, func.coalesce(live.c.live, 0))
        .outerjoin(live, live.c.user_id == User.id)
        .options(selectinload(User.assignment))
        .order_by((User.role == "resident").asc(), User.display_name, User.id)
        .offset((filters.page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    )
    if filters.role:
        query = query.where(User.role == filters.role)
    if filters.name:
        query = query.where(
            func.lower(User.display_name).like(
                f"%{_like_escaped(filters.name.lower())}%", escape="\\"
            )
        )
    if filters.department:
        # Departments are a JSON list of codes stored as '["a", "b"]' by both databases;
        # matching the quoted code in its text works the same on SQLite and PostgreSQL.
        quoted = _like_escaped(f'"{filters.department}"')
        query = query.where(cast(User.departments, String).like(f"%{quoted}%", escape="\\"))
    rows = session.execute(query).all()
    return PeoplePage(
        rows=[PersonRow(user, int(count)) for user, count in rows[:PAGE_SIZE]],
        page=filters.page,
        has_next=len(rows) > PAGE_SIZE,
    )


# --- changes -------------------------------------------------------------------------


def _state(user: User) -> dict[str, Any]:
    """What the audit log keeps before and after a change to an account."""
    return {
        "role": user.role,
        "departments": list(user.departments or []),
        "managed_in_portal": user.assignment is not None,
        "disabled": user.disabled,
    }


def _audit(
    session: Session, admin: User, person: User, action: str, before: dict[str, Any], **extra: Any
) -> None:
    record_event(
        session,
        actor=actor_for(admin),
        action=action,
        subject_type="user",
        subject_id=str(person.id),
        details={"before": before, "after": _state(person), **extra},
    )


def assign_staff(
    session: Session,
    admin: User,
    person: User,
    *,
    role: str,
    departments: Sequence[str],
    known_departments: Collection[str],
    now: datetime,
) -> StaffAssignment:
    """Set a staff member's role and departments in the portal, to win over later claims.

    PeopleRefused: ``resident_not_staff`` for a resident account, ``unknown_role`` for
    a role other than clerk or admin, ``own_admin_role`` when an admin would take away
    their own, ``unknown_department`` for a code the published definitions lack.
    """
    if not person.is_staff:
        raise PeopleRefused("resident_not_staff")
    if role not in STAFF_ROLES:
        raise PeopleRefused("unknown_role", role)
    if person.id == admin.id and role != "admin":
        raise PeopleRefused("own_admin_role")
    wanted = list(dict.fromkeys(code.strip() for code in departments if code.strip()))
    unknown = sorted(set(wanted) - set(known_departments))
    if unknown:
        raise PeopleRefused("unknown_department", ", ".join(unknown))
    before = _state(person)
    assignment = person.assignment
    if assignment is None:
        # Until now the person's role and departments were the provider's claims.
        assignment = StaffAssignment(
            claimed_role=person.role, claimed_departments=list(person.departments or [])
        )
        person.assignment = assignment
    assignment.role = role
    assignment.departments = wanted
    assignment.set_by = actor_for(admin)
    assignment.set_at = now
    person.role = role
    person.departments = list(wanted)
    session.flush()
    _audit(session, admin, person, "user.staff_assignment_set", before)
    return assignment


def hand_back_to_provider(session: Session, admin: User, person: User) -> None:
    """Let the provider's claims decide again, restoring those of the last sign-in now.

    PeopleRefused ``not_managed`` when the portal does not manage the person, and
    ``own_admin_role`` when the claims would take away the acting admin's own role.
    """
    assignment = person.assignment
    if assignment is None:
        raise PeopleRefused("not_managed")
    if person.id == admin.id and assignment.claimed_role != "admin":
        raise PeopleRefused("own_admin_role")
    before = _state(person)
    person.role = assignment.claimed_role
    person.departments = list(assignment.claimed_departments)
    person.assignment = None
    session.flush()
    _audit(session, admin, person, "user.staff_assignment_handed_back", before)


def end_sessions(session: Session, admin: User, person: User, *, now: datetime) -> int:
    """Sign the person out everywhere, on the server; return how many sessions ended."""
    ended = revoke_user_sessions(session, person.id, now=now)
    record_event(
        session,
        actor=actor_for(admin),
        action="user.sessions_ended",
        subject_type="user",
        subject_id=str(person.id),
        details={"sessions": ended},
    )
    return ended


def disable_account(session: Session, admin: User, person: User, *, now: datetime) -> None:
    """Keep the person from signing in and end their sessions; ``disable_self`` refused."""
    if person.id == admin.id:
        raise PeopleRefused("disable_self")
    if person.disabled:
        return
    before = _state(person)
    person.disabled_at = now
    ended = revoke_user_sessions(session, person.id, now=now)
    session.flush()
    _audit(session, admin, person, "user.disabled", before, sessions_ended=ended)


def enable_account(session: Session, admin: User, person: User) -> None:
    """Let a disabled person sign in again (their old sessions stay ended)."""
    if not person.disabled:
        return
    before = _state(person)
    person.disabled_at = None
    session.flush()
    _audit(session, admin, person, "user.enabled", before)


# --- departments ---------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    id: str
    name: TextPair | None
    open_submissions: int


@dataclass(frozen=True)
class DepartmentRow:
    """A department of the published catalogue (or triage, with no name), as staffed now."""

    id: str
    name: TextPair | None
    queues: list[QueueRow]
    members: list[User]


def department_overview(session: Session) -> list[DepartmentRow]:
    """Each published department with its queues, open submissions per queue, and members.

    Triage comes last: submissions no procedure could route wait there. Staff are few
    (hundreds at most), so members are matched in Python rather than by a JSON query
    that would differ between SQLite and PostgreSQL.
    """
    catalogue, _pins = published_catalogue(session)
    open_counts = dict(
        session.execute(
            select(Submission.queue_id, func.count())
            .where(Submission.status.in_(OPEN_STATUSES))
            .group_by(Submission.queue_id)
        ).all()
    )
    staff = session.scalars(
        select(User).where(User.role.in_(STAFF_ROLES)).order_by(User.display_name, User.id)
    ).all()

    def members(code: str) -> list[User]:
        return [user for user in staff if code in (user.departments or ())]

    rows = [
        DepartmentRow(
            id=department.id,
            name=department.name,
            queues=[
                QueueRow(queue.id, queue.name, open_counts.get(queue.id, 0))
                for queue in department.queues
            ],
            members=members(department.id),
        )
        for department in catalogue.departments
    ]
    rows.append(
        DepartmentRow(
            id=TRIAGE_QUEUE,
            name=None,
            queues=[QueueRow(TRIAGE_QUEUE, None, open_counts.get(TRIAGE_QUEUE, 0))],
            members=members(TRIAGE_QUEUE),
        )
    )
    return rows
