"""Push suggestions from the demo registers and the shipped definitions."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from portal.catalogue.services import published_catalogue
from portal.definitions.catalogue import Catalogue
from portal.extensions import db
from portal.records.demo_data import REFERENCE_DATE
from portal.records.extract import RegisterExtract
from portal.records.schema import REGISTERS
from portal.records.services import demo_extract, seed_demo_registers
from portal.resident.suggestions import Suggestion, registers_used, suggest

SATO_FATHER = "demo-0001"  # his daughter demo-0004 was born on 18 November 2026
SATO_NEWBORN = "demo-0004"
SATO_SIBLING = "demo-0003"
NAKAMURA_SON = "demo-0024"  # a two-year-old at home; his father demo-0023 died at 67
NAKAMURA_FATHER = "demo-0023"
KOBAYASHI_ALONE = "demo-0030"  # lives alone, no relatives on record
NEW_BABY_PROCEDURES = {
    "child_allowance_claim",
    "child_medical_subsidy",
    "newborn_my_number_notice",
    "newborn_home_visit",
}


@pytest.fixture
def registers(procedures_loaded):
    """The published catalogue and a reader of demo extracts of every register."""
    app = procedures_loaded
    with app.app_context():
        seed_demo_registers(db.session)
        db.session.commit()
        catalogue, _pins = published_catalogue(db.session)

        def extract_of(person_key: str) -> RegisterExtract:
            now = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
            document = demo_extract(db.session, person_key, REGISTERS, now, REFERENCE_DATE)
            assert document is not None
            return RegisterExtract(document)

        yield catalogue, extract_of


def by_procedure(suggestions: list[Suggestion]) -> dict[str, Suggestion]:
    return {suggestion.procedure_id: suggestion for suggestion in suggestions}


def suggestions_for(
    registers: tuple[Catalogue, object],
    person_key: str,
    *,
    filed: set[str] | frozenset[str] = frozenset(),
    today: date = REFERENCE_DATE,
    consented: tuple[str, ...] = REGISTERS,
) -> dict[str, Suggestion]:
    catalogue, extract_of = registers
    return by_procedure(
        suggest(catalogue, extract_of(person_key), filed, today, consented=consented)
    )


def test_a_newborn_in_the_household_brings_the_new_baby_procedures(registers) -> None:
    found = suggestions_for(registers, SATO_FATHER)
    assert set(found) == NEW_BABY_PROCEDURES
    subsidy = found["child_medical_subsidy"]
    assert subsidy.life_event_id == "childcare"
    assert subsidy.mode == "online"
    assert subsidy.concerned_key == SATO_NEWBORN
    assert subsidy.facts == (
        "childcare_stage",
        "child_birth_date",
        "applicant_relationship_to_head",
        "child_relationship_to_head",
    )
    assert subsidy.title.en.startswith("Child medical subsidy")
    assert found["newborn_home_visit"].mode == "automatic"


def test_the_reason_names_the_register_the_person_and_the_facts_in_both_languages(
    registers,
) -> None:
    reason = suggestions_for(registers, SATO_FATHER)["child_medical_subsidy"].reason
    assert reason.en == (
        "From the city's records (Resident register), about 佐藤 結衣 (your child, born "
        "18 November 2026): A baby has been born; Your child's date of birth: "
        "18 November 2026 (Reiwa 8); Your relationship to the head of the household: "
        "The head of the household; Your child's relationship to the head of the "
        "household: Child."
    )
    assert reason.ja == (
        "市の記録（住民基本台帳）より、佐藤 結衣（子・令和8年11月18日生）について："
        "赤ちゃんが生まれた、お子さんの生年月日：2026年11月18日（令和8年）、"
        "申請者の世帯主との続柄：世帯主本人、お子さんの世帯主との続柄：子。"
    )


def test_a_filed_procedure_is_not_suggested_again(registers) -> None:
    found = suggestions_for(registers, SATO_FATHER, filed={"child_medical_subsidy"})
    assert set(found) == NEW_BABY_PROCEDURES - {"child_medical_subsidy"}


def test_a_person_without_children_or_bereavement_gets_nothing(registers) -> None:
    assert suggestions_for(registers, KOBAYASHI_ALONE) == {}


def test_a_brother_of_the_newborn_is_not_its_parent(registers) -> None:
    assert suggestions_for(registers, SATO_SIBLING) == {}


def test_a_baby_who_died_brings_no_new_baby_procedures(registers) -> None:
    catalogue, extract_of = registers
    document = extract_of(SATO_FATHER).document
    residents = next(item for item in document.sources if item.source == "resident_register")
    records = dict(residents.records)
    records[SATO_NEWBORN] = records[SATO_NEWBORN].model_copy(
        update={"status": "deceased", "death_date": date(2026, 11, 25)}
    )
    sources = [
        residents.model_copy(update={"records": records}) if item is residents else item
        for item in document.sources
    ]
    extract = RegisterExtract(document.model_copy(update={"sources": sources}))
    found = suggest(catalogue, extract, (), REFERENCE_DATE, consented=REGISTERS)
    assert not {suggestion.procedure_id for suggestion in found} & NEW_BABY_PROCEDURES


def test_procedures_the_registers_cannot_decide_are_not_suggested(registers) -> None:
    found = suggestions_for(registers, SATO_FATHER)
    # Joining NHI, a nursery place and the birth registration turn on answers only the
    # resident can give; expecting a baby is ruled out by the birth.
    for undecided in ("nhi_join", "nursery_application", "birth_registration", "pregnancy_notice"):
        assert undecided not in found


def test_a_child_past_the_first_year_is_no_newborn(registers) -> None:
    assert suggestions_for(registers, SATO_FATHER, today=date(2027, 11, 18)) == {}
    found = suggestions_for(registers, NAKAMURA_SON)
    assert not {suggestion.life_event_id for suggestion in found.values()} & {"childcare"}


def test_only_consented_registers_are_read(registers) -> None:
    without_residents = tuple(source for source in REGISTERS if source != "resident_register")
    assert suggestions_for(registers, SATO_FATHER, consented=without_residents) == {}
    assert set(suggestions_for(registers, SATO_FATHER, consented=("resident_register",))) == (
        NEW_BABY_PROCEDURES
    )


def test_a_deceased_parent_brings_what_his_age_decides(registers) -> None:
    found = suggestions_for(registers, NAKAMURA_SON)
    # He died at 67: long-term care ends (65 and over); not late-stage elderly (75).
    assert set(found) == {"ltc_insurance_loss"}
    loss = found["ltc_insurance_loss"]
    assert (loss.life_event_id, loss.concerned_key) == ("bereavement", NAKAMURA_FATHER)
    assert loss.facts == ("deceased_birth_date", "death_date")
    assert "Date of death: 22 November 2026" in loss.reason.en
    assert "亡くなった日：2026年11月22日" in loss.reason.ja


def test_suggestions_need_only_the_resident_register(registers) -> None:
    catalogue, _extract_of = registers
    assert registers_used(catalogue) == {"resident_register"}
