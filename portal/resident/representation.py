"""Filing for a living person: who acts, for whom, in what scope, and the power of attorney.

A resident may file as the representative of someone who gave them a power of attorney.
When the register holds that power of attorney (and it has not expired), the portal
reads the represented person's records on that ground and fills the applicant's part of
the form with them; otherwise the resident types the represented person in and the
clerk checks the power of attorney. Either way the application records who acted, for
whom and in what scope, every chosen procedure must allow a representative, and one
power of attorney is supplied for all of them (a built-in document requirement).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from portal.definitions.journey import Journey
from portal.definitions.schema import Document, TextPair
from portal.records.extract import RegisterExtract

SELF = "self"
OTHER = "other"
POWER_OF_ATTORNEY = "power_of_attorney"
PROVEN_BY_REGISTER = "register"
DECLARED = "declared"
MAX_TEXT = 200

# The document every procedure filed by a representative needs, whatever its definition
# says: one upload serves all of them.
POWER_OF_ATTORNEY_DOCUMENT = Document(
    id="power_of_attorney",
    label=TextPair(ja="委任状", en="Power of attorney"),
    hint=TextPair(
        ja="ご本人が署名（または記名押印）した委任状です。委任する手続きの範囲と日付が"
        "書かれているものをご用意ください。",
        en="Signed (or named and sealed) by the person you act for, saying which "
        "procedures you may file for them, and dated.",
    ),
    alternatives=["counter", "post"],
)
DOCUMENT_KEY = f"representation.{POWER_OF_ATTORNEY_DOCUMENT.id}"


@dataclass(frozen=True)
class Principal:
    """Someone the register says the resident holds a power of attorney for (unexpired)."""

    person_key: str
    name: str
    relationship: str | None
    scope: str


def allowed(journey: Journey) -> bool:
    """True when at least one chosen procedure may be filed by a representative."""
    return any("representative" in p.model.rules.who_may_file for p in journey.procedures)


def principals(extract: RegisterExtract | None) -> list[Principal]:
    """The persons the register lets the resident act for, from the fetched extract."""
    if extract is None:
        return []
    found = []
    for person in extract.related:
        if person.via != POWER_OF_ATTORNEY:
            continue
        name = extract.value("resident_register", person.person_key, "name")
        shown = (
            f"{name.get('family', '')} {name.get('given') or ''}".strip()
            if isinstance(name, Mapping)
            else person.person_key
        )
        found.append(
            Principal(
                person_key=person.person_key,
                name=shown,
                relationship=person.relationship,
                scope=person.power_of_attorney_scope or "",
            )
        )
    return found


def for_principal(principal: Principal) -> dict[str, Any]:
    """The representation block for a power of attorney the register holds."""
    return {
        "kind": POWER_OF_ATTORNEY,
        "proven_by": PROVEN_BY_REGISTER,
        "person_key": principal.person_key,
        "name": principal.name,
        "relationship": principal.relationship,
        "scope": principal.scope,
    }


def declared(name: str, scope: str) -> dict[str, Any]:
    """The representation block for a power of attorney only the resident can show."""
    return {
        "kind": POWER_OF_ATTORNEY,
        "proven_by": DECLARED,
        "person_key": None,
        "name": name,
        "relationship": None,
        "scope": scope,
    }


def clean_text(value: str | None) -> str:
    """A typed name or scope: trimmed, single-spaced, no control characters."""
    text = " ".join((value or "").split())
    return "".join(ch for ch in text if ch.isprintable())


def representing(register: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The representation block of a draft or application, when it files for someone."""
    block = register.get("representation")
    if isinstance(block, Mapping) and block.get("kind") == POWER_OF_ATTORNEY:
        return block
    return None


def decided(register: Mapping[str, Any]) -> bool:
    """Whether the resident has said for whom they file."""
    return isinstance(register.get("representation"), Mapping)


def choose(
    chosen: str, principals: list[Principal], name: str, scope: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """The representation block for the resident's choice, and problems by form field.

    Problems are codes: ``missing`` or ``too_long``; ``filing_for`` when nothing valid
    was chosen.
    """
    by_key = {principal.person_key: principal for principal in principals}
    if chosen == SELF:
        return {"kind": SELF}, {}
    if chosen in by_key:
        return for_principal(by_key[chosen]), {}
    if chosen != OTHER:
        return {}, {"filing_for": "missing"}
    problems = {}
    for key, text in (("other_name", name), ("other_scope", scope)):
        if not text:
            problems[key] = "missing"
        elif len(text) > MAX_TEXT:
            problems[key] = "too_long"
    return declared(name, scope), problems


def shown_choice(block: Mapping[str, Any] | None) -> str | None:
    """The radio button that stands for a stored block."""
    if not block:
        return None
    if block.get("kind") == SELF:
        return SELF
    return block.get("person_key") or OTHER


def described(block: Mapping[str, Any] | None, lang: str) -> str | None:
    """Whom a representative filed for and in what scope, as receipts and notices say it."""
    if not block:
        return None
    if lang == "en":
        return f"{block['name']} (power of attorney: {block['scope']})"
    return f"{block['name']}（委任の範囲：{block['scope']}）"
