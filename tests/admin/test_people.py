"""People and roles: the list, changes that survive sign-in, no self-lockout, disabled
accounts, departments; and who may open every page of this part of the admin area."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.admin import audit_views, integrations_views, people, people_views
from portal.audit.models import AuditEntry
from portal.database import utcnow
from portal.extensions import db
from portal.identity import services
from portal.identity.models import StaffAssignment, User, UserSession
from portal.identity.tokens import SignInError
from tests.admin.conftest import post_form
from tests.backoffice.conftest import Office
from tests.identity.live import Browser, choose_persona, live_app, sign_in, start_sign_in

ISSUER = "https://staff-idp.test"

# Every route of the people, integrations and audit pages, with the arguments to call it.
ROUTES = [
    ("GET", "/admin/people"),
    ("GET", "/admin/people/1"),
    ("POST", "/admin/people/1/assignment"),
    ("POST", "/admin/people/1/assignment/hand-back"),
    ("POST", "/admin/people/1/sessions/end"),
    ("POST", "/admin/people/1/disable"),
    ("POST", "/admin/people/1/enable"),
    ("GET", "/admin/departments"),
    ("GET", "/admin/integrations"),
    ("POST", "/admin/integrations/clients"),
    ("POST", "/admin/integrations/clients/mdc_0/revoke"),
    ("POST", "/admin/integrations/clients/mdc_0/webhooks"),
    ("POST", "/admin/integrations/webhooks/1/disable"),
    ("GET", "/admin/jobs/dead"),
    ("POST", "/admin/jobs/dead/replay"),
    ("GET", "/admin/audit"),
    ("GET", "/admin/audit/verify"),
]
OWN_MODULES = {people_views.__name__, integrations_views.__name__, audit_views.__name__}


def _request(client, method: str, path: str):
    return client.get(path) if method == "GET" else post_form(client, path)


def test_the_access_test_covers_every_route_of_this_part(app):
    covered = {path for _method, path in ROUTES}
    adapter = app.url_map.bind("localhost")
    routed = {adapter.match(path, method=method)[0] for method, path in ROUTES}
    own = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if app.view_functions[rule.endpoint].__module__ in OWN_MODULES
    }
    assert routed == own and len(covered) == len(ROUTES)


@pytest.mark.parametrize("who", ["citizens", "resident"])
def test_clerks_and_residents_get_403_everywhere(desk: Office, client, who):
    desk.add_person("resident", "resident")
    desk.sign_in(who)
    answers = {path: _request(client, method, path).status_code for method, path in ROUTES}
    assert answers == {path: 403 for _method, path in ROUTES}


def test_strangers_are_sent_to_the_staff_sign_in_everywhere(desk: Office, client):
    for method, path in ROUTES:
        response = _request(client, method, path)
        assert response.status_code == 303, path
        assert response.headers["Location"].startswith("/staff/sign-in"), path


def test_an_admin_opens_every_page(desk: Office, client):
    desk.sign_in("admin")
    own_page = f"/admin/people/{desk.ids['admin']}"  # ids go on counting on PostgreSQL
    pages = [
        path.replace("/admin/people/1", own_page) for method, path in ROUTES if method == "GET"
    ]
    answers = {path: client.get(path).status_code for path in pages}
    assert answers == {path: 200 for path in pages}


def _user_actions() -> list[str]:
    """The actions of the audit entries about accounts, oldest first (call in an app context)."""
    query = select(AuditEntry.action).where(AuditEntry.subject_type == "user")
    return list(db.session.scalars(query.order_by(AuditEntry.id)))


# --- the list ------------------------------------------------------------------------


def test_the_list_filters_by_role_department_and_name(desk: Office, client):
    desk.add_person("山田 太郎", "resident")
    desk.sign_in("admin")
    everyone = client.get("/admin/people").get_data(as_text=True)
    assert "山田 太郎" in everyone and "pension2" in everyone and "citizens" in everyone

    residents = client.get("/admin/people?role=resident").get_data(as_text=True)
    assert "山田 太郎" in residents and "pension2" not in residents

    pension = client.get("/admin/people?department=insurance_pension").get_data(as_text=True)
    assert "pension2" in pension and "山田 太郎" not in pension
    # An underscore is a LIKE wildcard: "insurance_pension" must not match "insuranceXpension".
    assert "ltc_insurance</a>" not in pension

    named = client.get("/admin/people?name=PENSION2").get_data(as_text=True)
    assert "pension2" in named and "child_support</a>" not in named


def test_the_list_pages_and_counts_open_sessions(desk: Office, client, app):
    for number in range(people.PAGE_SIZE):
        desk.add_person(f"zz-clerk-{number:02d}", "clerk", ("citizens",))
    with app.app_context():
        services.start_session(
            db.session, desk.user("pension2"), id_token=None, user_agent="", now=utcnow()
        )
        db.session.commit()
    desk.sign_in("admin")
    first = client.get("/admin/people?role=clerk").get_data(as_text=True)
    assert 'rel="next"' in first and "zz-clerk-40" in first and "zz-clerk-49" not in first
    second = client.get("/admin/people?role=clerk&page=2").get_data(as_text=True)
    assert "zz-clerk-49" in second and 'rel="prev"' in second
    with app.app_context():
        page = people.list_people(db.session, people.PeopleFilters(name="pension2"), now=utcnow())
    assert [(row.user.display_name, row.live_sessions) for row in page.rows] == [("pension2", 1)]


# --- role and departments ---------------------------------------------------------------


def test_an_admin_sets_a_clerks_role_and_departments_and_it_is_audited(desk: Office, client, app):
    clerk = desk.ids["citizens"]
    desk.sign_in("admin")
    response = post_form(
        client,
        f"/admin/people/{clerk}/assignment",
        {"role": "clerk", "departments": ["citizens", "nursery"]},
    )
    assert response.status_code == 303
    page = client.get(f"/admin/people/{clerk}").get_data(as_text=True)
    assert 'class="notice" role="status"' in page and 'role="alert"' not in page
    with app.app_context():
        user = db.session.get(User, clerk)
        assert (user.role, user.departments) == ("clerk", ["citizens", "nursery"])
        assert user.assignment.set_by == f"user:{desk.ids['admin']}"
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "user.staff_assignment_set")
        ).one()
    assert entry.subject_id == str(clerk) and entry.actor == f"user:{desk.ids['admin']}"
    assert entry.details["before"]["departments"] == ["citizens"]
    assert entry.details["after"]["departments"] == ["citizens", "nursery"]
    assert entry.details["before"]["managed_in_portal"] is False


def test_unknown_departments_are_refused(desk: Office, client, app):
    clerk = desk.ids["citizens"]
    desk.sign_in("admin")
    post_form(client, f"/admin/people/{clerk}/assignment", {"role": "clerk", "departments": "x"})
    with app.app_context():
        assert db.session.get(User, clerk).assignment is None
        assert _user_actions() == []


def _sign_in_again(app, desk: Office, short_name: str, role: str, departments: tuple[str, ...]):
    with app.app_context():
        user = services.sign_in_user(
            db.session,
            services.Identity(
                ISSUER, f"test-{short_name}", role, short_name, departments=departments
            ),
            language="ja",
            now=utcnow(),
        )
        db.session.commit()
        return user.role, list(user.departments)


def test_the_portals_assignment_wins_over_later_claims_until_handed_back(desk, client, app):
    clerk = desk.ids["citizens"]
    desk.sign_in("admin")
    post_form(
        client, f"/admin/people/{clerk}/assignment", {"role": "admin", "departments": ["nursery"]}
    )
    # The provider still says clerk of citizens, then something else: the portal's choice holds.
    assert _sign_in_again(app, desk, "citizens", "clerk", ("citizens",)) == ("admin", ["nursery"])
    assert _sign_in_again(app, desk, "citizens", "clerk", ("ltc_insurance",)) == (
        "admin",
        ["nursery"],
    )
    with app.app_context():
        assignment = db.session.get(StaffAssignment, clerk)
        assert (assignment.claimed_role, assignment.claimed_departments) == (
            "clerk",
            ["ltc_insurance"],
        )
    # Handed back, the claims of the last sign-in apply at once, and at the next sign-in.
    assert post_form(client, f"/admin/people/{clerk}/assignment/hand-back").status_code == 303
    with app.app_context():
        user = db.session.get(User, clerk)
        assert (user.role, user.departments, user.assignment) == ("clerk", ["ltc_insurance"], None)
        actions = _user_actions()
    assert actions == ["user.staff_assignment_set", "user.staff_assignment_handed_back"]
    assert _sign_in_again(app, desk, "citizens", "clerk", ("citizens",)) == ("clerk", ["citizens"])


def test_an_admin_cannot_take_away_their_own_admin_role(desk: Office, client, app):
    admin = desk.ids["admin"]
    desk.sign_in("admin")
    response = post_form(
        client, f"/admin/people/{admin}/assignment", {"role": "clerk", "departments": ["citizens"]}
    )
    assert response.status_code == 303
    page = client.get(f"/admin/people/{admin}").get_data(as_text=True)
    assert 'role="alert"' in page
    with app.app_context():
        assert db.session.get(User, admin).role == "admin"
        # Nor hand themselves back to claims that would make them a clerk.
        people.assign_staff(
            db.session,
            db.session.get(User, admin),
            db.session.get(User, admin),
            role="admin",
            departments=[],
            known_departments={"citizens"},
            now=utcnow(),
        )
        db.session.get(User, admin).assignment.claimed_role = "clerk"
        db.session.commit()
    post_form(client, f"/admin/people/{admin}/assignment/hand-back")
    with app.app_context():
        assert db.session.get(User, admin).role == "admin"


def test_an_admin_cannot_disable_themselves(desk: Office, client, app):
    admin = desk.ids["admin"]
    desk.sign_in("admin")
    post_form(client, f"/admin/people/{admin}/disable")
    with app.app_context():
        assert not db.session.get(User, admin).disabled


def test_a_resident_account_is_never_made_staff(desk: Office, client, app):
    resident = desk.add_person("resident", "resident")
    desk.sign_in("admin")
    post_form(client, f"/admin/people/{resident}/assignment", {"role": "clerk"})
    with app.app_context():
        user = db.session.get(User, resident)
        assert (user.role, user.assignment) == ("resident", None)


# --- sessions and disabled accounts -----------------------------------------------------


def _start_session(app, user_id: int) -> str:
    with app.app_context():
        token = services.start_session(
            db.session, db.session.get(User, user_id), id_token=None, user_agent="", now=utcnow()
        )
        db.session.commit()
        return token


def test_ending_a_users_sessions_revokes_them_on_the_server(desk: Office, client, app):
    clerk = desk.ids["citizens"]
    tokens = [_start_session(app, clerk) for _ in range(2)]
    desk.sign_in("admin")
    post_form(client, f"/admin/people/{clerk}/sessions/end")
    with app.app_context():
        for token in tokens:
            assert services.find_session(db.session, token, now=utcnow()).status == "revoked"
        query = select(AuditEntry).where(AuditEntry.subject_type == "user")
        entry = db.session.scalars(query).one()
    assert (entry.action, entry.details) == ("user.sessions_ended", {"sessions": 2})


def test_a_disabled_user_loses_their_sessions_and_cannot_sign_in_until_enabled(desk, client, app):
    clerk = desk.ids["citizens"]
    token = _start_session(app, clerk)
    desk.sign_in("admin")
    assert post_form(client, f"/admin/people/{clerk}/disable").status_code == 303
    with app.app_context():
        assert services.find_session(db.session, token, now=utcnow()).status == "revoked"
    with pytest.raises(SignInError) as refused:
        _sign_in_again(app, desk, "citizens", "clerk", ("citizens",))
    assert refused.value.reason_code == "account_disabled"
    post_form(client, f"/admin/people/{clerk}/enable")
    assert _sign_in_again(app, desk, "citizens", "clerk", ("citizens",)) == ("clerk", ["citizens"])
    with app.app_context():
        actions = _user_actions()
    assert actions == ["user.disabled", "user.enabled"]


def test_a_session_of_a_disabled_account_is_refused_even_if_left_unrevoked(desk, app):
    clerk = desk.ids["citizens"]
    token = _start_session(app, clerk)
    with app.app_context():
        db.session.get(User, clerk).disabled_at = utcnow()
        db.session.commit()
        assert services.find_session(db.session, token, now=utcnow()).status == "revoked"


# --- through the staff provider, over HTTP ----------------------------------------------


@pytest.fixture
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)


def _demo_user(live, subject: str) -> User:
    with live.app.app_context():
        user = db.session.scalars(select(User).where(User.subject == subject)).one()
        db.session.expunge(user)
        return user


@pytest.mark.usefixtures("_no_proxy")
def test_through_the_demo_provider_an_assignment_survives_and_a_disabled_clerk_is_refused(
    database_url,
):
    with live_app(database_url) as live:
        sign_in(live, Browser(), "staff-admin", staff=True)
        sign_in(live, Browser(), "staff-clerk-citizens", staff=True)
        admin = _demo_user(live, "staff-admin")
        clerk = _demo_user(live, "staff-clerk-citizens")
        assert (clerk.role, clerk.departments) == ("clerk", ["citizens"])
        with live.app.app_context():
            acting = db.session.get(User, admin.id)
            person = db.session.get(User, clerk.id)
            people.assign_staff(
                db.session,
                acting,
                person,
                role="clerk",
                departments=["nursery", "child_support"],
                known_departments={"nursery", "child_support"},
                now=utcnow(),
            )
            db.session.commit()

        sign_in(live, Browser(), "staff-clerk-citizens", staff=True)
        again = _demo_user(live, "staff-clerk-citizens")
        assert (again.role, again.departments) == ("clerk", ["nursery", "child_support"])

        with live.app.app_context():
            people.disable_account(
                db.session,
                db.session.get(User, admin.id),
                db.session.get(User, clerk.id),
                now=utcnow(),
            )
            db.session.commit()
            live_before = db.session.scalars(
                select(UserSession).where(UserSession.user_id == clerk.id)
            ).all()
            assert live_before and all(row.revoked_at for row in live_before)
        refused = sign_in_refused(live, "staff-clerk-citizens")
        assert refused.status == 400


def sign_in_refused(live, subject: str):
    """Go through the demo provider as ``subject``; return the portal's answer to the callback."""
    browser = Browser()
    to_provider = start_sign_in(live, browser, staff=True)
    personas = browser.get(to_provider.location)
    return browser.get(choose_persona(browser, personas, subject).location)


# --- departments ---------------------------------------------------------------------


def test_departments_show_queues_members_and_open_submissions(desk: Office, client):
    desk.file("insurance_pension")
    desk.file("insurance_pension", status="in_review")
    desk.file("insurance_pension", status="completed")
    desk.sign_in("admin")
    page = client.get("/admin/departments").get_data(as_text=True)
    section = page.split('id="department-insurance_pension"', 1)[1].split("</section>", 1)[0]
    assert "<code>insurance_pension.review</code>" in section
    cells = section.split("<code>insurance_pension</code></th><td>", 1)[1]
    assert cells.startswith("2</td>")  # completed is not open
    assert "pension2" in section and "citizens</a>" not in section
    assert 'id="department-triage"' in page
