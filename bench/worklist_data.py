"""Fill the database with N realistic submissions for timing the clerks' work lists.

Two years of filings of the demo city's online procedures, each routed to its
department: older ones mostly decided, recent ones open, most of those claimed by
one of five clerks per department, some waiting for the applicant, a tenth without
a due date. Rows go in by bulk INSERT in batches, so a million take minutes, not
hours. It adds to what is there (references continue the year's counter) and needs
a migrated database; it loads the shipped definitions if none are published.

    .venv/bin/python bench/worklist_data.py --count 1000000 [--seed 1]

The database is the one the portal uses (``DATABASE_URL``).
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from portal.backoffice.models import Application, ReferenceCounter, Submission
from portal.catalogue.services import load_directory, published_catalogue
from portal.identity.models import User

PROCEDURES = Path(__file__).resolve().parent.parent / "procedures"
# Core inserts on the tables: the ORM's bulk path splits rows into many small statements.
APPLICATIONS = Application.__table__
SUBMISSIONS = Submission.__table__
BATCH = 10_000
CLERKS_PER_DEPARTMENT = 5
SUBMISSIONS_PER_RESIDENT = 50
HISTORY_DAYS = 730
CLOSED = ("approved", "rejected", "completed", "withdrawn")
FAMILY = ("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "Smith")
GIVEN = ("花子", "太郎", "陽菜", "蓮", "結衣", "大翔", "美咲", "翔太", "さくら", "健", "Anna")


@dataclass(frozen=True)
class _Procedure:
    id: str
    version_id: int
    department: str
    service_level_days: int


def _procedures(session: Session) -> list[_Procedure]:
    """The published online procedures that reach a department's queue."""
    catalogue, pins = published_catalogue(session)
    if not catalogue.procedures:
        report = load_directory(session, PROCEDURES, actor="bench")
        if report.issues:
            raise SystemExit("\n".join(issue.format() for issue in report.issues))
        catalogue, pins = published_catalogue(session)
    return [
        _Procedure(
            id=procedure_id,
            version_id=pins[f"procedure:{procedure_id}"],
            department=procedure.model.department,
            service_level_days=procedure.model.delivery.service_level_days,
        )
        for procedure_id, procedure in sorted(catalogue.procedures.items())
        if procedure.model.delivery is not None
    ]


def _users(
    session: Session, rng: random.Random, role: str, count: int, department: str | None = None
) -> list[int]:
    """Ids of ``count`` bench users of a role (and department), made as needed."""
    prefix = f"bench-{role}-{department or 'all'}-"
    existing = list(
        session.scalars(select(User.id).where(User.subject.startswith(prefix)).order_by(User.id))
    )
    missing = count - len(existing)
    if missing > 0:
        rows = [
            {
                "issuer": "https://bench.invalid",
                "subject": f"{prefix}{len(existing) + n}",
                "role": role,
                "display_name": f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}",
                "departments": [department] if department else [],
                "preferred_language": "ja",
            }
            for n in range(missing)
        ]
        existing += list(
            session.scalars(insert(User).returning(User.id, sort_by_parameter_order=True), rows)
        )
    return existing[:count]


def _reserve_numbers(session: Session, year: int, count: int) -> int:
    """Take ``count`` application numbers of a year; returns the first."""
    last = session.scalar(
        update(ReferenceCounter)
        .where(ReferenceCounter.year == year)
        .values(last_number=ReferenceCounter.last_number + count)
        .returning(ReferenceCounter.last_number)
    )
    if last is None:
        session.add(ReferenceCounter(year=year, last_number=count))
        session.flush()
        last = count
    return last - count + 1


