"""The dashboard: applications with their timelines, answers to requests, withdrawals, drafts."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.backoffice import workflow
from portal.backoffice.models import CaseMessage, Submission
from portal.database import utcnow
from portal.definitions.expressions import default_context
from portal.documents.storage import file_storage
from portal.extensions import db
from portal.jobs.models import Job
from portal.jobs.services import schedule_periodic
from portal.resident import dashboard
from portal.resident.models import Draft
from tests.resident.conftest import TINY_PDF, token
from tests.resident.test_journey import start
from tests.resident.test_submit import _submit, _to_check


@pytest.fixture
def application(signed_in_as, app, client):
    """demo-0024 has filed two bereavement procedures; returns the application's URL."""
    signed_in_as("demo-0024")
    response = _submit(client, _to_check(client), declaration="yes")
    assert response.status_code == 303
    return response.headers["Location"]


def _ask(app, text="死亡診断書の写しを送ってください。"):
    with app.app_context():
        submission = db.session.scalars(select(Submission).order_by(Submission.id)).first()
        context = default_context()
        now = utcnow()
        workflow.transition(
            db.session, submission, "in_review", actor="user:1", role="clerk", now=now,
            local_day=now.date(), is_business_day=context.is_business_day,
        )
        workflow.request_information(
            db.session, submission, text, clerk_id=None, now=now, local_day=now.date(),
            is_business_day=context.is_business_day,
        )
        submission.messages.append(CaseMessage(kind="note", body="内部メモ：電話済み"))
        db.session.commit()
        return submission.number


def test_the_dashboard_lists_applications_with_their_status(application, client):
    page = client.get("/dashboard").get_data(as_text=True)
    reference = application.rsplit("/", 1)[1]
    assert reference in page
    assert page.count("受け付けました") >= 2
    assert "国民健康保険" in page
    assert "未完了の申請はありません" in page


def test_an_unfinished_draft_is_listed_with_its_expiry_and_resumes_where_it_stopped(
    signed_in_as, app, client
):
    signed_in_as("demo-0024")
    first_question = start(client)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "おくやみ" in page and "削除します" in page
    link = re.search(r'href="(/drafts/[^"/]+)"', page).group(1)
    assert client.get(link).headers["Location"].endswith(first_question)


