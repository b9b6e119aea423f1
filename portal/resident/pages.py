"""Turn the engine's pages into what the form templates draw, in one language.

The templates stay simple: each field arrives with its label, hint, inputs (with the
values to show and their error) and whether the page is a one-question page, where
the label or legend is the page heading. Values come from what was just typed when a
page is shown again with errors, so nothing the resident entered is lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from portal.definitions.fields import (
    FieldError,
    InputSpec,
    RawInputs,
    display,
    dump_value,
    field_type,
)
from portal.definitions.journey import Errors, Journey, Page, Problem
from portal.definitions.schema import AnyField, ContentField, FieldBase, GroupField, TextPair

InputValue = str | list[str]


@dataclass(frozen=True)
class OptionView:
    value: str
    label: str


@dataclass(frozen=True)
class InputView:
    """One HTML control."""

    name: str
    html_id: str
    control: str
    label: str | None
    value: InputValue
    autocomplete: str | None
    inputmode: str | None
    options: tuple[OptionView, ...]
    error: str | None


@dataclass(frozen=True)
class FieldView:
    """One question: a label or legend, a hint, one or more controls, its error."""

    id: str
    label: str
    hint: str | None
    inputs: tuple[InputView, ...]
    error: str | None
    body: str | None = None
    optional: bool = False
    source_badge: str | None = None
    locked_value: str | None = None
    reason: InputView | None = None
    report_url: str | None = None

    @property
    def is_fieldset(self) -> bool:
        """Several controls, or a radio or checkbox group, need a fieldset and legend."""
        return len(self.inputs) > 1 or any(
            item.control in ("radio", "checkbox") for item in self.inputs
        )

    @property
    def first_input_id(self) -> str:
        """Where the error summary's link for this field points."""
        with_error = [item.html_id for item in self.inputs if item.error]
        return (with_error or [item.html_id for item in self.inputs] or [f"f-{self.id}"])[0]


@dataclass(frozen=True)
class ErrorLink:
    href: str
    message: str


@dataclass
class PageView:
    """Everything a form page shows."""

    heading: str | None
    fields: list[FieldView]
    errors: list[ErrorLink] = field(default_factory=list)
    progress: tuple[int, int] | None = None

    @property
    def one_question(self) -> bool:
        """A page with one question uses its label as the page heading."""
        return len(self.fields) == 1 and self.heading is None


def html_id(name: str) -> str:
    """A stable element id for an input name (names may contain dots)."""
    return "f-" + name.replace(".", "-")


def _text(pair: TextPair | None, lang: str) -> str | None:
    return pair.get(lang) if pair is not None else None


def stored_inputs(field_id: str, spec: AnyField, value: object) -> dict[str, InputValue]:
    """The input values that show a stored answer again (the inverse of parsing)."""
    data = dump_value(spec, value)
    flattened: dict[str, InputValue] = {}

    def put(name: str, item: object) -> None:
        if item is None:
            return
        if isinstance(item, Mapping):
            for part, inner in item.items():
                put(f"{name}.{part}", inner)
        elif isinstance(item, bool):
            flattened[name] = "yes" if item else "no"
        elif isinstance(item, list):
            flattened[name] = [str(element) for element in item]
        else:
            flattened[name] = str(item)

    put(field_id, data)
    return flattened


def _raw_value(raw: RawInputs, name: str, control: str) -> InputValue:
    if control == "checkbox":
        values = raw.getlist(name) if hasattr(raw, "getlist") else raw.get(name, [])
        return [str(item) for item in (values if isinstance(values, list) else [values])]
    value = raw.get(name, "")
    return value[0] if isinstance(value, list) else str(value)


# Messages for an empty answer that name the question, as the design systems advise
# ("Enter the date of death" rather than "Enter a value").
NAMED_MESSAGES = {
    "required": {"ja": "「{label}」を入力してください。", "en": "Enter “{label}”."},
    "choose_one": {"ja": "「{label}」を選んでください。", "en": "Select an answer for “{label}”."},
    "choose_some": {
        "ja": "「{label}」を1つ以上選んでください。",
        "en": "Select at least one answer for “{label}”.",
    },
}


def _message(problem: Problem, lang: str, label: str | None = None) -> str:
    if label and isinstance(problem, FieldError) and problem.code in NAMED_MESSAGES:
        return NAMED_MESSAGES[problem.code]["en" if lang == "en" else "ja"].format(label=label)
    return problem.message(lang)


