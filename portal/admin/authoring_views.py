"""The administrator's definition pages: lists, history, the YAML editor, preview, diff,
publish and retire, import and export.

Views parse the request, call `portal.admin.authoring`, commit once and redirect. A
draft's text is saved whatever it holds; the draft page lints it in context each time
it is shown. A save that cannot be stored (someone else saved meanwhile, or the version
was published) shows the typed text again instead of losing it.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from portal.admin import authoring
from portal.admin.authoring import AuthoringRefused
from portal.admin.blueprint import bp
from portal.catalogue.models import DEFINITION_KINDS, DefinitionVersion
from portal.catalogue.services import CatalogueError, pin_key
from portal.database import utcnow
from portal.extensions import db
from portal.i18n import current_language
from portal.identity.auth import current_user, login_required
from portal.identity.demo_idp import resident_personas
from portal.records.sources import DemoRecordSource, SourceOptions

FLASH_CATEGORY = "authoring"
FLASH_ERROR = "authoring_error"


def _actor() -> str:
    user = current_user()
    assert user is not None  # login_required let the request in
    return f"user:{user.id}"


def _version(version_id: int) -> DefinitionVersion:
    version = authoring.get_version(db.session, version_id)
    if version is None:
        abort(404)
    return version


def _kind_labels() -> dict[str, str]:
    return {
        "life_event": _("Life events"),
        "procedure": _("Procedures"),
        "dictionary": _("Dictionary of shared fields"),
        "departments": _("Departments"),
    }


def _status_labels() -> dict[str, str]:
    return {"draft": _("Draft"), "published": _("Published"), "retired": _("Retired")}


def _refusal(error: AuthoringRefused) -> str:
    """Say in the page's language why an authoring step was refused."""
    messages = {
        "not_a_draft": _("This version is no longer a draft, so it cannot be changed."),
        "not_published": _("Only a published version can be retired."),
        "changed_meanwhile": _(
            "Someone else saved this draft after you opened it. Your text is below, not "
            "saved: copy what you need, then open the draft again."
        ),
        "stale": _(
            "Version %(number)s was published after this draft was started; publishing "
            "this draft would undo its changes. Start a new draft from version %(number)s "
            "and make your changes there (compare the two to see what differs).",
            number=error.newer,
        ),
        "problems": _(
            "This draft cannot be published until the problems below are fixed: every "
            "check and scenario must pass, and every text needs Japanese and English."
        ),
        "breaks_catalogue": _(
            "This version cannot be retired: the published definitions would no longer "
            "work without it. The problems it would cause are listed below."
        ),
        "unknown_kind": _("Only procedures and life events can be started or previewed."),
        "bad_id": _(
            "Enter an id in lower case letters, digits and underscores, starting "
            "with a letter (at most 80 characters)."
        ),
        "exists": _("A definition with this id already exists: start a draft from it instead."),
        "not_utf8": _("The file is not UTF-8 text."),
        "undeclared": _(
            "The file does not say which definition it is (its kind and id), so it was "
            "not imported."
        ),
    }
    return messages[error.code]


def _flash_refusal(error: AuthoringRefused) -> None:
    flash(_refusal(error), FLASH_ERROR)
    for issue in error.issues[:50]:
        flash(
            _(
                "%(file)s, line %(line)s, column %(column)s: %(message)s",
                file=issue.path,
                line=issue.line,
                column=issue.column,
                message=issue.message,
            ),
            FLASH_ERROR,
        )


@bp.get("/definitions")
@login_required("admin")
def list_definitions() -> ResponseReturnValue:
    """Every definition with its versions, who made, published and retired each, and when."""
    overview = authoring.definition_overview(db.session)
    actors = {
        event.actor
        for rows in overview.values()
        for row in rows
        for version in row.versions
        for event in (version.created, version.saved, version.published, version.retired)
        if event is not None
    }
    return render_template(
        "admin/authoring_list.html",
        overview=overview,
        kinds=DEFINITION_KINDS,
        kind_labels=_kind_labels(),
        status_labels=_status_labels(),
        names=authoring.actor_names(db.session, actors),
        new_kinds=authoring.NEW_DEFINITION_KINDS,
        lang=current_language(),
    )


