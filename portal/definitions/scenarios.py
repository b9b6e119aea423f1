"""Run the scenarios written in definitions and report every unmet expectation.

A scenario is a worked example: given these answers, the resident goes through these
steps, the application lands in this queue, these documents are asked for. The
linter runs them all, so a change that breaks an example is caught before it ships.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from portal.definitions.applicability import applicable_procedures, applies
from portal.definitions.catalogue import Catalogue, CompiledLifeEvent, CompiledProcedure
from portal.definitions.expressions import UNKNOWN, default_context
from portal.definitions.fields import LoadError, load_value
from portal.definitions.journey import Journey
from portal.definitions.routing import required_documents, route
from portal.definitions.schema import (
    AnyField,
    LifeEvent,
    LifeEventScenario,
    Procedure,
    ProcedureScenario,
    ScenarioBase,
)
from portal.definitions.source import LintIssue, LoadedFile, YamlPath


def run_scenarios(catalogue: Catalogue, files: Iterable[LoadedFile]) -> list[LintIssue]:
    """Run the scenarios of every procedure and life event; one issue per unmet expectation."""
    issues: list[LintIssue] = []
    for file in files:
        model = file.model
        if isinstance(model, Procedure) and model.id in catalogue.procedures:
            procedure = catalogue.procedure(model.id)
            for index, scenario in enumerate(model.scenarios):
                issues.extend(_procedure_scenario(catalogue, procedure, file, index, scenario))
        elif isinstance(model, LifeEvent) and model.id in catalogue.life_events:
            event = catalogue.life_event(model.id)
            for index, scenario in enumerate(model.scenarios):
                issues.extend(_life_event_scenario(catalogue, event, file, index, scenario))
    return issues


def _answers(
    file: LoadedFile,
    base: YamlPath,
    scenario: ScenarioBase,
    sources: Sequence[Mapping[str, AnyField]],
) -> tuple[dict[str, object], list[LintIssue]]:
    """Turn a scenario's YAML answers into values, checking them against field types."""
    values: dict[str, object] = {}
    issues: list[LintIssue] = []
    for name, data in scenario.answers.items():
        path = (*base, "answers", name)
        spec = next((fields[name] for fields in sources if name in fields), None)
        if spec is None:
            issues.append(
                file.issue(path, f"scenario {scenario.name!r}: unknown field {name!r}", at_key=True)
            )
            continue
        try:
            value = load_value(spec, data)
        except LoadError as error:
            issues.append(file.issue(path, f"scenario {scenario.name!r}: {name}: {error}"))
            continue
        if value is not None:
            values[name] = value
    return values, issues


def _mismatch(
    file: LoadedFile,
    base: YamlPath,
    scenario: ScenarioBase,
    key: str,
    expected: object,
    actual: object,
) -> LintIssue:
    return file.issue(
        (*base, "expect", key),
        f"scenario {scenario.name!r}: expected {key} {_show(expected)}, got {_show(actual)}",
    )


def _show(value: object) -> str:
    if value is None:
        return "null"
    if value is UNKNOWN:
        return "unknown"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_show(item)}" for key, item in value.items()) + "}"
    return str(value)


