"""The demo register API: bearer token, JSON errors, the extract, and its OpenAPI document."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from flask import Flask

from portal import create_app
from portal.records import demo_data, services, sources
from portal.records.schema import ErrorDocument, ExtractDocument
from tests.conftest import app_config
from tests.records.conftest import API_TOKEN

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "register-api.openapi.json"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
PERSONS = "/demo-registers/v1/persons"
OPENAPI = "/demo-registers/v1/openapi.json"
KEY = {person.persona: person.key for person in demo_data.PERSONS}


def _error(response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert ErrorDocument.model_validate(response.get_json()).error.code == code


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {API_TOKEN}"},
        {"Authorization": f"Bearer {API_TOKEN}x"},
        {"Authorization": "Bearer"},
    ],
    ids=["none", "wrong", "not-bearer", "longer", "empty"],
)
def test_reading_a_person_needs_the_token(seeded, client, headers):
    response = client.get(f"{PERSONS}/demo-0001?sources=nhi", headers=headers)
    _error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "01-100001" not in response.get_data(as_text=True)


def test_without_a_configured_token_nobody_gets_in(database_url, monkeypatch):
    monkeypatch.delenv("RECORDS_API_TOKEN")
    client = create_app(app_config(database_url)).test_client()
    _error(client.get(f"{PERSONS}/demo-0001?sources=nhi", headers=AUTH), 401, "unauthorized")
    _error(
        client.get(f"{PERSONS}/demo-0001?sources=nhi", headers={"Authorization": "Bearer "}),
        401,
        "unauthorized",
    )


def test_the_extract_is_served_as_the_schema_describes(seeded, client):
    response = client.get(
        f"{PERSONS}/{KEY['yamamoto_yoko_widow_funeral_host']}?sources=resident_register,nhi,disability",
        headers=AUTH,
    )
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    document = ExtractDocument.model_validate_json(response.get_data())
    makoto = KEY["yamamoto_makoto_deceased"]
    disability = next(s for s in document.sources if s.source == "disability")
    assert disability.records[makoto].certificate_number == "第1234号"
    assert document.missing_sources == []


@pytest.mark.parametrize("query", ["", "?sources=", "?sources=nhi,passport", "?sources=,,"])
def test_the_registers_must_be_named_and_known(seeded, client, query):
    _error(client.get(f"{PERSONS}/demo-0001{query}", headers=AUTH), 400, "bad_sources")


def test_an_unknown_person_is_a_json_404(seeded, client):
    _error(client.get(f"{PERSONS}/demo-9999?sources=nhi", headers=AUTH), 404, "unknown_person")


def test_a_failure_inside_the_api_is_a_json_500(seeded, client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(services, "demo_extract", broken)
    response = client.get(f"{PERSONS}/demo-0001?sources=nhi", headers=AUTH)
    _error(response, 500, "internal_error")
    assert "fire" not in response.get_data(as_text=True)


def test_only_get_is_answered_and_no_csrf_token_is_needed_for_it(seeded, client):
    assert client.get(f"{PERSONS}/demo-0001?sources=nhi", headers=AUTH).status_code == 200
    assert client.post(f"{PERSONS}/demo-0001?sources=nhi", headers=AUTH).status_code == 405


def _bare_app(env: str) -> Flask:
    """An app with only the records layer, so that other packages' settings stay out of it."""
    app = Flask(__name__)
    app.config.update(PORTAL_ENV=env, PORTAL_TIMEZONE="Asia/Tokyo")
    sources.init_app(app)
    return app


def test_the_api_is_not_served_in_production_unless_asked_for(monkeypatch):
    assert _bare_app("development").test_client().get(OPENAPI).status_code == 200
    assert _bare_app("production").test_client().get(OPENAPI).status_code == 404
    monkeypatch.setenv("DEMO_REGISTERS_API", "1")
    assert _bare_app("production").test_client().get(OPENAPI).status_code == 200


def test_the_served_openapi_document_is_the_committed_one(client):
    response = client.get(OPENAPI)
    assert response.status_code == 200
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert response.get_json() == committed, (
        "docs/register-api.openapi.json is stale: regenerate it with "
        "`flask --app app demo openapi > docs/register-api.openapi.json`"
    )


def _refs(node: object) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        if isinstance(node.get("mapping"), dict):
            found |= set(node["mapping"].values())
        return found.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(item) for item in node))
    return set()


def test_the_openapi_document_has_the_shape_of_openapi_3_1():
    document = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert re.fullmatch(r"3\.1\.[0-9]+", document["openapi"])
    assert document["info"]["title"] and document["info"]["version"]
    assert set(document) <= {
        "openapi", "info", "jsonSchemaDialect", "servers", "paths", "webhooks",
        "components", "security", "tags", "externalDocs",
    }  # fmt: skip
    schemas = document["components"]["schemas"]
    for ref in _refs(document):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref
    schemes = document["components"]["securitySchemes"]
    for path, item in document["paths"].items():
        assert path.startswith("/")
        for method, operation in item.items():
            assert method in {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
            assert operation["responses"], (path, method)
            for response in operation["responses"].values():
                assert response["description"]
            for requirement in operation.get("security", []):
                assert set(requirement) <= set(schemes)
            for parameter in operation.get("parameters", []):
                assert parameter["in"] in {"path", "query", "header", "cookie"}
                assert parameter["in"] != "path" or parameter["required"] is True
                assert "{" + parameter["name"] + "}" in path or parameter["in"] != "path"
    operation = document["paths"]["/persons/{person_key}"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ExtractDocument"
    }
    # The schema the http source validates with is the one the document publishes.
    assert schemas["ExtractDocument"]["additionalProperties"] is False
    assert set(schemas["ExtractDocument"]["required"]) == set(ExtractDocument.model_fields)
