"""The linter: everything the loader refuses, plus every scenario, as `file:line:column`.

`flask procedures lint` prints `lint_paths(...)` one issue a line; an empty list means
the definitions can be served.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from portal.definitions.compiler import compile_catalogue
from portal.definitions.loader import load_files
from portal.definitions.scenarios import run_scenarios
from portal.definitions.source import LintIssue


def lint_paths(paths: Iterable[Path | str]) -> list[LintIssue]:
    """Lint definition files and directories together, scenarios included, in file order.

    The files are checked as one catalogue (a procedure needs its departments and
    dictionary), so name them all. Checks against other files wait until every file
    has passed the schema, so that one typo does not cause a cascade of issues.
    """
    files, issues = load_files(Path(path) for path in paths)
    if not issues:
        catalogue, issues = compile_catalogue(files)
        if catalogue is not None:
            issues = run_scenarios(catalogue, files)
    return sorted(issues, key=lambda issue: (issue.path, issue.line, issue.column))


def format_issues(issues: Iterable[LintIssue]) -> str:
    """The issues as lines of `file:line:column: message`."""
    return "\n".join(issue.format() for issue in issues)
