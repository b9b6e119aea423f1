"""Emails to residents about their applications, sent after the commit through the jobs outbox.

``services.notify`` records the job; the mail adapter ``SMTP_URL`` chooses sends it
(``mail.py``); in development ``/dev/outbox`` shows what would have been sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from portal.backoffice.models import Application


def register_notifications(app: Flask) -> None:
    """Choose the mail sender, add its readiness check and, in development, the outbox page."""
    from portal import health
    from portal.notifications import mail, services
    from portal.notifications.views import bp

    app.extensions[services.EXTENSION_KEY] = services.NotificationSetup(
        sender=mail.mail_sender(app), portal_url=services.portal_url(app)
    )
    services.set_address_lookup(app, _user_email)
    health.register_readiness_check(
        app, "mail", lambda: mail.readiness(services.current_setup().sender)
    )
    if app.config["PORTAL_ENV"] == "development":
        app.register_blueprint(bp)


def _user_email(session: Session, application: Application) -> str | None:
    """The applicant's verified address, as their identity provider last gave it."""
    from portal.identity.models import User

    user = session.get(User, application.applicant_id)
    return user.email if user is not None else None
