"""Time the receipt PDF of a bereavement application: two A4 pages in Japanese.

Renders the same realistic receipt (eight procedures, two counter visits, the answers
given) the way a job worker does, one after another in one process, and prints the
first (cold) render, the mean and the spread of the rest, and the process's peak
memory. The PDF never renders in a request, so the figure bounds the worker, not the
resident's wait.

    .venv/bin/python bench/receipt_pdf.py [renders]
"""

from __future__ import annotations

import platform
import re
import resource
import statistics
import sys
import time
import zlib
from datetime import UTC, date, datetime

from portal.documents.receipt import ReceiptData, render_receipt

PROCEDURES = [
    ("死亡届・火葬許可申請", "市民課", date(2026, 4, 3)),
    ("世帯主変更届", "市民課", date(2026, 4, 3)),
    ("国民健康保険 資格喪失届", "保険年金課", date(2026, 4, 10)),
    ("国民健康保険 葬祭費の支給申請", "保険年金課", date(2026, 4, 30)),
    ("高額療養費の支給申請（亡くなった方の分）", "保険年金課", None),
    ("介護保険 資格喪失届", "介護保険課", date(2026, 4, 10)),
    ("印鑑登録の廃止", "市民課", None),
    ("固定資産税 相続人代表者指定届", "資産税課", date(2026, 5, 15)),
]

DECEASED = [
    ("氏名", "窓口 太郎"),
    ("氏名（フリガナ）", "マドグチ タロウ"),
    ("生年月日", "昭和20年5月1日"),
    ("亡くなった日", "令和8年3月30日"),
    ("住所", "窓口市本町一丁目2番3号"),
    ("国民健康保険の被保険者番号", "12345678"),
    ("介護保険の被保険者番号", "0001234567"),
]

INFORMANT = [
    ("氏名", "窓口 花子"),
    ("亡くなった方との続柄", "妻"),
    ("電話番号", "090-1234-5678"),
    ("メールアドレス", "hanako@example.jp"),
    ("葬儀を行った方（喪主）", "窓口 花子"),
    ("葬儀の日", "令和8年4月2日"),
    ("振込先", "窓口銀行 本店 普通 1234567"),
    ("連絡事項", "平日の午後は電話に出られません。\nメールでご連絡ください。"),
]


def receipt() -> ReceiptData:
    """The receipt of a bereavement application filing eight procedures."""
    return ReceiptData(
        reference="MD-2026-000123",
        submitted_at=datetime(2026, 3, 31, 1, 5, tzinfo=UTC),
        language="ja",
        applicant_name="窓口 花子",
        procedures=[
            (f"MD-2026-000123-{number}", title, department, due)
            for number, (title, department, due) in enumerate(PROCEDURES, start=1)
        ],
        counter_visits=[
            (
                "年金の受給停止（死亡届）",
                "窓口年金事務所（本町二丁目）",
                date(2026, 4, 14),
                ["年金証書", "死亡診断書の写し", "届出人の本人確認書類"],
            ),
            ("障害者手帳の返還", "障害福祉課 1階3番窓口", date(2026, 4, 30), ["障害者手帳"]),
        ],
        next_steps=[
            "担当課が内容を確認し、必要なときは連絡します。",
            "葬祭費は、確認ののち約1か月で指定の口座に振り込みます。",
            "結果はマイページとメールでお知らせします。",
        ],
        answer_sections=[("亡くなった方", DECEASED), ("届出人", INFORMANT)],
    )


def page_count(pdf: bytes) -> int:
    """Count the page objects, including those packed in compressed object streams."""
    chunks = [pdf]
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        try:
            chunks.append(zlib.decompress(stream))
        except zlib.error:
            continue  # not a Flate stream
    return sum(len(re.findall(rb"/Type\s*/Page(?![s\w])", chunk)) for chunk in chunks)


def main(renders: int) -> None:
    data = receipt()
    started = time.perf_counter()
    pdf = render_receipt(data)
    cold_ms = (time.perf_counter() - started) * 1000
    timings_ms = []
    for _ in range(renders):
        started = time.perf_counter()
        render_receipt(data)
        timings_ms.append((time.perf_counter() - started) * 1000)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    timings_ms.sort()
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")
    print(f"receipt: {len(pdf) / 1024:.0f} KiB, {page_count(pdf)} pages")
    print(f"first render (cold): {cold_ms:.0f} ms")
    print(
        f"{renders} renders: mean {statistics.fmean(timings_ms):.0f} ms, "
        f"median {statistics.median(timings_ms):.0f} ms, "
        f"p95 {timings_ms[int(0.95 * (len(timings_ms) - 1))]:.0f} ms, "
        f"max {timings_ms[-1]:.0f} ms"
    )
    print(f"peak RSS: {peak_rss_mb:.0f} MB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
