"""A live portal on a free port and a small cookie-keeping HTTP browser, for sign-in tests.

The portal's demo provider lives at ``http://127.0.0.1:{PORT}/demo-idp``, so the app
must be built knowing its port: the server is bound first (port 0, the kernel picks)
with a dispatcher, then the app is built for that port and handed to the dispatcher
before the first request. The browser is ``urllib`` with a cookie jar that never
follows redirects by itself, so every hop can be inspected.
"""

from __future__ import annotations

import html
import http.cookiejar
import re
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from typing import Any

from flask import Flask
from sqlalchemy import delete
from werkzeug.serving import make_server

from portal import create_app
from portal.extensions import db
from tests.conftest import app_config

_CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
_HIDDEN_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


@dataclass
class LiveApp:
    """The app under test and the address it answers on."""

    url: str
    app: Flask

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


@contextmanager
def live_app(database_url: str, **overrides: str) -> Iterator[LiveApp]:
    """Serve a new app, built for its own port, over HTTP; empty the tables afterwards."""
    built: dict[str, Flask] = {}

    def dispatch(environ: dict[str, Any], start_response: Any) -> Any:
        return built["app"](environ, start_response)

    server = make_server("127.0.0.1", 0, dispatch, threaded=True)
    port = server.server_port
    app = create_app(app_config(database_url, PORT=str(port), **overrides))
    built["app"] = app
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveApp(url=f"http://127.0.0.1:{port}", app=app)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        with app.app_context():
            db.session.remove()
            with db.engine.begin() as connection:
                for table in reversed(db.metadata.sorted_tables):
                    connection.execute(delete(table))
            db.engine.dispose()


@dataclass
class Page:
    """One HTTP answer as the browser got it."""

    url: str
    status: int
    headers: Message
    text: str

    @property
    def location(self) -> str:
        """The absolute URL a redirect points to."""
        return urllib.parse.urljoin(self.url, self.headers["Location"])

    def csrf_token(self) -> str:
        match = _CSRF_INPUT.search(self.text)
        assert match, f"no CSRF token on {self.url}"
        return match.group(1)

    def hidden_fields(self) -> dict[str, str]:
        """The hidden inputs of the page (later ones win), HTML entities decoded."""
        return {name: html.unescape(value) for name, value in _HIDDEN_INPUT.findall(self.text)}


class _KeepEveryAnswer(urllib.request.HTTPErrorProcessor):
    """Hand back 3xx and 4xx answers as they are instead of following or raising."""

    def http_response(self, request: urllib.request.Request, response: Any) -> Any:
        return response

    https_response = http_response


class Browser:
    """A browser without JavaScript: cookies, forms, and redirects followed on request."""

    def __init__(self, user_agent: str = "Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0") -> None:
        self.cookies = http.cookiejar.CookieJar()
        self.user_agent = user_agent
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPCookieProcessor(self.cookies),
            _KeepEveryAnswer(),
        )

    def request(
        self,
        method: str,
        url: str,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Page:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(  # noqa: S310 - tests talk to 127.0.0.1 only
            url,
            data=body,
            method=method,
            headers={"User-Agent": self.user_agent, **(headers or {})},
        )
        with self._opener.open(request, timeout=15) as response:
            text = response.read().decode("utf-8", "replace")
            return Page(url=url, status=response.status, headers=response.headers, text=text)

    def get(self, url: str, **kwargs: Any) -> Page:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, data: Mapping[str, str], **kwargs: Any) -> Page:
        return self.request("POST", url, data, **kwargs)

    def follow(self, page: Page, limit: int = 10) -> Page:
        """Follow redirects with GET, as a browser does after a 303, until a page answers."""
        for _ in range(limit):
            if page.status not in (301, 302, 303, 307, 308):
                return page
            page = self.get(page.location)
        raise AssertionError(f"more than {limit} redirects from {page.url}")

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.cookies if c.name == name), None)

    def copy_cookies_to(self, other: Browser) -> None:
        """Give another browser a copy of this one's cookies, as a thief would take them."""
        for cookie in self.cookies:
            other.cookies.set_cookie(cookie)


def flask_session(live: LiveApp, browser: Browser) -> dict[str, Any]:
    """Decode the browser's signed Flask session cookie, as only the server can."""
    value = browser.cookie(live.app.config["SESSION_COOKIE_NAME"])
    if value is None:
        return {}
    serializer = live.app.session_interface.get_signing_serializer(live.app)  # type: ignore[attr-defined]
    return dict(serializer.loads(value))


def start_sign_in(live: LiveApp, browser: Browser, *, staff: bool = False, next: str = "/") -> Page:
    """Press "Continue to sign in" and return the redirect to the provider."""
    path = "/staff/sign-in" if staff else "/sign-in"
    page = browser.get(f"{live.url}{path}?{urllib.parse.urlencode({'next': next})}")
    assert page.status == 200, page.text
    data = {"csrf_token": page.csrf_token(), "next": page.hidden_fields().get("next", "/")}
    redirect = browser.post(f"{live.url}{path}", data)
    assert redirect.status == 303, redirect.text
    return redirect


def choose_persona(browser: Browser, persona_page: Page, subject: str) -> Page:
    """Press the persona's button on the demo provider's page; return its redirect back."""
    fields = persona_page.hidden_fields()
    fields["persona"] = subject
    answer = browser.post(persona_page.url.split("?", 1)[0], fields)
    assert answer.status == 303, answer.text
    return answer


def sign_in(
    live: LiveApp,
    browser: Browser,
    subject: str = "demo-0001",
    *,
    staff: bool = False,
    next: str = "/",
) -> Page:
    """Sign in through the demo provider as a persona; return the page it lands on."""
    to_provider = start_sign_in(live, browser, staff=staff, next=next)
    personas = browser.get(to_provider.location)
    assert personas.status == 200, personas.text
    callback = choose_persona(browser, personas, subject)
    landed = browser.get(callback.location)
    assert landed.status == 303, landed.text
    return browser.follow(landed)
