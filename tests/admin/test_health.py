"""The admin's health page: every adapter's check, for administrators only."""

from __future__ import annotations

from tests.admin.conftest import sign_in_as


def test_the_admin_sees_every_adapters_check(app, client):
    sign_in_as(app, "admin")
    page = client.get("/admin/health")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for name in ("database", "identity.resident", "identity.staff", "jobs", "mail", "records"):
        assert f"<code>{name}</code>" in html, name
    assert "準備ができています" in html or "準備ができていません" in html


def test_clerks_and_residents_may_not_see_it(app, client):
    sign_in_as(app, "clerk", ["citizens"])
    assert client.get("/admin/health").status_code == 403


def test_anonymous_visitors_are_sent_to_the_staff_sign_in(app, client):
    response = client.get("/admin/health")
    assert response.status_code == 303
    assert "/staff/sign-in" in response.headers["Location"]


def test_the_start_page_links_every_admin_area(app, client):
    sign_in_as(app, "admin")
    html = client.get("/admin/").get_data(as_text=True)
    for path in (
        "/admin/definitions",
        "/admin/kpis",
        "/admin/people",
        "/admin/departments",
        "/admin/integrations",
        "/admin/jobs/dead",
        "/admin/audit",
        "/admin/health",
    ):
        assert f'href="{path}"' in html, path
    assert 'href="/admin/"' in html  # the header's way back here
