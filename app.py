"""The WSGI entry point: ``flask --app app run`` or ``gunicorn app:app``."""

from portal import ConfigError, create_app

try:
    app = create_app()
except ConfigError as error:
    raise SystemExit(f"Madoguchi cannot start: {error}") from None
