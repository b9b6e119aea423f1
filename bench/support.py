"""What the HTTP, submit, work-list and soak benchmarks share.

A throw-away database (a SQLite file, or a fresh database on the PostgreSQL server
that ``scripts/with-postgres.sh`` starts), migrated and loaded as ``make run`` does;
a resident signed in for real (a session row and the signed session cookie a browser
would hold); the bereavement journey walked page by page through the portal's own
forms; gunicorn started and stopped; ``wrk`` run and read; and the results written
to ``bench/results/`` with the machine they were measured on.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from http.client import HTTPConnection
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
PROCEDURES = PROJECT_ROOT / "procedures"
DATABASES = ("sqlite", "postgresql")
# Signs the bench's own session cookies; it protects nothing but a throw-away database.
BENCH_SECRET_KEY = "bench-only-secret-key-" + "b" * 32
# Limits far above any load here: the limiter's bookkeeping is measured, never a 429.
UNLIMITED = "1000000 per minute"

# The resident: 中村 健太 (demo-0024), whose father 中村 勝 (demo-0023) died at 67
# living alone, on NHI, with long-term care, a disability certificate and a house.
RESIDENT = "demo-0024"
DECEASED = "demo-0023"
BEREAVEMENT_ANSWERS = {
    "deceased_was_resident": "yes",
    "death_registered": "no",
    "deceased_birth_date": "1959-05-01",
    "death_date": "2026-11-22",
    "deceased_had_nhi": "yes",
    "deceased_was_household_head": "yes",
    "household_remains_two_or_more": "no",
    "deceased_had_medical_costs": "yes",
    "deceased_received_pension": "yes",
    "deceased_had_disability_certificate": "yes",
    "deceased_owned_property": "yes",
}
# Choices where "yes" would end the journey (an heir who renounced files nothing).
FORM_CHOICES = {"applicant_renounced_inheritance": "no"}
# Values typed where the register filled nothing in, by the end of the field's name.
SAMPLE_BY_SUFFIX = (
    (".family_kana", "ナカムラ"),
    (".given_kana", "ケンタ"),
    (".family", "中村"),
    (".given", "健太"),
    (".postal_code", "100-0001"),
    (".prefecture", "東京都"),
    (".city", "千代田区"),
    (".town", "千代田"),
    (".line", "1-1"),
    (".overseas", ""),
    (".holder_kana", "ナカムラ ケンタ"),
    (".bank_code", "0001"),
    (".branch_code", "001"),
    (".account_number", "1234567"),
    (".yucho_kigou", ""),
    (".yucho_bangou", ""),
    ("phone", "090-1234-5678"),
    ("email", "kenta@example.jp"),
    ("birth_date", "1959-05-01"),
    ("_date", "2026-11-24"),
    ("postal_code", "100-0001"),
    ("my_number", "123456789018"),
)
TINY_PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
MAX_JOURNEY_PAGES = 80


# ------------------------------------------------------------------ machine and results


def machine() -> dict[str, Any]:
    """The machine a figure was measured on, and how busy it was when the run started."""
    cpu = "unknown CPU"
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_kib = 0
    with open("/proc/meminfo", encoding="utf-8") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    system = platform.platform()
    os_release = Path("/etc/os-release")
    if os_release.exists():
        match = re.search(r'^PRETTY_NAME="([^"]+)"', os_release.read_text(), re.MULTILINE)
        system = match.group(1) if match else system
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "system": system,
        "python": platform.python_version(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def write_results(name: str, results: Mapping[str, Any]) -> Path:
    """Write one benchmark's results, with the machine and the command, as JSON."""
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    document = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "machine": machine(),
        **results,
    }
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def percentile(values: Sequence[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))
    return ordered[index]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """Mean, p50, p95 and p99 of durations in seconds, as milliseconds."""
    return {
        "count": len(seconds),
        "mean_ms": round(statistics.fmean(seconds) * 1000, 2),
        "p50_ms": round(percentile(seconds, 0.50) * 1000, 2),
        "p95_ms": round(percentile(seconds, 0.95) * 1000, 2),
        "p99_ms": round(percentile(seconds, 0.99) * 1000, 2),
    }


