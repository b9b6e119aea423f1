"""The compiled catalogue: lookups, derived values and version hashes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from portal.definitions.expressions import UNKNOWN, default_context
from portal.definitions.loader import load_catalogue
from tests.definitions.support import VALID, valid_catalogue

CONTEXT = default_context(date(2026, 11, 27))


def copy_bundle(target: Path) -> Path:
    for path in VALID.rglob("*.yaml"):
        destination = target / path.relative_to(VALID)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_lookups() -> None:
    catalogue = valid_catalogue()
    assert (
        catalogue.procedure("nhi_loss").model.title.en == "National Health Insurance: end of cover"
    )
    assert [event.id for event in catalogue.life_events_with("nhi_loss")] == ["bereavement"]
    assert catalogue.life_events_with("unlisted") == []
    assert sorted(catalogue.queues) == [
        "citizens",
        "insurance_pension",
        "insurance_pension.review",
    ]


def test_derived_values_are_computed_from_answers() -> None:
    rules = valid_catalogue().procedure("nhi_funeral_grant").rules
    answers = {"deceased_birth_date": date(1955, 4, 1), "death_date": date(2026, 11, 20)}
    assert rules.derived(answers, CONTEXT) == {"deceased_age": 71}
    assert rules.derived({}, CONTEXT) == {"deceased_age": UNKNOWN}
    values = rules.with_derived(answers, CONTEXT)
    assert values["deceased_age"] == 71
    assert values["death_date"] == date(2026, 11, 20)
    assert set(values) == {"deceased_birth_date", "death_date", "deceased_age"}


def test_content_hash_is_stable_and_ignores_layout(tmp_path: Path) -> None:
    original = valid_catalogue().procedure("nhi_loss").content_hash
    assert len(original) == 64
    bundle = copy_bundle(tmp_path)
    nhi_loss = bundle / "procedures" / "nhi-loss.yaml"
    # Comments, key order and an explicit default change nothing that matters.
    edit(
        nhi_loss,
        "department: insurance_pension\n",
        "# moved\nmode: online\ndepartment: insurance_pension\n",
    )
    assert load_catalogue(bundle).procedure("nhi_loss").content_hash == original


def test_content_hash_changes_with_the_definition_or_a_dictionary_field_it_uses(
    tmp_path: Path,
) -> None:
    before = valid_catalogue()
    bundle = copy_bundle(tmp_path)
    edit(bundle / "procedures" / "nhi-loss.yaml", "service_level_days: 5", "service_level_days: 6")
    edit(bundle / "dictionary.yaml", "en: Phone number", "en: Your phone number")
    after = load_catalogue(bundle)
    assert after.procedure("nhi_loss").content_hash != before.procedure("nhi_loss").content_hash
    # The grant uses the phone number too; the automatic procedure does not.
    assert (
        after.procedure("nhi_funeral_grant").content_hash
        != before.procedure("nhi_funeral_grant").content_hash
    )
    assert after.procedure("seal_ends").content_hash == before.procedure("seal_ends").content_hash
    assert (
        after.life_event("bereavement").content_hash
        == before.life_event("bereavement").content_hash
    )