def _procedure_scenario(
    catalogue: Catalogue,
    procedure: CompiledProcedure,
    file: LoadedFile,
    index: int,
    scenario: ProcedureScenario,
) -> list[LintIssue]:
    base: YamlPath = ("scenarios", index)
    events = catalogue.life_events_with(procedure.id)
    if scenario.life_event is not None and scenario.life_event not in [e.id for e in events]:
        message = f"scenario {scenario.name!r}: life event {scenario.life_event!r} does not list "
        return [file.issue((*base, "life_event"), message + repr(procedure.id))]
    sources = [procedure.fields, *(event.questionnaire.fields for event in events)]
    answers, issues = _answers(file, base, scenario, sources)
    if issues:
        return issues
    context = default_context(scenario.today)
    expect = scenario.expect
    given = expect.model_fields_set
    journey = Journey.for_procedure(procedure)
    pages = journey.reachable_steps(answers, context)
    pruned = journey.prune(answers, context)
    if "applies" in given:
        event = _scenario_event(events, scenario, answers)
        questionnaire = event.questionnaire if event is not None else None
        outcome = applies(procedure, answers, context, questionnaire)
        expected = UNKNOWN if expect.applies == "unknown" else expect.applies
        if outcome is not expected:
            issues.append(_mismatch(file, base, scenario, "applies", expected, outcome))
    if "route" in given:
        actual_route = [page.step.id for page in pages]
        if actual_route != expect.route:
            issues.append(_mismatch(file, base, scenario, "route", expect.route, actual_route))
    if "exit" in given:
        exit_page = journey.exit_reached(answers, context)
        actual_exit = exit_page.step.id if exit_page is not None else None
        if actual_exit != expect.exit:
            issues.append(_mismatch(file, base, scenario, "exit", expect.exit, actual_exit))
    if "queue" in given:
        queue = route(procedure, pruned, context)
        if queue != expect.queue:
            issues.append(_mismatch(file, base, scenario, "queue", expect.queue, queue))
    if "documents" in given:
        documents = sorted(
            document.id for document in required_documents(procedure, pruned, context)
        )
        if documents != sorted(expect.documents):
            issues.append(
                _mismatch(file, base, scenario, "documents", sorted(expect.documents), documents)
            )
    if "checks" in given:
        failed = journey.failed_checks(answers, context)
        if failed != sorted(expect.checks):
            issues.append(_mismatch(file, base, scenario, "checks", sorted(expect.checks), failed))
    return issues


def _scenario_event(
    events: Sequence[CompiledLifeEvent], scenario: ProcedureScenario, answers: Mapping[str, object]
) -> CompiledLifeEvent | None:
    """The life event whose questionnaire a procedure scenario's answers belong to.

    The one the scenario names, else the one whose questionnaire fields the answers
    use most (the first listing the procedure on a tie).
    """
    if scenario.life_event is not None:
        return next((event for event in events if event.id == scenario.life_event), None)
    if not events:
        return None
    return max(
        events,
        key=lambda event: sum(1 for name in answers if name in event.questionnaire.fields),
    )


def _life_event_scenario(
    catalogue: Catalogue,
    event: CompiledLifeEvent,
    file: LoadedFile,
    index: int,
    scenario: LifeEventScenario,
) -> list[LintIssue]:
    base: YamlPath = ("scenarios", index)
    procedures = [catalogue.procedure(procedure_id) for procedure_id in event.model.procedures]
    sources = [event.shared.fields, *(procedure.fields for procedure in procedures)]
    answers, issues = _answers(file, base, scenario, sources)
    if issues:
        return issues
    context = default_context(scenario.today)
    expect = scenario.expect
    given = expect.model_fields_set
    questionnaire = Journey.for_questionnaire(event)
    if "route" in given:
        actual_route = [page.step.id for page in questionnaire.reachable_steps(answers, context)]
        if actual_route != expect.route:
            issues.append(_mismatch(file, base, scenario, "route", expect.route, actual_route))
    if "exit" in given:
        exit_page = questionnaire.exit_reached(answers, context)
        actual_exit = exit_page.step.id if exit_page is not None else None
        if actual_exit != expect.exit:
            issues.append(_mismatch(file, base, scenario, "exit", expect.exit, actual_exit))
    listing = applicable_procedures(
        catalogue, event, questionnaire.prune(answers, context), context
    )
    lists = {
        "online": [entry.id for entry in listing.online],
        "may_apply": [entry.id for entry in listing.may_apply],
        "counter": [entry.id for entry in listing.counter],
        "automatic": [entry.id for entry in listing.automatic],
        "private_services": [service.id for service in listing.private_services],
    }
    for key, actual in lists.items():
        expected = getattr(expect, key)
        if key in given and sorted(actual) != sorted(expected):
            issues.append(_mismatch(file, base, scenario, key, sorted(expected), sorted(actual)))
    if "deadlines" in given:
        entries = [*listing.counter, *listing.may_apply, *listing.online, *listing.automatic]
        deadlines = {entry.id: entry.deadline for entry in entries}
        for procedure_id, expected_day in expect.deadlines.items():
            actual_day = deadlines.get(procedure_id)
            if actual_day != expected_day:
                issues.append(
                    file.issue(
                        (*base, "expect", "deadlines", procedure_id),
                        f"scenario {scenario.name!r}: expected the deadline of {procedure_id} "
                        f"{_show(expected_day)}, got {_show(actual_day)}",
                    )
                )
    return issues