# ------------------------------------------------------------------ databases and the app


def settings(database_url: str, workdir: Path) -> dict[str, str]:
    """The environment the portal runs with in a benchmark, in-process and under gunicorn."""
    return {
        "PORTAL_ENV": "development",
        "SECRET_KEY": BENCH_SECRET_KEY,
        "DATABASE_URL": database_url,
        "STORAGE_PATH": str(workdir / "files"),
        "MY_NUMBER_KEYS": _run_key(),
        "JOBS_ENGINE": "thread",
        "LOG_LEVEL": "INFO",
        "RATELIMIT_DEFAULT": UNLIMITED,
        "RATELIMIT_SUBMIT": UNLIMITED,
        "RATELIMIT_UPLOAD": UNLIMITED,
    }


_KEYS: list[str] = []


def _run_key() -> str:
    """One My Number sealing key per run, shared by the bench and the servers it starts."""
    if not _KEYS:
        _KEYS.append(Fernet.generate_key().decode())
    return _KEYS[0]


def postgres_server_url() -> str:
    """The PostgreSQL server to make throw-away databases on, or a clear reason to stop."""
    url = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("TEST_DATABASE_URL")
    if not url:
        raise SystemExit(
            "PostgreSQL benchmarks need a server: run under scripts/with-postgres.sh "
            "or set BENCH_POSTGRES_URL=postgresql+psycopg://user@host:port/postgres."
        )
    return url


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    """A new, empty database of ``kind`` (``sqlite`` or ``postgresql``), removed afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.sqlite3'}"
        return
    import psycopg
    from sqlalchemy.engine import make_url

    server = make_url(postgres_server_url())
    name = f"madoguchi_bench_{uuid.uuid4().hex[:12]}"

    def admin() -> psycopg.Connection:
        return psycopg.connect(
            host=server.host,
            port=server.port,
            user=server.username,
            password=server.password,
            dbname=server.database or "postgres",
            autocommit=True,
        )

    with admin() as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def build_app(database_url: str, workdir: Path) -> Flask:
    """The portal on the benchmark's settings, in this process."""
    from portal import create_app

    return create_app(settings(database_url, workdir))


def prepare_database(app: Flask) -> None:
    """Migrate, load the shipped definitions and seed the demo registers, as ``make run`` does."""
    from flask_migrate import upgrade

    from portal.catalogue.services import load_directory
    from portal.extensions import db
    from portal.records.services import seed_demo_registers

    with app.app_context():
        upgrade()
        report = load_directory(db.session, PROCEDURES, actor="bench")
        if report.issues:
            raise SystemExit("\n".join(issue.format() for issue in report.issues))
        seed_demo_registers(db.session)
        db.session.commit()


def park_jobs(app: Flask) -> None:
    """Leave recorded jobs pending in this process, as for a separate ``flask jobs work``.

    The thread engine would start rendering receipts with the first request; a
    benchmark of request time must not share the process with a PDF being rendered.
    """
    from portal.jobs.engines import EXTENSION_KEY, ThreadEngine

    class ParkedEngine(ThreadEngine):
        """The thread engine with its worker thread never started."""

        def start(self) -> None:
            """Start nothing: jobs stay pending for a worker elsewhere."""

    app.extensions[EXTENSION_KEY] = ParkedEngine(app)


# ------------------------------------------------------------------ signing in


@dataclass(frozen=True)
class SignedIn:
    """A user with a live session and the session cookie their browser holds."""

    user_id: int
    cookie_name: str
    cookie_value: str

    @property
    def header(self) -> str:
        """The ``Cookie`` request header that carries the session."""
        return f"{self.cookie_name}={self.cookie_value}"


