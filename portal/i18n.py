"""Languages: Japanese by default, English complete, the resident's choice remembered.

The choice lives in a cookie so that it holds before and after signing in; the
browser's Accept-Language is deliberately not consulted, because the city's default
language is Japanese whatever browser a resident borrows.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.support import NullTranslations
from flask import Flask, Response, current_app, g, has_app_context, request
from flask_babel import get_locale, get_translations

from portal.extensions import babel

LANGUAGES = {"ja": "日本語", "en": "English"}
DEFAULT_LANGUAGE = "ja"
LANGUAGE_COOKIE = "madoguchi_lang"
LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600
TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def select_language() -> str:
    """Return the language of this request: the remembered choice, else Japanese."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def current_language() -> str:
    """Return the two-letter code of the language this page is shown in."""
    return str(get_locale() or DEFAULT_LANGUAGE)


def remember_language(response: Response, language: str) -> None:
    """Store the choice in a long-lived cookie that scripts cannot read."""
    response.set_cookie(
        LANGUAGE_COOKIE,
        language,
        max_age=LANGUAGE_COOKIE_MAX_AGE,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )


def to_local_time(value: datetime) -> datetime:
    """Convert a stored UTC time to the city's time zone for display."""
    return value.astimezone(ZoneInfo(current_app.config["PORTAL_TIMEZONE"]))


def format_date_long(value: date) -> str:
    """A date as people read it: Western and Japanese era in Japanese, plain in English."""
    from portal.definitions.japanese import format_date_both

    return format_date_both(value, current_language())


def format_datetime_long(value: datetime) -> str:
    """A local date and time, e.g. 2026年11月27日 9時30分 or 27 November 2026, 09:30."""
    from portal.definitions.japanese import format_date_en

    if current_language() == "en":
        return f"{format_date_en(value.date())}, {value:%H:%M}"
    return f"{value.year}年{value.month}月{value.day}日 {value.hour}時{value.minute:02d}分"


def request_translations() -> NullTranslations:
    """This request's translations, found once and kept for the rest of it.

    Flask-Babel finds them again for every message (the locale, the domain, the cache
    key), which is a fifth of rendering a form page. They are kept where Flask-Babel
    keeps its own (``babel_translations``), which ``refresh()`` and ``force_locale()``
    reset, so a language switched within a request is still honoured.
    """
    if not has_app_context():
        return get_translations()
    namespace = g.get("_flask_babel")
    cached = getattr(namespace, "babel_translations", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    translations = get_translations()
    namespace = g.get("_flask_babel")  # get_translations made it when it was missing
    if namespace is not None:
        namespace.babel_translations = translations
    return translations


def init_app(app: Flask) -> None:
    babel.init_app(
        app, locale_selector=select_language, default_translation_directories=str(TRANSLATIONS)
    )
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda message: request_translations().ugettext(message),
        ngettext=lambda singular, plural, n: request_translations().ungettext(singular, plural, n),
        pgettext=lambda context, message: request_translations().upgettext(context, message),
        npgettext=lambda context, singular, plural, n: request_translations().unpgettext(
            context, singular, plural, n
        ),
        newstyle=True,
    )
    app.jinja_env.filters["localtime"] = to_local_time
    app.jinja_env.filters["date_long"] = format_date_long
    app.jinja_env.filters["datetime_long"] = format_datetime_long
    app.jinja_env.globals.update(current_language=current_language, LANGUAGES=LANGUAGES)
