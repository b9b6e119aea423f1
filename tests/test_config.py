"""Configuration: bad or missing values stop the start with one sentence naming the variable."""

import subprocess
import sys
from pathlib import Path

import pytest

from portal.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parent.parent
GOOD_KEY = "k" * 40


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"PORTAL_ENV": "production"}, "SECRET_KEY"),
        ({"PORTAL_ENV": "staging"}, "PORTAL_ENV"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"PORT": "http"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"DATABASE_URL": "mysql://localhost/db"}, "DATABASE_URL"),
        ({"PORTAL_TIMEZONE": "Mars/Olympus"}, "PORTAL_TIMEZONE"),
        ({"MAX_UPLOAD_MB": "0"}, "MAX_UPLOAD_MB"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
    ],
)
def test_bad_value_names_the_variable(tmp_path, environ, variable):
    with pytest.raises(ConfigError) as raised:
        load_settings(environ, tmp_path)
    message = str(raised.value)
    assert message.startswith(variable)
    assert message.count(". ") <= 1, "one clear sentence (plus at most a hint)"


def test_defaults_are_development_sqlite_tokyo(tmp_path):
    settings = load_settings({}, tmp_path)
    assert settings.env == "development"
    assert settings.database_url == f"sqlite:///{tmp_path / 'madoguchi.sqlite3'}"
    assert settings.port == 5000
    assert settings.timezone == "Asia/Tokyo"
    assert settings.flask_config()["SESSION_COOKIE_SECURE"] is False


def test_development_key_is_generated_once_and_kept(tmp_path):
    first = load_settings({}, tmp_path).secret_key
    second = load_settings({}, tmp_path).secret_key
    assert first == second
    assert len(first) >= 32
    assert (tmp_path / "development-secret-key").stat().st_mode & 0o077 == 0


def test_production_uses_given_key_and_secure_cookies(tmp_path):
    settings = load_settings({"PORTAL_ENV": "production", "SECRET_KEY": GOOD_KEY}, tmp_path)
    config = settings.flask_config()
    assert config["SECRET_KEY"] == GOOD_KEY
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert not (tmp_path / "development-secret-key").exists()


def test_postgres_urls_use_psycopg3(tmp_path):
    settings = load_settings({"DATABASE_URL": "postgres://u:p@db/portal"}, tmp_path)
    assert settings.database_url == "postgresql+psycopg://u:p@db/portal"


def test_app_start_fails_with_one_sentence(tmp_path):
    environ = {"PATH": "/usr/bin:/bin", "PORTAL_ENV": "production", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", "import app"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "SECRET_KEY must be set when PORTAL_ENV=production" in lines[0]
