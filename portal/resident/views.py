"""The resident's journey: a life event's questions, the procedures that apply, one form.

Views parse the request, call `portal.resident.services`, commit once and redirect
(POST/redirect/GET), so a reload never sends a page twice. Drafts belong to the
browser that started them until sign-in ties them to a person.
"""

from __future__ import annotations

from dataclasses import replace

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from portal.backoffice import counter
from portal.backoffice import services as backoffice
from portal.backoffice.counter_views import assisted_session
from portal.catalogue.services import published_catalogue
from portal.database import utcnow
from portal.definitions.expressions import EvalContext, default_context
from portal.definitions.fields import FieldError
from portal.definitions.japanese import (
    InvalidValue,
    check_text,
    lookup_postal_code,
    message_for,
    parse_postal_code,
)
from portal.definitions.journey import Journey, StepNotAvailable
from portal.definitions.schema import GroupField
from portal.documents.downloads import send_document
from portal.documents.storage import file_storage
from portal.extensions import db
from portal.i18n import current_language
from portal.identity.auth import owner_key_for
from portal.identity.models import STAFF_ROLES
from portal.records.extract import RegisterExtract
from portal.records.sources import record_source
from portal.resident import (  # noqa: F401  (receipts registers its job handler)
    filers,
    pages,
    prefill,
    receipts,
    representation,
    services,
    uploads,
)
from portal.resident.services import DraftState
from portal.security import safe_redirect_target

bp = Blueprint("resident", __name__)
bp.add_app_template_global(representation.representing, "representing")

OWNER_SESSION_KEY = "draft_owner"


def _owner_key(create: bool = False) -> str | None:
    """The key that owns this browser's drafts (made on the first draft); a signed-in
    resident's own key whatever the browser held; the assisted session's at the counter.

    Staff see residents' drafts only in an assisted session, and then only its own.
    """
    assisted = assisted_session()
    if assisted is not None:
        return assisted.owner_key
    user = g.get("user")
    if user is not None and getattr(user, "role", None) in STAFF_ROLES:
        abort(403)
    if user is not None:
        return owner_key_for(user)
    key = session.get(OWNER_SESSION_KEY)
    if key is None and create:
        key = services.new_owner_key()
        session[OWNER_SESSION_KEY] = key
    return key


def _context() -> EvalContext:
    return default_context()


def _load(draft_id: str) -> DraftState:
    state = services.open_draft(db.session, draft_id=draft_id, owner_key=_owner_key(), now=utcnow())
    if state is None:
        abort(404)
    return state


def _returning() -> bool:
    """Whether the page was opened from the check-your-answers page."""
    return request.values.get("return") == "check"


@bp.get("/life-events/<life_event_id>")
def show_life_event(life_event_id: str) -> ResponseReturnValue:
    catalogue, _pins = published_catalogue(db.session)
    life_event = catalogue.life_events.get(life_event_id)
    if life_event is None:
        abort(404)
    lang = current_language()
    listed = [catalogue.procedure(procedure_id) for procedure_id in life_event.model.procedures]
    return render_template(
        "resident/life_event.html",
        life_event=life_event,
        lang=lang,
        online=[p for p in listed if p.model.mode == "online"],
        counter=[p for p in listed if p.model.mode == "counter"],
        automatic=[p for p in listed if p.model.mode == "automatic"],
    )


@bp.post("/life-events/<life_event_id>/start")
def start_draft(life_event_id: str) -> ResponseReturnValue:
    try:
        draft = services.start_draft(
            db.session,
            owner_key=_owner_key(create=True),
            life_event_id=life_event_id,
            now=utcnow(),
        )
    except services.UnknownLifeEvent:
        abort(404)
    db.session.commit()
    state = _load(draft.id)
    first = state.questionnaire.first_step(state.answers, _context())
    if first is None:
        return redirect(url_for("resident.choose_procedures", draft_id=draft.id), 303)
    return redirect(url_for("resident.answer_question", draft_id=draft.id, step_key=first.key), 303)