def sign_in(
    app: Flask,
    *,
    issuer: str,
    subject: str,
    role: str,
    person_key: str | None = None,
    departments: tuple[str, ...] = (),
    display_name: str = "中村 健太",
) -> SignedIn:
    """Sign a user in as the callback does: find or create them, start a session, sign the cookie.

    Only the identity provider's round trip is left out; the session row, its token
    and the cookie are the ones a browser gets.
    """
    from portal.extensions import db
    from portal.identity.auth import SESSION_TOKEN_KEY
    from portal.identity.services import Identity, sign_in_user, start_session
    from portal.resident.views import OWNER_SESSION_KEY

    identity = Identity(
        issuer=issuer,
        subject=subject,
        role=role,
        display_name=display_name,
        person_key=person_key,
        departments=departments,
    )
    with app.app_context():
        now = datetime.now(UTC)
        user = sign_in_user(db.session, identity, language="ja", now=now)
        token = start_session(db.session, user, id_token=None, user_agent="wrk", now=now)
        db.session.commit()
        contents: dict[str, str] = {SESSION_TOKEN_KEY: token}
        if role == "resident":
            contents[OWNER_SESSION_KEY] = f"user:{user.id}"
        value = app.session_interface.get_signing_serializer(app).dumps(contents)  # type: ignore[attr-defined]
        return SignedIn(user.id, app.config["SESSION_COOKIE_NAME"], value)


def resident_client(app: Flask, signed_in: SignedIn) -> FlaskClient:
    """A test client holding the resident's session cookie, as their browser would."""
    client = app.test_client()
    client.set_cookie(signed_in.cookie_name, signed_in.cookie_value)
    return client


def current_cookie(client: FlaskClient, signed_in: SignedIn) -> SignedIn:
    """The session cookie as the client now holds it (with its CSRF token, say)."""
    cookie = client.get_cookie(signed_in.cookie_name)
    assert cookie is not None, "the session cookie is gone: the portal signed the user out"
    return SignedIn(signed_in.user_id, signed_in.cookie_name, cookie.value)


# ------------------------------------------------------------------ walking the journey


