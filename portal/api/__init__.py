"""The back-office API and signed webhooks, for departments' systems."""

from __future__ import annotations

from flask import Flask


def register_api(app: Flask) -> None:
    """Serve the API under ``/api/v1`` and add the ``flask api`` commands."""
    from portal.api import models, webhooks  # noqa: F401  (tables; the webhook job handler)
    from portal.api.commands import api_cli
    from portal.api.views import bp

    app.register_blueprint(bp)
    app.cli.add_command(api_cli)
