"""``flask api``: give departments' systems their credentials and webhooks, and the API's document.

Secrets are printed once, when they are made; the portal keeps only what it needs to
check or to re-derive them, so a lost secret is replaced, never looked up.
"""

from __future__ import annotations

import getpass
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from portal import PROJECT_ROOT
from portal.api import services, webhooks
from portal.api.models import SCOPES, WEBHOOK_EVENTS
from portal.api.openapi import openapi_text
from portal.database import utcnow
from portal.extensions import db

DEFAULT_OPENAPI_PATH = PROJECT_ROOT / "docs" / "backoffice-api.openapi.json"

api_cli = AppGroup("api", help="Clients and webhooks of the back-office API.")


def _cli_actor() -> str:
    """Who the audit log names for a change made from the command line: `cli:<login>`."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        return "cli"


@api_cli.command("create-client")
@click.option("--name", required=True, help="Whose system this is, e.g. '国保年金課 基幹系'.")
@click.option(
    "--department",
    "departments",
    multiple=True,
    required=True,
    help="A department code whose submissions it sees; repeat for more.",
)
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(SCOPES),
    help="What it may do; repeat for more.",
)
def create_client_command(name: str, departments: tuple[str, ...], scopes: tuple[str, ...]) -> None:
    """Create a client and print its bearer token, once."""
    try:
        issued = services.issue_client(
            db.session,
            name=name,
            departments=departments,
            scopes=scopes,
            actor=_cli_actor(),
            now=utcnow(),
        )
    except services.ClientRefused as refused:
        raise click.ClickException(str(refused)) from None
    db.session.commit()
    client = issued.client
    click.echo(f"Created API client {client.client_id} ({client.name}).")
    click.echo("Its bearer token, shown only now (send it as 'Authorization: Bearer <token>'):")
    click.echo(issued.token)


@api_cli.command("revoke-client")
@click.argument("client_id")
def revoke_client_command(client_id: str) -> None:
    """Refuse a client's token from now on; its webhooks stop too."""
    try:
        client = services.withdraw_client(db.session, client_id, actor=_cli_actor(), now=utcnow())
    except LookupError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Revoked API client {client.client_id} ({client.name}).")


@api_cli.command("add-webhook")
@click.argument("client_id")
@click.option(
    "--url",
    required=True,
    help="Where events are POSTed: https (http only to 127.0.0.1, outside production).",
)
@click.option(
    "--event",
    "events",
    multiple=True,
    help=(
        f"An event to send: {', '.join(WEBHOOK_EVENTS)}, or "
        f"{webhooks.PRIVATE_SERVICE_EVENT_PREFIX}<service id> for a private service's system; "
        "repeat for more (default: every submission event)."
    ),
)
def add_webhook_command(client_id: str, url: str, events: tuple[str, ...]) -> None:
    """Send a client's system the events of its departments, or a private service's events,
    and print the signing secret once."""
    config = current_app.config
    try:
        created = services.add_webhook(
            db.session,
            client_id,
            url=url,
            events=events,
            production=config["PORTAL_ENV"] == "production",
            secret_key=config["SECRET_KEY"],
            actor=_cli_actor(),
            now=utcnow(),
        )
    except (LookupError, webhooks.WebhookRefused) as refused:
        raise click.ClickException(str(refused)) from None
    db.session.commit()
    endpoint = created.endpoint
    click.echo(f"Webhook {endpoint.id} sends {', '.join(endpoint.events)} to {endpoint.url}.")
    click.echo("Its signing secret, shown only now (check Madoguchi-Signature with it):")
    click.echo(created.secret)


@api_cli.command("openapi")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=DEFAULT_OPENAPI_PATH,
    show_default="docs/backoffice-api.openapi.json",
    help="Where to write the document; '-' prints it.",
)
def openapi_command(output: Path) -> None:
    """Write the API's OpenAPI document, the one served at /api/v1/openapi.json."""
    text = openapi_text()
    if str(output) == "-":
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {output}.")
