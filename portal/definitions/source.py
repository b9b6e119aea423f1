"""Read a definition file's YAML safely, remembering where every key and value stands.

Admins fix what the linter reports by going to a line and column, so each value keeps
its position in the file. Only plain data is accepted: no aliases or anchors (they can
blow up memory and hide what a file says), no duplicate keys, no keys that YAML would
read as something other than text, no file over 1 MiB.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from portal.definitions.schema import Departments, Dictionary, LifeEvent, Procedure

MAX_FILE_BYTES = 1024 * 1024
STRING_TAG = "tag:yaml.org,2002:str"

PathItem = str | int
YamlPath = tuple[PathItem, ...]
Definition = Procedure | LifeEvent | Dictionary | Departments


@dataclass(frozen=True)
class LintIssue:
    """A problem in a definition file, at a 1-based line and column."""

    path: str
    line: int
    column: int
    message: str

    def format(self) -> str:
        """Return the issue as `file:line:column: message`, the form editors jump to."""
        return f"{self.path}:{self.line}:{self.column}: {self.message}"

    def __str__(self) -> str:
        return self.format()


class DefinitionError(Exception):
    """Definitions that cannot be loaded, with every issue found."""

    def __init__(self, issues: list[LintIssue]) -> None:
        super().__init__("\n".join(issue.format() for issue in issues))
        self.issues = issues


@dataclass(frozen=True)
class Position:
    """A 1-based line and column in a file."""

    line: int
    column: int


def describe_path(path: YamlPath) -> str:
    """Write a path inside a file the way a person reads it: `steps[2].show_if`."""
    text = ""
    for item in path:
        if isinstance(item, int):
            text += f"[{item}]"
        else:
            text += f".{item}" if text else item
    return text or "(file)"


class _RefusedYaml(Exception):
    """A YAML construct this loader refuses, with where it is."""

    def __init__(self, message: str, mark: yaml.Mark) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


class _SafeComposer(yaml.SafeLoader):
    """SafeLoader that refuses aliases and anchors while composing the node tree."""

    def compose_node(self, parent: Node | None, index: object) -> Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise _RefusedYaml("YAML aliases (*name) are not allowed", event.start_mark)
        if getattr(event, "anchor", None) is not None:
            raise _RefusedYaml("YAML anchors (&name) are not allowed", event.start_mark)
        return super().compose_node(parent, index)


class SourceMap:
    """The positions of the keys and values of one YAML document, by path."""

    def __init__(self, text: str, root: Node) -> None:
        self.text = text
        self._values: dict[YamlPath, Node] = {}
        self._keys: dict[YamlPath, Node] = {}
        self._index(root, ())

    def _index(self, node: Node, path: YamlPath) -> None:
        self._values[path] = node
        if isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                self._keys[(*path, key_node.value)] = key_node
                self._index(value_node, (*path, key_node.value))
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                self._index(item, (*path, index))

    def __contains__(self, path: YamlPath) -> bool:
        return path in self._values

    def value(self, path: YamlPath) -> Position:
        """Where the value at `path` starts, or its nearest existing parent's."""
        while path not in self._values and path:
            path = path[:-1]
        return _position(self._values[path].start_mark)

    def key(self, path: YamlPath) -> Position:
        """Where the key of a mapping entry stands; the value's position for list items."""
        if path in self._keys:
            return _position(self._keys[path].start_mark)
        return self.value(path)

    def locate(self, loc: tuple[PathItem, ...]) -> tuple[YamlPath, bool]:
        """Follow a pydantic error location into the file, skipping union tags.

        Returns the deepest existing path and whether the error is about a key
        (`[key]` entries that pydantic uses for invalid dictionary keys).
        """
        path: YamlPath = ()
        about_key = False
        for item in loc:
            if item == "[key]":
                about_key = True
                break
            if (*path, item) in self._values:
                path = (*path, item)
        return path, about_key

    def expression(self, path: YamlPath, line: int, column: int) -> Position:
        """Where the 1-based `line`/`column` of the expression at `path` stands in the file."""
        node = self._values.get(path)
        if not isinstance(node, ScalarNode):
            return self.value(path)
        value_lines = node.value.split("\n")
        line = max(1, min(line, len(value_lines)))
        offset = sum(len(text) + 1 for text in value_lines[: line - 1]) + max(0, column - 1)
        raw_index = _align(node.value, self.text, node, min(offset, len(node.value)))
        if raw_index is None:
            return _position(node.start_mark)
        before = self.text[node.start_mark.index : raw_index]
        newlines = before.count("\n")
        if newlines == 0:
            return Position(node.start_mark.line + 1, node.start_mark.column + 1 + len(before))
        return Position(node.start_mark.line + 1 + newlines, len(before) - before.rfind("\n"))


