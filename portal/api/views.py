"""The back-office API under ``/api/v1``: JSON in and out, for departments' systems.

Callers authenticate with a bearer token on every request; no cookie or session is
read or set, so the API is exempt from CSRF protection. Errors raised in these views
are RFC 9457 problem details. Views stay thin: the rules live in `services`.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from portal.api import services
from portal.api.models import ApiClient
from portal.api.openapi import API_PREFIX, PROBLEM_JSON, openapi_document
from portal.api.schema import (
    DEFINITION_ID_PATTERN,
    MessageRequest,
    MessageSent,
    Problem,
    StatusChangeRequest,
    TransitionProblem,
)
from portal.backoffice.models import SUBMISSION_STATUSES, Submission
from portal.backoffice.workflow import TransitionRefused, allowed_moves
from portal.database import utcnow
from portal.definitions.expressions import default_context
from portal.documents.downloads import send_document
from portal.documents.storage import file_storage
from portal.extensions import csrf, db

log = logging.getLogger("portal.api")

bp = Blueprint("api", __name__, url_prefix=API_PREFIX)
csrf.exempt(bp)

REALM = "madoguchi-api"
PROBLEM_TYPE = "urn:madoguchi:problem:{name}"
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_LIMIT = re.compile(r"[0-9]{1,4}")
_INDEX = re.compile(r"[0-9]{1,4}")
_DEFINITION_ID = re.compile(DEFINITION_ID_PATTERN)

ClientView = Callable[..., ResponseReturnValue]
LIST_QUERY = ("status", "procedure", "updated_since", "cursor", "limit")


class BadQuery(ValueError):
    """A query parameter that does not fit the documented schema."""


def _json(document: BaseModel, status: int = 200) -> Response:
    return current_app.response_class(
        document.model_dump_json(), status=status, mimetype="application/json"
    )


def problem(
    status: int,
    detail: str | None = None,
    *,
    name: str | None = None,
    headers: dict[str, str] | None = None,
    document: Problem | None = None,
) -> Response:
    """An RFC 9457 problem; ``name`` gives it a type of its own, else it is ``about:blank``."""
    body = document or Problem(
        type=PROBLEM_TYPE.format(name=name) if name else "about:blank",
        title=HTTP_STATUS_CODES.get(status, "Error"),
        status=status,
        detail=detail,
    )
    response = current_app.response_class(
        body.model_dump_json(exclude_none=True), status=status, mimetype=PROBLEM_JSON
    )
    response.headers.update(headers or {})
    return response


def request_client() -> ApiClient | None:
    """The live client this request's bearer token proves, checked once per request.

    The secret check is deliberately slow (scrypt); the rate limiter and the view both
    need the answer, so it is kept on ``g``.
    """
    if "api_client" not in g:
        authorization = request.headers.get("Authorization")
        g.api_client = services.authenticate(db.session, authorization) if authorization else None
    return g.api_client  # type: ignore[no-any-return]


def requires_scope(scope: str, query: tuple[str, ...] = ()) -> Callable[[ClientView], ClientView]:
    """Let in only a live client holding ``scope``; the view gets the client first.

    ``query`` names the query parameters the operation takes, each at most once; any
    other is refused, so that a misspelt filter never silently widens an answer.
    """

    def decorate(view: ClientView) -> ClientView:
        @functools.wraps(view)
        def wrapped(**kwargs: Any) -> ResponseReturnValue:
            authorization = request.headers.get("Authorization")
            client = request_client()
            if client is None:
                challenge = f'Bearer realm="{REALM}"'
                if authorization:
                    challenge += ', error="invalid_token"'
                return problem(
                    401,
                    "Send Authorization: Bearer <client_id>.<secret> of a client that is not "
                    "revoked.",
                    headers={"WWW-Authenticate": challenge},
                )
            if scope not in client.scopes:
                return problem(
                    403,
                    f"This client lacks the {scope} scope.",
                    name="insufficient-scope",
                    headers={
                        "WWW-Authenticate": (
                            f'Bearer realm="{REALM}", error="insufficient_scope", scope="{scope}"'
                        )
                    },
                )
            unexpected = sorted(
                name
                for name in request.args
                if name not in query or len(request.args.getlist(name)) > 1
            )
            if unexpected:
                return problem(
                    400, f"Unexpected or repeated query parameters: {', '.join(unexpected)}."
                )
            return view(client, **kwargs)

        return wrapped

    return decorate


def _not_found(reference: str) -> Response:
    return problem(404, f"There is no submission {reference} in this client's departments.")


def _query_text(name: str) -> str | None:
    value = request.args.get(name)
    if value is None:
        return None
    if not value:
        raise BadQuery(f"{name} is empty")
    return value


def _updated_since() -> datetime | None:
    raw = _query_text("updated_since")
    if raw is None:
        return None
    if not _RFC3339.fullmatch(raw):
        raise BadQuery(
            "updated_since is an RFC 3339 time with an offset, such as 2026-12-01T09:00:00+09:00"
        )
    normal = raw.upper().replace(" ", "T").replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(normal).astimezone(UTC)
    except (ValueError, OverflowError):  # no such day, or beyond year 1 to 9999 in UTC
        raise BadQuery("updated_since is not a real time") from None


def _limit() -> int:
    raw = _query_text("limit")
    if raw is None:
        return services.DEFAULT_PAGE_SIZE
    if not _LIMIT.fullmatch(raw) or not 1 <= int(raw) <= services.MAX_PAGE_SIZE:
        raise BadQuery(f"limit is a whole number from 1 to {services.MAX_PAGE_SIZE}")
    return int(raw)


@bp.get("/submissions")
@requires_scope("submissions:read", LIST_QUERY)
def list_submissions(client: ApiClient) -> ResponseReturnValue:
    """One page of the client's departments' submissions, filtered."""
    try:
        status = _query_text("status")
        if status is not None and status not in SUBMISSION_STATUSES:
            raise BadQuery(f"status is one of {', '.join(SUBMISSION_STATUSES)}")
        procedure = _query_text("procedure")
        if procedure is not None and not _DEFINITION_ID.fullmatch(procedure):
            raise BadQuery("procedure is a procedure id such as child_allowance_claim")
        page = services.list_submissions(
            db.session,
            client,
            status=status,
            procedure=procedure,
            updated_since=_updated_since(),
            cursor=_query_text("cursor"),
            limit=_limit(),
        )
    except BadQuery as error:
        return problem(400, str(error))
    except services.BadCursor:
        return problem(400, "cursor is not a next_cursor this API gave")
    return _json(page)


@bp.get("/submissions/<reference>")
@requires_scope("submissions:read")
def show_submission(client: ApiClient, reference: str) -> ResponseReturnValue:
    """A submission with its answers, documents and timeline."""
    submission = services.find_submission(db.session, client, reference)
    if submission is None:
        return _not_found(reference)
    return _json(services.submission_detail(db.session, client, submission))


@bp.post("/submissions/<reference>/status")
@requires_scope("submissions:write")
def change_status(client: ApiClient, reference: str) -> ResponseReturnValue:
    """Move a submission through the workflow as the client's department."""
    submission = services.find_submission(db.session, client, reference)
    if submission is None:
        return _not_found(reference)
    if request.mimetype != "application/json":
        return problem(415, "Send the status change as application/json.")
    try:
        change = StatusChangeRequest.model_validate_json(request.get_data())
    except ValidationError as error:
        return problem(400, _where(error))
    try:
        services.change_status(
            db.session,
            client,
            submission,
            change.status,
            reason=change.reason,
            now=utcnow(),
            timezone=current_app.config["PORTAL_TIMEZONE"],
            is_business_day=default_context().is_business_day,
        )
    except TransitionRefused as refused:
        return _transition_refused(submission, refused)
    db.session.commit()
    return _json(services.submission_detail(db.session, client, submission))


