"""Application numbers: one counter a year, counted on without gaps or repeats."""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session

from portal.backoffice.services import next_application_reference
from portal.extensions import db


def test_numbers_count_on_within_a_year_and_start_again_in_the_next(app):
    with app.app_context():
        assert next_application_reference(db.session, 2026) == "MD-2026-000001"
        assert next_application_reference(db.session, 2026) == "MD-2026-000002"
        db.session.commit()
        assert next_application_reference(db.session, 2027) == "MD-2027-000001"
        assert next_application_reference(db.session, 2026) == "MD-2026-000003"
        db.session.commit()


def test_a_number_given_out_in_a_rolled_back_submit_is_given_again(app):
    with app.app_context():
        assert next_application_reference(db.session, 2026) == "MD-2026-000001"
        db.session.commit()
        assert next_application_reference(db.session, 2026) == "MD-2026-000002"
        db.session.rollback()
        assert next_application_reference(db.session, 2026) == "MD-2026-000002"
        db.session.commit()


def test_the_first_submits_of_a_year_racing_get_different_numbers(app):
    with app.app_context():
        engine = db.engine
        numbers: list[str] = []

        def later_submit() -> None:
            with Session(engine) as session:
                numbers.append(next_application_reference(session, 2026))
                session.commit()

        with Session(engine) as session:
            numbers.append(next_application_reference(session, 2026))
            other = threading.Thread(target=later_submit)
            other.start()
            other.join(timeout=0.5)
            assert other.is_alive()  # it waits for this transaction's counter row
            session.commit()
        other.join(timeout=30)
        assert numbers == ["MD-2026-000001", "MD-2026-000002"]
