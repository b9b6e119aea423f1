"""The development outbox: the emails the portal would have sent, to read in the browser.

Served only when ``PORTAL_ENV=development`` and the outbox is the sender: the blueprint
is not registered otherwise, and every page answers 404 if it ever were.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template
from flask.typing import ResponseReturnValue

from portal.notifications.mail import OutboxSender
from portal.notifications.services import current_setup

bp = Blueprint("notifications", __name__)

OUTBOX_PAGE_SIZE = 100


def _outbox() -> OutboxSender:
    sender = current_setup().sender
    if current_app.config["PORTAL_ENV"] != "development" or not isinstance(sender, OutboxSender):
        abort(404)
    return sender


@bp.get("/dev/outbox")
def show_outbox() -> ResponseReturnValue:
    """The newest kept emails: when, to whom, and the subject."""
    outbox = _outbox()
    messages = [outbox.read(name) for name in outbox.names()[:OUTBOX_PAGE_SIZE]]
    return render_template("notifications/outbox.html", messages=messages)


@bp.get("/dev/outbox/<name>")
def show_outbox_message(name: str) -> ResponseReturnValue:
    """One kept email's text, escaped like any other text on a page."""
    try:
        message = _outbox().read(name)
    except FileNotFoundError:
        abort(404)
    return render_template("notifications/outbox_message.html", message=message)
