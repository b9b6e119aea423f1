"""Fault tests: tests marked ``postgres_only`` are skipped on the SQLite run."""

from __future__ import annotations

import pytest

from tests.conftest import using_postgres


@pytest.fixture(autouse=True)
def _postgres_only(request: pytest.FixtureRequest) -> None:
    """Skip a test that needs PostgreSQL when this run uses SQLite."""
    if request.node.get_closest_marker("postgres_only") and not using_postgres():
        pytest.skip("needs PostgreSQL (scripts/with-postgres.sh sets TEST_DATABASE_URL)")
