"""Where a submitted application goes, which documents it needs, and when it is due."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta

from portal.definitions.catalogue import TRIAGE_QUEUE, CompiledProcedure
from portal.definitions.expressions import EvalContext, default_context, is_true
from portal.definitions.schema import Document

# A service level never spans more than ten years of calendar days.
MAX_CALENDAR_DAYS = 3660


def route(
    procedure: CompiledProcedure,
    answers: Mapping[str, object],
    context: EvalContext | None = None,
) -> str:
    """The queue of an application: the first route whose condition is true.

    With no match and no default the application goes to `triage`, where admins see
    it, so that no application is ever left in nobody's list.
    """
    context = context or default_context()
    values = procedure.rules.with_derived(answers, context)
    for compiled in procedure.routes:
        if compiled.when is None or is_true(compiled.when.evaluate(values, context)):
            return compiled.route.target
    return TRIAGE_QUEUE


def required_documents(
    procedure: CompiledProcedure,
    answers: Mapping[str, object],
    context: EvalContext | None = None,
) -> list[Document]:
    """The documents an application needs: required (or required_if true) and not waived."""
    asked = _documents_asked(procedure, answers, context)
    return [document for document, waived in asked if not waived]


def waived_documents(
    procedure: CompiledProcedure,
    answers: Mapping[str, object],
    context: EvalContext | None = None,
) -> list[Document]:
    """The documents that would be needed but are waived: what the city already holds."""
    asked = _documents_asked(procedure, answers, context)
    return [document for document, waived in asked if waived]


def _documents_asked(
    procedure: CompiledProcedure,
    answers: Mapping[str, object],
    context: EvalContext | None,
) -> list[tuple[Document, bool]]:
    """Each document the answers make required, and whether its waiver applies."""
    context = context or default_context()
    values = procedure.rules.with_derived(answers, context)
    asked: list[tuple[Document, bool]] = []
    for compiled in procedure.documents:
        if compiled.required_if is not None:
            required = is_true(compiled.required_if.evaluate(values, context))
        else:
            required = compiled.document.required
        if required:
            waived = compiled.waived_if is not None and is_true(
                compiled.waived_if.evaluate(values, context)
            )
            asked.append((compiled.document, waived))
    return asked


def due_date(received: date, business_days: int, is_business_day: Callable[[date], bool]) -> date:
    """The day a service level ends: `business_days` business days after `received`.

    The day of receipt does not count; with 0 days the application is due the day it
    is received.
    """
    if business_days < 0:
        raise ValueError("business_days must not be negative")
    day = received
    remaining = business_days
    while remaining:
        day += timedelta(days=1)
        if (day - received).days > MAX_CALENDAR_DAYS:
            raise ValueError("no such business day within ten years")
        if is_business_day(day):
            remaining -= 1
    return day
