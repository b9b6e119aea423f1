"""Logs are JSON lines with the request id and without personal data."""

import json
import logging

import pytest


@pytest.fixture
def access_lines(caplog):
    caplog.set_level(logging.INFO, logger="portal.access")
    return caplog


def test_each_request_logs_one_json_line_with_its_id(client, access_lines):
    from portal.logs import JsonFormatter

    response = client.get("/privacy?name=山田太郎&phone=09012345678")
    records = [r for r in access_lines.records if r.name == "portal.access"]
    assert len(records) == 1
    with client.application.test_request_context():
        line = JsonFormatter().format(records[0])
    entry = json.loads(line)
    assert entry["status"] == 200
    assert entry["route"] == "/privacy"
    assert entry["method"] == "GET"
    assert "山田" not in line and "09012345678" not in line
    assert len(response.headers["X-Request-ID"]) == 32


def test_a_sane_incoming_request_id_is_kept(client):
    response = client.get("/healthz", headers={"X-Request-ID": "proxy-abc-12345678"})
    assert response.headers["X-Request-ID"] == "proxy-abc-12345678"


def test_a_hostile_request_id_is_replaced(client):
    response = client.get("/healthz", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert response.headers["X-Request-ID"] != "<script>alert(1)</script>"
    assert response.headers["X-Request-ID"].isalnum()
