"""Every page type, in Japanese and in English, for residents, clerks and admins: no WCAG
2.0/2.1 A or AA violation that axe-core finds in real headless Chromium.

One demo city serves the whole module. Setting it up walks the pages a person walks: a
resident (中村 健太) sends one bereavement application, leaves a second one at its check
page, reports a wrong register value and reaches the questionnaire's exit; a clerk and an
admin sign in once each through the demo provider, and the admin leaves a draft with a
lint problem. Each test then opens one page in one language and runs axe on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, expect

from portal.i18n import LANGUAGE_COOKIE
from tests.e2e.journeys import Resident, demo_city
from tests.e2e.test_life_events import (
    BEREAVEMENT,
    DISABILITY_RETURN,
    FUNERAL_GRANT,
    HEIR_REPRESENTATIVE,
    LTC_LOSS,
    NHI_LOSS,
    _bereavement_questions,
    _bereavement_shared_pages,
    _nhi_loss_pages,
)

pytestmark = pytest.mark.e2e

WCAG_A_AND_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# axe's best practices as well: they catch content outside landmarks and skipped
# heading levels, which the WCAG-tagged rules leave alone.
RULE_TAGS = [*WCAG_A_AND_AA, "best-practice"]
AXE = Axe()
SEAL = "/admin/definitions/procedure/seal_registration_cancellation"
NHI_LOSS_DEFINITION = "/admin/definitions/procedure/nhi_loss_on_death"


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is now: WCAG 2.0 and 2.1 A and AA, and best practices."""
    options = {"runOnly": {"type": "tag", "values": RULE_TAGS}, "resultTypes": ["violations"]}
    return list(AXE.run(page, options=options).response["violations"])


def describe(violations: list[dict[str, Any]]) -> str:
    """Each violation's rule, impact, the elements it was found on, and where the rule is."""
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        lines.append(f"  {violation['helpUrl']}")
        for node in violation["nodes"]:
            lines.append(f"  - {' '.join(map(str, node['target']))}: {node['html'][:160]}")
    return "\n".join(lines)


# axe 4.12 only flags a duplicate id as "needs review", yet a repeated id makes
# aria-labelledby name the wrong element (WCAG 2.0/2.1 4.1.1): counted here instead.
DUPLICATE_IDS = """() => {
  const counts = new Map();
  for (const element of document.querySelectorAll("[id]")) {
    counts.set(element.id, (counts.get(element.id) || 0) + 1);
  }
  return [...counts].filter(([, count]) => count > 1).map(([id]) => id);
}"""


def assert_accessible(page: Page) -> None:
    """The page has no WCAG A/AA violation (nor best-practice one) axe-core can find, and
    no id twice."""
    violations = axe_violations(page)
    assert not violations, f"{page.url}\n{describe(violations)}"
    assert page.evaluate(DUPLICATE_IDS) == [], f"{page.url}: ids used more than once"


@dataclass
class Portal:
    """The demo city, one signed-in browser page per role, and the path of each page type."""

    url: str
    pages: dict[str, Page]
    paths: dict[str, str] = field(default_factory=dict)

    def open(self, role: str, path: str, language: str, status: int = 200) -> Page:
        """Open a path as this role in this language; check it answers there, in it."""
        page = self.pages[role]
        page.context.add_cookies([{"name": LANGUAGE_COOKIE, "value": language, "url": self.url}])
        response = page.goto(f"{self.url}{path}")
        assert response is not None and response.status == status, (path, response)
        assert page.url == f"{self.url}{path}", f"{path} went on to {page.url}"
        expect(page.locator("html")).to_have_attribute("lang", language)
        return page


def _staff_sign_in(page: Page, url: str, name: str) -> None:
    """Sign a member of staff in through the demo provider's persona page."""
    page.goto(f"{url}/staff/sign-in")
    page.get_by_role("button", name="サインインへ進む").click()
    page.get_by_role("button", name=f"{name} としてサインイン").click()
    expect(page.get_by_role("banner")).to_contain_text(f"{name} さんとしてサインイン中")


def _draft_path(page: Page) -> str:
    """The path of the current draft (``/drafts/<id>``)."""
    match = re.search(r"/drafts/[^/]+", page.url)
    assert match, page.url
    return match.group(0)


def _here(page: Page, url: str) -> str:
    return page.url.removeprefix(url)


