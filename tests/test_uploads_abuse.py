"""Hostile uploads: each is refused with a clear message at its field, and nothing else is lost.

Files are posted to the resident's documents page and as a reply to a clerk's request.
Only PDF, JPEG and PNG are ever accepted, judged by their first bytes: an archive (and so
any zip bomb) is refused whatever it is called. Images are never decoded by the portal;
one that declares more pixels than a viewer can open is refused from its header alone.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib

import pytest
from flask_babel import force_locale
from markupsafe import escape
from sqlalchemy import select

from portal import errors
from portal.backoffice.models import Submission
from portal.definitions.schema import Document, TextPair
from portal.documents.storage import file_storage
from portal.extensions import db
from portal.resident import uploads
from portal.resident.models import Draft
from tests.resident.conftest import TINY_PDF, token
from tests.resident.test_dashboard import _ask
from tests.resident.test_documents import _open_documents, _post
from tests.resident.test_submit import _submit, _to_check

WRONG_TYPE_JA = "PDF・JPEG・PNGのファイルを選んでください（ファイルの中身で判断しています）。"


def _png(width: int, height: int) -> bytes:
    """A PNG header declaring a picture of `width` x `height`, with a one-row image chunk."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    ihdr = b"IHDR" + header
    idat = b"IDAT" + zlib.compress(b"\x00" * 16)
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(header))
        + ihdr
        + struct.pack(">I", zlib.crc32(ihdr))
        + struct.pack(">I", len(idat) - 4)
        + idat
        + struct.pack(">I", zlib.crc32(idat))
    )


def _jpeg(width: int, height: int) -> bytes:
    """A JPEG start: an APP0 segment, then a baseline frame header of `width` x `height`."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    frame = struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + b"\xff\xc0" + frame + b"\xff\xda" + b"\x00" * 32


def _zip_bomb() -> bytes:
    """A small archive that unpacks to 200 MB of zeros."""
    buffer = io.BytesIO()
    chunk = b"\x00" * (1024 * 1024)
    with (
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open("word/document.xml", "w", force_zip64=True) as member,
    ):
        for _ in range(200):
            member.write(chunk)
    data = buffer.getvalue()
    assert len(data) < 1024 * 1024
    return data


LYING_FILES = {
    "a Windows program": b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 56,
    "a Linux program": b"\x7fELF\x02\x01\x01" + b"\x00" * 57,
    "a web page": b"<!DOCTYPE html><html><script>alert(1)</script></html>",
    "a web page with a PDF inside": b"<html><script>alert(1)</script>%PDF-1.7</html>",
    "an SVG with script": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "a zip bomb": _zip_bomb(),
    "a GIF, an image off the list": b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
}


def _group(page: str, key: str) -> str:
    """The form group of one document on the documents page."""
    start = page.rindex('<div class="form-group', 0, page.index(f'name="delivery:{key}"'))
    return page[start : page.index("</fieldset>", start)]


def _error_at(page: str, key: str) -> str | None:
    match = re.search(r'<p class="error-message">.*?</span>\s*(.*?)</p>', _group(page, key), re.S)
    return match.group(1).strip() if match else None


def _upload(client, location: str, key: str, data: bytes, name: str):
    html = client.get(location).get_data(as_text=True)
    return _post(
        client,
        location,
        html,
        **{f"delivery:{key}": "upload", f"file:{key}": (io.BytesIO(data), name)},
    )


@pytest.fixture
def documents(signed_in_as, app, client):
    """The funeral grant's documents page with a good receipt already uploaded."""
    location, _html, key = _open_documents(signed_in_as, client)
    assert _upload(client, location, key, TINY_PDF, "領収書.pdf").status_code == 303
    with app.app_context():
        draft = db.session.scalars(select(Draft)).one()
        before = (dict(draft.answers), dict(draft.documents))
    return location, key, before


def _nothing_lost(app, client, location: str, key: str, before) -> None:
    """The answers and the earlier upload are as they were, and the file still downloads."""
    with app.app_context():
        draft = db.session.scalars(select(Draft)).one()
        assert (dict(draft.answers), dict(draft.documents)) == before
    page = client.get(location).get_data(as_text=True)
    assert "領収書.pdf" in _group(page, key)
    assert client.get(f"{location}/{key}").data == TINY_PDF


@pytest.mark.parametrize("content", sorted(LYING_FILES))
def test_a_file_whose_name_lies_about_its_content_is_refused_at_its_field(
    documents, app, client, content
):
    location, key, before = documents
    response = _upload(client, location, key, LYING_FILES[content], "receipt.pdf")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _error_at(page, key) == WRONG_TYPE_JA
    assert "<script>alert(1)" not in page
    _nothing_lost(app, client, location, key, before)


