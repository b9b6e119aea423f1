"""Every job test starts with no handler calls noted."""

from collections.abc import Iterator

import pytest

from tests.jobs.support import CALLS


@pytest.fixture(autouse=True)
def _forget_calls() -> Iterator[None]:
    CALLS.clear()
    yield
    CALLS.clear()