def _submission(
    procedure: _Procedure,
    received: datetime,
    now: datetime,
    clerks: list[int],
    rng: random.Random,
) -> dict[str, Any]:
    """One submission's columns, with a status and assignee that fit its age."""
    age = now - received
    if age > timedelta(days=60) and rng.random() < 0.95:
        status = rng.choice(CLOSED)
    else:
        status = rng.choices(
            ("received", "in_review", "awaiting_applicant", "approved", "completed"),
            weights=(3, 4, 1, 1, 1),
        )[0]
    # Calendar days standing in for business days: 5 working days are about 7 days.
    due = (received + timedelta(days=procedure.service_level_days * 7 // 5)).date()
    assigned = status != "received" and (status in CLOSED or rng.random() < 0.8)
    return {
        "number": 1,
        "procedure_id": procedure.id,
        "procedure_version_id": procedure.version_id,
        "department_id": procedure.department,
        "queue_id": procedure.department,
        "status": status,
        "answers": {},
        "documents": [],
        "four_eyes": False,
        "received_at": received,
        "due_on": due if rng.random() >= 0.1 else None,
        "assignee_id": rng.choice(clerks) if assigned else None,
        "paused_since": received + timedelta(days=1) if status == "awaiting_applicant" else None,
        "decided_at": received + timedelta(days=3) if status in CLOSED else None,
    }


def generate(session: Session, count: int, *, seed: int = 1, now: datetime | None = None) -> int:
    """Insert ``count`` submissions (one application each) in the caller's transaction."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    procedures = _procedures(session)
    clerks = {
        department: _users(session, rng, "clerk", CLERKS_PER_DEPARTMENT, department)
        for department in sorted({procedure.department for procedure in procedures})
    }
    residents = _users(session, rng, "resident", max(1, count // SUBMISSIONS_PER_RESIDENT))
    received = sorted(
        now - timedelta(seconds=rng.randrange(HISTORY_DAYS * 86_400)) for _ in range(count)
    )
    for start in range(0, count, BATCH):
        chunk = received[start : start + BATCH]
        by_year: dict[int, list[datetime]] = {}
        for moment in chunk:
            by_year.setdefault(moment.year, []).append(moment)
        for year, moments in by_year.items():
            first = _reserve_numbers(session, year, len(moments))
            references = [f"MD-{year}-{first + n:06d}" for n in range(len(moments))]
            filed = [(rng.choice(procedures), moment) for moment in moments]
            session.execute(
                insert(APPLICATIONS),
                [
                    {
                        "reference": reference,
                        "draft_id": uuid.UUID(int=rng.getrandbits(128)).hex,
                        "life_event_id": "bench",
                        "applicant_id": rng.choice(residents),
                        "applicant_name": f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}",
                        "language": "ja",
                        "pins": {},
                        "answers": {},
                        "register": {},
                        "checked_against_register": False,
                        "assisted": False,
                        "submitted_at": moment,
                    }
                    for reference, (_procedure, moment) in zip(references, filed, strict=True)
                ],
            )
            # Read the ids back by reference: RETURNING in parameter order would make
            # SQLite insert row by row.
            ids = dict(
                session.execute(
                    select(Application.reference, Application.id).where(
                        Application.reference.in_(references)
                    )
                ).all()
            )
            session.execute(
                insert(SUBMISSIONS),
                [
                    {
                        "application_id": ids[reference],
                        "reference": f"{reference}-1",
                        **_submission(procedure, moment, now, clerks[procedure.department], rng),
                    }
                    for reference, (procedure, moment) in zip(references, filed, strict=True)
                ],
            )
    return count


def main() -> None:
    """Generate into the portal's database, commit, and say how long it took."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=1000, help="submissions to insert")
    parser.add_argument("--seed", type=int, default=1, help="random seed, for repeatable data")
    arguments = parser.parse_args()

    from portal import create_app
    from portal.extensions import db

    app = create_app()
    with app.app_context():
        started = time.perf_counter()
        generate(db.session, arguments.count, seed=arguments.seed)
        db.session.commit()
        elapsed = time.perf_counter() - started
    print(f"{arguments.count} submissions inserted in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
