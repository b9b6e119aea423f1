"""The bereavement journey with the keyboard alone, from the home page to the receipt.

中村 健太 opens the portal's home page and from then on only presses keys: Tab and
Shift+Tab to move, Enter to follow links and press buttons, Space to tick boxes, the
arrow keys to choose among radio buttons and options. No click, no typed address. On
the way, the focused control must look different from the unfocused one. It runs with
and without JavaScript (the `page` fixture).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.documents.pdf_text import extract_text
from tests.e2e.journeys import REFERENCE, demo_city
from tests.e2e.test_life_events import (
    BEREAVEMENT,
    DISABILITY_RETURN,
    FUNERAL_GRANT,
    HEIR_REPRESENTATIVE,
    LTC_LOSS,
    NHI_LOSS,
)
from tests.identity.live import LiveApp

pytestmark = pytest.mark.e2e

DROPPED = [FUNERAL_GRANT.title, LTC_LOSS.title, DISABILITY_RETURN.title, HEIR_REPRESENTATIVE.title]
MOST_TABS = 300  # more than any page of the journey has stops
IS_FOCUSED = "element => element === document.activeElement"
IN_GROUP = """element => {
  const focused = document.activeElement;
  return focused !== null && focused.type === "radio" && focused.name === element.name;
}"""
FOCUS_LOOK = """element => {
  const style = getComputedStyle(element);
  return [style.outlineStyle, style.outlineWidth, style.outlineColor, style.boxShadow,
          style.backgroundColor, style.color].join(" | ");
}"""


@pytest.fixture
def city(database_url: str) -> Iterator[LiveApp]:
    """The demo city's portal, with its procedures and registers, on a live server."""
    with demo_city(database_url) as live:
        yield live


