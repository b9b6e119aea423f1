"""``flask procedures``: lint the definition files, export their schema, load and list versions."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import click
from flask.cli import AppGroup

from portal import PROJECT_ROOT
from portal.catalogue.services import (
    check_sources,
    definition_summaries,
    load_directory,
    pin_key,
)
from portal.definitions.schema import json_schema
from portal.extensions import db

DEFAULT_DIRECTORY = PROJECT_ROOT / "procedures"

procedures_cli = AppGroup("procedures", help="Check and load the procedure definitions.")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _default_actor() -> str:
    """Who the audit log names for a load from the command line: `cli:<login>`."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        return "cli"


@procedures_cli.command("lint")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def lint_command(paths: tuple[Path, ...]) -> None:
    """Check definition files and folders (default: procedures/), scenarios included."""
    checked = check_sources(paths or (DEFAULT_DIRECTORY,))
    for issue in checked.issues:
        click.echo(issue.format())
    if checked.issues:
        click.echo(f"{_plural(len(checked.issues), 'problem')} found.")
        raise SystemExit(1)
    files = _plural(len(checked.files), "definition file")
    scenarios = _plural(checked.scenario_count, "scenario")
    click.echo(f"{files} checked, no problems found, {scenarios} passed.")


@procedures_cli.command("schema")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file instead of standard output.",
)
def schema_command(output: Path | None) -> None:
    """Print the JSON Schema of definition files, for editors that validate YAML."""
    text = json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"Wrote {output}.")


@procedures_cli.command("load")
@click.argument(
    "directory",
    required=False,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
@click.option("--actor", help="Who the audit log names (default: cli:<login name>).")
def load_command(directory: Path | None, actor: str | None) -> None:
    """Store a new version of each definition that changed (default folder: procedures/)."""
    report = load_directory(
        db.session, directory or DEFAULT_DIRECTORY, actor=actor or _default_actor()
    )
    if report.issues:
        for issue in report.issues:
            click.echo(issue.format(), err=True)
        click.echo(f"Nothing stored: {_plural(len(report.issues), 'problem')} found.", err=True)
        raise SystemExit(1)
    db.session.commit()
    for version in report.created:
        click.echo(f"stored {pin_key(version.kind, version.definition_id)} v{version.number}")
    click.echo(f"{_plural(len(report.created), 'new version')}, {len(report.unchanged)} unchanged.")
    if report.not_in_directory:
        click.echo(
            "Stored but not in this folder (still published): " + ", ".join(report.not_in_directory)
        )


@procedures_cli.command("list")
def list_command() -> None:
    """Show every stored definition with its newest version number and status."""
    summaries = definition_summaries(db.session)
    if not summaries:
        click.echo("No definitions stored yet; run `flask procedures load`.")
        return
    width = max(len(summary.key) for summary in summaries)
    for summary in summaries:
        line = f"{summary.key:<{width}}  v{summary.newest_number}  {summary.newest_status}"
        if summary.newest_status != "published":
            shown = summary.published_number
            line += f"  (published: v{shown})" if shown is not None else "  (none published)"
        click.echo(line)
