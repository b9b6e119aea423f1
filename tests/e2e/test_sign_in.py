"""Signing in through the demo provider in a real browser, with and without JavaScript."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.identity.live import LiveApp, live_app

pytestmark = pytest.mark.e2e


@pytest.fixture
def portal(database_url: str) -> Iterator[LiveApp]:
    """The portal built for its own port, so its demo provider's addresses are right."""
    with live_app(database_url) as live:
        yield live


def _javascript_on(request: pytest.FixtureRequest) -> bool:
    return bool(request.node.callspec.params["page"])


def _sign_in_as_sato(page: Page, portal: LiveApp) -> None:
    page.get_by_role("link", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.get_by_role("button", name="Continue to sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose who to sign in as")
    page.get_by_role("button", name="Sign in as 佐藤 健一").click()


def test_a_resident_signs_in_through_the_persona_page_and_out_again(page: Page, portal: LiveApp):
    errors: list[str] = []

    def note_refusal(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            errors.append(message.text)

    page.on("console", note_refusal)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{portal.url}/privacy")
    page.get_by_role("button", name="English").click()
    _sign_in_as_sato(page, portal)

    expect(page).to_have_url(f"{portal.url}/privacy")
    header = page.get_by_role("banner")
    expect(header.get_by_text("Signed in as 佐藤 健一")).to_be_visible()
    expect(page.get_by_text("If you do nothing, you will be signed out at")).to_be_visible()
    expect(page.locator("#session-timeout-warning")).to_be_hidden()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(portal.url)}/\?state=[\w-]+$"))
    expect(header.get_by_role("link", name="Sign in", exact=True)).to_be_visible()
    expect(header.get_by_text("Signed in as")).to_have_count(0)
    assert errors == []  # no script error and no CSP violation


def test_a_clerk_signs_in_on_the_staff_page(page: Page, portal: LiveApp):
    page.goto(f"{portal.url}/staff/sign-in")
    expect(page.get_by_role("heading", level=1)).to_have_text("職員用サインイン")
    page.get_by_role("button", name="サインインへ進む").click()
    page.get_by_role("button", name="青木 直子 としてサインイン").click()
    expect(
        page.get_by_role("banner").get_by_text("青木 直子 さんとしてサインイン中")
    ).to_be_visible()


def test_stay_signed_in_keeps_the_page_with_or_without_script(
    page: Page, portal: LiveApp, request: pytest.FixtureRequest
):
    javascript = _javascript_on(request)
    if javascript:
        page.clock.install()
    page.goto(f"{portal.url}/contact")
    page.get_by_role("button", name="English").click()
    _sign_in_as_sato(page, portal)
    expect(page).to_have_url(f"{portal.url}/contact")
    warning = page.locator("#session-timeout-warning")

    if not javascript:
        expect(warning).to_be_hidden()  # the header already says when and offers the button
        page.locator(".session-bar").get_by_role("button", name="Stay signed in").click()
        expect(page).to_have_url(f"{portal.url}/contact")
        expect(page.get_by_role("banner").get_by_text("Signed in as 佐藤 健一")).to_be_visible()
        return

    page.evaluate("window.sameDocument = true")
    page.clock.fast_forward("27:00")
    expect(warning).to_be_hidden()
    page.clock.fast_forward("01:30")  # two minutes before the end
    expect(warning).to_be_visible()
    expect(warning.get_by_role("heading")).to_have_text("You will be signed out soon")
    warning.get_by_role("button", name="Stay signed in").click()
    expect(warning).to_be_hidden()
    assert page.evaluate("window.sameDocument") is True  # extended without leaving the page

    page.clock.fast_forward("31:00")
    expect(warning).to_be_visible()
    expect(warning.get_by_text("You have been signed out.")).to_be_visible()
    expect(warning.get_by_role("link", name="Sign in again")).to_be_visible()
