"""After sign-in the browser goes back only to a page of this site, never elsewhere.

The ``next`` target travels from a link's query to the sign-in form, into the signed
session while the provider is visited, and back as the redirect after the callback.
Each hop checks it with ``portal.security.is_safe_redirect``; a refused target falls
back to the home page. The property test reads every accepted target as a browser
does (backslashes are slashes, tabs and line breaks vanish) and checks it stays here.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.security import is_safe_redirect, safe_redirect_target
from tests.identity.live import choose_persona, flask_session, sign_in

SITE = "https://madoguchi.city.example"
HOSTILE = [
    "https://evil.example/",
    "HTTPS://evil.example",
    "//evil.example",
    "///evil.example",
    "////evil.example/path",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "\\/evil.example",
    " /\\evil.example",
    "/\t/evil.example",
    "/\r\n/evil.example",
    "/ok\r\nLocation: https://evil.example",
    "/ok\nSet-Cookie: planted=1",
    "/ok\x00",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(document.cookie)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "http:/evil.example",
    "https:evil.example",
    "evil.example",
    # Encoded once more than the server decodes: the path must not hide a host.
    "%2F%2Fevil.example",
    "/%2F%2Fevil.example",
    "/%2f/evil.example",
    "/%5Cevil.example",
    "/%5c%5cevil.example",
    "/%09/evil.example",
    "/%0d%0aSet-Cookie:%20planted=1",
    "%2Fevil.example",
    "https%3A%2F%2Fevil.example",
    "",
]
LOCAL = [
    "/",
    "/dashboard",
    "/applications/MD-2026-000001?tab=messages",
    "/search?q=a%2Fb%5Cc",  # encoded characters in the query are the query's business
    "/drafts/abc/check#declaration",
    "/backoffice/?status=received&page=2",
]


@pytest.mark.parametrize("target", HOSTILE)
def test_a_target_that_could_leave_the_site_is_refused(target):
    assert not is_safe_redirect(target)
    assert safe_redirect_target(target) == "/"
    assert safe_redirect_target(target, fallback="/dashboard") == "/dashboard"


@pytest.mark.parametrize("target", LOCAL)
def test_a_page_of_this_site_is_kept(target):
    assert is_safe_redirect(target)
    assert safe_redirect_target(target, fallback="/elsewhere") == target


def _as_a_browser_reads_it(target: str) -> str:
    """Resolve a Location against the site as a browser's URL parser would.

    Leading and trailing spaces and control characters are trimmed, tabs and line
    breaks removed anywhere, and a backslash is a slash in an http(s) URL.
    """
    cleaned = target.strip("".join(chr(code) for code in range(33)))
    cleaned = re.sub(r"[\t\r\n]", "", cleaned).replace("\\", "/")
    return urljoin(f"{SITE}/start", cleaned)


_URL_TEXT = st.text(alphabet=st.sampled_from("/\\:.%2fFcC5e0 \t\r\nvil?#@ajvsrtp"), max_size=24)


@given(st.one_of(_URL_TEXT, st.sampled_from(HOSTILE), st.text(max_size=24)))
def test_every_accepted_target_stays_on_the_site(target):
    if is_safe_redirect(target):
        landed = urlsplit(_as_a_browser_reads_it(target))
        assert (landed.scheme, landed.netloc) == ("https", "madoguchi.city.example")


@given(st.sampled_from(LOCAL), st.sampled_from(["/\\", "%2F%2F", "%5c", "\r\n", "\t", "\x00"]))
def test_a_hostile_piece_anywhere_in_the_path_is_refused(local, piece):
    path, rest = re.match(r"([^?#]*)(.*)", local).groups()
    assert not is_safe_redirect(f"{path}{piece}evil.example{rest}")


_SIGN_IN_FORM_NEXT = re.compile(
    r'action="/(?:staff/)?sign-in">.*?name="next" value="([^"]*)"', re.DOTALL
)


def _hidden_next(page_text: str) -> str:
    """The target the sign-in form (not the language or session forms) carries."""
    match = _SIGN_IN_FORM_NEXT.search(page_text)
    assert match, "the sign-in form carries no next field"
    return html.unescape(match.group(1))


@pytest.mark.parametrize("path", ["/sign-in", "/staff/sign-in"])
def test_the_sign_in_form_never_carries_a_hostile_target(client, path):
    for target in HOSTILE[:-1]:  # the empty one is "no target", tested below
        page = client.get(f"{path}?{urlencode({'next': target})}")
        assert page.status_code == 200
        assert _hidden_next(page.get_data(as_text=True)) == "/", repr(target)


@pytest.mark.parametrize("path", ["/sign-in", "/staff/sign-in"])
def test_the_sign_in_form_keeps_a_page_of_this_site(client, path):
    target = "/applications/MD-2026-000001?tab=messages"
    page = client.get(f"{path}?{urlencode({'next': target})}")
    assert _hidden_next(page.get_data(as_text=True)) == target


def test_without_a_target_each_kind_of_user_starts_on_their_own_page(client):
    assert _hidden_next(client.get("/sign-in").get_data(as_text=True)) == "/dashboard"
    assert _hidden_next(client.get("/staff/sign-in").get_data(as_text=True)) == "/backoffice/"


# Over real HTTP, the kinds tests/identity/test_views.py does not already send.
LIVE_HOSTILE = [
    "/\r\n/evil.example",
    "/\t/evil.example",
    "/%2F%2Fevil.example",
    "/%5Cevil.example",
    "%2F%2Fevil.example",
    "JaVaScRiPt:alert(document.cookie)",
    " /\\evil.example",
]


def test_a_hand_made_sign_in_form_with_hostile_targets_lands_home(portal, browser):
    """Post each hostile target past the form, sign in, and land on this site's home."""
    for target in LIVE_HOSTILE:
        page = browser.get(f"{portal.url}/sign-in")
        to_provider = browser.post(
            f"{portal.url}/sign-in", {"csrf_token": page.csrf_token(), "next": target}
        )
        assert flask_session(portal, browser)["oidc_pending"]["next"] == "/", repr(target)
        callback = choose_persona(browser, browser.get(to_provider.location), "demo-0001")
        landed = browser.get(callback.location)
        assert landed.status == 303, repr(target)
        assert landed.location == f"{portal.url}/", repr(target)


def test_sign_in_returns_to_the_page_of_this_site_that_asked(portal, browser):
    target = "/privacy?from=%2Fdashboard"
    landed = sign_in(portal, browser, next=target)
    assert landed.url == f"{portal.url}{target}"
    assert landed.status == 200