def test_a_request_is_answered_with_a_file_and_the_clock_restarts(application, app, client):
    number = _ask(app)
    page = client.get(application).get_data(as_text=True)
    assert "あなたの回答待ち" in page
    assert "死亡診断書の写しを送ってください。" in page
    assert "内部メモ" not in page  # internal notes never reach the resident
    assert "あなたの回答待ちの申請が1件あります" in client.get("/dashboard").get_data(as_text=True)

    empty = client.post(
        f"{application}/{number}/answer", data={"csrf_token": token(page), "body": " "}
    )
    assert empty.status_code == 400
    assert "回答を入力してください。" in empty.get_data(as_text=True)

    lying = client.post(
        f"{application}/{number}/answer",
        data={
            "csrf_token": token(page),
            "body": "送ります。",
            "file": (io.BytesIO(b"MZ not a pdf"), "certificate.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert lying.status_code == 400
    kept = lying.get_data(as_text=True)
    assert "ファイルの中身で判断しています" in kept and ">送ります。</textarea>" in kept

    sent = client.post(
        f"{application}/{number}/answer",
        data={
            "csrf_token": token(page),
            "body": "写しを添付します。",
            "file": (io.BytesIO(TINY_PDF), "死亡診断書.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert sent.status_code == 303
    page = client.get(application).get_data(as_text=True)
    assert "審査中" in page and "写しを添付します。" in page
    link = re.search(r'href="([^"]+/messages/\d+/0)"', page).group(1)
    download = client.get(link)
    assert download.data == TINY_PDF
    assert download.headers["Content-Disposition"].startswith("attachment")
    with app.app_context():
        submission = db.session.scalars(select(Submission).order_by(Submission.id)).first()
        assert submission.status == "in_review" and submission.paused_since is None
        assert [m.kind for m in submission.messages] == ["request", "note", "reply"]


def test_withdrawing_needs_a_confirmation_and_is_final(application, app, client):
    page = client.get(application).get_data(as_text=True)
    withdraw = re.search(r'href="([^"]+/1/withdraw)"', page).group(1)
    form = client.get(withdraw).get_data(as_text=True)
    refused = client.post(withdraw, data={"csrf_token": token(form)})
    assert refused.status_code == 400
    assert "取り下げてよいか確認" in refused.get_data(as_text=True)
    done = client.post(withdraw, data={"csrf_token": token(form), "confirm": "yes"})
    assert done.status_code == 303
    page = client.get(application).get_data(as_text=True)
    assert "取り下げました" in page
    assert page.count("/withdraw") == 1  # only the other procedure can still be withdrawn
    assert client.get(withdraw).status_code == 303
    with app.app_context():
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "submission.status_changed")
        ).one()
        assert entry.details == {"from": "received", "to": "withdrawn"}


def test_another_resident_reaches_none_of_it(application, app, signed_in_as, client):
    number = _ask(app)
    page = client.get(application).get_data(as_text=True)
    signed_in_as("demo-0018")
    other = client.get("/dashboard").get_data(as_text=True)
    assert application.rsplit("/", 1)[1] not in other
    for path in (
        application,
        f"{application}/receipt.pdf",
        f"{application}/{number}/withdraw",
        f"{application}/{number}/decision.pdf",
        f"{application}/{number}/messages/1/0",
    ):
        assert client.get(path).status_code == 404, path
    answer = client.post(
        f"{application}/{number}/answer", data={"csrf_token": token(page), "body": "x"}
    )
    assert answer.status_code == 404


def test_signed_out_visitors_are_asked_to_sign_in(procedures_loaded, client):
    response = client.get("/dashboard")
    assert response.status_code == 303
    assert "/sign-in" in response.headers["Location"]


def test_expired_drafts_are_purged_with_their_uploads(signed_in_as, app, client):
    signed_in_as("demo-0024")
    start(client)
    start(client)
    with app.app_context():
        storage = file_storage()
        key = storage.put("uploads", TINY_PDF, "application/pdf")
        old, kept = db.session.scalars(select(Draft)).all()
        old.documents = {"x.y": {"delivery": "upload", "key": key}}
        old.expires_at = utcnow() - timedelta(minutes=1)
        old_id = old.id
        db.session.commit()
        assert dashboard.purge_expired_drafts(db.session, storage, utcnow()) == 1
        db.session.commit()
        assert [draft.id for draft in db.session.scalars(select(Draft))] == [kept.id]
        with pytest.raises(FileNotFoundError):
            storage.get(key)
        assert db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "drafts.purged")
        ).one().details == {"count": 1}
    assert client.get(f"/drafts/{old_id}").status_code == 404


def test_the_purge_is_scheduled_once_per_period_however_many_workers_ask(app):
    with app.app_context():
        now = utcnow()
        first = schedule_periodic(db.session, now)
        again = schedule_periodic(db.session, now)
        db.session.commit()
        assert [job.id for job in first] == [job.id for job in again]
        assert "drafts.purge" in [job.kind for job in first]
        assert db.session.scalar(select(func.count()).select_from(Job)) == len(first)


def test_suggestions_need_consent_and_come_from_the_records(signed_in_as, app, client):
    signed_in_as("demo-0001")  # a father whose baby was born this month
    page = client.get("/dashboard").get_data(as_text=True)
    assert "住民基本台帳" in page
    refused = client.post("/dashboard/suggestions", data={"csrf_token": token(page)})
    assert refused.status_code == 400
    with app.app_context():
        assert not db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "register.read")
        ).all()
    found = client.post(
        "/dashboard/suggestions", data={"csrf_token": token(page), "consent": "yes"}
    ).get_data(as_text=True)
    assert "子ども医療費" in found and "児童手当" in found
    with app.app_context():
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "register.read")
        ).one()
        assert entry.details["ground"] == "suggestions"