def _page_response(
    state: DraftState,
    journey: Journey,
    step_key: str,
    *,
    endpoint: str,
    raw=None,
    errors=None,
    status: int = 200,
) -> ResponseReturnValue:
    context = _context()
    try:
        page, previous = journey.page_and_previous(step_key, state.answers, context)
    except StepNotAvailable:
        abort(404)
    lang = current_language()
    if page.is_exit:
        exit_ = page.step.compiled.step.exit
        # One procedure's exit in the combined form ends that procedure only: the
        # resident carries on with the others.
        procedure_exit = (
            endpoint == "resident.fill_step" and page.step.owner in state.catalogue.procedures
        )
        return render_template(
            "resident/exit.html",
            state=state,
            title=exit_.title.get(lang),
            body=exit_.body.get(lang),
            procedure_title=_section_title(state, page.step.owner, lang),
            continue_url=_next_url(state, journey, step_key, endpoint)
            if procedure_exit
            else None,
            back_url=url_for(endpoint, draft_id=state.draft.id, step_key=previous.key)
            if previous
            else None,
        )
    if page.step.compiled.loop is not None:
        return _loop_summary(state, page, endpoint=endpoint, errors=errors or {}, status=status)
    view = pages.page_view(
        journey,
        page,
        answers=state.answers,
        raw=raw,
        errors=errors or {},
        lang=lang,
        progress=journey.progress(step_key, state.answers, context),
        provenance=prefill.provenance_of(state) if journey is not state.questionnaire else None,
    )
    view.fields = [
        replace(
            item,
            report_url=url_for(
                "resident.report_register",
                draft_id=state.draft.id,
                field_id=item.id,
                next=request.full_path.rstrip("?"),
            ),
        )
        if item.source_badge and g.get("user") is not None
        else item
        for item in view.fields
    ]
    if previous is not None:
        back_url = url_for(endpoint, draft_id=state.draft.id, step_key=previous.key)
    elif endpoint == "resident.fill_step":
        back_url = url_for("resident.choose_procedures", draft_id=state.draft.id)
    else:
        back_url = url_for("resident.show_life_event", life_event_id=state.life_event.id)
    if _returning():
        back_url = url_for("resident.check_answers", draft_id=state.draft.id)
    return (
        render_template(
            "resident/step.html",
            state=state,
            view=view,
            back_url=back_url,
            action=url_for(endpoint, draft_id=state.draft.id, step_key=step_key),
            returning=_returning(),
            section=_section_title(state, page.step.owner, lang),
            register_unavailable=journey is not state.questionnaire
            and prefill.register_state(state)["status"] == prefill.STATUS_UNAVAILABLE,
        ),
        status,
    )


def _section_title(state: DraftState, owner: str, lang: str) -> str:
    if owner in state.catalogue.procedures:
        return state.catalogue.procedure(owner).model.title.get(lang)
    return state.life_event.model.title.get(lang)


def _find_address(state: DraftState, journey: Journey, step_key: str) -> ResponseReturnValue:
    """Fill the prefecture, city and area from the postal code, without JavaScript."""
    field_id = request.form.get("find_address", "")
    raw = request.form.copy()
    errors: dict = {}
    try:
        code = parse_postal_code(raw.get(f"{field_id}.postal_code", ""))
        matches = lookup_postal_code(code)
    except InvalidValue as error:
        errors[field_id] = [FieldError(error.code, error.params, part="postal_code")]
        matches = []
    if matches:
        first = matches[0]
        raw[f"{field_id}.postal_code"] = code
        raw[f"{field_id}.prefecture"] = first.prefecture
        raw[f"{field_id}.city"] = first.city
        if len({match.town for match in matches}) == 1:
            raw[f"{field_id}.town"] = first.town
    elif not errors:
        errors[field_id] = [FieldError("postal_code_unknown", part="postal_code")]
    endpoint = (
        "resident.fill_step" if journey is not state.questionnaire else "resident.answer_question"
    )
    return _page_response(state, journey, step_key, endpoint=endpoint, raw=raw, errors=errors)


