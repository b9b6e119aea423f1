"""PostgreSQL restarted while residents keep pressing "Send": nothing is half-filed or lost.

The portal is served over real HTTP (threaded werkzeug) on the cluster
``scripts/with-postgres.sh`` started, which it restarts through ``MADOGUCHI_TEST_PG_CTL``
(``pg_ctl restart -m fast`` ends every connection). Residents submit drafts from
several threads meanwhile. Each submission is then either filed whole (the application,
all its submissions, its jobs and its audit entries) or the resident got the polite
error page and still has the draft; sending that draft again after the restart files
it exactly once.
"""

from __future__ import annotations

import os
import secrets
import shlex
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from flask import g, request
from sqlalchemy import func, select

from portal.audit.models import AuditEntry
from portal.audit.services import verify_chain
from portal.backoffice.models import Application, Submission
from portal.catalogue.services import load_directory
from portal.extensions import db
from portal.identity.models import User
from portal.jobs.engines import job_engine
from portal.jobs.models import Job
from portal.resident.models import Draft
from tests.conftest import PROCEDURES
from tests.identity.live import Browser, LiveApp, Page, live_app
from tests.resident.test_submit import CHOSEN, _to_check

pytestmark = [pytest.mark.faults, pytest.mark.postgres_only]

PG_CTL_VARIABLE = "MADOGUCHI_TEST_PG_CTL"
USER_HEADER = "X-Faults-Resident"
RESIDENTS = ("demo-0024", "demo-0018", "demo-0011", "demo-0005")
DRAFTS_EACH = 4
PACE_SECONDS = 0.05
ANSWERED_BEFORE_RESTART = 4
# The polite error page's advice (its Japanese, the default language).
TRY_AGAIN = "時間をおいて、もう一度お試しください。保存済みの内容は失われません。"


@dataclass
class Attempt:
    """One press of "Send": which draft, when it was sent and answered, and the answer."""

    draft_id: str
    sent_at: float
    answered_at: float | None = None
    status: int | None = None
    location: str | None = None
    text: str = ""
    error: str | None = None


@dataclass(frozen=True)
class Portal:
    """The portal served over HTTP, and its residents' person keys by user id."""

    live: LiveApp
    residents: dict[int, str]


@pytest.fixture
def pg_ctl() -> list[str]:
    """The command that controls the run's PostgreSQL cluster (``pg_ctl -D …``)."""
    command = os.environ.get(PG_CTL_VARIABLE)
    if not command:
        pytest.skip(f"{PG_CTL_VARIABLE} is not set: run through scripts/with-postgres.sh")
    return shlex.split(command)


@pytest.fixture
def portal(database_url: str, pg_ctl: list[str]) -> Iterator[Portal]:
    """The portal over HTTP, jobs run by its background thread as in production.

    A resident is whoever the ``X-Faults-Resident`` header names (a user id), so many
    residents can submit at once without signing in through a provider.
    """
    with live_app(database_url, JOBS_ENGINE="thread") as served:
        residents: dict[int, str] = {}

        @served.app.before_request
        def _resident_from_header() -> None:
            user_id = request.headers.get(USER_HEADER)
            if user_id:
                g.user = SimpleNamespace(
                    id=int(user_id),
                    person_key=residents[int(user_id)],
                    role="resident",
                    display_name="テスト",
                )

        with served.app.app_context():
            assert not load_directory(db.session, PROCEDURES, actor="test").issues
            for person_key in RESIDENTS:
                user = User(
                    issuer="https://idp.test",
                    subject=person_key,
                    role="resident",
                    person_key=person_key,
                    display_name="テスト",
                    departments=[],
                    preferred_language="ja",
                )
                db.session.add(user)
                db.session.flush()
                residents[user.id] = person_key
            db.session.commit()
        try:
            yield Portal(served, residents)
        finally:
            with served.app.app_context():
                job_engine().stop(timeout=30)
                db.engine.dispose()  # its connections predate the restart


