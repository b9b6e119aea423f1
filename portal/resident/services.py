"""A resident's life-event draft: questionnaire, chosen procedures, one combined form.

These functions hold the rules of the journey and take everything they need as
arguments (the database session, the owner, the time), so the views stay thin and
the same rules serve the counter-assisted filing and the API later. The engine in
`portal.definitions` decides what to ask and what is valid; this module keeps the
answers, pinned to the definition versions the draft started with.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from types import MappingProxyType

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.catalogue.services import catalogue_for_pins, published_catalogue
from portal.definitions.applicability import ProcedureList, applicable_procedures
from portal.definitions.catalogue import Catalogue, CompiledLifeEvent
from portal.definitions.expressions import EvalContext
from portal.definitions.fields import FieldError, LoadError, RawInputs, load_value, stored_value
from portal.definitions.journey import Journey, StepResult, merge_answers
from portal.definitions.schema import AnyField, PrivateService
from portal.resident.models import Draft

DRAFT_LIFETIME = timedelta(days=30)


class UnknownLifeEvent(LookupError):
    """No published life event has this id."""


class ProcedureNotOffered(ValueError):
    """A chosen procedure (or private service) is not one the resident's answers offer."""


@dataclass
class DraftState:
    """A draft with the engine objects of its pinned definitions and its typed answers."""

    draft: Draft
    catalogue: Catalogue
    life_event: CompiledLifeEvent
    answers: dict[str, object]

    @cached_property
    def questionnaire(self) -> Journey:
        """The journey through the life event's questions."""
        return Journey.for_questionnaire(self.life_event)

    @property
    def procedure_ids(self) -> list[str]:
        """The procedures the resident chose, in the life event's order."""
        return list(self.draft.procedure_ids or [])

    @cached_property
    def form(self) -> Journey:
        """The combined form of the chosen procedures."""
        return Journey.for_life_event(self.catalogue, self.life_event, self.procedure_ids)


def field_specs(catalogue: Catalogue, life_event: CompiledLifeEvent) -> Mapping[str, AnyField]:
    """Every field a life event's draft may hold, by id (the linter made ids unambiguous).

    Built once per catalogue and kept with it, read-only.
    """
    key = ("field_specs", life_event.id, life_event.content_hash)
    cached = catalogue.derived.get(key)
    if cached is not None:
        return cached  # type: ignore[return-value]
    specs: dict[str, AnyField] = {}
    specs.update(life_event.questionnaire.fields)
    specs.update(life_event.shared.fields)
    for procedure_id in life_event.model.procedures:
        specs.update(catalogue.procedure(procedure_id).fields)
    frozen = catalogue.derived[key] = MappingProxyType(specs)
    return frozen


def field_label(life_event: CompiledLifeEvent, field_id: str, lang: str) -> str:
    """What the resident calls a questionnaire or shared field: its label, else its id."""
    label = getattr(life_event.shared.fields.get(field_id), "label", None)
    return label.get(lang) if label is not None else field_id


def load_answers(stored: Mapping[str, object], specs: Mapping[str, AnyField]) -> dict[str, object]:
    answers: dict[str, object] = {}
    for field_id, data in stored.items():
        spec = specs.get(field_id)
        if spec is None:
            continue
        try:
            answers[field_id] = load_value(spec, data)
        except LoadError:
            # A stored answer that no longer fits is asked again rather than trusted.
            continue
    return answers


def _dump_answers(
    answers: Mapping[str, object], specs: Mapping[str, AnyField]
) -> dict[str, object]:
    return {
        field_id: stored_value(specs[field_id], value)
        for field_id, value in answers.items()
        if field_id in specs and value is not None
    }


def new_owner_key() -> str:
    """A random key that ties drafts to one browser until the resident signs in."""
    return "browser:" + secrets.token_urlsafe(24)


