"""The API's OpenAPI document: valid OpenAPI 3.1, served as committed, covering every route."""

from __future__ import annotations

import json
import re
from pathlib import Path

from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from portal.api.openapi import API_PREFIX

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "backoffice-api.openapi.json"
OPENAPI = "/api/v1/openapi.json"


def test_the_committed_document_is_valid_openapi_3_1():
    document = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert re.fullmatch(r"3\.1\.[0-9]+", document["openapi"])
    validate(document, cls=OpenAPIV31SpecValidator)


def test_a_broken_document_is_caught_by_the_validator():
    document = json.loads(COMMITTED.read_text(encoding="utf-8"))
    document["paths"]["/submissions"]["get"]["parameters"][0]["in"] = "body"  # OpenAPI 2 only
    errors = list(OpenAPIV31SpecValidator(document).iter_errors())
    assert errors


def test_the_served_document_is_the_committed_one(client):
    response = client.get(OPENAPI)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert response.get_json() == committed, (
        "docs/backoffice-api.openapi.json is stale: regenerate it with `flask api openapi`"
    )


def test_the_command_writes_the_served_document(app, client, tmp_path):
    output = tmp_path / "openapi.json"
    result = app.test_cli_runner().invoke(args=["api", "openapi", "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert json.loads(output.read_text(encoding="utf-8")) == client.get(OPENAPI).get_json()
    assert output.read_text(encoding="utf-8") == COMMITTED.read_text(encoding="utf-8")


def test_every_route_of_the_api_is_documented_and_nothing_more(app):
    document = json.loads(COMMITTED.read_text(encoding="utf-8"))
    documented = {
        (method.upper(), API_PREFIX + path)
        for path, item in document["paths"].items()
        for method in item
    }
    served = {
        (method, re.sub(r"<([a-z_]+)>", r"{\1}", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert served == documented
