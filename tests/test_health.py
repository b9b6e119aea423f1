"""Liveness and readiness."""

from portal import create_app
from tests.conftest import app_config, using_postgres


def test_healthz_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_is_ready_on_a_migrated_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ready"
    assert body["checks"]["database"]["ok"] is True


def test_readyz_fails_when_the_database_is_unreachable(tmp_path):
    if using_postgres():
        url = "postgresql+psycopg://madoguchi@127.0.0.1:9/unreachable?connect_timeout=2"
    else:
        url = f"sqlite:///{tmp_path / 'missing-folder' / 'portal.sqlite3'}"
    client = create_app(app_config(url)).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"]["ok"] is False
    assert "unreachable" in body["checks"]["database"]["detail"]
    assert client.get("/healthz").status_code == 200


def test_readyz_fails_when_migrations_are_not_applied(fresh_database_url):
    client = create_app(app_config(fresh_database_url())).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "migrations not at head" in response.get_json()["checks"]["database"]["detail"]


def test_registered_checks_are_run(app, client):
    from portal.health import CheckResult, register_readiness_check

    register_readiness_check(app, "mail", lambda: CheckResult(False, "SMTP refused"))
    body = client.get("/readyz").get_json()
    assert body["checks"]["mail"] == {"ok": False, "detail": "SMTP refused"}
    assert body["status"] == "not ready"
