"""Load a resident's form page under gunicorn with wrk, beside a floor route of the same bytes.

For each database (a SQLite file, and a fresh database on the PostgreSQL server of
``scripts/with-postgres.sh``): migrate and load as ``make run`` does, sign 中村 健太 in,
walk his bereavement journey to the check page through the portal's own forms (six
online procedures, registers consented to), then serve the portal with gunicorn and
load one real form step of that draft (default: the deceased's details, filled in
from the register) with ``wrk --latency`` at 32 connections. The HTML it answered is
then served by ``floor_app.py`` — a bare Flask route returning the same bytes —
under the same gunicorn settings and loaded the same way. Afterwards it reads the
web workers' resident memory.

Targets: portal throughput at least 0.5 × the floor's, p99 under 100 ms, worker RSS
under 150 MB after the load.

    scripts/with-postgres.sh .venv/bin/python bench/http_form_page.py [--duration 30]
    .venv/bin/python bench/http_form_page.py --database sqlite --duration 5
"""

from __future__ import annotations

import argparse
from typing import Any

import support

TARGET_RATIO = 0.5
TARGET_P99_MS = 100.0
TARGET_RSS_MB = 150.0


def _load(
    base_url: str, path: str, cookie: str, arguments: argparse.Namespace
) -> support.WrkResult:
    """Warm the server up, then load it for the measured run."""
    url = base_url + path
    print(f"wrk against {base_url}: {arguments.warmup} s of warm-up, then the measured run")
    if arguments.warmup:
        support.run_wrk(
            url, duration=arguments.warmup, connections=arguments.connections, cookie=cookie
        )
    return support.run_wrk(
        url,
        duration=arguments.duration,
        connections=arguments.connections,
        threads=arguments.wrk_threads,
        cookie=cookie,
    )


def measure(kind: str, arguments: argparse.Namespace, server: support.ServerSettings) -> dict:
    """Measure the portal's form page and its floor on one database."""
    with support.form_page_server(kind, server, arguments.step) as served:
        rss_started = served.portal.worker_rss_mb()
        portal_result = _load(served.portal.base_url, served.path, served.cookie, arguments)
        still, _body = support.http_get(served.portal.base_url, served.path, served.cookie)
        if still != 200:
            raise SystemExit(f"after the load the form page answered {still}")
        rss = served.portal.worker_rss_mb()
        page = served.workdir / "page.html"
        page.write_bytes(served.body)
        with support.Gunicorn(
            "floor_app:app",
            {"BENCH_FLOOR_HTML": str(page)},
            server,
            served.workdir / "floor.log",
            ready_path=served.path,
        ) as floor:
            floor_status, floor_body = support.http_get(floor.base_url, served.path, served.cookie)
            if floor_status != 200 or floor_body != served.body:
                raise SystemExit("the floor app does not return the portal's bytes")
            floor_result = _load(floor.base_url, served.path, served.cookie, arguments)
    ratio = portal_result.requests_per_second / floor_result.requests_per_second
    p99 = portal_result.latency_ms.get("p99", float("inf"))
    return {
        "database": kind,
        "step": arguments.step,
        "procedures": served.procedures,
        "page_bytes": len(served.body),
        "portal": portal_result.as_dict(),
        "floor": floor_result.as_dict(),
        "throughput_ratio": round(ratio, 3),
        "worker_rss_mb_started": rss_started,
        "worker_rss_mb": rss,
        "targets_met": {
            "throughput_ratio": ratio >= TARGET_RATIO,
            "p99": p99 < TARGET_P99_MS,
            "worker_rss": bool(rss) and max(rss) < TARGET_RSS_MB,
            "no_errors": portal_result.non_2xx_3xx == 0 and portal_result.socket_errors == 0,
        },
    }


def table(rows: list[dict[str, Any]]) -> str:
    """The results as the Markdown table docs/PERFORMANCE.md shows."""
    lines = [
        "| database | portal req/s | floor req/s | ratio (≥ 0.5) | p50 | p90 | p99 (< 100 ms) "
        "| errors | worker RSS (< 150 MB) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        portal, floor = row["portal"], row["floor"]
        latency = portal["latency_ms"]
        lines.append(
            f"| {row['database']} | {portal['requests_per_second']:.0f} "
            f"| {floor['requests_per_second']:.0f} | {row['throughput_ratio']:.2f} "
            f"| {latency.get('p50', 0):.1f} ms | {latency.get('p90', 0):.1f} ms "
            f"| {latency.get('p99', 0):.1f} ms "
            f"| {portal['non_2xx_3xx'] + portal['socket_errors']} "
            f"| {', '.join(f'{rss:.0f}' for rss in row['worker_rss_mb'])} MB |"
        )
    return "\n".join(lines)


def main() -> None:
    """Measure on each database asked for, print the table and write the JSON results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--database", nargs="+", choices=support.DATABASES, default=support.DATABASES
    )
    parser.add_argument("--duration", type=int, default=30, help="seconds of measured load")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of load before measuring")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument("--step", default="bereavement.deceased", help="the form step loaded")
    arguments = parser.parse_args()

    server = support.ServerSettings(workers=arguments.workers, threads=arguments.threads)
    rows = []
    for kind in arguments.database:
        row = measure(kind, arguments, server)
        rows.append(row)
        path = support.write_results(
            f"http_form_page-{kind}",
            {
                "gunicorn": server.describe(),
                "wrk": f"-t{arguments.wrk_threads} -c{arguments.connections} "
                f"-d{arguments.duration}s --latency (after {arguments.warmup} s of warm-up)",
                **row,
            },
        )
        print(f"results in {path}")
    print(table(rows))
    print(f"gunicorn {server.describe()}")


if __name__ == "__main__":
    main()
