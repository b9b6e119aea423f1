"""The `demo` record source: who comes with a person's extract, and what stays out."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from portal.extensions import db
from portal.records import demo_data, services
from portal.records.extract import RegisterExtract, RegisterUnavailable
from portal.records.models import Person
from portal.records.services import demo_extract
from portal.records.sources import DemoRecordSource, SourceOptions, record_source
from tests.records.conftest import ALL_SOURCES

KEY = {person.persona: person.key for person in demo_data.PERSONS}


@pytest.fixture
def source() -> DemoRecordSource:
    return DemoRecordSource(SourceOptions(timezone="Asia/Tokyo"))


def test_the_app_uses_the_demo_source_by_default(app):
    with app.app_context():
        assert isinstance(record_source(), DemoRecordSource)
        assert app.config["RECORDS_ADAPTER"] == "demo"


def test_a_new_mother_gets_her_household_and_the_sources_she_asked_for(seeded, source):
    with seeded.app_context():
        extract = source.fetch(KEY["sato_hanako_new_mother"], ["resident_register", "nhi"])
    assert extract.sources == {"resident_register", "nhi"}
    assert extract.missing_sources == frozenset()
    assert extract.fetched_at.tzinfo is UTC
    assert extract.source_fetched_at("nhi") == extract.fetched_at
    related = {person.person_key: person for person in extract.related}
    assert set(related) == {
        KEY["sato_kenichi_father"],
        KEY["sato_haruto_older_sibling"],
        KEY["sato_yui_newborn"],
    }
    assert related[KEY["sato_yui_newborn"]].via == "household"
    assert related[KEY["sato_yui_newborn"]].relationship == "parent"
    assert related[KEY["sato_kenichi_father"]].relationship == "spouse"

    baby = KEY["sato_yui_newborn"]
    assert extract.value("resident_register", baby, "name") == {
        "family": "佐藤",
        "given": "結衣",
        "family_kana": "サトウ",
        "given_kana": "ユイ",
    }
    assert extract.value("resident_register", baby, "birth_date") == date(2026, 11, 18)
    assert extract.value("resident_register", baby, "address.line") == "2-3"
    assert extract.has_record("nhi", extract.person_key)
    assert not extract.has_record("nhi", baby)
    assert extract.value("nhi", baby, "insured_number") is None
    assert extract.value("seal", baby, "registration_number") is None


def test_tax_and_bank_account_are_only_ever_the_applicants_own(seeded, source):
    with seeded.app_context():
        extract = source.fetch(KEY["sato_hanako_new_mother"], ALL_SOURCES)
    father = KEY["sato_kenichi_father"]
    assert set(extract.records("resident_tax")) == {extract.person_key}
    assert extract.value("resident_tax", extract.person_key, "income") == 1_100_000
    assert extract.value("resident_tax", father, "income") is None
    # The father's account is registered, but it is his, not hers.
    assert "public_fund_account" in extract.missing_sources
    assert extract.value("child_allowance", father, "is_recipient") is True
    children = extract.value("child_allowance", father, "children")
    assert [child["person_key"] for child in children] == [KEY["sato_haruto_older_sibling"]]


def test_a_living_relative_elsewhere_is_left_out_but_a_power_of_attorney_lets_in(seeded, source):
    with seeded.app_context():
        ichiro = source.fetch(KEY["suzuki_ichiro_funeral_host_osaka"], ["resident_register"])
        yoko = source.fetch(
            KEY["kimura_yoko_power_of_attorney"], ["resident_register", "ltc_insurance"]
        )
    # The deceased father comes with the son's extract; his living mother does not.
    assert [(p.person_key, p.via, p.relationship) for p in ichiro.related] == [
        (KEY["suzuki_taro_deceased"], "deceased_relative", "child")
    ]
    assert set(ichiro.records("resident_register")) == {KEY["suzuki_taro_deceased"]}
    father = KEY["kato_kiyoshi_elderly_parent"]
    attorney = next(p for p in yoko.related if p.person_key == father)
    assert attorney.via == "power_of_attorney" and attorney.power_of_attorney_scope
    assert yoko.value("ltc_insurance", father, "care_level") == "care_4"


def test_an_expired_power_of_attorney_lets_nobody_in(seeded):
    with seeded.app_context():
        document = demo_extract(
            db.session,
            KEY["kimura_yoko_power_of_attorney"],
            ["resident_register"],
            now=datetime(2027, 10, 1, tzinfo=UTC),
            today=date(2027, 10, 1),
        )
    assert KEY["kato_kiyoshi_elderly_parent"] not in {p.person_key for p in document.related}


def test_the_household_of_a_deceased_head_awaits_a_new_head(seeded, source):
    with seeded.app_context():
        extract = source.fetch(KEY["suzuki_sachiko_widow"], ["resident_register"])
    taro = KEY["suzuki_taro_deceased"]
    assert extract.value("resident_register", taro, "status") == "deceased"
    assert extract.value("resident_register", taro, "is_household_head") is True
    assert extract.value("resident_register", extract.person_key, "household_head_key") == taro
    assert extract.value("resident_register", extract.person_key, "household_size") == 2


def test_no_record_anywhere_makes_a_missing_source(seeded, source):
    with seeded.app_context():
        extract = source.fetch(KEY["watanabe_takumi_moving_in"], ALL_SOURCES)
    assert extract.sources == frozenset()
    assert extract.missing_sources == frozenset(ALL_SOURCES)
    assert extract.records("resident_register") == {}
    assert extract.source_fetched_at("resident_register") is None


def test_an_unknown_person_gets_an_empty_extract(seeded, source):
    with seeded.app_context():
        extract = source.fetch("demo-9999", ["nhi", "seal"])
    assert extract.person_key == "demo-9999"
    assert extract.missing_sources == {"nhi", "seal"}
    assert extract.related == ()


def test_an_unknown_register_or_path_is_a_programming_mistake(seeded, source):
    with seeded.app_context():
        with pytest.raises(ValueError, match="passport"):
            source.fetch(KEY["sato_kenichi_father"], ["passport"])
        extract = source.fetch(KEY["sato_kenichi_father"], ["nhi"])
    with pytest.raises(KeyError):
        extract.value("nhi", extract.person_key, "insured_numbr")
    assert extract.value("nhi", extract.person_key, "insured_number") == "01-100001"


def test_a_failing_read_is_a_register_unavailable_and_spares_the_transaction(
    seeded, source, monkeypatch
):
    def broken(*args, **kwargs):
        raise OperationalError("SELECT", {}, Exception("disk I/O error"))

    with seeded.app_context():
        monkeypatch.setattr(services, "demo_extract", broken)
        with pytest.raises(RegisterUnavailable, match="demo registers unreadable"):
            source.fetch(KEY["sato_kenichi_father"], ["nhi"])
        assert db.session.scalar(select(func.count()).select_from(Person)) == 33


def test_the_empty_extract_lists_every_register_as_missing():
    extract = RegisterExtract.empty("x-1", ["seal", "nhi", "seal"], datetime.now(UTC))
    assert extract.document.missing_sources == ["nhi", "seal"]


def test_the_readiness_check_counts_the_demo_persons(seeded, client):
    body = client.get("/readyz").get_json()
    assert body["checks"]["records"] == {"ok": True, "detail": "demo registers, 33 persons"}
