"""Only a live client with the right token and scope gets in, and only to its departments."""

from __future__ import annotations

from sqlalchemy import select

from portal.api.models import ApiClient
from portal.api.services import hash_secret, secret_matches
from portal.database import utcnow
from portal.extensions import db
from tests.api.conftest import bearer

PROTECTED = [
    ("get", "/api/v1/submissions"),
    ("get", "/api/v1/submissions/{reference}"),
    ("post", "/api/v1/submissions/{reference}/status"),
    ("get", "/api/v1/submissions/{reference}/documents/0"),
]


def _call(client, method, path, reference, headers=None):
    url = path.format(reference=reference)
    if method == "post":
        return client.post(url, json={"status": "in_review"}, headers=headers or {})
    return client.get(url, headers=headers or {})


def _assert_unauthorized(response, *, token_given):
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 401 and problem["title"] == "Unauthorized"
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="madoguchi-api"')
    assert ('error="invalid_token"' in challenge) is token_given


def test_every_operation_refuses_a_missing_or_wrong_token(filed, issue_client, client):
    token = issue_client()
    client_id, secret = token.split(".")
    other_last = "y" if secret.endswith("x") else "x"
    wrong_tokens = (
        f"{client_id}.{secret[:-1]}{other_last}",  # wrong secret
        f"mdc_000000000000000000000000.{secret}",  # unknown client
        client_id,  # no secret
        f"{client_id}.",
    )
    for method, path in PROTECTED:
        _assert_unauthorized(_call(client, method, path, filed.nhi), token_given=False)
        for wrong in wrong_tokens:
            response = _call(client, method, path, filed.nhi, bearer(wrong))
            _assert_unauthorized(response, token_given=True)
        basic = {"Authorization": f"Basic {token}"}
        _assert_unauthorized(_call(client, method, path, filed.nhi, basic), token_given=True)
        assert _call(client, method, path, filed.nhi, bearer(token)).status_code in (200, 404)


def test_a_revoked_client_is_refused(filed, issue_client, app, client):
    token = issue_client()
    assert client.get("/api/v1/submissions", headers=bearer(token)).status_code == 200
    with app.app_context():
        stored = db.session.scalars(select(ApiClient)).one()
        stored.revoked_at = utcnow()
        db.session.commit()
    response = client.get("/api/v1/submissions", headers=bearer(token))
    _assert_unauthorized(response, token_given=True)


def test_another_departments_submission_does_not_exist_for_the_client(filed, issue_client, client):
    token = issue_client(departments=["insurance_pension"])
    for method, path in PROTECTED[1:]:
        response = _call(client, method, path, filed.ltc, bearer(token))
        assert response.status_code == 404, path
        assert response.mimetype == "application/problem+json"
        assert filed.ltc in response.get_json()["detail"]
    listing = client.get("/api/v1/submissions", headers=bearer(token)).get_json()
    assert [item["reference"] for item in listing["items"]] == [filed.nhi]
    assert client.get(f"/api/v1/submissions/{filed.nhi}", headers=bearer(token)).status_code == 200


def test_a_client_without_the_scope_is_forbidden(filed, issue_client, client):
    read_only = issue_client(scopes=["submissions:read"])
    response = client.post(
        f"/api/v1/submissions/{filed.nhi}/status",
        json={"status": "in_review"},
        headers=bearer(read_only),
    )
    assert response.status_code == 403
    assert response.get_json()["type"] == "urn:madoguchi:problem:insufficient-scope"
    assert 'scope="submissions:write"' in response.headers["WWW-Authenticate"]
    write_only = issue_client(scopes=["submissions:write"])
    response = client.get("/api/v1/submissions", headers=bearer(write_only))
    assert response.status_code == 403


def test_the_api_sets_no_cookie_and_needs_no_csrf_token(filed, issue_client, app):
    token = issue_client()
    machine = app.test_client()
    listing = machine.get("/api/v1/submissions", headers=bearer(token))
    changed = machine.post(
        f"/api/v1/submissions/{filed.nhi}/status",
        json={"status": "in_review"},
        headers=bearer(token),
    )
    assert (listing.status_code, changed.status_code) == (200, 200)
    assert "Set-Cookie" not in listing.headers and "Set-Cookie" not in changed.headers


def test_only_a_salted_hash_of_the_secret_is_kept():
    first, second = hash_secret("s3cret"), hash_secret("s3cret")
    assert first != second and "s3cret" not in first
    assert first.startswith("scrypt$")
    assert secret_matches("s3cret", first) and secret_matches("s3cret", second)
    assert not secret_matches("s3cret!", first)
    assert not secret_matches("s3cret", "pbkdf2$1$2$3$4$5")
    assert not secret_matches("s3cret", "scrypt$garbage")
