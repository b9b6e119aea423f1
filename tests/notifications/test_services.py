"""Notices: enqueued with the change, sent once after the commit, saying only name and number."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest
from flask import Flask
from sqlalchemy import select, update

from portal.audit.models import AuditEntry
from portal.config import parse_smtp_url
from portal.database import utcnow
from portal.extensions import db
from portal.jobs.models import Job
from portal.jobs.services import run_pending
from portal.notifications.mail import OutboxMessage, OutboxSender, SmtpSender
from portal.notifications.services import EXTENSION_KEY, notify
from tests.notifications.conftest import (
    ADDRESS,
    NAME,
    PRIVATE_STRINGS,
    use_sender,
)
from tests.notifications.support import HOST, LocalSmtpServer


def _notify(app: Flask, *args: str) -> None:
    with app.app_context():
        notify(db.session, *args)
        db.session.commit()


def _sent(outbox: OutboxSender) -> list[OutboxMessage]:
    return [outbox.read(name) for name in outbox.names()]


def _jobs(app: Flask) -> list[Job]:
    with app.app_context():
        jobs = list(db.session.scalars(select(Job).order_by(Job.id)))
        db.session.expunge_all()
        return jobs


def _audit(app: Flask, prefix: str = "notification.") -> list[AuditEntry]:
    with app.app_context():
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action.startswith(prefix)).order_by(AuditEntry.id)
        ).all()
        db.session.expunge_all()
        return list(entries)


def test_a_notice_is_a_job_of_references_sent_after_the_commit(mail_app, outbox, file_application):
    filed = file_application()
    with mail_app.app_context():
        job = notify(db.session, "received", filed.reference)
        assert job.kind == "email.send"
        assert job.payload == {"kind": "received", "application": filed.reference}
        assert job.idempotency_key == f"email:received:{filed.reference}"
        assert outbox.names() == []  # nothing leaves before the commit
        db.session.commit()
    assert [message.subject for message in _sent(outbox)] == [
        f"申請を受け付けました（{filed.reference}）"
    ]


def test_a_rolled_back_change_mails_nobody(mail_app, outbox, file_application):
    filed = file_application()
    with mail_app.app_context():
        notify(db.session, "received", filed.reference)
        db.session.rollback()
    assert outbox.names() == []
    assert _jobs(mail_app) == []


def test_one_email_per_kind_and_reference_however_often_it_is_asked(
    mail_app, outbox, file_application
):
    filed = file_application(language="en")
    first, second = filed.submissions
    with mail_app.app_context():
        notify(db.session, "received", filed.reference)
        notify(db.session, "received", filed.reference)
        db.session.commit()
    _notify(mail_app, "received", filed.reference)  # a retried request, after the commit
    _notify(mail_app, "decided", filed.reference, first)
    _notify(mail_app, "decided", filed.reference, first)
    _notify(mail_app, "decided", filed.reference, second)
    run_pending(mail_app, limit=10)
    assert sorted(message.subject for message in _sent(outbox)) == sorted(
        [
            f"We have received your application ({filed.reference})",
            f"A decision has been made on your application ({first})",
            f"A decision has been made on your application ({second})",
        ]
    )
    assert [job.status for job in _jobs(mail_app)] == ["done", "done", "done"]
    assert len(_audit(mail_app, "notification.sent")) == 3


@pytest.mark.parametrize(
    ("kind", "submission", "problem"),
    [
        ("approved", None, "no notice of kind 'approved'"),
        ("received", "MD-2026-000123-1", "about one application"),
        ("decided", None, "about one submission"),
        ("information_requested", None, "about one submission"),
    ],
)
def test_notify_refuses_what_it_cannot_send(mail_app, kind, submission, problem):
    with mail_app.app_context(), pytest.raises(ValueError, match=problem):
        notify(db.session, kind, "MD-2026-000123", submission)


@pytest.mark.parametrize(
    ("kind", "sentence"),
    [
        ("received", "We have received your application."),
        ("information_requested", "the city needs more information from you"),
        ("decided", "A decision has been made on your application."),
    ],
)
def test_an_email_says_name_reference_and_where_to_look_and_nothing_else(
    mail_app, outbox, file_application, kind, sentence
):
    filed = file_application(language="en")
    reference = filed.reference if kind == "received" else filed.submissions[1]
    _notify(mail_app, kind, filed.reference, *([] if kind == "received" else [reference]))
    [message] = _sent(outbox)
    assert message.to == ADDRESS
    assert reference in message.subject
    assert f"Dear {NAME}," in message.body
    assert sentence in message.body
    assert f"Your reference number: {reference}" in message.body
    assert "\nhttp://127.0.0.1:5000/dashboard\n" in message.body
    for private in (*PRIVATE_STRINGS, ADDRESS, "bereavement", "nhi_loss_on_death"):
        assert private not in message.subject + message.body


def _parsed(outbox: OutboxSender, name: str) -> EmailMessage:
    with (outbox.folder / name).open("rb") as handle:
        return BytesParser(policy=policy.default).parse(handle)  # type: ignore[return-value]


def test_the_email_is_in_the_language_the_resident_applied_in(mail_app, outbox, file_application):
    english = file_application(language="en")
    japanese = file_application(language="ja")
    for filed in (english, japanese):
        _notify(mail_app, "received", filed.reference)
    ja_name, en_name = outbox.names()  # newest first
    ja, en = outbox.read(ja_name), outbox.read(en_name)
    ja_headers, en_headers = _parsed(outbox, ja_name), _parsed(outbox, en_name)
    assert (ja_headers["Content-Language"], en_headers["Content-Language"]) == ("ja", "en")
    # Strings the shipped Japanese catalogue already translates.
    assert ja_headers["From"].addresses[0].display_name == "窓口市 オンライン手続"
    assert f"受付番号: {japanese.reference}" in ja.body
    assert "窓口市 オンライン手続" in ja.body
    assert "Your reference number" not in ja.body
    assert en_headers["From"].addresses[0].display_name == "Madoguchi City online procedures"
    assert f"Your reference number: {english.reference}" in en.body
    assert "Madoguchi City online procedures" in en.body
    assert "受付番号" not in en.body


def test_sending_is_audited_without_the_address_or_the_name(mail_app, outbox, file_application):
    filed = file_application()
    _notify(mail_app, "information_requested", filed.reference, filed.submissions[0])
    [entry] = _audit(mail_app)
    assert (entry.action, entry.actor) == ("notification.sent", "system")
    assert (entry.subject_type, entry.subject_id) == ("submission", filed.submissions[0])
    assert entry.details == {"kind": "information_requested", "mailer": "outbox", "language": "ja"}
    stored = json.dumps(entry.details, ensure_ascii=False) + json.dumps(
        [job.payload for job in _jobs(mail_app)], ensure_ascii=False
    )
    assert ADDRESS not in stored and NAME not in stored


@pytest.mark.parametrize(
    ("address", "reason"), [(None, "no_address"), ("not an address", "invalid_address")]
)
def test_without_a_usable_address_nothing_is_sent_and_the_skip_is_audited(
    mail_app, outbox, file_application, address, reason
):
    filed = file_application(address=address)
    _notify(mail_app, "received", filed.reference)
    assert outbox.names() == []
    [entry] = _audit(mail_app)
    assert (entry.action, entry.subject_id) == ("notification.skipped", filed.reference)
    assert entry.details == {"kind": "received", "reason": reason}
    assert [job.status for job in _jobs(mail_app)] == ["done"]


def test_a_submission_of_another_application_is_not_mailed_about(
    mail_app, outbox, file_application
):
    mine, theirs = file_application(), file_application()
    _notify(mail_app, "decided", mine.reference, theirs.submissions[0])
    assert outbox.names() == []
    [job] = _jobs(mail_app)
    assert job.status == "pending" and job.attempts == 1
    assert job.last_error == (
        f"LookupError: application {mine.reference} has no submission {theirs.submissions[0]}"
    )


def test_when_the_mail_server_is_down_the_job_waits_and_sends_once_it_is_back(
    mail_app, file_application
):
    server = LocalSmtpServer()  # bound but not listening: the mail server is down
    try:
        use_sender(
            mail_app,
            SmtpSender(parse_smtp_url(f"smtp://{HOST}:{server.port}?from=noreply@city.example")),
        )
        filed = file_application()
        _notify(mail_app, "received", filed.reference)
        [job] = _jobs(mail_app)
        assert (job.status, job.attempts) == ("pending", 1)
        assert job.run_after > utcnow() + timedelta(seconds=20), "tried again later, not at once"
        assert (
            job.last_error == "MailNotSent: the mail server was not reached: ConnectionRefusedError"
        )
        assert _audit(mail_app) == []
        assert run_pending(mail_app, limit=5) == 0  # not due yet

        server.start()
        with mail_app.app_context():  # the retry's time comes
            db.session.execute(update(Job).values(run_after=utcnow()))
            db.session.commit()
        assert run_pending(mail_app, limit=5) == 1
    finally:
        server.stop()
    [received] = server.received
    assert received.rcpt_to == (ADDRESS,)
    assert filed.reference in received.parsed()["Subject"]
    [job] = _jobs(mail_app)
    assert (job.status, job.attempts) == ("done", 2)
    assert [entry.details["mailer"] for entry in _audit(mail_app)] == ["smtp"]


def test_links_keep_the_path_the_portal_is_served_under(mail_app, outbox, file_application):
    mail_app.extensions[EXTENSION_KEY] = replace(
        mail_app.extensions[EXTENSION_KEY], portal_url="https://madoguchi.city.example/portal"
    )
    filed = file_application()
    _notify(mail_app, "received", filed.reference)
    [message] = _sent(outbox)
    assert "\nhttps://madoguchi.city.example/portal/dashboard\n" in message.body
