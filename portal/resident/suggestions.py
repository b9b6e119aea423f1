"""Push suggestions ("You may also be eligible"): procedures the registers say apply.

The definitions decide, by the same rules as a resident's own questionnaire: register
values fill the fields that have `prefill` (about the resident, or about a person the
register relates to them), each life event's `register_answers` turn them into
questionnaire answers, and a procedure whose `applies_if` is then true is suggested,
whatever its mode. A procedure whose condition stays unknown is not: without the
resident's own answers the registers cannot tell. Nor is one that would apply without
any register value (no `applies_if`): the registers are no reason for it. Each
suggestion gives the register facts it rests on, in both languages, so the resident
sees why. Only the registers the resident agreed to share are read.

The texts are built here in both languages, as a TextPair like every text that comes
from the definitions, so the service needs no request and no translation catalogue.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from portal.definitions.applicability import applicable_procedures, applies
from portal.definitions.catalogue import (
    Catalogue,
    CompiledLifeEvent,
    CompiledProcedure,
    CompiledRegisterAnswer,
)
from portal.definitions.expressions import EvalContext, default_context, is_true
from portal.definitions.fields import LoadError, display, load_value
from portal.definitions.schema import AnyField, ChoiceField, FieldBase, Mode, TextPair
from portal.records.extract import RegisterExtract
from portal.resident.prefill import REGISTER_NAMES, candidates
from portal.resident.services import field_specs


@dataclass(frozen=True)
class Suggestion:
    """A procedure the registers say the resident may need, and why.

    Link to the life event (`life_event_id`); `concerned_key` is the related person the
    facts are about (the baby, the deceased), None when they are about the resident.
    `facts` are the field ids whose register values the suggestion rests on.
    """

    procedure_id: str
    title: TextPair
    mode: Mode
    life_event_id: str
    life_event_title: TextPair
    reason: TextPair
    facts: tuple[str, ...]
    concerned_key: str | None
    deadline: date | None


def suggest(
    catalogue: Catalogue,
    extract: RegisterExtract,
    filed: Collection[str],
    today: date,
    *,
    consented: Collection[str],
) -> list[Suggestion]:
    """List the procedures the consented registers show to apply, except those in `filed`.

    One suggestion per procedure, the first life event (by id) and person that bring it.
    """
    shared = _consented_only(extract, consented)
    context = default_context(today)
    people = [None, *(person.person_key for person in shared.related)]
    suggestions: dict[str, Suggestion] = {}
    for life_event in sorted(catalogue.life_events.values(), key=lambda event: event.id):
        specs = field_specs(catalogue, life_event)
        for concerned_key in people:
            values = _register_values(specs, shared, concerned_key)
            if not values:
                continue
            implied = _implied_answers(life_event, values, context)
            answers = {**values, **{field: rule.answer.value for field, rule in implied.items()}}
            listing = applicable_procedures(catalogue, life_event, answers, context)
            for entry in [*listing.online, *listing.counter, *listing.automatic]:
                if entry.id in filed or entry.id in suggestions:
                    continue
                facts = _sufficient(answers, _applies(entry.procedure, life_event, context))
                if not facts:
                    continue
                for field in [fact for fact in facts if fact in implied]:
                    facts |= _sufficient(values, _holds(implied[field], life_event, context))
                ordered = tuple(field_id for field_id in specs if field_id in facts)
                suggestions[entry.id] = Suggestion(
                    procedure_id=entry.id,
                    title=entry.title,
                    mode=entry.procedure.model.mode,
                    life_event_id=life_event.id,
                    life_event_title=life_event.model.title,
                    reason=_reason(shared, concerned_key, specs, answers, ordered),
                    facts=ordered,
                    concerned_key=concerned_key,
                    deadline=entry.deadline,
                )
    return list(suggestions.values())


def registers_used(catalogue: Catalogue) -> frozenset[str]:
    """The registers whose values can decide a suggestion: ask consent for these only."""
    sources: set[str] = set()
    for life_event in catalogue.life_events.values():
        names = _decision_names(catalogue, life_event)
        for field_id, spec in field_specs(catalogue, life_event).items():
            if field_id in names and isinstance(spec, FieldBase) and spec.prefill is not None:
                sources.add(spec.prefill.source)
    return frozenset(sources)


def _decision_names(catalogue: Catalogue, life_event: CompiledLifeEvent) -> set[str]:
    """Every name the applicability of a life event's procedures may read."""
    expressions = [rule.when for rule in life_event.register_answers]
    expressions.extend(compiled for _name, compiled in life_event.questionnaire.derive)
    for procedure_id in life_event.model.procedures:
        procedure = catalogue.procedure(procedure_id)
        if procedure.applies_if is not None:
            expressions.append(procedure.applies_if)
        expressions.extend(compiled for _name, compiled in procedure.rules.derive)
    return {name for expression in expressions for name in expression.names}


