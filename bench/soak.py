"""Soak the resident's form page at a steady rate for ten minutes: no errors, memory flat.

Serves the portal with gunicorn as ``http_form_page.py`` does (same database set-up,
same signed-in resident and form step, same gunicorn settings), warms each worker
with 5 s of unpaced load, then requests the page at a fixed rate with wrk: wrk2 is
not in Debian, so a Lua script paces each connection with ``delay()`` (connections
× 1000 / rate milliseconds between a connection's requests) and counts every
response that is not 200 (a 303 to the sign-in page would be a failure too). The
rate defaults to half the portal's throughput in the last ``http_form_page.py`` run
on the same database. Every 10 seconds it reads each web worker's resident memory.

Reported: requests, the rate achieved, latency percentiles, responses that were not
200 and socket errors, and the workers' memory: first, last, minimum, maximum and
its slope (least squares, MB per minute, after the first minute's warm-up).

    scripts/with-postgres.sh .venv/bin/python bench/soak.py [--database postgresql]
    .venv/bin/python bench/soak.py --duration 60 --rate 10
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

import support

WARMUP_SECONDS = 60
WARMUP_LOAD_SECONDS = 5
PACING_SCRIPT = """\
local interval = {interval}
local threads = {{}}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  not_ok = 0
end

function delay()
  return interval
end

function response(status, headers, body)
  if status ~= 200 then
    not_ok = not_ok + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("not_ok")
  end
  io.write(string.format("Responses not 200: %d\\n", total))
end
"""


def default_rate(kind: str) -> float:
    """Half the throughput the last form-page run measured on this database."""
    path = support.RESULTS_DIR / f"http_form_page-{kind}.json"
    if not path.exists():
        raise SystemExit(f"no {path.name}: run bench/http_form_page.py first, or give --rate")
    measured = json.loads(path.read_text(encoding="utf-8"))["portal"]["requests_per_second"]
    return round(measured / 2, 1)


def slope_mb_per_minute(samples: list[tuple[float, float]]) -> float:
    """The least-squares slope of memory over time, in MB per minute."""
    if len(samples) < 2:
        return 0.0
    slope, _intercept = statistics.linear_regression(
        [seconds / 60 for seconds, _mb in samples], [mb for _seconds, mb in samples]
    )
    return round(slope, 3)


def soak(
    served: support.FormPage, rate: float, duration: int, connections: int, sample: int
) -> dict[str, Any]:
    """Run the paced load, sampling the workers' memory; return what was seen."""
    interval = max(1, round(connections * 1000 / rate))
    script = served.workdir / "pace.lua"
    script.write_text(PACING_SCRIPT.format(interval=interval), encoding="utf-8")
    command = [
        "wrk",
        f"-t{min(2, connections)}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "--latency",
        "-H",
        f"Cookie: {served.cookie}",
        "-s",
        str(script),
        served.portal.base_url + served.path,
    ]
    samples: list[dict[str, Any]] = []
    started = time.monotonic()
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as load:
        while load.poll() is None:
            samples.append(
                {
                    "seconds": round(time.monotonic() - started),
                    "worker_rss_mb": served.portal.worker_rss_mb(),
                }
            )
            try:
                load.wait(timeout=sample)
            except subprocess.TimeoutExpired:
                continue
        output = load.stdout.read() if load.stdout else ""
    print(output, flush=True)
    result = support.parse_wrk(output)
    not_ok = re.search(r"Responses not 200: (\d+)", output)
    samples.append(
        {
            "seconds": round(time.monotonic() - started),
            "worker_rss_mb": served.portal.worker_rss_mb(),
        }
    )
    totals = [(s["seconds"], sum(s["worker_rss_mb"])) for s in samples if s["worker_rss_mb"]]
    settled = [(seconds, mb) for seconds, mb in totals if seconds >= WARMUP_SECONDS] or totals
    return {
        "rate_asked": rate,
        "rate_achieved": round(result.requests / result.seconds, 1),
        "pacing_ms_per_connection": interval,
        "load": result.as_dict(),
        "responses_not_200": int(not_ok.group(1)) if not_ok else None,
        "memory": {
            "workers_total_mb": {
                "first": totals[0][1],
                "after_warmup": settled[0][1],
                "last": totals[-1][1],
                "min": min(mb for _seconds, mb in totals),
                "max": max(mb for _seconds, mb in totals),
                "slope_mb_per_minute": slope_mb_per_minute(settled),
            },
            "samples": samples,
        },
    }


def main() -> None:
    """Soak on one database, print a table row and write the JSON results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database", choices=support.DATABASES, default="sqlite")
    parser.add_argument("--duration", type=int, default=600, help="seconds of load")
    parser.add_argument("--rate", type=float, help="requests per second (default: half the max)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--sample", type=int, default=10, help="seconds between memory samples")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument("--step", default="bereavement.deceased", help="the form step loaded")
    arguments = parser.parse_args()

    rate = arguments.rate or default_rate(arguments.database)
    server = support.ServerSettings(workers=arguments.workers, threads=arguments.threads)
    with support.form_page_server(arguments.database, server, arguments.step) as served:
        print(
            f"{WARMUP_LOAD_SECONDS} s of unpaced load first, so each worker has compiled the page"
        )
        support.run_wrk(
            served.portal.base_url + served.path,
            duration=WARMUP_LOAD_SECONDS,
            connections=arguments.connections,
            cookie=served.cookie,
        )
        found = soak(served, rate, arguments.duration, arguments.connections, arguments.sample)
        log = Path(served.portal.log_path).read_text(encoding="utf-8", errors="replace")
    found["server_errors_logged"] = len(re.findall(r'"level": "(?:ERROR|CRITICAL)"', log))
    row = {"database": arguments.database, "gunicorn": server.describe(), **found}
    print(f"results in {support.write_results(f'soak-{arguments.database}', row)}")
    memory = found["memory"]["workers_total_mb"]
    errors = found["load"]["non_2xx_3xx"] + found["load"]["socket_errors"]
    print(
        "| database | duration | rate asked / achieved | p99 | not 200 | errors "
        "| RSS first → last (min–max) | slope |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {arguments.database} | {found['load']['seconds']:.0f} s "
        f"| {rate:.1f} / {found['rate_achieved']:.1f} req/s "
        f"| {found['load']['latency_ms'].get('p99', 0):.1f} ms "
        f"| {found['responses_not_200']} | {errors + found['server_errors_logged']} "
        f"| {memory['first']:.0f} → {memory['last']:.0f} MB "
        f"({memory['min']:.0f}–{memory['max']:.0f}) "
        f"| {memory['slope_mb_per_minute']:+.2f} MB/min |"
    )


if __name__ == "__main__":
    main()
