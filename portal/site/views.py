"""The public pages every visitor can reach: home, the legal pages and the language switch."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request
from flask.typing import ResponseReturnValue

from portal.catalogue.services import published_catalogue, published_pins
from portal.definitions.search import MAX_QUERY_LENGTH, RESULTS_SHOWN, SearchHit, search
from portal.extensions import db
from portal.i18n import LANGUAGES, current_language, remember_language
from portal.security import safe_redirect_target

bp = Blueprint("site", __name__)


@bp.get("/")
def show_home() -> ResponseReturnValue:
    life_events = []
    if published_pins(db.session):
        catalogue, _pins = published_catalogue(db.session)
        life_events = list(catalogue.life_events.values())
    return render_template("site/home.html", life_events=life_events, lang=current_language())


@bp.get("/search")
def search_procedures() -> ResponseReturnValue:
    """Find published procedures by words; one hit more than shown tells that there are more."""
    query = request.args.get("q", "")
    lang = current_language()
    too_long = len(query) > MAX_QUERY_LENGTH
    found: list[SearchHit] = []
    if query.strip() and not too_long and published_pins(db.session):
        catalogue, _pins = published_catalogue(db.session)
        found = search(catalogue, query, lang, limit=RESULTS_SHOWN + 1)
    return render_template(
        "site/search.html",
        query=query,
        hits=found[:RESULTS_SHOWN],
        more=len(found) > RESULTS_SHOWN,
        too_long=too_long,
        max_length=MAX_QUERY_LENGTH,
        lang=lang,
    )


@bp.get("/accessibility")
def show_accessibility() -> ResponseReturnValue:
    return render_template("site/accessibility.html")


@bp.get("/privacy")
def show_privacy() -> ResponseReturnValue:
    return render_template("site/privacy.html")


@bp.get("/contact")
def show_contact() -> ResponseReturnValue:
    return render_template("site/contact.html")


@bp.post("/language")
def set_language() -> ResponseReturnValue:
    """Switch the language and come back to the same page."""
    language = request.form.get("language", "")
    if language not in LANGUAGES:
        abort(400)
    response = redirect(safe_redirect_target(request.form.get("next")), code=303)
    remember_language(response, language)
    return response
