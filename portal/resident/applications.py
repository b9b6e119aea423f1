"""The resident's side after submitting: dashboard, application pages, answers, withdrawals.

Only the applicant sees an application; anyone else gets 404, as if it did not exist.
"""

from __future__ import annotations

from flask import abort, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from portal.backoffice import services as backoffice
from portal.backoffice import workflow
from portal.backoffice.models import Application, Submission
from portal.catalogue.services import published_catalogue, published_pins
from portal.database import utcnow
from portal.definitions.catalogue import Catalogue
from portal.definitions.expressions import default_context
from portal.definitions.schema import Document, TextPair
from portal.documents.downloads import send_document
from portal.documents.storage import file_storage
from portal.extensions import db
from portal.i18n import current_language, to_local_time
from portal.identity.auth import login_required, owner_key_for
from portal.records.sources import record_source
from portal.resident import dashboard, prefill, services, uploads
from portal.resident.suggestions import Suggestion, registers_used
from portal.resident.views import bp

# What a resident may attach to an answer: the types and size any supporting document has.
REPLY_DOCUMENT = Document(id="reply", label=TextPair(ja="添付ファイル", en="Attachment"))


def _own_ids() -> list[int]:
    """The signed-in resident's user ids: their own, and any the counter made for them."""
    user = g.user
    return dashboard.same_person(db.session, user.id, getattr(user, "person_key", None))


def _own_application(reference: str) -> Application:
    """The signed-in resident's application; 404 for anyone else's, as if it did not exist."""
    user = g.get("user")
    application = backoffice.application_by_reference(db.session, reference)
    if user is None or application is None or application.applicant_id not in _own_ids():
        abort(404)
    return application


def _own_submission(reference: str, number: int) -> Submission:
    application = _own_application(reference)
    for submission in application.submissions:
        if submission.number == number:
            return submission
    abort(404)


@bp.get("/dashboard")
@login_required()
def show_dashboard() -> ResponseReturnValue:
    """Everything the resident has filed or started, newest first."""
    return _dashboard_page()


@bp.post("/dashboard/suggestions")
@login_required()
def find_suggestions() -> ResponseReturnValue:
    """With the resident's consent, read their records once and say what else may apply."""
    user = g.user
    catalogue = _published()
    if catalogue is None or not getattr(user, "person_key", None):
        return redirect(url_for("resident.show_dashboard"), 303)
    if request.form.get("consent") != "yes":
        return _dashboard_page(
            suggestions_error=_("Tick the box to let us read your records, or skip this."),
            status=400,
        )
    now = utcnow()
    found = dashboard.suggestions_for(
        db.session,
        catalogue,
        source=record_source(),
        person_key=user.person_key,
        applicant_id=user.id,
        owner_key=owner_key_for(user),
        actor=f"user:{user.id}",
        now=now,
    )
    db.session.commit()
    return _dashboard_page(suggestions=found)


def _published() -> Catalogue | None:
    if not published_pins(db.session):
        return None
    return published_catalogue(db.session)[0]


