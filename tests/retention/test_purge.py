"""Retention: decided applications lose their personal data when their periods end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.backoffice.models import Application, CaseMessage, StatusChange, Submission
from portal.catalogue.models import DefinitionVersion
from portal.definitions.schema import Retention
from portal.documents.storage import file_storage
from portal.extensions import db
from portal.identity.models import User
from portal.jobs.models import Job
from portal.jobs.services import run_pending
from portal.retention.services import add_years, due_dates, purge

DECIDED = datetime(2026, 1, 10, 3, 0, tzinfo=UTC)
# Stored beside the shipped version: 3 years, 1 for refusals, files 30 days, register 10.
RETENTION_YAML = """
retention:
  years: 3
  rejected_years: 1
  attachments_days: 30
  register_extract_days: 10
"""
# Files and register kept as long as the rest.
WHOLE_RECORD_YAML = """
retention:
  years: 3
  rejected_years: 1
"""


def test_periods_count_from_the_decision():
    retention = Retention(years=3, rejected_years=1, attachments_days=30)
    approved = due_dates(retention, "approved", DECIDED)
    assert approved.anonymise == datetime(2029, 1, 10, 3, 0, tzinfo=UTC)
    assert approved.attachments == DECIDED + timedelta(days=30)
    assert approved.register_extract == approved.anonymise  # not set: kept as long as the rest
    refused = due_dates(retention, "withdrawn", DECIDED)
    assert refused.anonymise == datetime(2027, 1, 10, 3, 0, tzinfo=UTC)
    # A shorter period never outlives the whole record.
    short = due_dates(Retention(years=1, attachments_days=800), "approved", DECIDED)
    assert short.attachments == short.anonymise
    assert add_years(datetime(2028, 2, 29, tzinfo=UTC), 1) == datetime(2029, 2, 28, tzinfo=UTC)
    assert Retention().years == 5


@pytest.fixture
def desk(procedures_loaded):
    """Makes applications whose submissions pin a version with a known retention."""
    app = procedures_loaded
    with app.app_context():
        shipped = db.session.scalar(
            select(DefinitionVersion).where(
                DefinitionVersion.kind == "procedure",
                DefinitionVersion.definition_id == "nhi_loss_on_death",
            )
        )
        versions = [
            DefinitionVersion(
                kind="procedure",
                definition_id="nhi_loss_on_death",
                number=shipped.number + offset,
                status="draft",
                content_hash=str(offset) * 64,
                source_name=shipped.source_name,
                source_text=shipped.source_text.rstrip("\n") + "\n" + retention,
                created_by="test",
            )
            for offset, retention in ((1, RETENTION_YAML), (2, WHOLE_RECORD_YAML))
        ]
        resident = User(
            issuer="https://resident.test",
            subject="retention",
            role="resident",
            display_name="窓口 花子",
            preferred_language="ja",
        )
        db.session.add_all([*versions, resident])
        db.session.commit()
        return Desk(app, versions[0].id, resident.id, whole_record=versions[1].id)


class Desk:
    def __init__(self, app, version_id: int, applicant_id: int, *, whole_record: int) -> None:
        self.app = app
        self.version_id = version_id
        self.whole_record = whole_record
        self.applicant_id = applicant_id
        self.count = 0

    def file(
        self,
        *statuses: str,
        closed_at: datetime = DECIDED,
        shared: str | None = None,
        version: int | None = None,
    ):
        """An application with one submission per status, with files; returns its reference."""
        self.count += 1
        reference = f"MD-2026-{self.count:06d}"
        storage = file_storage()
        application = Application(
            reference=reference,
            draft_id=f"draft-{self.count}",
            life_event_id="bereavement",
            applicant_id=self.applicant_id,
            applicant_name="窓口 花子",
            language="ja",
            pins={},
            answers={"deceased_name": "窓口 太郎"},
            register={"status": "checked", "provenance": {"name": {"value": "窓口 太郎"}}},
            checked_against_register=True,
            representation={"person_key": "demo-0001"},
            receipt_key=storage.put("receipts", b"%PDF receipt", "application/pdf"),
            submitted_at=closed_at - timedelta(days=20),
        )
        for number, status in enumerate(statuses, start=1):
            documents = [{"id": "certificate", "key": storage.put("uploads", b"x", "image/png")}]
            if shared:
                documents.append({"id": "representation.power_of_attorney", "key": shared})
            submission = Submission(
                number=number,
                reference=f"{reference}-{number}",
                procedure_id="nhi_loss_on_death",
                procedure_version_id=version or self.version_id,
                department_id="insurance_pension",
                queue_id="insurance_pension",
                status=status,
                answers={"reason": "<script>x</script>"},
                documents=documents,
                received_at=closed_at - timedelta(days=20),
                decided_at=closed_at if status in ("approved", "rejected", "completed") else None,
                decision_key=storage.put("decisions", b"%PDF", "application/pdf")
                if status in ("approved", "rejected")
                else None,
                decision_reason="理由" if status in ("approved", "rejected") else None,
            )
            submission.messages.append(
                CaseMessage(
                    kind="reply",
                    body="返信です",
                    documents=[{"key": storage.put("uploads", b"y", "image/png")}],
                )
            )
            if status == "withdrawn":
                submission.changes.append(
                    StatusChange(
                        from_status="received",
                        to_status="withdrawn",
                        actor="applicant",
                        at=closed_at,
                    )
                )
            application.submissions.append(submission)
        db.session.add(application)
        db.session.commit()
        return reference

    def keys(self, reference: str) -> set[str]:
        application = _application(reference)
        keys = {application.receipt_key}
        for submission in application.submissions:
            keys |= {d["key"] for d in submission.documents if "key" in d}
            keys |= {submission.decision_key} if submission.decision_key else set()
            for message in submission.messages:
                keys |= {d["key"] for d in message.documents if "key" in d}
        return keys - {None}


def _application(reference: str) -> Application:
    db.session.expire_all()
    return db.session.scalar(select(Application).where(Application.reference == reference))


def _purge(app, now: datetime):
    with app.app_context():
        report = purge(db.session, now)
        db.session.commit()
    run_pending(app, limit=20)
    return report


def test_nothing_is_touched_before_its_period_or_while_undecided(desk):
    with desk.app.app_context():
        decided = desk.file("approved")
        undecided = desk.file("approved", "in_review")
        before = {ref: desk.keys(ref) for ref in (decided, undecided)}
    report = _purge(desk.app, DECIDED + timedelta(days=9))
    assert report.attachments_removed == report.submissions_anonymised == []
    report = _purge(desk.app, DECIDED + timedelta(days=365 * 40))
    assert undecided not in report.applications_anonymised
    with desk.app.app_context():
        application = _application(undecided)
        assert application.anonymised_at is None
        assert application.submissions[0].answers  # decided beside an open one: kept whole
        assert all(file_storage().exists(key) for key in before[undecided])


def test_files_go_after_attachments_days_and_the_rest_stays(desk):
    with desk.app.app_context():
        reference = desk.file("approved", "approved")
        keys = desk.keys(reference)
        receipt_and_decisions = {_application(reference).receipt_key} | {
            s.decision_key for s in _application(reference).submissions
        }
    report = _purge(desk.app, DECIDED + timedelta(days=30))
    assert report.attachments_removed == [f"{reference}-1", f"{reference}-2"]
    assert report.registers_removed == [reference]  # 10 days passed as well
    with desk.app.app_context():
        application = _application(reference)
        submission = application.submissions[0]
        assert submission.documents == [{"id": "certificate", "removed": True}]
        assert submission.messages[0].documents == [{"removed": True}]
        assert submission.messages[0].body == "返信です"
        assert submission.answers == {"reason": "<script>x</script>"}
        assert application.register == {} and application.register_removed_at is not None
        assert application.answers and application.applicant_name == "窓口 花子"
        storage = file_storage()
        for key in keys - receipt_and_decisions:
            assert not storage.exists(key), key
        for key in receipt_and_decisions:
            assert storage.exists(key), key
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "retention.applied")
        ).all()
        assert [entry.subject_id for entry in entries] == [reference]
        assert entries[0].details["attachments"] == [f"{reference}-1", f"{reference}-2"]
    # Once only: a second run finds nothing more to do.
    again = _purge(desk.app, DECIDED + timedelta(days=31))
    assert again.attachments_removed == again.registers_removed == []


def test_everything_personal_goes_after_the_period_and_statistics_stay(desk):
    with desk.app.app_context():
        reference = desk.file("approved", "rejected")
        keys = desk.keys(reference)
    # One year: the refusal is anonymised, the approval is not yet.
    report = _purge(desk.app, add_years(DECIDED, 1))
    assert report.submissions_anonymised == [f"{reference}-2"]
    assert report.applications_anonymised == []
    with desk.app.app_context():
        application = _application(reference)
        approved, rejected = application.submissions
        assert rejected.answers == {} and rejected.decision_reason is None
        assert rejected.decision_key is None and rejected.messages[0].body == ""
        assert approved.answers and approved.decision_key
        assert application.applicant_name == "窓口 花子"
    report = _purge(desk.app, add_years(DECIDED, 3))
    assert report.applications_anonymised == [reference]
    with desk.app.app_context():
        application = _application(reference)
        assert application.anonymised_at is not None
        assert application.answers == application.register == {}
        assert application.applicant_name == ""
        assert application.representation is None and application.receipt_key is None
        assert [s.status for s in application.submissions] == ["approved", "rejected"]
        assert all(s.decided_at is not None for s in application.submissions)
        assert not any(file_storage().exists(key) for key in keys)


def test_a_withdrawal_counts_from_the_day_it_was_withdrawn(desk):
    with desk.app.app_context():
        reference = desk.file("withdrawn", closed_at=DECIDED)
    assert _purge(desk.app, add_years(DECIDED, 1) - timedelta(days=1)).applications_anonymised == []
    assert _purge(desk.app, add_years(DECIDED, 1)).applications_anonymised == [reference]


def test_a_file_two_submissions_share_stays_until_neither_needs_it(desk):
    with desk.app.app_context():
        shared = file_storage().put("uploads", b"power of attorney", "application/pdf")
        desk.file("approved", "rejected", shared=shared, version=desk.whole_record)
    _purge(desk.app, add_years(DECIDED, 1))  # the refusal lets go of it; the approval keeps it
    with desk.app.app_context():
        assert file_storage().exists(shared)
    _purge(desk.app, add_years(DECIDED, 3))
    with desk.app.app_context():
        assert not file_storage().exists(shared)


def test_the_command_can_say_what_it_would_do_and_then_do_it(desk, monkeypatch):
    with desk.app.app_context():
        reference = desk.file("approved")
    monkeypatch.setattr("portal.retention.commands.utcnow", lambda: add_years(DECIDED, 3))
    runner = desk.app.test_cli_runner()
    dry = runner.invoke(args=["retention", "purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Would delete" in dry.output and "1 applications anonymised" in dry.output
    with desk.app.app_context():
        assert _application(reference).anonymised_at is None
        assert db.session.scalar(select(Job).where(Job.kind == "files.delete")) is None
    done = runner.invoke(args=["retention", "purge"])
    assert done.exit_code == 0, done.output
    assert "Deleted" in done.output and "1 applications anonymised" in done.output
    with desk.app.app_context():
        assert _application(reference).anonymised_at is not None


def test_an_unreadable_version_is_skipped_and_reported(desk):
    with desk.app.app_context():
        reference = desk.file("approved")
        version = db.session.get(DefinitionVersion, desk.version_id)
        db.session.execute(
            DefinitionVersion.__table__.update()
            .where(DefinitionVersion.id == version.id)
            .values(source_text="kind: [")
        )
        db.session.commit()
    runner = desk.app.test_cli_runner()
    with desk.app.app_context():
        report = purge(db.session, add_years(DECIDED, 10))
        db.session.rollback()
    assert report.skipped == [reference] and report.applications_anonymised == []
    result = runner.invoke(args=["retention", "purge"])
    assert result.exit_code == 1 and reference in result.output
