"""Choosing and configuring the record source from the settings, and its readiness check."""

from __future__ import annotations

import pytest
from flask import Flask

from portal import ConfigError, create_app
from portal.records import sources
from portal.records.sources import RECORD_SOURCES, HttpRecordSource, record_source
from tests.conftest import app_config
from tests.records.conftest import API_TOKEN


def test_the_registry_names_each_adapter_by_its_code():
    assert {code: source.code for code, source in RECORD_SOURCES.items()} == {
        "demo": "demo",
        "http": "http",
    }


def test_records_adapter_http_builds_the_http_source_from_the_settings(database_url, monkeypatch):
    monkeypatch.setenv("RECORDS_ADAPTER", "http")
    monkeypatch.setenv("RECORDS_API_URL", "https://registers.example.jp/v1/")
    monkeypatch.setenv("RECORDS_TIMEOUT_SECONDS", "2.5")
    app = create_app(app_config(database_url))
    with app.app_context():
        source = record_source()
    assert isinstance(source, HttpRecordSource)
    assert source.http_options.url == "https://registers.example.jp/v1"
    assert source.http_options.token == API_TOKEN
    assert source.http_options.timeout_seconds == 2.5
    assert app.config["RECORDS_ADAPTER"] == "http"

    body = app.test_client().get("/readyz").get_json()
    assert body["checks"]["records"] == {
        "ok": True,
        "detail": "registers.example.jp: circuit closed",
    }


@pytest.mark.parametrize(
    "settings, variable",
    [
        ({"RECORDS_ADAPTER": "ldap"}, "RECORDS_ADAPTER"),
        ({"RECORDS_ADAPTER": "http"}, "RECORDS_API_URL"),
        ({"RECORDS_ADAPTER": "http", "RECORDS_API_URL": "ftp://x/v1"}, "RECORDS_API_URL"),
        (
            {"RECORDS_ADAPTER": "http", "RECORDS_API_URL": "https://x/v1?k=1"},
            "RECORDS_API_URL",
        ),
        (
            {"RECORDS_ADAPTER": "http", "RECORDS_API_URL": "https://x/v1", "RECORDS_API_TOKEN": ""},
            "RECORDS_API_TOKEN",
        ),
        (
            {
                "RECORDS_ADAPTER": "http",
                "RECORDS_API_URL": "https://x/v1",
                "RECORDS_TIMEOUT_SECONDS": "soon",
            },
            "RECORDS_TIMEOUT_SECONDS",
        ),
        (
            {
                "RECORDS_ADAPTER": "http",
                "RECORDS_API_URL": "https://x/v1",
                "RECORDS_TIMEOUT_SECONDS": "600",
            },
            "RECORDS_TIMEOUT_SECONDS",
        ),
    ],
)
def test_bad_settings_stop_the_start_naming_the_variable(
    database_url, monkeypatch, settings, variable
):
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=variable):
        create_app(app_config(database_url))


def _init_bare_app(env: str) -> Flask:
    """Initialise only the records layer, so that other packages' settings stay out of it."""
    app = Flask(__name__)
    app.config.update(PORTAL_ENV=env, PORTAL_TIMEZONE="Asia/Tokyo")
    sources.init_app(app)
    return app


def test_production_refuses_plain_http_except_on_loopback(monkeypatch):
    monkeypatch.setenv("RECORDS_ADAPTER", "http")
    monkeypatch.setenv("RECORDS_API_URL", "http://registers.example.jp/v1")
    with pytest.raises(ConfigError, match="https"):
        _init_bare_app("production")
    _init_bare_app("development")
    monkeypatch.setenv("RECORDS_API_URL", "http://127.0.0.1:8080/v1")
    _init_bare_app("production")
    monkeypatch.setenv("RECORDS_API_URL", "https://registers.example.jp/v1")
    _init_bare_app("production")