@bp.post("/definitions")
@login_required("admin")
def create_definition() -> ResponseReturnValue:
    """Start a new procedure or life event as a draft from a template text."""
    try:
        version = authoring.start_definition(
            db.session,
            request.form.get("kind", ""),
            request.form.get("definition_id", "").strip(),
            actor=_actor(),
            now=utcnow(),
        )
    except AuthoringRefused as error:
        _flash_refusal(error)
        return redirect(url_for("admin.list_definitions") + "#new-definition", 303)
    db.session.commit()
    return redirect(url_for("admin.show_version", version_id=version.id), 303)


@bp.post("/definitions/import")
@login_required("admin")
def import_definition() -> ResponseReturnValue:
    """Store an uploaded YAML file as a new draft of the definition it declares."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a YAML file to import."), FLASH_ERROR)
        return redirect(url_for("admin.list_definitions") + "#import", 303)
    try:
        version = authoring.import_draft(
            db.session, upload.filename, upload.read(), actor=_actor(), now=utcnow()
        )
    except AuthoringRefused as error:
        _flash_refusal(error)
        return redirect(url_for("admin.list_definitions") + "#import", 303)
    db.session.commit()
    flash(
        _("The file was imported as draft version %(number)s.", number=version.number),
        FLASH_CATEGORY,
    )
    return redirect(url_for("admin.show_version", version_id=version.id), 303)


@bp.get("/definitions/<kind>/<definition_id>")
@login_required("admin")
def show_definition(kind: str, definition_id: str) -> ResponseReturnValue:
    """One definition's versions, the audit trail of its changes, and a form to compare two."""
    versions, trail = authoring.definition_history(db.session, kind, definition_id)
    if not versions:
        abort(404)
    actors = {entry.actor for entry in trail} | {
        event.actor
        for row in versions
        for event in (row.created, row.saved, row.published, row.retired)
        if event is not None
    }
    return render_template(
        "admin/authoring_definition.html",
        key=pin_key(kind, definition_id),
        kind=kind,
        definition_id=definition_id,
        versions=versions,
        trail=trail,
        names=authoring.actor_names(db.session, actors),
        status_labels=_status_labels(),
        kind_labels=_kind_labels(),
    )


@bp.get("/definitions/<kind>/<definition_id>/compare")
@login_required("admin")
def compare_versions(kind: str, definition_id: str) -> ResponseReturnValue:
    """The differences between two versions of one definition, line by line."""
    old_number = request.args.get("old", type=int)
    new_number = request.args.get("new", type=int)
    if old_number is None or new_number is None:
        abort(400)
    old = authoring.find_version(db.session, kind, definition_id, old_number)
    new = authoring.find_version(db.session, kind, definition_id, new_number)
    if old is None or new is None:
        abort(404)
    return render_template(
        "admin/authoring_compare.html",
        key=pin_key(kind, definition_id),
        kind=kind,
        definition_id=definition_id,
        old=old,
        new=new,
        lines=authoring.diff_lines(old.source_text, new.source_text),
    )


