"""Which procedures a life event brings for one resident, and why.

The questionnaire's answers (and any register values the resident agreed to fetch)
decide it: a procedure whose `applies_if` is true is listed by mode (online, counter
with its deadline, automatic); one whose condition is unknown because a question was
answered "don't know" is listed as "may apply" with those questions; a false one is
not listed at all.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from portal.definitions.catalogue import Catalogue, CompiledLifeEvent, CompiledProcedure, Rulebook
from portal.definitions.expressions import UNKNOWN, EvalContext, default_context
from portal.definitions.schema import Counter, PrivateService, TextPair


@dataclass(frozen=True)
class ProcedureEntry:
    """One procedure in the resident's list."""

    procedure: CompiledProcedure
    why: TextPair
    open_questions: tuple[str, ...] = ()
    deadline: date | None = None

    @property
    def id(self) -> str:
        """The procedure id."""
        return self.procedure.id

    @property
    def mode(self) -> str:
        """online, counter or automatic."""
        return self.procedure.model.mode

    @property
    def title(self) -> TextPair:
        """The procedure's title."""
        return self.procedure.model.title

    @property
    def counter(self) -> Counter | None:
        """The counter guidance of a counter procedure."""
        return self.procedure.model.counter


@dataclass(frozen=True)
class ProcedureList:
    """The procedures a life event brings, grouped the way the resident sees them.

    `may_apply` entries carry `open_questions`: the questionnaire fields answered
    "don't know" (or not answered) that leave the procedure open.
    """

    online: list[ProcedureEntry]
    counter: list[ProcedureEntry]
    automatic: list[ProcedureEntry]
    may_apply: list[ProcedureEntry]
    private_services: list[PrivateService]


def applies(
    procedure: CompiledProcedure,
    values: Mapping[str, object],
    context: EvalContext,
    questionnaire: Rulebook | None = None,
) -> object:
    """Evaluate a procedure's applies_if: True, False or UNKNOWN ("may apply")."""
    if procedure.applies_if is None:
        return True
    scope = values if questionnaire is None else questionnaire.with_derived(values, context)
    return procedure.applies_if.evaluate(procedure.rules.with_derived(scope, context), context)


def applicable_procedures(
    catalogue: Catalogue,
    life_event: CompiledLifeEvent,
    answers: Mapping[str, object],
    context: EvalContext | None = None,
) -> ProcedureList:
    """Work out the resident's list from questionnaire answers (and register values)."""
    context = context or default_context()
    questionnaire = life_event.questionnaire
    values = questionnaire.with_derived(answers, context)
    event_day = answers.get(life_event.model.event_date or "")
    result = ProcedureList([], [], [], [], [])
    for procedure_id in life_event.model.procedures:
        procedure = catalogue.procedure(procedure_id)
        outcome = applies(procedure, values, context)
        if outcome is False:
            continue
        entry = ProcedureEntry(
            procedure,
            procedure.model.why or procedure.model.summary,
            deadline=_deadline(procedure, event_day),
        )
        if outcome is True:
            getattr(result, procedure.model.mode).append(entry)
        else:
            open_questions = _open_questions(procedure, questionnaire, answers)
            result.may_apply.append(
                ProcedureEntry(entry.procedure, entry.why, open_questions, entry.deadline)
            )
    for service in life_event.private_services:
        if service.applies_if is None or service.applies_if.evaluate(values, context) is not False:
            result.private_services.append(service.service)
    return result


def _deadline(procedure: CompiledProcedure, event_day: object) -> date | None:
    """The last day for a counter procedure: the event's date plus its deadline days.

    The day of the event is not counted (民法第140条) unless the procedure says it is
    (戸籍法第43条: a birth on 20 November must be registered by 3 December).
    """
    counter = procedure.model.counter
    if counter is None or counter.deadline_days is None or not isinstance(event_day, date):
        return None
    days = counter.deadline_days - 1 if counter.counts_event_day else counter.deadline_days
    return event_day + timedelta(days=days)


def _open_questions(
    procedure: CompiledProcedure, questionnaire: Rulebook, answers: Mapping[str, object]
) -> tuple[str, ...]:
    """The questionnaire fields behind an unknown applies_if that are not known."""
    assert procedure.applies_if is not None
    needed = _expand(
        procedure.applies_if.names,
        ChainMap(
            {name: compiled.names for name, compiled in procedure.rules.derive},
            {name: compiled.names for name, compiled in questionnaire.derive},
        ),
    )
    return tuple(
        field_id
        for field_id in questionnaire.fields
        if field_id in needed and _unknown(answers.get(field_id))
    )


def _unknown(value: object) -> bool:
    return value is None or value is UNKNOWN


def _expand(names: Iterable[str], derived: Mapping[str, frozenset[str]]) -> set[str]:
    """Names with derived values replaced (transitively) by the names they use."""
    result: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name not in result:
            result.add(name)
            pending.extend(derived.get(name, ()))
    return result
