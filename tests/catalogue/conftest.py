"""Fixtures of the catalogue tests: a writable copy of the engine's valid fixture bundle."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.definitions.support import VALID

BUNDLE_KEYS = {
    "departments:departments",
    "dictionary:dictionary",
    "life_event:bereavement",
    "procedure:death_registration",
    "procedure:nhi_funeral_grant",
    "procedure:nhi_loss",
    "procedure:seal_ends",
}


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """A copy of the valid bundle (one life event, four procedures) that a test may edit."""
    target = tmp_path / "bundle"
    shutil.copytree(VALID, target)
    return target


def replace_in(path: Path, old: str, new: str) -> None:
    """Edit a definition file in place; fail loudly if `old` is not there exactly once."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not in {path} exactly once"
    path.write_text(text.replace(old, new), encoding="utf-8")