def _render_version(
    version: DefinitionVersion,
    *,
    typed: str | None = None,
    refusal: AuthoringRefused | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    """The version page: the editor for a draft (with its problems), the text otherwise."""
    check = authoring.check_in_context(db.session, version) if version.status == "draft" else None
    own_by_line: dict[int, list[str]] = {}
    for issue in check.own if check is not None else ():
        own_by_line.setdefault(issue.line, []).append(issue.message)
    return (
        render_template(
            "admin/authoring_version.html",
            version=version,
            key=pin_key(version.kind, version.definition_id),
            check=check,
            unsaved=typed if typed is not None and typed != version.source_text else None,
            refusal=_refusal(refusal) if refusal is not None else None,
            refusal_issues=refusal.issues if refusal is not None else (),
            lines=version.source_text.splitlines(),
            own_by_line=own_by_line,
            status_labels=_status_labels(),
            kind_labels=_kind_labels(),
            previewable=version.kind in authoring.NEW_DEFINITION_KINDS,
        ),
        status,
    )


@bp.get("/definitions/versions/<int:version_id>")
@login_required("admin")
def show_version(version_id: int) -> ResponseReturnValue:
    """A version's text by line; for a draft, the editor and its problems in context."""
    return _render_version(_version(version_id))


@bp.post("/definitions/versions/<int:version_id>")
@login_required("admin")
def save_draft(version_id: int) -> ResponseReturnValue:
    """Store the draft's text exactly as typed (broken or not), then show its problems."""
    version = _version(version_id)
    text = authoring.normalise_newlines(request.form.get("source_text", ""))
    try:
        authoring.save_draft(
            db.session,
            version,
            text,
            base_hash=request.form.get("base_hash", ""),
            actor=_actor(),
        )
    except AuthoringRefused as error:
        db.session.rollback()
        return _render_version(version, typed=text, refusal=error, status=409)
    db.session.commit()
    flash(_("The draft was saved."), FLASH_CATEGORY)
    return redirect(url_for("admin.show_version", version_id=version.id) + "#problems", 303)


@bp.post("/definitions/versions/<int:version_id>/drafts")
@login_required("admin")
def copy_version(version_id: int) -> ResponseReturnValue:
    """Start a new draft holding this version's text."""
    draft = authoring.start_draft(db.session, _version(version_id), actor=_actor(), now=utcnow())
    db.session.commit()
    flash(_("Draft version %(number)s was started.", number=draft.number), FLASH_CATEGORY)
    return redirect(url_for("admin.show_version", version_id=draft.id), 303)


def _change_status(
    version: DefinitionVersion, change: Callable[..., object], notice: str
) -> ResponseReturnValue:
    """Publish or retire: commit and say so, or show the version with why not (409)."""
    try:
        change(db.session, version, actor=_actor(), now=utcnow())
    except AuthoringRefused as error:
        db.session.rollback()
        return _render_version(version, refusal=error, status=409)
    db.session.commit()
    flash(notice, FLASH_CATEGORY)
    return redirect(url_for("admin.show_version", version_id=version.id), 303)


@bp.post("/definitions/versions/<int:version_id>/publish")
@login_required("admin")
def publish_version(version_id: int) -> ResponseReturnValue:
    """Publish a draft that passes every check; otherwise say why not."""
    version = _version(version_id)
    return _change_status(
        version,
        authoring.publish_version,
        _(
            "Version %(number)s is published: new applications use it from now on.",
            number=version.number,
        ),
    )


@bp.post("/definitions/versions/<int:version_id>/retire")
@login_required("admin")
def retire_version(version_id: int) -> ResponseReturnValue:
    """Stop offering a published version, unless that would break the published set."""
    version = _version(version_id)
    return _change_status(
        version,
        authoring.retire_version,
        _("Version %(number)s is retired.", number=version.number),
    )


@bp.get("/definitions/versions/<int:version_id>/export")
@login_required("admin")
def export_version(version_id: int) -> ResponseReturnValue:
    """Download a version's exact text as the YAML file it is."""
    version = _version(version_id)
    response = Response(version.source_text.encode("utf-8"), mimetype="application/yaml")
    response.headers["Content-Type"] = authoring.YAML_CONTENT_TYPE
    response.headers.set(
        "Content-Disposition", "attachment", filename=authoring.export_filename(version)
    )
    return response


@bp.get("/definitions/versions/<int:version_id>/preview")
@login_required("admin")
def preview_version(version_id: int) -> ResponseReturnValue:
    """One page of the version's journey as a resident sees it, filled for a demo persona."""
    version = _version(version_id)
    personas = resident_personas()
    chosen = request.args.get("persona", "")
    person_key = chosen if any(persona.subject == chosen for persona in personas) else None
    # Only the demo registers: whatever adapter the portal uses, a preview never reads
    # real people's records.
    source = DemoRecordSource(SourceOptions(timezone=current_app.config["PORTAL_TIMEZONE"]))
    lang = current_language()
    try:
        shown = authoring.preview(
            db.session, version, source=source, person_key=person_key, lang=lang
        )
    except AuthoringRefused as error:
        return _render_version(version, refusal=error, status=409)
    except CatalogueError as error:
        return _render_version(
            version, refusal=AuthoringRefused("problems", error.issues), status=409
        )
    keys = [step.key for step in shown.steps]
    step_key = request.args.get("step") or (keys[0] if keys else "")
    if keys and step_key not in keys:
        abort(404)
    index = keys.index(step_key) if keys else 0
    return render_template(
        "admin/authoring_preview.html",
        version=version,
        key=pin_key(version.kind, version.definition_id),
        preview=shown,
        step=shown.steps[index] if keys else None,
        index=index,
        personas=personas,
        person_key=person_key,
        status_labels=_status_labels(),
    )
