"""The journey through a form: which page comes next, what each page asks, what is valid.

A journey is built from one procedure, or from a life event and the procedures the
resident goes ahead with. The route is worked out afresh from the answers each time,
walking the steps in order: a step is shown when its `show_if` is true over the
answers of the pages shown before it, a field is asked on the first shown step that
contains it, and answers of pages that are no longer shown are ignored (and dropped by
`prune`), so a changed answer can never leave a hidden answer behind.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from portal.definitions.catalogue import (
    Catalogue,
    CompiledLifeEvent,
    CompiledProcedure,
    CompiledStep,
    Rulebook,
)
from portal.definitions.expressions import UNKNOWN, EvalContext, default_context, is_true
from portal.definitions.fields import (
    FieldError,
    RawInputs,
    field_type,
    parse_field,
)
from portal.definitions.schema import AnyField, ContentField, GroupField, TextPair


class StepNotAvailable(LookupError):
    """The step asked for is not on the route the answers lead to."""


@dataclass(frozen=True)
class CheckFailed:
    """A check whose `must` is false, reported at one of its fields."""

    check_id: str
    text: TextPair

    def message(self, lang: str) -> str:
        """The check's message in `lang`."""
        return self.text.get(lang)


Problem = FieldError | CheckFailed
Errors = dict[str, list[Problem]]


@dataclass(frozen=True)
class JourneyStep:
    """A step of the combined journey with the rules its conditions are evaluated with."""

    index: int
    compiled: CompiledStep
    rules: Rulebook
    ends_journey: bool
    fields: tuple[str, ...]

    @property
    def key(self) -> str:
        """The step's id in the journey (`owner.step`), used in URLs."""
        return self.compiled.key

    @property
    def id(self) -> str:
        """The step id as written in its definition."""
        return self.compiled.id

    @property
    def owner(self) -> str:
        """The procedure or life event the step comes from."""
        return self.compiled.owner


@dataclass(frozen=True)
class Page:
    """A step as the resident sees it now: the fields it asks (never asked before)."""

    step: JourneyStep
    fields: tuple[str, ...]

    @property
    def key(self) -> str:
        """The step's key."""
        return self.step.key

    @property
    def is_exit(self) -> bool:
        """Whether this page is an exit page."""
        return self.step.compiled.is_exit


