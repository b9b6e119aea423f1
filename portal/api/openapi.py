"""The OpenAPI 3.1 document of the back-office API, generated from its pydantic models.

The API builds its answers from the same models, so the document and the API cannot
drift apart. A copy is committed as ``docs/backoffice-api.openapi.json`` (regenerate
it with ``flask api openapi``); a test checks that the copy is the served document.
"""

from __future__ import annotations

import json
from typing import Any, get_args

from pydantic.json_schema import models_json_schema

from portal.api.models import SCOPES
from portal.api.schema import (
    MAX_MESSAGE_LENGTH,
    MAX_REASON_LENGTH,
    SUBMISSION_REFERENCE_PATTERN,
    DocumentInfo,
    MessageRequest,
    MessageSent,
    PrivateServiceEvent,
    Problem,
    Status,
    StatusChangeRequest,
    SubmissionDetail,
    SubmissionPage,
    TransitionProblem,
    WebhookEvent,
)
from portal.api.services import CURSOR_PATTERN, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

API_PREFIX = "/api/v1"
SCHEMA_REF = "#/components/schemas/{model}"
PROBLEM_JSON = "application/problem+json"
BEARER = [{"bearerAuth": []}]
UNEXPECTED_QUERY = "The request has query parameters; this operation takes none."
DOCUMENT_TYPES = ("application/pdf", "image/jpeg", "image/png")

AUTHENTICATION = (
    "Every operation except this document needs `Authorization: Bearer "
    "<client_id>.<secret>`: the client id and secret `flask api create-client` printed, "
    "joined by a dot. A client has scopes: `submissions:read` to read submissions and "
    "their documents, `submissions:write` to change their status and write to their "
    "applicants, and "
    "`personal:my_number` to receive My Numbers, which are otherwise left out of the "
    "answers (and listed in `withheld_fields`). A client sees only its departments' "
    "submissions; any other reference answers 404."
)
SIGNATURE = (
    "Each delivery is a POST with the event as its JSON body and the header "
    "`Madoguchi-Signature: t=<unix time>,v1=<hex>`, where `<hex>` is the HMAC-SHA256, "
    "keyed with the endpoint's signing secret (shown once by `flask api add-webhook`), "
    "of the text `<t>.` followed by the raw body. Check it in constant time and refuse "
    "old timestamps. Answer 2xx within 10 seconds; any other answer is retried with "
    "growing delays, so the same event may arrive more than once: skip an `id` already "
    "seen (it is also in `Madoguchi-Event-Id`)."
)


def _ref(model: str) -> dict[str, str]:
    return {"$ref": SCHEMA_REF.format(model=model)}


def _problem(description: str, model: str = "Problem") -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": _ref(model)}}}


def _unauthorized() -> dict[str, Any]:
    response = _problem("No bearer token, a wrong one, or one of a revoked client.")
    response["headers"] = {
        "WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}
    }
    return response


def _rate_limited() -> dict[str, Any]:
    response = _problem("Too many requests from this client; wait as Retry-After says.")
    response["headers"] = {
        "Retry-After": {
            "description": "Seconds to wait before the next request.",
            "schema": {"type": "integer", "minimum": 1},
        }
    }
    return response


def _json(description: str, model: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


REFERENCE_PARAMETER = {
    "name": "reference",
    "in": "path",
    "required": True,
    "description": "The submission's reference number.",
    "schema": {"type": "string", "pattern": SUBMISSION_REFERENCE_PATTERN},
}


def _list_operation() -> dict[str, Any]:
    return {
        "operationId": "listSubmissions",
        "summary": "List the submissions of the client's departments",
        "description": (
            "Oldest first, in pages. To follow changes, ask with `updated_since` set to "
            "the time of the previous poll's start and read every page."
        ),
        "security": BEARER,
        "parameters": [
            {
                "name": "status",
                "in": "query",
                "required": False,
                "description": "Only submissions in this status.",
                "schema": {"type": "string", "enum": list(get_args(Status))},
            },
            {
                "name": "procedure",
                "in": "query",
                "required": False,
                "description": "Only submissions of this procedure (its id).",
                "schema": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
            },
            {
                "name": "updated_since",
                "in": "query",
                "required": False,
                "description": "Only submissions received or changed at or after this time.",
                "schema": {"type": "string", "format": "date-time"},
            },
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": "The `next_cursor` of the previous page.",
                "schema": {"type": "string", "pattern": CURSOR_PATTERN},
            },
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": "How many submissions a page holds at most.",
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_PAGE_SIZE,
                    "default": DEFAULT_PAGE_SIZE,
                },
            },
        ],
        "responses": {
            "200": _json("A page of submissions.", "SubmissionPage"),
            "400": _problem(
                "A filter, the cursor or the limit is not valid, or a query parameter is "
                "unknown or repeated."
            ),
            "401": _unauthorized(),
            "429": _rate_limited(),
            "403": _problem("The client lacks the `submissions:read` scope."),
        },
    }