def _handle_page(
    state: DraftState, journey: Journey, step_key: str, endpoint: str
) -> ResponseReturnValue:
    if request.method == "GET":
        return _page_response(state, journey, step_key, endpoint=endpoint)
    if request.form.get("find_address"):
        return _find_address(state, journey, step_key)
    context = _context()
    try:
        result = services.save_page(
            state, journey, step_key, request.form, now=utcnow(), context=context
        )
    except StepNotAvailable:
        abort(404)
    if not result.ok:
        return _page_response(
            state,
            journey,
            step_key,
            endpoint=endpoint,
            raw=request.form,
            errors=result.errors,
            status=400,
        )
    db.session.commit()
    return _after_page(state, journey, step_key, endpoint)


def _after_page(state: DraftState, journey: Journey, step_key: str, endpoint: str) -> Response:
    return redirect(_next_url(state, journey, step_key, endpoint), 303)


def _next_url(state: DraftState, journey: Journey, step_key: str, endpoint: str) -> str:
    """Where the resident goes after a page: the next page, the documents or the check."""
    context = _context()
    draft_id = state.draft.id
    if endpoint == "resident.fill_step" and _returning():
        pending = services.first_page_with_problems(journey, state.answers, context)
        if pending is None:
            return url_for("resident.check_answers", draft_id=draft_id)
        return url_for(endpoint, draft_id=draft_id, step_key=pending, **{"return": "check"})
    following = journey.next_step(step_key, state.answers, context)
    if following is not None:
        return url_for(endpoint, draft_id=draft_id, step_key=following.key)
    if endpoint == "resident.answer_question":
        exit_page = journey.exit_reached(state.answers, context)
        if exit_page is not None:
            return url_for(endpoint, draft_id=draft_id, step_key=exit_page.key)
        return url_for("resident.choose_procedures", draft_id=draft_id)
    if uploads.needed_documents(state, context):
        return url_for("resident.supply_documents", draft_id=draft_id)
    return url_for("resident.check_answers", draft_id=draft_id)


@bp.route("/drafts/<draft_id>/questions/<step_key>", methods=["GET", "POST"])
def answer_question(draft_id: str, step_key: str) -> ResponseReturnValue:
    state = _load(draft_id)
    return _handle_page(state, state.questionnaire, step_key, "resident.answer_question")


@bp.route("/drafts/<draft_id>/procedures", methods=["GET", "POST"])
def choose_procedures(draft_id: str) -> ResponseReturnValue:
    state = _load(draft_id)
    context = _context()
    lang = current_language()
    exit_page = state.questionnaire.exit_reached(state.answers, context)
    if exit_page is not None:
        return redirect(
            url_for("resident.answer_question", draft_id=draft_id, step_key=exit_page.key), 303
        )
    pending = services.first_page_with_problems(state.questionnaire, state.answers, context)
    if pending is not None:
        return redirect(
            url_for("resident.answer_question", draft_id=draft_id, step_key=pending), 303
        )
    listing = services.procedure_list(state, context)
    told_services = services.offered_private_services(listing)
    error = None
    # Private services are told only when ticked: none is ticked until the resident does.
    chosen_services = list(state.draft.private_services or ())
    if request.method == "POST":
        chosen = request.form.getlist("procedures")
        chosen_services = request.form.getlist("private_services")
        if not chosen:
            error = _(
                "Select at least one procedure to file online, or go back and check your answers."
            )
        else:
            try:
                services.choose_procedures(
                    state,
                    chosen,
                    now=utcnow(),
                    context=context,
                    private_services=chosen_services,
                )
            except services.ProcedureNotOffered:
                abort(400)
            db.session.commit()
            return _to_form(state)
    selected = (
        set(state.procedure_ids)
        if state.draft.procedure_ids is not None
        else {entry.id for entry in listing.online}
    )
    last_question = state.questionnaire.reachable_steps(state.answers, context)
    return (
        render_template(
            "resident/procedures.html",
            state=state,
            listing=listing,
            lang=lang,
            selected=selected,
            error=error,
            questionnaire_fields={
                field_id: spec.label.get(lang)
                for field_id, spec in state.life_event.questionnaire.fields.items()
                if spec.label is not None
            },
            told_services=told_services,
            chosen_services=chosen_services,
            sent_fields={
                service.id: [
                    services.field_label(state.life_event, field_id, lang)
                    for field_id in service.sends or ()
                ]
                for service in told_services
            },
            back_url=url_for(
                "resident.answer_question", draft_id=draft_id, step_key=last_question[-1].key
            )
            if last_question
            else None,
        ),
        400 if error else 200,
    )


