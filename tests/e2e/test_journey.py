"""A resident walks the bereavement journey in a real browser, with and without JavaScript."""

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def _continue(page: Page) -> None:
    page.get_by_role("button", name="次へ進む").click()


def test_bereavement_questions_lead_to_the_personal_list(
    page: Page, live_server, procedures_loaded
):
    page.goto(f"{live_server}/")
    page.get_by_role("link", name="おくやみ（ご家族が亡くなったとき）").click()
    page.get_by_role("button", name="今すぐ始める").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("住民票がありましたか")
    page.get_by_label("はい").check()
    _continue(page)
    page.get_by_label("いいえ").check()  # the death registration is not filed yet
    _continue(page)

    # A grouped page submitted empty: the error summary, then the fields, nothing lost.
    page.get_by_label("亡くなった方の生年月日").fill("昭和23年5月1日")
    _continue(page)
    assert page.title().startswith("エラー：")
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("「亡くなった日」を入力してください。")
    expect(page.get_by_label("亡くなった方の生年月日")).to_have_value("昭和23年5月1日")
    summary.get_by_role("link").first.click()
    assert page.url.endswith("#f-death_date")
    page.get_by_label("亡くなった日").fill("2026-11-20")
    _continue(page)

    for _ in range(6):
        if "/procedures" in page.url:
            break
        radios = page.locator("input[type=radio][value=no]")
        for index in range(radios.count()):
            radios.nth(index).check()
        _continue(page)

    expect(page.get_by_role("heading", level=1)).to_have_text("あなたに必要な手続")
    expect(page.get_by_role("heading", name="死亡届・火葬許可申請")).to_be_visible()
    expect(page.get_by_text("2026年11月26日（令和8年）")).to_be_visible()
    expect(page.get_by_role("heading", name="手続は不要です（自動で行われます）")).to_be_visible()
