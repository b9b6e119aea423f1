"""Every `prefill` of the shipped definitions reads a value the demo registers hold.

The mappings are taken from the definitions themselves, so a new or renamed
`prefill.path` that no register provides fails here rather than in a resident's form.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from portal.definitions.fields import ADDRESS_PARTS, load_value
from portal.definitions.loader import load_catalogue
from portal.records import demo_data
from portal.records.schema import has_path
from portal.records.sources import DemoRecordSource, SourceOptions
from tests.conftest import PROCEDURES
from tests.records.conftest import ALL_SOURCES

KEY_BY_PERSONA = {person.persona: person.key for person in demo_data.PERSONS}

# (applicant, person concerned) of each life event's demo cases.
CASES = {
    "childcare": [
        ("sato_kenichi_father", "sato_yui_newborn"),
        ("sato_hanako_new_mother", "sato_yui_newborn"),
        ("yoshida_mari_single_parent", "yoshida_aoi_nursery_child"),
        ("tanaka_misaki_pregnant", None),
    ],
    "moving": [
        ("takahashi_daiki_moving_out", "takahashi_ren_pupil"),
        ("ito_shota_moving_within", "ito_chiyo_care_support"),
        ("watanabe_takumi_moving_in", None),
    ],
    "bereavement": [
        ("suzuki_ichiro_funeral_host_osaka", "suzuki_taro_deceased"),
        ("suzuki_sachiko_widow", "suzuki_taro_deceased"),
        ("yamamoto_yoko_widow_funeral_host", "yamamoto_makoto_deceased"),
        ("nakamura_kenta_heir_funeral_host", "nakamura_masaru_deceased"),
    ],
}


def _prefills(node: Any, where: str) -> Iterator[tuple[str, dict]]:
    """Every `prefill` mapping anywhere in a parsed YAML document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "prefill" and isinstance(value, dict):
                yield where, value
            else:
                yield from _prefills(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _prefills(item, f"{where}[{index}]")


RAW_MAPPINGS = [
    (f"{path.relative_to(PROCEDURES)}:{where}", mapping)
    for path in sorted(PROCEDURES.rglob("*.yaml"))
    for where, mapping in _prefills(yaml.safe_load(path.read_text(encoding="utf-8")), "")
]


def test_the_definitions_do_prefill():
    assert len(RAW_MAPPINGS) >= 15


@pytest.mark.parametrize("where, mapping", RAW_MAPPINGS, ids=[w for w, _ in RAW_MAPPINGS])
def test_every_prefill_path_names_a_register_value(where, mapping):
    assert has_path(mapping["source"], mapping["path"]), (where, mapping)


def _prefilled_fields() -> list[tuple[str, str, Any, list[str]]]:
    """(owner, field id, field, life events) of every prefilled field the catalogue uses."""
    catalogue = load_catalogue(PROCEDURES)
    found = []
    for procedure_id, procedure in sorted(catalogue.procedures.items()):
        events = [event.id for event in catalogue.life_events_with(procedure_id)]
        for field_id, spec in procedure.fields.items():
            if getattr(spec, "prefill", None):
                found.append((procedure_id, field_id, spec, events))
    for event_id, event in sorted(catalogue.life_events.items()):
        for field_id, spec in {**event.shared.fields, **event.questionnaire.fields}.items():
            if getattr(spec, "prefill", None):
                found.append((event_id, field_id, spec, [event_id]))
    return found


PREFILLED = _prefilled_fields()


@pytest.fixture
def extracts(seeded):
    """The demo extract of every case's applicant, all registers asked for."""
    source = DemoRecordSource(SourceOptions(timezone="Asia/Tokyo"))
    with seeded.app_context():
        return {
            applicant: source.fetch(KEY_BY_PERSONA[applicant], ALL_SOURCES)
            for cases in CASES.values()
            for applicant, _ in cases
        }


def _check_fits(spec: Any, value: object) -> None:
    """The value is one the field's type accepts as stored data."""
    if spec.type == "address_jp":
        assert tuple(value) == ADDRESS_PARTS
        assert (value["prefecture"], value["city"]) == (demo_data.PREFECTURE, demo_data.CITY)
        if demo_data.PREFECTURE is None:
            # address_jp wants a prefecture for an address in Japan, and 窓口市 has
            # none: the parts are checked above instead of loading the value.
            return
    assert load_value(spec, value) == value


def test_every_prefilled_field_resolves_for_a_demo_case(extracts):
    """Each mapping reads a value for a case of its own life event or, for a fact that
    life event only checks for (a newborn who died), for a case of another."""
    assert len(PREFILLED) >= 40
    for owner, field_id, spec, events in PREFILLED:
        prefill = spec.prefill
        resolved = []
        for event in [*events, *(other for other in CASES if other not in events)]:
            for applicant, concerned in CASES[event]:
                subject = applicant if prefill.subject == "applicant" else concerned
                if subject is None:
                    continue
                value = extracts[applicant].value(
                    prefill.source, KEY_BY_PERSONA[subject], prefill.path
                )
                if value is not None:
                    _check_fits(spec, value)
                    resolved.append(applicant)
        assert resolved, f"{owner}.{field_id}: {prefill.source}.{prefill.path} never resolves"


def test_the_bereavement_prefills_read_the_deceased_through_every_applicant(extracts):
    ichiro = extracts["suzuki_ichiro_funeral_host_osaka"]
    taro = KEY_BY_PERSONA["suzuki_taro_deceased"]
    assert ichiro.value("resident_register", taro, "name.family_kana") == "スズキ"
    assert str(ichiro.value("resident_register", taro, "death_date")) == "2026-11-20"
    assert ichiro.value("late_elderly", taro, "insured_number") == "12345678"
    assert ichiro.value("ltc_insurance", taro, "insured_number") == "0000123456"
    assert ichiro.value("resident_register", ichiro.person_key, "address") is None

    yoko = extracts["yamamoto_yoko_widow_funeral_host"]
    makoto = KEY_BY_PERSONA["yamamoto_makoto_deceased"]
    assert yoko.value("nhi", makoto, "insured_number") == "12-345678"
    assert yoko.value("disability", makoto, "certificate_number") == "第1234号"
    assert yoko.value("public_fund_account", yoko.person_key, "account")["holder_kana"] == (
        "ヤマモト ヨウコ"
    )

    kenta = extracts["nakamura_kenta_heir_funeral_host"]
    masaru = KEY_BY_PERSONA["nakamura_masaru_deceased"]
    assert kenta.value("ltc_insurance", masaru, "care_level") == "care_2"
    certificates = kenta.value("disability", masaru, "certificates")
    assert [c["certificate_number"] for c in certificates] == ["第2345号", "精第0456号"]