def _where(error: ValidationError) -> str:
    """Which parts of a JSON body do not fit its schema, and why."""
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or 'body'}: {item['msg']}"
        for item in error.errors(include_input=False)
    )


def _transition_refused(submission: Submission, refused: TransitionRefused) -> Response:
    return problem(
        409,
        document=TransitionProblem(
            type=PROBLEM_TYPE.format(name="transition-refused"),
            title="The workflow does not allow this status change",
            status=409,
            detail=(
                f"{submission.reference} is {refused.from_status}; "
                f"it cannot move to {refused.to_status}."
            ),
            current_status=refused.from_status,  # type: ignore[arg-type]
            requested_status=refused.to_status,  # type: ignore[arg-type]
            allowed_statuses=allowed_moves(submission, "api"),  # type: ignore[arg-type]
        ),
    )


@bp.post("/submissions/<reference>/messages")
@requires_scope("submissions:write")
def send_message(client: ApiClient, reference: str) -> ResponseReturnValue:
    """Tell the applicant something, or ask them for information (the clock stops)."""
    submission = services.find_submission(db.session, client, reference)
    if submission is None:
        return _not_found(reference)
    if request.mimetype != "application/json":
        return problem(415, "Send the message as application/json.")
    try:
        sent = MessageRequest.model_validate_json(request.get_data())
    except ValidationError as error:
        return problem(400, _where(error))
    try:
        message = services.send_message(
            db.session,
            client,
            submission,
            sent.kind,
            sent.body,
            now=utcnow(),
            timezone=current_app.config["PORTAL_TIMEZONE"],
            is_business_day=default_context().is_business_day,
        )
    except services.MessageRefused as refused:
        return problem(400, str(refused))
    except services.ProposalWaiting:
        return problem(
            409,
            f"A four-eyes decision on {reference} waits for a second clerk; the applicant "
            "cannot be asked for information until it is confirmed or sent back.",
            name="proposal-waiting",
        )
    except TransitionRefused as refused:
        return _transition_refused(submission, refused)
    db.session.commit()
    return _json(
        MessageSent(
            reference=submission.reference,
            kind=message.kind,  # type: ignore[arg-type]
            body=message.body,
            created_at=message.created_at,
            status=submission.status,  # type: ignore[arg-type]
        ),
        status=201,
    )