def _consented_only(extract: RegisterExtract, consented: Collection[str]) -> RegisterExtract:
    """The extract without the registers the resident did not agree to share."""
    document = extract.document
    return RegisterExtract(
        document.model_copy(
            update={
                "sources": [item for item in document.sources if item.source in consented],
                "missing_sources": [item for item in document.missing_sources if item in consented],
            }
        )
    )


def _register_values(
    specs: Mapping[str, AnyField], extract: RegisterExtract, concerned_key: str | None
) -> dict[str, object]:
    """The values the registers give for fields with `prefill`, as the form would hold them."""
    values: dict[str, object] = {}
    for field_id, spec in specs.items():
        if not isinstance(spec, FieldBase) or spec.prefill is None:
            continue
        prefill = spec.prefill
        subject = extract.person_key if prefill.subject == "applicant" else concerned_key
        if subject is None:
            continue
        raw = extract.value(prefill.source, subject, prefill.path)
        if raw is None:
            continue
        try:
            values[field_id] = load_value(spec, raw)
        except LoadError:
            continue
    return values


def _applies(
    procedure: CompiledProcedure, life_event: CompiledLifeEvent, context: EvalContext
) -> Callable[[Mapping[str, object]], object]:
    """Evaluate a procedure's `applies_if` over some answers, as the life event lists it."""

    def evaluate(answers: Mapping[str, object]) -> object:
        return applies(procedure, answers, context, life_event.questionnaire)

    return evaluate


def _holds(
    rule: CompiledRegisterAnswer, life_event: CompiledLifeEvent, context: EvalContext
) -> Callable[[Mapping[str, object]], object]:
    """Evaluate a register answer's `when` over some register values."""

    def evaluate(values: Mapping[str, object]) -> object:
        return rule.when.evaluate(life_event.questionnaire.with_derived(values, context), context)

    return evaluate


def _implied_answers(
    life_event: CompiledLifeEvent, values: Mapping[str, object], context: EvalContext
) -> dict[str, CompiledRegisterAnswer]:
    """The questionnaire answers the register values imply: the first rule that holds wins.

    A field the registers fill directly keeps that value.
    """
    implied: dict[str, CompiledRegisterAnswer] = {}
    for rule in life_event.register_answers:
        field = rule.answer.field
        if field in values or field in implied:
            continue
        if is_true(_holds(rule, life_event, context)(values)):
            implied[field] = rule
    return implied


def _sufficient(
    values: Mapping[str, object], condition: Callable[[Mapping[str, object]], object]
) -> set[str]:
    """A minimal set of the values that keeps `condition` true: leave out what is not needed.

    Empty when the condition holds without any of them: then the registers are not
    what makes it true.
    """
    kept = dict(values)
    for name in list(values):
        trial = {key: value for key, value in kept.items() if key != name}
        if is_true(condition(trial)):
            kept = trial
    return set(kept) if is_true(condition(kept)) else set()


def _reason(
    extract: RegisterExtract,
    concerned_key: str | None,
    specs: Mapping[str, AnyField],
    answers: Mapping[str, object],
    facts: Sequence[str],
) -> TextPair:
    """Why a procedure is suggested: the registers read, about whom, and the facts."""
    used = {_source_of(specs[field_id]) for field_id in facts}
    sources = [source for source in REGISTER_NAMES if source in used]

    def text(lang: str) -> str:
        person = dict(candidates(extract, lang)).get(concerned_key) if concerned_key else None
        names = [REGISTER_NAMES[source].get(lang) for source in sources]
        shown = [_fact(specs[field_id], answers[field_id], lang) for field_id in facts]
        if lang == "en":
            about = f", about {person}" if person else ""
            return f"From the city's records ({', '.join(names)}){about}: {'; '.join(shown)}."
        about = f"、{person}について" if person else ""
        return f"市の記録（{'・'.join(names)}）より{about}：{'、'.join(shown)}。"

    return TextPair(ja=text("ja"), en=text("en"))


def _source_of(spec: AnyField) -> str | None:
    """The register a field is filled from, if any."""
    return spec.prefill.source if isinstance(spec, FieldBase) and spec.prefill else None


def _fact(spec: AnyField, value: object, lang: str) -> str:
    """One fact as the resident reads it: a choice by its option, else `label: value`."""
    shown = display(spec, value, lang)
    if isinstance(spec, ChoiceField):
        return shown
    assert isinstance(spec, FieldBase)
    return f"{spec.label.get(lang)}{': ' if lang == 'en' else '：'}{shown}"
