"""The receipt: a tagged A4 PDF in the resident's language, Japanese set in a Japanese font."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import UTC, date, datetime

import pytest

from portal.documents.receipt import (
    AnswerSection,
    CounterVisit,
    FiledProcedure,
    ReceiptData,
    render_receipt,
)
from tests.documents.pdf_text import catalog, extract_text, font_names, page_texts

# 00:05 on 1 April in Tokyo is still 31 March in UTC: the receipt must show Tokyo's date.
SUBMITTED = datetime(2026, 3, 31, 15, 5, tzinfo=UTC)
HOSTILE = '<script>alert(1)</script> <img src="https://evil.example/x.png">'


def bereavement_receipt(language: str = "ja", **changes) -> ReceiptData:
    """A receipt long enough for two pages: eight procedures, visits and many answers."""
    procedures = [
        ("死亡届・火葬許可申請", "市民課", date(2026, 4, 3)),
        ("世帯主変更届", "市民課", date(2026, 4, 3)),
        ("国民健康保険 資格喪失届", "保険年金課", date(2026, 4, 10)),
        ("国民健康保険 葬祭費の支給申請", "保険年金課", date(2026, 4, 30)),
        ("高額療養費の支給申請（亡くなった方の分）", "保険年金課", None),
        ("介護保険 資格喪失届", "介護保険課", date(2026, 4, 10)),
        ("印鑑登録の廃止", "市民課", None),
        ("固定資産税 相続人代表者指定届", "資産税課", date(2026, 5, 15)),
    ]
    answers = [(f"項目{n}", f"回答の内容 {n}：窓口市本町{n}丁目{n}番地") for n in range(1, 13)]
    data = {
        "reference": "MD-2026-000123",
        "submitted_at": SUBMITTED,
        "language": language,
        "applicant_name": "窓口 花子",
        "procedures": [
            (f"MD-2026-000123-{n}", title, department, due)
            for n, (title, department, due) in enumerate(procedures, start=1)
        ],
        "counter_visits": [
            (
                "年金の受給停止（死亡届）",
                "年金事務所",
                date(2026, 4, 14),
                ["年金証書", "死亡診断書の写し"],
            ),
            ("障害者手帳の返還", "障害福祉課 1階3番窓口", date(2026, 4, 30), ["障害者手帳"]),
        ],
        "next_steps": [
            "担当課が内容を確認し、必要なときは連絡します。",
            "結果はマイページとメールでお知らせします。",
        ],
        "answer_sections": [
            ("亡くなった方", answers[:8]),
            ("届出人", [*answers[8:], ("連絡事項", HOSTILE)]),
        ],
    }
    return ReceiptData(**{**data, **changes})


@pytest.fixture(scope="module")
def japanese_pdf() -> bytes:
    return render_receipt(bereavement_receipt())


def test_the_japanese_receipt_is_a_valid_two_page_tagged_pdf(japanese_pdf):
    assert japanese_pdf.startswith(b"%PDF-1.")
    assert japanese_pdf.rstrip().endswith(b"%%EOF")
    pages = page_texts(japanese_pdf)
    assert len(pages) == 2
    assert all("MD-2026-000123" in page for page in pages)  # every page names the reference
    root = catalog(japanese_pdf)
    assert b"/Lang (ja)" in root
    assert b"/StructTreeRoot" in root and b"/Marked true" in root


def test_the_japanese_receipt_shows_what_was_filed_in_a_japanese_font(japanese_pdf):
    text = extract_text(japanese_pdf)
    assert "申請受付票" in text
    assert "死亡届・火葬許可申請" in text
    assert "MD-2026-000123-8" in text and "資産税課" in text
    assert "2026年4月1日（水）0時05分（日本標準時）" in text
    assert "年金事務所" in text and "年金証書" in text and "2026年4月14日（火）" in text
    assert "結果はマイページとメールでお知らせします。" in text
    assert "窓口市本町12丁目12番地" in text
    assert "\ufffd" not in text
    assert {name for name in font_names(japanese_pdf) if "CJK-JP" in name}


def test_hostile_answers_are_shown_as_text(japanese_pdf):
    # Had the text been markup, the image would have been fetched and the render refused.
    assert HOSTILE in extract_text(japanese_pdf)


def test_the_time_zone_is_the_citys(japanese_pdf):
    pdf = render_receipt(bereavement_receipt(counter_visits=[]), timezone="UTC")
    text = extract_text(pdf)
    assert "2026年3月31日（火）15時05分（協定世界時）" in text
    assert "窓口にお越しいただく必要のある手続きはありません。" in text


def test_the_english_receipt_speaks_english():
    pdf = render_receipt(
        bereavement_receipt("en", answer_sections=[], next_steps=[], counter_visits=[])
    )
    text = extract_text(pdf)
    assert b"/Lang (en)" in catalog(pdf)
    assert "Application receipt" in text
    assert "Wednesday 1 April 2026, 00:05 (Japan Standard Time)" in text
    assert "Expected decision by" in text and "Fri 3 April 2026" in text
    assert "You do not need to visit a counter for any procedure." in text
    assert "Your answers" not in text
    assert "死亡届・火葬許可申請" in text  # titles stay as given


def test_receipt_data_is_immutable_and_checked():
    data = bereavement_receipt()
    assert isinstance(data.procedures, tuple) and isinstance(data.procedures[0], FiledProcedure)
    assert isinstance(data.counter_visits[0], CounterVisit)
    assert data.counter_visits[0].bring == ("年金証書", "死亡診断書の写し")
    assert isinstance(data.answer_sections[1], AnswerSection)
    with pytest.raises(FrozenInstanceError):
        data.reference = "MD-2026-999999"  # type: ignore[misc]
    with pytest.raises(ValueError, match="aware"):
        bereavement_receipt(submitted_at=datetime(2026, 4, 1, 9, 5))  # noqa: DTZ001
    with pytest.raises(ValueError, match="ja or en"):
        bereavement_receipt("fr")