def _dashboard_page(
    *,
    suggestions: list[Suggestion] | None = None,
    suggestions_error: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    user = g.user
    lang = current_language()
    now = utcnow()
    catalogue = _published()
    return (
        render_template(
            "resident/dashboard.html",
            applications=[
                dashboard.application_view(db.session, application, lang)
                for application in dashboard.applications_of(db.session, _own_ids())
            ],
            drafts=dashboard.draft_views(
                db.session,
                services.drafts_of(db.session, owner_key=owner_key_for(user), now=now),
                lang,
            ),
            registers=[
                prefill.REGISTER_NAMES[name].get(lang)
                for name in sorted(registers_used(catalogue) if catalogue else ())
            ],
            suggestions=suggestions,
            suggestions_error=suggestions_error,
            lang=lang,
        ),
        status,
    )


@bp.get("/applications/<reference>")
def show_application(reference: str) -> ResponseReturnValue:
    """Each procedure filed: its status and timeline, messages, answers and downloads."""
    return _application_page(_own_application(reference))


def _application_page(
    application: Application,
    *,
    errors: dict[int, str] | None = None,
    typed: dict[int, str] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    lang = current_language()
    return (
        render_template(
            "resident/application.html",
            application=application,
            view=dashboard.application_view(db.session, application, lang),
            errors=errors or {},
            typed=typed or {},
            max_message=workflow.MAX_MESSAGE_LENGTH,
            lang=lang,
        ),
        status,
    )


@bp.get("/applications/<reference>/receipt.pdf")
def download_receipt(reference: str) -> ResponseReturnValue:
    """The receipt PDF, to its applicant only, as a download."""
    application = _own_application(reference)
    if not application.receipt_key:
        abort(404)
    return send_document(
        file_storage().get(application.receipt_key), "application/pdf", f"{reference}.pdf"
    )


@bp.get("/applications/<reference>/<int:number>/decision.pdf")
def download_decision(reference: str, number: int) -> ResponseReturnValue:
    """A decision notice, once the department has issued it."""
    submission = _own_submission(reference, number)
    if not submission.decision_key:
        abort(404)
    return send_document(
        file_storage().get(submission.decision_key),
        "application/pdf",
        f"{submission.reference}-decision.pdf",
    )


@bp.get("/applications/<reference>/<int:number>/messages/<int:message_id>/<int:index>")
def download_reply_file(
    reference: str, number: int, message_id: int, index: int
) -> ResponseReturnValue:
    """A file the resident attached to an answer."""
    submission = _own_submission(reference, number)
    message = next((m for m in submission.messages if m.id == message_id), None)
    if message is None or message.kind != "reply" or not 0 <= index < len(message.documents):
        abort(404)
    entry = message.documents[index]
    return send_document(file_storage().get(entry["key"]), entry["content_type"], entry["name"])


@bp.post("/applications/<reference>/<int:number>/answer")
def answer_request(reference: str, number: int) -> ResponseReturnValue:
    """Answer the clerk's request: text and, if needed, a file; the clerk's clock restarts."""
    submission = _own_submission(reference, number)
    application = submission.application
    if workflow.open_request(submission) is None:
        return redirect(url_for("resident.show_application", reference=reference), 303)
    lang = current_language()
    body = workflow.clean_message(request.form.get("body"))
    upload = request.files.get("file")
    data = upload.read() if upload is not None else b""
    error = None
    if not body:
        error = _("Write your answer.")
    elif len(body) > workflow.MAX_MESSAGE_LENGTH:
        error = _("Use %(max)d characters or fewer.", max=workflow.MAX_MESSAGE_LENGTH)
    documents = []
    if error is None and (data or (upload is not None and upload.filename)):
        try:
            content_type = uploads.check_upload(REPLY_DOCUMENT, data)
        except uploads.UploadRefused as refused:
            error = refused.message(lang)
        else:
            key = file_storage().put("uploads", data, content_type)
            documents.append(
                {
                    "key": key,
                    "content_type": content_type,
                    "size": len(data),
                    "name": uploads.shown_name(upload.filename if upload else None),
                }
            )
    if error is not None:
        return _application_page(
            application, errors={number: error}, typed={number: body}, status=400
        )
    context = default_context()
    try:
        workflow.answer_request(
            db.session,
            submission,
            body,
            applicant_id=g.user.id,
            documents=documents,
            now=utcnow(),
            local_day=to_local_time(utcnow()).date(),
            is_business_day=context.is_business_day,
        )
    except workflow.TransitionRefused:
        # The clerk took the question back meanwhile; the page shows where it stands.
        db.session.rollback()
        return redirect(url_for("resident.show_application", reference=reference), 303)
    db.session.commit()
    return redirect(
        url_for("resident.show_application", reference=reference, _anchor=f"s{number}"), 303
    )


@bp.route("/applications/<reference>/<int:number>/withdraw", methods=["GET", "POST"])
def withdraw_submission(reference: str, number: int) -> ResponseReturnValue:
    """Withdraw one procedure that is not decided yet, after a confirmation."""
    submission = _own_submission(reference, number)
    lang = current_language()
    view = dashboard.application_view(db.session, submission.application, lang)
    item = next(entry for entry in view.submissions if entry.submission is submission)
    back = url_for("resident.show_application", reference=reference, _anchor=f"s{number}")
    if not item.may_withdraw:
        return redirect(back, 303)
    error = None
    if request.method == "POST":
        if request.form.get("confirm") == "yes":
            context = default_context()
            workflow.transition(
                db.session,
                submission,
                "withdrawn",
                actor=f"user:{g.user.id}",
                role="applicant",
                now=utcnow(),
                local_day=to_local_time(utcnow()).date(),
                is_business_day=context.is_business_day,
            )
            db.session.commit()
            return redirect(back, 303)
        error = _("Confirm that you want to withdraw this procedure, or go back.")
    return (
        render_template(
            "resident/withdraw.html",
            item=item,
            error=error,
            back_url=back,
        ),
        400 if error else 200,
    )