def _send_one_application(resident: Resident, paths: dict[str, str]) -> None:
    """Sign in and send the NHI loss on the father's death; note the pages it leaves."""
    page = resident.page
    _bereavement_questions(resident)
    resident.choose_procedures(
        keep=[NHI_LOSS.title],
        drop=[
            FUNERAL_GRANT.title,
            LTC_LOSS.title,
            DISABILITY_RETURN.title,
            HEIR_REPRESENTATIVE.title,
        ],
    )
    _bereavement_shared_pages(resident, ["住民基本台帳", "国民健康保険の記録"])
    _nhi_loss_pages(resident)
    resident.supply_document("亡くなった方の国民健康保険の資格確認書（返却）", way="郵送する")
    resident.continue_()
    resident.send()
    resident.expect_heading("申請を受け付けました")
    paths["resident application"] = _here(page, resident.portal_url)
    paths["resident withdraw"] = f"{paths['resident application']}/1/withdraw"
    paths["resident dashboard"] = "/dashboard"
    page.get_by_role("banner").get_by_role("button", name="サインアウト").click()


def _leave_a_draft_at_its_check_page(resident: Resident, paths: dict[str, str]) -> None:
    """Walk a second bereavement up to its check page, noting each page type on the way."""
    page = resident.page
    url = resident.portal_url
    _bereavement_questions(resident)
    draft = _draft_path(page)
    paths["resident questionnaire step"] = f"{draft}/questions/bereavement.deceased"
    paths["resident procedures"] = _here(page, url)
    resident.choose_procedures(
        keep=[NHI_LOSS.title, HEIR_REPRESENTATIVE.title],
        drop=[FUNERAL_GRANT.title, LTC_LOSS.title, DISABILITY_RETURN.title],
    )
    paths["resident records consent"] = _here(page, url)
    resident.consent_to("住民基本台帳", "国民健康保険の記録")
    if page.url.endswith("/filing-for"):
        paths["resident filing for"] = _here(page, url)
    resident.file_for_myself_if_asked()
    paths["resident person"] = _here(page, url)
    resident.choose_person(re.compile(r"^中村 勝（親・"))
    paths["resident form step"] = _here(page, url)
    resident.fill("日中に連絡がとれる電話番号", "090-2345-6789")
    resident.select("亡くなった方との続柄", "子")
    resident.continue_()
    resident.continue_()  # the deceased, all from the register
    paths["resident form step from a register"] = _here(page, url)
    report = page.locator("a[href*='/report/']").first.get_attribute("href")
    assert report
    paths["resident report a wrong value"] = report
    _nhi_loss_pages(resident)
    resident.answer(
        "あなたは、家庭裁判所で相続の放棄をしましたか（または、する予定ですか）", "いいえ"
    )
    resident.continue_()
    resident.expect_heading("あなた以外の相続人")
    paths["resident loop"] = _here(page, url)
    resident.continue_()
    resident.answer("登記されていない家屋（物置・離れなど）がありますか", "いいえ")
    resident.continue_()
    resident.continue_()
    resident.declare(
        "私が相続人の代表者として、固定資産税に関する書類を受け取ることに、"
        "ほかの相続人が同意しています。"
    )
    resident.expect_heading("添付書類")
    paths["resident documents"] = _here(page, url)
    resident.supply_document("亡くなった方の国民健康保険の資格確認書（返却）", way="郵送する")
    resident.continue_()
    resident.expect_heading("入力内容の確認")
    paths["resident check"] = _here(page, url)
    paths["resident life event"] = "/life-events/bereavement"

    # A report of a wrong register value, so the clerks' list of reports has a row.
    page.goto(f"{url}{report}")
    page.locator("#report-message").fill("番号の末尾が違います。")
    page.locator("#report-message").locator("xpath=ancestor::form").get_by_role("button").click()

    # The questionnaire's exit: the person who died did not live in the city.
    resident.open_life_event(BEREAVEMENT)
    resident.start()
    resident.answer("亡くなった方は、窓口市に住民票がありましたか", "いいえ")
    resident.continue_()
    paths["resident exit"] = _here(page, url)


def _clerk_takes_the_case(case: Page) -> None:
    """Start the review and claim the case: it shows in "mine" and offers its decisions."""
    case.locator("form[action$='/start'] button").click()
    expect(case.locator("form[action$='/start']")).to_have_count(0)
    claim = case.locator("form[action$='/claim'] button")
    if claim.count():
        claim.click()
    expect(case.locator("form[action$='/release']")).to_have_count(1)


