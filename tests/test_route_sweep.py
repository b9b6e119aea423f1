"""Every route in the URL map, requested by everyone, against objects that belong to others.

The table ``DECLARED`` says, for each endpoint, what each actor gets: the page
(``OK``), the sign-in page, 401, 403 or 404. A route added without a line here fails
``test_every_route_has_a_declared_expectation``, so new routes are swept as soon as they
exist. The sweep also proves that no GET changes a row (reads that are audited may add
audit entries, and only those), that every state-changing browser route refuses a
request without a valid CSRF token and changes nothing, and that the routes exempt from
CSRF are exactly the token-authenticated ones declared in ``CSRF_EXEMPT``.

The world (``tests/sweep_support.py``) is built once for the module. Requests that are
refused, and every GET, must leave it as it was, so they share it; the state-changing
requests of allowed actors run last.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete
from werkzeug.routing import Rule

from portal import create_app
from portal.extensions import csrf, db
from tests.conftest import app_config, csrf_token
from tests.sweep_support import (
    ACTORS,
    ADMIN,
    ANONYMOUS,
    API_X,
    API_Y,
    AUDIT_TABLE,
    BROWSER_ACTORS,
    CLERK_Y,
    COUNTER_FORM,
    RESIDENT_B,
    StateWatch,
    World,
    build_world,
    changed_tables,
)

OK = "allowed"
SIGN_IN = "resident sign-in"
STAFF_SIGN_IN = "staff sign-in"
Expectation = str | int
SIGN_OUT = "identity.sign_out"
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
SIGN_IN_PATHS = {SIGN_IN: "/sign-in", STAFF_SIGN_IN: "/staff/sign-in"}
# What a refused post carries, so that a refusal is never just a form error.
HOSTILE_FORM = {
    "body": "x",
    "message": "x",
    "reason": "x",
    "comment": "x",
    "name": "x",
    "decision": "approved",
    "confirm": "yes",
    "declaration": "yes",
}


def each(default: Expectation, **by_actor: Expectation) -> dict[str, Expectation]:
    """An answer for every browser actor: ``default`` unless named."""
    unknown = set(by_actor) - set(BROWSER_ACTORS)
    assert not unknown, unknown
    return {actor: by_actor.get(actor, default) for actor in BROWSER_ACTORS}


def api(default: Expectation, **by_actor: Expectation) -> dict[str, Expectation]:
    """A bearer-token route: browsers' cookies are no credential (401 problem)."""
    return {**each(401), API_X: default, API_Y: default, **by_actor}


PUBLIC = each(OK)
# A resident's own application, looked up by its owner: anyone else's does not exist.
OWN_APPLICATION = each(403, anonymous=SIGN_IN, resident_a=OK, resident_b=404)
OWN_APPLICATION_PAGE = each(404, resident_a=OK)
SIGNED_IN_RESIDENT = each(403, anonymous=SIGN_IN, resident_a=OK, resident_b=OK)
# A draft belongs to its owner key: others see nothing; staff may not open drafts at all.
OWN_DRAFT = each(403, anonymous=404, resident_a=OK, resident_b=404)
STAFF = each(OK, anonymous=STAFF_SIGN_IN, resident_a=403, resident_b=403)
# A submission of department X: other departments' clerks are told it does not exist.
CASE_OF_X = {**STAFF, CLERK_Y: 404}
# Something of clerk X's own (a saved view, a counter session): nobody else's to see.
CLERK_X_OWN = {**STAFF, CLERK_Y: 404, ADMIN: 404}
ADMIN_ONLY = each(403, anonymous=STAFF_SIGN_IN, admin=OK)


@dataclass(frozen=True)
class Declared:
    """What each actor gets from one endpoint, and where its URL points.

    ``values`` maps URL arguments to keys of ``World.values`` where the name alone
    would pick the wrong object; ``query`` is added to the URL. ``audited_reads``:
    reading it adds audit entries.
    """

    expect: Mapping[str, Expectation]
    values: Mapping[str, str] = field(default_factory=dict)
    audited_reads: bool = False
    query: Mapping[str, str] = field(default_factory=dict)


