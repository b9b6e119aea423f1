"""``flask procedures``: lint, schema, load and list as an operator runs them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.catalogue.models import DefinitionVersion
from portal.catalogue.services import published_catalogue
from portal.extensions import db
from tests.catalogue.conftest import BUNDLE_KEYS, replace_in
from tests.definitions.support import BASE_FILES, BROKEN

ROOT = Path(__file__).resolve().parents[2]
PROCEDURES = ROOT / "procedures"
COMMITTED_SCHEMA = ROOT / "docs" / "madoguchi-1.schema.json"


def _run(app, *args: str):
    return app.test_cli_runner().invoke(args=["procedures", *args])


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(
    ("fixture", "issue"),
    [
        ("bad_unknown_field.yaml", "15:30: steps[0].fields[1]: unknown field 'funeral_dat'"),
        (
            "bad_unknown_queue.yaml",
            "15:14: delivery.routing[0].queue: unknown queue 'insurance_pension.reveiw'",
        ),
        ("bad_missing_english.yaml", "12:5: fields.funeral_date.label: missing required key 'en'"),
    ],
)
def test_lint_prints_each_issue_at_its_place_and_fails(app, fixture, issue):
    broken = BROKEN / fixture
    result = _run(app, "lint", *map(str, BASE_FILES), str(broken))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [f"{broken}:{issue}", "1 problem found."]


def test_lint_counts_every_problem(app):
    broken = BROKEN / "bad_derive_cycle.yaml"
    result = _run(app, "lint", *map(str, BASE_FILES), str(broken))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert [line.split(": ")[0] for line in lines[:2]] == [f"{broken}:18:5", f"{broken}:19:5"]
    assert lines[2] == "2 problems found."


def test_lint_checks_the_shipped_procedures_by_default(app):
    result = _run(app, "lint")
    assert result.exit_code == 0, result.output
    files = len(list(PROCEDURES.rglob("*.yaml")))
    match = re.fullmatch(
        rf"{files} definition files checked, no problems found, (\d+) scenarios passed\.\n",
        result.stdout,
    )
    assert match, result.stdout
    assert int(match.group(1)) > 0


def test_lint_refuses_a_path_that_does_not_exist(app, tmp_path):
    result = _run(app, "lint", str(tmp_path / "nowhere.yaml"))
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_schema_prints_the_json_schema(app):
    result = _run(app, "schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert "$defs" in schema
    assert {"Procedure", "LifeEvent", "Dictionary", "Departments"} <= set(schema["$defs"])


def test_schema_writes_a_file_and_the_committed_copy_is_current(app, tmp_path):
    output = tmp_path / "schema.json"
    result = _run(app, "schema", "--output", str(output))
    assert result.exit_code == 0
    assert output.read_text(encoding="utf-8") == _run(app, "schema").stdout
    assert COMMITTED_SCHEMA.read_text(encoding="utf-8") == output.read_text(encoding="utf-8"), (
        "docs/madoguchi-1.schema.json is stale: run "
        "`flask procedures schema --output docs/madoguchi-1.schema.json`"
    )


def test_load_twice_stores_and_audits_only_the_first_time(app, bundle):
    first = _run(app, "load", str(bundle), "--actor", "admin:sato")
    second = _run(app, "load", str(bundle), "--actor", "admin:sato")

    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines()[-1] == "7 new versions, 0 unchanged."
    assert "stored procedure:seal_ends v1" in first.stdout.splitlines()
    assert second.exit_code == 0, second.output
    assert second.stdout == "0 new versions, 7 unchanged.\n"
    with app.app_context():
        assert _count(DefinitionVersion) == len(BUNDLE_KEYS)
        actors = db.session.scalars(select(AuditEntry.actor)).all()
        assert actors == ["admin:sato"] * len(BUNDLE_KEYS)


def test_load_names_the_command_line_user_when_no_actor_is_given(app, bundle):
    assert _run(app, "load", str(bundle)).exit_code == 0
    with app.app_context():
        assert {actor.split(":")[0] for actor in db.session.scalars(select(AuditEntry.actor))} == {
            "cli"
        }


def test_load_with_a_lint_issue_stores_nothing_and_fails(app, bundle):
    replace_in(bundle / "procedures" / "nhi-loss.yaml", "department: insurance_pension", "")
    result = _run(app, "load", str(bundle))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{bundle / 'procedures' / 'nhi-loss.yaml'}:1:1: (file): missing required key 'department'",
        "Nothing stored: 1 problem found.",
    ]
    with app.app_context():
        assert _count(DefinitionVersion) == 0
        assert _count(AuditEntry) == 0


def test_load_stores_the_shipped_procedures_by_default_and_they_compile_back(app):
    result = _run(app, "load")
    assert result.exit_code == 0, result.output
    files = len(list(PROCEDURES.rglob("*.yaml")))
    assert result.stdout.splitlines()[-1] == f"{files} new versions, 0 unchanged."
    with app.app_context():
        catalogue, pins = published_catalogue(db.session)
    assert len(pins) == files
    assert {"bereavement", "childcare", "moving"} <= set(catalogue.life_events)


def test_list_shows_the_newest_version_of_each_definition(app, bundle):
    assert _run(app, "list").stdout == "No definitions stored yet; run `flask procedures load`.\n"
    _run(app, "load", str(bundle))
    replace_in(bundle / "procedures" / "seal-ends.yaml", "en: Seal registration ends}", "en: X}")
    _run(app, "load", str(bundle))

    result = _run(app, "list")

    assert result.exit_code == 0
    rows = [line.split() for line in result.stdout.splitlines()]
    assert sorted(row[0] for row in rows) == sorted(BUNDLE_KEYS)
    assert ["procedure:seal_ends", "v2", "published"] in rows
    assert ["procedure:nhi_loss", "v1", "published"] in rows


def test_list_says_which_version_is_published_when_the_newest_is_a_draft(app, bundle):
    _run(app, "load", str(bundle))
    with app.app_context():
        published = db.session.scalars(
            select(DefinitionVersion).where(DefinitionVersion.definition_id == "seal_ends")
        ).one()
        db.session.add(
            DefinitionVersion(
                kind="procedure",
                definition_id="seal_ends",
                number=2,
                status="draft",
                content_hash="0" * 64,
                source_name=published.source_name,
                source_text=published.source_text,
                created_by="admin:ito",
            )
        )
        db.session.commit()

    rows = [line.split() for line in _run(app, "list").stdout.splitlines()]

    assert ["procedure:seal_ends", "v2", "draft", "(published:", "v1)"] in rows
