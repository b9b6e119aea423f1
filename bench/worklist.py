"""Time the clerk's work list with a thousand submissions and with a million.

For each database (PostgreSQL by default; SQLite on request): migrate and load as
``make run`` does, fill it with ``worklist_data.py`` up to the first size, time the
pages, add rows up to the next size, time them again. The rows go in batches of
10,000 (``worklist_data.BATCH``), by COPY on PostgreSQL and executemany on SQLite;
the time each fill took is reported.
After each fill the database's planner statistics are refreshed (``ANALYZE``), as
autovacuum would do on a server that has been running.

The clerk is the first bench clerk of the department with the most submissions,
signed in for real. Each page is requested through the Flask test client and timed
from the call to the response (the whole request: session, the list's rows, the
counts on the tabs, the template), ``--repeat`` times after one untimed request:

* ``mine`` — the first page of the default list, "Assigned to me";
* ``all`` — the first page of "All in my team";
* ``filtered`` — "All in my team" narrowed to one procedure and one status;
* ``later`` — the page reached by following "next" ``--depth`` times from ``all``.

Target: at a million, each page takes at most twice its time at a thousand.

    scripts/with-postgres.sh .venv/bin/python bench/worklist.py [--sizes 1000 1000000]
    .venv/bin/python bench/worklist.py --database sqlite --sizes 1000 20000 --repeat 5
"""

from __future__ import annotations

import argparse
import html
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import support
from flask import Flask
from flask.testing import FlaskClient

TARGET_RATIO = 2.0
PAGES = ("mine", "all", "filtered", "later")


def _fill(app: Flask, count: int, seed: int) -> float:
    """Add ``count`` submissions, refresh the planner's statistics; return the seconds taken."""
    import worklist_data
    from sqlalchemy import text

    from portal.extensions import db

    with app.app_context():
        started = time.perf_counter()
        worklist_data.generate(db.session, count, seed=seed)
        db.session.commit()
        elapsed = time.perf_counter() - started
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    return elapsed


def _busiest_department(app: Flask) -> tuple[str, str, str]:
    """The department with the most submissions, its most filed procedure, and an open status."""
    from sqlalchemy import func, select

    from portal.backoffice.models import Submission
    from portal.extensions import db

    with app.app_context():
        department = db.session.execute(
            select(Submission.department_id, func.count())
            .group_by(Submission.department_id)
            .order_by(func.count().desc())
        ).first()[0]
        procedure = db.session.execute(
            select(Submission.procedure_id, func.count())
            .where(Submission.department_id == department)
            .group_by(Submission.procedure_id)
            .order_by(func.count().desc())
        ).first()[0]
    return department, procedure, "in_review"


def _clerk(app: Flask, department: str) -> FlaskClient:
    """A client signed in as the department's first bench clerk (made by worklist_data)."""
    signed_in = support.sign_in(
        app,
        issuer="https://bench.invalid",
        subject=f"bench-clerk-{department}-0",
        role="clerk",
        departments=(department,),
        display_name="窓口 係員",
    )
    client = app.test_client()
    client.set_cookie(signed_in.cookie_name, signed_in.cookie_value)
    return client


