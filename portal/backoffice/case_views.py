"""The clerk's case view and its actions, and the residents' reports of wrong register values.

Every route is for clerks and admins; a submission outside the user's departments is a
404, as if it did not exist. Actions are POSTs (CSRF-checked) that call `cases`, commit
once and redirect back to the case; a refused action changes nothing and shows the case
again with a polite message. Opening a case and downloading its files are audited, so
these GETs write: they begin their transaction as writers.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from portal.backoffice import cases, workflow
from portal.backoffice.models import Submission
from portal.backoffice.views import STATUS_LABELS, bp
from portal.database import set_write_intent, utcnow
from portal.definitions.expressions import default_context
from portal.documents.downloads import send_document
from portal.documents.storage import file_storage
from portal.extensions import db
from portal.i18n import current_language, to_local_time
from portal.identity.auth import login_required
from portal.records.sources import record_source

STAFF = ("clerk", "admin")
FLASH_CATEGORY = "case"


def _writing() -> None:
    """End the read-only transaction a GET began, so the next one may write (the audit)."""
    db.session.rollback()
    set_write_intent(True)


def _case(reference: str) -> Submission:
    submission = cases.case_for(db.session, g.user, reference)
    if submission is None:
        abort(404)
    return submission


def _clock() -> cases.Clock:
    now = utcnow()
    return cases.Clock(now, to_local_time(now).date(), default_context().is_business_day)


def _refusal(code: str) -> str:
    """What a refused action tells the clerk."""
    messages = {
        "request_empty": _("Write what you need from the applicant."),
        "message_empty": _("Write the message to the applicant."),
        "note_empty": _("Write the note."),
        "reason_empty": _("Give the reason for the decision."),
        "decision_missing": _("Choose a decision."),
        "too_long": _("Use %(max)d characters or fewer.", max=workflow.MAX_MESSAGE_LENGTH),
        "proposal_waiting": _(
            "A decision is waiting for a second clerk. Confirm it or send it back first."
        ),
        "no_proposal": _("No decision is waiting for confirmation."),
        "own_proposal": _(
            "You proposed this decision, so another clerk of the department must confirm it."
        ),
    }
    return messages[code]


def _moved_refusal(refused: workflow.TransitionRefused) -> str:
    return _(
        "This procedure cannot be moved from “%(current)s” to “%(target)s”. Nothing was "
        "changed; the page shows where it stands now.",
        current=status_name(refused.from_status),
        target=status_name(refused.to_status),
    )


def status_name(status: str) -> str:
    """A submission status as clerks call it (the work lists' names)."""
    return str(STATUS_LABELS.get(status, status))


def _case_page(
    submission: Submission,
    *,
    errors: Mapping[str, str] | None = None,
    typed: Mapping[str, str] | None = None,
    recheck: cases.Recheck | None = None,
    status: int = 200,
) -> tuple[str, int]:
    lang = current_language()
    return (
        render_template(
            "backoffice/case.html",
            view=cases.case_view(db.session, submission, g.user, lang),
            errors=errors or {},
            typed=typed or {},
            recheck=recheck,
            status_name=status_name,
            max_message=workflow.MAX_MESSAGE_LENGTH,
        ),
        status,
    )


def _back_to(submission: Submission, anchor: str | None = None) -> Response:
    return redirect(
        url_for("backoffice.show_case", reference=submission.reference, _anchor=anchor), 303
    )


def _refused(
    submission: Submission,
    error: cases.ActionRefused | workflow.TransitionRefused,
    *,
    field: str,
    typed: Mapping[str, str] | None = None,
) -> tuple[str, int]:
    """Undo whatever the action began and show the case again with why it was refused."""
    db.session.rollback()
    if isinstance(error, workflow.TransitionRefused):
        return _case_page(submission, errors={"status": _moved_refusal(error)}, status=409)
    return _case_page(
        submission, errors={field: _refusal(error.code)}, typed=typed or {}, status=400
    )


@bp.get("/cases/<reference>")
@login_required(STAFF)
def show_case(reference: str) -> ResponseReturnValue:
    """Everything the department needs to decide one submission; the opening is audited."""
    _writing()
    submission = _case(reference)
    cases.record_view(db.session, submission, g.user)
    page = _case_page(submission)
    db.session.commit()
    return page


@bp.post("/cases/<reference>/start")
@login_required(STAFF)
def start_review(reference: str) -> ResponseReturnValue:
    """Take a received submission into review."""
    submission = _case(reference)
    try:
        cases.start_review(db.session, submission, g.user, _clock())
    except workflow.TransitionRefused as refused:
        return _refused(submission, refused, field="status")
    db.session.commit()
    flash(_("You are reviewing this procedure."), FLASH_CATEGORY)
    return _back_to(submission)


@bp.route("/cases/<reference>/request", methods=["GET", "POST"])
@login_required(STAFF)
def request_information(reference: str) -> ResponseReturnValue:
    """Ask the applicant for information, starting from a template in their language."""
    submission = _case(reference)
    lang = current_language()
    templates = cases.request_templates(db.session, submission, lang)
    error = None
    body = ""
    if request.method == "POST":
        body = request.form.get("body", "")
        try:
            cases.request_information(db.session, submission, g.user, body, _clock())
        except cases.ActionRefused as refused:
            db.session.rollback()
            error = _refusal(refused.code)
        except workflow.TransitionRefused as refused:
            db.session.rollback()
            error = _moved_refusal(refused)
        else:
            db.session.commit()
            flash(
                _("Your request was sent. The clock stops until the applicant answers."),
                FLASH_CATEGORY,
            )
            return _back_to(submission, "messages")
    else:
        chosen = request.args.get("template", "")
        body = next((item.body for item in templates if item.key == chosen), "")
    return (
        render_template(
            "backoffice/request.html",
            submission=submission,
            templates=templates,
            body=body,
            error=error,
            applicant_language=submission.application.language,
            max_message=workflow.MAX_MESSAGE_LENGTH,
        ),
        400 if error else 200,
    )


@bp.post("/cases/<reference>/messages")
@login_required(STAFF)
def send_message(reference: str) -> ResponseReturnValue:
    """Tell the applicant something; they see it on their application page."""
    return _add_message(reference, internal=False)


@bp.post("/cases/<reference>/notes")
@login_required(STAFF)
def add_note(reference: str) -> ResponseReturnValue:
    """Keep an internal note for the department; the applicant never sees it."""
    return _add_message(reference, internal=True)


def _add_message(reference: str, *, internal: bool) -> ResponseReturnValue:
    submission = _case(reference)
    field = "note" if internal else "message"
    body = request.form.get("body", "")
    try:
        cases.add_message(db.session, submission, g.user, body, internal=internal, now=utcnow())
    except cases.ActionRefused as refused:
        return _refused(submission, refused, field=field, typed={field: body})
    db.session.commit()
    flash(_("Your note was added.") if internal else _("Your message was sent."), FLASH_CATEGORY)
    return _back_to(submission, "messages")


@bp.post("/cases/<reference>/decision")
@login_required(STAFF)
def decide_case(reference: str) -> ResponseReturnValue:
    """Decide: approve, reject or complete with a reason (with four eyes, approving proposes)."""
    submission = _case(reference)
    decision = request.form.get("decision")
    reason = request.form.get("reason", "")
    try:
        outcome = cases.decide(db.session, submission, g.user, decision, reason, _clock())
    except cases.ActionRefused as refused:
        field = "decision" if refused.code == "decision_missing" else "reason"
        return _refused(submission, refused, field=field, typed={"reason": reason})
    except workflow.TransitionRefused as refused:
        return _refused(submission, refused, field="status")
    db.session.commit()
    if outcome == "proposed":
        flash(
            _("Your decision was proposed. Another clerk of the department confirms it."),
            FLASH_CATEGORY,
        )
    else:
        flash(_("The decision was recorded."), FLASH_CATEGORY)
    return _back_to(submission)


@bp.post("/cases/<reference>/decision/confirm")
@login_required(STAFF)
def confirm_decision(reference: str) -> ResponseReturnValue:
    """Confirm another clerk's proposed decision (four eyes)."""
    submission = _case(reference)
    try:
        cases.confirm_proposal(db.session, submission, g.user, _clock())
    except (cases.ActionRefused, workflow.TransitionRefused) as refused:
        return _refused(submission, refused, field="proposal")
    db.session.commit()
    flash(_("You confirmed the decision."), FLASH_CATEGORY)
    return _back_to(submission)


@bp.post("/cases/<reference>/decision/return")
@login_required(STAFF)
def return_decision(reference: str) -> ResponseReturnValue:
    """Send a proposed decision back; the case stays in review."""
    submission = _case(reference)
    comment = request.form.get("comment", "")
    try:
        cases.return_proposal(db.session, submission, g.user, comment, utcnow())
    except cases.ActionRefused as refused:
        return _refused(submission, refused, field="proposal", typed={"comment": comment})
    db.session.commit()
    flash(_("The proposed decision was sent back."), FLASH_CATEGORY)
    return _back_to(submission)


@bp.post("/cases/<reference>/register-check")
@login_required(STAFF)
def recheck_register(reference: str) -> ResponseReturnValue:
    """Read the register again for the answers it backs and show what differs."""
    submission = _case(reference)
    result = cases.recheck_register(
        db.session, submission, g.user, source=record_source(), lang=current_language()
    )
    page = _case_page(submission, recheck=result)
    db.session.commit()
    return page


@bp.get("/cases/<reference>/documents/<int:index>")
@login_required(STAFF)
def download_case_document(reference: str, index: int) -> ResponseReturnValue:
    """A supporting document the applicant uploaded; the download is audited."""
    _writing()
    submission = _case(reference)
    entry = cases.uploaded_document(submission, index)
    if entry is None:
        abort(404)
    cases.record_download(db.session, submission, g.user, f"document:{entry['id']}")
    db.session.commit()
    return send_document(file_storage().get(entry["key"]), entry["content_type"], entry["name"])


@bp.get("/cases/<reference>/messages/<int:message_id>/<int:index>")
@login_required(STAFF)
def download_case_reply_file(reference: str, message_id: int, index: int) -> ResponseReturnValue:
    """A file the applicant attached to an answer; the download is audited."""
    _writing()
    submission = _case(reference)
    entry = cases.reply_file(submission, message_id, index)
    if entry is None:
        abort(404)
    cases.record_download(db.session, submission, g.user, f"reply:{message_id}:{index}")
    db.session.commit()
    return send_document(file_storage().get(entry["key"]), entry["content_type"], entry["name"])


@bp.get("/cases/<reference>/decision.pdf")
@login_required(STAFF)
def download_case_decision(reference: str) -> ResponseReturnValue:
    """The decision notice the applicant was sent; the download is audited."""
    _writing()
    submission = _case(reference)
    if not submission.decision_key:
        abort(404)
    cases.record_download(db.session, submission, g.user, "decision")
    db.session.commit()
    return send_document(
        file_storage().get(submission.decision_key),
        "application/pdf",
        f"{submission.reference}-decision.pdf",
    )


@bp.get("/register-reports")
@login_required(STAFF)
def list_register_reports() -> ResponseReturnValue:
    """Residents' open reports that a register value of the user's departments is wrong."""
    return render_template(
        "backoffice/register_reports.html",
        reports=cases.open_register_reports(db.session, g.user, current_language()),
    )


@bp.post("/register-reports/<int:report_id>/close")
@login_required(STAFF)
def close_register_report(report_id: int) -> ResponseReturnValue:
    """Close a report once the register has been looked at."""
    if cases.close_register_report(db.session, g.user, report_id) is None:
        abort(404)
    db.session.commit()
    flash(_("The report was closed."), FLASH_CATEGORY)
    return redirect(url_for("backoffice.list_register_reports"), 303)
