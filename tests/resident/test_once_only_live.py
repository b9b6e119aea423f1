"""Once only, end to end over real HTTP: sign in through the demo provider, consent,
prefill with badges, a correction with a reason, a declined consent, and filing for a
deceased parent — the identity adapter talking to the demo provider on a live server."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from portal.backoffice.models import Application
from portal.catalogue.services import load_directory
from portal.extensions import db
from portal.records.services import seed_demo_registers
from tests.conftest import PROCEDURES
from tests.identity.live import Browser, LiveApp, live_app, sign_in
from tests.resident.conftest import documents_data, fill_page
from tests.resident.test_prefill import BEREAVEMENT


@pytest.fixture
def live(database_url) -> Iterator[LiveApp]:
    with live_app(database_url) as served:
        with served.app.app_context():
            assert not load_directory(db.session, PROCEDURES, actor="test").issues
            seed_demo_registers(db.session)
            db.session.commit()
        yield served


def _answer_questions(live, browser):
    start_page = browser.get(f"{live.url}/life-events/bereavement")
    page = browser.follow(
        browser.post(
            f"{live.url}/life-events/bereavement/start", {"csrf_token": start_page.csrf_token()}
        )
    )
    for _ in range(12):
        if "/questions/" not in page.url:
            return page
        names = set(re.findall(r'name="([a-z0-9_]+)"', page.text)) & set(BEREAVEMENT)
        data = {"csrf_token": page.csrf_token(), **{name: BEREAVEMENT[name] for name in names}}
        page = browser.follow(browser.post(page.url, data))
    raise AssertionError("questionnaire did not end")


def _choose(browser, listing, procedures):
    data = [("csrf_token", listing.csrf_token())] + [("procedures", p) for p in procedures]
    return browser.follow(_post_multi(browser, listing.url, data))


def _as_myself(browser, page):
    """Past "Whom are you filing for?" as a resident filing for themselves."""
    assert page.url.endswith("/filing-for")
    return browser.follow(
        browser.post(page.url, {"csrf_token": page.csrf_token(), "filing_for": "self"})
    )


def _post_multi(browser, url, pairs):
    """POST a form whose names may repeat (checkboxes), as a browser encodes it."""
    import urllib.parse
    import urllib.request

    body = urllib.parse.urlencode(pairs, doseq=True).encode()
    request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 - loopback only
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    with browser._opener.open(request, timeout=15) as response:
        from tests.identity.live import Page

        return Page(url, response.status, response.headers, response.read().decode())


def test_filing_for_a_deceased_parent_with_prefill_and_a_correction(live):
    browser = Browser()
    home = sign_in(live, browser, "demo-0024")  # 中村 健太, heir and funeral host
    assert "中村" in home.text
    listing = _answer_questions(live, browser)
    assert listing.url.endswith("/procedures")
    consent = _choose(browser, listing, ["nhi_loss_on_death"])
    assert consent.url.endswith("/records")
    assert "住民基本台帳" in consent.text
    sources = re.findall(r'name="sources" value="([^"]+)"', consent.text)
    filing_for = browser.follow(
        _post_multi(
            browser,
            consent.url,
            [("csrf_token", consent.csrf_token()), ("action", "fetch")]
            + [("sources", s) for s in sources],
        )
    )
    person_page = _as_myself(browser, filing_for)
    assert person_page.url.endswith("/records/person")
    father = re.search(
        r'name="person" value="(demo-[0-9]+)">\s*<label[^>]*>中村 勝', person_page.text
    ).group(1)
    first = browser.follow(
        browser.post(person_page.url, {"csrf_token": person_page.csrf_token(), "person": father})
    )
    assert "住民基本台帳から（" in first.text  # the source badge
    assert 'name="applicant_name.family"' not in first.text  # locked: shown, not editable

    data = fill_page(first.text)
    data["applicant_address.line"] = "5-5-5"
    data["reason:applicant_address"] = "先週、同じ町内で引越しました"
    page = browser.follow(_post_multi(browser, first.url, list(data.items())))
    for _ in range(10):
        if page.url.endswith("/check"):
            break
        data = (
            documents_data(page.text, allow_upload=False)
            if page.url.endswith("/documents")
            else fill_page(page.text)
        )
        page = browser.follow(_post_multi(browser, page.url, list(data.items())))
    assert page.url.endswith("/check")
    assert "5-5-5" in page.text
    sent = browser.follow(
        browser.post(
            page.url.replace("/check", "/submit"),
            {"csrf_token": page.csrf_token(), "declaration": "yes"},
        )
    )
    assert re.search(r"MD-\d{4}-\d{6}", sent.text)
    with live.app.app_context():
        application = db.session.scalars(select(Application)).one()
        assert application.checked_against_register is True
        correction = application.register["corrections"]["applicant_address"]
        assert correction["reason"] == "先週、同じ町内で引越しました"
        assert application.answers["deceased_name"]["family"] == "中村"
        assert application.submissions[0].queue_id.startswith("insurance_pension")


def test_declined_consent_means_typing_and_a_clerk_check(live):
    browser = Browser()
    sign_in(live, browser, "demo-0024")
    listing = _answer_questions(live, browser)
    consent = _choose(browser, listing, ["nhi_loss_on_death"])
    first = _as_myself(
        browser,
        browser.follow(
            browser.post(consent.url, {"csrf_token": consent.csrf_token(), "action": "decline"})
        ),
    )
    assert 'name="applicant_name.family" value=""' in first.text
    assert "から（" not in first.text
