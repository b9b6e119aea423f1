"""Fixtures for the back-office API: the app serving it, clients, and filed submissions.

``filed`` files a bereavement application through the resident's pages (an NHI
submission for ``insurance_pension`` and an LTC one for ``ltc_insurance``).
``child_allowance`` adds a child allowance claim for ``child_support`` whose answers
hold a My Number and whose documents include an uploaded file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import select

from portal.api.services import create_client
from portal.backoffice.models import Application, Submission
from portal.catalogue.services import published_pins
from portal.database import utcnow
from portal.documents.storage import file_storage
from portal.extensions import db
from tests.resident.conftest import TINY_PDF
from tests.resident.test_submit import _submit, _to_check

EVERY_SCOPE = ("submissions:read", "submissions:write", "personal:my_number")
MY_NUMBER = "123456789018"
CHILD_ALLOWANCE = "MD-2026-900001-1"


@dataclass(frozen=True)
class Filed:
    """The references of the filed submissions, by the department that handles them."""

    nhi: str
    ltc: str


@pytest.fixture
def issue_client(app: Flask) -> Callable[..., str]:
    """Create an API client and return its bearer token."""

    def issue(
        departments: Sequence[str] = ("insurance_pension",),
        scopes: Sequence[str] = ("submissions:read", "submissions:write"),
    ) -> str:
        with app.app_context():
            issued = create_client(
                db.session, name="基幹系", departments=departments, scopes=scopes, now=utcnow()
            )
            db.session.commit()
            return issued.token

    return issue


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def filed(signed_in_as, app: Flask, client) -> Filed:
    """A bereavement application of two submissions, filed by demo-0024 through the pages."""
    signed_in_as("demo-0024")
    response = _submit(client, _to_check(client), declaration="yes")
    assert response.status_code == 303
    with app.app_context():
        by_procedure = {
            submission.procedure_id: submission.reference
            for submission in db.session.scalars(select(Submission))
        }
    return Filed(nhi=by_procedure["nhi_loss_on_death"], ltc=by_procedure["ltc_insurance_loss"])


@pytest.fixture
def child_allowance(filed: Filed, app: Flask) -> str:
    """A child allowance claim with a My Number and an uploaded income certificate."""
    with app.app_context():
        first = db.session.scalars(select(Application)).first()
        pins = published_pins(db.session)
        key = file_storage().put("uploads", TINY_PDF, "application/pdf")
        application = Application(
            reference=CHILD_ALLOWANCE.rsplit("-", 1)[0],
            draft_id="child-allowance-draft",
            life_event_id="childcare",
            applicant_id=first.applicant_id,
            applicant_name=first.applicant_name,
            language="ja",
            pins=pins,
            answers={},
            register={},
            checked_against_register=False,
            submitted_at=utcnow(),
        )
        application.submissions.append(
            Submission(
                number=1,
                reference=CHILD_ALLOWANCE,
                procedure_id="child_allowance_claim",
                procedure_version_id=pins["procedure:child_allowance_claim"],
                department_id="child_support",
                queue_id="child_support",
                status="received",
                answers={
                    "applicant_phone": "090-1234-5678",
                    "claimant_my_number": MY_NUMBER,
                    "claimant_income": 3_200_000,
                },
                documents=[
                    {
                        "id": "income_certificate",
                        "delivery": "upload",
                        "key": key,
                        "content_type": "application/pdf",
                        "size": len(TINY_PDF),
                        "name": "所得証明書.pdf",
                    },
                    {"id": "separate_residence_statement", "delivery": "post"},
                ],
                received_at=utcnow(),
            )
        )
        db.session.add(application)
        db.session.commit()
    return CHILD_ALLOWANCE
