"""A resident walking a life event in a real browser: the demo city, their steps, their files.

`Resident` does what a person does on the Japanese pages (the portal opens in Japanese):
reads headings, ticks labelled choices, types into labelled boxes, presses the named
buttons. `assert_application_page` is the one place that checks the page an
application ends on, so that the next page of the journey (the resident's dashboard)
can be added after it.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import FilePayload, Locator, Page, expect

from portal.catalogue.services import load_directory
from portal.extensions import db
from portal.records.services import seed_demo_registers
from tests.conftest import PROCEDURES
from tests.documents.pdf_text import extract_text
from tests.identity.live import LiveApp, live_app

# Journeys other than the bereavement one run with JavaScript only: `@JS_ONLY` narrows
# the `page` fixture (parametrised js / no-js in conftest.py) to its first case.
JS_ONLY = pytest.mark.parametrize("page", [True], ids=["js"], indirect=True)

REFERENCE = re.compile(r"^MD-\d{4}-\d{6}$")
DATE = re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日（令和\d+年）$")
RECEIVED = "受け付けました"  # the status of a submission the city has not opened yet


@contextmanager
def demo_city(database_url: str) -> Iterator[LiveApp]:
    """Serve the portal on its own port (for its demo sign-in) with the shipped procedures
    and the demo city's registers loaded, as `make run` serves it."""
    with live_app(database_url) as live:
        with live.app.app_context():
            report = load_directory(db.session, PROCEDURES, actor="test")
            assert not report.issues, report.issues
            seed_demo_registers(db.session)
            db.session.commit()
        yield live


@dataclass(frozen=True)
class Filed:
    """A procedure the resident filed, named as the application page and receipt name it."""

    title: str
    department: str


@dataclass(frozen=True)
class ApplicationSeen:
    """What the resident took away from the application page."""

    reference: str
    receipt_text: str


def png_photo(width: int = 4, height: int = 3) -> bytes:
    """A real PNG image (a small grey picture), as a phone photo of a paper would arrive."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        checksum = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", checksum)

    rows = b"".join(b"\x00" + b"\x9c" * width for _ in range(height))  # filter 0, grey
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def pdf_scan(line: str) -> bytes:
    """A real one-page PDF showing one line of ASCII text, with a correct xref table."""
    content = f"BT /F1 14 Tf 72 760 Td ({line}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    pdf = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_at = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref_at,
    )
    return pdf


def upload(name: str, data: bytes) -> FilePayload:
    """A file as the browser's file picker hands it over, by what it contains."""
    mime_type = "image/png" if data.startswith(b"\x89PNG") else "application/pdf"
    return {"name": name, "mimeType": mime_type, "buffer": data}


