"""A new visitor meets the portal in a real browser: Japanese first, English one click away."""

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def test_home_is_japanese_and_switches_to_english_on_the_same_page(page: Page, live_server):
    page.goto(f"{live_server}/privacy")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.get_by_role("heading", level=1)).to_have_text("個人情報の取扱い")

    page.get_by_role("button", name="English").click()
    expect(page).to_have_url(f"{live_server}/privacy")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Privacy notice")

    page.goto(f"{live_server}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Madoguchi City online procedures")
    page.get_by_role("button", name="日本語").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("窓口市 オンライン手続")


def test_skip_link_is_first_and_moves_to_the_content(page: Page, live_server):
    page.goto(f"{live_server}/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="本文へ移動")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server}/#main")


def test_footer_links_reach_their_pages(page: Page, live_server):
    page.goto(f"{live_server}/")
    for name, heading in [
        ("ウェブアクセシビリティ方針", "ウェブアクセシビリティ方針"),
        ("個人情報の取扱い", "個人情報の取扱い"),
        ("お問い合わせ", "お問い合わせ"),
    ]:
        page.get_by_role("contentinfo").get_by_role("link", name=name).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)


def test_phone_width_at_200_percent_zoom_has_no_horizontal_scroll(browser, live_server):
    # 320 CSS px is a 640 px phone screen at 200 % zoom (WCAG 1.4.10 reflow).
    context = browser.new_context(viewport={"width": 320, "height": 640}, device_scale_factor=2)
    page = context.new_page()
    for path in ("/", "/privacy", "/no-such-page"):
        page.goto(f"{live_server}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 320, path
    context.close()