def _drafts_at_the_check_page(portal: Portal) -> dict[int, list[str]]:
    """Walk one journey to the check page, then give every resident copies of that draft."""
    live, residents = portal.live, portal.residents
    walker = next(iter(residents))
    client = live.app.test_client()
    client.environ_base["HTTP_X_FAULTS_RESIDENT"] = str(walker)
    check = _to_check(client)
    with live.app.app_context():
        model = db.session.get(Draft, check.split("/")[2])
        assert model is not None
        columns = [column.key for column in Draft.__table__.columns if column.key != "id"]
        drafts: dict[int, list[str]] = {}
        for user_id in residents:
            for _copy in range(DRAFTS_EACH):
                draft = Draft(
                    id=secrets.token_urlsafe(32), **{c: getattr(model, c) for c in columns}
                )
                draft.owner_key = f"user:{user_id}"
                db.session.add(draft)
                drafts.setdefault(user_id, []).append(draft.id)
        db.session.delete(model)
        db.session.commit()
    return drafts


def _submit(live: LiveApp, browser: Browser, user_id: int, token: str, draft_id: str) -> Page:
    return browser.post(
        f"{live.url}/drafts/{draft_id}/submit",
        {"csrf_token": token, "declaration": "yes"},
        headers={USER_HEADER: str(user_id)},
    )


def _press_send(
    live: LiveApp, browser: Browser, user_id: int, token: str, attempt: Attempt
) -> None:
    try:
        page = _submit(live, browser, user_id, token, attempt.draft_id)
    except OSError as error:  # no answer at all: the resident cannot tell what happened
        attempt.error = type(error).__name__
        return
    attempt.answered_at = time.monotonic()
    attempt.status, attempt.location, attempt.text = (
        page.status,
        page.headers["Location"],
        page.text,
    )


def _stream(
    live: LiveApp, drafts: dict[int, list[str]], pg_ctl: list[str]
) -> tuple[list[Attempt], float, float, dict]:
    """Submit every draft from one thread per resident while PostgreSQL restarts.

    Returns the attempts, when the restart began and ended, and each resident's browser
    and CSRF token.
    """
    sessions: dict[int, tuple[Browser, str]] = {}
    for user_id, ids in drafts.items():
        browser = Browser()
        page = browser.get(f"{live.url}/drafts/{ids[0]}/check", headers={USER_HEADER: str(user_id)})
        assert page.status == 200, page.text
        sessions[user_id] = (browser, page.csrf_token())
    attempts: list[Attempt] = []
    lock = threading.Lock()
    go = threading.Event()

    def resident(user_id: int) -> None:
        browser, token = sessions[user_id]
        go.wait()
        for draft_id in drafts[user_id]:
            attempt = Attempt(draft_id, time.monotonic())
            with lock:
                attempts.append(attempt)
            _press_send(live, browser, user_id, token, attempt)
            time.sleep(PACE_SECONDS)

    threads = [threading.Thread(target=resident, args=(user_id,)) for user_id in drafts]
    for thread in threads:
        thread.start()
    go.set()
    deadline = time.monotonic() + 60
    while sum(a.status is not None for a in attempts) < ANSWERED_BEFORE_RESTART:
        assert time.monotonic() < deadline, "no submission was answered"
        time.sleep(0.01)
    restart_began = time.monotonic()
    subprocess.run([*pg_ctl, "restart", "-m", "fast", "-w"], check=True, capture_output=True)
    restart_ended = time.monotonic()
    for thread in threads:
        thread.join(120)
    return attempts, restart_began, restart_ended, sessions


def _filed(reference_location: str | None) -> str | None:
    if reference_location and "/applications/" in reference_location:
        return reference_location.rsplit("/", 1)[1]
    return None


