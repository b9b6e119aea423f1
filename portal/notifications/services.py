"""Emails to residents: their application was received, more is asked, a decision was made.

``notify`` only records an ``email.send`` job in the caller's transaction, so an email
goes out after the change it tells of has committed, and never for a change that rolled
back. The job's payload holds reference numbers only. The job renders the message in
the application's language from ``templates/notifications/<kind>.txt``, sends it
through the configured sender and audits that it did.

An email says as little as it can: the resident's name, the reference number and a
link to the portal. Everything else (answers, decisions, requests) stays behind the
portal's sign-in, because mail crosses servers the city does not control.

Users have no email address of their own in the portal yet, so the address comes from
the lookup set with ``set_address_lookup``. Without one, or when it knows no usable
address for the resident, the email is skipped and the skip is audited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from portal.audit.services import record_event
from portal.backoffice.models import Application, Submission
from portal.backoffice.services import application_by_reference
from portal.database import utcnow
from portal.i18n import DEFAULT_LANGUAGE, LANGUAGES
from portal.jobs.models import Job
from portal.jobs.services import enqueue, job_handler
from portal.notifications.mail import MailSender, mail_address, new_message

JOB_KIND = "email.send"
# What each kind is about: the whole application, or one of its submissions.
KINDS = {"received": "application", "information_requested": "submission", "decided": "submission"}
EXTENSION_KEY = "madoguchi.notifications"
PORTAL_URL_SETTING = "PORTAL_URL"
# The resident's dashboard: every application and what it waits for, behind sign-in.
LINK_ENDPOINT = "resident.show_dashboard"

AddressLookup = Callable[[Session, Application], str | None]


@dataclass(frozen=True)
class NotificationSetup:
    """How this app sends notices: the sender, the portal's address, where addresses are."""

    sender: MailSender
    portal_url: str
    address_lookup: AddressLookup | None = None


@dataclass(frozen=True)
class Notice:
    """One rendered notice, in the language it was written in, before it is addressed."""

    language: str
    sender_name: str
    subject: str
    body: str


def current_setup() -> NotificationSetup:
    """The notification setup of the current app."""
    return current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]


def set_address_lookup(app: Flask, lookup: AddressLookup) -> None:
    """Say where a resident's email address comes from, such as their user record."""
    app.extensions[EXTENSION_KEY] = replace(app.extensions[EXTENSION_KEY], address_lookup=lookup)


def portal_url(app: Flask) -> str:
    """The portal's public address that links in emails start with (``PORTAL_URL``)."""
    return str(app.config["PORTAL_URL"])


def notification_key(kind: str, reference: str) -> str:
    """The job key of a notice: one email per kind and reference number."""
    return f"email:{kind}:{reference}"


def notify(
    session: Session,
    kind: str,
    application_reference: str,
    submission_reference: str | None = None,
    *,
    occasion: str | None = None,
) -> Job:
    """Record, in the caller's transaction, that the resident is to be emailed about ``kind``.

    ``received`` is about an application; ``information_requested`` and ``decided`` are
    about one of its submissions, whose reference is then required. The same kind and
    reference twice gives one job, so a retried request sends one email; ``occasion``
    tells apart notices of the same kind that should each be sent (a second request).
    """
    about = KINDS.get(kind)
    if about is None:
        raise ValueError(f"there is no notice of kind {kind!r}; kinds: {', '.join(KINDS)}")
    if (about == "submission") != (submission_reference is not None):
        raise ValueError(f"a {kind!r} notice is about one {about}: give its reference only")
    payload = {"kind": kind, "application": application_reference}
    if submission_reference is not None:
        payload["submission"] = submission_reference
    key = notification_key(kind, submission_reference or application_reference)
    if occasion:
        key = f"{key}:{occasion}"
    return enqueue(session, JOB_KIND, payload, key=key)


def notify_if_wanted(session: Session, kind: str, submission: Submission, **extra: str) -> None:
    """Notify about a submission when its procedure's definition asks for ``kind``."""
    from portal.catalogue.services import catalogue_for_pins

    application = submission.application
    procedure = catalogue_for_pins(session, application.pins).procedure(submission.procedure_id)
    delivery = procedure.model.delivery
    if delivery is None or kind not in delivery.notify:
        return
    if KINDS[kind] == "application":
        notify(session, kind, application.reference, **extra)
    else:
        notify(session, kind, application.reference, submission.reference, **extra)


def _link(base_url: str, endpoint: str) -> str:
    """An absolute link to ``endpoint`` under the portal's public address (no request needed)."""
    parts = urlsplit(base_url)
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme
    )
    return adapter.build(endpoint, force_external=True)


