"""The demo data is made of values the definition engine accepts, and can be nobody real."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from portal.definitions import japanese
from portal.records import demo_data
from portal.records.models import CARE_LEVELS, CERTIFICATE_KINDS, RELATIONSHIPS_TO_HEAD

PERSONS = {person.key: person for person in demo_data.PERSONS}


def test_keys_and_personas_are_stable_slugs_and_unique():
    assert len(PERSONS) == len(demo_data.PERSONS) >= 30
    assert all(re.fullmatch(r"demo-[0-9]{4}", key) for key in PERSONS)
    personas = [person.persona for person in demo_data.PERSONS]
    assert len(set(personas)) == len(personas)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", persona) for persona in personas)
    assert all(person.description for person in demo_data.PERSONS)


@pytest.mark.parametrize("person", demo_data.PERSONS, ids=lambda p: p.persona)
def test_names_are_what_the_name_field_would_store(person):
    name = japanese.parse_person_name(
        person.family, person.given, person.family_kana, person.given_kana
    )
    assert (name.family, name.given, name.family_kana, name.given_kana) == (
        person.family,
        person.given,
        person.family_kana,
        person.given_kana,
    )


def test_addresses_cannot_be_real_ones():
    for household in demo_data.HOUSEHOLDS:
        assert japanese.parse_postal_code(household.postal_code) == household.postal_code
        assert household.postal_code.startswith("000")
        assert japanese.lookup_postal_code(household.postal_code) == []


def test_every_household_has_one_head_and_members():
    members = Counter(person.household for person in demo_data.PERSONS if person.household)
    assert set(members) == {household.key for household in demo_data.HOUSEHOLDS}
    assert len(demo_data.HOUSEHOLDS) >= 12
    for household in demo_data.HOUSEHOLDS:
        heads = [p for p in demo_data.PERSONS if p.household == household.key]
        assert [p.relationship_to_head for p in heads].count("head") == 1, household.key
    for person in demo_data.PERSONS:
        assert (person.household is None) == (person.relationship_to_head is None)
        assert (person.household is None) == (person.moved_in_date is None)
        assert person.relationship_to_head in (None, *RELATIONSHIPS_TO_HEAD)


def test_every_register_record_belongs_to_a_known_person_alive_on_the_register_date():
    keyed = (
        demo_data.RESIDENT_TAXES,
        demo_data.NHI,
        demo_data.LATE_ELDERLY,
        demo_data.LTC,
        demo_data.SEALS,
        demo_data.CHILD_ALLOWANCES,
        demo_data.PUBLIC_FUND_ACCOUNTS,
    )
    for register in keyed:
        assert set(register) <= set(PERSONS)
    for allowance in demo_data.CHILD_ALLOWANCES.values():
        assert all(PERSONS[child].household for child in allowance.children)
    for certificate in demo_data.DISABILITY_CERTIFICATES:
        assert certificate.person in PERSONS and certificate.kind in CERTIFICATE_KINDS
    for membership in demo_data.LTC.values():
        assert membership.care_level in (None, *CARE_LEVELS)
    for relation in demo_data.RELATIONS:
        assert relation.person in PERSONS and relation.related in PERSONS
    for person in demo_data.PERSONS:
        assert person.birth_date <= demo_data.REFERENCE_DATE
        if person.death_date:
            assert person.birth_date < person.death_date <= demo_data.REFERENCE_DATE


def test_late_elderly_members_are_75_or_over_and_nhi_members_are_not():
    def age(key: str) -> int:
        born = PERSONS[key].birth_date
        on = PERSONS[key].death_date or demo_data.REFERENCE_DATE
        return on.year - born.year - ((on.month, on.day) < (born.month, born.day))

    assert all(age(key) >= 75 for key in demo_data.LATE_ELDERLY)
    assert all(age(key) < 75 for key in demo_data.NHI)
    assert not set(demo_data.NHI) & set(demo_data.LATE_ELDERLY)


@pytest.mark.parametrize(
    "key, account", demo_data.PUBLIC_FUND_ACCOUNTS.items(), ids=list(demo_data.PUBLIC_FUND_ACCOUNTS)
)
def test_accounts_are_what_the_bank_account_field_would_store(key, account):
    if account.yucho_kigou:
        parsed = japanese.parse_yucho(
            account.yucho_kigou, account.yucho_bangou, account.holder_kana
        )
    else:
        parsed = japanese.parse_bank_account(
            account.bank_code,
            account.branch_code,
            account.account_type,
            account.account_number,
            account.holder_kana,
        )
    assert (parsed.bank_code, parsed.branch_code, parsed.account_number, parsed.holder_kana) == (
        account.bank_code,
        account.branch_code,
        account.account_number,
        account.holder_kana,
    )
    assert parsed.account_type == account.account_type