def _input_error(spec_input: InputSpec, problems: Sequence[Problem], lang: str) -> str | None:
    for problem in problems:
        if isinstance(problem, FieldError) and problem.part and problem.part == spec_input.part:
            label = spec_input.label.get(lang) if spec_input.label else None
            return _message(problem, lang, label)
    return None


def field_view(
    field_id: str,
    spec: AnyField,
    *,
    values: Mapping[str, InputValue],
    problems: Sequence[Problem],
    lang: str,
    optional: bool = False,
) -> FieldView:
    """Describe one field for the templates."""
    if isinstance(spec, ContentField):
        return FieldView(
            field_id, _text(spec.label, lang) or "", None, (), None, _text(spec.body, lang)
        )
    label = _text(spec.label, lang) or field_id
    inputs = []
    single = len(field_type(spec).inputs(field_id, spec)) == 1
    for spec_input in field_type(spec).inputs(field_id, spec):
        default: InputValue = [] if spec_input.control == "checkbox" else ""
        error = _input_error(spec_input, problems, lang)
        if single and error is None and problems:
            error = _message(problems[0], lang, label)
        inputs.append(
            InputView(
                name=spec_input.name,
                html_id=html_id(spec_input.name),
                control=spec_input.control,
                label=_text(spec_input.label, lang),
                value=values.get(spec_input.name, default),
                autocomplete=spec_input.autocomplete,
                inputmode=spec_input.inputmode,
                options=tuple(
                    OptionView(value, label.get(lang)) for value, label in spec_input.options
                ),
                error=error,
            )
        )
    field_error = _message(problems[0], lang, label) if problems else None
    hint = _text(spec.hint, lang) if isinstance(spec, FieldBase | GroupField) else None
    return FieldView(
        id=field_id,
        label=label,
        hint=hint,
        inputs=tuple(inputs),
        error=field_error,
        optional=optional,
    )


def error_links(view: FieldView) -> list[ErrorLink]:
    """The error summary's links for one field: one per control in error, or the field's."""
    controls = [*view.inputs, *([view.reason] if view.reason else [])]
    links = [ErrorLink("#" + item.html_id, item.error) for item in controls if item.error]
    if not links and view.error:
        links.append(ErrorLink("#" + view.first_input_id, view.error))
    seen: set[tuple[str, str]] = set()
    unique = []
    for link in links:
        if (link.href, link.message) not in seen:
            seen.add((link.href, link.message))
            unique.append(link)
    return unique


def source_badge(origin: Mapping[str, object], lang: str) -> str:
    """Say where a prefilled value came from and when, in `lang`."""
    from datetime import datetime

    from portal.definitions.japanese import format_date_en
    from portal.resident.prefill import REGISTER_NAMES

    register = REGISTER_NAMES[str(origin["source"])].get(lang)
    day = datetime.fromisoformat(str(origin["fetched_at"])).date()
    if lang == "en":
        return f"From the {register[0].lower()}{register[1:]}, {format_date_en(day)}"
    return f"{register}から（{day.year}年{day.month}月{day.day}日 取得）"


def _with_origin(
    view: FieldView,
    spec: AnyField,
    origin: Mapping[str, object] | None,
    *,
    value: object,
    raw: RawInputs | None,
    problems: Sequence[Problem],
    lang: str,
) -> FieldView:
    """Add the source badge, the read-only value of a locked field, or the reason box."""
    if origin is None:
        return view
    from dataclasses import replace

    badge = source_badge(origin, lang)
    if origin["editability"] == "locked":
        return replace(view, source_badge=badge, locked_value=display(spec, value, lang), inputs=())
    if origin["editability"] != "correctable":
        return replace(view, source_badge=badge)
    name = f"reason:{view.id}"
    reason_error = next(
        (
            _message(problem, lang)
            for problem in problems
            if isinstance(problem, FieldError) and problem.code == "correction_reason_required"
        ),
        None,
    )
    reason = InputView(
        name=name,
        html_id=html_id("reason-" + view.id),
        control="textarea",
        label=REASON_LABEL.get(lang),
        value=str(raw.get(name, "")) if raw is not None else "",
        autocomplete="off",
        inputmode=None,
        options=(),
        error=reason_error,
    )
    return replace(view, source_badge=badge, reason=reason)


REASON_LABEL = TextPair(
    ja="市の記録と違う内容に変えた場合は、その理由（変えていなければ空欄）",
    en="If you changed this from the city's records, why (leave empty if not)",
)