def render_notice(kind: str, application: Application, reference: str, link: str) -> Notice:
    """Write the notice of ``kind`` in the application's language, from its template.

    The template gets the name, the reference and the link, and nothing else to leak.
    """
    language = application.language if application.language in LANGUAGES else DEFAULT_LANGUAGE
    template = current_app.jinja_env.get_template(f"notifications/{kind}.txt")
    with force_locale(language):
        module = template.make_module(
            {"name": application.applicant_name, "reference": reference, "link": link}
        )
        sender_name = _("Madoguchi City online procedures")
        body = str(module)
        subject = " ".join(str(module.subject).split())
    return Notice(language, sender_name, subject, body.strip() + "\n")


def compose_message(
    notice: Notice, *, sender: MailSender, to: Address, message_id: str
) -> EmailMessage:
    """Turn a notice into a UTF-8 email from the sender's address to ``to``."""
    message = new_message()
    message["Subject"] = notice.subject
    message["From"] = Address(notice.sender_name, addr_spec=sender.from_address)
    message["To"] = to
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = message_id
    # RFC 3834: out-of-office replies and other automatic answers are not sent back.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(notice.body, charset="utf-8")
    # After set_content, which clears every Content-* header.
    message["Content-Language"] = notice.language
    return message


def _message_id(kind: str, reference: str, from_address: str) -> str:
    # The same for every attempt of one job: a message sent twice (a worker that died
    # after sending) is recognisable as one by mail programs.
    return f"<{kind}.{reference}@{from_address.rsplit('@', 1)[1]}>"


def _audit(
    session: Session, action: str, subject_type: str, reference: str, details: dict[str, str]
) -> None:
    record_event(
        session,
        actor="system",
        action=action,
        subject_type=subject_type,
        subject_id=reference,
        details=details,
    )


def send_notice(
    session: Session,
    setup: NotificationSetup,
    kind: str,
    application: Application,
    reference: str,
    address: str | None,
) -> bool:
    """Email the notice of ``kind`` about ``reference`` to ``address`` and audit it.

    Without a usable address nothing is sent and the skip is audited; returns whether an
    email went out. The audit never holds the address or the name. A failure to send
    raises, so the job tries again later.
    """
    action, details = deliver_notice(setup, kind, application, reference, address)
    _audit(session, action, KINDS[kind], reference, details)
    return action == "notification.sent"


def deliver_notice(
    setup: NotificationSetup,
    kind: str,
    application: Application,
    reference: str,
    address: str | None,
) -> tuple[str, dict[str, str]]:
    """Send the notice (or skip it without a usable address); return the audit action and
    details to record. Touches no table, so it runs while no lock is held."""
    recipient = mail_address(address) if address else None
    if recipient is None:
        return "notification.skipped", {
            "kind": kind,
            "reason": "invalid_address" if address else "no_address",
        }
    link = _link(setup.portal_url, LINK_ENDPOINT)
    notice = render_notice(kind, application, reference, link)
    message_id = _message_id(kind, reference, setup.sender.from_address)
    setup.sender.send(
        compose_message(notice, sender=setup.sender, to=recipient, message_id=message_id)
    )
    return "notification.sent", {
        "kind": kind,
        "mailer": setup.sender.code,
        "language": notice.language,
    }


def _send_for_job(session: Session, payload: dict[str, Any]) -> tuple[str, str, str, dict]:
    """The slow part of an ``email.send`` job: find what it is about and who to, and send.

    Runs with no lock held; a retry after a crash may send again, with the same
    Message-ID, so the resident's mail program can tell it is the same email.
    """
    kind = str(payload["kind"])
    if kind not in KINDS:
        raise LookupError(f"there is no notice of kind {kind!r}")
    application = application_by_reference(session, str(payload["application"]))
    if application is None:
        raise LookupError(f"there is no application {payload['application']}")
    reference = application.reference
    if "submission" in payload:
        reference = str(payload["submission"])
        if reference not in {submission.reference for submission in application.submissions}:
            raise LookupError(f"application {application.reference} has no submission {reference}")
    setup = current_setup()
    address = setup.address_lookup(session, application) if setup.address_lookup else None
    action, details = deliver_notice(setup, kind, application, reference, address)
    return action, KINDS[kind], reference, details


@job_handler(JOB_KIND, prepare=_send_for_job)
def send_notification(
    session: Session, payload: dict[str, Any], outcome: tuple[str, str, str, dict]
) -> None:
    """Record what an ``email.send`` job did, once it has sent (or skipped) the notice."""
    _audit(session, *outcome)