def _signed_in_person() -> str | None:
    """The register person key of the signed-in resident, or of the resident whose
    identity the clerk checked at the counter."""
    assisted = assisted_session()
    if assisted is not None:
        return assisted.person_key
    user = g.get("user")
    return getattr(user, "person_key", None) if user is not None else None


def _actor() -> str:
    user = g.get("user")
    return f"user:{user.id}" if user is not None else "anonymous"


def _to_form(state: DraftState) -> Response:
    """After choosing: consent to read the registers, for whom the resident files, then
    the first page; each asked once."""
    draft_id = state.draft.id
    record = prefill.register_state(state)
    if (
        record["status"] == prefill.STATUS_NOT_ASKED
        and _signed_in_person()
        and prefill.plan(state.form)
    ):
        return redirect(url_for("resident.consent_records", draft_id=draft_id), 303)
    if not representation.decided(record) and representation.allowed(state.form):
        return redirect(url_for("resident.choose_filing_for", draft_id=draft_id), 303)
    first = state.form.first_step(state.answers, _context())
    if first is None:
        return redirect(url_for("resident.check_answers", draft_id=draft_id), 303)
    return redirect(url_for("resident.fill_step", draft_id=draft_id, step_key=first.key), 303)


def _after_records(state: DraftState, extract: RegisterExtract | None) -> Response:
    """Ask whom the application is about when the register relates people to the resident."""
    uses = prefill.plan(state.form)
    about_someone = any("concerned" in use.subjects for use in uses.values())
    if (
        extract is not None
        and about_someone
        and representation.representing(prefill.register_state(state)) is None
        and prefill.candidates(extract, current_language())
    ):
        return redirect(url_for("resident.choose_person", draft_id=state.draft.id), 303)
    return _to_form(state)


@bp.route("/drafts/<draft_id>/records", methods=["GET", "POST"])
def consent_records(draft_id: str) -> ResponseReturnValue:
    """Ask, register by register, before reading anything the city holds."""
    state = _load(draft_id)
    journey = _require_form(state)
    person_key = _signed_in_person()
    if person_key is None:
        return _to_form(state)
    uses = prefill.plan(journey)
    lang = current_language()
    if request.method == "POST":
        now = utcnow()
        chosen = [name for name in request.form.getlist("sources") if name in uses]
        assisted = assisted_session()
        if request.form.get("action") == "decline" or not chosen:
            prefill.decline(state, now=now)
            if assisted is not None:
                counter.record_consent(db.session, assisted, draft_id=draft_id, sources=[])
            db.session.commit()
            return _to_form(state)
        if assisted is not None:
            # The resident agreed at the counter; the clerk ticked it and it is recorded.
            counter.record_consent(db.session, assisted, draft_id=draft_id, sources=chosen)
        extract = prefill.fetch(
            db.session,
            state,
            source=record_source(),
            person_key=person_key,
            consented=chosen,
            actor=_actor(),
            now=now,
            ground=counter.IDENTITY_GROUND if assisted is not None else "self",
        )
        if extract is not None and not representation.allowed(journey):
            prefill.apply(
                db.session,
                state,
                journey,
                extract=extract,
                concerned_key=None,
                actor=_actor(),
                now=now,
            )
            db.session.commit()
            return _after_records(state, extract)
        # Whose details fill the form waits until the resident says for whom they file.
        db.session.commit()
        return _to_form(state)
    return render_template(
        "resident/records.html",
        state=state,
        uses=uses,
        lang=lang,
        labels={
            field_id: journey.field_spec(field_id).label.get(lang)
            for use in uses.values()
            for field_id in use.fields
        },
        back_url=url_for("resident.choose_procedures", draft_id=draft_id),
    )


