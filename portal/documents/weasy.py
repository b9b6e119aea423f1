"""The WeasyPrint side of the PDF documents: the locked URL fetcher and the render itself.

Only a process that renders a PDF imports this module (``portal.documents.pdf`` does it
when the first PDF is asked for), so web workers whose jobs run elsewhere never load
WeasyPrint and its fonts.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlsplit
from urllib.request import url2pathname

from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse, path2url

from portal.documents.pdf import PDF_ASSETS, ForbiddenResource

MAX_DATA_URL_BYTES = 64 * 1024
DATA_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif"})


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
def stylesheet(name: str) -> CSS:
    """A style sheet from the PDF assets, parsed once per process and shared by renders."""
    return CSS(url=path2url(PDF_ASSETS / name), url_fetcher=LockedURLFetcher())


def write_pdf(html: str, *, stylesheets: Sequence[str] = ()) -> bytes:
    """Turn an HTML document into a tagged PDF, resolving relative URLs in the PDF assets.

    The document's language comes from ``<html lang>`` and its title from ``<title>``;
    tagging gives screen readers the headings, lists and tables.
    """
    document = HTML(string=html, base_url=path2url(PDF_ASSETS), url_fetcher=LockedURLFetcher())
    pdf = document.write_pdf(stylesheets=[stylesheet(name) for name in stylesheets], pdf_tags=True)
    if pdf is None:
        raise RuntimeError("WeasyPrint returned no PDF")
    return pdf
