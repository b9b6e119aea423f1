"""The audit log for administrators: filtered pages newest first, and checking the chain."""

from __future__ import annotations

import json

from flask import current_app, render_template, request
from flask.typing import ResponseReturnValue

from portal.admin.audit_log import AuditFilters, search_audit_log
from portal.admin.blueprint import bp
from portal.audit.models import AuditEntry
from portal.audit.services import verify_chain
from portal.extensions import db
from portal.identity.auth import login_required


def details_text(entry: AuditEntry) -> str:
    """An entry's details as compact JSON text; the template escapes it like any text."""
    return json.dumps(entry.details, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))


@bp.get("/audit")
@login_required("admin")
def show_audit_log() -> ResponseReturnValue:
    """Who did what to which record, newest first, narrowed by actor, action, subject, dates."""
    filters = AuditFilters.from_args(request.args)
    page = search_audit_log(db.session, filters, timezone=current_app.config["PORTAL_TIMEZONE"])
    return render_template(
        "admin/audit.html", filters=filters, page=page, details_text=details_text
    )


@bp.get("/audit/verify")
@login_required("admin")
def verify_audit_log() -> ResponseReturnValue:
    """Recompute the hash chain now and say whether it is intact or where it first breaks."""
    report = verify_chain(db.session)
    broken = (
        db.session.get(AuditEntry, report.broken_entry_id)
        if report.broken_entry_id is not None
        else None
    )
    return render_template(
        "admin/audit_verify.html", report=report, broken=broken, details_text=details_text
    )