@bp.route("/drafts/<draft_id>/records/person", methods=["GET", "POST"])
def choose_person(draft_id: str) -> ResponseReturnValue:
    """Say whom the application is about, from the persons the register relates to you."""
    state = _load(draft_id)
    journey = _require_form(state)
    extract = prefill.stored_extract(state)
    if extract is None or _signed_in_person() != extract.person_key:
        return _to_form(state)
    lang = current_language()
    people = prefill.candidates(extract, lang)
    error = None
    if request.method == "POST":
        chosen = request.form.get("person", "")
        if chosen == "none":
            return _to_form(state)
        if chosen in {key for key, _shown in people}:
            prefill.apply(
                db.session,
                state,
                journey,
                extract=extract,
                concerned_key=chosen,
                actor=_actor(),
                now=utcnow(),
            )
            db.session.commit()
            return _to_form(state)
        error = _("Select the person this application is about, or say they are not listed.")
    return (
        render_template(
            "resident/person.html",
            state=state,
            people=people,
            error=error,
            back_url=url_for("resident.consent_records", draft_id=draft_id),
        ),
        400 if error else 200,
    )


@bp.route("/drafts/<draft_id>/filing-for", methods=["GET", "POST"])
def choose_filing_for(draft_id: str) -> ResponseReturnValue:
    """Ask whether the resident files for themselves or as someone's representative."""
    state = _load(draft_id)
    journey = _require_form(state)
    if not representation.allowed(journey):
        return _to_form(state)
    extract = prefill.stored_extract(state)
    if extract is not None and _signed_in_person() != extract.person_key:
        extract = None
    principals = representation.principals(extract)
    record = prefill.register_state(state)
    stored = record.get("representation")
    typed = {
        "name": "" if not stored or stored.get("person_key") else stored.get("name", ""),
        "scope": "" if not stored or stored.get("person_key") else stored.get("scope", ""),
    }
    chosen = representation.shown_choice(stored)
    errors: dict[str, str] = {}
    if request.method == "POST":
        chosen = request.form.get("filing_for", "")
        typed = {
            key: representation.clean_text(request.form.get(f"other_{key}")) for key in typed
        }
        block, problems = representation.choose(
            chosen, principals, typed["name"], typed["scope"]
        )
        messages = {
            ("filing_for", "missing"): _("Select whom you are filing for."),
            ("other_name", "missing"): _("Enter the name of the person you act for."),
            ("other_scope", "missing"): _("Enter what the power of attorney lets you do."),
        }
        errors = {
            key: messages.get((key, code))
            or _("Use %(max)d characters or fewer.", max=representation.MAX_TEXT)
            for key, code in problems.items()
        }
        if not errors:
            if stored and stored != block:
                prefill.forget_applicant_values(state, utcnow())
            record = prefill.register_state(state)
            record["representation"] = block
            state.draft.register = record
            if extract is not None and chosen != representation.OTHER:
                prefill.apply(
                    db.session,
                    state,
                    journey,
                    extract=extract,
                    concerned_key=None,
                    actor=_actor(),
                    now=utcnow(),
                    acting_for=block.get("person_key"),
                )
            db.session.commit()
            return _after_records(state, extract)
    return (
        render_template(
            "resident/filing_for.html",
            state=state,
            lang=current_language(),
            principals=principals,
            errors=errors,
            chosen=chosen,
            typed=typed,
            back_url=url_for("resident.choose_procedures", draft_id=draft_id),
        ),
        400 if errors else 200,
    )


def _require_form(state: DraftState) -> Journey:
    if state.draft.procedure_ids is None or not services.chosen_still_offered(state, _context()):
        abort(redirect(url_for("resident.choose_procedures", draft_id=state.draft.id), 303))
    return state.form


@bp.route("/drafts/<draft_id>/form/<step_key>", methods=["GET", "POST"])
def fill_step(draft_id: str, step_key: str) -> ResponseReturnValue:
    state = _load(draft_id)
    journey = _require_form(state)
    return _handle_page(state, journey, step_key, "resident.fill_step")


