"""Loading files: schema errors at their place, and the catalogue the app starts with."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal.definitions.loader import definition_paths, load_catalogue, load_file, load_text
from portal.definitions.schema import Procedure
from portal.definitions.source import DefinitionError
from tests.definitions.support import BROKEN, VALID, procedure_yaml


def schema_issues(text: str) -> list[str]:
    with pytest.raises(DefinitionError) as error:
        load_text(text, "p.yaml")
    return [issue.format() for issue in error.value.issues]


def test_a_valid_file_loads_into_its_model() -> None:
    loaded = load_file(VALID / "procedures" / "nhi-loss.yaml", "nhi-loss.yaml")
    assert isinstance(loaded.model, Procedure)
    assert loaded.model.id == "nhi_loss"
    assert loaded.path == "nhi-loss.yaml"


def test_unknown_keys_are_refused_at_the_key() -> None:
    text = procedure_yaml("steps:\n  - id: one\n    fields: [a]\n    shwo_if: x\n")
    assert schema_issues(text) == ["p.yaml:11:5: steps[0].shwo_if: unknown key 'shwo_if'"]


def test_missing_keys_bad_ids_and_bad_values_are_refused_at_their_place() -> None:
    text = procedure_yaml(
        """\
        fields:
          Funeral:
            type: date_jp
            label: {ja: 日付, en: Date}
          cost:
            type: money
            label: {ja: 費用, en: Cost}
          count:
            type: number
            label: {ja: 数, en: Count}
            minimum: many
          host:
            label: {ja: 喪主, en: Host}
        steps:
          - id: one
        """
    )
    assert schema_issues(text) == [
        "p.yaml:9:3: fields.Funeral: 'Funeral' is not an id: ids are lower_snake_case "
        "([a-z][a-z0-9_]*)",
        "p.yaml:13:11: fields.cost: unknown type 'money'; expected one of 'text', 'textarea', "
        "'number', 'money_jpy', 'yes_no', 'choice', 'date_jp', 'person_name_ja', "
        "'postal_code_jp', 'address_jp', 'phone_jp', 'email', 'bank_account_jp', "
        "'relationship', 'my_number', 'file', 'declaration', 'content', 'group'",
        "p.yaml:18:14: fields.count.minimum: Input should be a valid integer",
        "p.yaml:19:3: fields.host: missing required key 'type'",
        "p.yaml:22:5: steps[0]: a step has exactly one of fields (non-empty), loop or exit",
    ]


def test_an_unknown_kind_and_a_non_mapping_are_refused() -> None:
    assert schema_issues("schema: madoguchi/1\nkind: recipe\n") == [
        "p.yaml:2:7: (file): unknown kind 'recipe'; expected one of 'procedure', "
        "'life_event', 'dictionary', 'departments'"
    ]
    assert schema_issues("- a\n- b\n") == ["p.yaml:1:1: a definition file is a mapping"]
    assert schema_issues("schema: madoguchi/2\nkind: dictionary\nfields: {}\n") == [
        "p.yaml:1:9: schema: Input should be 'madoguchi/1'"
    ]


def test_text_over_one_mebibyte_is_refused() -> None:
    assert schema_issues("a: " + "x" * (1024 * 1024)) == ["p.yaml:1:1: text is over 1 MiB"]


def test_definition_paths_finds_yaml_in_directories(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for name in ("b.yaml", "a.yml", "sub/c.yaml", "notes.txt"):
        (tmp_path / name).write_text("x: 1\n", encoding="utf-8")
    assert [path.relative_to(tmp_path).as_posix() for path in definition_paths([tmp_path])] == [
        "a.yml",
        "b.yaml",
        "sub/c.yaml",
    ]


def test_load_catalogue_gives_the_compiled_definitions() -> None:
    catalogue = load_catalogue(VALID)
    assert sorted(catalogue.procedures) == [
        "death_registration",
        "nhi_funeral_grant",
        "nhi_loss",
        "seal_ends",
    ]
    assert list(catalogue.life_events) == ["bereavement"]


def test_load_catalogue_refuses_to_start_with_a_broken_definition(tmp_path: Path) -> None:
    for path in [*VALID.rglob("*.yaml"), BROKEN / "bad_unknown_queue.yaml"]:
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(DefinitionError) as error:
        load_catalogue(tmp_path)
    assert [issue.message for issue in error.value.issues] == [
        "delivery.routing[0].queue: unknown queue 'insurance_pension.reveiw'"
    ]
    with pytest.raises(DefinitionError):
        load_catalogue(tmp_path / "missing")
