"""``flask api``: a client's token is printed once, works, and stops working when revoked."""

from __future__ import annotations

from sqlalchemy import select

from portal.api.models import ApiClient
from portal.audit.models import AuditEntry
from portal.extensions import db
from tests.api.conftest import bearer


def _api(app, *args):
    return app.test_cli_runner().invoke(args=["api", *args])


def test_create_client_prints_a_working_token_that_is_not_stored(procedures_loaded, app):
    result = _api(
        app,
        "create-client",
        "--name",
        "国保年金課 基幹系",
        "--department",
        "insurance_pension",
        "--department",
        "ltc_insurance",
        "--scope",
        "submissions:read",
    )
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    client_id, secret = token.split(".")
    assert client_id in result.output.splitlines()[0]
    with app.app_context():
        client = db.session.scalars(select(ApiClient)).one()
        assert (client.client_id, client.departments, client.scopes) == (
            client_id,
            ["insurance_pension", "ltc_insurance"],
            ["submissions:read"],
        )
        assert secret not in client.secret_hash
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "api.client_created")
        ).one()
        assert entry.subject_id == client_id
    response = app.test_client().get("/api/v1/submissions", headers=bearer(token))
    assert response.status_code == 200
    assert response.get_json() == {"items": [], "next_cursor": None}

    revoked = _api(app, "revoke-client", client_id)
    assert revoked.exit_code == 0, revoked.output
    assert app.test_client().get("/api/v1/submissions", headers=bearer(token)).status_code == 401


def test_create_client_refuses_unknown_departments_and_scopes(procedures_loaded, app):
    unknown_department = _api(
        app,
        "create-client",
        "--name",
        "x",
        "--department",
        "nowhere",
        "--scope",
        "submissions:read",
    )
    assert unknown_department.exit_code == 1
    assert "unknown department nowhere" in unknown_department.output
    unknown_scope = _api(
        app, "create-client", "--name", "x", "--department", "citizens", "--scope", "admin"
    )
    assert unknown_scope.exit_code == 2
    assert _api(app, "revoke-client", "mdc_missing").exit_code == 1
    with app.app_context():
        assert db.session.scalars(select(ApiClient)).all() == []