def start_draft(session: Session, *, owner_key: str, life_event_id: str, now: datetime) -> Draft:
    """Create a draft for a life event, pinned to the versions published now."""
    catalogue, pins = published_catalogue(session)
    if life_event_id not in catalogue.life_events:
        raise UnknownLifeEvent(life_event_id)
    draft = Draft(
        id=secrets.token_urlsafe(32),
        owner_key=owner_key,
        life_event_id=life_event_id,
        pins=pins,
        answers={},
        procedure_ids=None,
        stage="questionnaire",
        created_at=now,
        updated_at=now,
        expires_at=now + DRAFT_LIFETIME,
    )
    session.add(draft)
    return draft


def open_draft(
    session: Session, *, draft_id: str, owner_key: str | None, now: datetime
) -> DraftState | None:
    """Load a draft for its owner; None when it does not exist, is not theirs or expired."""
    if not owner_key:
        return None
    draft = session.scalars(
        select(Draft).where(Draft.id == draft_id, Draft.owner_key == owner_key)
    ).first()
    if draft is None or draft.expires_at <= now:
        return None
    return draft_state(session, draft)


def draft_state(session: Session, draft: Draft) -> DraftState:
    """A draft with its pinned definitions and typed answers, whoever owns it."""
    catalogue = catalogue_for_pins(session, draft.pins)
    life_event = catalogue.life_event(draft.life_event_id)
    answers = load_answers(draft.answers or {}, field_specs(catalogue, life_event))
    return DraftState(draft, catalogue, life_event, answers)


def drafts_of(session: Session, *, owner_key: str, now: datetime) -> Sequence[Draft]:
    """The owner's unfinished drafts, newest first."""
    return session.scalars(
        select(Draft)
        .where(Draft.owner_key == owner_key, Draft.expires_at > now)
        .order_by(Draft.updated_at.desc())
    ).all()


def store_answers(state: DraftState, answers: Mapping[str, object], now: datetime) -> None:
    specs = field_specs(state.catalogue, state.life_event)
    state.answers = dict(answers)
    state.draft.answers = _dump_answers(answers, specs)
    state.draft.updated_at = now
    state.draft.expires_at = now + DRAFT_LIFETIME


def plain_inputs(raw: RawInputs) -> dict[str, str | list[str]]:
    """A form's inputs as a plain dict: one text, or a list where a name repeats."""
    if hasattr(raw, "getlist"):
        plain: dict[str, str | list[str]] = {}
        for name in raw:
            values = raw.getlist(name)
            plain[name] = values[0] if len(values) == 1 else list(values)
        return plain
    return {name: value if isinstance(value, str) else list(value) for name, value in raw.items()}


def save_page(
    state: DraftState,
    journey: Journey,
    step_key: str,
    raw: RawInputs,
    *,
    now: datetime,
    context: EvalContext,
) -> StepResult:
    """Validate one page and, when it is valid, keep its answers (hidden ones dropped).

    Locked register values are put back before validation, whatever the form sent; a
    changed register value needs a reason, kept for the clerk.
    """
    from portal.resident import prefill

    inputs = plain_inputs(raw)
    inputs.update(prefill.locked_inputs(state, journey))
    result = journey.validate_step(step_key, inputs, state.answers, context)
    if not result.ok:
        return result
    reasons = {
        name.split(":", 1)[1]: str(value)
        for name, value in inputs.items()
        if name.startswith("reason:")
    }
    missing = prefill.record_corrections(state, journey, result.values, reasons)
    if missing:
        return StepResult(
            result.values, {name: [FieldError(code)] for name, code in missing.items()}
        )
    merged = merge_answers(state.answers, result.values)
    store_answers(state, journey.prune(merged, context), now)
    return result


def save_item(
    state: DraftState,
    step_key: str,
    index: int,
    raw: RawInputs,
    *,
    now: datetime,
    context: EvalContext,
) -> tuple[dict[str, object], dict[str, list]]:
    """Validate one item of a loop step and add it (index past the end) or replace it."""
    journey = state.form
    item, errors = journey.validate_item(step_key, raw, state.answers, context)
    if errors:
        return item, errors
    group_id = journey.page(step_key, state.answers, context).step.compiled.loop
    assert group_id is not None
    items = state.answers.get(group_id) or []
    assert isinstance(items, list)
    if index >= len(items):
        answers = journey.add_item(state.answers, group_id, item)
    else:
        answers = journey.replace_item(state.answers, group_id, index, item)
    store_answers(state, answers, now)
    return item, {}


