"""Time the submit of a bereavement application filing six procedures, the PDF left out.

For each database: migrate and load as ``make run`` does, sign 中村 健太 in, walk his
bereavement journey to the check page through the portal's own forms (six online
procedures, registers consented to, every answer given), copy that finished draft
as many times as there are submits, then POST ``/drafts/<id>/submit`` for each copy
through the Flask test client and time each request from the call to the response:
the whole request as the app runs it (session lookup, CSRF, filing every procedure,
routing, the audit entries, the jobs recorded, the commit), without an HTTP socket.

No request waits for a PDF: the receipt and the email are recorded as jobs in the
submit's transaction, and this process's job thread is never started, so they stay
pending as they would for a separate ``flask jobs work``. The run checks that every
receipt job is still pending at the end.

Targets: p50 at most 25 ms on SQLite and 40 ms on PostgreSQL.

    scripts/with-postgres.sh .venv/bin/python bench/submit.py [--submits 200]
    .venv/bin/python bench/submit.py --database sqlite --submits 20
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import support

TARGET_P50_MS = {"sqlite": 25.0, "postgresql": 40.0}
WARMUP_SUBMITS = 5


def measure(kind: str, submits: int) -> dict[str, Any]:
    """Submit ``submits`` identical finished drafts on one database and time each request."""
    from sqlalchemy import func, select

    from portal.extensions import db
    from portal.jobs.models import Job

    with tempfile.TemporaryDirectory(prefix=f"madoguchi-bench-{kind}-") as folder:
        workdir = Path(folder)
        with support.database(kind, workdir) as url:
            app = support.build_app(url, workdir)
            support.park_jobs(app)
            support.prepare_database(app)
            client, _, draft = support.walked_resident(app, "bench-submit-resident")
            copies = support.copy_draft(app, draft.draft_id, WARMUP_SUBMITS + submits)
            check = client.get(draft.check_url).get_data(as_text=True)
            token = re.search(r'name="csrf_token" value="([^"]+)"', check)
            if token is None:
                raise SystemExit("the check page has no CSRF token")
            form = {"csrf_token": token.group(1), "declaration": "yes"}
            durations = []
            for index, draft_id in enumerate(copies):
                started = time.perf_counter()
                response = client.post(f"/drafts/{draft_id}/submit", data=form)
                elapsed = time.perf_counter() - started
                location = response.headers.get("Location", "")
                if response.status_code != 303 or "/applications/MD-" not in location:
                    raise SystemExit(f"submit answered {response.status_code} → {location!r}")
                if index >= WARMUP_SUBMITS:
                    durations.append(elapsed)
            with app.app_context():
                pending_receipts = db.session.scalar(
                    select(func.count())
                    .select_from(Job)
                    .where(Job.kind == "receipt.render", Job.status == "pending")
                )
                db.engine.dispose()
    if pending_receipts != len(copies):
        raise SystemExit(f"{len(copies)} receipts expected pending, {pending_receipts} are")
    figures = support.summary_ms(durations)
    return {
        "database": kind,
        "procedures": draft.procedures,
        "submits": len(durations),
        "server_time": figures,
        "receipts_left_pending": pending_receipts,
        "targets_met": {"p50": figures["p50_ms"] <= TARGET_P50_MS[kind]},
    }


def table(rows: list[dict[str, Any]]) -> str:
    """The results as the Markdown table docs/PERFORMANCE.md shows."""
    lines = [
        "| database | procedures | submits | p50 (target) | p95 | p99 | mean |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        time_ms = row["server_time"]
        lines.append(
            f"| {row['database']} | {len(row['procedures'])} | {row['submits']} "
            f"| {time_ms['p50_ms']:.1f} ms (≤ {TARGET_P50_MS[row['database']]:.0f} ms) "
            f"| {time_ms['p95_ms']:.1f} ms | {time_ms['p99_ms']:.1f} ms "
            f"| {time_ms['mean_ms']:.1f} ms |"
        )
    return "\n".join(lines)


def main() -> None:
    """Measure on each database asked for, print the table and write the JSON results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--database", nargs="+", choices=support.DATABASES, default=support.DATABASES
    )
    parser.add_argument("--submits", type=int, default=200, help="submits timed per database")
    arguments = parser.parse_args()

    rows = []
    for kind in arguments.database:
        row = measure(kind, arguments.submits)
        rows.append(row)
        print(f"results in {support.write_results(f'submit-{kind}', row)}")
    print(table(rows))


if __name__ == "__main__":
    main()
