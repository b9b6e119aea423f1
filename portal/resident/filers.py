"""Who may file: the filer's standing towards the person concerned, checked per procedure.

A procedure says who may file it (`who_may_file`: self, representative, funeral_host,
heir, household_member, relative). When the resident chose the person concerned from
the persons the register relates to them, the register proves their standing; the
funeral host is what the resident declares. A procedure none of these roles may file is
named before submit, and the submit refuses it. Without register proof (the resident
typed the person in, or declined the register) the clerk checks the standing instead.
Someone filing with a power of attorney may file only what allows a representative.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from portal.definitions.journey import Journey
from portal.definitions.schema import TextPair
from portal.records.extract import RegisterExtract
from portal.resident.representation import representing

ROLE_NAMES = {
    "self": TextPair(ja="本人", en="the person themselves"),
    "representative": TextPair(
        ja="代理人（委任状のある方）", en="a representative with a power of attorney"
    ),
    "funeral_host": TextPair(ja="葬儀の喪主（施主）", en="the host of the funeral"),
    "heir": TextPair(ja="相続人", en="an heir"),
    "household_member": TextPair(ja="同じ世帯の方", en="a member of the household"),
    "relative": TextPair(ja="親族", en="a relative"),
}

# Relations to the deceased under which the Civil Code makes a person an heir
# (民法第887条・第889条・第890条): spouse, children and their descendants, parents and
# other ascendants, siblings.
HEIR_RELATIONSHIPS = frozenset(
    {"spouse", "child", "grandchild", "parent", "grandparent", "sibling"}
)


def proven_roles(register: Mapping[str, Any], answers: Mapping[str, object]) -> set[str] | None:
    """The filer's roles towards the person concerned; None when the register proves none.

    A representative files in the represented person's name: whether the register or
    only the uploaded power of attorney proves it, their one role is representative.
    """
    if representing(register) is not None:
        return {"representative"}
    concerned = register.get("concerned")
    extract = register.get("extract") or {}
    related = {person["person_key"]: person for person in extract.get("related", [])}
    person = related.get(concerned) if concerned else None
    if person is None:
        return None
    roles: set[str] = set()
    # Filing about a living family member (a parent claiming for their baby) is filing
    # in one's own right; about someone who died it never is.
    if not _died(extract, concerned):
        roles.add("self")
    relationship = person.get("relationship")
    if person.get("via") == "household":
        roles.add("household_member")
    if person.get("via") == "power_of_attorney":
        roles.add("representative")
    if relationship and relationship != "other":
        roles.add("relative")
    if relationship in HEIR_RELATIONSHIPS:
        roles.add("heir")
    if answers.get("funeral_host_is_applicant") is True:
        roles.add("funeral_host")
    return roles


def _died(extract: Mapping[str, Any], person_key: str) -> bool:
    """Whether the fetched resident register says the person died."""
    register = RegisterExtract.from_stored(extract)
    died_on = register.value("resident_register", person_key, "death_date")
    return died_on is not None


def procedures_not_allowed(
    journey: Journey, register: Mapping[str, Any], answers: Mapping[str, object]
) -> list[str]:
    """The chosen procedures that the filer's proven roles do not allow them to file."""
    roles = proven_roles(register, answers)
    if roles is None:
        return []
    return [
        procedure.id
        for procedure in journey.procedures
        if not roles & set(procedure.model.rules.who_may_file)
    ]