def _loop_summary(
    state: DraftState, page, *, endpoint: str, errors, status: int
) -> ResponseReturnValue:
    lang = current_language()
    context = _context()
    group_id = page.step.compiled.loop
    spec = state.form.field_spec(group_id)
    assert isinstance(spec, GroupField)
    items = state.answers.get(group_id) or []
    journey = state.form
    previous = journey.previous_step(page.key, state.answers, context)
    problems = [
        pages.ErrorLink("#add-item", problem.message(lang)) for problem in errors.get(group_id, [])
    ]
    return (
        render_template(
            "resident/loop.html",
            state=state,
            page=page,
            spec=spec,
            lang=lang,
            heading=(journey.heading(page) or spec.label).get(lang),
            summaries=pages.item_summaries(spec, items, lang),
            can_add=len(items) < spec.max_items,
            problems=problems,
            progress=journey.progress(page.key, state.answers, context),
            back_url=url_for(endpoint, draft_id=state.draft.id, step_key=previous.key)
            if previous
            else url_for("resident.choose_procedures", draft_id=state.draft.id),
            returning=_returning(),
            section=_section_title(state, page.step.owner, lang),
        ),
        status,
    )


@bp.route("/drafts/<draft_id>/form/<step_key>/items/<int:index>", methods=["GET", "POST"])
def fill_item(draft_id: str, step_key: str, index: int) -> ResponseReturnValue:
    state = _load(draft_id)
    journey = _require_form(state)
    context = _context()
    lang = current_language()
    try:
        page = journey.page(step_key, state.answers, context)
    except StepNotAvailable:
        abort(404)
    group_id = page.step.compiled.loop
    if group_id is None:
        abort(404)
    spec = journey.field_spec(group_id)
    assert isinstance(spec, GroupField)
    items = state.answers.get(group_id) or []
    if index > len(items) or (index == len(items) and len(items) >= spec.max_items):
        abort(404)
    errors: dict = {}
    raw = None
    if request.method == "POST":
        _item, errors = services.save_item(
            state, step_key, index, request.form, now=utcnow(), context=context
        )
        if not errors:
            db.session.commit()
            return redirect(
                url_for(
                    "resident.fill_step", draft_id=draft_id, step_key=step_key, **_return_args()
                ),
                303,
            )
        raw = request.form
    item_label = (spec.item_label or spec.label).get(lang)
    view = pages.item_view(
        group_id,
        spec,
        current=items[index] if index < len(items) else {},
        raw=raw,
        errors=errors,
        heading=item_label,
        lang=lang,
    )
    return (
        render_template(
            "resident/step.html",
            state=state,
            view=view,
            back_url=url_for(
                "resident.fill_step", draft_id=draft_id, step_key=step_key, **_return_args()
            ),
            action=url_for(
                "resident.fill_item",
                draft_id=draft_id,
                step_key=step_key,
                index=index,
                **_return_args(),
            ),
            returning=False,
            section=_section_title(state, page.step.owner, lang),
        ),
        400 if errors else 200,
    )


def _return_args() -> dict[str, str]:
    return {"return": "check"} if _returning() else {}


@bp.post("/drafts/<draft_id>/form/<step_key>/items/<int:index>/remove")
def remove_item(draft_id: str, step_key: str, index: int) -> ResponseReturnValue:
    state = _load(draft_id)
    _require_form(state)
    try:
        services.remove_item(state, step_key, index, now=utcnow(), context=_context())
    except (StepNotAvailable, IndexError):
        abort(404)
    db.session.commit()
    return redirect(
        url_for("resident.fill_step", draft_id=draft_id, step_key=step_key, **_return_args()), 303
    )


@bp.get("/drafts/<draft_id>/check")
def check_answers(draft_id: str, declaration_error: str | None = None) -> ResponseReturnValue:
    state = _load(draft_id)
    journey = _require_form(state)
    context = _context()
    lang = current_language()
    pending = services.first_page_with_problems(journey, state.answers, context)
    if pending is not None:
        return redirect(url_for("resident.fill_step", draft_id=draft_id, step_key=pending), 303)
    if uploads.undecided(state, context):
        return redirect(url_for("resident.supply_documents", draft_id=draft_id), 303)
    sections = pages.answer_sections(
        journey,
        state.answers,
        shared_title=_("About you and the event"),
        lang=lang,
        context=context,
    )
    questions = pages.answer_sections(
        state.questionnaire,
        state.answers,
        shared_title=state.life_event.model.title.get(lang),
        lang=lang,
        context=context,
    )
    return (
        render_template(
            "resident/check.html",
            state=state,
            sections=sections,
            questions=questions,
            exited=journey.exited_procedures(state.answers, context),
            lang=lang,
            signed_in=g.get("user") is not None,
            declaration_error=declaration_error,
            documents=uploads.needed_documents(state, context),
            waived=uploads.waived(state, context),
            not_allowed=[
                (
                    state.catalogue.procedure(procedure_id).model.title.get(lang),
                    [
                        filers.ROLE_NAMES[role].get(lang)
                        for role in state.catalogue.procedure(procedure_id).model.rules.who_may_file
                    ],
                )
                for procedure_id in filers.procedures_not_allowed(
                    journey, prefill.register_state(state), state.answers
                )
            ],
        ),
        400 if declaration_error else 200,
    )


