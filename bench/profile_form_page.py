"""Profile the resident's form page: CPU time a request, and where it goes.

The page and the set-up are those of ``http_form_page.py`` (the portal built as
``make run`` builds it, 中村 健太 signed in, his bereavement draft at "the deceased's
details"), but the requests go through the Flask test client in this process, so the
figures are the app's own: no HTTP server, no load generator. It prints the CPU time
of each request (``time.process_time``: what a worker core spends, whatever else runs
on the machine) and a pyinstrument profile of the requests that follow.

    .venv/bin/python bench/profile_form_page.py [--requests 300] [--database sqlite]
    scripts/with-postgres.sh .venv/bin/python bench/profile_form_page.py --database postgresql
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import support
from pyinstrument import Profiler

STEP = "bereavement.deceased"
WARMUP_REQUESTS = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--requests", type=int, default=300, help="requests timed, then profiled")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="madoguchi-profile-") as folder:
        workdir = Path(folder)
        with support.database(arguments.database, workdir) as url:
            app = support.build_app(url, workdir)
            support.park_jobs(app)
            support.prepare_database(app)
            client, _, draft = support.walked_resident(app, "bench-profile-resident")
            path = f"/drafts/{draft.draft_id}/form/{STEP}"
            for _ in range(WARMUP_REQUESTS):
                if client.get(path).status_code != 200:
                    raise SystemExit(f"{path} did not answer 200")
            cpu = []
            for _ in range(arguments.requests):
                started = time.process_time()
                client.get(path)
                cpu.append(time.process_time() - started)
            profiler = Profiler(interval=0.0005)
            with profiler:
                for _ in range(arguments.requests):
                    client.get(path)
            with app.app_context():
                from portal.extensions import db

                db.engine.dispose()
    figures = support.summary_ms(cpu)
    print(profiler.output_text(unicode=True, color=False))
    print(
        f"{arguments.database}: CPU a request p50 {figures['p50_ms']:.2f} ms, "
        f"mean {figures['mean_ms']:.2f} ms ({arguments.requests} requests of {path})"
    )


if __name__ == "__main__":
    main()
