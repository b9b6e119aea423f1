"""Shared helpers of the engine tests: the valid fixture bundle and small YAML builders."""

from __future__ import annotations

import functools
import textwrap
from pathlib import Path

from portal.definitions.catalogue import Catalogue
from portal.definitions.compiler import compile_catalogue
from portal.definitions.loader import load_catalogue, load_files, load_text
from portal.definitions.source import LintIssue

FIXTURES = Path(__file__).parent / "fixtures"
VALID = FIXTURES / "valid"
BROKEN = FIXTURES / "broken"
BASE_FILES = [VALID / "departments.yaml", VALID / "dictionary.yaml"]


@functools.cache
def valid_catalogue() -> Catalogue:
    """The catalogue of the valid fixture bundle (one life event, four procedures)."""
    return load_catalogue(VALID)


def compile_texts(*texts: str) -> tuple[Catalogue | None, list[LintIssue]]:
    """Compile YAML texts (dedented) together with the bundle's departments and dictionary."""
    files, issues = load_files(BASE_FILES)
    assert not issues
    for index, text in enumerate(texts):
        files.append(load_text(textwrap.dedent(text), f"text{index}.yaml"))
    return compile_catalogue(files)


def compile_alone(*texts: str) -> tuple[Catalogue | None, list[LintIssue]]:
    """Compile YAML texts (dedented) on their own, without the bundle's files."""
    files = [
        load_text(textwrap.dedent(text), f"text{index}.yaml") for index, text in enumerate(texts)
    ]
    return compile_catalogue(files)


def procedure_yaml(*parts: str, procedure_id: str = "sample", mode: str = "online") -> str:
    """A procedure file: the usual header, then the parts (each dedented) of its body."""
    header = f"""\
schema: madoguchi/1
kind: procedure
id: {procedure_id}
title: {{ja: 見本, en: Sample}}
summary: {{ja: 見本の手続きです。, en: A sample procedure.}}
mode: {mode}
department: insurance_pension
"""
    return header + "".join(textwrap.dedent(part) for part in parts)
