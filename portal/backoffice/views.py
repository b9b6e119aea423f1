"""The clerk's workbench: work lists (this module) and the case view (`case_views`).

Every route is for clerks and admins only; a clerk sees the queues of their own
departments and nothing else (404 for a submission outside them, as if it did not
exist). Views stay thin: the rules live in `worklist`, `cases` and `workflow`.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("backoffice", __name__, url_prefix="/backoffice")

from portal.backoffice import case_views  # noqa: E402, F401
