"""Madoguchi: a citizen one-stop e-procedures portal for municipalities."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from flask import Flask

from portal.config import ConfigError, load_settings

__all__ = ["ConfigError", "create_app"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping[str, str] | None = None) -> Flask:
    """Build the portal; ``config`` overrides environment variables (used by tests)."""
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    environ = {**os.environ, **(config or {})}
    settings = load_settings(environ, Path(app.instance_path))
    app.config.from_mapping(settings.flask_config())
    app.config["TESTING"] = environ.get("TESTING") == "1"

    register_logging(app)
    register_proxies(app)
    register_extensions(app)
    register_security(app)
    register_i18n(app)
    register_blueprints(app)
    register_api(app)
    register_identity(app)
    register_records(app)
    register_jobs(app)
    register_documents(app)
    register_notifications(app)
    register_rate_limits(app)
    register_errors(app)
    register_commands(app)
    return app


def register_logging(app: Flask) -> None:
    from portal import logs

    logs.init_app(app)


def register_proxies(app: Flask) -> None:
    from portal import proxies

    proxies.init_app(app)


def register_extensions(app: Flask) -> None:
    from portal import models  # noqa: F401  (registers every table on the metadata)
    from portal.database import configure_sqlite
    from portal.definitions import sealing
    from portal.extensions import csrf, db, migrate

    sealing.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine)


def register_security(app: Flask) -> None:
    from portal import security

    security.init_app(app)


def register_i18n(app: Flask) -> None:
    from portal import i18n

    i18n.init_app(app)


def register_api(app: Flask) -> None:
    from portal.api import register_api as register

    register(app)


def register_notifications(app: Flask) -> None:
    from portal.notifications import register_notifications as register

    register(app)


def register_blueprints(app: Flask) -> None:
    from portal import health
    from portal.admin import bp as admin_bp
    from portal.backoffice.views import bp as backoffice_bp
    from portal.resident.views import bp as resident_bp
    from portal.site.views import bp as site_bp

    app.register_blueprint(health.bp)
    app.register_blueprint(site_bp)
    app.register_blueprint(resident_bp)
    app.register_blueprint(backoffice_bp)
    app.register_blueprint(admin_bp)


def register_identity(app: Flask) -> None:
    from portal.identity import auth, demo_idp, providers
    from portal.identity.views import bp as identity_bp

    demo = demo_idp.init_app(app) if app.config["DEMO_IDP"] else None
    providers.init_app(app, demo.discovery_document if demo else None)
    auth.init_app(app)
    app.register_blueprint(identity_bp)


def register_rate_limits(app: Flask) -> None:
    from portal import security_limits

    security_limits.init_app(app)


def register_records(app: Flask) -> None:
    from portal.records import sources

    sources.init_app(app)


def register_jobs(app: Flask) -> None:
    from portal.jobs import engines
    from portal.jobs.commands import jobs_cli

    engines.init_app(app)
    app.cli.add_command(jobs_cli)


def register_documents(app: Flask) -> None:
    from portal.documents import storage

    storage.init_app(app)


def register_errors(app: Flask) -> None:
    from portal import errors

    errors.init_app(app)


def register_commands(app: Flask) -> None:
    from portal.audit.commands import audit_cli
    from portal.catalogue.commands import procedures_cli
    from portal.commands import portal_cli
    from portal.records.commands import demo_cli
    from portal.retention.commands import retention_cli

    app.cli.add_command(portal_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(procedures_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(retention_cli)