def case(**values: str) -> Declared:
    return Declared(CASE_OF_X, values)


def admin(**values: str) -> Declared:
    return Declared(ADMIN_ONLY, values)


def own_draft(**values: str) -> Declared:
    return Declared(OWN_DRAFT, values)


APPLICATION = {"reference": "application"}

DECLARED: dict[str, Declared] = {
    # The public site, probes, files and the sign-in pages.
    "site.show_home": Declared(PUBLIC),
    "site.show_accessibility": Declared(PUBLIC),
    "site.show_privacy": Declared(PUBLIC),
    "site.show_contact": Declared(PUBLIC),
    "site.search_procedures": Declared(PUBLIC),
    "site.set_language": Declared(PUBLIC),
    "health.healthz": Declared(PUBLIC),
    "health.readyz": Declared(PUBLIC),
    "static": Declared(PUBLIC),
    "identity.show_sign_in": Declared(PUBLIC),
    "identity.start_sign_in": Declared(PUBLIC),
    "identity.show_staff_sign_in": Declared(PUBLIC),
    "identity.start_staff_sign_in": Declared(PUBLIC),
    # A callback without the provider's answer is refused politely, for everyone.
    "identity.finish_sign_in": Declared(each(400)),
    "identity.finish_staff_sign_in": Declared(each(400)),
    "identity.sign_out": Declared(PUBLIC),
    "identity.extend_session": Declared(each(OK, anonymous=SIGN_IN)),
    # The demo provider: its pages need an authorization request, its API a client.
    "demo_idp.show_configuration": Declared(PUBLIC),
    "demo_idp.show_jwks": Declared(PUBLIC),
    "demo_idp.show_personas": Declared(each(400)),
    "demo_idp.choose_persona": Declared(each(400)),
    "demo_idp.issue_tokens": Declared(each(401)),
    "demo_idp.show_userinfo": Declared(each(401)),
    "demo_idp.end_session": Declared(PUBLIC),
    # The demo registers' API answers only its own bearer token.
    "records_api.get_openapi": Declared(PUBLIC),
    "records_api.get_person": Declared(each(401)),
    # Development only (not served in production: tests/test_security_headers.py).
    "notifications.show_outbox": Declared(PUBLIC),
    "notifications.show_outbox_message": Declared(PUBLIC, {"name": "outbox_name"}),
    # Residents: life events and drafts (owner-keyed), applications (owner-checked).
    "resident.show_life_event": Declared(PUBLIC),
    "resident.start_draft": Declared(each(403, anonymous=OK, resident_a=OK, resident_b=OK)),
    "resident.resume_draft": own_draft(),
    "resident.check_answers": own_draft(),
    "resident.supply_documents": own_draft(),
    "resident.download_upload": own_draft(),
    "resident.choose_filing_for": own_draft(),
    "resident.fill_step": own_draft(step_key="form_step"),
    "resident.fill_item": own_draft(draft_id="loop_draft", step_key="loop_step"),
    "resident.remove_item": own_draft(draft_id="loop_draft", step_key="loop_step"),
    "resident.choose_procedures": own_draft(),
    "resident.answer_question": own_draft(step_key="question_step"),
    "resident.consent_records": own_draft(),
    "resident.choose_person": own_draft(),
    "resident.report_register": own_draft(),
    # Sending needs a signed-in resident: refused before any draft is looked up.
    "resident.submit_draft": Declared({**OWN_DRAFT, ANONYMOUS: 403}),
    "resident.show_dashboard": Declared(SIGNED_IN_RESIDENT),
    "resident.find_suggestions": Declared(SIGNED_IN_RESIDENT),
    "resident.show_application": Declared(OWN_APPLICATION_PAGE, APPLICATION),
    "resident.download_receipt": Declared(OWN_APPLICATION_PAGE, APPLICATION),
    "resident.download_decision": Declared(OWN_APPLICATION_PAGE, APPLICATION),
    "resident.download_reply_file": Declared(OWN_APPLICATION_PAGE, APPLICATION),
    "resident.answer_request": Declared(OWN_APPLICATION_PAGE, APPLICATION),
    "resident.withdraw_submission": Declared(OWN_APPLICATION_PAGE, APPLICATION),
    # The back office: lists for all staff, cases by department, own things by owner.
    "backoffice.show_work_list": Declared(STAFF),
    "backoffice.export_work_list": Declared(STAFF),
    "backoffice.reassign_cases": Declared(STAFF),
    "backoffice.save_view": Declared(STAFF),
    "backoffice.delete_view": Declared(CLERK_X_OWN),
    "backoffice.list_register_reports": Declared(STAFF),
    "backoffice.close_register_report": Declared(CASE_OF_X),
    "backoffice.show_case": Declared(CASE_OF_X, audited_reads=True),
    "backoffice.download_case_document": Declared(CASE_OF_X, audited_reads=True),
    "backoffice.download_case_reply_file": Declared(CASE_OF_X, audited_reads=True),
    "backoffice.download_case_decision": Declared(CASE_OF_X, audited_reads=True),
    "backoffice.claim_case": case(),
    "backoffice.release_case": case(),
    "backoffice.reassign_case": case(),
    "backoffice.start_review": case(),
    "backoffice.request_information": case(),
    "backoffice.send_message": case(),
    "backoffice.add_note": case(),
    "backoffice.decide_case": case(),
    "backoffice.confirm_decision": case(),
    "backoffice.return_decision": case(),
    "backoffice.recheck_register": case(),
    # The counter: sessions are the clerk's own; printed forms go to whoever handles
    # one of the application's submissions (Child Support handles none of A's).
    "backoffice.check_identity": Declared(STAFF),
    "backoffice.confirm_identity": Declared(CLERK_X_OWN, {"session_id": "pending_session"}),
    "backoffice.show_counter_session": Declared(STAFF),
    "backoffice.end_counter_session": Declared(STAFF),
    "backoffice.show_ended_session": Declared(CLERK_X_OWN, {"session_id": "ended_session"}),
    "backoffice.download_counter_form": Declared(CASE_OF_X, audited_reads=True),
    # Administrators only.
    "admin.show_start": admin(),
    "admin.show_audit_log": admin(),
    "admin.verify_audit_log": admin(),
    "admin.list_definitions": admin(),
    "admin.create_definition": admin(),
    "admin.import_definition": admin(),
    "admin.show_definition": admin(),
    "admin.compare_versions": Declared(ADMIN_ONLY, query={"old": "1", "new": "1"}),
    "admin.show_version": admin(),
    "admin.save_draft": admin(),
    "admin.copy_version": admin(),
    "admin.export_version": admin(),
    "admin.preview_version": admin(),
    "admin.publish_version": admin(),
    "admin.retire_version": admin(),
    "admin.list_departments": admin(),
    "admin.show_health": admin(),
    "admin.list_integrations": admin(),
    "admin.create_api_client": admin(),
    "admin.revoke_api_client": admin(),
    "admin.add_webhook": admin(),
    "admin.disable_webhook": admin(),
    "admin.list_dead_jobs": admin(),
    "admin.replay_dead_jobs": admin(),
    "admin.show_kpis": admin(),
    "admin.export_kpis": admin(),
    "admin.list_people": admin(),
    "admin.show_person": admin(),
    "admin.assign_staff": admin(),
    "admin.hand_back_assignment": admin(),
    "admin.disable_person": admin(),
    "admin.enable_person": admin(),
    "admin.end_person_sessions": admin(),
    # The back-office API: bearer tokens of department systems, never cookies.
    "api.show_openapi": Declared({**PUBLIC, API_X: OK, API_Y: OK}),
    "api.list_submissions": Declared(api(OK)),
    "api.show_submission": Declared(api(OK, api_y=404)),
    "api.download_document": Declared(api(OK, api_y=404)),
    "api.send_message": Declared(api(OK, api_y=404)),
    "api.change_status": Declared(api(OK, api_y=404)),
}

