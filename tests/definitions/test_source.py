"""Safe YAML reading with positions: what is refused, and where values stand."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal.definitions.source import (
    MAX_FILE_BYTES,
    DefinitionError,
    Position,
    describe_path,
    parse_yaml,
    parse_yaml_text,
)


def refused(text: str) -> list[str]:
    with pytest.raises(DefinitionError) as error:
        parse_yaml_text(text, "f.yaml")
    return [issue.format() for issue in error.value.issues]


def test_aliases_and_anchors_are_refused() -> None:
    bomb = 'a: &a ["x", "x"]\nb: &b [*a, *a]\nc: [*b, *b]\n'
    assert refused(bomb) == ["f.yaml:1:4: YAML anchors (&name) are not allowed"]
    assert refused("a: 1\nb: *a\n") == ["f.yaml:2:4: YAML aliases (*name) are not allowed"]


def test_merge_keys_duplicates_and_non_text_keys_are_refused() -> None:
    assert refused("a:\n  <<: {b: 1}\n") == ["f.yaml:2:3: a: keys must be text; quote this key"]
    assert refused("a: 1\nb: 2\na: 3\n") == ["f.yaml:3:1: a: key given twice"]
    assert refused("fields:\n  yes: 1\n  2: x\n") == [
        "f.yaml:2:3: fields: keys must be text; quote this key",
        "f.yaml:3:3: fields: keys must be text; quote this key",
    ]


def test_invalid_yaml_and_empty_files_are_positioned() -> None:
    assert refused("a: [1, 2\nb: 3\n") == [
        "f.yaml:2:2: invalid YAML: expected ',' or ']', but got ':'"
    ]
    assert refused("") == ["f.yaml:1:1: file is empty"]
    assert refused("a: 1\n---\nb: 2\n")[0].startswith("f.yaml:2:1: invalid YAML")


def test_files_over_one_mebibyte_are_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * MAX_FILE_BYTES + "\n", encoding="utf-8")
    with pytest.raises(DefinitionError) as error:
        parse_yaml(big)
    assert "the limit is 1048576" in error.value.issues[0].message


def test_non_utf8_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "sjis.yaml"
    path.write_bytes("a: 日本".encode("shift_jis"))
    with pytest.raises(DefinitionError) as error:
        parse_yaml(path, "sjis.yaml")
    assert error.value.issues[0].format().startswith("sjis.yaml:1:1: file is not UTF-8")


def test_keys_and_values_have_positions() -> None:
    parsed = parse_yaml_text("a:\n  list: [p, q]\n  map:\n    - id: x\n", "f.yaml")
    assert parsed.data == {"a": {"list": ["p", "q"], "map": [{"id": "x"}]}}
    positions = parsed.source_map
    assert positions.key(("a", "list")) == Position(2, 3)
    assert positions.value(("a", "list", 1)) == Position(2, 13)
    assert positions.value(("a", "map", 0, "id")) == Position(4, 11)
    # A path that does not exist falls back to its nearest parent.
    assert positions.value(("a", "map", 0, "missing")) == Position(4, 7)


EXPRESSIONS = """\
a:
  plain: x == 1 and yy
  quoted: "x == 1 and yy"
  single: 'x == ''1'' and yy'
  block: |
    x == 1
      and yy
  folded: >
    x == 1
    and yy
  escaped: "x == \\u0031 and yy"
"""


@pytest.mark.parametrize(
    ("key", "line", "column", "expected"),
    [
        ("plain", 1, 12, Position(2, 21)),
        ("quoted", 1, 12, Position(3, 23)),
        ("single", 1, 15, Position(4, 28)),
        ("block", 2, 7, Position(7, 11)),
        ("folded", 1, 12, Position(10, 9)),
        # Escapes make the raw text differ: fall back to the start of the value.
        ("escaped", 1, 12, Position(11, 12)),
    ],
)
def test_positions_inside_expressions(key: str, line: int, column: int, expected: Position) -> None:
    positions = parse_yaml_text(EXPRESSIONS, "f.yaml").source_map
    assert positions.expression(("a", key), line, column) == expected


def test_paths_are_described_as_people_read_them() -> None:
    assert describe_path(("steps", 2, "show_if")) == "steps[2].show_if"
    assert describe_path(()) == "(file)"
