"""Admin pages about people: the list of users, one person's account, departments and queues.

Views are thin: the rules (who may be changed how, what is audited) live in
`portal.admin.people`. Each change is a POST that commits once and redirects back to
the person's page with a notice, or with the reason it was refused.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from portal.admin import people
from portal.admin.blueprint import bp
from portal.api.services import known_departments
from portal.catalogue.services import published_catalogue
from portal.definitions.catalogue import TRIAGE_QUEUE
from portal.extensions import db
from portal.i18n import current_language
from portal.identity.auth import current_user, login_required, now
from portal.identity.models import User
from portal.identity.services import live_sessions

NOTICE = "admin"
PROBLEM = "admin_error"
MAX_USER_ID = 2**31 - 1

ROLE_LABELS = {"resident": _l("Resident"), "clerk": _l("Clerk"), "admin": _l("Administrator")}
REFUSALS = {
    "resident_not_staff": _l(
        "A resident's account cannot be given a staff role: staff sign in through the "
        "staff provider with an account of their own."
    ),
    "unknown_role": _l("Choose clerk or administrator."),
    "own_admin_role": _l(
        "You cannot take away your own administrator role: ask another administrator."
    ),
    "unknown_department": _l("These departments are not in the published definitions: %(codes)s"),
    "not_managed": _l("This person's role and departments already come from the staff provider."),
    "disable_self": _l("You cannot disable your own account."),
}


def _admin() -> User:
    user = current_user()
    assert user is not None  # login_required("admin") let only an admin in
    return user


def _person(user_id: int) -> User:
    person = db.session.get(User, user_id)
    if person is None:
        abort(404)
    return person


def _refused(refusal: people.PeopleRefused) -> None:
    flash(str(REFUSALS[refusal.reason]) % {"codes": refusal.detail}, PROBLEM)


def _back_to(person: User) -> Response:
    return redirect(url_for("admin.show_person", user_id=person.id), code=303)


def _change(person: User, change: Callable[[], object], notice: str) -> Response:
    """Make a change the rules may refuse: commit it and say so, or say why not."""
    try:
        change()
    except people.PeopleRefused as refusal:
        db.session.rollback()
        _refused(refusal)
        return _back_to(person)
    db.session.commit()
    flash(notice, NOTICE)
    return _back_to(person)


def department_choices() -> list[tuple[str, str]]:
    """(code, name) of every department a staff member can be given, triage last."""
    catalogue, _pins = published_catalogue(db.session)
    lang = current_language()
    choices = [(department.id, department.name.get(lang)) for department in catalogue.departments]
    return [*choices, (TRIAGE_QUEUE, _("Triage"))]


@bp.get("/people")
@login_required("admin")
def list_people() -> ResponseReturnValue:
    """Everyone who has signed in, narrowed by role, department and name, a page at a time."""
    filters = people.PeopleFilters.from_args(request.args)
    page = people.list_people(db.session, filters, now=now())
    return render_template(
        "admin/people.html",
        filters=filters,
        page=page,
        role_labels=ROLE_LABELS,
        departments=department_choices(),
    )


@bp.get(f"/people/<int(max={MAX_USER_ID}):user_id>")
@login_required("admin")
def show_person(user_id: int) -> ResponseReturnValue:
    """One person's account: role, departments and where they come from, open sessions."""
    person = _person(user_id)
    departments = department_choices()
    return render_template(
        "admin/people_person.html",
        person=person,
        sessions=live_sessions(db.session, person.id, now=now()),
        role_labels=ROLE_LABELS,
        departments=departments,
        department_names=dict(departments),
        is_self=person.id == _admin().id,
    )


@bp.post(f"/people/<int(max={MAX_USER_ID}):user_id>/assignment")
@login_required("admin")
def assign_staff(user_id: int) -> ResponseReturnValue:
    """Set a staff member's role and departments in the portal, over the provider's claims."""
    person = _person(user_id)
    return _change(
        person,
        lambda: people.assign_staff(
            db.session,
            _admin(),
            person,
            role=request.form.get("role", ""),
            departments=request.form.getlist("departments"),
            known_departments=known_departments(db.session),
            now=now(),
        ),
        _("The role and departments are set, and stay so when they sign in again."),
    )


@bp.post(f"/people/<int(max={MAX_USER_ID}):user_id>/assignment/hand-back")
@login_required("admin")
def hand_back_assignment(user_id: int) -> ResponseReturnValue:
    """Let the staff provider's claims decide this person's role and departments again."""
    person = _person(user_id)
    return _change(
        person,
        lambda: people.hand_back_to_provider(db.session, _admin(), person),
        _("The role and departments now come from the staff provider again."),
    )


@bp.post(f"/people/<int(max={MAX_USER_ID}):user_id>/sessions/end")
@login_required("admin")
def end_person_sessions(user_id: int) -> ResponseReturnValue:
    """Sign the person out of every browser, on the server."""
    person = _person(user_id)
    ended = people.end_sessions(db.session, _admin(), person, now=now())
    db.session.commit()
    flash(_("Sessions ended: %(count)d.", count=ended), NOTICE)
    return _back_to(person)


@bp.post(f"/people/<int(max={MAX_USER_ID}):user_id>/disable")
@login_required("admin")
def disable_person(user_id: int) -> ResponseReturnValue:
    """Keep the person from signing in, and end their sessions now."""
    person = _person(user_id)
    return _change(
        person,
        lambda: people.disable_account(db.session, _admin(), person, now=now()),
        _("The account is disabled: they cannot sign in."),
    )


@bp.post(f"/people/<int(max={MAX_USER_ID}):user_id>/enable")
@login_required("admin")
def enable_person(user_id: int) -> ResponseReturnValue:
    """Let a disabled person sign in again."""
    person = _person(user_id)
    people.enable_account(db.session, _admin(), person)
    db.session.commit()
    flash(_("The account is enabled: they can sign in again."), NOTICE)
    return _back_to(person)


@bp.get("/departments")
@login_required("admin")
def list_departments() -> ResponseReturnValue:
    """Each department with its queues, the open submissions in each, and its members."""
    return render_template(
        "admin/people_departments.html",
        departments=people.department_overview(db.session),
        role_labels=ROLE_LABELS,
    )