# URL arguments by name, as keys of ``World.values`` (literals are added to it below).
ARGUMENTS = {
    "reference": "case",
    "application_reference": "application",
    "user_id": "person_id",
    "step_key": "form_step",
}
LITERALS = {
    "number": 1,
    "index": 0,
    "life_event_id": "bereavement",
    "procedure_id": COUNTER_FORM,
    "person_key": "demo-0024",
    "filename": "css/portal.css",
}
# State-changing routes exempt from CSRF: they take a credential of their own (a client's
# bearer token or secret) and set no cookie, or (the demo provider's logout) only redirect.
CSRF_EXEMPT = {
    "demo_idp.issue_tokens",
    "demo_idp.show_userinfo",
    "demo_idp.end_session",
    "api.send_message",
    "api.change_status",
}


@pytest.fixture(scope="module")
def url_map_app(database_url: str) -> Flask:
    """An app to read the URL map of; it serves no request."""
    return create_app(app_config(database_url))


@pytest.fixture(scope="module")
def world(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    app = create_app(app_config(database_url))
    built = build_world(app, tmp_path_factory.mktemp("sweep-outbox"))
    built.values.update(LITERALS)
    built.tokens = {actor: csrf_token(built.clients[actor]) for actor in BROWSER_ACTORS}
    built.watch = StateWatch(app)
    yield built
    built.watch.close()
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(delete(table))
        db.engine.dispose()


def _rules(app: Flask) -> dict[str, Rule]:
    return {rule.endpoint: rule for rule in app.url_map.iter_rules()}


def _methods(rule: Rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def _url(world: World, rule: Rule) -> str:
    declared = DECLARED[rule.endpoint]
    values = {}
    for name in rule.arguments:
        key = declared.values.get(name) or ARGUMENTS.get(name) or name
        values[name] = world.values[key]
    with world.app.test_request_context():
        return world.app.url_for(rule.endpoint, **values, **declared.query)


def _request(world: World, actor: str, method: str, url: str, data: dict | None = None):
    client: FlaskClient = world.clients[actor]
    response = client.open(url, method=method, data=data, headers=world.headers(actor))
    response.get_data()  # a streamed answer (the CSV export) runs to its end, as for a browser
    response.close()
    return response


def _describe(response) -> str:
    location = response.headers.get("Location", "")
    return f"{response.status_code} {location}".strip()


def _matches(expected: Expectation, method: str, response) -> bool:
    status = response.status_code
    location = urlsplit(response.headers.get("Location", "")).path
    signing_in = status in (302, 303) and location in SIGN_IN_PATHS.values()
    if expected in SIGN_IN_PATHS:
        return status == 303 and location == SIGN_IN_PATHS[expected]
    if expected == OK:
        refused = status in (401, 403, 404, 405) or status >= 500 or signing_in
        return not refused and (method not in ("GET",) or status < 400)
    return status == expected


def test_every_route_has_a_declared_expectation(url_map_app: Flask) -> None:
    routed = set(_rules(url_map_app))
    assert sorted(routed - set(DECLARED)) == [], "routes without a declared expectation"
    assert sorted(set(DECLARED) - routed) == [], "declared routes that no longer exist"


@pytest.mark.parametrize("endpoint", sorted(DECLARED))
def test_each_actor_gets_the_declared_answer_and_reading_changes_nothing(
    world: World, endpoint: str
) -> None:
    rule = _rules(world.app).get(endpoint)
    assert rule is not None, f"{endpoint} is not in the URL map"
    declared = DECLARED[endpoint]
    url = _url(world, rule)
    before = world.watch.snapshot()
    for method in _methods(rule):
        for actor, expected in declared.expect.items():
            if method in UNSAFE_METHODS and expected == OK:
                continue  # allowed changes run last, in test_allowed_actors_may_post
            data = None
            if method in UNSAFE_METHODS:
                data = {"csrf_token": world.tokens.get(actor, ""), **HOSTILE_FORM}
            response = _request(world, actor, method, url, data)
            assert _matches(expected, method, response), (
                f"{actor} {method} {url}: expected {expected}, got {_describe(response)}"
            )
            after = world.watch.snapshot()
            changed = changed_tables(before, after)
            if declared.audited_reads and method == "GET" and expected == OK:
                changed -= {AUDIT_TABLE}
            assert not changed, f"{actor} {method} {url} ({_describe(response)}) changed {changed}"
            before = after


def _exempt_from_csrf(app: Flask, url: str) -> bool:
    with app.test_request_context(url, method="POST"):
        # Flask-WTF keeps its exemptions in private fields; this asks them the way it does.
        return csrf._is_exempt()


def _unsafe_rules(app: Flask) -> list[Rule]:
    rules = _rules(app)
    return [
        rules[name] for name in sorted(rules) if set(_methods(rules[name])) & set(UNSAFE_METHODS)
    ]


def test_only_the_declared_state_changing_routes_are_exempt_from_csrf(world: World) -> None:
    exempt = {
        rule.endpoint
        for rule in _unsafe_rules(world.app)
        if _exempt_from_csrf(world.app, _url(world, rule))
    }
    assert exempt == CSRF_EXEMPT


@pytest.mark.parametrize("token", ["", "forged-token"], ids=["missing", "wrong"])
def test_every_state_changing_route_refuses_a_missing_or_wrong_csrf_token(
    world: World, token: str
) -> None:
    app = world.app
    checked = []
    before = world.watch.snapshot()
    for rule in _unsafe_rules(app):
        if rule.endpoint in CSRF_EXEMPT:
            continue
        expect = DECLARED[rule.endpoint].expect
        actor = next((actor for actor in BROWSER_ACTORS if expect.get(actor) == OK), ANONYMOUS)
        url = _url(world, rule)
        data = {**HOSTILE_FORM, **({"csrf_token": token} if token else {})}
        for method in set(_methods(rule)) & set(UNSAFE_METHODS):
            response = _request(world, actor, method, url, data)
            page = response.get_data(as_text=True)
            assert response.status_code == 400 and "Your session has expired" in page, (
                f"{actor} {method} {url}: {_describe(response)}"
            )
            checked.append(rule.endpoint)
    assert changed_tables(before, world.watch.snapshot()) == set()
    assert len(checked) >= 50, checked


def test_the_sweep_asks_as_everyone_and_tells_refusals_apart(world: World) -> None:
    """Every actor is swept somewhere, and a 404 counts neither as a page nor as sign-in."""
    assert {actor for declared in DECLARED.values() for actor in declared.expect} == set(ACTORS)
    response = _request(
        world, RESIDENT_B, "GET", f"/applications/{world.values['application']}", None
    )
    assert response.status_code == 404
    assert not _matches(OK, "GET", response)
    assert not _matches(SIGN_IN, "GET", response)
    assert not _matches(403, "GET", response)


def _posting_actors() -> Iterator[tuple[str, str]]:
    # Signing out ends the actor's session, so it goes last.
    for endpoint, declared in sorted(DECLARED.items(), key=lambda item: item[0] == SIGN_OUT):
        for actor, expected in declared.expect.items():
            if expected == OK:
                yield endpoint, actor


def test_allowed_actors_may_post(world: World) -> None:
    """The state-changing requests the sweep held back, last: allowed means let in."""
    rules = _rules(world.app)
    for endpoint, actor in _posting_actors():
        rule = rules[endpoint]
        url = _url(world, rule)
        for method in set(_methods(rule)) & set(UNSAFE_METHODS):
            data = None if actor in (API_X, API_Y) else {"csrf_token": world.tokens[actor]}
            response = _request(world, actor, method, url, data)
            assert _matches(OK, method, response), f"{actor} {method} {url}: {_describe(response)}"
