"""Load definition files: safe YAML, then the strict schema, with every error positioned.

`load_catalogue` is what the application calls at start-up: it refuses to start with
definitions that the linter would refuse, so a broken file never reaches a resident.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from portal.definitions.catalogue import Catalogue
from portal.definitions.compiler import compile_catalogue
from portal.definitions.schema import DEFINITION_FILE
from portal.definitions.source import (
    MAX_FILE_BYTES,
    DefinitionError,
    LintIssue,
    LoadedFile,
    ParsedYaml,
    SourceMap,
    YamlPath,
    describe_path,
    parse_yaml,
    parse_yaml_text,
)

YAML_SUFFIXES = (".yaml", ".yml")


def _describe_error(error: ErrorDetails, path: YamlPath) -> tuple[str, bool]:
    """Turn one pydantic error into a message for admins; say if it is about a key."""
    kind = error["type"]
    context = error.get("ctx") or {}
    loc = error["loc"]
    if kind == "extra_forbidden":
        return f"unknown key {loc[-1]!r}", True
    if kind == "missing":
        return f"missing required key {loc[-1]!r}", True
    if kind == "union_tag_not_found":
        return f"missing required key {context['discriminator']}", True
    if kind == "union_tag_invalid":
        return (
            f"unknown {context['discriminator'].strip(chr(39))} {context['tag']!r}; "
            f"expected one of {context['expected_tags']}"
        ), False
    if kind == "value_error":
        return str(context.get("error", error["msg"])), "[key]" in loc
    return error["msg"], False


def _schema_issues(error: ValidationError, shown: str, source_map: SourceMap) -> list[LintIssue]:
    """Translate pydantic errors into positioned issues, one per place in the file."""
    issues: list[LintIssue] = []
    seen: set[tuple[object, ...]] = set()
    for detail in error.errors():
        path, about_key = source_map.locate(detail["loc"])
        message, at_key = _describe_error(detail, path)
        # Union members each report the same bad value; the first says enough. Missing
        # keys all resolve to their parent, so they are told apart by name.
        key = (*path, detail["loc"][-1]) if detail["type"] == "missing" else path
        if key in seen:
            continue
        seen.add(key)
        if detail["type"] == "union_tag_invalid":
            position = (
                source_map.value((*path, "type"))
                if (*path, "type") in source_map
                else (source_map.value((*path, "kind")))
            )
        elif at_key or about_key:
            position = source_map.key(path)
        else:
            position = source_map.value(path)
        where = describe_path(path)
        issues.append(LintIssue(shown, position.line, position.column, f"{where}: {message}"))
    return issues


def load_file(path: Path, display_path: str | None = None) -> LoadedFile:
    """Read and validate one definition file; raise DefinitionError with positions."""
    shown = display_path if display_path is not None else str(path)
    return _validate(parse_yaml(path, shown), shown)


def load_text(text: str, display_path: str) -> LoadedFile:
    """Validate definition YAML held in memory (tests, benchmarks, the admin editor)."""
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise DefinitionError([LintIssue(display_path, 1, 1, "text is over 1 MiB")])
    return _validate(parse_yaml_text(text, display_path), display_path)


def _validate(parsed: ParsedYaml, shown: str) -> LoadedFile:
    if not isinstance(parsed.data, dict):
        raise DefinitionError([LintIssue(shown, 1, 1, "a definition file is a mapping")])
    try:
        model = DEFINITION_FILE.validate_python(parsed.data)
    except ValidationError as error:
        raise DefinitionError(_schema_issues(error, shown, parsed.source_map)) from None
    return LoadedFile(shown, model, parsed.source_map)


def definition_paths(paths: Iterable[Path]) -> list[Path]:
    """List the YAML files named, looking inside directories, in a stable order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(child for child in path.rglob("*") if child.suffix in YAML_SUFFIXES)
            )
        else:
            found.append(path)
    return found


def load_files(paths: Iterable[Path]) -> tuple[list[LoadedFile], list[LintIssue]]:
    """Load every definition file named (or inside the directories named)."""
    files: list[LoadedFile] = []
    issues: list[LintIssue] = []
    for path in definition_paths(paths):
        try:
            files.append(load_file(path))
        except DefinitionError as error:
            issues.extend(error.issues)
        except OSError as error:
            issues.append(LintIssue(str(path), 1, 1, f"cannot read the file: {error.strerror}"))
    return files, issues


def load_catalogue(directory: Path) -> Catalogue:
    """Load, check and compile every definition under `directory`, or raise DefinitionError.

    Scenarios are not run here (the linter runs them); everything else the linter
    checks must pass, so the application never serves a definition it would refuse.
    """
    if not directory.is_dir():
        raise DefinitionError([LintIssue(str(directory), 1, 1, "no such directory")])
    files, issues = load_files([directory])
    if issues:
        raise DefinitionError(issues)
    catalogue, issues = compile_catalogue(files)
    if issues or catalogue is None:
        raise DefinitionError(issues)
    return catalogue