def remove_item(
    state: DraftState, step_key: str, index: int, *, now: datetime, context: EvalContext
) -> None:
    """Remove one item of a loop step's group."""
    journey = state.form
    group_id = journey.page(step_key, state.answers, context).step.compiled.loop
    assert group_id is not None
    store_answers(state, journey.remove_item(state.answers, group_id, index), now)


def procedure_list(state: DraftState, context: EvalContext) -> ProcedureList:
    """What the questionnaire's answers bring: online, may apply, counter, automatic."""
    return applicable_procedures(state.catalogue, state.life_event, state.answers, context)


def offered_procedures(listing: ProcedureList) -> list[str]:
    """The procedures the resident may choose to file online now."""
    return [entry.id for entry in (*listing.online, *listing.may_apply)]


def offered_private_services(listing: ProcedureList) -> list[PrivateService]:
    """The private services the resident may ask the city to tell: those that apply and
    declare what they are sent."""
    return [service for service in listing.private_services if service.sends]


def chosen_private_services(state: DraftState, context: EvalContext) -> list[PrivateService]:
    """The private services the resident chose that the answers still offer, in order."""
    chosen = set(state.draft.private_services or ())
    listing = procedure_list(state, context)
    return [service for service in offered_private_services(listing) if service.id in chosen]


def choose_procedures(
    state: DraftState,
    chosen: Sequence[str],
    *,
    now: datetime,
    context: EvalContext,
    private_services: Sequence[str] = (),
) -> None:
    """Keep the procedures the resident goes ahead with, in the life event's order, and
    the private services they want told when the draft is filed (none unless ticked)."""
    listing = procedure_list(state, context)
    offered = offered_procedures(listing)
    services = [service.id for service in offered_private_services(listing)]
    refused = [procedure_id for procedure_id in chosen if procedure_id not in offered]
    refused += [service_id for service_id in private_services if service_id not in services]
    if refused:
        raise ProcedureNotOffered(", ".join(refused))
    state.draft.procedure_ids = [procedure_id for procedure_id in offered if procedure_id in chosen]
    state.draft.private_services = [
        service_id for service_id in services if service_id in private_services
    ]
    state.draft.stage = "form"
    state.__dict__.pop("form", None)
    store_answers(state, state.answers, now)


def chosen_still_offered(state: DraftState, context: EvalContext) -> bool:
    """Whether every chosen procedure still applies after the questionnaire changed."""
    offered = set(offered_procedures(procedure_list(state, context)))
    return state.draft.procedure_ids is not None and set(state.procedure_ids) <= offered


def first_page_with_problems(
    journey: Journey, answers: Mapping[str, object], context: EvalContext
) -> str | None:
    """The first page on the route whose answers are missing or no longer valid."""
    problems = journey.validate_all(answers, context)
    names = {name.split(".")[0] for name in problems}
    for page in journey.reachable_steps(answers, context):
        if not page.is_exit and names & set(page.fields):
            return page.key
    return None


def stopping_point(state: DraftState, context: EvalContext) -> tuple[str, str]:
    """Where a draft stopped, as (stage, page key): the page resuming it opens first.

    The stage is ``questionnaire`` or ``form`` with the first page still to answer, or
    ``choosing`` (questions done, no procedures chosen) or ``review`` (every page done,
    not submitted) with no page key. The statistics of where residents give up use it.
    """
    if state.draft.procedure_ids is None:
        pending = first_page_with_problems(state.questionnaire, state.answers, context)
        return ("questionnaire", pending) if pending else ("choosing", "")
    pending = first_page_with_problems(state.form, state.answers, context)
    return ("form", pending) if pending else ("review", "")


def transfer_drafts(session: Session, *, from_owner: str, to_owner: str) -> int:
    """Give a browser's drafts to the person who just signed in on it; return how many."""
    drafts = session.scalars(select(Draft).where(Draft.owner_key == from_owner)).all()
    for draft in drafts:
        draft.owner_key = to_owner
    return len(drafts)
