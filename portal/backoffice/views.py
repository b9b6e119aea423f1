"""The clerk's workbench: work lists (this module) and the case view (`case_views`).

Every route is for clerks and admins only; a clerk sees the queues of their own
departments and nothing else (404 for a submission outside them, as if it did not
exist). Views stay thin: the rules live in `worklist`, `cases` and `workflow`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from portal.backoffice import worklist
from portal.catalogue.services import CatalogueError, published_catalogue
from portal.database import utcnow
from portal.extensions import db
from portal.i18n import current_language, to_local_time
from portal.identity.auth import current_user, login_required
from portal.identity.models import STAFF_ROLES, User
from portal.security import safe_redirect_target

bp = Blueprint("backoffice", __name__, url_prefix="/backoffice")


PAGE_SIZE = 50
NOTICE = "backoffice"
PROBLEM = "backoffice_error"

STATUS_LABELS = {
    "received": _l("Received"),
    "in_review": _l("In review"),
    "awaiting_applicant": _l("Waiting for the applicant"),
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
    "completed": _l("Completed"),
    "withdrawn": _l("Withdrawn"),
}
LIST_LABELS = {
    "mine": _l("Assigned to me"),
    "team_unassigned": _l("Unassigned in my team"),
    "all": _l("All in my team"),
    "due_soon": _l("Due soon"),
    "overdue": _l("Overdue"),
}
FILTER_LABELS = {
    "list": _l("List"),
    "status": _l("Status"),
    "assignee": _l("Assigned to"),
    "received_from": _l("Received from"),
    "received_to": _l("Received until"),
    "sort": _l("Sort by"),
    "order": _l("Order"),
}
# Cells a spreadsheet would read as a formula (or a formula's start) get a leading
# apostrophe, so an applicant's name such as "=HYPERLINK(…)" stays text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _user() -> User:
    user = current_user()
    assert user is not None, "login_required lets only signed-in staff in"
    return user


def _day() -> worklist.WorkDay:
    return worklist.WorkDay.at(utcnow(), current_app.config["PORTAL_TIMEZONE"])


def case_url(reference: str) -> str:
    """The case page of a submission."""
    return url_for("backoffice.show_case", reference=reference)


@dataclass(frozen=True)
class _Names:
    """What ids stand for in the current language, from the published definitions."""

    procedures: dict[str, str] = field(default_factory=dict)
    # The procedures that can be routed to the user's departments: the filter's choices.
    offered: list[tuple[str, str]] = field(default_factory=list)


def _names(lang: str, scope: worklist.QueueScope) -> _Names:
    try:
        catalogue, _pins = published_catalogue(db.session)
    except CatalogueError:
        return _Names()
    procedures = {
        procedure_id: procedure.model.title.get(lang)
        for procedure_id, procedure in catalogue.procedures.items()
    }
    offered = [
        (procedure_id, procedures[procedure_id])
        for procedure_id, procedure in catalogue.procedures.items()
        if scope.everything
        or any(
            scope.includes(compiled.route.target.split(".", 1)[0]) for compiled in procedure.routes
        )
    ]
    return _Names(procedures=procedures, offered=sorted(offered, key=lambda option: option[1]))


def _back() -> str:
    """Where a form returns to: its local ``next`` field, else the work list."""
    return safe_redirect_target(request.form.get("next"), url_for("backoffice.show_work_list"))


def _refusal_message(refused: worklist.WorkRefused, assignee: User | None = None) -> str:
    references = ", ".join(refused.references)
    messages = {
        "taken": _(
            "%(references)s has already been claimed by someone else.", references=references
        ),
        "closed": _(
            "%(references)s is closed and can no longer be assigned.", references=references
        ),
        "not_yours": _(
            "Only the clerk %(references)s is assigned to can release it.", references=references
        ),
        "not_a_clerk": _("Choose a clerk to assign to."),
        "other_department": _(
            "%(name)s does not work for the department of %(references)s.",
            name=assignee.display_name if assignee else "",
            references=references,
        ),
        "reason_required": _("Give a reason for reassigning."),
        "nothing_chosen": _("Choose at least one submission to reassign."),
        "too_many": _(
            "Choose at most %(max)d submissions at a time.", max=worklist.MAX_BULK_REASSIGN
        ),
        "name_required": _("Give the view a name."),
        "too_many_views": _("You have too many saved views. Delete one first."),
    }
    return messages[refused.code]


def _assignee_id() -> int | None:
    """The clerk chosen in a reassign form, if the field holds an id."""
    return worklist.parse_id(request.form.get("assignee"))


def _assignee(user_id: int | None) -> User | None:
    return db.session.get(User, user_id) if user_id is not None else None


def _display_name(user_id: int | None) -> str:
    user = _assignee(user_id)
    return user.display_name if user is not None else ""


@bp.get("/")
@login_required(STAFF_ROLES)
def show_work_list() -> ResponseReturnValue:
    """A work list: tabs with counts, filters, sortable columns, pages, bulk reassignment."""
    user = _user()
    lang = current_language()
    filters, invalid = worklist.parse_filters(request.args)
    day = _day()
    after, before = request.args.get("after"), request.args.get("before")
    try:
        page = worklist.work_list(
            db.session, user, filters, after, PAGE_SIZE, before=before, day=day
        )
    except worklist.InvalidCursor:
        return redirect(url_for("backoffice.show_work_list", **filters.to_query()), 303)
    names = _names(lang, worklist.visible_queues(user))

    def list_url(**overrides: Any) -> str:
        query = {**filters.to_query(), **overrides}
        return url_for(
            "backoffice.show_work_list",
            **{name: value for name, value in query.items() if value},
        )

    return render_template(
        "backoffice/list.html",
        filters=filters,
        invalid=[FILTER_LABELS.get(name, name) for name in invalid],
        page=page,
        counts=worklist.counts(db.session, user, day=day),
        lists=worklist.LISTS,
        # Translated once here: a lazy label would be looked up again in every row.
        list_labels={name: str(label) for name, label in LIST_LABELS.items()},
        status_labels={status: str(label) for status, label in STATUS_LABELS.items()},
        names=names,
        team=worklist.team_members(db.session, user),
        saved=worklist.saved_views(db.session, user),
        list_url=list_url,
        case_url=case_url,
        export_url=url_for("backoffice.export_work_list", **filters.to_query()),
        here=request.full_path.rstrip("?"),
    )


T = TypeVar("T")


def _assignment(
    action: Callable[[], T], done: Callable[[T], str], assignee_id: int | None = None
) -> ResponseReturnValue:
    """Run one claim or (re)assignment, commit it and say so; or say why it was refused.

    A submission outside the clerk's departments is 404, as if it did not exist.
    """
    try:
        result = action()
    except worklist.NotVisible:
        abort(404)
    except worklist.WorkRefused as refused:
        db.session.rollback()
        flash(_refusal_message(refused, _assignee(assignee_id)), PROBLEM)
        return redirect(_back(), 303)
    db.session.commit()
    flash(done(result), NOTICE)
    return redirect(_back(), 303)


@bp.post("/cases/<reference>/claim")
@login_required(STAFF_ROLES)
def claim_case(reference: str) -> ResponseReturnValue:
    """Take an unassigned submission of the team; a received one moves to in review."""
    return _assignment(
        lambda: worklist.claim(db.session, _user(), reference, now=utcnow(), day=_day()),
        lambda _claimed: _("You have claimed %(reference)s.", reference=reference),
    )


@bp.post("/cases/<reference>/release")
@login_required(STAFF_ROLES)
def release_case(reference: str) -> ResponseReturnValue:
    """Give a submission back to the team's unassigned list."""
    return _assignment(
        lambda: worklist.release(db.session, _user(), reference),
        lambda _released: _("You have released %(reference)s to the team.", reference=reference),
    )


