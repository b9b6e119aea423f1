"""The counter: a clerk checks a walk-in resident's identity and files for them.

The clerk records the identity check and finds the resident in the register, confirms
the match, and then runs the resident's own journey pages (portal.resident.views) in an
assisted session that this browser holds until the clerk ends it. The rules live in
`portal.backoffice.counter`; these views parse, call it, commit once and redirect.
Every route is for staff (clerks and admins); residents get 403.
"""

from __future__ import annotations

from flask import abort, g, redirect, render_template, request, url_for
from flask import session as browser_session
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.backoffice import counter
from portal.backoffice.models import Application, CounterSession
from portal.backoffice.services import application_by_reference
from portal.backoffice.views import bp
from portal.catalogue.services import CatalogueError, published_catalogue
from portal.database import set_write_intent, utcnow
from portal.documents.downloads import send_document
from portal.documents.storage import file_storage
from portal.extensions import db
from portal.i18n import current_language
from portal.identity.auth import login_required
from portal.identity.models import STAFF_ROLES, User
from portal.records.sources import record_source
from portal.resident import dashboard, services

# The browser's assisted session: only its id, never what was seen on the document.
SESSION_KEY = "counter_session"

DOCUMENT_NAMES = {
    "my_number_card": _l("My Number card"),
    "drivers_licence": _l("Driver's licence"),
    "passport": _l("Passport"),
    "residence_card": _l("Residence card"),
    "other": _l("Other document"),
}
_FIELD_ANCHORS = {
    "document_type": "#document-type-my_number_card",
    "document_description": "#document-description",
    "document_last_characters": "#document-last-characters",
    "name_as_seen": "#name-as-seen",
    "birth_date_as_seen": "#birth-date-as-seen",
    "person_key": "#person-key",
}


def _problem_message(field: str, code: str) -> str:
    """What the clerk is told about one field of the identity check."""
    messages = {
        ("document_type", "missing"): _("Select the identity document the resident showed."),
        ("document_description", "missing"): _("Describe the document the resident showed."),
        ("document_description", "too_long"): _(
            "Use %(max)d characters or fewer.", max=counter.MAX_DESCRIPTION
        ),
        ("document_description", "has_number"): _("Describe the document without its number."),
        ("document_last_characters", "my_number"): _(
            "Do not record any part of the number of a My Number card: it is the My Number."
        ),
        ("document_last_characters", "too_long"): _(
            "Enter only the last %(max)d characters of the document number, or nothing.",
            max=counter.MAX_LAST_CHARACTERS,
        ),
        ("document_last_characters", "invalid"): _("Use letters and digits only."),
        ("name_as_seen", "missing"): _("Enter the name as it is written on the document."),
        ("name_as_seen", "invalid"): _(
            "Enter the name in %(max)d characters or fewer.", max=counter.MAX_NAME
        ),
        ("birth_date_as_seen", "missing"): _("Enter the date of birth shown on the document."),
        ("birth_date_as_seen", "invalid"): _(
            "Enter the date of birth as a real date, for example 1988-03-12."
        ),
        ("person_key", "missing"): _("Enter the resident's register key."),
        ("person_key", "invalid"): _("A register key has letters, digits and . _ : - only."),
        ("person_key", "not_found"): _("The resident register has no record with this key."),
        ("person_key", "unavailable"): _(
            "The resident register cannot be read just now. Try again in a few minutes."
        ),
        ("person_key", "deceased"): _(
            "The register records this person as deceased. Check the key."
        ),
        ("person_key", "mismatch"): _(
            "The name or the date of birth on the document is not the one in the register "
            "for this key. Check both, or the key."
        ),
    }
    return messages[(field, code)]


def _clerk() -> User:
    user = g.get("user")
    assert user is not None, "login_required lets only signed-in staff in"
    return user  # type: ignore[no-any-return]


def assisted_session() -> CounterSession | None:
    """The clerk's live assisted session on this request; None for anyone else.

    Read lazily, once per request: the resident pages ask it to know whose draft and
    whose register person they serve.
    """
    if "counter_session" not in g:
        user = g.get("user")
        found = None
        if user is not None and getattr(user, "role", None) in STAFF_ROLES:
            found = counter.live_session(
                db.session, browser_session.get(SESSION_KEY), user.id, utcnow()
            )
        g.counter_session = found
    return g.counter_session  # type: ignore[no-any-return]


bp.add_app_template_global(assisted_session, "assisted_session")
bp.add_app_template_global(DOCUMENT_NAMES, "counter_document_names")


def _writing() -> None:
    """End the read-only transaction a GET began, so the next one may write (the audit)."""
    db.session.rollback()
    set_write_intent(True)


