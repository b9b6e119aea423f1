"""Check definitions against each other and compile their expressions into a Catalogue.

The schema says what a file may contain; this module says whether the files make
sense together: every id names something that exists, every expression is well typed
in its scope, derived values do not go round in circles, every step can be reached,
every queue exists. Each problem becomes a LintIssue at its line and column. When
there is none, the compiled expressions are kept on the Catalogue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from portal.definitions.catalogue import (
    TRIAGE_QUEUE,
    Catalogue,
    CompiledCheck,
    CompiledDocument,
    CompiledLifeEvent,
    CompiledPrivateService,
    CompiledProcedure,
    CompiledRegisterAnswer,
    CompiledRoute,
    CompiledStep,
    Rulebook,
    content_hash,
)
from portal.definitions.expressions import (
    BOOL,
    CompiledExpression,
    ExpressionError,
    Type,
    compile_expression,
    referenced_names,
)
from portal.definitions.fields import requires_purpose, value_type
from portal.definitions.schema import (
    AnyField,
    Check,
    ChoiceField,
    Department,
    Departments,
    Dictionary,
    GroupField,
    LifeEvent,
    Procedure,
    RegisterAnswer,
    Step,
    YesNoField,
)
from portal.definitions.source import LintIssue, LoadedFile, YamlPath, describe_path

Scope = dict[str, Type]


@dataclass
class _Owner:
    """What the compiler knows about one procedure or questionnaire while checking it."""

    file: LoadedFile
    base: YamlPath
    fields: dict[str, AnyField]
    origins: dict[str, YamlPath]
    scope: Scope = field(default_factory=dict)
    derive: list[tuple[str, CompiledExpression]] = field(default_factory=list)
    derive_names: dict[str, frozenset[str]] = field(default_factory=dict)


def compile_catalogue(files: Sequence[LoadedFile]) -> tuple[Catalogue | None, list[LintIssue]]:
    """Check every definition and compile it; the catalogue is None when issues were found."""
    compiler = _Compiler(files)
    catalogue = compiler.run()
    if compiler.issues:
        return None, sorted(
            compiler.issues, key=lambda issue: (issue.path, issue.line, issue.column)
        )
    return catalogue, []


def field_scope(fields: Mapping[str, AnyField]) -> Scope:
    """The expression types of the fields that take an answer."""
    return {
        field_id: field_type
        for field_id, spec in fields.items()
        if (field_type := value_type(spec)) is not None
    }


class _Compiler:
    """One pass over a set of files; collects issues and builds compiled definitions."""

    def __init__(self, files: Sequence[LoadedFile]) -> None:
        self.files = files
        self.issues: list[LintIssue] = []
        self.dictionary: dict[str, AnyField] = {}
        self.dictionary_file: LoadedFile | None = None
        self.departments: tuple[Department, ...] = ()
        self.department_ids: set[str] = set()
        self.queue_ids: set[str] = {TRIAGE_QUEUE}
        self.procedure_files: dict[str, LoadedFile] = {}
        self.life_event_files: dict[str, LoadedFile] = {}

    # --- helpers ---------------------------------------------------------------------

    def issue(
        self, file: LoadedFile, path: YamlPath, message: str, *, at_key: bool = False
    ) -> None:
        self.issues.append(file.issue(path, f"{describe_path(path)}: {message}", at_key=at_key))

    def compile(
        self,
        file: LoadedFile,
        path: YamlPath,
        source: str,
        scope: Mapping[str, Type],
        *,
        expect: Type | None = BOOL,
        note: str = "",
    ) -> CompiledExpression | None:
        """Compile one expression; report its error at the exact place in the file."""
        try:
            return compile_expression(source, scope, expect=expect)
        except ExpressionError as error:
            message = f"{describe_path(path)}: {error.message}{note}"
            self.issues.append(file.expression_issue(path, error.line, error.column, message))
            return None

    # --- the pass --------------------------------------------------------------------

    def run(self) -> Catalogue:
        self._sort_files()
        questionnaires = {
            event_id: self._questionnaire(file) for event_id, file in self.life_event_files.items()
        }
        procedures = {
            procedure_id: self._procedure(file, questionnaires)
            for procedure_id, file in self.procedure_files.items()
        }
        life_events = {
            event_id: self._life_event(file, questionnaires[event_id], procedures)
            for event_id, file in self.life_event_files.items()
        }
        return Catalogue(
            procedures={key: value for key, value in procedures.items() if value is not None},
            life_events={key: value for key, value in life_events.items() if value is not None},
            dictionary=self.dictionary,
            departments=self.departments,
        )

    def _sort_files(self) -> None:
        departments_file: LoadedFile | None = None
        for file in self.files:
            model = file.model
            if isinstance(model, Dictionary):
                if self.dictionary_file is not None:
                    self.issue(
                        file, ("kind",), f"a second dictionary ({self.dictionary_file.path})"
                    )
                    continue
                self.dictionary_file = file
            elif isinstance(model, Departments):
                if departments_file is not None:
                    self.issue(
                        file, ("kind",), f"a second departments file ({departments_file.path})"
                    )
                    continue
                departments_file = file
            elif isinstance(model, Procedure):
                self._register(self.procedure_files, model.id, file, "procedure")
            else:
                self._register(self.life_event_files, model.id, file, "life event")
        if departments_file is not None:
            self._departments(departments_file)
        if self.dictionary_file is not None:
            self._dictionary(self.dictionary_file)

    def _register(
        self, registry: dict[str, LoadedFile], item_id: str, file: LoadedFile, what: str
    ) -> None:
        if item_id in registry:
            self.issue(
                file, ("id",), f"{what} {item_id!r} is also defined in {registry[item_id].path}"
            )
        else:
            registry[item_id] = file

    # --- departments and dictionary --------------------------------------------------

    def _departments(self, file: LoadedFile) -> None:
        assert isinstance(file.model, Departments)
        self.departments = tuple(file.model.departments)
        for index, department in enumerate(file.model.departments):
            path: YamlPath = ("departments", index)
            if department.id == TRIAGE_QUEUE:
                self.issue(file, (*path, "id"), "'triage' is the built-in queue; choose another id")
            if department.id in self.department_ids:
                self.issue(file, (*path, "id"), f"department {department.id!r} is listed twice")
            self.department_ids.add(department.id)
            queue_ids = [queue.id for queue in department.queues]
            if department.id not in queue_ids:
                self.issue(
                    file,
                    (*path, "queues"),
                    f"department {department.id!r} needs a main queue of the same id",
                    at_key=True,
                )
            for queue_index, queue in enumerate(department.queues):
                queue_path = (*path, "queues", queue_index, "id")
                if queue.id != department.id and not queue.id.startswith(f"{department.id}."):
                    self.issue(
                        file,
                        queue_path,
                        f"queue {queue.id!r} must be {department.id!r} or start with "
                        f"'{department.id}.'",
                    )
                if queue.id in self.queue_ids:
                    self.issue(file, queue_path, f"queue {queue.id!r} is listed twice")
                self.queue_ids.add(queue.id)

    def _dictionary(self, file: LoadedFile) -> None:
        assert isinstance(file.model, Dictionary)
        self.dictionary = dict(file.model.fields)
        self._check_field_specs(file, ("fields",), file.model.fields)

    def _check_field_specs(
        self, file: LoadedFile, path: YamlPath, fields: Mapping[str, AnyField]
    ) -> None:
        """Checks of field definitions that need no scope: purposes of My Number fields."""
        for field_id, spec in fields.items():
            if requires_purpose(spec) and getattr(spec, "purpose", None) is None:
                self.issue(
                    file,
                    (*path, field_id),
                    f"field {field_id!r} handles a My Number and needs `purpose: {{ja, en}}`",
                    at_key=True,
                )
            if isinstance(spec, GroupField):
                self._check_field_specs(file, (*path, field_id, "fields"), spec.fields)

    # --- shared building blocks ------------------------------------------------------

    def _owner(
        self,
        file: LoadedFile,
        base: YamlPath,
        own: Mapping[str, AnyField],
        uses: Sequence[str],
    ) -> _Owner:
        """Resolve own fields and dictionary fields taken with `uses`."""
        fields: dict[str, AnyField] = {}
        origins: dict[str, YamlPath] = {}
        self._check_field_specs(file, (*base, "fields"), own)
        for field_id, spec in own.items():
            fields[field_id] = spec
            origins[field_id] = (*base, "fields", field_id)
        for index, field_id in enumerate(uses):
            path = (*base, "uses", index)
            if field_id in own:
                self.issue(
                    file, path, f"field {field_id!r} is defined here and also taken with uses"
                )
            elif field_id in fields:
                self.issue(file, path, f"field {field_id!r} is listed twice")
            elif field_id not in self.dictionary:
                self.issue(file, path, f"unknown dictionary field {field_id!r}")
            else:
                fields[field_id] = self.dictionary[field_id]
                origins[field_id] = path
        owner = _Owner(file, base, fields, origins)
        owner.scope = field_scope(fields)
        return owner

    def _derive(self, owner: _Owner, path: YamlPath, derive: Mapping[str, str]) -> None:
        """Order the derived values by their dependencies, refuse cycles, compile them."""
        dependencies: dict[str, frozenset[str]] = {}
        for name, source in derive.items():
            if name in owner.fields:
                self.issue(owner.file, (*path, name), f"{name!r} is already a field", at_key=True)
                continue
            try:
                dependencies[name] = referenced_names(source)
            except ExpressionError as error:
                message = f"{describe_path((*path, name))}: {error.message}"
                self.issues.append(
                    owner.file.expression_issue((*path, name), error.line, error.column, message)
                )
        for name in _cycle_members(dependencies):
            self.issue(
                owner.file,
                (*path, name),
                f"derived value {name!r} depends on itself: "
                f"{' → '.join(_cycle_from(name, dependencies))}",
                at_key=True,
            )
        cyclic = set(_cycle_members(dependencies))
        for name in _dependency_order(dependencies):
            if name in cyclic:
                continue
            compiled = self.compile(
                owner.file, (*path, name), derive[name], owner.scope, expect=None
            )
            if compiled is not None:
                owner.scope[name] = compiled.type
                owner.derive.append((name, compiled))
                owner.derive_names[name] = dependencies[name]

    def _required_if(self, owner: _Owner) -> dict[str, CompiledExpression]:
        """Compile the `required_if` of every field and group member of an owner."""
        compiled: dict[str, CompiledExpression] = {}
        for field_id, spec in owner.fields.items():
            origin = owner.origins[field_id]
            # A dictionary field's condition lives in the dictionary file.
            file = owner.file if origin[-2:-1] != ("uses",) else self.dictionary_file
            spec_path = origin if origin[-2:-1] != ("uses",) else ("fields", field_id)
            note = "" if file is owner.file else f" (as used by {owner.file.path})"
            assert file is not None
            condition = getattr(spec, "required_if", None)
            if condition is not None:
                result = self.compile(
                    file, (*spec_path, "required_if"), condition, owner.scope, note=note
                )
                if result is not None:
                    compiled[field_id] = result
            if isinstance(spec, GroupField):
                member_scope = {**owner.scope, **field_scope(spec.fields)}
                for member_id, member in spec.fields.items():
                    condition = getattr(member, "required_if", None)
                    if condition is None:
                        continue
                    member_path = (*spec_path, "fields", member_id, "required_if")
                    result = self.compile(file, member_path, condition, member_scope, note=note)
                    if result is not None:
                        compiled[f"{field_id}.{member_id}"] = result
        return compiled

    def _checks(
        self, owner: _Owner, path: YamlPath, checks: Sequence[Check]
    ) -> list[CompiledCheck]:
        compiled_checks: list[CompiledCheck] = []
        seen: set[str] = set()
        for index, check in enumerate(checks):
            check_path = (*path, index)
            if check.id in seen:
                self.issue(owner.file, (*check_path, "id"), f"check {check.id!r} is listed twice")
            seen.add(check.id)
            for field_index, field_id in enumerate(check.fields):
                if field_id not in owner.fields:
                    self.issue(
                        owner.file,
                        (*check_path, "fields", field_index),
                        f"unknown field {field_id!r}",
                    )
            must = self.compile(owner.file, (*check_path, "must"), check.must, owner.scope)
            if must is not None:
                compiled_checks.append(CompiledCheck(check, must))
        return compiled_checks

    def _steps(
        self,
        owner: _Owner,
        owner_id: str,
        path: YamlPath,
        steps: Sequence[Step],
        askable: Mapping[str, AnyField],
        scope: Mapping[str, Type],
        prior: Iterable[str] = (),
    ) -> list[CompiledStep]:
        """Check a list of steps (ids, fields, loops, reachability) and compile show_if."""
        file = owner.file
        compiled: list[CompiledStep] = []
        step_ids: set[str] = set()
        asked_at: dict[str, str] = {}
        for step in steps:
            for field_id in (*step.fields, *([step.loop] if step.loop else [])):
                asked_at.setdefault(field_id, step.id)
        asked_before: set[str] = set(prior)
        exit_step: str | None = None
        seen_fields: dict[str, str] = {}
        for index, step in enumerate(steps):
            step_path = (*path, index)
            if step.id in step_ids:
                self.issue(file, (*step_path, "id"), f"step {step.id!r} is listed twice")
            step_ids.add(step.id)
            if exit_step is not None:
                self.issue(
                    file,
                    (*step_path, "id"),
                    f"step {step.id!r} is unreachable: the exit step {exit_step!r} before it "
                    "always ends the journey",
                )
            for field_index, field_id in enumerate(step.fields):
                item_path = (*step_path, "fields", field_index)
                spec = askable.get(field_id)
                if spec is None:
                    self.issue(file, item_path, f"unknown field {field_id!r}")
                elif isinstance(spec, GroupField) and spec.repeatable:
                    self.issue(
                        file,
                        item_path,
                        f"{field_id!r} is a repeatable group: ask it with `loop: {field_id}`",
                    )
                if field_id in seen_fields:
                    self.issue(
                        file,
                        item_path,
                        f"field {field_id!r} is already asked in step {seen_fields[field_id]!r}",
                    )
                seen_fields.setdefault(field_id, step.id)
            if step.loop is not None:
                spec = askable.get(step.loop)
                if not (isinstance(spec, GroupField) and spec.repeatable):
                    what = "unknown field" if spec is None else "not a repeatable group"
                    self.issue(file, (*step_path, "loop"), f"{step.loop!r}: {what}")
                if step.loop in seen_fields:
                    self.issue(
                        file,
                        (*step_path, "loop"),
                        f"field {step.loop!r} is already asked in step {seen_fields[step.loop]!r}",
                    )
                seen_fields.setdefault(step.loop, step.id)
            show_if = None
            if step.show_if is not None:
                show_if = self.compile(file, (*step_path, "show_if"), step.show_if, scope)
                if show_if is not None:
                    self._check_reachable(owner, step_path, step, show_if, asked_before, asked_at)
            if step.exit is not None and step.show_if is None and exit_step is None:
                exit_step = step.id
            asked_before.update(step.fields)
            if step.loop is not None:
                asked_before.add(step.loop)
            compiled.append(CompiledStep(owner_id, step, show_if))
        return compiled

    def _check_reachable(
        self,
        owner: _Owner,
        step_path: YamlPath,
        step: Step,
        show_if: CompiledExpression,
        asked_before: set[str],
        asked_at: Mapping[str, str],
    ) -> None:
        """Refuse a show_if that needs an answer only given on this step or later."""
        needed = _expand_derived(show_if.names, owner.derive_names)
        for name in sorted(needed):
            if name in asked_at and name not in asked_before:
                self.issue(
                    owner.file,
                    (*step_path, "show_if"),
                    f"step {step.id!r} can never be shown: its show_if needs {name!r}, "
                    f"which is only asked in step {asked_at[name]!r}",
                )
                return

    # --- questionnaires ----------------------------------------------------------------

    def _questionnaire(self, file: LoadedFile) -> tuple[_Owner, list[CompiledStep]]:
        model = file.model
        assert isinstance(model, LifeEvent)
        questionnaire = model.questionnaire
        base: YamlPath = ("questionnaire",)
        owner = self._owner(file, base, questionnaire.fields, questionnaire.uses)
        self._derive(owner, (*base, "derive"), questionnaire.derive)
        steps = self._steps(
            owner, model.id, (*base, "steps"), questionnaire.steps, owner.fields, owner.scope
        )
        if model.event_date is not None:
            spec = owner.fields.get(model.event_date)
            if spec is None or spec.type != "date_jp":
                self.issue(
                    file,
                    ("event_date",),
                    f"{model.event_date!r} must be a date_jp field of the questionnaire",
                )
        return owner, steps

    # --- procedures --------------------------------------------------------------------

    def _procedure(
        self,
        file: LoadedFile,
        questionnaires: Mapping[str, tuple[_Owner, list[CompiledStep]]],
    ) -> CompiledProcedure | None:
        model = file.model
        assert isinstance(model, Procedure)
        owner = self._owner(file, (), model.fields, model.uses)
        if model.department not in self.department_ids:
            self.issue(file, ("department",), f"unknown department {model.department!r}")
        self._check_mode(file, model)
        self._derive(owner, ("rules", "derive"), model.rules.derive)
        steps = self._steps(owner, model.id, ("steps",), model.steps, owner.fields, owner.scope)
        checks = self._checks(owner, ("rules", "checks"), model.rules.checks)
        required_if = self._required_if(owner)
        applies_if = self._applies_if(owner, model, questionnaires)
        routes = self._routes(owner, model)
        documents = self._documents(owner, model)
        used = {
            field_id: self.dictionary[field_id]
            for field_id in model.uses
            if field_id in self.dictionary
        }
        rules = Rulebook(model.id, owner.fields, tuple(owner.derive), tuple(checks), required_if)
        return CompiledProcedure(
            model=model,
            rules=rules,
            steps=tuple(steps),
            applies_if=applies_if,
            routes=tuple(routes),
            documents=tuple(documents),
            content_hash=content_hash(model, used),
        )

    def _check_mode(self, file: LoadedFile, model: Procedure) -> None:
        mode_path: YamlPath = ("mode",) if ("mode",) in file.source_map else ("id",)
        if model.mode == "online":
            if model.delivery is None:
                self.issue(file, mode_path, "an online procedure needs `delivery:`")
            if not model.steps:
                self.issue(file, mode_path, "an online procedure needs at least one step")
        elif model.delivery is not None:
            self.issue(
                file, ("delivery",), f"a {model.mode} procedure has no delivery", at_key=True
            )
        if model.mode == "counter" and model.counter is None:
            self.issue(
                file,
                mode_path,
                "mode: counter needs `counter:` guidance (where, bring, deadline_days)",
            )
        if model.mode != "counter" and model.counter is not None:
            self.issue(file, ("counter",), "only counter procedures carry `counter:`", at_key=True)
        if model.mode == "automatic" and model.steps:
            self.issue(file, ("steps",), "an automatic procedure has no steps", at_key=True)

    def _applies_if(
        self,
        owner: _Owner,
        model: Procedure,
        questionnaires: Mapping[str, tuple[_Owner, list[CompiledStep]]],
    ) -> CompiledExpression | None:
        """Compile applies_if in the scope of every life event listing the procedure."""
        if model.rules.applies_if is None:
            return None
        path: YamlPath = ("rules", "applies_if")
        prefilled = {
            field_id
            for field_id, spec in owner.fields.items()
            if getattr(spec, "prefill", None) is not None
        }
        events = [
            (event_id, questionnaire)
            for event_id, (questionnaire, _steps) in sorted(questionnaires.items())
            if model.id in self._listed_procedures(event_id)
        ]
        scopes: list[tuple[str, Scope]] = []
        for event_id, questionnaire in events:
            available = set(questionnaire.scope) | prefilled
            scopes.append(
                (
                    f" (in life event {event_id!r})",
                    self._applies_scope(owner, available, questionnaire.scope),
                )
            )
        if not scopes:
            scopes.append(("", self._applies_scope(owner, prefilled, {})))
        compiled: CompiledExpression | None = None
        for note, scope in scopes:
            result = self.compile(owner.file, path, model.rules.applies_if, scope, note=note)
            compiled = compiled or result
        return compiled

    def _applies_scope(
        self, owner: _Owner, available: set[str], questionnaire_scope: Scope
    ) -> Scope:
        """Names an applies_if may use: questionnaire, prefilled fields, derived from them."""
        scope: Scope = dict(questionnaire_scope)
        for name in available:
            if name in owner.scope and name not in scope:
                scope[name] = owner.scope[name]
        known = set(scope)
        for name, compiled in owner.derive:
            if owner.derive_names[name] <= known:
                scope[name] = compiled.type
                known.add(name)
        return scope

    def _listed_procedures(self, event_id: str) -> list[str]:
        model = self.life_event_files[event_id].model
        assert isinstance(model, LifeEvent)
        return model.procedures

    def _routes(self, owner: _Owner, model: Procedure) -> list[CompiledRoute]:
        if model.delivery is None:
            return []
        compiled: list[CompiledRoute] = []
        routes = model.delivery.routing
        for index, route in enumerate(routes):
            path: YamlPath = ("delivery", "routing", index)
            target_key = "queue" if route.queue is not None else "default"
            if route.target not in self.queue_ids:
                self.issue(owner.file, (*path, target_key), f"unknown queue {route.target!r}")
            if route.default is not None and index != len(routes) - 1:
                self.issue(owner.file, (*path, "default"), "the default route must be the last one")
            when = None
            if route.when is not None:
                when = self.compile(owner.file, (*path, "when"), route.when, owner.scope)
                if when is None:
                    continue
            compiled.append(CompiledRoute(route, when))
        return compiled

    def _documents(self, owner: _Owner, model: Procedure) -> list[CompiledDocument]:
        if model.delivery is None:
            return []
        compiled: list[CompiledDocument] = []
        seen: set[str] = set()
        for index, document in enumerate(model.delivery.documents):
            path: YamlPath = ("delivery", "documents", index)
            if document.id in seen:
                self.issue(owner.file, (*path, "id"), f"document {document.id!r} is listed twice")
            seen.add(document.id)
            conditions: dict[str, CompiledExpression | None] = {}
            for key in ("required_if", "waived_if"):
                source = getattr(document, key)
                conditions[key] = (
                    None
                    if source is None
                    else self.compile(owner.file, (*path, key), source, owner.scope)
                )
            compiled.append(
                CompiledDocument(document, conditions["required_if"], conditions["waived_if"])
            )
        return compiled

    # --- life events -------------------------------------------------------------------

    def _life_event(
        self,
        file: LoadedFile,
        questionnaire: tuple[_Owner, list[CompiledStep]],
        procedures: Mapping[str, CompiledProcedure | None],
    ) -> CompiledLifeEvent | None:
        model = file.model
        assert isinstance(model, LifeEvent)
        questionnaire_owner, questionnaire_steps = questionnaire
        listed: list[CompiledProcedure] = []
        for index, procedure_id in enumerate(model.procedures):
            path: YamlPath = ("procedures", index)
            if procedure_id in model.procedures[:index]:
                self.issue(file, path, f"procedure {procedure_id!r} is listed twice")
            elif procedure_id not in self.procedure_files:
                self.issue(file, path, f"unknown procedure {procedure_id!r}")
            elif (procedure := procedures.get(procedure_id)) is not None:
                listed.append(procedure)
        shared = self._owner(file, (), model.fields, model.uses)
        for field_id in shared.fields:
            if field_id in questionnaire_owner.fields:
                self.issue(
                    file,
                    shared.origins[field_id],
                    f"field {field_id!r} is already a questionnaire field",
                    at_key=True,
                )
        self._check_types(file, model, questionnaire_owner, shared, listed)
        askable: dict[str, AnyField] = dict(shared.fields)
        for procedure in listed:
            for field_id, spec in procedure.fields.items():
                askable.setdefault(field_id, spec)
        shared.scope = {**questionnaire_owner.scope, **field_scope(askable)}
        shared.derive = list(questionnaire_owner.derive)
        shared.derive_names = dict(questionnaire_owner.derive_names)
        for name, expression in shared.derive:
            shared.scope[name] = expression.type
        shared_required = self._required_if(shared)
        shared_steps = self._steps(
            shared,
            model.id,
            ("shared_steps",),
            model.shared_steps,
            askable,
            shared.scope,
            prior=questionnaire_owner.fields,
        )
        services: list[CompiledPrivateService] = []
        seen: set[str] = set()
        for index, service in enumerate(model.private_services):
            path = ("private_services", index)
            if service.id in seen:
                self.issue(file, (*path, "id"), f"private service {service.id!r} is listed twice")
            seen.add(service.id)
            condition = None
            if service.applies_if is not None:
                condition = self.compile(
                    file, (*path, "applies_if"), service.applies_if, questionnaire_owner.scope
                )
            self._check_sends(
                file, path, service.sends or [], {**questionnaire_owner.fields, **shared.fields}
            )
            services.append(CompiledPrivateService(service, condition))
        register_answers = self._register_answers(
            questionnaire_owner, model.questionnaire.register_answers
        )
        used_ids = [*model.questionnaire.uses, *model.uses]
        used = {
            field_id: self.dictionary[field_id]
            for field_id in used_ids
            if field_id in self.dictionary
        }
        return CompiledLifeEvent(
            model=model,
            questionnaire=Rulebook(
                model.id,
                questionnaire_owner.fields,
                tuple(questionnaire_owner.derive),
                (),
                self._required_if(questionnaire_owner),
            ),
            questionnaire_steps=tuple(questionnaire_steps),
            shared=Rulebook(
                model.id,
                {**questionnaire_owner.fields, **shared.fields},
                tuple(questionnaire_owner.derive),
                (),
                shared_required,
            ),
            shared_steps=tuple(shared_steps),
            private_services=tuple(services),
            content_hash=content_hash(model, used),
            register_answers=tuple(register_answers),
        )

    def _check_sends(
        self,
        file: LoadedFile,
        path: YamlPath,
        sends: Sequence[str],
        fields: Mapping[str, AnyField],
    ) -> None:
        """Check what a private service is told: answers of the life event, never a My Number.

        Only the questionnaire's and the shared steps' fields qualify: a procedure's
        fields are asked only when that procedure is chosen.
        """
        for index, field_id in enumerate(sends):
            at: YamlPath = (*path, "sends", index)
            spec = fields.get(field_id)
            if field_id in sends[:index]:
                self.issue(file, at, f"field {field_id!r} is listed twice")
            elif spec is None:
                self.issue(
                    file,
                    at,
                    f"{field_id!r} is not a field of this life event's questionnaire or "
                    "shared steps",
                )
            elif value_type(spec) is None:
                self.issue(file, at, f"field {field_id!r} takes no answer, so it has none to send")
            elif requires_purpose(spec) or (
                isinstance(spec, GroupField)
                and any(requires_purpose(member) for member in spec.fields.values())  # type: ignore[arg-type]
            ):
                self.issue(
                    file,
                    at,
                    f"field {field_id!r} holds a My Number, which is never sent to a company",
                )

    def _register_answers(
        self, owner: _Owner, answers: Sequence[RegisterAnswer]
    ) -> list[CompiledRegisterAnswer]:
        """Check the answers registers imply: a fitting value, a `when` of register values."""
        compiled: list[CompiledRegisterAnswer] = []
        prefilled = {
            field_id
            for field_id, spec in owner.fields.items()
            if getattr(spec, "prefill", None) is not None
        }
        for index, answer in enumerate(answers):
            path: YamlPath = ("questionnaire", "register_answers", index)
            spec = owner.fields.get(answer.field)
            if spec is None:
                self.issue(
                    owner.file, (*path, "field"), f"unknown questionnaire field {answer.field!r}"
                )
                continue
            problem = _register_value_problem(spec, answer.value)
            if problem is not None:
                self.issue(owner.file, (*path, "value"), problem)
                continue
            when = self.compile(owner.file, (*path, "when"), answer.when, owner.scope)
            if when is None:
                continue
            needed = _expand_derived(when.names, owner.derive_names) - set(owner.derive_names)
            asked = sorted(needed - prefilled)
            if asked or not needed:
                reason = (
                    f"{asked[0]!r} is not filled from a register (no prefill)"
                    if asked
                    else "it uses no register value"
                )
                self.issue(
                    owner.file,
                    (*path, "when"),
                    f"{reason}: a register answer rests on register values only",
                )
                continue
            compiled.append(CompiledRegisterAnswer(answer, when))
        return compiled

    def _check_types(
        self,
        file: LoadedFile,
        model: LifeEvent,
        questionnaire: _Owner,
        shared: _Owner,
        listed: Sequence[CompiledProcedure],
    ) -> None:
        """Refuse one field id with different types across a life event's definitions."""
        first: dict[str, tuple[str, str]] = {}
        for field_id, spec in {**questionnaire.fields, **shared.fields}.items():
            first[field_id] = (_signature(spec), "this life event")
        for procedure in listed:
            index = model.procedures.index(procedure.id)
            for field_id, spec in procedure.fields.items():
                signature = _signature(spec)
                if field_id not in first:
                    first[field_id] = (signature, f"procedure {procedure.id!r}")
                elif first[field_id][0] != signature:
                    self.issue(
                        file,
                        ("procedures", index),
                        f"field {field_id!r} is {signature} in procedure {procedure.id!r} but "
                        f"{first[field_id][0]} in {first[field_id][1]}: one id is one fact",
                    )


