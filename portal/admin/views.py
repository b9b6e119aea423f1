"""The administrator's pages. Here: the health of every adapter, as `/readyz` sees it."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from portal.health import run_readiness_checks
from portal.identity.auth import login_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/health")
@login_required("admin")
def show_health() -> ResponseReturnValue:
    """Each adapter's configuration check (database, identity, records, mail, jobs,
    storage), run now, with what it says."""
    results = run_readiness_checks()
    return render_template(
        "admin/health.html",
        results=sorted(results.items()),
        ready=all(result.ok for result in results.values()),
    )