class Resident:
    """A resident in the browser, reading and answering the Japanese pages."""

    def __init__(self, page: Page, portal_url: str) -> None:
        self.page = page
        self.portal_url = portal_url
        page.set_default_timeout(10_000)  # a missing control fails in seconds, not 30

    # --- Moving through the pages ---------------------------------------------------

    def continue_(self) -> None:
        """Press the form's "Continue" button."""
        self.page.get_by_role("button", name="次へ進む").click()

    def expect_heading(self, text: str | re.Pattern[str]) -> None:
        """The page's main heading is this text."""
        expect(self.page.get_by_role("heading", level=1)).to_have_text(text)

    def open_life_event(self, title: str) -> None:
        """From the home page, choose the life event that has happened."""
        self.page.goto(f"{self.portal_url}/")
        self.page.get_by_role("link", name=title, exact=True).click()
        self.expect_heading(title)

    def sign_in_as(self, name: str) -> None:
        """Sign in through the city's (demo) sign-in service and come back to the same page."""
        came_from = self.page.url
        self.page.get_by_role("banner").get_by_role("link", name="サインイン", exact=True).click()
        self.expect_heading("サインイン")
        self.page.get_by_role("button", name="サインインへ進む").click()
        self.expect_heading("サインインする人を選んでください")
        self.page.get_by_role("button", name=f"{name} としてサインイン").click()
        expect(self.page).to_have_url(came_from)
        expect(self.page.get_by_role("banner")).to_contain_text(f"{name} さんとしてサインイン中")

    def start(self) -> None:
        """Press "Start now" on the life event's page."""
        self.page.get_by_role("button", name="今すぐ始める").click()

    # --- Answering ------------------------------------------------------------------

    def question(self, text: str) -> Locator:
        """The group of choices (fieldset) asking this question."""
        return self.page.get_by_role("group", name=text, exact=True)

    def answer(self, question: str, choice: str) -> None:
        """Choose one answer to a question asked with radio buttons."""
        self.question(question).get_by_label(choice, exact=True).check()

    def tick(self, question: str, *choices: str) -> None:
        """Tick each of these boxes under a question that allows several answers."""
        group = self.page.get_by_role("group", name=question)
        for choice in choices:
            group.get_by_label(choice, exact=True).check()

    def fill(self, label: str, value: str) -> None:
        """Type into the box with this label."""
        self.page.get_by_label(label, exact=True).fill(value)

    def select(self, label: str, option: str) -> None:
        """Pick an option, by what it says, from the drop-down with this label."""
        self.page.get_by_label(label, exact=True).select_option(label=option)

    def fill_name(self, field: str, family: str, given: str, kana: tuple[str, str]) -> None:
        """Type a name in its four parts: family and given name, each also in katakana."""
        group = self.page.get_by_role("group", name=field, exact=True)
        group.get_by_label("姓", exact=True).fill(family)
        group.get_by_label("名", exact=True).fill(given)
        group.get_by_label("セイ（フリガナ）", exact=True).fill(kana[0])
        group.get_by_label("メイ（フリガナ）", exact=True).fill(kana[1])

    def fill_address(self, field: str, parts: Sequence[str]) -> None:
        """Type an address: postal code, prefecture, city, town, and the rest."""
        group = self.page.get_by_role("group", name=field, exact=True)
        labels = ("郵便番号", "都道府県", "市区町村", "町名・丁目", "番地・建物名・部屋番号")
        for label, value in zip(labels, parts, strict=True):
            group.get_by_label(label, exact=True).fill(value)

    def declare(self, statement: str) -> None:
        """Tick a procedure's declaration and go on."""
        self.page.get_by_role("checkbox", name=statement, exact=True).check()
        self.continue_()

    def add_item(self, add_link: str) -> None:
        """On a list page (people, nurseries, ...), open the form for one more."""
        self.page.get_by_role("link", name=add_link).click()

    def expect_from_register(self, field: str, register: str) -> None:
        """The field shows a value read from this register, with the source and date."""
        group = self.page.locator("div.form-group").filter(
            has=self.page.get_by_text(field, exact=True)
        )
        badge = re.escape(register) + r"から（\d{4}年\d{1,2}月\d{1,2}日 取得）"
        expect(group.get_by_text(re.compile(badge))).to_be_visible()

    # --- The steps between the questions and the form --------------------------------

    def choose_procedures(self, *, keep: Sequence[str], drop: Sequence[str] = ()) -> None:
        """Check the online procedures offered (all preselected), untick `drop`, go on."""
        self.expect_heading("あなたに必要な手続")
        online = self.page.get_by_role("group", name="今オンラインで申請する手続")
        expect(online.get_by_role("checkbox")).to_have_count(len(keep) + len(drop))
        for title in [*keep, *drop]:
            expect(online.get_by_label(title, exact=True)).to_be_checked()
        for title in drop:
            online.get_by_label(title, exact=True).uncheck()
        self.page.get_by_role("button", name="選んだ手続の入力へ進む").click()

    def consent_to(self, *registers: str) -> None:
        """Allow the city to read these registers once, to fill in the form."""
        self.expect_heading("市が保有している情報を使う")
        for register in registers:
            self.page.get_by_label(register, exact=True).check()
        self.page.get_by_role("button", name="チェックした記録から入力する").click()

    def file_for_myself_if_asked(self) -> None:
        """Say they file for themselves when asked whom they file for.

        The page is asked when a chosen procedure allows a representative; the feature is
        new, so the journey goes on whether or not it is there.
        """
        if self.page.url.endswith("/filing-for"):
            self.page.get_by_label("自分自身", exact=True).check()
            self.continue_()

    def choose_person(self, shown_as: str | re.Pattern[str]) -> None:
        """Say whom the application is about, among the people the registers relate."""
        self.expect_heading("どなたについての申請ですか")
        self.page.get_by_label(shown_as).check()
        self.continue_()

    def supply_document(
        self, document: str, *, way: str = "今アップロードする", file: FilePayload | None = None
    ) -> None:
        """Upload a supporting document, or choose how else it reaches the city."""
        group = self.page.get_by_role("group", name=document, exact=True)
        group.get_by_label(way, exact=True).check()
        if file is not None:
            group.get_by_label("ファイル", exact=True).set_input_files(file)

    def send(self) -> None:
        """On "Check your answers", make the declaration and send everything at once."""
        self.expect_heading("入力内容の確認")
        self.page.get_by_label(
            "入力した内容は、私の知る限り正確で漏れがないことを申告します。", exact=True
        ).check()
        self.page.get_by_role("button", name="同意して送信する").click()

    def download_receipt(self) -> bytes:
        """Download the receipt from the application page and return the PDF."""
        with self.page.expect_download() as download:
            self.page.get_by_role("link", name="受付票をダウンロードする（PDF）").click()
        return Path(download.value.path()).read_bytes()


