"""The administrator's start page and the health of every adapter, as `/readyz` sees it."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l

from portal.admin.blueprint import bp
from portal.health import run_readiness_checks
from portal.identity.auth import login_required

# The administrator's areas, in the order the start page lists them: (endpoint, title, what).
SECTIONS = (
    (
        "admin.list_definitions",
        _l("Procedures and life events"),
        _l("Write, preview, compare, publish and retire versions of the definitions."),
    ),
    (
        "admin.show_kpis",
        _l("Indicators"),
        _l("How residents use the portal: applications, online share, time to decision."),
    ),
    (
        "admin.list_people",
        _l("People"),
        _l("Staff roles and departments, accounts and their sessions."),
    ),
    ("admin.list_departments", _l("Departments"), _l("Each department's queues and members.")),
    (
        "admin.list_integrations",
        _l("Integrations"),
        _l("Back-office API clients and webhook endpoints."),
    ),
    ("admin.list_dead_jobs", _l("Failed jobs"), _l("Work that failed every attempt, to replay.")),
    ("admin.show_audit_log", _l("Audit log"), _l("Who did what, and a check of the hash chain.")),
    ("admin.show_health", _l("Health"), _l("Each connection's check, run now.")),
)


@bp.get("/")
@login_required("admin")
def show_start() -> ResponseReturnValue:
    """The administrator's start page: every area with what it is for."""
    return render_template("admin/start.html", sections=SECTIONS)


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
