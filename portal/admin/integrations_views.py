"""Admin pages for integrations: API clients and their webhooks, and the dead-letter list.

A new client's bearer token and a new webhook's signing secret are shown once, on the
page that answers the POST which made them: never stored in the session, never
flashed, never logged, and the page is sent with ``Cache-Control: no-store``.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext

from portal.admin import integrations
from portal.admin.blueprint import bp
from portal.admin.people import actor_for
from portal.admin.people_views import NOTICE, PROBLEM, department_choices
from portal.api import services as api_services
from portal.api.models import SCOPES, WEBHOOK_EVENTS
from portal.api.webhooks import WebhookRefused, private_service_event
from portal.extensions import db
from portal.identity.auth import current_user, login_required, now
from portal.identity.models import User

MAX_JOB_ID = 2**63 - 1


def _admin() -> User:
    user = current_user()
    assert user is not None  # login_required("admin") let only an admin in
    return user


def _choices() -> dict[str, Any]:
    """The departments, scopes and events the forms offer."""
    private_services = sorted(api_services.known_private_services(db.session))
    return {
        "department_choices": department_choices(),
        "scope_choices": SCOPES,
        "event_choices": [
            *WEBHOOK_EVENTS,
            *(private_service_event(service) for service in private_services),
        ],
    }


def _integrations_page(status: int = 200, **errors: Any) -> ResponseReturnValue:
    return (
        render_template(
            "admin/integrations.html",
            clients=integrations.api_clients(db.session),
            form=request.form if errors else {},
            **_choices(),
            **errors,
        ),
        status,
    )


def _shown_once(template: str, **context: Any) -> ResponseReturnValue:
    """A page holding a secret: never kept by the browser, a proxy or the back button."""
    response = make_response(render_template(template, **context))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.get("/integrations")
@login_required("admin")
def list_integrations() -> ResponseReturnValue:
    """The API clients, what they may see and do, and where their webhooks send events."""
    return _integrations_page()


@bp.post("/integrations/clients")
@login_required("admin")
def create_api_client() -> ResponseReturnValue:
    """Create a client and show its bearer token, this once."""
    try:
        issued = api_services.issue_client(
            db.session,
            name=request.form.get("name", ""),
            departments=request.form.getlist("departments"),
            scopes=request.form.getlist("scopes"),
            actor=actor_for(_admin()),
            now=now(),
        )
    except api_services.ClientRefused as refused:
        db.session.rollback()
        return _integrations_page(400, create_error=str(refused))
    client_id, name = issued.client.client_id, issued.client.name
    db.session.commit()
    return _shown_once(
        "admin/integrations_secret.html",
        kind="client",
        client_id=client_id,
        name=name,
        secret=issued.token,
    )


@bp.post("/integrations/clients/<client_id>/revoke")
@login_required("admin")
def revoke_api_client(client_id: str) -> ResponseReturnValue:
    """Refuse a client's token from now on; its webhooks stop too."""
    try:
        client = api_services.withdraw_client(
            db.session, client_id, actor=actor_for(_admin()), now=now()
        )
    except LookupError:
        db.session.rollback()
        flash(_("There is no such API client."), PROBLEM)
        return redirect(url_for("admin.list_integrations"), code=303)
    name = client.name
    db.session.commit()
    flash(_("Revoked the API client “%(name)s”.", name=name), NOTICE)
    return redirect(url_for("admin.list_integrations"), code=303)


@bp.post("/integrations/clients/<client_id>/webhooks")
@login_required("admin")
def add_webhook(client_id: str) -> ResponseReturnValue:
    """Send a client's system events at a URL, and show the signing secret this once."""
    config = current_app.config
    try:
        created = api_services.add_webhook(
            db.session,
            client_id,
            url=request.form.get("url", "").strip(),
            events=request.form.getlist("events"),
            production=config["PORTAL_ENV"] == "production",
            secret_key=config["SECRET_KEY"],
            actor=actor_for(_admin()),
            now=now(),
        )
    except LookupError:
        db.session.rollback()
        flash(_("There is no such live API client."), PROBLEM)
        return redirect(url_for("admin.list_integrations"), code=303)
    except WebhookRefused as refused:
        db.session.rollback()
        return _integrations_page(400, webhook_error=str(refused), webhook_client=client_id)
    endpoint = created.endpoint
    context = {"client_id": client_id, "url": endpoint.url, "events": list(endpoint.events)}
    db.session.commit()
    return _shown_once(
        "admin/integrations_secret.html", kind="webhook", secret=created.secret, **context
    )


@bp.post("/integrations/webhooks/<int(max=2147483647):endpoint_id>/disable")
@login_required("admin")
def disable_webhook(endpoint_id: int) -> ResponseReturnValue:
    """Stop sending events to a webhook endpoint."""
    try:
        api_services.disable_webhook(db.session, endpoint_id, actor=actor_for(_admin()))
    except LookupError:
        db.session.rollback()
        flash(_("There is no such webhook endpoint."), PROBLEM)
        return redirect(url_for("admin.list_integrations"), code=303)
    db.session.commit()
    flash(_("The webhook endpoint is disabled: no more events are sent to it."), NOTICE)
    return redirect(url_for("admin.list_integrations"), code=303)


@bp.get("/jobs/dead")
@login_required("admin")
def list_dead_jobs() -> ResponseReturnValue:
    """Jobs that used all their attempts: what they were, why they failed, when."""
    return render_template(
        "admin/integrations_dead_jobs.html",
        jobs=integrations.dead_letters(db.session),
    )


@bp.post("/jobs/dead/replay")
@login_required("admin")
def replay_dead_jobs() -> ResponseReturnValue:
    """Queue the chosen dead jobs again with a fresh set of attempts."""
    job_ids = [
        int(value)
        for value in request.form.getlist("job_ids")
        if value.isdigit() and int(value) <= MAX_JOB_ID
    ]
    if not job_ids:
        flash(_("Choose at least one job to replay."), PROBLEM)
        return redirect(url_for("admin.list_dead_jobs"), code=303)
    replay = integrations.replay_dead_jobs(
        db.session, job_ids, actor=actor_for(_admin()), now=now()
    )
    queued = [job.id for job in replay.queued]
    db.session.commit()
    if queued:
        flash(
            ngettext(
                "Job %(ids)s is queued again.",
                "Jobs %(ids)s are queued again.",
                len(queued),
                ids=", ".join(map(str, queued)),
            ),
            NOTICE,
        )
    if replay.refused:
        flash(
            _(
                "Not replayed (gone, or no longer dead): %(ids)s",
                ids=", ".join(str(job_id) for job_id, _reason in replay.refused),
            ),
            PROBLEM,
        )
    return redirect(url_for("admin.list_dead_jobs"), code=303)