def page_view(
    journey: Journey,
    page: Page,
    *,
    answers: Mapping[str, object],
    raw: RawInputs | None,
    errors: Errors,
    lang: str,
    progress: tuple[int, int] | None,
    provenance: Mapping[str, Mapping[str, object]] | None = None,
) -> PageView:
    """Describe a page: shown again with what was typed, or with the stored answers."""
    heading_pair = journey.heading(page)
    fields: list[FieldView] = []
    links: list[ErrorLink] = []
    for field_id in page.fields:
        spec = journey.field_spec(field_id)
        if raw is not None:
            values = {
                spec_input.name: _raw_value(raw, spec_input.name, spec_input.control)
                for spec_input in field_type(spec).inputs(field_id, spec)
            }
        else:
            values = (
                stored_inputs(field_id, spec, answers.get(field_id)) if field_id in answers else {}
            )
        problems = [
            problem
            for name, found in errors.items()
            if name == field_id or name.startswith(field_id + ".")
            for problem in found
        ]
        view = field_view(
            field_id,
            spec,
            values=values,
            problems=[
                p for p in problems if getattr(p, "code", "") != "correction_reason_required"
            ],
            lang=lang,
            optional=isinstance(spec, FieldBase) and not spec.required and spec.required_if is None,
        )
        view = _with_origin(
            view,
            spec,
            (provenance or {}).get(field_id),
            value=answers.get(field_id),
            raw=raw,
            problems=problems,
            lang=lang,
        )
        fields.append(view)
        links.extend(error_links(view))
    one_question = len(fields) == 1 and not page.step.compiled.step.title
    heading = None if one_question else _text(heading_pair, lang)
    return PageView(heading=heading, fields=fields, errors=links, progress=progress)


def item_view(
    group_id: str,
    spec: GroupField,
    *,
    current: Mapping[str, object],
    raw: RawInputs | None,
    errors: Errors,
    heading: str,
    lang: str,
) -> PageView:
    """Describe the add-or-change page of one item of a repeatable group."""
    fields: list[FieldView] = []
    links: list[ErrorLink] = []
    for member_id, member in spec.fields.items():
        name = f"{group_id}.{member_id}"
        if raw is None:
            values = stored_inputs(name, member, current.get(member_id))
        else:
            values = {
                spec_input.name: _raw_value(raw, spec_input.name, spec_input.control)
                for spec_input in field_type(member).inputs(name, member)
            }
        problems = [
            problem
            for key, found in errors.items()
            if key == name or key.startswith(name + ".")
            for problem in found
        ]
        view = field_view(name, member, values=values, problems=problems, lang=lang)
        fields.append(view)
        links.extend(error_links(view))
    return PageView(heading=heading, fields=fields, errors=links)


@dataclass(frozen=True)
class AnswerRow:
    """One row of a check-your-answers list."""

    label: str
    value: str
    step_key: str
    field_id: str = ""


@dataclass(frozen=True)
class AnswerSection:
    title: str
    rows: list[AnswerRow]


def answer_sections(
    journey: Journey,
    answers: Mapping[str, object],
    *,
    shared_title: str,
    lang: str,
    context: object,
) -> list[AnswerSection]:
    """The answers of every page on the route, grouped by procedure, with change links."""
    owners = {procedure.id: procedure.model.title.get(lang) for procedure in journey.procedures}
    sections: dict[str, AnswerSection] = {}
    for page in journey.reachable_steps(answers, context):  # type: ignore[arg-type]
        if page.is_exit:
            continue
        owner = page.step.owner
        title = owners.get(owner, shared_title)
        section = sections.setdefault(owner, AnswerSection(title, []))
        for field_id in page.fields:
            spec = journey.field_spec(field_id)
            if isinstance(spec, ContentField):
                continue
            value = answers.get(field_id)
            if isinstance(spec, GroupField) and isinstance(value, list):
                shown = "\n".join(_item_summary(spec, item, lang) for item in value) or "—"
            else:
                shown = display(spec, value, lang)
            section.rows.append(
                AnswerRow(
                    spec.label.get(lang) if spec.label else field_id, shown, page.key, field_id
                )
            )
    return [section for section in sections.values() if section.rows]


def _item_summary(spec: GroupField, item: Mapping[str, object], lang: str) -> str:
    """One item of a repeatable group on one line."""
    parts = [
        display(member, item.get(member_id), lang)
        for member_id, member in spec.fields.items()
        if not isinstance(member, ContentField) and item.get(member_id) is not None
    ]
    return " / ".join(parts)


def item_summaries(spec: GroupField, items: Sequence[Mapping[str, object]], lang: str) -> list[str]:
    """Each item of a repeatable group on one line, for the loop's summary page."""
    return [_item_summary(spec, item, lang) for item in items]
