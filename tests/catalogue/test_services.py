"""Stored definition versions: loading, pins, and catalogues rebuilt from old pins."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.audit.services import verify_chain
from portal.catalogue import services
from portal.catalogue.models import DefinitionVersion
from portal.catalogue.services import (
    CatalogueError,
    catalogue_for_pins,
    check_sources,
    definition_summaries,
    load_directory,
    published_catalogue,
    published_pins,
    version_history,
)
from portal.database import utcnow
from portal.definitions.lint import lint_paths
from portal.extensions import db
from tests.catalogue.conftest import BUNDLE_KEYS, replace_in
from tests.definitions.support import BASE_FILES, BROKEN

PROCEDURES = Path(__file__).resolve().parents[2] / "procedures"
SEAL_TITLE = "en: Seal registration ends}"


def _numbers() -> dict[str, int]:
    """The newest stored number of every definition, keyed `kind:id`."""
    rows = db.session.execute(
        select(
            DefinitionVersion.kind,
            DefinitionVersion.definition_id,
            func.max(DefinitionVersion.number),
        ).group_by(DefinitionVersion.kind, DefinitionVersion.definition_id)
    )
    return {f"{kind}:{definition_id}": number for kind, definition_id, number in rows}


def _audit_entries() -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_loading_stores_version_1_of_every_definition_with_an_audit_entry_each(app, bundle):
    with app.app_context():
        report = load_directory(db.session, bundle, actor="admin:sato")
        db.session.commit()

        assert report.issues == ()
        assert report.unchanged == ()
        assert {f"{v.kind}:{v.definition_id}" for v in report.created} == BUNDLE_KEYS
        assert _numbers() == dict.fromkeys(BUNDLE_KEYS, 1)

        grant = version_history(db.session, "procedure", "nhi_funeral_grant")[0]
        assert grant.status == "published"
        assert grant.published_at is not None
        assert grant.created_by == "admin:sato"
        assert grant.source_name == "procedures/nhi-funeral-grant.yaml"
        source = bundle / "procedures" / "nhi-funeral-grant.yaml"
        assert grant.source_text == source.read_bytes().decode("utf-8")

        entries = _audit_entries()
        assert {entry.subject_id for entry in entries} == BUNDLE_KEYS
        assert {entry.action for entry in entries} == {"definition.version_loaded"}
        grant_entry = next(e for e in entries if e.subject_id == "procedure:nhi_funeral_grant")
        assert grant_entry.actor == "admin:sato"
        assert grant_entry.subject_type == "definition"
        assert grant_entry.details == {"number": 1, "content_hash": grant.content_hash}
        assert verify_chain(db.session).intact


def test_loading_the_same_files_again_stores_nothing(app, bundle):
    with app.app_context():
        load_directory(db.session, bundle, actor="admin:sato")
        db.session.commit()
        # Whitespace and comments are not content: the validated definition is the same.
        replace_in(bundle / "dictionary.yaml", "kind: dictionary\n", "kind: dictionary  # ok\n")

        again = load_directory(db.session, bundle, actor="admin:sato")
        db.session.commit()

        assert again.created == ()
        assert set(again.unchanged) == BUNDLE_KEYS
        assert _numbers() == dict.fromkeys(BUNDLE_KEYS, 1)
        assert len(_audit_entries()) == len(BUNDLE_KEYS)


def test_a_changed_label_makes_version_2_of_that_definition_only(app, bundle):
    with app.app_context():
        load_directory(db.session, bundle, actor="admin:sato")
        db.session.commit()
        replace_in(bundle / "procedures" / "seal-ends.yaml", SEAL_TITLE, "en: Seal ends}")

        report = load_directory(db.session, bundle, actor="admin:ito")
        db.session.commit()

        assert [v.label for v in report.created] == ["seal_ends v2"]
        assert set(report.unchanged) == BUNDLE_KEYS - {"procedure:seal_ends"}
        assert _numbers() == {**dict.fromkeys(BUNDLE_KEYS, 1), "procedure:seal_ends": 2}
        history = version_history(db.session, "procedure", "seal_ends")
        assert [version.number for version in history] == [2, 1]
        assert "Seal ends" in history[0].source_text
        assert history[0].content_hash != history[1].content_hash
        last = _audit_entries()[-1]
        assert (last.subject_id, last.actor, last.details["number"]) == (
            "procedure:seal_ends",
            "admin:ito",
            2,
        )


def test_a_changed_dictionary_field_makes_new_versions_of_the_procedures_using_it(app, bundle):
    with app.app_context():
        load_directory(db.session, bundle, actor="admin:sato")
        db.session.commit()
        replace_in(bundle / "dictionary.yaml", "en: Phone number}", "en: Telephone}")

        report = load_directory(db.session, bundle, actor="admin:sato")

        # Both procedures take applicant_phone with `uses`; nothing else does.
        assert {f"{v.kind}:{v.definition_id}" for v in report.created} == {
            "dictionary:dictionary",
            "procedure:nhi_funeral_grant",
            "procedure:nhi_loss",
        }


def test_a_lint_issue_stores_nothing_and_is_reported(app, bundle):
    with app.app_context():
        load_directory(db.session, bundle, actor="admin:sato")
        db.session.commit()
        replace_in(bundle / "procedures" / "seal-ends.yaml", SEAL_TITLE, "en: Seal ends}")
        replace_in(bundle / "procedures" / "nhi-loss.yaml", "department: insurance_pension", "")

        report = load_directory(db.session, bundle, actor="admin:sato")
        db.session.commit()

        assert report.created == ()
        assert [issue.format() for issue in report.issues] == [
            f"{bundle / 'procedures' / 'nhi-loss.yaml'}:1:1: (file): "
            "missing required key 'department'"
        ]
        assert _numbers() == dict.fromkeys(BUNDLE_KEYS, 1)
        assert len(_audit_entries()) == len(BUNDLE_KEYS)


def test_a_failing_scenario_stores_nothing(app, bundle):
    with app.app_context():
        replace_in(
            bundle / "procedures" / "nhi-loss.yaml",
            "lost]\n      queue: insurance_pension.review",
            "lost]\n      queue: insurance_pension",
        )
        report = load_directory(db.session, bundle, actor="admin:sato")

        assert [issue.message for issue in report.issues] == [
            "scenario 'card lost': expected queue insurance_pension, got insurance_pension.review"
        ]
        assert _numbers() == {}


def test_an_id_longer_than_its_column_is_refused_before_the_database_sees_it(app, bundle):
    long_id = "seal_ends_" + "x" * 80
    with app.app_context():
        replace_in(bundle / "procedures" / "seal-ends.yaml", "id: seal_ends", f"id: {long_id}")
        event = bundle / "life-events" / "bereavement.yaml"
        replace_in(event, ", seal_ends]", f", {long_id}]")
        replace_in(event, "[seal_ends]", f"[{long_id}]")

        report = load_directory(db.session, bundle, actor="admin:sato")

        assert [issue.format() for issue in report.issues] == [
            f"{bundle / 'procedures' / 'seal-ends.yaml'}:3:5: id: an id may be at most "
            "80 characters"
        ]
        assert _numbers() == {}


def test_a_missing_directory_is_reported(app, tmp_path):
    with app.app_context():
        report = load_directory(db.session, tmp_path / "nowhere", actor="admin:sato")
    assert [issue.message for issue in report.issues] == ["no such directory"]


def test_definitions_stored_earlier_but_no_longer_in_the_folder_are_named(app, bundle):
    with app.app_context():
        load_directory(db.session, bundle, actor="admin:sato")
        db.session.commit()
        (bundle / "procedures" / "seal-ends.yaml").unlink()
        event = bundle / "life-events" / "bereavement.yaml"
        replace_in(event, ", seal_ends]", "]")
        replace_in(event, "automatic: [seal_ends]", "automatic: []")

        report = load_directory(db.session, bundle, actor="admin:sato")

        assert report.not_in_directory == ("procedure:seal_ends",)
        assert "procedure:seal_ends" in published_pins(db.session)


@pytest.mark.parametrize(
    "paths",
    [
        [PROCEDURES],
        *([*BASE_FILES, broken] for broken in sorted(BROKEN.glob("*.yaml"))),
    ],
    ids=lambda paths: Path(paths[-1]).name,
)
def test_checking_sources_finds_what_the_engine_linter_finds(paths):
    checked = check_sources(paths)
    assert checked.issues == tuple(lint_paths(paths))
    assert (checked.catalogue is None) == bool(checked.issues)


def test_published_pins_name_each_definition_by_kind_and_id(app, bundle):
    with app.app_context():
        assert published_pins(db.session) == {}
        report = load_directory(db.session, bundle, actor="admin:sato")
        db.session.commit()

        pins = published_pins(db.session)

        assert set(pins) == BUNDLE_KEYS
        assert pins == {f"{v.kind}:{v.definition_id}": v.id for v in report.created}


def test_a_draft_newer_than_the_published_version_is_not_pinned(app, bundle):
    with app.app_context():
        load_directory(db.session, bundle, actor="admin:sato")
        db.session.commit()
        published = published_pins(db.session)
        current = version_history(db.session, "procedure", "seal_ends")[0]
        db.session.add(
            DefinitionVersion(
                kind="procedure",
                definition_id="seal_ends",
                number=2,
                status="draft",
                content_hash="0" * 64,
                source_name=current.source_name,
                source_text=current.source_text,
                created_by="admin:ito",
                created_at=utcnow(),
            )
        )
        db.session.commit()

        assert published_pins(db.session) == published
        summary = next(s for s in definition_summaries(db.session) if s.key.endswith("seal_ends"))
        assert (summary.newest_number, summary.newest_status, summary.published_number) == (
            2,
            "draft",
            1,
        )


def test_old_pins_rebuild_the_old_catalogue_after_a_new_version_is_loaded(app, bundle):
    with app.app_context():
        load_directory(db.session, bundle, actor="admin:sato")
        db.session.commit()
        old_pins = published_pins(db.session)
        replace_in(bundle / "procedures" / "seal-ends.yaml", SEAL_TITLE, "en: Seal ends}")
        load_directory(db.session, bundle, actor="admin:sato")
        db.session.commit()

        old = catalogue_for_pins(db.session, old_pins)
        new, new_pins = published_catalogue(db.session)

        assert old.procedure("seal_ends").model.title.en == "Seal registration ends"
        assert new.procedure("seal_ends").model.title.en == "Seal ends"
        assert new_pins["procedure:seal_ends"] != old_pins["procedure:seal_ends"]
        assert {key for key in new_pins if new_pins[key] != old_pins[key]} == {
            "procedure:seal_ends"
        }
        # The rebuilt catalogue works: the life event still lists its four procedures.
        assert set(old.life_event("bereavement").model.procedures) == set(new.procedures)


def test_a_catalogue_is_compiled_once_and_then_served_from_the_cache(app, bundle, monkeypatch):
    # A label no earlier test used, so the first call below cannot be a cache hit.
    replace_in(bundle / "procedures" / "seal-ends.yaml", SEAL_TITLE, f"en: {uuid.uuid4().hex}}}")
    compiled = []
    compile_catalogue = services.compile_catalogue

    def counting_compile(files):
        compiled.append(len(files))
        return compile_catalogue(files)

    monkeypatch.setattr(services, "compile_catalogue", counting_compile)
    with app.app_context():
        load_directory(db.session, bundle, actor="admin:sato")
        db.session.commit()
        compiled.clear()  # loading compiled once to lint; only rebuilding counts here
        pins = published_pins(db.session)

        first = catalogue_for_pins(db.session, pins)
        second = catalogue_for_pins(db.session, dict(pins))

    assert second is first
    assert compiled == [len(BUNDLE_KEYS)]


def test_a_pin_to_a_version_that_is_not_stored_is_refused(app, bundle):
    with app.app_context():
        load_directory(db.session, bundle, actor="admin:sato")
        db.session.commit()
        pins = published_pins(db.session)
        missing = max(pins.values()) + 1000

        with pytest.raises(CatalogueError, match=f"pinned version {missing} of procedure:nhi_loss"):
            catalogue_for_pins(db.session, {**pins, "procedure:nhi_loss": missing})


def test_a_pin_naming_another_definitions_version_is_refused(app, bundle):
    with app.app_context():
        load_directory(db.session, bundle, actor="admin:sato")
        db.session.commit()
        pins = published_pins(db.session)
        swapped = {**pins, "procedure:nhi_loss": pins["procedure:seal_ends"]}

        with pytest.raises(CatalogueError, match="which is a version of procedure:seal_ends"):
            catalogue_for_pins(db.session, swapped)


def test_pins_that_do_not_compile_together_are_refused_with_the_issues(app, bundle):
    with app.app_context():
        load_directory(db.session, bundle, actor="admin:sato")
        db.session.commit()
        pins = published_pins(db.session)
        alone = {"procedure:nhi_loss": pins["procedure:nhi_loss"]}

        with pytest.raises(CatalogueError, match="no longer compile together") as raised:
            catalogue_for_pins(db.session, alone)

    assert raised.value.issues
    assert all(issue.path == "procedures/nhi-loss.yaml" for issue in raised.value.issues)
    assert any("unknown dictionary field" in issue.message for issue in raised.value.issues)
