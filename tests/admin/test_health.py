"""The admin's health page: every adapter's check, for administrators only."""

from __future__ import annotations

from flask import g

from portal.extensions import db
from portal.identity.models import User


def _as(app, role: str, departments=()):
    with app.app_context():
        user = User(
            issuer="https://staff.test",
            subject=f"{role}-health",
            role=role,
            display_name=role,
            departments=list(departments),
            preferred_language="ja",
        )
        db.session.add(user)
        db.session.commit()
        user_id = user.id

    @app.before_request
    def _signed_in():
        g.user = db.session.get(User, user_id)


def test_the_admin_sees_every_adapters_check(app, client):
    _as(app, "admin")
    page = client.get("/admin/health")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for name in ("database", "identity.resident", "identity.staff", "jobs", "mail", "records"):
        assert f"<code>{name}</code>" in html, name
    assert "準備ができています" in html or "準備ができていません" in html


def test_clerks_and_residents_may_not_see_it(app, client):
    _as(app, "clerk", ["citizens"])
    assert client.get("/admin/health").status_code == 403


def test_anonymous_visitors_are_sent_to_the_staff_sign_in(app, client):
    response = client.get("/admin/health")
    assert response.status_code == 303
    assert "/staff/sign-in" in response.headers["Location"]