@dataclass(frozen=True)
class StepResult:
    """The values parsed from one page and the problems found, by field id.

    Keys of `errors` are field ids, or `group.member` for members of groups.
    `values` holds every field of the page, None for one left empty.
    """

    values: dict[str, object]
    errors: Errors = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the page can be accepted."""
        return not self.errors


@dataclass(frozen=True)
class _Walk:
    """The outcome of walking the steps over a set of answers."""

    pages: list[Page]
    visible: dict[str, object]
    exited: list[str]
    exit_page: Page | None


class Journey:
    """The steps of one form and everything that depends on its answers."""

    def __init__(
        self,
        steps: Sequence[JourneyStep],
        rulebooks: Sequence[Rulebook],
        procedures: Sequence[CompiledProcedure],
        prior: frozenset[str] = frozenset(),
    ) -> None:
        self.steps = tuple(steps)
        self.procedures = tuple(procedures)
        self.prior = prior
        self._rulebooks = tuple(rulebooks)
        self._by_key = {step.key: step for step in self.steps}
        self._home: dict[str, tuple[AnyField, Rulebook]] = {}
        self._step_fields: set[str] = set()
        for step in self.steps:
            for field_id in step.fields:
                self._step_fields.add(field_id)
                if field_id not in self._home:
                    self._home[field_id] = self._find_home(field_id, step.rules)

    def _find_home(self, field_id: str, rules: Rulebook) -> tuple[AnyField, Rulebook]:
        """The definition of a field and the rules that go with it."""
        if field_id in rules.fields:
            return rules.fields[field_id], rules
        for procedure in self.procedures:
            if field_id in procedure.fields:
                return procedure.fields[field_id], procedure.rules
        raise KeyError(field_id)

    @classmethod
    def for_procedure(cls, procedure: CompiledProcedure) -> Journey:
        """The journey of one procedure on its own; its exits end the journey."""
        steps = [
            JourneyStep(index, step, procedure.rules, True, _asked_fields(step))
            for index, step in enumerate(procedure.steps)
        ]
        return cls(steps, [procedure.rules], [procedure])

    @classmethod
    def for_questionnaire(cls, life_event: CompiledLifeEvent) -> Journey:
        """The journey through a life event's questionnaire."""
        steps = [
            JourneyStep(index, step, life_event.questionnaire, True, _asked_fields(step))
            for index, step in enumerate(life_event.questionnaire_steps)
        ]
        return cls(steps, [life_event.questionnaire], [])

    @classmethod
    def for_life_event(
        cls,
        catalogue: Catalogue,
        life_event: CompiledLifeEvent,
        procedure_ids: Sequence[str],
    ) -> Journey:
        """The combined journey: shared steps, then each chosen procedure's steps in order.

        The questionnaire is not part of it: its answers are carried in, never asked
        again. A shared step asks only fields that the life event or a chosen
        procedure needs. A journey depends on nothing else, so it is built once per
        catalogue and choice.
        """
        key = ("journey", life_event.id, life_event.content_hash, frozenset(procedure_ids))
        journey = catalogue.derived.get(key)
        if journey is None:
            journey = catalogue.derived[key] = cls._combined(catalogue, life_event, procedure_ids)
        return journey  # type: ignore[return-value]

    @classmethod
    def _combined(
        cls,
        catalogue: Catalogue,
        life_event: CompiledLifeEvent,
        procedure_ids: Sequence[str],
    ) -> Journey:
        chosen = [
            catalogue.procedure(procedure_id)
            for procedure_id in life_event.model.procedures
            if procedure_id in procedure_ids
        ]
        unknown = set(procedure_ids) - {procedure.id for procedure in chosen}
        if unknown:
            raise KeyError(f"not procedures of {life_event.id}: {', '.join(sorted(unknown))}")
        needed = set(life_event.shared.fields)
        for procedure in chosen:
            needed.update(procedure.fields)
        steps: list[JourneyStep] = []
        for step in life_event.shared_steps:
            fields = tuple(field_id for field_id in _asked_fields(step) if field_id in needed)
            if step.is_exit or fields:
                steps.append(JourneyStep(len(steps), step, life_event.shared, True, fields))
        for procedure in chosen:
            for step in procedure.steps:
                steps.append(
                    JourneyStep(len(steps), step, procedure.rules, False, _asked_fields(step))
                )
        rulebooks = [life_event.shared, *(procedure.rules for procedure in chosen)]
        return cls(steps, rulebooks, chosen, frozenset(life_event.questionnaire.fields))

    # --- the route -----------------------------------------------------------------------

    def _walk(
        self,
        answers: Mapping[str, object],
        context: EvalContext,
        optimistic_after: int | None = None,
    ) -> _Walk:
        """Walk the steps in order over the answers.

        Steps after `optimistic_after` are counted as shown unless their show_if is
        false (used for "page n of m", where later answers are not known yet).
        """
        visible = {
            name: value
            for name, value in answers.items()
            if name in self.prior or name not in self._step_fields
        }
        asked = set(self.prior)
        pages: list[Page] = []
        exited: list[str] = []
        derived: dict[str, tuple[int, Mapping[str, object]]] = {}
        version = 0
        for step in self.steps:
            if step.owner in exited:
                continue
            compiled = step.compiled
            if compiled.show_if is not None:
                cached = derived.get(step.owner)
                if cached is None or cached[0] != version:
                    cached = (version, step.rules.with_derived(visible, context))
                    derived[step.owner] = cached
                result = compiled.show_if.evaluate(cached[1], context)
                optimistic = optimistic_after is not None and step.index > optimistic_after
                shown = (result is not False) if optimistic else is_true(result)
                if not shown or (optimistic and compiled.is_exit and result is not True):
                    continue
            if compiled.is_exit:
                page = Page(step, ())
                pages.append(page)
                if step.ends_journey:
                    return _Walk(pages, visible, exited, page)
                exited.append(step.owner)
                continue
            new_fields = tuple(field_id for field_id in step.fields if field_id not in asked)
            # A step whose questions were all asked before is left out; a page of text
            # only (no question at all) is still shown, once.
            asks_nothing_new = not any(self._answerable(field_id) for field_id in new_fields)
            if asks_nothing_new and (
                not new_fields or any(self._answerable(field_id) for field_id in step.fields)
            ):
                continue
            asked.update(new_fields)
            pages.append(Page(step, new_fields))
            for field_id in new_fields:
                if field_id in answers:
                    visible[field_id] = answers[field_id]
                    version += 1
        return _Walk(pages, visible, exited, None)

    def _answerable(self, field_id: str) -> bool:
        return not isinstance(self._home[field_id][0], ContentField)

    def reachable_steps(
        self, answers: Mapping[str, object], context: EvalContext | None = None
    ) -> list[Page]:
        """The route the answers lead to: every page shown, in order."""
        return self._walk(answers, context or default_context()).pages

    def first_step(
        self, answers: Mapping[str, object], context: EvalContext | None = None
    ) -> Page | None:
        """The first page of the route; None when the journey has nothing to ask."""
        pages = self.reachable_steps(answers, context)
        return pages[0] if pages else None

    def page(
        self, step_key: str, answers: Mapping[str, object], context: EvalContext | None = None
    ) -> Page:
        """The page of a step as the answers make it; StepNotAvailable if not on the route."""
        return self._locate(step_key, answers, context or default_context())[0]

    def page_and_previous(
        self, step_key: str, answers: Mapping[str, object], context: EvalContext | None = None
    ) -> tuple[Page, Page | None]:
        """The page of a step and the page before it on the route, from one walk."""
        page, walk = self._locate(step_key, answers, context or default_context())
        return page, self._previous(walk.pages, page.step.index)

    def _locate(
        self, step_key: str, answers: Mapping[str, object], context: EvalContext
    ) -> tuple[Page, _Walk]:
        walk = self._walk(answers, context)
        for page in walk.pages:
            if page.key == step_key:
                return page, walk
        raise StepNotAvailable(step_key)

    def _index(self, step_key: str) -> int:
        try:
            return self._by_key[step_key].index
        except KeyError:
            raise StepNotAvailable(step_key) from None

    def next_step(
        self, current: str, answers: Mapping[str, object], context: EvalContext | None = None
    ) -> Page | None:
        """The page after `current` on the route; None when the review page comes next."""
        index = self._index(current)
        walk = self._walk(answers, context or default_context())
        if walk.exit_page is not None and walk.exit_page.step.index <= index:
            return None
        return next((page for page in walk.pages if page.step.index > index), None)

    def previous_step(
        self, current: str, answers: Mapping[str, object], context: EvalContext | None = None
    ) -> Page | None:
        """The page before `current` on the route; None on the first page."""
        return self._previous(self.reachable_steps(answers, context), self._index(current))

    @staticmethod
    def _previous(pages: Sequence[Page], index: int) -> Page | None:
        earlier = [page for page in pages if page.step.index < index and not page.is_exit]
        return earlier[-1] if earlier else None

    def progress(
        self, current: str, answers: Mapping[str, object], context: EvalContext | None = None
    ) -> tuple[int, int]:
        """`(n, total)` for "page n of total"; later pages count unless surely hidden."""
        index = self._index(current)
        pages = self._walk(answers, context or default_context(), optimistic_after=index).pages
        before = sum(1 for page in pages if page.step.index < index)
        on_route = any(page.step.index == index for page in pages)
        return before + 1, len(pages) if on_route else len(pages) + 1

    def exit_reached(
        self, answers: Mapping[str, object], context: EvalContext | None = None
    ) -> Page | None:
        """The exit page that ends the journey, if the answers lead to one."""
        return self._walk(answers, context or default_context()).exit_page

    def exited_procedures(
        self, answers: Mapping[str, object], context: EvalContext | None = None
    ) -> list[str]:
        """Procedures whose part of a combined journey ended at one of their exits."""
        return self._walk(answers, context or default_context()).exited

    def prune(
        self, answers: Mapping[str, object], context: EvalContext | None = None
    ) -> dict[str, object]:
        """The answers without those given on pages that are no longer shown."""
        return self._walk(answers, context or default_context()).visible

    def answers_for(
        self,
        procedure_id: str,
        answers: Mapping[str, object],
        context: EvalContext | None = None,
    ) -> dict[str, object]:
        """The pruned answers one procedure receives: its own fields only."""
        procedure = next(item for item in self.procedures if item.id == procedure_id)
        visible = self.prune(answers, context)
        return {name: value for name, value in visible.items() if name in procedure.fields}

    def field_spec(self, field_id: str) -> AnyField:
        """The definition of a field asked in this journey."""
        return self._home[field_id][0]

    def heading(self, page: Page) -> TextPair | None:
        """The page heading: the step title, the exit title, or the single field's label."""
        step = page.step.compiled.step
        if step.exit is not None:
            return step.exit.title
        if step.title is not None:
            return step.title
        if len(page.fields) == 1:
            return self.field_spec(page.fields[0]).label
        return None

    # --- validation ----------------------------------------------------------------------

    def validate_step(
        self,
        step_key: str,
        raw: RawInputs,
        answers: Mapping[str, object],
        context: EvalContext | None = None,
    ) -> StepResult:
        """Parse and check the inputs of one page against the answers given so far."""
        context = context or default_context()
        page, walk = self._locate(step_key, answers, context)
        values: dict[str, object] = {}
        errors: Errors = {}
        loop = page.step.compiled.loop
        if loop is not None:
            items = list(_items(answers.get(loop)))
            values[loop] = items
            spec = self.field_spec(loop)
            assert isinstance(spec, GroupField)
            if len(items) < spec.min_items:
                errors[loop] = [FieldError("too_few_items", {"minimum": spec.min_items})]
        for field_id in page.fields:
            spec = self.field_spec(field_id)
            if isinstance(spec, ContentField) or field_id == loop:
                continue
            if isinstance(spec, GroupField):
                item, item_errors = self._parse_item(field_id, spec, raw, walk.visible, context)
                values[field_id] = item
                errors.update(item_errors)
                continue
            try:
                values[field_id] = parse_field(field_id, spec, raw)
            except FieldError as error:
                values[field_id] = None
                errors[field_id] = [error]
        merged = {**walk.visible, **values}
        for field_id in page.fields:
            if field_id not in errors and field_id != loop:
                self._require(field_id, merged, context, errors)
        self._run_checks(set(page.fields), merged, context, errors)
        return StepResult(values, errors)

    def _required(self, field_id: str, values: Mapping[str, object], context: EvalContext) -> bool:
        spec, rules = self._home[field_id]
        condition = rules.required_if.get(field_id)
        if condition is None:
            return bool(getattr(spec, "required", False))
        return is_true(condition.evaluate(rules.with_derived(values, context), context))

    def _require(
        self, field_id: str, values: Mapping[str, object], context: EvalContext, errors: Errors
    ) -> None:
        spec = self.field_spec(field_id)
        if isinstance(spec, ContentField | GroupField):
            return
        kind = field_type(spec)
        if kind.is_empty(spec, values.get(field_id)) and self._required(field_id, values, context):
            errors[field_id] = [FieldError(kind.required_code(spec))]

    def _run_checks(
        self,
        on_fields: set[str] | None,
        values: Mapping[str, object],
        context: EvalContext,
        errors: Errors,
        skip_owners: Sequence[str] = (),
    ) -> None:
        """Fire the checks that are false; only those naming a field on the page, if given."""
        for rules in self._rulebooks:
            if not rules.checks or rules.owner in skip_owners:
                continue
            scope: Mapping[str, object] | None = None
            for compiled in rules.checks:
                named = [
                    field_id
                    for field_id in compiled.check.fields
                    if on_fields is None or field_id in on_fields
                ]
                if not named:
                    continue
                if scope is None:
                    scope = rules.with_derived(values, context)
                if compiled.must.evaluate(scope, context) is False:
                    for field_id in named:
                        errors.setdefault(field_id, []).append(
                            CheckFailed(compiled.check.id, compiled.check.message)
                        )

    def failed_checks(
        self, answers: Mapping[str, object], context: EvalContext | None = None
    ) -> list[str]:
        """The ids of the checks that are false over the route's answers."""
        context = context or default_context()
        walk = self._walk(answers, context)
        errors: Errors = {}
        self._run_checks(None, walk.visible, context, errors, walk.exited)
        return sorted(
            {
                problem.check_id
                for problems in errors.values()
                for problem in problems
                if isinstance(problem, CheckFailed)
            }
        )

    def validate_all(
        self, answers: Mapping[str, object], context: EvalContext | None = None
    ) -> Errors:
        """Check every answer on the route before submission: required fields, items, checks."""
        context = context or default_context()
        walk = self._walk(answers, context)
        visible = walk.visible
        errors: Errors = {}
        for page in walk.pages:
            for field_id in page.fields:
                spec = self.field_spec(field_id)
                if isinstance(spec, GroupField):
                    self._check_group(field_id, spec, visible, context, errors)
                else:
                    self._require(field_id, visible, context, errors)
        self._run_checks(None, visible, context, errors, walk.exited)
        return errors

    def _check_group(
        self,
        field_id: str,
        spec: GroupField,
        values: Mapping[str, object],
        context: EvalContext,
        errors: Errors,
    ) -> None:
        value = values.get(field_id)
        if not spec.repeatable:
            if value is None:
                if self._required(field_id, values, context):
                    errors[field_id] = [FieldError("required")]
                return
            items = [value]
        else:
            items = list(_items(value))
            if value is None and self._required(field_id, values, context):
                errors[field_id] = [
                    FieldError("too_few_items", {"minimum": max(1, spec.min_items)})
                ]
                return
            if len(items) < spec.min_items:
                errors[field_id] = [FieldError("too_few_items", {"minimum": spec.min_items})]
            if len(items) > spec.max_items:
                errors[field_id] = [FieldError("too_many_items", {"maximum": spec.max_items})]
        rules = self._home[field_id][1]
        for item in items:
            self._require_members(field_id, spec, item, rules, values, context, errors)

    def _require_members(
        self,
        field_id: str,
        spec: GroupField,
        item: Mapping[str, object],
        rules: Rulebook,
        values: Mapping[str, object],
        context: EvalContext,
        errors: Errors,
    ) -> None:
        """Report empty required members of one group item."""
        scope: Mapping[str, object] | None = None
        for member_id, member in spec.fields.items():
            if isinstance(member, ContentField):
                continue
            kind = field_type(member)
            path = f"{field_id}.{member_id}"
            if path in errors or not kind.is_empty(member, item.get(member_id)):
                continue
            condition = rules.required_if.get(path)
            if condition is None:
                required = member.required
            else:
                if scope is None:
                    scope = ChainMap(dict(item), rules.with_derived(values, context))
                required = is_true(condition.evaluate(scope, context))
            if required:
                errors[path] = [FieldError(kind.required_code(member))]

    # --- groups and loops ----------------------------------------------------------------

    def _parse_item(
        self,
        field_id: str,
        spec: GroupField,
        raw: RawInputs,
        answers: Mapping[str, object],
        context: EvalContext,
    ) -> tuple[dict[str, object] | None, Errors]:
        """Parse the member inputs of one group item (`group.member...`)."""
        item: dict[str, object] = {}
        errors: Errors = {}
        for member_id, member in spec.fields.items():
            if isinstance(member, ContentField):
                continue
            try:
                item[member_id] = parse_field(f"{field_id}.{member_id}", member, raw)
            except FieldError as error:
                item[member_id] = None
                errors[f"{field_id}.{member_id}"] = [error]
        empty = all(value is None for value in item.values()) and not errors
        if empty and not spec.repeatable and not self._required(field_id, answers, context):
            return None, errors
        rules = self._home[field_id][1]
        self._require_members(field_id, spec, item, rules, answers, context, errors)
        return item, errors

    def validate_item(
        self,
        step_key: str,
        raw: RawInputs,
        answers: Mapping[str, object],
        context: EvalContext | None = None,
    ) -> tuple[dict[str, object], Errors]:
        """Parse one item of a loop step's repeatable group (the add or change page)."""
        context = context or default_context()
        page, walk = self._locate(step_key, answers, context)
        loop = page.step.compiled.loop
        if loop is None:
            raise StepNotAvailable(f"{step_key} is not a loop step")
        spec = self.field_spec(loop)
        assert isinstance(spec, GroupField)
        item, errors = self._parse_item(loop, spec, raw, walk.visible, context)
        return item or {}, errors

    def add_item(
        self, answers: Mapping[str, object], group_id: str, item: Mapping[str, object]
    ) -> dict[str, object]:
        """Answers with one more item in a repeatable group; FieldError when full."""
        spec = self.field_spec(group_id)
        assert isinstance(spec, GroupField) and spec.repeatable
        items = list(_items(answers.get(group_id)))
        if len(items) >= spec.max_items:
            raise FieldError("too_many_items", {"maximum": spec.max_items})
        return {**answers, group_id: [*items, dict(item)]}

    def replace_item(
        self,
        answers: Mapping[str, object],
        group_id: str,
        index: int,
        item: Mapping[str, object],
    ) -> dict[str, object]:
        """Answers with one item of a repeatable group changed; IndexError if none there."""
        items = list(_items(answers.get(group_id)))
        items[index] = dict(item)
        return {**answers, group_id: items}

    def remove_item(
        self, answers: Mapping[str, object], group_id: str, index: int
    ) -> dict[str, object]:
        """Answers with one item of a repeatable group removed; IndexError if none there."""
        items = list(_items(answers.get(group_id)))
        del items[index]
        return {**answers, group_id: items}


def merge_answers(answers: Mapping[str, object], values: Mapping[str, object]) -> dict[str, object]:
    """Answers updated with a page's values; a field left empty loses its old answer."""
    merged = {**answers, **values}
    return {name: value for name, value in merged.items() if value is not None}


def _asked_fields(step: CompiledStep) -> tuple[str, ...]:
    """The fields a step asks: its field list, or its loop's group."""
    return (step.loop,) if step.loop is not None else tuple(step.step.fields)


def _items(value: object) -> Sequence[Mapping[str, object]]:
    """The items of a repeatable group's answer (none when unanswered)."""
    if value is None or value is UNKNOWN:
        return []
    assert isinstance(value, list)
    return value
