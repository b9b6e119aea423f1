"""Private services told of a move by the signed webhooks: only the declared fields, audited.

A utility company is an API client whose endpoint subscribed to
``private_service.<service id>``; a local receiver stands in for its system.
"""

from __future__ import annotations

import json
import textwrap

import jsonschema
import pytest
from sqlalchemy import select

from portal.api import webhooks
from portal.audit.models import AuditEntry
from portal.backoffice.models import Application
from portal.definitions.source import DefinitionError
from portal.extensions import db
from portal.jobs.models import Job
from tests.api.test_webhooks import Receiver, _add_webhook, verified_event
from tests.definitions.support import compile_texts, procedure_yaml
from tests.resident.test_private_services import MOVING_OUT, file_moving

SENT = ["moving_date", "new_address"]


@pytest.fixture
def water_company(signed_in_as, issue_client, app):
    """The water company's system, subscribed to the water service; (receiver, secret)."""
    signed_in_as("demo-0024")
    token = issue_client(departments=("citizens",), scopes=("submissions:read",))
    receiver = Receiver()
    secret = _add_webhook(app, token, receiver.url, "private_service.water")
    yield receiver, secret
    receiver.close()


def _texts(value: object) -> set[str]:
    """Every text in an answer (the parts of a name or an address too)."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return {text for item in value.values() for text in _texts(item)}
    if isinstance(value, list):
        return {text for item in value for text in _texts(item)}
    return set()


def _application(app) -> Application:
    with app.app_context():
        application = db.session.scalars(select(Application)).one()
        db.session.expunge(application)
        return application


def test_a_ticked_service_with_an_endpoint_is_sent_only_the_declared_fields(
    water_company, app, client
):
    receiver, secret = water_company
    location = file_moving(client, private_services=["water", "electricity"])
    application = _application(app)
    assert application.private_services == [
        {"id": "water", "told": True},
        {"id": "electricity", "told": False},  # no endpoint: the resident is told to call
    ]

    ((headers, body),) = receiver.requests
    event = verified_event(secret, headers, body)
    assert event["type"] == "private_service.water"
    assert event["data"]["application_reference"] == application.reference
    assert (event["data"]["life_event"], event["data"]["service"]) == ("moving", "water")
    values = event["data"]["values"]
    assert list(values) == SENT
    assert values["moving_date"] == MOVING_OUT["moving_date"]
    assert values["new_address"] == application.answers["new_address"]
    assert set(event) == {"id", "type", "created_at", "data"}
    assert set(event["data"]) == {"application_reference", "life_event", "service", "values"}
    # Nothing else the resident entered travels: not their name, phone or old address.
    sent_texts = _texts(values)
    for field_id, value in application.answers.items():
        if field_id not in SENT:
            for text in _texts(value) - sent_texts:
                assert json.dumps(text, ensure_ascii=False) not in body.decode(), field_id

    with app.app_context():
        (job,) = db.session.scalars(select(Job).where(Job.kind == webhooks.JOB_KIND)).all()
        assert job.status == "done"
        stored = json.dumps(job.payload, ensure_ascii=False)
        assert MOVING_OUT["moving_date"] not in stored  # values are read when sent, not kept
        assert application.answers["new_address"]["city"] not in stored
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "private_service.delivery_enqueued")
        ).all()
        assert [(e.subject_id, e.details["service"], e.details["fields"]) for e in entries] == [
            (application.reference, "water", SENT)
        ]
        assert entries[0].details["endpoint"] == job.payload["endpoint"]

    client.set_cookie("madoguchi_lang", "en")
    page = client.get(location).get_data(as_text=True)
    section = page[page.index('id="private-services"') :]
    told, not_told = section.split("</li>")[:2]
    assert "Water supply: start or stop" in told
    assert "The city sends them: Date of the move (or planned date), Your new address." in told
    assert "Electricity: start or stop" in not_told
    assert "Please contact them yourself." in not_told


def test_the_event_is_the_one_the_openapi_document_describes(water_company, app, client):
    receiver, secret = water_company
    file_moving(client, private_services=["water"])
    ((headers, body),) = receiver.requests
    event = verified_event(secret, headers, body)
    document = client.get("/api/v1/openapi.json").get_json()
    webhook = document["webhooks"]["privateServiceEvent"]["post"]
    schema = webhook["requestBody"]["content"]["application/json"]["schema"]
    jsonschema.validate(event, {**schema, "components": document["components"]})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {**event, "data": {**event["data"], "name": "鈴木 花子"}},
            {**schema, "components": document["components"]},
        )


def test_every_live_subscribed_endpoint_gets_the_same_event(
    water_company, issue_client, app, client
):
    receiver, _secret = water_company
    second = Receiver()
    try:
        other = issue_client(departments=("citizens",), scopes=("submissions:read",))
        _add_webhook(app, other, second.url, "private_service.water")
        revoked = issue_client(departments=("citizens",), scopes=("submissions:read",))
        _add_webhook(app, revoked, second.url + "/revoked", "private_service.gas")
        runner = app.test_cli_runner()
        assert runner.invoke(args=["api", "revoke-client", revoked.split(".")[0]]).exit_code == 0
        file_moving(client, private_services=["water", "gas"])
        assert len(receiver.requests) == 1 and len(second.requests) == 1
        first_event = json.loads(receiver.requests[0][1])
        second_event = json.loads(second.requests[0][1])
        assert first_event == second_event
        assert _application(app).private_services == [
            {"id": "water", "told": True},
            {"id": "gas", "told": False},  # its only endpoint's client was revoked
        ]
    finally:
        second.close()


def test_a_webhook_subscribes_only_to_services_the_city_can_tell(signed_in_as, issue_client, app):
    signed_in_as("demo-0024")
    token = issue_client(departments=("citizens",), scopes=("submissions:read",))
    client_id = token.split(".")[0]
    url = "https://water.example.test/hook"
    runner = app.test_cli_runner()
    for event, message in (
        ("private_service.internet", "no published private service internet"),
        ("private_service.Water", "no published private service Water"),
        ("submission.deleted", "unknown event submission.deleted"),
    ):
        result = runner.invoke(
            args=["api", "add-webhook", client_id, "--url", url, "--event", event]
        )
        assert result.exit_code == 1, event
        assert message in result.output
    accepted = runner.invoke(
        args=["api", "add-webhook", client_id, "--url", url, "--event", "private_service.gas"]
    )
    assert accepted.exit_code == 0, accepted.output
    assert "private_service.gas" in accepted.output


# --- what a definition may declare in `sends` (the compiler's checks) -------------------


def _life_event(sends: str) -> str:
    return textwrap.dedent(
        f"""\
        schema: madoguchi/1
        kind: life_event
        id: sample_event
        title: {{ja: 見本, en: Sample}}
        questionnaire:
          fields:
            happened:
              type: date_jp
              label: {{ja: 日付, en: Date}}
            notice:
              type: content
              body: {{ja: お知らせ, en: A notice}}
          steps:
            - id: when
              fields: [happened, notice]
        fields:
          new_home:
            type: text
            label: {{ja: 新しい住まい, en: New home}}
          own_number:
            type: my_number
            label: {{ja: マイナンバー, en: My Number}}
            purpose: {{ja: 本人確認のため, en: To identify you}}
        shared_steps:
          - id: home
            fields: [new_home, own_number]
        procedures: [sample]
        private_services:
          - id: water
            label: {{ja: 水道, en: Water}}
            sends: {sends}
        """
    )


def _issues(sends: str) -> list[str]:
    procedure = procedure_yaml(
        """\
        fields:
          only_here:
            type: text
            label: {ja: 手続きだけ, en: Only here}
        """,
        mode="automatic",
    )
    _catalogue, issues = compile_texts(procedure, _life_event(sends))
    return [issue.message for issue in issues]


def test_sends_names_answers_of_the_life_event_and_never_a_my_number():
    assert _issues("[happened, new_home]") == []
    assert _issues("[happened, happened]") == [
        "private_services[0].sends[1]: field 'happened' is listed twice"
    ]
    assert _issues("[only_here]") == [
        "private_services[0].sends[0]: 'only_here' is not a field of this life event's "
        "questionnaire or shared steps"
    ]
    assert _issues("[notice]") == [
        "private_services[0].sends[0]: field 'notice' takes no answer, so it has none to send"
    ]
    assert _issues("[own_number]") == [
        "private_services[0].sends[0]: field 'own_number' holds a My Number, which is never "
        "sent to a company"
    ]
    with pytest.raises(DefinitionError, match="at least 1 item"):
        _issues("[]")  # a service with nothing to send leaves `sends` out: it is only listed
