"""Routing to queues, documents asked for, and service-level due dates."""

from __future__ import annotations

from datetime import date

import pytest

from portal.definitions.expressions import default_context, japanese_business_day
from portal.definitions.routing import due_date, required_documents, route, waived_documents
from tests.definitions.support import compile_texts, procedure_yaml, valid_catalogue

CONTEXT = default_context(date(2026, 11, 27))
PUBLIC_FUND = {"method": "public_fund"}


def grant():
    return valid_catalogue().procedure("nhi_funeral_grant")


def test_the_first_matching_route_wins_and_the_default_catches_the_rest() -> None:
    assert route(grant(), {"funeral_cost": 1500000}, CONTEXT) == "insurance_pension.review"
    assert route(grant(), {"funeral_cost": 300000}, CONTEXT) == "insurance_pension"
    # An unanswered condition is not true: the default takes it.
    assert route(grant(), {}, CONTEXT) == "insurance_pension"


def test_no_match_and_no_default_goes_to_triage() -> None:
    text = procedure_yaml(
        """\
        fields:
          urgent: {type: yes_no, label: {ja: 至急, en: Urgent}}
        steps:
          - {id: one, fields: [urgent]}
        delivery:
          service_level_days: 3
          routing:
            - when: "urgent"
              queue: insurance_pension.review
        """
    )
    catalogue, issues = compile_texts(text)
    assert issues == []
    procedure = catalogue.procedure("sample")
    assert route(procedure, {"urgent": True}, CONTEXT) == "insurance_pension.review"
    assert route(procedure, {"urgent": False}, CONTEXT) == "triage"
    assert route(procedure, {}, CONTEXT) == "triage"


def test_documents_follow_required_if_and_waived_if() -> None:
    def ids(answers: dict[str, object]) -> list[str]:
        return [document.id for document in required_documents(grant(), answers, CONTEXT)]

    assert ids({"funeral_cost": 300000}) == ["funeral_receipt"]
    assert ids({"funeral_cost": 600000}) == ["funeral_receipt", "cost_breakdown"]
    assert ids({"funeral_cost": 600000, "payee_account": PUBLIC_FUND}) == ["funeral_receipt"]
    # Unknown conditions count as not true: not required, not waived.
    assert ids({}) == ["funeral_receipt"]


def test_a_waived_document_is_named_as_such() -> None:
    def waived(answers: dict[str, object]) -> list[str]:
        return [document.id for document in waived_documents(grant(), answers, CONTEXT)]

    assert waived({"funeral_cost": 600000, "payee_account": PUBLIC_FUND}) == ["cost_breakdown"]
    assert waived({"funeral_cost": 600000}) == []
    assert waived({"funeral_cost": 300000, "payee_account": PUBLIC_FUND}) == []  # not required


def test_a_document_may_be_optional() -> None:
    text = procedure_yaml(
        """\
        fields:
          urgent: {type: yes_no, label: {ja: 至急, en: Urgent}}
        steps:
          - {id: one, fields: [urgent]}
        delivery:
          service_level_days: 3
          documents:
            - {id: letter, label: {ja: 手紙, en: Letter}, required: false}
        """
    )
    catalogue, _issues = compile_texts(text)
    assert required_documents(catalogue.procedure("sample"), {}, CONTEXT) == []


@pytest.mark.parametrize(
    ("received", "days", "due"),
    [
        (date(2026, 11, 27), 0, date(2026, 11, 27)),
        # Friday + 1 business day is Monday.
        (date(2026, 11, 27), 1, date(2026, 11, 30)),
        (date(2026, 11, 27), 5, date(2026, 12, 4)),
        # Golden Week: 29 April, 3-6 May 2026 are holidays (6 May is a substitute holiday).
        (date(2026, 4, 28), 3, date(2026, 5, 7)),
        # Received on a Saturday: the count starts on Monday.
        (date(2026, 11, 28), 1, date(2026, 11, 30)),
    ],
)
def test_due_date_counts_business_days_after_receipt(received: date, days: int, due: date) -> None:
    assert due_date(received, days, japanese_business_day) == due


def test_due_date_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="negative"):
        due_date(date(2026, 1, 1), -1, japanese_business_day)
    with pytest.raises(ValueError, match="ten years"):
        due_date(date(2026, 1, 1), 1, lambda day: False)