@bp.post("/drafts/<draft_id>/submit")
def submit_draft(draft_id: str) -> ResponseReturnValue:
    """One submit files every chosen procedure; pressing it twice files once.

    At the counter the application is the resident's, marked as assisted by the clerk
    with the identity check they recorded, and the clerk goes back to the session.
    """
    user = g.get("user")
    if user is None:
        abort(403)
    assisted = assisted_session()
    already = backoffice.application_for_draft(db.session, draft_id)
    if already is not None and assisted is not None and already.assisted_by == user.id:
        return redirect(url_for("backoffice.show_counter_session"), 303)
    if already is not None and already.applicant_id == user.id:
        return redirect(url_for("resident.show_application", reference=already.reference), 303)
    state = _load(draft_id)
    _require_form(state)
    if request.form.get("declaration") != "yes":
        return check_answers(
            draft_id,
            declaration_error=_("Confirm that the information you gave is correct."),
        )
    context = _context()
    now = utcnow()
    language = current_language()
    applicant = (
        counter.resident_applicant(db.session, assisted, language=language, now=now)
        if assisted is not None
        else user
    )
    try:
        filed = backoffice.file_draft(
            db.session,
            state,
            applicant_id=applicant.id,
            applicant_name=assisted.resident_name if assisted is not None else user.display_name,
            language=language,
            now=now,
            context=context,
            timezone=current_app.config["PORTAL_TIMEZONE"],
            assisted_by=user.id if assisted is not None else None,
            identity_check=counter.identity_record(assisted) if assisted is not None else None,
        )
        if assisted is not None and filed.created:
            counter.record_filed(db.session, assisted, filed.application)
        # Read before the commit expires it: reading it after would open a transaction.
        reference = filed.application.reference
        db.session.commit()
    except backoffice.SubmitRefused:
        db.session.rollback()
        pending = services.first_page_with_problems(state.form, state.answers, context)
        target = (
            url_for("resident.fill_step", draft_id=draft_id, step_key=pending)
            if pending
            else url_for("resident.check_answers", draft_id=draft_id)
        )
        return redirect(target, 303)
    except IntegrityError:
        # A second press raced the first: the first one filed it.
        db.session.rollback()
        already = backoffice.application_for_draft(db.session, draft_id)
        if already is None:
            raise
        reference = already.reference
    if assisted is not None:
        return redirect(url_for("backoffice.show_counter_session"), 303)
    return redirect(url_for("resident.show_application", reference=reference), 303)


@bp.route("/drafts/<draft_id>/report/<field_id>", methods=["GET", "POST"])
def report_register(draft_id: str, field_id: str) -> ResponseReturnValue:
    """Tell the department that keeps a register that one of its values is wrong."""
    state = _load(draft_id)
    user = g.get("user")
    person_key = _signed_in_person()
    origin = prefill.provenance_of(state).get(field_id)
    if user is None or person_key is None or origin is None:
        abort(404)
    lang = current_language()
    back = safe_redirect_target(
        request.values.get("next"), fallback=url_for("resident.check_answers", draft_id=draft_id)
    )
    label = state.form.field_spec(field_id).label.get(lang)
    error = None
    message = request.form.get("message", "")
    if request.method == "POST":
        try:
            text = check_text(message, max_length=prefill.MAX_REPORT_LENGTH, multiline=True)
        except InvalidValue as invalid:
            text, error = "", message_for(invalid, lang)
        if not error and not text.strip():
            error = _("Tell us what is wrong in the record.")
        if not error:
            report = prefill.report_wrong_value(
                db.session,
                state,
                user_id=user.id,
                person_key=person_key,
                field_id=field_id,
                message=text,
                actor=_actor(),
                now=utcnow(),
            )
            db.session.commit()
            return render_template(
                "resident/report_sent.html",
                label=label,
                back_url=back,
                department=_department_name(state, report.department_id, lang),
            )
    return (
        render_template(
            "resident/report.html",
            state=state,
            label=label,
            field_id=field_id,
            error=error,
            message=message,
            back_url=back,
            register=prefill.REGISTER_NAMES[str(origin["source"])].get(lang),
            value=pages.display(state.form.field_spec(field_id), state.answers.get(field_id), lang),
        ),
        400 if error else 200,
    )


