"""Fill the database with N realistic submissions for timing the clerks' work lists.

Two years of filings of the demo city's online procedures, each routed to its
department: older ones mostly decided, recent ones open, most of those claimed by
one of five clerks per department, some waiting for the applicant, a tenth without
a due date. It adds to what is there (references continue the year's counter) and
needs a migrated database; it loads the shipped definitions if none are published.

Rows go in batch by batch, in the caller's transaction: on PostgreSQL by ``COPY``
(psycopg's ``cursor.copy``), on SQLite by one ``executemany`` per table and batch.
Both skip what makes an ORM or Core insert slow in bulk (a statement per few rows,
reading the new ids back): the application ids are taken from the database first
(PostgreSQL's sequence, SQLite's highest id) and every value is converted once by
the column type's own bind processor, so the rows are stored exactly as the portal
stores them. On SQLite the page cache is raised while the rows go in. A million rows
take about two minutes on either database.

    .venv/bin/python bench/worklist_data.py --count 1000000 [--seed 1]

The database is the one the portal uses (``DATABASE_URL``).
"""

from __future__ import annotations

import argparse
import json
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from psycopg import sql
from sqlalchemy import JSON, Connection, Table, func, insert, select, text, update
from sqlalchemy.orm import Session

from portal.backoffice.models import Application, ReferenceCounter, Submission
from portal.catalogue.services import load_directory, published_catalogue
from portal.identity.models import User

PROCEDURES = Path(__file__).resolve().parent.parent / "procedures"
APPLICATIONS: Table = Application.__table__
SUBMISSIONS: Table = Submission.__table__
BATCH = 10_000
# SQLite's page cache while rows go in, in KiB (256 MiB; the default is 2 MiB).
SQLITE_FILL_CACHE_KIB = 256 * 1024
CLERKS_PER_DEPARTMENT = 5
SUBMISSIONS_PER_RESIDENT = 50
HISTORY_DAYS = 730
CLOSED = ("approved", "rejected", "completed", "withdrawn")
FAMILY = ("佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "Smith")
GIVEN = ("花子", "太郎", "陽菜", "蓮", "結衣", "大翔", "美咲", "翔太", "さくら", "健", "Anna")
# What every generated row has in common; the columns a row's values fill follow.
APPLICATION_CONSTANTS: dict[str, Any] = {
    "life_event_id": "bench",
    "language": "ja",
    "pins": {},
    "answers": {},
    "register": {},
    "checked_against_register": False,
    "assisted": False,
}
APPLICATION_COLUMNS = (
    "id",
    "reference",
    "draft_id",
    "applicant_id",
    "applicant_name",
    "submitted_at",
)
SUBMISSION_CONSTANTS: dict[str, Any] = {
    "number": 1,
    "answers": {},
    "documents": [],
    "four_eyes": False,
}
SUBMISSION_COLUMNS = (
    "application_id",
    "reference",
    "procedure_id",
    "procedure_version_id",
    "department_id",
    "queue_id",
    "status",
    "received_at",
    "due_on",
    "assignee_id",
    "paused_since",
    "decided_at",
)


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


def _application_ids(connection: Connection, count: int) -> list[int]:
    """``count`` new application ids, taken before the rows go in (no read-back needed).

    PostgreSQL hands them out from the column's sequence, so they are never reused;
    SQLite's write lock is held by this transaction, so the next ids are the free ones.
    """
    if connection.dialect.name == "postgresql":
        return list(
            connection.scalars(
                text(
                    "SELECT nextval(pg_get_serial_sequence('applications', 'id')) "
                    "FROM generate_series(1, :count)"
                ),
                {"count": count},
            )
        )
    highest = connection.scalar(select(func.coalesce(func.max(APPLICATIONS.c.id), 0)))
    return list(range(highest + 1, highest + 1 + count))


class _BulkWriter:
    """Writes rows of one table in bulk, each value converted as SQLAlchemy would convert it.

    A row is the values of ``columns`` in order; ``constants`` fill the other columns
    of every row and are converted once (JSON written as its text, so it is not
    serialised again for every row).
    """

    def __init__(
        self,
        connection: Connection,
        table: Table,
        columns: Sequence[str],
        constants: Mapping[str, Any],
    ) -> None:
        self.connection = connection
        self.table = table
        # Only the columns whose type converts values: the others go in as they are.
        self.conversions = [
            (index, processor)
            for index, processor in enumerate(self._processor(name) for name in columns)
            if processor is not None
        ]
        self.constants = tuple(self._constant(name, value) for name, value in constants.items())
        self.names = (*columns, *constants)

    def _processor(self, name: str) -> Callable[[Any], Any] | None:
        """The column type's conversion of a Python value for this database, if any."""
        dialect = self.connection.dialect
        return self.table.c[name].type.dialect_impl(dialect).bind_processor(dialect)

    def _constant(self, name: str, value: Any) -> Any:
        """A constant column's value as stored."""
        if isinstance(self.table.c[name].type, JSON):
            return json.dumps(value)
        processor = self._processor(name)
        return processor(value) if processor else value

    def _converted(self, rows: Iterable[Sequence[Any]]) -> Iterator[tuple[Any, ...]]:
        """Each row as stored: its values converted, the constants after them."""
        for row in rows:
            values = list(row)
            for index, processor in self.conversions:
                values[index] = processor(values[index])
            yield (*values, *self.constants)

    def write(self, rows: Iterable[Sequence[Any]]) -> None:
        """Add the rows: one COPY on PostgreSQL, one executemany on SQLite.

        COPY takes the rows as they are made, so the server stores one while the next
        is drawn: on two cores the two overlap.
        """
        if self.connection.dialect.name == "postgresql":
            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(self.table.name), sql.SQL(", ").join(map(sql.Identifier, self.names))
            )
            with self.connection.connection.cursor() as cursor, cursor.copy(statement) as copy:
                for row in self._converted(rows):
                    copy.write_row(row)
            return
        names, marks = ", ".join(self.names), ", ".join("?" for _ in self.names)
        # The table's and columns' names are this module's own constants, never input.
        insert_rows = f"INSERT INTO {self.table.name} ({names}) VALUES ({marks})"  # noqa: S608
        self.connection.exec_driver_sql(insert_rows, list(self._converted(rows)))