class _FormFields(HTMLParser):
    """The controls inside ``<main>``: inputs, textareas, selects, and the loop's add link."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.in_main = False
        self.inputs: list[dict[str, str | None]] = []
        self.textareas: dict[str, str] = {}
        self.selects: dict[str, list[tuple[str, bool]]] = {}
        self.add_item: str | None = None
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "main":
            self.in_main = True
        if not self.in_main:
            return
        name = attributes.get("name")
        if tag == "input" and name:
            self.inputs.append(attributes)
        elif tag == "textarea" and name:
            self._textarea = name
            self.textareas[name] = ""
        elif tag == "select" and name:
            self._select = name
            self.selects[name] = []
        elif tag == "option" and self._select is not None:
            self.selects[self._select].append(
                (attributes.get("value") or "", "selected" in attributes)
            )
        elif tag == "a" and attributes.get("id") == "add-item":
            self.add_item = attributes.get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag == "main":
            self.in_main = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.textareas[self._textarea] += data


def _sample(name: str) -> str:
    for suffix, value in SAMPLE_BY_SUFFIX:
        if name.endswith(suffix):
            return value
    return "テスト"


def fill_form(html: str) -> tuple[dict[str, Any], str | None]:
    """Answer every control of a page as a careful resident would; also the add-item link.

    What the register filled in or the resident chose is kept; an empty text gets a
    plausible value; a choice nobody made gets "yes", the bank, or the first option.
    """
    fields = _FormFields()
    fields.feed(html)
    data: dict[str, Any] = {}
    radios: dict[str, list[tuple[str, bool]]] = {}
    for control in fields.inputs:
        name, kind = str(control["name"]), control.get("type") or "text"
        value = control.get("value") or ""
        if kind == "radio":
            radios.setdefault(name, []).append((value, "checked" in control))
        elif kind == "checkbox":
            chosen = data.setdefault(name, [])
            if "checked" in control:
                chosen.append(value)
        elif kind == "hidden":
            data[name] = value
        elif kind not in ("submit", "button", "file"):
            data[name] = value or _sample(name)
    for name, options in radios.items():
        values = [value for value, _checked in options]
        checked = [value for value, is_checked in options if is_checked]
        preferred = next((value for value in ("yes", "bank") if value in values), values[0])
        data[name] = checked[0] if checked else FORM_CHOICES.get(name, preferred)
    for name in [name for name, value in data.items() if value == []]:
        boxes = [str(c.get("value") or "") for c in fields.inputs if c["name"] == name]
        data[name] = boxes[:1]
    for name, text in fields.textareas.items():
        data[name] = text.strip() or _sample(name)
    for name, options in fields.selects.items():
        selected = [value for value, chosen in options if chosen and value]
        filled = [value for value, _chosen in options if value]
        data[name] = (selected or filled or [""])[0]
    return data, fields.add_item


def _documents(html: str) -> dict[str, Any]:
    """Answer the documents page: another way where one is offered, else a small PDF."""
    data, _add = fill_form(html)
    for name in [name for name in data if name.startswith("delivery:")]:
        offered = re.findall(rf'name="{re.escape(name)}" value="([^"]+)"', html)
        alternatives = [value for value in offered if value != "upload"]
        data[name] = alternatives[0] if alternatives else "upload"
        if not alternatives:
            data["file:" + name.split(":", 1)[1]] = (BytesIO(TINY_PDF), "document.pdf")
    return data


@dataclass
class PreparedDraft:
    """A bereavement draft answered to the check page, and the form pages it went through."""

    draft_id: str
    procedures: list[str]
    form_pages: list[str] = field(default_factory=list)

    @property
    def check_url(self) -> str:
        """The page that shows every answer before the submit."""
        return f"/drafts/{self.draft_id}/check"


def walk_bereavement(client: FlaskClient) -> PreparedDraft:
    """Go through the bereavement journey to its check page, choosing every online procedure.

    The resident consents to every register, says the application is about their
    father, files for themselves, keeps what the registers filled in, types the rest,
    and brings documents later or to the counter where the portal allows it.
    """
    page = client.get("/life-events/bereavement").get_data(as_text=True)
    started = client.post("/life-events/bereavement/start", data=_hidden(page))
    location = _redirect(started)
    draft_id = location.split("/drafts/", 1)[1].split("/", 1)[0]
    prepared = PreparedDraft(draft_id=draft_id, procedures=[])
    for _ in range(MAX_JOURNEY_PAGES):
        path = urlsplit(location).path
        if path.endswith("/check"):
            return prepared
        response = client.get(location)
        if response.status_code in (302, 303):
            location = response.headers["Location"]
            continue
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}")
        html = response.get_data(as_text=True)
        if "/form/" in path:
            prepared.form_pages.append(path)
        location = _redirect(_answer_page(client, location, path, html, prepared))
    raise RuntimeError("the journey did not reach the check page")


def _answer_page(
    client: FlaskClient, location: str, path: str, html: str, prepared: PreparedDraft
) -> Any:
    """Post the answer to one page of the journey; return the response."""
    if "/questions/" in path:
        data = _hidden(html)
        for name in set(re.findall(r'name="([a-z0-9_]+)"', html)) & set(BEREAVEMENT_ANSWERS):
            data[name] = BEREAVEMENT_ANSWERS[name]
        return client.post(location, data=data)
    if path.endswith("/procedures"):
        prepared.procedures = re.findall(r'name="procedures" value="([^"]+)"', html)
        return client.post(location, data={**_hidden(html), "procedures": prepared.procedures})
    if path.endswith("/records"):
        sources = re.findall(r'name="sources" value="([^"]+)"', html)
        return client.post(location, data={**_hidden(html), "sources": sources, "action": "fetch"})
    if path.endswith("/records/person"):
        people = re.findall(r'name="person" value="([^"]+)"', html)
        person = DECEASED if DECEASED in people else people[0]
        return client.post(location, data={**_hidden(html), "person": person})
    if path.endswith("/filing-for"):
        return client.post(location, data={**_hidden(html), "filing_for": "self"})
    if path.endswith("/documents"):
        return client.post(location, data=_documents(html), content_type="multipart/form-data")
    data, add_item = fill_form(html)
    if add_item and "まだ追加されていません" in html:
        item_page = client.get(add_item).get_data(as_text=True)
        _redirect(client.post(add_item, data=fill_form(item_page)[0]))
        data, _add = fill_form(client.get(location).get_data(as_text=True))
    return client.post(location, data=data)


def _hidden(html: str) -> dict[str, Any]:
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    if token is None:
        raise RuntimeError("the page has no CSRF token")
    return {"csrf_token": token.group(1)}


def _redirect(response: Any) -> str:
    if response.status_code != 303:
        problems = re.findall(r'<li><a href="#[^"]+">([^<]+)', response.get_data(as_text=True))
        raise RuntimeError(f"expected a redirect, got {response.status_code}: {problems}")
    return str(response.headers["Location"])


def walked_resident(app: Flask, subject: str) -> tuple[FlaskClient, SignedIn, PreparedDraft]:
    """中村 健太 signed in (as ``subject``) with his bereavement draft walked to its check page."""
    signed_in = sign_in(
        app,
        issuer="https://bench.invalid",
        subject=subject,
        role="resident",
        person_key=RESIDENT,
    )
    client = resident_client(app, signed_in)
    return client, signed_in, walk_bereavement(client)


def copy_draft(app: Flask, draft_id: str, copies: int) -> list[str]:
    """Copy a finished draft ``copies`` times (new ids), so many identical submits can be timed."""
    from sqlalchemy import insert, select

    from portal.extensions import db
    from portal.resident.models import Draft

    table = Draft.__table__
    with app.app_context():
        row = db.session.execute(select(table).where(table.c.id == draft_id)).mappings().one()
        ids = [secrets.token_urlsafe(32) for _ in range(copies)]
        db.session.execute(insert(table), [{**row, "id": new_id} for new_id in ids])
        db.session.commit()
    return ids


# ------------------------------------------------------------------ gunicorn


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class ServerSettings:
    """How gunicorn serves both the portal and the floor app: the same for both."""

    workers: int = 2
    worker_class: str = "gthread"
    threads: int = 1

    def arguments(self) -> list[str]:
        """The gunicorn command-line options for these settings."""
        return [
            "--workers",
            str(self.workers),
            "--worker-class",
            self.worker_class,
            "--threads",
            str(self.threads),
            "--keep-alive",
            "5",
        ]

    def describe(self) -> str:
        """The settings as they appear on gunicorn's command line."""
        return " ".join(self.arguments())