@bp.route("/counter", methods=["GET", "POST"])
@login_required(STAFF_ROLES)
def check_identity() -> ResponseReturnValue:
    """Record the identity check and find the resident in the register."""
    if assisted_session() is not None:
        return redirect(url_for("backoffice.show_counter_session"), 303)
    errors: dict[str, str] = {}
    typed: dict[str, str] = {}
    if request.method == "POST":
        # The document number is never shown again: a refused one may be a whole number.
        typed = {
            name: request.form.get(name, "")
            for name in (
                "document_type",
                "document_description",
                "name_as_seen",
                "birth_date_as_seen",
                "person_key",
            )
        }
        try:
            check = counter.parse_identity_check(request.form)
            found = counter.find_resident(
                db.session, check, source=record_source(), clerk=_clerk(), now=utcnow()
            )
        except counter.IdentityRefused as refused:
            db.session.commit()  # a register read is audited even when it matched nobody
            if refused.problems.get("document_description") == "has_number":
                typed["document_description"] = ""  # a number is not shown back either
            errors = {
                field: _problem_message(field, code) for field, code in refused.problems.items()
            }
        else:
            db.session.commit()
            return redirect(url_for("backoffice.confirm_identity", session_id=found.id), 303)
    return (
        render_template(
            "backoffice/counter.html",
            errors=errors,
            error_links=[
                {"href": _FIELD_ANCHORS[field], "message": message}
                for field, message in errors.items()
            ],
            typed=typed,
            document_types=counter.DOCUMENT_TYPES,
            max_last=counter.MAX_LAST_CHARACTERS,
        ),
        400 if errors else 200,
    )


@bp.route("/counter/<session_id>/confirm", methods=["GET", "POST"])
@login_required(STAFF_ROLES)
def confirm_identity(session_id: str) -> ResponseReturnValue:
    """Confirm the register's person is the resident at the counter; the session starts."""
    pending = counter.pending_session(db.session, session_id, _clerk().id, utcnow())
    if pending is None:
        abort(404)
    if request.method == "POST":
        counter.confirm(db.session, pending, now=utcnow())
        db.session.commit()
        browser_session[SESSION_KEY] = pending.id
        return redirect(url_for("backoffice.show_counter_session"), 303)
    return render_template("backoffice/counter_confirm.html", pending=pending)


def _filed_view(applications: list[Application]) -> list[dict[str, object]]:
    """Each filed application with its counter-only forms: title, and the PDF once ready."""
    lang = current_language()
    views = []
    for application in applications:
        forms = []
        for entry in counter.printable_procedures(db.session, application):
            ready = entry.id in (application.counter_forms or {})
            forms.append(
                {
                    "title": entry.title.get(lang),
                    "url": url_for(
                        "backoffice.download_counter_form",
                        application_reference=application.reference,
                        procedure_id=entry.id,
                    )
                    if ready
                    else None,
                }
            )
        views.append({"application": application, "forms": forms})
    return views


def _session_page(counter_session: CounterSession, *, live: bool) -> ResponseReturnValue:
    lang = current_language()
    now = utcnow()
    try:
        catalogue, _pins = published_catalogue(db.session)
        life_events = [
            (life_event_id, life_event.model.title.get(lang))
            for life_event_id, life_event in catalogue.life_events.items()
        ]
    except CatalogueError:
        life_events = []
    drafts = (
        dashboard.draft_views(
            db.session,
            services.drafts_of(db.session, owner_key=counter_session.owner_key, now=now),
            lang,
        )
        if live
        else []
    )
    return render_template(
        "backoffice/counter_session.html",
        counter_session=counter_session,
        live=live,
        life_events=life_events if live else [],
        drafts=drafts,
        filed=_filed_view(counter.session_applications(db.session, counter_session)),
    )


@bp.get("/counter/session")
@login_required(STAFF_ROLES)
def show_counter_session() -> ResponseReturnValue:
    """The assisted session: what to file for the resident, drafts, what was filed, the end."""
    current = assisted_session()
    if current is None:
        browser_session.pop(SESSION_KEY, None)
        return redirect(url_for("backoffice.check_identity"), 303)
    return _session_page(current, live=True)


@bp.post("/counter/session/end")
@login_required(STAFF_ROLES)
def end_counter_session() -> ResponseReturnValue:
    """End the assisted session; its page stays for printing what was filed."""
    current = assisted_session()
    browser_session.pop(SESSION_KEY, None)
    if current is None:
        return redirect(url_for("backoffice.check_identity"), 303)
    counter.end(db.session, current, now=utcnow())
    db.session.commit()
    return redirect(url_for("backoffice.show_ended_session", session_id=current.id), 303)


@bp.get("/counter/sessions/<session_id>")
@login_required(STAFF_ROLES)
def show_ended_session(session_id: str) -> ResponseReturnValue:
    """An ended session of the clerk's: what was filed and the forms to print."""
    found = counter.clerk_session(db.session, session_id, _clerk().id)
    if found is None or found.confirmed_at is None:
        abort(404)
    return _session_page(found, live=found.live(utcnow()))


@bp.get("/applications/<application_reference>/counter-forms/<procedure_id>.pdf")
@login_required(STAFF_ROLES)
def download_counter_form(application_reference: str, procedure_id: str) -> ResponseReturnValue:
    """A counter-only procedure's pre-filled form, for the clerk to print; audited.

    About an application (not one submission): its clerk who assisted, and staff who
    handle any of its submissions, may print it; anyone else gets 404.
    """
    _writing()
    user = _clerk()
    application = application_by_reference(db.session, application_reference)
    if application is None or not counter.may_print(user, application):
        abort(404)
    key = (application.counter_forms or {}).get(procedure_id)
    if key is None:
        abort(404)
    counter.record_print(db.session, application, procedure_id, user)
    db.session.commit()
    return send_document(
        file_storage().get(key), "application/pdf", f"{application_reference}-{procedure_id}.pdf"
    )


def counter_forms_of(application: Application) -> list[dict[str, object]]:
    """The case view's list of the application's counter-only forms (see counter_case.html)."""
    return _filed_view([application])[0]["forms"]  # type: ignore[return-value]


bp.add_app_template_global(counter_forms_of, "counter_forms_of")