@bp.post("/cases/<reference>/reassign")
@login_required(STAFF_ROLES)
def reassign_case(reference: str) -> ResponseReturnValue:
    """Hand one submission to a clerk of its department; a reason is optional."""
    assignee_id = _assignee_id()
    return _assignment(
        lambda: worklist.reassign(
            db.session, _user(), reference, assignee_id, reason=request.form.get("reason")
        ),
        lambda submission: _(
            "%(reference)s is now assigned to %(name)s.",
            reference=reference,
            name=_display_name(submission.assignee_id),
        ),
        assignee_id,
    )


@bp.post("/reassign")
@login_required(STAFF_ROLES)
def reassign_cases() -> ResponseReturnValue:
    """Hand the chosen submissions to one clerk at once, with a reason (e.g. someone is away)."""
    assignee_id = _assignee_id()
    return _assignment(
        lambda: worklist.bulk_reassign(
            db.session,
            _user(),
            request.form.getlist("references"),
            assignee_id,
            request.form.get("reason", ""),
        ),
        lambda moved: ngettext(
            "%(num)d submission is now assigned to %(name)s.",
            "%(num)d submissions are now assigned to %(name)s.",
            len(moved),
            name=_display_name(assignee_id),
        ),
        assignee_id,
    )


@bp.post("/views")
@login_required(STAFF_ROLES)
def save_view() -> ResponseReturnValue:
    """Keep the current list and filters under a name."""
    filters, _invalid = worklist.parse_filters(request.form)
    try:
        view = worklist.save_view(
            db.session, _user(), request.form.get("name", ""), filters, now=utcnow()
        )
    except worklist.WorkRefused as refused:
        db.session.rollback()
        flash(_refusal_message(refused), PROBLEM)
        return redirect(url_for("backoffice.show_work_list", **filters.to_query()), 303)
    db.session.commit()
    flash(_("Saved the view “%(name)s”.", name=view.name), NOTICE)
    return redirect(url_for("backoffice.show_work_list", **filters.to_query()), 303)