class Gunicorn:
    """A gunicorn master serving ``target`` on a free port, stopped on exit."""

    def __init__(
        self,
        target: str,
        environment: Mapping[str, str],
        server: ServerSettings,
        log_path: Path,
        ready_path: str = "/healthz",
    ) -> None:
        self.port = free_port()
        self.target = target
        self.environment = {**os.environ, **environment, "PYTHONPATH": str(BENCH_DIR)}
        self.server = server
        self.log_path = log_path
        self.ready_path = ready_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """Where the server answers."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Gunicorn:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    self.target,
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--chdir",
                    str(PROJECT_ROOT),
                    *self.server.arguments(),
                ],
                env=self.environment,
                stdout=log,
                stderr=log,
            )
        self._wait_until_ready()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _wait_until_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn stopped; see {self.log_path}")
            try:
                status, _body = http_get(self.base_url, self.ready_path)
                if status == 200 and len(self.worker_pids()) == self.server.workers:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {timeout} s; see {self.log_path}")

    def worker_pids(self) -> list[int]:
        """The pids of the master's worker processes."""
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def worker_rss_mb(self) -> list[float]:
        """Each worker's resident memory in MB (VmRSS)."""
        return [rss for rss in (rss_mb(pid) for pid in self.worker_pids()) if rss is not None]


