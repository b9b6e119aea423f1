"""Supporting documents: checked by content, kept for their owner, or another way chosen."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from portal.backoffice.models import Application
from portal.extensions import db
from portal.resident.models import Draft
from tests.resident.conftest import TINY_PDF, fill_page, token
from tests.resident.test_journey import answer_questions, start
from tests.resident.test_prefill import BEREAVEMENT

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
FUNERAL = {**BEREAVEMENT, "deceased_birth_date": "1966-06-01"}


def _to_documents(client):
    listing = answer_questions(client, start(client), FUNERAL)
    html = client.get(listing).get_data(as_text=True)
    location = client.post(
        listing, data={"csrf_token": token(html), "procedures": ["nhi_funeral_grant"]}
    ).headers["Location"]
    if location.endswith("/records"):
        page = client.get(location).get_data(as_text=True)
        location = client.post(
            location, data={"csrf_token": token(page), "action": "decline"}
        ).headers["Location"]
    for _ in range(15):
        if location.endswith("/documents"):
            return location
        html = client.get(location).get_data(as_text=True)
        data = fill_page(html, {"funeral_host_is_applicant": "yes", "funeral_date": "2026-11-25"})
        response = client.post(location, data=data)
        assert response.status_code == 303, re.findall(
            r'<li><a href="#[^"]+">([^<]+)', response.get_data(as_text=True)
        )
        location = response.headers["Location"]
    raise AssertionError("never reached the documents page")


def _open_documents(sign_in, client):
    """Sign in as the son of the deceased and reach the documents page of the funeral grant."""
    sign_in("demo-0024")
    location = _to_documents(client)
    html = client.get(location).get_data(as_text=True)
    key = re.search(r'name="delivery:([^"]+)"', html).group(1)
    return location, html, key


def _post(client, location, html, **fields):
    return client.post(
        location,
        data={"csrf_token": token(html), **fields},
        content_type="multipart/form-data",
    )


def test_a_lying_extension_is_refused_and_nothing_else_is_lost(signed_in_as, app, client):
    location, html, key = _open_documents(signed_in_as, client)
    response = _post(
        client,
        location,
        html,
        **{
            f"delivery:{key}": "upload",
            f"file:{key}": (io.BytesIO(b"MZ\x90\x00 not a pdf at all"), "receipt.pdf"),
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "ファイルの中身で判断しています" in page
    with app.app_context():
        draft = db.session.scalars(select(Draft)).one()
        assert draft.answers  # the form's answers are still there
        assert not (draft.documents or {}).get(key)


def test_an_upload_is_kept_by_content_type_and_only_its_owner_can_fetch_it(
    signed_in_as,
    app,
    client,
):
    location, html, key = _open_documents(signed_in_as, client)
    response = _post(
        client,
        location,
        html,
        **{
            f"delivery:{key}": "upload",
            f"file:{key}": (io.BytesIO(PNG), "../../etc/領収書.pdf"),
        },
    )
    assert response.status_code == 303
    with app.app_context():
        entry = db.session.scalars(select(Draft)).one().documents[key]
    assert entry["content_type"] == "image/png"
    assert entry["name"] == "領収書.pdf"
    assert "/" not in entry["key"].split("/", 1)[1]
    download = client.get(f"{location}/{key}")
    assert download.status_code == 200
    assert download.data == PNG
    assert download.headers["Content-Disposition"] == "attachment"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    signed_in_as("demo-0018")
    assert client.get(f"{location}/{key}").status_code == 404  # another resident


def test_too_large_and_missing_files_get_clear_messages(signed_in_as, app, client):
    location, html, key = _open_documents(signed_in_as, client)
    missing = _post(client, location, html, **{f"delivery:{key}": "upload"})
    assert "ファイルを選ぶか、別の提出方法を選んでください。" in missing.get_data(as_text=True)
    big = PDF + b"0" * (11 * 1024 * 1024)
    too_large = _post(
        client,
        location,
        html,
        **{f"delivery:{key}": "upload", f"file:{key}": (io.BytesIO(big), "big.pdf")},
    )
    assert too_large.status_code in (400, 413)


def test_an_alternative_is_recorded_and_filed_with_the_submission(signed_in_as, app, client):
    location, html, key = _open_documents(signed_in_as, client)
    response = _post(client, location, html, **{f"delivery:{key}": "post"})
    check = response.headers["Location"]
    assert check.endswith("/check")
    page = client.get(check).get_data(as_text=True)
    assert "郵送" in page
    sent = client.post(
        check.replace("/check", "/submit"),
        data={"csrf_token": token(page), "declaration": "yes"},
    )
    assert sent.status_code == 303
    with app.app_context():
        submission = db.session.scalars(select(Application)).one().submissions[0]
        assert submission.documents == [{"id": key.split(".", 1)[1], "delivery": "post"}]


def test_an_original_handed_back_is_never_taken_as_an_upload():
    from types import SimpleNamespace

    import pydantic

    from portal.definitions.schema import Document, TextPair
    from portal.resident import uploads

    card = Document(
        id="card", label=TextPair(ja="保険証", en="Card"), original=True, alternatives=["post"]
    )
    item = uploads.NeededDocument(SimpleNamespace(id="nhi_loss"), card, None)
    state = SimpleNamespace(draft=SimpleNamespace(documents={}))
    with pytest.raises(uploads.UploadRefused):
        uploads.apply_choice(
            state, item, choice="upload", filename="card.pdf", data=TINY_PDF, storage=None
        )
    uploads.apply_choice(state, item, choice="post", filename=None, data=b"", storage=None)
    assert state.draft.documents == {"nhi_loss.card": {"delivery": "post"}}
    with pytest.raises(pydantic.ValidationError, match="counter or post"):
        Document(id="card", label=TextPair(ja="保険証", en="Card"), original=True)