def _position(mark: yaml.Mark) -> Position:
    return Position(mark.line + 1, mark.column + 1)


def _align(value: str, text: str, node: ScalarNode, offset: int) -> int | None:
    """Find the index in the file of the value's character at `offset`.

    Walks the raw text of the scalar and matches the value's characters in order; a
    run of whitespace in the file (block indentation, a folded line end) stands for
    whitespace in the value, and quotes and block headers are stepped over. Returns
    None when the raw text holds escape sequences, so callers fall back to the start
    of the value.
    """
    start, end = node.start_mark.index, node.end_mark.index
    raw_index = start
    if node.style in ("|", ">"):
        raw_index = text.find("\n", start, end) + 1
        if raw_index == 0:
            return None
    elif node.style in ("'", '"'):
        if node.style == '"' and "\\" in text[start:end]:
            return None
        raw_index = start + 1
    for value_index, char in enumerate(value):
        wanted_space = char.isspace()
        while raw_index < end and (
            not text[raw_index].isspace() if wanted_space else text[raw_index] != char
        ):
            raw_index += 1
        if raw_index >= end:
            return None
        if value_index == offset:
            return raw_index
        raw_index += 1
        next_is_space = value_index + 1 < len(value) and value[value_index + 1].isspace()
        if wanted_space and not next_is_space:
            while raw_index < end and text[raw_index].isspace():
                raw_index += 1
    return raw_index if offset >= len(value) else None


def _check_keys(node: Node, path: YamlPath, source: str) -> Iterator[LintIssue]:
    """Refuse keys that are not text and keys given twice in one mapping."""
    if isinstance(node, MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            position = _position(key_node.start_mark)
            if not isinstance(key_node, ScalarNode) or key_node.tag != STRING_TAG:
                yield LintIssue(
                    source,
                    position.line,
                    position.column,
                    f"{describe_path(path)}: keys must be text; quote this key",
                )
                continue
            if key_node.value in seen:
                yield LintIssue(
                    source,
                    position.line,
                    position.column,
                    f"{describe_path((*path, key_node.value))}: key given twice",
                )
            seen.add(key_node.value)
            yield from _check_keys(value_node, (*path, key_node.value), source)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            yield from _check_keys(item, (*path, index), source)


@dataclass(frozen=True)
class ParsedYaml:
    """The plain data of a YAML file and the positions of everything in it."""

    data: object
    source_map: SourceMap


def parse_yaml(path: Path, display_path: str | None = None) -> ParsedYaml:
    """Read one YAML file safely; raise DefinitionError with positions when refused."""
    shown = display_path if display_path is not None else str(path)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise DefinitionError(
            [LintIssue(shown, 1, 1, f"file is {size} bytes; the limit is {MAX_FILE_BYTES}")]
        )
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise DefinitionError([LintIssue(shown, 1, 1, f"file is not UTF-8: {error}")]) from None
    return parse_yaml_text(text, shown)


def parse_yaml_text(text: str, shown: str) -> ParsedYaml:
    """Parse YAML text as `parse_yaml` does; `shown` names it in issues."""
    loader = _SafeComposer(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise DefinitionError([LintIssue(shown, 1, 1, "file is empty")])
        issues = list(_check_keys(root, (), shown))
        if issues:
            raise DefinitionError(issues)
        data = loader.construct_document(root)
    except _RefusedYaml as refused:
        position = _position(refused.mark)
        raise DefinitionError(
            [LintIssue(shown, position.line, position.column, refused.message)]
        ) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        position = _position(mark) if mark is not None else Position(1, 1)
        problem = error.problem or error.context or "invalid YAML"
        raise DefinitionError(
            [LintIssue(shown, position.line, position.column, f"invalid YAML: {problem}")]
        ) from None
    except yaml.YAMLError as error:
        raise DefinitionError([LintIssue(shown, 1, 1, f"invalid YAML: {error}")]) from None
    finally:
        loader.dispose()
    return ParsedYaml(data, SourceMap(text, root))


@dataclass(frozen=True)
class LoadedFile:
    """One validated definition file and the positions of everything in it."""

    path: str
    model: Definition
    source_map: SourceMap

    def issue(self, path: YamlPath, message: str, *, at_key: bool = False) -> LintIssue:
        """Make an issue about the value (or the key) at `path` in this file."""
        position = self.source_map.key(path) if at_key else self.source_map.value(path)
        return LintIssue(self.path, position.line, position.column, message)

    def expression_issue(self, path: YamlPath, line: int, column: int, message: str) -> LintIssue:
        """Make an issue at a line and column inside the expression at `path`."""
        position = self.source_map.expression(path, line, column)
        return LintIssue(self.path, position.line, position.column, message)
