"""Render Jinja templates to PDF with WeasyPrint, fetching nothing but the project's PDF assets.

A PDF is rendered from data residents typed in, so the renderer must never become a way
to read the server's files or call the network. The URL fetcher is locked: it serves
``file://`` URLs inside ``static/pdf/`` (style sheets, images, fonts) and small ``data:``
images, and refuses everything else by stopping the render. Templates are autoescaped,
so typed text is shown as text. Japanese text is set in Noto Sans CJK JP, which Debian's
``fonts-noto-cjk`` installs and fontconfig finds by its family name.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit
from urllib.request import url2pathname

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse, path2url

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
PDF_ASSETS = PROJECT_ROOT / "static" / "pdf"
TEMPLATES = PROJECT_ROOT / "templates"
MAX_DATA_URL_BYTES = 64 * 1024
DATA_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif"})


class ForbiddenResource(ValueError):
    """A document asked for a resource outside the PDF assets; the render stops."""


class LockedURLFetcher(URLFetcher):
    """Serves files inside the PDF assets folder and small data images; refuses the rest.

    WeasyPrint turns any error of a fetcher made with ``fail_on_errors`` into a
    ``FatalURLFetchingError`` that stops the render, so a refused resource is never
    silently left out.
    """

    def __init__(self, assets: Path = PDF_ASSETS) -> None:
        super().__init__(
            allowed_protocols=("file", "data"), allow_redirects=False, fail_on_errors=True
        )
        self.assets = assets.resolve()

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> URLFetcherResponse:
        """Return the resource at ``url``; ForbiddenResource for anything not allowed."""
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "file":
            return self._file(url)
        if scheme == "data":
            return self._data(url)
        raise ForbiddenResource(f"PDFs may not fetch {scheme or 'relative'} URLs: {url[:120]}")

    def _file(self, url: str) -> URLFetcherResponse:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise ForbiddenResource(f"PDFs may not fetch files from other hosts: {url[:120]}")
        path = Path(url2pathname(parts.path)).resolve()
        if not path.is_relative_to(self.assets) or not path.is_file():
            raise ForbiddenResource(f"PDFs may only use files in {self.assets}: {url[:120]}")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})

    def _data(self, url: str) -> URLFetcherResponse:
        if len(url) > MAX_DATA_URL_BYTES:
            raise ForbiddenResource("PDFs may only embed data URLs up to 64 KiB")
        header, separator, body = url[len("data:") :].partition(",")
        parameters = header.lower().split(";")
        if not separator or parameters[0] not in DATA_IMAGE_TYPES:
            raise ForbiddenResource("PDFs may only embed PNG, JPEG or GIF images as data URLs")
        try:
            data = (
                base64.b64decode(body, validate=True)
                if "base64" in parameters[1:]
                else unquote_to_bytes(body)
            )
        except (binascii.Error, ValueError):
            raise ForbiddenResource("a data URL in a PDF is not valid base64") from None
        return URLFetcherResponse(url, data, {"Content-Type": parameters[0]})


@cache
def template_environment() -> Environment:
    """The Jinja environment of documents: escaping always on, unknown names an error."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def stylesheet(name: str) -> CSS:
    """A style sheet from the PDF assets, parsed once per process and shared by renders."""
    return CSS(url=path2url(PDF_ASSETS / name), url_fetcher=LockedURLFetcher())


def render_html_to_pdf(html: str, *, stylesheets: Sequence[str] = ()) -> bytes:
    """Turn an HTML document into a tagged PDF, resolving relative URLs in the PDF assets.

    The document's language comes from ``<html lang>`` and its title from ``<title>``;
    tagging gives screen readers the headings, lists and tables.
    """
    document = HTML(string=html, base_url=path2url(PDF_ASSETS), url_fetcher=LockedURLFetcher())
    pdf = document.write_pdf(stylesheets=[stylesheet(name) for name in stylesheets], pdf_tags=True)
    if pdf is None:
        raise RuntimeError("WeasyPrint returned no PDF")
    return pdf


def render_pdf(
    template: str, context: Mapping[str, Any], *, stylesheets: Sequence[str] = ()
) -> bytes:
    """Render the template ``documents/…`` with ``context`` and return the PDF's bytes."""
    html = template_environment().get_template(template).render(**context)
    return render_html_to_pdf(html, stylesheets=stylesheets)