def _admin_leaves_a_draft_with_a_lint_problem(page: Page, url: str, paths: dict[str, str]) -> None:
    """Start a draft of a procedure, save it with an unknown mode, and note its pages."""
    for definition, page_type in [(NHI_LOSS_DEFINITION, "preview"), (SEAL, "preview, no pages")]:
        page.goto(f"{url}{definition}")
        published = page.locator("main a[href^='/admin/definitions/versions/']").first
        paths[f"admin {page_type}"] = f"{published.get_attribute('href')}/preview"
    page.goto(f"{url}{SEAL}")
    page.locator("form[action$='/drafts'] button").first.click()
    expect(page.locator("#source-text")).to_be_visible()
    version = _here(page, url)
    text = page.locator("#source-text").input_value()
    page.locator("#source-text").fill(text.replace("mode: automatic", "mode: sometimes"))
    page.locator("#source-text").locator("xpath=ancestor::form").locator(
        "button[type=submit]"
    ).click()
    expect(page.locator("#problems-own")).to_be_visible()
    paths["admin version editor with lint problems"] = version
    person = page.context.request.get(f"{url}/admin/people").text()
    found = re.search(r'href="(/admin/people/\d+)"', person)
    assert found
    paths["admin person"] = found.group(1)


PAGE_ROLES = ("visitor", "resident", "clerk", "admin")


@pytest.fixture(scope="module")
def portal(browser: Browser, database_url: str) -> Iterator[Portal]:
    """The demo city with a sent application, a draft at its check page, and staff in."""
    contexts: list[BrowserContext] = []

    def new_page() -> Page:
        context = browser.new_context(locale="ja-JP")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    with demo_city(database_url) as city:
        portal = Portal(url=city.url, pages={role: new_page() for role in PAGE_ROLES})
        resident = Resident(portal.pages["resident"], city.url)
        _send_one_application(resident, portal.paths)
        _leave_a_draft_at_its_check_page(resident, portal.paths)
        reference = portal.paths["resident application"].rsplit("/", 1)[1]
        portal.paths.update(
            {
                "clerk work list": "/backoffice/",
                "clerk case": f"/backoffice/cases/{reference}-1",
                "clerk request for information": f"/backoffice/cases/{reference}-1/request",
                "clerk register reports": "/backoffice/register-reports",
            }
        )
        _staff_sign_in(portal.pages["clerk"], city.url, "森 大介")
        _clerk_takes_the_case(portal.open("clerk", portal.paths["clerk case"], "ja"))
        work_list = portal.open("clerk", "/backoffice/", "ja")
        expect(work_list.get_by_role("link", name=f"{reference}-1")).to_be_visible()
        reports = portal.open("clerk", "/backoffice/register-reports", "ja")
        expect(reports.locator("tr[id^='report-']")).to_have_count(1)  # the resident's report
        _staff_sign_in(portal.pages["admin"], city.url, "石川 涼子")
        _admin_leaves_a_draft_with_a_lint_problem(portal.pages["admin"], city.url, portal.paths)

        visitor = portal.pages["visitor"]
        visitor.goto(f"{city.url}/sign-in")
        visitor.get_by_role("button", name="サインインへ進む").click()
        expect(visitor.get_by_role("heading", level=1)).to_have_text(
            "サインインする人を選んでください"
        )
        portal.paths["visitor demo provider personas"] = _here(visitor, city.url)
        yield portal
        for context in contexts:
            context.close()


STATUS = {"not found": 404, "forbidden": 403}
# (role, page type, path); paths that depend on the data are filled in by `portal`.
PAGES: list[tuple[str, str, str | None]] = [
    ("visitor", "home", "/"),
    ("visitor", "search results", "/search?q=%E5%B9%B4%E9%87%91"),  # 年金
    ("visitor", "accessibility statement", "/accessibility"),
    ("visitor", "contact", "/contact"),
    ("visitor", "privacy notice", "/privacy"),
    ("visitor", "sign in", "/sign-in"),
    ("visitor", "staff sign in", "/staff/sign-in"),
    ("visitor", "demo provider personas", None),
    ("visitor", "not found", "/no-such-page"),
    ("resident", "life event", None),
    ("resident", "questionnaire step", None),
    ("resident", "procedures", None),
    ("resident", "records consent", None),
    ("resident", "filing for", None),
    ("resident", "person", None),
    ("resident", "form step", None),
    ("resident", "form step from a register", None),
    ("resident", "loop", None),
    ("resident", "documents", None),
    ("resident", "check", None),
    ("resident", "application", None),
    ("resident", "dashboard", None),
    ("resident", "withdraw", None),
    ("resident", "exit", None),
    ("resident", "report a wrong value", None),
    ("resident", "forbidden", "/backoffice/"),
    ("clerk", "work list", None),
    ("clerk", "case", None),
    ("clerk", "request for information", None),
    ("clerk", "register reports", None),
    ("admin", "start", "/admin/"),
    ("admin", "definitions", "/admin/definitions"),
    ("admin", "definition", SEAL),
    ("admin", "version editor with lint problems", None),
    ("admin", "compare", f"{SEAL}/compare?old=1&new=2"),
    ("admin", "preview", None),
    ("admin", "preview, no pages", None),
    ("admin", "kpis", "/admin/kpis"),
    ("admin", "people", "/admin/people"),
    ("admin", "person", None),
    ("admin", "departments", "/admin/departments"),
    ("admin", "integrations", "/admin/integrations"),
    ("admin", "failed jobs", "/admin/jobs/dead"),
    ("admin", "audit log", "/admin/audit"),
    ("admin", "health", "/admin/health"),
]