def test_a_zip_bomb_is_never_opened(documents, app, client, monkeypatch):
    location, key, before = documents

    def refuse_to_open(*args, **kwargs):
        raise AssertionError("an uploaded archive was opened")

    monkeypatch.setattr(zipfile, "ZipFile", refuse_to_open)
    response = _upload(client, location, key, LYING_FILES["a zip bomb"], "申請書.docx")
    assert response.status_code == 400
    assert _error_at(response.get_data(as_text=True), key) == WRONG_TYPE_JA
    _nothing_lost(app, client, location, key, before)


@pytest.mark.parametrize(("make", "kind"), [(_png, "PNG"), (_jpeg, "JPEG")], ids=["png", "jpeg"])
def test_an_image_declaring_too_many_pixels_is_refused_without_being_decoded(
    documents, app, client, monkeypatch, make, kind
):
    location, key, before = documents
    import PIL.Image

    def refuse_to_decode(*args, **kwargs):
        raise AssertionError("an uploaded image was decoded")

    monkeypatch.setattr(PIL.Image, "open", refuse_to_decode)
    bomb = make(60_000, 60_000)
    assert len(bomb) < 200
    response = _upload(client, location, key, bomb, f"photo.{kind.lower()}")
    assert response.status_code == 400
    assert _error_at(response.get_data(as_text=True), key) == (
        "画像の画素数が多すぎて開けません（100メガピクセルまで）。"
        "画像を小さくするか、PDFにして添付してください。"
    )
    _nothing_lost(app, client, location, key, before)
    # A scan of A3 at 600 dpi is an ordinary upload.
    assert _upload(client, location, key, make(7016, 9921), "scan").status_code == 303
    with app.app_context():
        entry = db.session.scalars(select(Draft)).one().documents[key]
    assert entry["content_type"] == f"image/{kind.lower()}"