def _department_name(state: DraftState, department_id: str, lang: str) -> str:
    names = {d.id: d.name.get(lang) for d in state.catalogue.departments}
    return names.get(department_id, department_id)


@bp.route("/drafts/<draft_id>/documents", methods=["GET", "POST"])
def supply_documents(draft_id: str) -> ResponseReturnValue:
    """Upload each supporting document, or say how it will reach the city instead."""
    state = _load(draft_id)
    _require_form(state)
    context = _context()
    lang = current_language()
    errors: dict[str, str] = {}
    if request.method == "POST":
        for item in uploads.needed_documents(state, context):
            error = _take_document(state, item, lang)
            if error:
                errors[item.key] = error
        db.session.commit()  # what was accepted is kept, whatever else failed
        if not errors:
            return redirect(url_for("resident.check_answers", draft_id=draft_id), 303)
    needed = uploads.needed_documents(state, context)
    return (
        render_template(
            "resident/documents.html",
            state=state,
            needed=needed,
            waived=uploads.waived(state, _context()),
            errors=errors,
            lang=lang,
            type_names=uploads.TYPE_NAMES,
        ),
        400 if errors else 200,
    )


def _take_document(state: DraftState, item: uploads.NeededDocument, lang: str) -> str | None:
    """Apply the resident's choice for one document; return an error message or None."""
    sent = request.files.get(f"file:{item.key}")
    try:
        uploads.apply_choice(
            state,
            item,
            choice=request.form.get(f"delivery:{item.key}", ""),
            filename=sent.filename if sent is not None else None,
            data=sent.read() if sent is not None and sent.filename else b"",
            storage=file_storage(),
        )
    except uploads.UploadRefused as refused:
        return refused.message(lang)
    return None


@bp.get("/drafts/<draft_id>")
def resume_draft(draft_id: str) -> ResponseReturnValue:
    """Go back to where an unfinished draft stopped: the first page still to be answered."""
    state = _load(draft_id)
    context = _context()
    if state.draft.procedure_ids is None:
        pending = services.first_page_with_problems(state.questionnaire, state.answers, context)
        if pending:
            return redirect(
                url_for("resident.answer_question", draft_id=draft_id, step_key=pending), 303
            )
        return redirect(url_for("resident.choose_procedures", draft_id=draft_id), 303)
    _require_form(state)
    record = prefill.register_state(state)
    if record["status"] == prefill.STATUS_NOT_ASKED or not representation.decided(record):
        return _to_form(state)
    pending = services.first_page_with_problems(state.form, state.answers, context)
    if pending:
        return redirect(url_for("resident.fill_step", draft_id=draft_id, step_key=pending), 303)
    return redirect(url_for("resident.check_answers", draft_id=draft_id), 303)


@bp.get("/drafts/<draft_id>/documents/<document_key>")
def download_upload(draft_id: str, document_key: str) -> ResponseReturnValue:
    """An uploaded document, to the draft's owner only, as a download."""
    state = _load(draft_id)
    entry = (state.draft.documents or {}).get(document_key) or {}
    if entry.get("delivery") != uploads.UPLOAD:
        abort(404)
    return send_document(file_storage().get(entry["key"]), entry["content_type"])


# The application pages and the dashboard add their routes to this blueprint.
from portal.resident import applications  # noqa: E402, F401