def _show_operation() -> dict[str, Any]:
    return {
        "operationId": "getSubmission",
        "summary": "Read a submission",
        "description": (
            "The answers as stored (My Numbers only with the `personal:my_number` scope), "
            "the documents and the timeline."
        ),
        "security": BEARER,
        "parameters": [REFERENCE_PARAMETER],
        "responses": {
            "200": _json("The submission.", "SubmissionDetail"),
            "400": _problem(UNEXPECTED_QUERY),
            "401": _unauthorized(),
            "429": _rate_limited(),
            "403": _problem("The client lacks the `submissions:read` scope."),
            "404": _problem("No submission with this reference in the client's departments."),
        },
    }


def _status_operation() -> dict[str, Any]:
    return {
        "operationId": "changeSubmissionStatus",
        "summary": "Change a submission's status",
        "description": (
            "Moves it through the same workflow clerks use, with the same rules: "
            "received → in_review → awaiting_applicant ↔ in_review → approved | rejected | "
            "completed, approved → completed. The change is audited under the client's id "
            "and sent to webhooks. Answers with the submission as it now is."
        ),
        "security": BEARER,
        "parameters": [REFERENCE_PARAMETER],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ref("StatusChangeRequest")}},
        },
        "responses": {
            "200": _json("The status was changed.", "SubmissionDetail"),
            "400": _problem(
                f"The body is not a status change (a known `status`, a `reason` of at most "
                f"{MAX_REASON_LENGTH} characters), or the request has query parameters."
            ),
            "401": _unauthorized(),
            "429": _rate_limited(),
            "403": _problem("The client lacks the `submissions:write` scope."),
            "404": _problem("No submission with this reference in the client's departments."),
            "409": _problem(
                "The workflow does not allow this move from the current status.",
                "TransitionProblem",
            ),
            "415": _problem("The body is not `application/json`."),
        },
    }


def _message_operation() -> dict[str, Any]:
    return {
        "operationId": "sendSubmissionMessage",
        "summary": "Write to a submission's applicant",
        "description": (
            "A `message` is shown to the applicant on their application page. A `request` "
            "asks them for information, as a clerk's request does: the submission moves "
            "from in_review to awaiting_applicant, its service-level clock stops until they "
            "answer on that page, and the change is sent to webhooks. Both are audited "
            "under the client's id. Answers with the message as the applicant sees it."
        ),
        "security": BEARER,
        "parameters": [REFERENCE_PARAMETER],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ref("MessageRequest")}},
        },
        "responses": {
            "201": _json("The message was added.", "MessageSent"),
            "400": _problem(
                f"The body is not a message (a `kind` of message or request, a `body` of 1 to "
                f"{MAX_MESSAGE_LENGTH} characters with at least one letter or digit), or the "
                "request has query parameters."
            ),
            "401": _unauthorized(),
            "429": _rate_limited(),
            "403": _problem("The client lacks the `submissions:write` scope."),
            "404": _problem("No submission with this reference in the client's departments."),
            "409": {
                "description": (
                    "A `request` the workflow does not allow from the current status "
                    "(`transition-refused`, only from in_review), or one made while a four-eyes "
                    "decision waits for a second clerk (`proposal-waiting`)."
                ),
                "content": {
                    PROBLEM_JSON: {
                        "schema": {"anyOf": [_ref("TransitionProblem"), _ref("Problem")]}
                    }
                },
            },
            "415": _problem("The body is not `application/json`."),
        },
    }


PRIVATE_SERVICE_EVENTS = (
    "Sent to a private service's system (a utility company, say) when a resident files an "
    "application and ticked that service: subscribe an endpoint of the company's client with "
    "`flask api add-webhook <client_id> --url <url> --event private_service.<service id>`. "
    "The event carries the application's reference and the values of the fields the "
    "service's definition declares in `sends` (for moving: the moving date and the new "
    "address), and nothing else. It is signed and retried like the submission events. "
)


