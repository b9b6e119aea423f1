"""Authoring definitions in the portal: drafts linted in context, preview, diff, publish,
retire, import and export, and loading the files again afterwards."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.admin import authoring
from portal.audit.models import AuditEntry
from portal.backoffice.models import Application
from portal.catalogue.models import DefinitionVersion
from portal.catalogue.services import (
    catalogue_for_pins,
    load_directory,
    published_pins,
    version_history,
)
from portal.database import utcnow
from portal.extensions import db
from portal.i18n import LANGUAGE_COOKIE
from portal.records.services import seed_demo_registers
from portal.resident import services as resident
from portal.resident.models import Draft
from tests.admin.conftest import sign_in_as
from tests.conftest import PROCEDURES, csrf_token

SEAL = "procedure:seal_registration_cancellation"
SEAL_ID = "seal_registration_cancellation"
SEAL_TITLE = "en: Cancellation of the seal registration}"
SEAL_MODE = "mode: automatic\n"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_BASE_HASH = re.compile(r'name="base_hash" value="([0-9a-f]{64})"')


@pytest.fixture
def admin(procedures_loaded, client):
    """The shipped definitions are published and an administrator makes the requests.

    Pages are asked for in English, so that the tests do not wait on the translations.
    """
    client.set_cookie(LANGUAGE_COOKIE, "en")
    return sign_in_as(procedures_loaded, "admin")


def _newest(app, definition_id: str = SEAL_ID, kind: str = "procedure") -> DefinitionVersion:
    with app.app_context():
        version = version_history(db.session, kind, definition_id)[0]
        db.session.expunge(version)
        return version


def _post(client, path: str, **data):
    return client.post(path, data={"csrf_token": csrf_token(client), **data})


def _start_draft(client, app, definition_id: str = SEAL_ID) -> DefinitionVersion:
    source = _newest(app, definition_id)
    response = _post(client, f"/admin/definitions/versions/{source.id}/drafts")
    assert response.status_code == 303
    draft = _newest(app, definition_id)
    assert draft.status == "draft" and draft.number == source.number + 1
    assert response.headers["Location"].endswith(f"/admin/definitions/versions/{draft.id}")
    return draft


def _save(client, version_id: int, text: str):
    page = client.get(f"/admin/definitions/versions/{version_id}").get_data(as_text=True)
    base_hash = _BASE_HASH.search(page).group(1)
    return client.post(
        f"/admin/definitions/versions/{version_id}",
        data={
            "csrf_token": _CSRF.search(page).group(1),
            "base_hash": base_hash,
            "source_text": text,
        },
    )


def _publish(client, version_id: int):
    return _post(client, f"/admin/definitions/versions/{version_id}/publish")


def _seal_text() -> str:
    return (PROCEDURES / "bereavement" / "seal-registration-cancellation.yaml").read_text("utf-8")


# --- who may use the pages ---------------------------------------------------------------

GET_PAGES = [
    "/admin/definitions",
    "/admin/definitions/procedure/seal_registration_cancellation",
    "/admin/definitions/procedure/seal_registration_cancellation/compare?old=1&new=1",
    "/admin/definitions/versions/{id}",
    "/admin/definitions/versions/{id}/preview",
    "/admin/definitions/versions/{id}/export",
]
POST_PAGES = [
    "/admin/definitions",
    "/admin/definitions/import",
    "/admin/definitions/versions/{id}",
    "/admin/definitions/versions/{id}/drafts",
    "/admin/definitions/versions/{id}/publish",
    "/admin/definitions/versions/{id}/retire",
]


@pytest.mark.parametrize("role", ["clerk", "resident"])
def test_clerks_and_residents_get_403_on_every_authoring_page(procedures_loaded, client, role):
    app = procedures_loaded
    version_id = _newest(app).id
    sign_in_as(app, role, ["citizens"] if role == "clerk" else [])
    token = csrf_token(client)
    for path in GET_PAGES:
        assert client.get(path.format(id=version_id)).status_code == 403, path
    for path in POST_PAGES:
        response = client.post(path.format(id=version_id), data={"csrf_token": token})
        assert response.status_code == 403, path
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DefinitionVersion)) == len(
            published_pins(db.session)
        )


def test_anonymous_visitors_are_sent_to_the_staff_sign_in(procedures_loaded, client):
    version_id = _newest(procedures_loaded).id
    for path in GET_PAGES:
        response = client.get(path.format(id=version_id))
        assert response.status_code == 303, path
        assert "/staff/sign-in" in response.headers["Location"]


def test_every_change_needs_the_csrf_token(admin, procedures_loaded, client):
    version_id = _newest(procedures_loaded).id
    for path in POST_PAGES:
        response = client.post(path.format(id=version_id), data={"kind": "procedure"})
        assert response.status_code == 400, path
    with procedures_loaded.app_context():
        assert _newest(procedures_loaded).id == version_id


# --- lists and history -------------------------------------------------------------------


def test_the_list_shows_every_definition_with_its_versions_and_who_made_them(admin, client):
    draft = _start_draft(client, client.application)

    page = client.get("/admin/definitions").get_data(as_text=True)

    for heading in ("Life events", "Procedures", "Dictionary of shared fields", "Departments"):
        assert heading in page, heading
    assert "<code>bereavement</code>" in page
    assert "<code>dictionary</code>" in page
    assert f'href="/admin/definitions/versions/{draft.id}">v2</a>' in page
    assert "admin 太郎" in page  # who started the draft, by name
    assert "test" in page  # who loaded the files


def test_the_history_page_says_who_changed_what(admin, client):
    app = client.application
    draft = _start_draft(client, app)
    _save(client, draft.id, _seal_text().replace(SEAL_TITLE, "en: Seal registration ends}"))
    _publish(client, draft.id)

    page = client.get(f"/admin/definitions/procedure/{SEAL_ID}").get_data(as_text=True)

    assert "Started draft v2 from v1" in page
    assert page.count("admin 太郎") >= 3
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.subject_id == SEAL).order_by(AuditEntry.id)
        ).all()
    assert actions == [
        "definition.version_loaded",
        "definition.draft_created",
        "definition.draft_saved",
        "definition.version_published",
    ]


# --- editing and linting -----------------------------------------------------------------


def test_a_lint_error_shows_at_its_line_keeps_the_text_and_blocks_publishing(admin, client):
    app = client.application
    draft = _start_draft(client, app)
    broken = _seal_text().replace(SEAL_MODE, "mode: sometimes\n")
    line = broken.splitlines().index("mode: sometimes") + 1

    saved = _save(client, draft.id, broken.replace("\n", "\r\n"))

    assert saved.status_code == 303
    assert _newest(app).source_text == broken
    page = client.get(f"/admin/definitions/versions/{draft.id}").get_data(as_text=True)
    assert f'<a href="#line-{line}">' in page
    assert f'<tr id="line-{line}">' in page
    assert "mode: sometimes" in page
    refused = _publish(client, draft.id)
    assert refused.status_code == 409
    assert f'<a href="#line-{line}">' in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(DefinitionVersion, draft.id).status == "draft"
        assert published_pins(db.session)[SEAL] != draft.id


def test_text_that_is_not_even_yaml_is_saved_as_typed(admin, client):
    app = client.application
    draft = _start_draft(client, app)
    typed = "schema: madoguchi/1\ntitle: [not closed\n"

    assert _save(client, draft.id, typed).status_code == 303

    assert _newest(app).source_text == typed
    page = client.get(f"/admin/definitions/versions/{draft.id}").get_data(as_text=True)
    assert "invalid YAML" in page
    assert "[not closed" in page


def test_a_missing_english_text_blocks_publishing(admin, client):
    app = client.application
    draft = _start_draft(client, app)
    text = _seal_text().replace(", " + SEAL_TITLE, "}")
    _save(client, draft.id, text)

    refused = _publish(client, draft.id)

    assert refused.status_code == 409
    assert "missing required key &#39;en&#39;" in refused.get_data(as_text=True)
    assert _newest(app).status == "draft"


def test_a_draft_that_breaks_another_definition_cannot_be_published(admin, client):
    app = client.application
    draft = _start_draft(client, app)
    # The life event lists the procedure by id; a renamed procedure is no longer found.
    renamed = _seal_text().replace(f"id: {SEAL_ID}", "id: seal_gone")

    _save(client, draft.id, renamed)
    page = client.get(f"/admin/definitions/versions/{draft.id}").get_data(as_text=True)

    assert "declares procedure:seal_gone" in page
    assert _publish(client, draft.id).status_code == 409


def test_a_save_over_someone_elses_save_keeps_the_typed_text(admin, client):
    app = client.application
    draft = _start_draft(client, app)
    page = client.get(f"/admin/definitions/versions/{draft.id}").get_data(as_text=True)
    stale_hash = _BASE_HASH.search(page).group(1)
    _save(client, draft.id, _seal_text() + "# first\n")

    response = client.post(
        f"/admin/definitions/versions/{draft.id}",
        data={
            "csrf_token": csrf_token(client),
            "base_hash": stale_hash,
            "source_text": "# second, typed meanwhile\n",
        },
    )

    assert response.status_code == 409
    assert "# second, typed meanwhile" in response.get_data(as_text=True)
    assert _newest(app).source_text.endswith("# first\n")


def test_a_published_version_cannot_be_edited(admin, client):
    app = client.application
    published = _newest(app)

    response = client.post(
        f"/admin/definitions/versions/{published.id}",
        data={
            "csrf_token": csrf_token(client),
            "base_hash": published.content_hash,
            "source_text": "changed",
        },
    )

    assert response.status_code == 409
    assert _newest(app).source_text == published.source_text


# --- publishing --------------------------------------------------------------------------


def test_a_published_change_reaches_new_drafts_while_open_drafts_keep_their_version(admin, client):
    app = client.application
    with app.app_context():
        open_draft = resident.start_draft(
            db.session, owner_key="browser:open", life_event_id="bereavement", now=utcnow()
        )
        db.session.commit()
        open_id, old_pin = open_draft.id, open_draft.pins[SEAL]
    draft = _start_draft(client, app)
    _save(client, draft.id, _seal_text().replace(SEAL_TITLE, "en: Seal registration ends}"))

    published = _publish(client, draft.id)

    assert published.status_code == 303
    with app.app_context():
        assert published_pins(db.session)[SEAL] == draft.id
        new_draft = resident.start_draft(
            db.session, owner_key="browser:new", life_event_id="bereavement", now=utcnow()
        )
        db.session.commit()
        assert new_draft.pins[SEAL] == draft.id
        kept = db.session.get(Draft, open_id)
        assert kept.pins[SEAL] == old_pin
        old = catalogue_for_pins(db.session, kept.pins).procedure(SEAL_ID).model.title.en
        new = catalogue_for_pins(db.session, new_draft.pins).procedure(SEAL_ID).model.title.en
        assert (old, new) == ("Cancellation of the seal registration", "Seal registration ends")
        version = db.session.get(DefinitionVersion, draft.id)
        assert version.status == "published" and version.published_at is not None
        assert version.origin == "admin"


def test_a_draft_started_before_a_newer_version_was_published_is_refused(admin, client):
    app = client.application
    first = _start_draft(client, app)
    second = _start_draft(client, app)
    _save(client, second.id, _seal_text().replace(SEAL_TITLE, "en: Seal registration ends}"))
    assert _publish(client, second.id).status_code == 303

    refused = _publish(client, first.id)

    assert refused.status_code == 409
    assert "Version 3 was published after this draft was started" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(DefinitionVersion, first.id).status == "draft"
        assert published_pins(db.session)[SEAL] == second.id


# --- retiring ----------------------------------------------------------------------------


def test_retiring_a_procedure_a_life_event_lists_is_refused_and_says_why(admin, client):
    app = client.application
    only = _newest(app)

    refused = _post(client, f"/admin/definitions/versions/{only.id}/retire")

    assert refused.status_code == 409
    html = refused.get_data(as_text=True)
    assert "life-events/bereavement.yaml" in html
    assert SEAL_ID in html
    assert _newest(app).status == "published"


def test_retiring_the_newest_version_offers_the_previous_one_again(admin, client):
    app = client.application
    first = _newest(app)
    draft = _start_draft(client, app)
    _save(client, draft.id, _seal_text().replace(SEAL_TITLE, "en: Seal registration ends}"))
    _publish(client, draft.id)

    retired = _post(client, f"/admin/definitions/versions/{draft.id}/retire")

    assert retired.status_code == 303
    with app.app_context():
        assert db.session.get(DefinitionVersion, draft.id).status == "retired"
        assert published_pins(db.session)[SEAL] == first.id
        last = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert (last.action, last.details["number"]) == ("definition.version_retired", 2)


# --- diff, import and export -------------------------------------------------------------


def test_the_differences_between_two_versions_are_marked_in_words(admin, client):
    app = client.application
    draft = _start_draft(client, app)
    _save(client, draft.id, _seal_text().replace(SEAL_TITLE, "en: Seal registration ends}"))
    line = (
        _seal_text()
        .splitlines()
        .index("title: {ja: 印鑑登録の廃止, en: Cancellation of the seal registration}")
        + 1
    )

    page = client.get(f"/admin/definitions/procedure/{SEAL_ID}/compare?old=1&new=2").get_data(
        as_text=True
    )

    removed = re.search(r'<tr class="diff-removed">(.*?)</tr>', page, re.S).group(1)
    added = re.search(r'<tr class="diff-added">(.*?)</tr>', page, re.S).group(1)
    assert f"<td>{line}</td>" in removed and "<del>" in removed
    assert "Cancellation of the seal registration" in removed
    assert f"<td>{line}</td>" in added and "<ins>" in added
    assert "Seal registration ends" in added
    assert page.count('class="diff-added"') == 1 and page.count('class="diff-removed"') == 1


def test_diff_lines_number_both_sides_and_separate_hunks():
    old = "".join(f"line {n}\n" for n in range(1, 21))
    new = old.replace("line 2\n", "line two\n").replace("line 18\n", "")

    lines = authoring.diff_lines(old, new)

    changes = [(line.change, line.old_number, line.new_number, line.text) for line in lines]
    assert ("removed", 2, None, "line 2") in changes
    assert ("added", None, 2, "line two") in changes
    assert ("removed", 18, None, "line 18") in changes
    assert ("context", 19, 18, "line 19") in changes
    assert [line.change for line in lines].count("gap") == 2
    assert authoring.diff_lines(old, old) == []


def test_export_and_import_round_trip_the_exact_text(admin, client):
    app = client.application
    published = _newest(app)
    exported = client.get(f"/admin/definitions/versions/{published.id}/export")
    assert exported.status_code == 200
    assert exported.headers["Content-Type"] == "application/yaml; charset=utf-8"
    assert exported.headers["Content-Disposition"] == (
        "attachment; filename=seal-registration-cancellation.yaml"
    )
    assert exported.data == published.source_text.encode("utf-8")

    from io import BytesIO

    imported = client.post(
        "/admin/definitions/import",
        data={
            "csrf_token": csrf_token(client),
            "file": (BytesIO(exported.data), "seal-registration-cancellation.yaml"),
        },
        content_type="multipart/form-data",
    )

    assert imported.status_code == 303
    draft = _newest(app)
    assert (draft.status, draft.number, draft.origin) == ("draft", 2, "admin")
    assert draft.source_text == published.source_text
    assert draft.source_name == published.source_name
    again = client.get(f"/admin/definitions/versions/{draft.id}/export")
    assert again.data == exported.data
    page = client.get(f"/admin/definitions/versions/{draft.id}").get_data(as_text=True)
    assert 'id="problems-own"' not in page


def test_a_file_that_does_not_say_what_it_is_is_not_imported(admin, client):
    from io import BytesIO

    with client.application.app_context():
        before = db.session.scalar(select(func.count()).select_from(DefinitionVersion))
    response = client.post(
        "/admin/definitions/import",
        data={"csrf_token": csrf_token(client), "file": (BytesIO(b"title: x\n"), "x.yaml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "kind: missing" in page
    with client.application.app_context():
        assert db.session.scalar(select(func.count()).select_from(DefinitionVersion)) == before


def test_a_new_definition_starts_from_a_template_and_a_bad_id_is_refused(admin, client):
    app = client.application
    refused = _post(client, "/admin/definitions", kind="procedure", definition_id="Bad-Id")
    assert refused.status_code == 303
    assert "/admin/definitions#new-definition" in refused.headers["Location"]

    created = _post(client, "/admin/definitions", kind="procedure", definition_id="pet_license")

    assert created.status_code == 303
    version = _newest(app, "pet_license")
    assert (version.number, version.status) == (1, "draft")
    assert version.source_name == "procedures/pet-license.yaml"
    assert "id: pet_license" in version.source_text
    taken = _post(client, "/admin/definitions", kind="procedure", definition_id="pet_license")
    assert "#new-definition" in taken.headers["Location"]


# --- preview -----------------------------------------------------------------------------


def test_the_preview_shows_a_drafts_pages_filled_for_a_persona_and_stores_nothing(admin, client):
    app = client.application
    with app.app_context():
        seed_demo_registers(db.session)
        db.session.commit()
    draft = _start_draft(client, app, "nhi_funeral_grant")
    with app.app_context():
        drafts = db.session.scalar(select(func.count()).select_from(Draft))
        applications = db.session.scalar(select(func.count()).select_from(Application))
        audit = db.session.scalar(select(func.count()).select_from(AuditEntry))

    page = client.get(f"/admin/definitions/versions/{draft.id}/preview")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    steps = re.findall(r'preview\?step=([a-z_.]+)"', html)
    assert "nhi_funeral_grant.applicant" in steps
    assert all(step.startswith("nhi_funeral_grant.") for step in steps)
    assert "shown when <code>not funeral_host_is_applicant</code>" in html
    filled = client.get(
        f"/admin/definitions/versions/{draft.id}/preview"
        "?persona=demo-0024&step=nhi_funeral_grant.applicant"
    ).get_data(as_text=True)

    assert "From the resident register" in filled  # the source badge of a prefilled value
    assert '<fieldset class="fieldset" disabled>' in filled
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Draft)) == drafts
        assert db.session.scalar(select(func.count()).select_from(Application)) == applications
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == audit


# --- loading the files again -------------------------------------------------------------


def test_loading_the_files_again_keeps_what_admins_published_and_their_drafts(
    admin, client, tmp_path: Path
):
    app = client.application
    files = tmp_path / "procedures"
    shutil.copytree(PROCEDURES, files)
    published = _start_draft(client, app)
    _save(client, published.id, _seal_text().replace(SEAL_TITLE, "en: Seal registration ends}"))
    assert _publish(client, published.id).status_code == 303
    open_draft = _start_draft(client, app)

    with app.app_context():
        again = load_directory(db.session, files, actor="cli:deploy")
        db.session.commit()
        assert again.created == ()
        assert published_pins(db.session)[SEAL] == published.id
        assert db.session.get(DefinitionVersion, open_draft.id).status == "draft"

    seal_file = files / "bereavement" / "seal-registration-cancellation.yaml"
    seal_file.write_text(_seal_text().replace(SEAL_TITLE, "en: Seal registration cancelled}"))
    with app.app_context():
        changed = load_directory(db.session, files, actor="cli:deploy")
        db.session.commit()
        assert [version.label for version in changed.created] == [f"{SEAL_ID} v4"]
        assert changed.created[0].origin == "files"
        assert published_pins(db.session)[SEAL] == changed.created[0].id
    # The open draft was started from v2, before the files gave v4: it is now stale.
    assert _publish(client, open_draft.id).status_code == 409