@bp.post(f"/views/<int(max={worklist.MAX_ID}):view_id>/delete")
@login_required(STAFF_ROLES)
def delete_view(view_id: int) -> ResponseReturnValue:
    """Delete one of the clerk's own saved views."""
    try:
        worklist.delete_view(db.session, _user(), view_id)
    except worklist.NotVisible:
        abort(404)
    db.session.commit()
    flash(_("The saved view has been deleted."), NOTICE)
    return redirect(_back(), 303)


def _cell(value: str) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def csv_line(values: list[str]) -> str:
    """One CSV line whose cells a spreadsheet will never run as formulas."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([_cell(value) for value in values])
    return buffer.getvalue()


def _received(value: datetime) -> str:
    return to_local_time(value).strftime("%Y-%m-%d %H:%M")


def _due(value: date | None) -> str:
    return value.isoformat() if value else ""


@bp.get("/export.csv")
@login_required(STAFF_ROLES)
def export_work_list() -> ResponseReturnValue:
    """The filtered list as CSV for Excel (UTF-8 with BOM): what the list shows, no answers."""
    user = _user()
    lang = current_language()
    filters, _invalid = worklist.parse_filters(request.args)
    names = _names(lang, worklist.visible_queues(user))
    day = _day()
    items = worklist.all_items(db.session, user, filters, day=day)
    header = [
        _("Reference"),
        _("Procedure"),
        _("Status"),
        _("Date received"),
        _("Due date"),
        _("Assigned to"),
        _("Applicant name"),
    ]
    status_labels = {status: str(label) for status, label in STATUS_LABELS.items()}

    def lines() -> Iterator[str]:
        yield "\ufeff" + csv_line(header)
        for item in items:
            yield csv_line(
                [
                    item.reference,
                    names.procedures.get(item.procedure_id, item.procedure_id),
                    status_labels[item.status],
                    _received(item.received_at),
                    _due(item.due_on),
                    item.assignee_name or "",
                    item.applicant_name,
                ]
            )

    filename = f"worklist-{day.today:%Y%m%d}.csv"
    return Response(
        stream_with_context(lines()),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# The case view and the counter add their routes to this blueprint.
from portal.backoffice import case_views, counter_views  # noqa: E402, F401
