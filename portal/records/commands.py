"""``flask demo``: fill the demo registers and list the personas a demo sign-in can use."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from portal.extensions import db
from portal.records import demo_data
from portal.records.openapi import openapi_document
from portal.records.services import seed_demo_registers

demo_cli = AppGroup("demo", help="The demo city's registers and personas.")


@demo_cli.command("seed")
def seed_command() -> None:
    """Insert or update the demo residents of 窓口市; safe to run again."""
    report = seed_demo_registers(db.session)
    db.session.commit()
    click.echo(
        f"Demo registers seeded: {report.rows['register_persons']} persons "
        f"({report.persons_created} new) in {report.rows['register_households']} households."
    )
    for table, count in report.rows.items():
        click.echo(f"  {table}: {count}")


@demo_cli.command("personas")
def personas_command() -> None:
    """List each persona (the demo sign-in's subject) with who they are."""
    width = max(len(person.persona) for person in demo_data.PERSONS)
    for person in demo_data.PERSONS:
        click.echo(f"{person.persona:<{width}}  {person.key}  {person.description}")


@demo_cli.command("openapi")
def openapi_command() -> None:
    """Print the register API's OpenAPI document (docs/register-api.openapi.json)."""
    click.echo(json.dumps(openapi_document(), indent=2, ensure_ascii=False))