def test_submissions_during_a_restart_are_filed_whole_or_refused_and_filed_once_when_sent_again(
    portal, pg_ctl
):
    live = portal.live
    drafts = _drafts_at_the_check_page(portal)
    attempts, restart_began, restart_ended, sessions = _stream(live, drafts, pg_ctl)
    every_draft = [draft_id for ids in drafts.values() for draft_id in ids]
    assert sorted(a.draft_id for a in attempts) == sorted(every_draft)
    before = [a for a in attempts if a.answered_at is not None and a.answered_at < restart_began]
    assert before and all(a.status == 303 for a in before), "no failure without a fault"
    assert any(restart_began <= a.sent_at <= restart_ended for a in attempts), "sent meanwhile"

    with live.app.app_context():
        db.engine.dispose()  # the test's own pooled connections died with the restart
        by_draft = {a.draft_id: a.reference for a in _applications()}
        still_drafts = set(db.session.scalars(select(Draft.id)))
    refused = []
    for attempt in attempts:
        reference = _filed(attempt.location)
        if attempt.status == 303 and reference:
            assert by_draft.get(attempt.draft_id) == reference, (
                "what the resident was shown is stored"
            )
            assert attempt.draft_id not in still_drafts
            continue
        assert attempt.error is None, f"no answer for a submission: {attempt.error}"
        assert attempt.status >= 500, (attempt.status, attempt.text[:300])
        assert TRY_AGAIN in attempt.text and "Traceback" not in attempt.text
        # Refused: nothing was filed and the draft is kept, or the commit went through
        # as the connection broke; either way sending again must file it once.
        assert (attempt.draft_id in still_drafts) != (attempt.draft_id in by_draft)
        refused.append(attempt)

    owner = {draft_id: user_id for user_id, ids in drafts.items() for draft_id in ids}
    for attempt in refused:
        browser, token = sessions[owner[attempt.draft_id]]
        page = _submit(live, browser, owner[attempt.draft_id], token, attempt.draft_id)
        assert page.status == 303, (page.status, page.text[:300])
        assert _filed(page.headers["Location"])
    for draft_id in every_draft[:3]:  # sending a filed draft again files nothing new
        browser, token = sessions[owner[draft_id]]
        assert _submit(live, browser, owner[draft_id], token, draft_id).status == 303

    _assert_nothing_half_written(live, every_draft)


def _applications() -> list[Application]:
    return list(db.session.scalars(select(Application)))


def _assert_nothing_half_written(live: LiveApp, every_draft: list[str]) -> None:
    """Every draft filed exactly once, each application whole, no orphan rows anywhere."""
    with live.app.app_context():
        applications = _applications()
        assert Counter(a.draft_id for a in applications) == Counter(dict.fromkeys(every_draft, 1))
        assert db.session.scalar(select(func.count()).select_from(Draft)) == 0
        references = {a.reference for a in applications}
        for application in applications:
            assert sorted(s.procedure_id for s in application.submissions) == sorted(CHOSEN)
        orphans = db.session.scalar(
            select(func.count())
            .select_from(Submission)
            .outerjoin(Application, Submission.application_id == Application.id)
            .where(Application.id.is_(None))
        )
        assert orphans == 0
        jobs = db.session.execute(select(Job.idempotency_key, Job.payload)).all()
        job_keys = {key for key, _payload in jobs}
        for reference in references:
            assert {f"receipt:{reference}", f"email:received:{reference}"} <= job_keys
        for key, payload in jobs:
            if "application" in payload:
                assert payload["application"] in references, f"job {key} of no application"
        audit = Counter(
            (action, subject)
            for action, subject in db.session.execute(
                select(AuditEntry.action, AuditEntry.subject_id).where(
                    AuditEntry.action.in_(("application.submitted", "submission.received"))
                )
            )
        )
        expected = Counter({("application.submitted", r): 1 for r in references})
        for application in applications:
            expected.update(("submission.received", s.reference) for s in application.submissions)
        assert audit == expected
        assert verify_chain(db.session).intact
