"""Liveness and readiness for load balancers and operators.

``/healthz`` only says the process answers. ``/readyz`` runs every registered
readiness check (the database and its migrations here; adapters add their own) and
answers 503 when any fails, so a proxy stops sending residents to a broken process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, Flask, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from portal.extensions import csrf, db

bp = Blueprint("health", __name__)
csrf.exempt(bp)

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check; ``detail`` is for operators and holds no secrets."""

    ok: bool
    detail: str


ReadinessCheck = Callable[[], CheckResult]


def register_readiness_check(app: Flask, name: str, check: ReadinessCheck) -> None:
    """Add a check that ``/readyz`` runs; adapters call this from their ``init_app``."""
    app.extensions.setdefault("madoguchi.readiness", {})[name] = check


def migration_heads() -> set[str]:
    """Return the head revisions of the migrations shipped with this code."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return set(ScriptDirectory.from_config(config).get_heads())


def check_database() -> CheckResult:
    """Check that the database answers and its schema is at the migrations' head."""
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as error:
        return CheckResult(False, f"database unreachable: {type(error.orig or error).__name__}")
    expected = migration_heads()
    if current != expected:
        return CheckResult(
            False, f"migrations not at head: database {sorted(current)}, code {sorted(expected)}"
        )
    return CheckResult(True, f"{db.engine.dialect.name}, revision {', '.join(sorted(current))}")


def run_readiness_checks() -> dict[str, CheckResult]:
    """Run every registered check, the database first."""
    checks: dict[str, ReadinessCheck] = {"database": check_database}
    checks.update(current_app.extensions.get("madoguchi.readiness", {}))
    return {name: check() for name, check in checks.items()}


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    results = run_readiness_checks()
    ready = all(result.ok for result in results.values())
    body = {
        "status": "ready" if ready else "not ready",
        "checks": {name: {"ok": r.ok, "detail": r.detail} for name, r in results.items()},
    }
    return jsonify(body), 200 if ready else 503