def test_image_sizes_are_read_from_headers_and_broken_headers_are_not_guessed():
    assert uploads.image_pixels("image/png", _png(3, 2)) == 6
    assert uploads.image_pixels("image/jpeg", _jpeg(4, 5)) == 20
    assert uploads.image_pixels("image/png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 8) is None
    assert uploads.image_pixels("image/jpeg", b"\xff\xd8\xff\xda" + b"\x00" * 8) is None
    assert uploads.image_pixels("image/jpeg", b"\xff\xd8\xff\xe0\x00") is None
    assert uploads.image_pixels("application/pdf", TINY_PDF) is None


def test_a_file_over_the_documents_limit_is_refused_at_its_field(documents, app, client):
    location, key, before = documents
    big = TINY_PDF + b"0" * (10 * 1024 * 1024)
    response = _upload(client, location, key, big, "big.pdf")
    assert response.status_code == 400
    assert _error_at(response.get_data(as_text=True), key) == "ファイルは10MB以下にしてください。"
    _nothing_lost(app, client, location, key, before)


def test_a_request_over_the_sites_limit_gets_a_page_that_says_what_is_kept(documents, app, client):
    location, key, before = documents
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = _upload(client, location, key, TINY_PDF + b"0" * limit, "huge.pdf")
    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "ファイルが大きすぎます" in page
    with app.test_request_context(), force_locale("ja"):
        assert str(escape(errors._too_large_message())) in page  # as the catalogue has it
    assert "Traceback" not in page
    _nothing_lost(app, client, location, key, before)
    client.set_cookie("madoguchi_lang", "en")
    english = _upload(client, location, key, TINY_PDF + b"0" * limit, "huge.pdf")
    assert (
        f"Everything sent at once must be {limit // (1024 * 1024)} MB or smaller, so nothing "
        "was sent. Your answers and the files you attached before are kept."
    ) in english.get_data(as_text=True)


def test_a_type_off_the_documents_list_is_refused_naming_what_it_takes():
    pdf_only = Document(
        id="certificate", label=TextPair(ja="証明書", en="Certificate"), accept=["application/pdf"]
    )
    with pytest.raises(uploads.UploadRefused) as refused:
        uploads.check_upload(pdf_only, _png(10, 10))
    assert refused.value.message("ja") == (
        "PDFのファイルを選んでください（ファイルの中身で判断しています）。"
    )
    assert refused.value.message("en") == (
        "Choose a PDF file (we check what the file contains, not its name)."
    )
    assert uploads.check_upload(pdf_only, TINY_PDF) == "application/pdf"


HOSTILE_NAMES = {
    "../../etc/passwd.pdf": "passwd.pdf",
    "C:\\x\\y.pdf": "y.pdf",
    "..\\..\\boot.ini.pdf": "boot.ini.pdf",
    "/": "file",
    "..": "file",
    ".htaccess.pdf": "htaccess.pdf",
    "re\x00ce\x07ipt\u202efdp.exe": "receiptfdp.exe",
    "a.pdf\r\nX-Injected: 1": "a.pdfX-Injected_ 1",
    "x.pdf\"; filename*=UTF-8''evil.html": "x.pdf_; filename_=UTF-8''evil.html",
    '<img src=x onerror="alert(1)">.pdf': "_img src=x onerror=_alert(1)__.pdf",
    "領" * 500 + ".pdf": "領" * 100,
}


@pytest.mark.parametrize("typed", sorted(HOSTILE_NAMES))
def test_a_hostile_file_name_is_kept_only_as_a_harmless_name(typed):
    assert uploads.shown_name(typed) == HOSTILE_NAMES[typed]


def test_a_path_in_the_file_name_never_reaches_the_storage(documents, app, client, tmp_path):
    location, key, _before = documents
    name = "..\\..\\<b>x</b>\x00\u202e" + "長" * 480 + '".pdf'
    assert _upload(client, location, key, TINY_PDF, name).status_code == 303
    with app.app_context():
        entry = db.session.scalars(select(Draft)).one().documents[key]
        stored = file_storage().get(entry["key"])
    assert stored == TINY_PDF
    assert re.fullmatch(r"uploads/[A-Za-z0-9_-]{32}\.pdf", entry["key"])
    assert entry["name"] == "b_" + "長" * 98  # what follows the last folder of "</b>"
    page = client.get(location).get_data(as_text=True)
    assert "<b>" not in page and str(escape(entry["name"])) in _group(page, key)


@pytest.fixture
def open_request(signed_in_as, app, client):
    """demo-0024's application with a clerk's request waiting for an answer."""
    signed_in_as("demo-0024")
    response = _submit(client, _to_check(client), declaration="yes")
    assert response.status_code == 303
    application = response.headers["Location"]
    return application, _ask(app)


def _answer(client, application: str, number: int, data: bytes, name: str):
    page = client.get(application).get_data(as_text=True)
    return client.post(
        f"{application}/{number}/answer",
        data={
            "csrf_token": token(page),
            "body": "<b>写し</b>を送ります。{{ 7*7 }}",
            "file": (io.BytesIO(data), name),
        },
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (LYING_FILES["a zip bomb"], WRONG_TYPE_JA),
        (LYING_FILES["a web page"], WRONG_TYPE_JA),
        (_png(60_000, 60_000), "画像の画素数が多すぎて開けません"),
        (TINY_PDF + b"0" * (10 * 1024 * 1024), "ファイルは10MB以下にしてください。"),
    ],
    ids=["zip", "html", "png-bomb", "over-10-mb"],
)
def test_a_reply_with_a_hostile_file_is_refused_and_keeps_what_was_written(
    open_request, app, client, content, message
):
    application, number = open_request
    response = _answer(client, application, number, content, "certificate.pdf")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in page
    assert ">&lt;b&gt;写し&lt;/b&gt;を送ります。{{ 7*7 }}</textarea>" in page
    with app.app_context():
        submission = db.session.scalars(select(Submission).order_by(Submission.id)).first()
        assert submission.status == "awaiting_applicant"
        assert [m.kind for m in submission.messages] == ["request", "note"]


def test_a_reply_file_name_is_harmless_in_the_download_header(open_request, app, client):
    application, number = open_request
    # Folders with "/": the multipart parser reads "\\" in a quoted name as an escape.
    name = "C:/Users/x/<診断書>|?.pdf"
    assert _answer(client, application, number, TINY_PDF, name).status_code == 303
    page = client.get(application).get_data(as_text=True)
    assert "&lt;b&gt;写し&lt;/b&gt;を送ります。{{ 7*7 }}" in page
    assert "_診断書___.pdf" in page
    link = re.search(r'href="([^"]+/messages/\d+/0)"', page).group(1)
    disposition = client.get(link).headers["Content-Disposition"]
    assert disposition == (
        "attachment; filename=\"____.pdf\"; filename*=UTF-8''_%E8%A8%BA%E6%96%AD%E6%9B%B8___.pdf"
    )
