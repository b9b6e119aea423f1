"""The `http` record source against the live demo API and against a misbehaving register."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest

from portal.records import demo_data
from portal.records.extract import RegisterExtract, RegisterUnavailable
from portal.records.sources import DemoRecordSource, SourceOptions
from tests.records.conftest import ALL_SOURCES, Recorder, http_source, json_reply

KEY = {person.persona: person.key for person in demo_data.PERSONS}
ERROR_500 = json_reply("500 INTERNAL SERVER ERROR", b'{"error": "boom"}')


def _without_times(extract: RegisterExtract) -> object:
    """The extract as JSON without the moments it was read."""

    def strip(node: object) -> object:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "fetched_at"}
        if isinstance(node, list):
            return [strip(item) for item in node]
        return node

    return strip(json.loads(extract.document.model_dump_json()))


def _extract_json(person_key: str, missing: list[str], **changes: object) -> bytes:
    """An extract document in JSON, with keys changed or added as a test needs."""
    document = {
        "person_key": person_key,
        "fetched_at": "2026-11-27T09:00:00+09:00",
        "related": [],
        "sources": [],
        "missing_sources": missing,
    }
    document.update(changes)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    "persona",
    [
        "sato_hanako_new_mother",
        "suzuki_ichiro_funeral_host_osaka",
        "yamamoto_yoko_widow_funeral_host",
        "kimura_yoko_power_of_attorney",
        "yoshida_mari_single_parent",
        "watanabe_takumi_moving_in",
    ],
)
def test_it_fetches_from_the_live_api_what_the_demo_source_reads(seeded, live_server, persona):
    remote = http_source(live_server).fetch(KEY[persona], ALL_SOURCES)
    with seeded.app_context():
        local = DemoRecordSource(SourceOptions(timezone="Asia/Tokyo")).fetch(
            KEY[persona], ALL_SOURCES
        )
    assert _without_times(remote) == _without_times(local)
    assert remote.missing_sources == local.missing_sources


def test_an_unknown_person_on_the_live_api_is_an_empty_extract(seeded, live_server):
    extract = http_source(live_server).fetch("demo-9999", ["nhi", "seal"])
    assert extract.missing_sources == {"nhi", "seal"}


def test_the_live_api_refuses_a_wrong_token_and_it_is_not_retried(seeded, live_server):
    recorder = Recorder()
    source = http_source(live_server, recorder, token="not-the-token")
    with pytest.raises(RegisterUnavailable, match=r"refused the token \(401\)"):
        source.fetch(KEY["sato_kenichi_father"], ["nhi"])
    assert recorder.waits == []


def test_one_request_carries_every_register_and_the_token(fake_register):
    register, url = fake_register
    register.answer(json_reply("200 OK", _extract_json("p-1", ["nhi", "seal"])))
    extract = http_source(url).fetch("p-1", ["seal", "nhi"])
    assert extract.missing_sources == {"nhi", "seal"}
    assert extract.fetched_at.utcoffset().total_seconds() == 0
    assert register.requests == [
        {
            "path": "/v1/persons/p-1",
            "uri": "/v1/persons/p-1?sources=nhi,seal",
            "query": "sources=nhi,seal",
            "authorization": "Bearer " + http_source(url).http_options.token,
        }
    ]


def test_a_person_key_is_checked_and_escaped_in_the_path(fake_register):
    register, url = fake_register
    register.answer(
        json_reply(
            "404 NOT FOUND", b'{"error": {"status": 404, "code": "unknown_person", "title": "x"}}'
        )
    )
    for key in ("a/../b", "p-1?sources=seal", "", "鈴木"):
        with pytest.raises(ValueError, match="person key"):
            http_source(url).fetch(key, ["nhi"])
    assert register.requests == []
    assert http_source(url).fetch("city:0042", ["nhi"]).missing_sources == {"nhi"}
    assert register.requests[0]["uri"] == "/v1/persons/city%3A0042?sources=nhi"


def test_asking_for_nothing_asks_nobody(fake_register):
    register, url = fake_register
    assert http_source(url).fetch("p-1", []).missing_sources == frozenset()
    assert register.requests == []


def test_server_errors_are_retried_twice_with_growing_waits_then_given_up(fake_register):
    register, url = fake_register
    register.answer(ERROR_500)
    recorder = Recorder()
    with pytest.raises(RegisterUnavailable) as raised:
        http_source(url, recorder).fetch("p-1", ["nhi", "seal"])
    assert raised.value.sources == ("nhi", "seal")
    assert "500" in raised.value.reason
    assert len(register.requests) == 3
    # 0.2 s doubling, plus jitter of half as much again (the test's jitter is 0.5).
    assert recorder.waits == pytest.approx([0.3, 0.6])


def test_a_server_error_then_an_answer_succeeds(fake_register):
    register, url = fake_register
    register.answer(ERROR_500, json_reply("200 OK", _extract_json("p-1", ["nhi"])))
    assert http_source(url).fetch("p-1", ["nhi"]).missing_sources == {"nhi"}
    assert len(register.requests) == 2


@pytest.mark.parametrize(
    "status", ["400 BAD REQUEST", "403 FORBIDDEN", "404 NOT FOUND", "429 TOO MANY REQUESTS"]
)
def test_client_errors_are_never_retried(fake_register, status):
    register, url = fake_register
    register.answer(
        json_reply(status, b'{"error": {"status": 400, "code": "bad_sources", "title": "x"}}')
    )
    with pytest.raises(RegisterUnavailable, match=status[:3]):
        http_source(url).fetch("p-1", ["nhi"])
    assert len(register.requests) == 1


@pytest.mark.parametrize(
    "reply, reason",
    [
        (json_reply("200 OK", b"{not json"), "schema"),
        (json_reply("200 OK", b"[]"), "schema"),
        (json_reply("200 OK", _extract_json("p-1", ["nhi"], related=None)), "related"),
        (json_reply("200 OK", _extract_json("p-1", ["nhi"], fetched_at="yesterday")), "fetched_at"),
        (json_reply("200 OK", _extract_json("p-1", ["nhi"], extra=1)), "extra"),
        (
            json_reply("200 OK", _extract_json("p-1", ["nhi"], fetched_at="2026-11-27T09:00:00")),
            "fetched_at",
        ),
        (json_reply("200 OK", _extract_json("p-2", ["nhi"])), "another person"),
        (json_reply("200 OK", _extract_json("p-1", ["nhi", "seal"])), "registers asked"),
        (json_reply("200 OK", _extract_json("p-1", [])), "registers asked"),
        (json_reply("200 OK", _extract_json("p-1", ["nhi"]), "text/html"), "not JSON"),
        (
            json_reply(
                "200 OK",
                _extract_json(
                    "p-1",
                    [],
                    sources=[
                        {
                            "source": "nhi",
                            "fetched_at": "2026-11-27T00:00:00Z",
                            "records": {
                                "someone-else": {
                                    "insured_number": "1",
                                    "nhi_household_number": "1",
                                    "acquired_date": "2020-01-01",
                                    "lost_date": None,
                                }
                            },
                        }
                    ],
                ),
            ),
            "persons not in the extract",
        ),
    ],
    ids=[
        "malformed",
        "array",
        "wrong-type",
        "bad-date",
        "unknown-key",
        "naive-time",
        "other-person",
        "unasked-register",
        "missing-register",
        "html",
        "stranger",
    ],
)
def test_answers_that_break_the_contract_are_refused_without_retry(fake_register, reply, reason):
    register, url = fake_register
    register.answer(reply)
    with pytest.raises(RegisterUnavailable, match=reason):
        http_source(url).fetch("p-1", ["nhi"])
    assert len(register.requests) == 1


def test_an_answer_over_the_size_cap_is_refused(fake_register):
    register, url = fake_register
    big = _extract_json("p-1", ["nhi"]) + b" " * 5000
    register.answer(json_reply("200 OK", big))
    with pytest.raises(RegisterUnavailable, match="larger than 1000 bytes"):
        http_source(url, max_response_bytes=1000).fetch("p-1", ["nhi"])


def test_an_undeclared_answer_over_the_size_cap_is_cut_off(fake_register):
    register, url = fake_register

    def endless() -> Iterator[bytes]:
        for _ in range(100):
            yield b"x" * 1000

    register.answer(("200 OK", [("Content-Type", "application/json")], endless))
    with pytest.raises(RegisterUnavailable, match="larger than 5000 bytes"):
        http_source(url, max_response_bytes=5000).fetch("p-1", ["nhi"])


def test_a_register_that_does_not_answer_in_time_is_given_up_on_once(fake_register):
    register, url = fake_register

    def stalled() -> Iterator[bytes]:
        register.release.wait(5)
        yield _extract_json("p-1", ["nhi"])

    register.answer(("200 OK", [("Content-Type", "application/json")], stalled))
    started = time.monotonic()
    with pytest.raises(RegisterUnavailable, match=r"no complete answer within 0.3 s"):
        http_source(url, timeout_seconds=0.3).fetch("p-1", ["nhi"])
    assert time.monotonic() - started < 2
    assert len(register.requests) == 1


def test_a_register_that_trickles_its_answer_is_cut_off_at_the_deadline(fake_register):
    register, url = fake_register

    def trickle() -> Iterator[bytes]:
        for _ in range(20):
            time.sleep(0.05)
            yield b" "

    register.answer(("200 OK", [("Content-Type", "application/json")], trickle))
    started = time.monotonic()
    with pytest.raises(RegisterUnavailable, match="no complete answer"):
        http_source(url, timeout_seconds=0.3).fetch("p-1", ["nhi"])
    assert time.monotonic() - started < 0.9


def _closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_a_refused_connection_is_retried_then_given_up(fake_register):
    recorder = Recorder()
    with pytest.raises(RegisterUnavailable, match="could not connect"):
        http_source(_closed_port(), recorder).fetch("p-1", ["nhi"])
    assert len(recorder.waits) == 2


def test_the_circuit_opens_after_five_failed_fetches_and_half_opens_after_30_s(fake_register):
    register, url = fake_register
    register.answer(ERROR_500)
    recorder = Recorder()
    source = http_source(url, recorder)
    for _ in range(5):
        with pytest.raises(RegisterUnavailable, match="500"):
            source.fetch("p-1", ["nhi"])
    assert len(register.requests) == 15
    assert source.check_config().detail.endswith("circuit open (next try in 30 s)")

    with pytest.raises(RegisterUnavailable, match="circuit open"):
        source.fetch("p-1", ["nhi"])
    assert len(register.requests) == 15, "an open circuit does not call"

    register.answer(json_reply("200 OK", _extract_json("p-1", ["nhi"])))
    recorder.now += 29
    with pytest.raises(RegisterUnavailable, match="circuit open"):
        source.fetch("p-1", ["nhi"])
    recorder.now += 1
    assert source.fetch("p-1", ["nhi"]).missing_sources == {"nhi"}
    assert source.breaker.state == "closed"
    assert source.check_config().ok


def test_an_unknown_register_is_refused_before_any_call(fake_register):
    register, url = fake_register
    with pytest.raises(ValueError, match="passport"):
        http_source(url).fetch("p-1", ["nhi", "passport"])
    assert register.requests == []
