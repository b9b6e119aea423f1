"""Migrations build the schema the models describe, and undo it, on this run's database."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from portal import create_app
from portal.extensions import db
from portal.health import migration_heads
from tests.conftest import app_config


def _differences(connection):
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, db.metadata)


def test_upgrade_to_head_matches_the_models_and_downgrade_undoes_it(fresh_database_url):
    app = create_app(app_config(fresh_database_url()))
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_heads() == tuple(
                migration_heads()
            )
            assert _differences(connection) == []

        downgrade(revision="base")
        with db.engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) <= {"alembic_version"}

        upgrade()
        with db.engine.connect() as connection:
            assert _differences(connection) == []
        db.engine.dispose()


def test_there_is_a_single_head():
    assert len(migration_heads()) == 1
