"""The loaded, checked and compiled definitions: what the rest of the portal works with.

Every expression is compiled once, when the catalogue is built, and kept here beside
the definition it belongs to; evaluating a page only runs compiled closures.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from portal.definitions.expressions import CompiledExpression, EvalContext
from portal.definitions.schema import (
    AnyField,
    Check,
    Department,
    Document,
    LifeEvent,
    PrivateService,
    Procedure,
    Queue,
    RegisterAnswer,
    Route,
    Step,
)

TRIAGE_QUEUE = "triage"


@dataclass(frozen=True)
class CompiledStep:
    """A step with its compiled `show_if`; `owner` is the procedure or life event id."""

    owner: str
    step: Step
    show_if: CompiledExpression | None

    @property
    def id(self) -> str:
        """The step id as written in the definition."""
        return self.step.id

    @property
    def key(self) -> str:
        """An id unique within a combined journey: `owner.step`."""
        return f"{self.owner}.{self.step.id}"

    @property
    def is_exit(self) -> bool:
        """Whether reaching this step ends the journey (or the procedure's part of it)."""
        return self.step.exit is not None

    @property
    def loop(self) -> str | None:
        """The repeatable group this step loops over, if it is a loop step."""
        return self.step.loop


@dataclass(frozen=True)
class CompiledCheck:
    """A check with its compiled `must`."""

    check: Check
    must: CompiledExpression


@dataclass(frozen=True)
class Rulebook:
    """The fields and compiled rules of one owner: a procedure, a questionnaire, shared steps.

    `required_if` is keyed by field id, or `group.member` for members of groups.
    """

    owner: str
    fields: Mapping[str, AnyField]
    derive: tuple[tuple[str, CompiledExpression], ...] = ()
    checks: tuple[CompiledCheck, ...] = ()
    required_if: Mapping[str, CompiledExpression] = field(default_factory=dict)

    def derived(self, values: Mapping[str, object], context: EvalContext) -> dict[str, object]:
        """Compute every derived value from answers."""
        scope = self.with_derived(values, context)
        return {name: scope.get(name) for name, _expression in self.derive}

    def with_derived(
        self, values: Mapping[str, object], context: EvalContext
    ) -> Mapping[str, object]:
        """Answers together with this owner's derived values, for evaluating its rules.

        Derived values are computed when an expression first asks for one, so a
        condition that needs one derived value does not pay for all of them.
        """
        if not self.derive:
            return values
        return _WithDerived(dict(self.derive), values, context)


class _WithDerived(Mapping[str, object]):
    """Answers plus derived values computed on first use (the compiler refused cycles)."""

    def __init__(
        self,
        expressions: Mapping[str, CompiledExpression],
        values: Mapping[str, object],
        context: EvalContext,
    ) -> None:
        self._expressions = expressions
        self._values = values
        self._context = context
        self._computed: dict[str, object] = {}

    def get(self, name: str, default: object = None) -> object:
        expression = self._expressions.get(name)
        if expression is None:
            return self._values.get(name, default)
        if name not in self._computed:
            self._computed[name] = expression.evaluate(self, self._context)
        return self._computed[name]

    def __getitem__(self, name: str) -> object:
        if name in self._expressions:
            return self.get(name)
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        yield from self._values
        yield from (name for name in self._expressions if name not in self._values)

    def __len__(self) -> int:
        return len(set(self._values) | set(self._expressions))


@dataclass(frozen=True)
class CompiledRoute:
    """A routing rule with its compiled condition (None for the default)."""

    route: Route
    when: CompiledExpression | None


@dataclass(frozen=True)
class CompiledDocument:
    """A supporting document with its compiled conditions."""

    document: Document
    required_if: CompiledExpression | None
    waived_if: CompiledExpression | None


@dataclass(frozen=True)
class CompiledProcedure:
    """A procedure ready to run."""

    model: Procedure
    rules: Rulebook
    steps: tuple[CompiledStep, ...]
    applies_if: CompiledExpression | None
    routes: tuple[CompiledRoute, ...]
    documents: tuple[CompiledDocument, ...]
    content_hash: str

    @property
    def id(self) -> str:
        """The procedure id."""
        return self.model.id

    @property
    def fields(self) -> Mapping[str, AnyField]:
        """Every field of the procedure: its own and those it uses from the dictionary."""
        return self.rules.fields


@dataclass(frozen=True)
class CompiledPrivateService:
    """A private service with its compiled condition."""

    service: PrivateService
    applies_if: CompiledExpression | None


@dataclass(frozen=True)
class CompiledRegisterAnswer:
    """An answer register data implies for a questionnaire field, with its compiled `when`."""

    answer: RegisterAnswer
    when: CompiledExpression


@dataclass(frozen=True)
class CompiledLifeEvent:
    """A life event ready to run: questionnaire, shared steps, procedures, private services.

    `shared` holds the fields the shared steps may ask: the life event's own, those
    it uses from the dictionary and the questionnaire's.
    """

    model: LifeEvent
    questionnaire: Rulebook
    questionnaire_steps: tuple[CompiledStep, ...]
    shared: Rulebook
    shared_steps: tuple[CompiledStep, ...]
    private_services: tuple[CompiledPrivateService, ...]
    content_hash: str
    register_answers: tuple[CompiledRegisterAnswer, ...] = ()

    @property
    def id(self) -> str:
        """The life event id."""
        return self.model.id


@dataclass(frozen=True)
class Catalogue:
    """Every definition of the city, by id."""

    procedures: Mapping[str, CompiledProcedure]
    life_events: Mapping[str, CompiledLifeEvent]
    dictionary: Mapping[str, AnyField]
    departments: tuple[Department, ...]
    # Things built from this catalogue alone and never changed, kept with it (the
    # combined journey of a life event and a choice of procedures, say): a catalogue
    # is immutable and cached, so they are built once per process, not per request.
    derived: dict[object, object] = field(default_factory=dict, compare=False, repr=False)

    @property
    def queues(self) -> dict[str, Queue]:
        """Every queue of every department, by id (triage is built in and not listed)."""
        return {queue.id: queue for department in self.departments for queue in department.queues}

    def procedure(self, procedure_id: str) -> CompiledProcedure:
        """The procedure with this id; KeyError if there is none."""
        return self.procedures[procedure_id]

    def life_event(self, life_event_id: str) -> CompiledLifeEvent:
        """The life event with this id; KeyError if there is none."""
        return self.life_events[life_event_id]

    def life_events_with(self, procedure_id: str) -> list[CompiledLifeEvent]:
        """The life events that list a procedure, in id order."""
        return [
            event
            for _, event in sorted(self.life_events.items())
            if procedure_id in event.model.procedures
        ]


def content_hash(model: Procedure | LifeEvent, used: Mapping[str, AnyField]) -> str:
    """SHA-256 of the canonical JSON of a definition and the dictionary fields it uses."""
    document = {
        "definition": model.model_dump(mode="json", by_alias=True, exclude_defaults=True),
        "dictionary": {
            field_id: spec.model_dump(mode="json", exclude_defaults=True)
            for field_id, spec in sorted(used.items())
        },
    }
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
