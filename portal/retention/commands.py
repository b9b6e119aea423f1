"""``flask retention``: apply the retention periods, on a schedule or by hand."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from portal.database import utcnow
from portal.documents.storage import file_storage
from portal.extensions import db
from portal.resident.dashboard import purge_expired_drafts
from portal.resident.models import Draft
from portal.retention.services import purge

retention_cli = AppGroup("retention", help="Delete personal data whose period has ended.")


@retention_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="Say what would be deleted; change nothing.")
def purge_command(dry_run: bool) -> None:
    """Delete expired drafts and apply each procedure's retention to decided applications.

    The workers also run this daily (`retention.purge`); running it by hand is safe at
    any time, since each deletion happens once.
    """
    now = utcnow()
    if dry_run:
        drafts = (
            db.session.scalar(
                select(func.count()).select_from(Draft).where(Draft.expires_at <= now)
            )
            or 0
        )
    else:
        drafts = purge_expired_drafts(db.session, file_storage(), now)
    report = purge(db.session, now, actor="cli")
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    verb = "Would delete" if dry_run else "Deleted"
    click.echo(f"{verb}: {drafts} expired drafts.")
    click.echo(
        f"{verb}: attachments of {len(report.attachments_removed)} submissions, "
        f"register extracts of {len(report.registers_removed)} applications, "
        f"{len(report.submissions_anonymised)} submissions and "
        f"{len(report.applications_anonymised)} applications anonymised "
        f"({report.files_to_delete} files)."
    )
    if report.skipped:
        click.echo(
            f"Skipped {len(report.skipped)} applications whose procedure version cannot be "
            f"read: {', '.join(report.skipped)}",
            err=True,
        )
        raise SystemExit(1)