class KeyboardUser:
    """A resident who reaches every control with Tab and acts on it with keys."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.focus_checked: list[str] = []
        page.set_default_timeout(10_000)

    def tab_to(self, target: Locator, *, backwards: bool = False) -> None:
        """Press Tab (or Shift+Tab) until the target has the focus."""
        expect(target).to_be_visible()
        key = "Shift+Tab" if backwards else "Tab"
        for _ in range(MOST_TABS):
            self.page.keyboard.press(key)
            if target.evaluate(IS_FOCUSED):
                return
        raise AssertionError(f"{MOST_TABS} presses of {key} never reached {target}")

    def tab_to_and_see_focus(self, target: Locator) -> None:
        """Tab to the target and check that its focused look differs from its resting one."""
        resting = target.evaluate(FOCUS_LOOK)
        self.tab_to(target)
        focused = target.evaluate(FOCUS_LOOK)
        assert focused != resting, f"no visible focus on {target}: {focused}"
        self.focus_checked.append(focused)

    def activate(self, target: Locator) -> None:
        """Tab to a link or button and press Enter; wait for the next page."""
        self.tab_to(target)
        with self.page.expect_navigation():
            self.page.keyboard.press("Enter")

    def press_button(self, name: str) -> None:
        self.activate(self.page.get_by_role("main").get_by_role("button", name=name, exact=True))

    def continue_(self) -> None:
        self.press_button("次へ進む")

    def type_into(self, label: str, text: str) -> None:
        """Tab to the labelled box and type."""
        self.tab_to(self.page.get_by_label(label, exact=True))
        self.page.keyboard.type(text)

    def toggle(self, box: Locator) -> None:
        """Tab to a checkbox and press Space."""
        self.tab_to(box)
        self.page.keyboard.press("Space")

    def choose(self, radio: Locator) -> None:
        """Tab into the radio group, then arrow down to the choice (Space if already there)."""
        expect(radio).to_be_visible()
        for _ in range(MOST_TABS):
            self.page.keyboard.press("Tab")
            if radio.evaluate(IN_GROUP):
                break
        else:
            raise AssertionError(f"Tab never reached the group of {radio}")
        for _ in range(20):
            if radio.evaluate(IS_FOCUSED):
                self.page.keyboard.press("Space")
                expect(radio).to_be_checked()
                return
            self.page.keyboard.press("ArrowDown")
        raise AssertionError(f"the arrow keys never reached {radio}")

    def answer(self, question: str, choice: str) -> None:
        group = self.page.get_by_role("group", name=question, exact=True)
        self.choose(group.get_by_label(choice, exact=True))

    def pick(self, label: str, option: str) -> None:
        """Tab to the drop-down and arrow down until the option is chosen."""
        select = self.page.get_by_label(label, exact=True)
        self.tab_to(select)
        for _ in range(30):
            if select.evaluate("element => element.selectedOptions[0].text") == option:
                return
            self.page.keyboard.press("ArrowDown")
        raise AssertionError(f"{option} is not among the options of {label}")


def _heading(page: Page, text: str | re.Pattern[str]) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(text)


def test_bereavement_with_the_keyboard_only_from_home_to_the_receipt(page: Page, city: LiveApp):
    user = KeyboardUser(page)
    page.goto(f"{city.url}/")  # the only address typed: the rest is keys

    user.tab_to_and_see_focus(page.get_by_role("link", name=BEREAVEMENT, exact=True))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    _heading(page, BEREAVEMENT)

    # Sign in through the demo provider, back on the same page.
    sign_in = page.get_by_role("banner").get_by_role("link", name="サインイン", exact=True)
    user.tab_to_and_see_focus(sign_in)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    user.press_button("サインインへ進む")
    _heading(page, "サインインする人を選んでください")
    user.press_button("中村 健太 としてサインイン")
    _heading(page, BEREAVEMENT)
    expect(page.get_by_role("banner")).to_contain_text("中村 健太 さんとしてサインイン中")

    start = page.get_by_role("button", name="今すぐ始める")
    user.tab_to_and_see_focus(start)
    with page.expect_navigation():
        page.keyboard.press("Enter")

    # The questions.
    first = page.get_by_role("group", name="亡くなった方は、窓口市に住民票がありましたか")
    user.choose(first.get_by_label("はい", exact=True))
    user.tab_to_and_see_focus(page.get_by_role("button", name="次へ進む"))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    user.answer("死亡届はもう提出しましたか", "はい")
    user.continue_()
    _heading(page, "亡くなった方について")
    birth = page.get_by_label("亡くなった方の生年月日", exact=True)
    user.tab_to_and_see_focus(birth)
    page.keyboard.type("昭和34年6月30日")
    user.type_into("亡くなった日", "2026-11-22")
    user.continue_()
    user.answer("亡くなった方は、国民健康保険に加入していましたか", "はい")
    user.continue_()
    user.answer("亡くなった方は、世帯主でしたか", "はい")
    user.continue_()
    user.answer("亡くなった方と同じ世帯に、2人以上の方が残りますか", "いいえ")
    user.continue_()
    _heading(page, "そのほかのこと")
    user.answer("亡くなる前の1年ほどの間に、入院や高額な医療費の支払いがありましたか", "いいえ")
    user.answer("亡くなった方は、年金を受け取っていましたか", "はい")
    user.answer("亡くなった方は、障害者手帳や医療の受給者証を持っていましたか", "はい")
    user.answer("亡くなった方は、窓口市内に土地や家屋を持っていましたか", "はい")
    user.continue_()

    # The personal list: keep only the NHI loss, untick the rest.
    _heading(page, "あなたに必要な手続")
    online = page.get_by_role("group", name="今オンラインで申請する手続")
    for title in DROPPED:
        box = online.get_by_label(title, exact=True)
        user.toggle(box)
        expect(box).not_to_be_checked()
    expect(online.get_by_label(NHI_LOSS.title, exact=True)).to_be_checked()
    user.press_button("選んだ手続の入力へ進む")

    _heading(page, "市が保有している情報を使う")
    user.toggle(page.get_by_label("住民基本台帳", exact=True))
    user.toggle(page.get_by_label("国民健康保険の記録", exact=True))
    user.press_button("チェックした記録から入力する")
    if page.url.endswith("/filing-for"):
        user.choose(page.get_by_label("自分自身", exact=True))
        user.continue_()
    _heading(page, "どなたについての申請ですか")
    user.choose(page.get_by_label(re.compile(r"^中村 勝（親・")))
    user.continue_()

    # The form: what the registers hold is filled in; the rest is typed and picked.
    _heading(page, "手続きをする方")
    user.type_into("日中に連絡がとれる電話番号", "090-2345-6789")
    user.pick("亡くなった方との続柄", "子")
    user.continue_()
    _heading(page, "亡くなった方")
    user.continue_()
    user.continue_()  # the insurance number, from the register
    user.answer("亡くなった方は、国民健康保険の資格確認書を持っていましたか", "はい")
    user.continue_()
    user.toggle(page.get_by_role("checkbox", name="記入した内容に誤りはありません。", exact=True))
    user.continue_()

    _heading(page, "添付書類")
    card = page.get_by_role("group", name="亡くなった方の国民健康保険の資格確認書（返却）")
    user.choose(card.get_by_label("郵送する", exact=True))
    user.continue_()

    _heading(page, "入力内容の確認")
    declaration = page.get_by_label(
        "入力した内容は、私の知る限り正確で漏れがないことを申告します。", exact=True
    )
    user.tab_to_and_see_focus(declaration)
    page.keyboard.press("Space")
    expect(declaration).to_be_checked()
    user.press_button("同意して送信する")

    _heading(page, "申請を受け付けました")
    reference = page.get_by_text(REFERENCE).inner_text()
    receipt = page.get_by_role("link", name="受付票をダウンロードする（PDF）")
    user.tab_to_and_see_focus(receipt)
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    text = extract_text(Path(download.value.path()).read_bytes())
    assert reference in text
    assert NHI_LOSS.title in text.replace("\n", "")
    assert len(user.focus_checked) == 7