# ``index`` is matched as text so that a malformed one is answered here, as a problem.
@bp.get("/submissions/<reference>/documents/<index>")
@requires_scope("submissions:read")
def download_document(client: ApiClient, reference: str, index: str) -> ResponseReturnValue:
    """An uploaded supporting document of a submission, as an attachment."""
    submission = services.find_submission(db.session, client, reference)
    if submission is None:
        return _not_found(reference)
    entry = services.document_entry(submission, int(index)) if _INDEX.fullmatch(index) else None
    if entry is None:
        return problem(404, f"{reference} has no uploaded file at index {index}.")
    try:
        data = file_storage().get(entry["key"])
    except FileNotFoundError:
        log.warning("document missing from storage", extra={"submission": reference})
        return problem(404, f"The file of document {index} of {reference} is missing.")
    return send_document(data, entry["content_type"], entry.get("name"))


@bp.get("/openapi.json")
def show_openapi() -> ResponseReturnValue:
    """The OpenAPI document of this API; public, like any API's description."""
    return jsonify(openapi_document())


@bp.errorhandler(HTTPException)
def _http_problem(error: HTTPException) -> ResponseReturnValue:
    """Answer errors raised inside the API's views as problem details, as machines expect."""
    status = error.code or 500
    valid_methods = getattr(error, "valid_methods", None)
    headers = {"Allow": ", ".join(valid_methods)} if status == 405 and valid_methods else None
    return problem(status, error.description, headers=headers)


@bp.errorhandler(Exception)
def _unexpected_problem(error: Exception) -> ResponseReturnValue:
    """Log what failed and answer a problem that tells the caller nothing of the inside."""
    log.exception("back-office API failed")
    return problem(500, "The request could not be handled; try again later.")