def rss_mb(pid: int) -> float | None:
    """A process's resident set size in MB, or None if it has gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return round(int(match.group(1)) / 1024, 1) if match else None


def http_get(base_url: str, path: str, cookie: str | None = None) -> tuple[int, bytes]:
    """One GET over a fresh connection: the status and the body."""
    address = urlsplit(base_url)
    connection = HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=30)
    try:
        connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@dataclass(frozen=True)
class FormPage:
    """The portal serving a resident's form page: where, which page, and the cookie to send."""

    portal: Gunicorn
    path: str
    cookie: str
    body: bytes
    procedures: list[str]
    workdir: Path


@contextmanager
def form_page_server(kind: str, server: ServerSettings, step: str) -> Iterator[FormPage]:
    """Serve the portal with gunicorn on a new database, with a resident's draft at ``step``.

    The database is migrated and loaded as ``make run`` does; 中村 健太 signs in and
    walks the bereavement journey to its check page; the form step's page is fetched
    once over HTTP to check that it is the form, signed in.
    """
    with tempfile.TemporaryDirectory(prefix=f"madoguchi-bench-{kind}-") as folder:
        workdir = Path(folder)
        with database(kind, workdir) as url:
            app = build_app(url, workdir)
            prepare_database(app)
            client, signed_in, draft = walked_resident(app, "bench-http-resident")
            cookie = current_cookie(client, signed_in).header
            with app.app_context():
                from portal.extensions import db

                db.engine.dispose()
            path = f"/drafts/{draft.draft_id}/form/{step}"
            if path not in draft.form_pages:
                raise SystemExit(f"the journey has no step {step!r}")
            environment = settings(url, workdir)
            with Gunicorn("app:app", environment, server, workdir / "portal.log") as portal:
                status, body = http_get(portal.base_url, path, cookie)
                if status != 200 or b'name="csrf_token"' not in body:
                    raise SystemExit(f"the form page answered {status}, not the form")
                yield FormPage(portal, path, cookie, body, draft.procedures, workdir)


# ------------------------------------------------------------------ wrk


@dataclass(frozen=True)
class WrkResult:
    """What ``wrk --latency`` printed, in numbers."""

    requests: int
    seconds: float
    requests_per_second: float
    latency_ms: dict[str, float]
    non_2xx_3xx: int
    socket_errors: int

    def as_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data."""
        return {
            "requests": self.requests,
            "seconds": self.seconds,
            "requests_per_second": self.requests_per_second,
            "latency_ms": self.latency_ms,
            "non_2xx_3xx": self.non_2xx_3xx,
            "socket_errors": self.socket_errors,
        }


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def run_wrk(
    url: str,
    *,
    duration: int,
    connections: int,
    threads: int = 2,
    cookie: str | None = None,
    script: Path | None = None,
) -> WrkResult:
    """Run wrk against ``url`` and read its summary; the raw output goes to stdout too."""
    command = [
        "wrk",
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "--latency",
    ]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    if script:
        command += ["-s", str(script)]
    output = subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout
    print(output, flush=True)
    return parse_wrk(output)


def parse_wrk(output: str) -> WrkResult:
    """Read requests, rate, latency percentiles and errors from wrk's summary."""
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if total is None or rate is None:
        raise RuntimeError(f"could not read wrk's output:\n{output}")
    latency = {
        f"p{share}": round(float(number) * _UNITS_MS[unit], 2)
        for share, number, unit in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
    }
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(r"connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return WrkResult(
        requests=int(total.group(1)),
        seconds=round(float(total.group(2)) * _UNITS_MS[total.group(3)] / 1000, 2),
        requests_per_second=float(rate.group(1)),
        latency_ms=latency,
        non_2xx_3xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
    )