@contextmanager
def _fill_cache(connection: Connection) -> Iterator[None]:
    """On SQLite, a page cache that holds the indexes while rows go in, then the old one.

    With the default 2 MiB every insert into an index with random keys (the draft ids)
    reads pages back from the file; the old size comes back so that what is timed
    afterwards runs as the portal runs.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    previous = int(connection.exec_driver_sql("PRAGMA cache_size").scalar_one())
    connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_FILL_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size = {previous}")


def _submission(
    procedure: _Procedure,
    received: datetime,
    now: datetime,
    clerks: list[int],
    rng: random.Random,
) -> tuple[Any, ...]:
    """One submission's status, dates and assignee (``SUBMISSION_COLUMNS`` from ``status``)."""
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
    return (
        status,
        received,
        due if rng.random() >= 0.1 else None,
        rng.choice(clerks) if assigned else None,
        received + timedelta(days=1) if status == "awaiting_applicant" else None,
        received + timedelta(days=3) if status in CLOSED else None,
    )


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
    connection = session.connection()
    applications = _BulkWriter(connection, APPLICATIONS, APPLICATION_COLUMNS, APPLICATION_CONSTANTS)
    submissions = _BulkWriter(connection, SUBMISSIONS, SUBMISSION_COLUMNS, SUBMISSION_CONSTANTS)
    with _fill_cache(connection):
        for start in range(0, count, BATCH):
            by_year: dict[int, list[datetime]] = {}
            for moment in received[start : start + BATCH]:
                by_year.setdefault(moment.year, []).append(moment)
            for year, moments in by_year.items():
                first = _reserve_numbers(session, year, len(moments))
                references = [f"MD-{year}-{first + n:06d}" for n in range(len(moments))]
                filed = [(rng.choice(procedures), moment) for moment in moments]
                ids = _application_ids(connection, len(moments))
                applications.write(
                    (
                        application_id,
                        reference,
                        uuid.UUID(int=rng.getrandbits(128)).hex,
                        rng.choice(residents),
                        f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}",
                        moment,
                    )
                    for application_id, reference, (_procedure, moment) in zip(
                        ids, references, filed, strict=True
                    )
                )
                submissions.write(
                    (
                        application_id,
                        f"{reference}-1",
                        procedure.id,
                        procedure.version_id,
                        procedure.department,
                        procedure.department,
                        *_submission(procedure, moment, now, clerks[procedure.department], rng),
                    )
                    for application_id, reference, (procedure, moment) in zip(
                        ids, references, filed, strict=True
                    )
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
