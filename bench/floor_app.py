"""The floor the portal's form page is measured against: a bare Flask route, same bytes.

It returns the HTML the portal served for the form page (captured by
``http_form_page.py`` into the file ``BENCH_FLOOR_HTML`` names), with the same
content type, and does nothing else: no database, no session, no templates. Served
by gunicorn with the same settings as the portal, it is what the machine, gunicorn
and Flask cost by themselves.

    BENCH_FLOOR_HTML=page.html gunicorn --pythonpath bench floor_app:app
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response


def create_floor_app(html_path: Path) -> Flask:
    """A Flask app that answers every GET, whatever the path, with the captured page.

    Any path, so that wrk asks the floor for the very URL it asked the portal for.
    """
    body = html_path.read_bytes()
    floor = Flask(__name__)

    @floor.get("/", defaults={"path": ""})
    @floor.get("/<path:path>")
    def page(path: str) -> Response:
        return Response(body, mimetype="text/html")

    return floor


app = create_floor_app(Path(os.environ["BENCH_FLOOR_HTML"]))
