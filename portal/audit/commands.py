"""``flask audit``: commands for the audit log."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.audit.services import verify_chain
from portal.extensions import db

audit_cli = AppGroup("audit", help="Inspect the audit log.")


@audit_cli.command("verify")
def verify_command() -> None:
    """Check the hash chain and name the first broken entry."""
    report = verify_chain(db.session)
    if report.intact:
        click.echo(f"Audit log intact: {report.checked} entries checked.")
        return
    click.echo(
        f"Audit log broken at entry {report.broken_entry_id}: {report.reason} "
        f"({report.checked} entries before it are intact).",
        err=True,
    )
    raise SystemExit(1)
