"""Configuration: bad or missing values stop the start with one sentence naming the variable."""

import subprocess
import sys
from pathlib import Path

import pytest

from portal.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parent.parent
GOOD_KEY = "k" * 40
PRODUCTION = {
    "PORTAL_ENV": "production",
    "SECRET_KEY": GOOD_KEY,
    "OIDC_ISSUER": "https://login.example.test",
    "OIDC_CLIENT_ID": "madoguchi",
    "OIDC_CLIENT_SECRET": "resident-client-secret",
    "STAFF_OIDC_ISSUER": "https://staff-login.example.test/realms/city",
    "STAFF_OIDC_CLIENT_ID": "madoguchi-staff",
    "STAFF_OIDC_CLIENT_SECRET": "staff-client-secret",
    "SMTP_URL": "smtps://portal:pw@mail.city.example?from=noreply@city.example",
    "PORTAL_URL": "https://madoguchi.city.example",
    "MY_NUMBER_KEYS": "3q2FoVCl1bWDs8Ou8gVMmOSHnH9h_3wq6TbnRIS7ofQ=",
}


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
        ({"DEMO_IDP": "maybe"}, "DEMO_IDP"),
        ({"PORTAL_ENV": "production", "SECRET_KEY": GOOD_KEY, "DEMO_IDP": "1"}, "DEMO_IDP"),
        ({"PORTAL_ENV": "production", "SECRET_KEY": GOOD_KEY}, "OIDC_ISSUER"),
        ({**PRODUCTION, "OIDC_ISSUER": "http://login.example.test"}, "OIDC_ISSUER"),
        ({**PRODUCTION, "OIDC_CLIENT_ID": ""}, "OIDC_CLIENT_ID"),
        ({**PRODUCTION, "OIDC_CLIENT_SECRET": ""}, "OIDC_CLIENT_SECRET"),
        ({**PRODUCTION, "STAFF_OIDC_ISSUER": ""}, "STAFF_OIDC_ISSUER"),
        ({**PRODUCTION, "STAFF_OIDC_CLIENT_SECRET": ""}, "STAFF_OIDC_CLIENT_SECRET"),
        (
            {**PRODUCTION, "STAFF_OIDC_ISSUER": "https://staff.example.test/?tenant=1"},
            "STAFF_OIDC_ISSUER",
        ),
        ({"DEMO_IDP": "0"}, "OIDC_ISSUER"),
        ({"OIDC_ISSUER": "http://login.example.test"}, "OIDC_ISSUER"),
        ({"OIDC_ISSUER": "https://login.example.test"}, "OIDC_CLIENT_ID"),
        ({"OIDC_SCOPES": "profile email"}, "OIDC_SCOPES"),
        ({"STAFF_OIDC_SCOPES": 'openid "roles"'}, "STAFF_OIDC_SCOPES"),
        ({"OIDC_PERSON_CLAIM": "resident code"}, "OIDC_PERSON_CLAIM"),
        ({"STAFF_ROLES_CLAIM": "a" * 65}, "STAFF_ROLES_CLAIM"),
        ({**PRODUCTION, "PORTAL_URL": ""}, "PORTAL_URL"),
        ({**PRODUCTION, "PORTAL_URL": "http://madoguchi.city.example"}, "PORTAL_URL"),
        ({"PORTAL_URL": "ftp://x.example"}, "PORTAL_URL"),
        ({"PORTAL_URL": "https://x.example/?a=1"}, "PORTAL_URL"),
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
    settings = load_settings(PRODUCTION, tmp_path)
    config = settings.flask_config()
    assert config["SECRET_KEY"] == GOOD_KEY
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert not (tmp_path / "development-secret-key").exists()


def test_production_signs_in_only_through_the_configured_providers(tmp_path):
    config = load_settings(PRODUCTION, tmp_path).flask_config()
    assert config["DEMO_IDP"] is False
    assert config["OIDC_ISSUER"] == "https://login.example.test"
    assert (config["OIDC_CLIENT_ID"], config["OIDC_CLIENT_SECRET"]) == (
        "madoguchi",
        "resident-client-secret",
    )
    assert config["STAFF_OIDC_ISSUER"] == "https://staff-login.example.test/realms/city"
    assert config["OIDC_SCOPES"] == ("openid", "profile", "email")
    assert (config["OIDC_PERSON_CLAIM"], config["STAFF_ROLES_CLAIM"]) == ("sub", "roles")
    assert config["STAFF_DEPARTMENTS_CLAIM"] == "departments"
    assert list(tmp_path.iterdir()) == []  # no development file is made
    assert "secret" not in repr(load_settings(PRODUCTION, tmp_path).identity)


