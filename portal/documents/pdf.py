"""Render Jinja templates to PDF with WeasyPrint, fetching nothing but the project's PDF assets.

A PDF is rendered from data residents typed in, so the renderer must never become a way
to read the server's files or call the network. The URL fetcher is locked: it serves
``file://`` URLs inside ``static/pdf/`` (style sheets, images, fonts) and small ``data:``
images, and refuses everything else by stopping the render. Templates are autoescaped,
so typed text is shown as text. Japanese text is set in Noto Sans CJK JP, which Debian's
``fonts-noto-cjk`` installs and fontconfig finds by its family name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
PDF_ASSETS = PROJECT_ROOT / "static" / "pdf"
TEMPLATES = PROJECT_ROOT / "templates"


class ForbiddenResource(ValueError):
    """A document asked for a resource outside the PDF assets; the render stops."""


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


def render_html_to_pdf(html: str, *, stylesheets: Sequence[str] = ()) -> bytes:
    """Turn an HTML document into a tagged PDF (see ``portal.documents.weasy``)."""
    # Imported here, not with this module: WeasyPrint holds about 26 MB in every process
    # that imports it, and a web worker renders no PDF when jobs run in their own workers.
    from portal.documents.weasy import write_pdf

    return write_pdf(html, stylesheets=stylesheets)


def render_pdf(
    template: str, context: Mapping[str, Any], *, stylesheets: Sequence[str] = ()
) -> bytes:
    """Render the template ``documents/…`` with ``context`` and return the PDF's bytes."""
    html = template_environment().get_template(template).render(**context)
    return render_html_to_pdf(html, stylesheets=stylesheets)
