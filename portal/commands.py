"""``flask portal``: operator commands for the portal as a whole."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.engine import make_url

from portal.health import run_readiness_checks

portal_cli = AppGroup("portal", help="Operate the Madoguchi portal.")


@portal_cli.command("check")
def check_command() -> None:
    """Show the settings in use (no secrets) and run the readiness checks."""
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    click.echo(f"environment: {current_app.config['PORTAL_ENV']}")
    click.echo(f"database:    {url.render_as_string(hide_password=True)}")
    click.echo(f"time zone:   {current_app.config['PORTAL_TIMEZONE']}")
    failed = False
    for name, result in run_readiness_checks().items():
        click.echo(f"{'ok  ' if result.ok else 'FAIL'} {name}: {result.detail}")
        failed = failed or not result.ok
    if failed:
        raise SystemExit(1)
