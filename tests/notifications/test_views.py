"""The development outbox page: newest first, text shown escaped, never in production."""

from __future__ import annotations

import pytest
from flask import Flask

from portal import create_app
from portal.config import parse_smtp_url
from portal.extensions import db
from portal.notifications.mail import OutboxSender, SmtpSender
from portal.notifications.services import EXTENSION_KEY, notify
from tests.conftest import app_config
from tests.notifications.conftest import ADDRESS, FileApplication, use_sender

SMTP_URL = "smtps://portal:pw@mail.city.example?from=noreply@city.example"


def _received(app: Flask, reference: str) -> None:
    with app.app_context():
        notify(db.session, "received", reference)
        db.session.commit()


def test_the_outbox_lists_the_newest_email_first(
    mail_app, outbox: OutboxSender, file_application: FileApplication
):
    first, second = file_application(), file_application()
    _received(mail_app, first.reference)
    _received(mail_app, second.reference)
    page = mail_app.test_client().get("/dev/outbox").get_data(as_text=True)
    assert page.index(second.reference) < page.index(first.reference)
    assert ADDRESS in page
    for name in outbox.names():
        assert f'href="/dev/outbox/{name}"' in page


def test_an_email_is_shown_as_escaped_text(mail_app, outbox, file_application):
    filed = file_application(language="en", name='<script>alert("x")</script> & Co')
    _received(mail_app, filed.reference)
    [name] = outbox.names()
    response = mail_app.test_client().get(f"/dev/outbox/{name}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Dear &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co," in page
    assert "<script>alert" not in page
    assert f"Your reference number: {filed.reference}" in page


@pytest.mark.parametrize(
    "name", ["missing.eml", "..%2F..%2Fsecret.eml", "20260101T000000000000Z-1-0123456789abcdef.eml"]
)
def test_anything_but_a_kept_email_is_not_found(mail_app, outbox, name):
    assert mail_app.test_client().get(f"/dev/outbox/{name}").status_code == 404


def test_an_empty_outbox_says_so(mail_app):
    client = mail_app.test_client()
    client.set_cookie("madoguchi_lang", "en")
    page = client.get("/dev/outbox").get_data(as_text=True)
    assert "No emails yet." in page


def test_no_outbox_page_when_emails_really_go_out(mail_app):
    use_sender(mail_app, SmtpSender(parse_smtp_url(SMTP_URL)))
    assert mail_app.test_client().get("/dev/outbox").status_code == 404


def test_no_outbox_page_in_production(database_url):
    app = create_app(app_config(database_url, PORTAL_ENV="production", SMTP_URL=SMTP_URL))
    try:
        assert "notifications" not in app.blueprints
        assert isinstance(app.extensions[EXTENSION_KEY].sender, SmtpSender)
        client = app.test_client()
        assert client.get("/dev/outbox", base_url="https://portal.example").status_code == 404
    finally:
        with app.app_context():
            db.engine.dispose()


def test_readiness_shows_where_mail_goes(mail_app, outbox):
    body = mail_app.test_client().get("/readyz").get_json()
    assert body["checks"]["mail"] == {
        "ok": True,
        "detail": f"development outbox {outbox.folder}, nothing is sent",
    }
    (outbox.folder.parent / "taken").write_text("a file where the folder should be")
    use_sender(mail_app, OutboxSender(outbox.folder.parent / "taken" / "outbox"))
    response = mail_app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["mail"]["ok"] is False