@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize(
    ("role", "page_type", "path"), PAGES, ids=[f"{role} {kind}" for role, kind, _ in PAGES]
)
def test_every_page_type_has_no_wcag_a_or_aa_violation(
    portal: Portal, role: str, page_type: str, path: str | None, language: str
):
    known = path or portal.paths.get(f"{role} {page_type}")
    if known is None:
        pytest.fail(f"the journey did not reach the {page_type} page")
    page = portal.open(role, known, language, status=STATUS.get(page_type, 200))
    assert_accessible(page)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_form_step_showing_its_errors_has_no_violation(portal: Portal, language: str):
    page = portal.open("resident", portal.paths["resident form step"], language)
    phone = page.locator("input[type=tel], input[name*=phone]").first
    typed = phone.input_value()
    phone.fill("")
    page.locator("main form button[type=submit]").last.click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page)
    phone.fill(typed)  # put the draft back as it was for the other pages
    page.locator("main form button[type=submit]").last.click()
    expect(page.get_by_role("alert")).to_have_count(0)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_the_counter_assisted_filing_pages_have_no_violation(portal: Portal, language: str):
    page = portal.open("clerk", "/backoffice/counter", language)
    assert_accessible(page)
    find = page.locator("main form button[type=submit]").last
    find.click()  # nothing typed: every problem shown
    expect(page.get_by_role("alert").first).to_be_visible()
    assert_accessible(page)

    page.locator("#document-type-drivers_licence").check()
    page.locator("#document-last-characters").fill("5678")
    page.locator("#name-as-seen").fill("中村　健太")
    page.locator("#birth-date-as-seen").fill("1988-03-12")
    page.locator("#person-key").fill("demo-0024")
    find.click()
    expect(page).to_have_url(re.compile(r"/backoffice/counter/[^/]+/confirm$"))
    assert_accessible(page)

    page.locator("main form button[type=submit]").last.click()
    expect(page).to_have_url(f"{portal.url}/backoffice/counter/session")
    assert_accessible(page)
    page.goto(f"{portal.url}/life-events/bereavement")  # the resident's pages, with the banner
    assert_accessible(page)

    page.goto(f"{portal.url}/backoffice/counter/session")
    page.locator("form[action$='/counter/session/end'] button").first.click()
    expect(page).to_have_url(re.compile(r"/backoffice/counter/sessions/[^/]+$"))
    assert_accessible(page)


REFLOWING = [
    ("resident", "life event"),
    ("resident", "questionnaire step"),
    ("resident", "procedures"),
    ("resident", "records consent"),
    ("resident", "filing for"),
    ("resident", "person"),
    ("resident", "form step"),
    ("resident", "form step from a register"),
    ("resident", "loop"),
    ("resident", "documents"),
    ("resident", "check"),
    ("resident", "application"),
    ("resident", "dashboard"),
    ("clerk", "work list"),
    ("clerk", "case"),
    ("clerk", "request for information"),
]
PHONE_AT_200_PERCENT = {"width": 320, "height": 640}  # a 640 px wide phone, zoomed to 200 %


@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize("role", ["resident", "clerk"])
def test_the_journey_and_the_work_list_reflow_on_a_phone_at_200_percent(
    browser: Browser, portal: Portal, role: str, language: str
):
    signed_in = portal.pages[role].context
    context = browser.new_context(viewport=PHONE_AT_200_PERCENT, device_scale_factor=2)
    context.add_cookies([*signed_in.cookies()])  # the same signed-in session
    phone = Portal(url=portal.url, pages={role: context.new_page()}, paths=portal.paths)
    try:
        for page_role, page_type in REFLOWING:
            if page_role != role:
                continue
            page = phone.open(role, portal.paths[f"{role} {page_type}"], language)
            width = page.evaluate("document.documentElement.clientWidth")
            assert page.evaluate("document.documentElement.scrollWidth") <= width, page_type
            main = page.get_by_role("main")
            controls = [
                main.get_by_role("heading", level=1),
                *main.locator(".button, button, input:not([type=hidden]), select, textarea")
                .filter(visible=True)
                .all(),
            ]
            for control in controls:
                control.scroll_into_view_if_needed()
                expect(control).to_be_visible()
                box = control.bounding_box()
                assert box is not None
                assert box["x"] >= 0 and box["x"] + box["width"] <= width, (page_type, control)
    finally:
        context.close()