def _register_value_problem(spec: AnyField, value: bool | str) -> str | None:
    """Why a register answer's value cannot answer this field; None when it can."""
    if isinstance(spec, YesNoField):
        return None if isinstance(value, bool) else "a yes_no field takes true or false"
    if isinstance(spec, ChoiceField) and spec.widget != "checkbox":
        options = [option.value for option in spec.options]
        if isinstance(value, str) and value in options:
            return None
        return f"{value!r} is not an option of this field ({', '.join(options)})"
    return "registers can answer only yes_no fields and single choices"


def _signature(spec: AnyField) -> str:
    """How a field's type reads in messages, with what makes two uses compatible."""
    field_type = value_type(spec)
    return f"{spec.type} ({field_type})" if field_type is not None else spec.type


def _expand_derived(names: Iterable[str], derive_names: Mapping[str, frozenset[str]]) -> set[str]:
    """The names an expression needs, with derived values replaced by what they use."""
    result: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name in result:
            continue
        result.add(name)
        pending.extend(derive_names.get(name, ()))
    return result


def _cycle_members(dependencies: Mapping[str, frozenset[str]]) -> list[str]:
    """The derived values that depend on themselves, directly or through others."""
    return [name for name in dependencies if name in _reach(name, dependencies)]


def _cycle_from(name: str, dependencies: Mapping[str, frozenset[str]]) -> list[str]:
    """One path from `name` back to itself, for the message."""
    path = [name]
    current = name
    while name not in dependencies[current]:
        current = min(
            dep
            for dep in dependencies[current]
            if dep in dependencies and dep not in path and name in _reach(dep, dependencies)
        )
        path.append(current)
    return [*path, name]


def _reach(start: str, dependencies: Mapping[str, frozenset[str]]) -> set[str]:
    """Every derived value reachable from `start` through dependencies."""
    reached: set[str] = set()
    pending = [start]
    while pending:
        current = pending.pop()
        for dep in dependencies.get(current, ()):
            if dep in dependencies and dep not in reached:
                reached.add(dep)
                pending.append(dep)
    return reached


def _dependency_order(dependencies: Mapping[str, frozenset[str]]) -> list[str]:
    """Derived values ordered so each comes after those it uses (stable by definition order)."""
    ordered: list[str] = []
    placed: set[str] = set()

    def place(name: str, visiting: frozenset[str]) -> None:
        if name in placed or name in visiting:
            return
        for dependency in sorted(dependencies[name]):
            if dependency in dependencies:
                place(dependency, visiting | {name})
        placed.add(name)
        ordered.append(name)

    for name in dependencies:
        place(name, frozenset())
    return ordered
