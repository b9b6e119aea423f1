"""`flask demo seed` and `flask demo personas`: the demo registers as an operator fills them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from portal.extensions import db
from portal.records import demo_data
from portal.records.models import (
    ChildAllowanceChild,
    DisabilityCertificate,
    Household,
    LtcMembership,
    NhiMembership,
    Person,
    Relation,
)
from portal.records.services import persona_person_key, seed_demo_registers


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _person(persona: str) -> Person:
    return db.session.scalar(select(Person).where(Person.persona == persona))


def test_seed_fills_the_registers_and_a_second_run_changes_nothing(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    assert "33 persons (33 new) in 12 households" in first.output
    assert "register_nhi_memberships: 15" in first.output

    second = runner.invoke(args=["demo", "seed"])
    assert second.exit_code == 0, second.output
    assert "33 persons (0 new) in 12 households" in second.output
    assert first.output.splitlines()[1:] == second.output.splitlines()[1:]
    with app.app_context():
        assert _count(Person) == 33
        assert _count(Household) == 12
        assert _count(ChildAllowanceChild) == 6


def test_seed_puts_back_what_was_changed_or_removed_and_keeps_other_people(app):
    with app.app_context():
        seed_demo_registers(db.session)
        db.session.commit()
        widow = _person("suzuki_sachiko_widow")
        widow.family_name = "佐々木"
        db.session.delete(db.session.scalar(select(NhiMembership).limit(1)))
        stranger = Person(
            person_key="other-0001",
            persona="someone_else",
            status="non_resident",
            family_name="他",
            given_name=None,
            family_name_kana="ホカ",
            given_name_kana=None,
            birth_date=date(1980, 1, 1),
            sex="female",
            my_number_on_file=False,
        )
        db.session.add(stranger)
        db.session.commit()

        report = seed_demo_registers(db.session)
        db.session.commit()

        assert report.persons_created == 0
        assert _person("suzuki_sachiko_widow").family_name == "鈴木"
        assert _count(NhiMembership) == len(demo_data.NHI)
        assert _count(Person) == 34
        assert persona_person_key(db.session, "someone_else") == "other-0001"


def test_the_scenario_persons_are_there(seeded):
    with seeded.app_context():
        newborn = _person("sato_yui_newborn")
        assert newborn.birth_date == date(2026, 11, 18)
        assert (demo_data.REFERENCE_DATE - newborn.birth_date).days <= 14
        mother = _person("sato_hanako_new_mother")
        assert mother.household_id == newborn.household_id
        assert db.session.scalar(select(NhiMembership).where(NhiMembership.person_id == mother.id))
        assert not db.session.scalar(
            select(NhiMembership).where(NhiMembership.person_id == newborn.id)
        )

        deceased = {
            persona: _person(persona)
            for persona in (
                "suzuki_taro_deceased",
                "yamamoto_makoto_deceased",
                "nakamura_masaru_deceased",
            )
        }
        ages = {
            persona: _age(person.birth_date, person.death_date)
            for persona, person in deceased.items()
        }
        assert ages == {
            "suzuki_taro_deceased": 78,
            "yamamoto_makoto_deceased": 60,
            "nakamura_masaru_deceased": 67,
        }
        assert all(person.status == "deceased" for person in deceased.values())
        masaru = deceased["nakamura_masaru_deceased"]
        care = db.session.scalar(select(LtcMembership).where(LtcMembership.person_id == masaru.id))
        assert care.care_level == "care_2"
        assert db.session.scalar(
            select(DisabilityCertificate).where(DisabilityCertificate.person_id == masaru.id)
        )

        host = _person("suzuki_ichiro_funeral_host_osaka")
        assert host.status == "non_resident" and host.household_id is None
        attorney = db.session.scalar(
            select(Relation).where(
                Relation.person_id == _person("kimura_yoko_power_of_attorney").id
            )
        )
        assert attorney.power_of_attorney_scope
        assert attorney.related_person_id == _person("kato_kiyoshi_elderly_parent").id
        assert persona_person_key(db.session, "sato_hanako_new_mother") == "demo-0002"
        assert persona_person_key(db.session, "nobody") is None


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def test_personas_lists_every_persona_with_a_description(app):
    result = app.test_cli_runner().invoke(args=["demo", "personas"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == len(demo_data.PERSONS)
    hanako = next(line for line in lines if line.startswith("sato_hanako_new_mother "))
    assert "demo-0002" in hanako and "Mother of a baby" in hanako