def _webhook(operation_id: str, summary: str, description: str, model: str) -> dict[str, Any]:
    """A signed event the portal POSTs to the endpoints that subscribed to it."""
    return {
        "post": {
            "operationId": operation_id,
            "summary": summary,
            "description": description,
            "parameters": [
                {
                    "name": "Madoguchi-Signature",
                    "in": "header",
                    "required": True,
                    "description": "`t=<unix time>,v1=<hex HMAC-SHA256>`.",
                    "schema": {"type": "string", "pattern": "^t=[0-9]+,v1=[0-9a-f]{64}$"},
                },
                {
                    "name": "Madoguchi-Event-Id",
                    "in": "header",
                    "required": True,
                    "description": "The event's `id`.",
                    "schema": {"type": "string"},
                },
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref(model)}},
            },
            "responses": {
                "2XX": {"description": "Taken; it is not sent again."},
            },
        }
    }


def _document_operation() -> dict[str, Any]:
    return {
        "operationId": "getSubmissionDocument",
        "summary": "Download an uploaded supporting document",
        "security": BEARER,
        "parameters": [
            REFERENCE_PARAMETER,
            {
                "name": "index",
                "in": "path",
                "required": True,
                "description": "The document's `index` in the submission's `documents`.",
                "schema": {"type": "integer", "minimum": 0},
            },
        ],
        "responses": {
            "200": {
                "description": "The file, as an attachment.",
                "content": {
                    media_type: {"schema": {"type": "string", "contentMediaType": media_type}}
                    for media_type in DOCUMENT_TYPES
                },
            },
            "400": _problem(UNEXPECTED_QUERY),
            "401": _unauthorized(),
            "429": _rate_limited(),
            "403": _problem("The client lacks the `submissions:read` scope."),
            "404": _problem("No such submission, or no uploaded file at this index."),
        },
    }


def openapi_document() -> dict[str, Any]:
    """Describe the back-office API: submissions, their status and documents, and webhooks."""
    _, definitions = models_json_schema(
        [
            (SubmissionPage, "serialization"),
            (SubmissionDetail, "serialization"),
            (DocumentInfo, "serialization"),
            (StatusChangeRequest, "validation"),
            (MessageRequest, "validation"),
            (MessageSent, "serialization"),
            (Problem, "serialization"),
            (TransitionProblem, "serialization"),
            (WebhookEvent, "serialization"),
            (PrivateServiceEvent, "serialization"),
        ],
        ref_template=SCHEMA_REF,
    )
    schemas = definitions["$defs"]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Madoguchi back-office API",
            "version": "1",
            "description": (
                "Lets departments' systems read the submissions residents filed, download "
                "their documents, move them through the workflow and write to their "
                "applicants, and tells them of new submissions and status changes by signed "
                "webhooks; private services a resident asked the city to tell get a signed "
                "webhook too. Errors are RFC 9457 problem details. " + AUTHENTICATION
            ),
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": API_PREFIX}],
        "paths": {
            "/submissions": {"get": _list_operation()},
            "/submissions/{reference}": {"get": _show_operation()},
            "/submissions/{reference}/status": {"post": _status_operation()},
            "/submissions/{reference}/messages": {"post": _message_operation()},
            "/submissions/{reference}/documents/{index}": {"get": _document_operation()},
            "/openapi.json": {
                "get": {
                    "operationId": "getOpenApiDocument",
                    "summary": "This document",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "The OpenAPI document of this API.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "webhooks": {
            "submissionEvent": _webhook(
                "receiveSubmissionEvent",
                "A submission was received or changed status",
                SIGNATURE,
                "WebhookEvent",
            ),
            "privateServiceEvent": _webhook(
                "receivePrivateServiceEvent",
                "A resident asked the city to tell a private service of a change",
                PRIVATE_SERVICE_EVENTS + SIGNATURE,
                "PrivateServiceEvent",
            ),
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "`<client_id>.<secret>`. Scopes: " + ", ".join(SCOPES) + ".",
                }
            },
        },
    }


def openapi_text() -> str:
    """The document as committed in ``docs/backoffice-api.openapi.json``."""
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"