def _page(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    if response.status_code != 200:
        raise SystemExit(f"GET {path} answered {response.status_code}")
    return response.get_data(as_text=True)


def _later_page(client: FlaskClient, depth: int) -> tuple[str, int]:
    """The URL reached by following "next" up to ``depth`` times from "All in my team"."""
    path, followed = "/backoffice/?list=all", 0
    for _ in range(depth):
        link = re.search(r'rel="next" href="([^"]+)"', _page(client, path))
        if link is None:
            break
        path, followed = html.unescape(link.group(1)), followed + 1
    return path, followed


def _time_pages(
    client: FlaskClient, paths: dict[str, str], repeat: int
) -> dict[str, dict[str, float]]:
    """Each page once untimed, then ``repeat`` timed requests; their summary per page."""
    figures = {}
    for name, path in paths.items():
        _page(client, path)
        durations = []
        for _ in range(repeat):
            started = time.perf_counter()
            _page(client, path)
            durations.append(time.perf_counter() - started)
        figures[name] = support.summary_ms(durations)
    return figures


def measure(kind: str, sizes: list[int], repeat: int, depth: int) -> dict[str, Any]:
    """Fill one database size by size and time the clerk's pages at each size."""
    from sqlalchemy import func, select

    from portal.backoffice.models import Submission
    from portal.extensions import db

    steps = []
    with tempfile.TemporaryDirectory(prefix=f"madoguchi-bench-{kind}-") as folder:
        workdir = Path(folder)
        with support.database(kind, workdir) as url:
            app = support.build_app(url, workdir)
            support.park_jobs(app)
            support.prepare_database(app)
            filled = 0
            for seed, size in enumerate(sizes, start=1):
                seconds = _fill(app, size - filled, seed)
                print(f"{kind}: {size - filled} submissions inserted in {seconds:.1f} s")
                filled = size
                department, procedure, status = _busiest_department(app)
                client = _clerk(app, department)
                later, followed = _later_page(client, depth)
                paths = {
                    "mine": "/backoffice/",
                    "all": "/backoffice/?list=all",
                    "filtered": f"/backoffice/?list=all&procedure={procedure}&status={status}",
                    "later": later,
                }
                with app.app_context():
                    in_department = db.session.scalar(
                        select(func.count())
                        .select_from(Submission)
                        .where(Submission.department_id == department)
                    )
                steps.append(
                    {
                        "submissions": size,
                        "inserted": size - (steps[-1]["submissions"] if steps else 0),
                        "insert_seconds": round(seconds, 1),
                        "department": department,
                        "department_submissions": in_department,
                        "later_page_depth": followed,
                        "pages": _time_pages(client, paths, repeat),
                    }
                )
            with app.app_context():
                db.engine.dispose()
    first, last = steps[0], steps[-1]
    ratios = {
        name: round(last["pages"][name]["p50_ms"] / first["pages"][name]["p50_ms"], 2)
        for name in PAGES
    }
    return {
        "database": kind,
        "repeat": repeat,
        "sizes": steps,
        "ratio_largest_to_smallest_p50": ratios,
        "targets_met": {name: ratio <= TARGET_RATIO for name, ratio in ratios.items()},
    }


def table(rows: list[dict[str, Any]]) -> str:
    """The results as the Markdown table docs/PERFORMANCE.md shows."""
    lines = [
        "| database | submissions | inserted in | "
        + " | ".join(f"{name} p50" for name in PAGES)
        + " |",
        "|---|---|---|" + "---|" * len(PAGES),
    ]
    for row in rows:
        for step in row["sizes"]:
            pages = " | ".join(f"{step['pages'][name]['p50_ms']:.1f} ms" for name in PAGES)
            lines.append(
                f"| {row['database']} | {step['submissions']:,} "
                f"| {step['insert_seconds']:.0f} s | {pages} |"
            )
        ratios = " | ".join(f"{row['ratio_largest_to_smallest_p50'][name]:.2f}×" for name in PAGES)
        lines.append(f"| {row['database']} | ratio (≤ 2×) | | {ratios} |")
    return "\n".join(lines)


def main() -> None:
    """Measure on each database asked for, print the table and write the JSON results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database", nargs="+", choices=support.DATABASES, default=["postgresql"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[1000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per page")
    parser.add_argument("--depth", type=int, default=20, help="pages followed for 'later'")
    arguments = parser.parse_args()
    sizes = sorted(arguments.sizes)

    rows = []
    for kind in arguments.database:
        row = measure(kind, sizes, arguments.repeat, arguments.depth)
        rows.append(row)
        print(f"results in {support.write_results(f'worklist-{kind}', row)}")
    print(table(rows))


if __name__ == "__main__":
    main()