def test_development_signs_in_through_the_demo_provider_with_a_kept_client(tmp_path):
    first = load_settings({"PORT": "5001"}, tmp_path).identity
    second = load_settings({"PORT": "5001"}, tmp_path).identity
    assert first.demo_idp is True
    assert first.resident.issuer == first.staff.issuer == "http://127.0.0.1:5001/demo-idp"
    assert first.resident.client_id != first.staff.client_id
    assert (second.resident.client_id, second.resident.client_secret) == (
        first.resident.client_id,
        first.resident.client_secret,
    )
    for kind in ("resident", "staff"):
        assert (tmp_path / f"demo-idp-client-{kind}.json").stat().st_mode & 0o077 == 0


def test_development_may_use_a_real_provider_for_residents_and_the_demo_for_staff(tmp_path):
    identity = load_settings(
        {
            "OIDC_ISSUER": "http://localhost:8080/realms/city",
            "OIDC_CLIENT_ID": "portal",
            "OIDC_CLIENT_SECRET": "s",
            "OIDC_SCOPES": "openid  profile openid email",
            "OIDC_PERSON_CLAIM": "resident_code",
        },
        tmp_path,
    ).identity
    assert identity.resident.issuer == "http://localhost:8080/realms/city"
    assert identity.resident.scopes == ("openid", "profile", "email")
    assert identity.person_claim == "resident_code"
    assert identity.staff.issuer == identity.demo_idp_issuer


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


def test_links_in_emails_start_at_the_portals_public_address(tmp_path):
    development = load_settings({"PORT": "5001"}, tmp_path)
    assert development.flask_config()["PORTAL_URL"] == "http://127.0.0.1:5001"
    served = load_settings(
        {**PRODUCTION, "PORTAL_URL": "https://madoguchi.city.example/portal/"}, tmp_path
    )
    assert served.flask_config()["PORTAL_URL"] == "https://madoguchi.city.example/portal"


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"RATELIMIT_ENABLED": "maybe"}, "RATELIMIT_ENABLED"),
        ({"RATELIMIT_STORAGE_URI": "postgres://db/limits"}, "RATELIMIT_STORAGE_URI"),
        ({"RATELIMIT_STORAGE_URI": "async+redis://cache:6379"}, "RATELIMIT_STORAGE_URI"),
        ({"RATELIMIT_SIGN_IN": "often"}, "RATELIMIT_SIGN_IN"),
        ({"RATELIMIT_SUBMIT": "5 per fortnight"}, "RATELIMIT_SUBMIT"),
        ({"RATELIMIT_API": "0 per minute"}, "RATELIMIT_API"),
    ],
)
def test_bad_rate_limit_settings_name_the_variable(tmp_path, environ, variable):
    with pytest.raises(ConfigError) as raised:
        load_settings(environ, tmp_path)
    assert str(raised.value).startswith(variable)


def test_rate_limits_are_on_with_memory_counts_unless_testing(tmp_path):
    config = load_settings({}, tmp_path).flask_config()
    assert config["RATELIMIT_ENABLED"] is True
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert config["RATELIMIT_SIGN_IN"] == "10 per minute; 50 per hour"
    assert load_settings({"TESTING": "1"}, tmp_path).flask_config()["RATELIMIT_ENABLED"] is False
    asked = load_settings({"TESTING": "1", "RATELIMIT_ENABLED": "1"}, tmp_path)
    assert asked.flask_config()["RATELIMIT_ENABLED"] is True


def test_a_shared_rate_limit_store_is_taken_and_its_password_never_shown(tmp_path):
    uri = "redis://:s3cret-pw@redis.city.example:6379/0"
    settings = load_settings({"RATELIMIT_STORAGE_URI": uri}, tmp_path)
    assert settings.flask_config()["RATELIMIT_STORAGE_URI"] == uri
    assert "s3cret-pw" not in repr(settings)
    with pytest.raises(ConfigError) as raised:
        load_settings({"RATELIMIT_STORAGE_URI": "mysql://u:s3cret-pw@db/limits"}, tmp_path)
    assert "s3cret-pw" not in str(raised.value)


def test_pooled_connections_are_checked_before_use(tmp_path):
    """After a database restart the first request gets a fresh connection, not an error."""
    settings = load_settings(PRODUCTION, tmp_path)
    assert settings.flask_config()["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_pre_ping": True}