def assert_application_page(
    resident: Resident, *, life_event: str, applicant: str, filed: Sequence[Filed]
) -> ApplicationSeen:
    """Check the page a sent application ends on, the receipt it offers, and the dashboard.

    The reference number; each procedure with its own reference, department, status
    ("received") and the day a decision is due; and the receipt PDF, in Japanese,
    naming all of them. The test job engine runs inline (TESTING=1), so the receipt is
    ready on the first view of the page.
    """
    page = resident.page
    resident.expect_heading("申請を受け付けました")
    shown = page.get_by_text(REFERENCE)
    expect(shown).to_have_count(1)
    reference = shown.inner_text()
    expect(page).to_have_url(f"{resident.portal_url}/applications/{reference}")
    expect(page.get_by_text(f"{life_event} — 送信日時：")).to_be_visible()
    for number, procedure in enumerate(filed, start=1):
        case = page.get_by_role("region", name=procedure.title, exact=True)
        expect(case.get_by_role("term")).to_have_text(
            ["受付番号", "担当", "状況", "結果のお知らせの目安"]
        )
        expect(case.get_by_role("definition")).to_have_text(
            [f"{reference}-{number}", procedure.department, RECEIVED, DATE]
        )
        expect(case.get_by_role("listitem").first).to_contain_text(RECEIVED)  # its progress
    expect(page.get_by_role("region")).to_have_count(len(filed))

    text = extract_text(resident.download_receipt())
    flat = text.replace("\n", "")  # long titles wrap inside the receipt's table cells
    assert "申請受付票" in text
    assert reference in text
    assert applicant in text
    for number, procedure in enumerate(filed, start=1):
        assert procedure.title in flat, procedure.title
        assert f"{reference}-{number}" in text
        assert procedure.department in text

    # The dashboard, from the header: the application with each procedure's status.
    page.get_by_role("link", name="あなたの申請", exact=True).first.click()
    resident.expect_heading("あなたの申請")
    sent = page.get_by_role("region", name=re.compile(re.escape(reference)))
    for procedure in filed:
        row = sent.get_by_role("term").filter(has_text=procedure.title)
        expect(row).to_have_count(1)
    expect(sent.get_by_text(RECEIVED)).to_have_count(len(filed))
    return ApplicationSeen(reference=reference, receipt_text=text)
