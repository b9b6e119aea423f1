"""The PDF renderer fetches nothing but its own assets: no network, no other files."""

from __future__ import annotations

import base64
import re
import socket
import subprocess
import sys

import pytest
from weasyprint.urls import FatalURLFetchingError, path2url

from portal.documents.pdf import PDF_ASSETS, PROJECT_ROOT, ForbiddenResource, render_html_to_pdf
from portal.documents.weasy import LockedURLFetcher
from tests.documents.pdf_text import extract_text

# The smallest valid PNG: one transparent pixel.
PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Any attempt to open a connection fails the test loudly."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("the PDF renderer tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/style.css",
        "https://example.com/logo.png",
        "ftp://example.com/file",
        "file:///etc/passwd",
        "file://example.com/etc/passwd",
        path2url(PROJECT_ROOT / "static" / "css" / "portal.css"),
        path2url(PROJECT_ROOT / "pyproject.toml"),
        path2url(PDF_ASSETS) + "../css/portal.css",
        path2url(PDF_ASSETS) + "missing.css",
        "data:text/html,<h1>hi</h1>",
        "data:image/svg+xml;base64,PHN2Zy8+",
        "data:image/png;base64," + "A" * 70_000,
        "data:image/png;base64,not base64!",
        "javascript:alert(1)",
        "relative/path.css",
    ],
)
def test_the_fetcher_refuses_anything_but_pdf_assets_and_small_images(url):
    with pytest.raises(ForbiddenResource):
        LockedURLFetcher().fetch(url)


def test_the_fetcher_serves_the_pdf_assets_and_small_data_images():
    css = LockedURLFetcher().fetch(path2url(PDF_ASSETS / "receipt.css"))
    assert css.content_type == "text/css"
    assert b"@page" in css.read()
    data_url = "data:image/png;base64," + base64.b64encode(PIXEL_PNG).decode()
    image = LockedURLFetcher().fetch(data_url)
    assert image.content_type == "image/png" and image.read() == PIXEL_PNG


@pytest.mark.parametrize(
    "html",
    [
        '<img src="https://example.com/tracker.png" alt="">',
        '<link rel="stylesheet" href="file:///etc/passwd">',
        "<style>@import url(http://example.com/x.css);</style>",
        '<p style="background: url(file:///etc/hostname)">x</p>',
        '<img src="../../pyproject.toml" alt="">',
    ],
)
def test_a_document_asking_for_a_forbidden_resource_is_not_rendered(html):
    with pytest.raises(FatalURLFetchingError) as raised:
        render_html_to_pdf(f"<!doctype html><html lang='ja'><body>{html}</body></html>")
    assert isinstance(raised.value.__cause__, ForbiddenResource)


def test_a_document_using_allowed_resources_renders():
    image = "data:image/png;base64," + base64.b64encode(PIXEL_PNG).decode()
    pdf = render_html_to_pdf(
        "<!doctype html><html lang='ja'><head><link rel='stylesheet' href='receipt.css'></head>"
        f"<body><p>受付番号 MD-2026-000001</p><img src='{image}' alt='印'></body></html>"
    )
    assert pdf.startswith(b"%PDF-")
    assert "受付番号 MD-2026-000001" in extract_text(pdf)


def test_the_pdf_style_sheets_use_neither_flex_nor_grid():
    """WeasyPrint lays out flex and grid slowly; the PDFs use blocks and tables."""
    for sheet in PDF_ASSETS.glob("*.css"):
        css = re.sub(r"/\*.*?\*/", "", sheet.read_text(encoding="utf-8"), flags=re.S)
        assert not re.search(r"display\s*:\s*(inline-)?(flex|grid)", css), sheet.name


def test_building_the_app_does_not_load_weasyprint(tmp_path):
    """A web worker whose jobs run elsewhere never holds WeasyPrint (about 26 MB)."""
    script = (
        "import sys\n"
        "from portal import create_app\n"
        f"create_app({{'PORTAL_ENV': 'development', 'SECRET_KEY': 'x' * 32, "
        f"'DATABASE_URL': 'sqlite:///{tmp_path / 'app.sqlite3'}', 'TESTING': '1'}})\n"
        "loaded = sorted(name for name in sys.modules if name.split('.')[0] == 'weasyprint')\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
