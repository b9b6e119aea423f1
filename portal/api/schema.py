"""What the back-office API sends and accepts, as pydantic models.

The views build their answers from these models and the OpenAPI document publishes
their JSON Schemas, so the document and the API cannot drift apart. Errors follow RFC
9457 (``application/problem+json``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SUBMISSION_REFERENCE_PATTERN = r"^MD-[0-9]{4}-[0-9]{6,}-[0-9]+$"
APPLICATION_REFERENCE_PATTERN = r"^MD-[0-9]{4}-[0-9]{6,}$"
DEFINITION_ID_PATTERN = r"^[a-z][a-z0-9_]*$"
PRIVATE_SERVICE_EVENT_PATTERN = r"^private_service\.[a-z][a-z0-9_]*$"
MAX_REASON_LENGTH = 500
# workflow.MAX_MESSAGE_LENGTH, written out because the workflow imports this module (via
# the webhooks); a test keeps the two equal.
MAX_MESSAGE_LENGTH = 4000
# A message must say something: at least one letter or digit (Latin, kana, kanji, Hangul,
# full-width). Spelt out without \w, which JSON Schema reads as ASCII and Python as Unicode;
# each of these characters survives `workflow.clean_message`, so no message ends up empty.
MESSAGE_TEXT_PATTERN = (
    r"[0-9A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u3041-\u3096\u30A1-\u30FA"
    r"\u3400-\u4DBF\u4E00-\u9FEF\uAC00-\uD7A3\uFF10-\uFF19\uFF21-\uFF3A\uFF41-\uFF5A"
    r"\uFF66-\uFF9D]"
)

# Written out for the JSON Schema; a test keeps them equal to the tuples the models check.
Status = Literal[
    "received",
    "in_review",
    "awaiting_applicant",
    "approved",
    "rejected",
    "completed",
    "withdrawn",
]
SubmissionReference = Annotated[
    str,
    Field(
        pattern=SUBMISSION_REFERENCE_PATTERN,
        description="The submission's reference number, as the resident sees it.",
        examples=["MD-2026-000123-1"],
    ),
]
DefinitionId = Annotated[str, Field(pattern=DEFINITION_ID_PATTERN)]
EventType = Literal["submission.received", "submission.status_changed"]


class ApiModel(BaseModel):
    """Base of the API's documents: unknown keys refused, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid")


class Problem(BaseModel):
    """An error, as RFC 9457 describes it; some problem types add members of their own."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(
        default="about:blank",
        description="A URI naming the kind of problem; `about:blank` when the status says it all.",
    )
    title: str = Field(description="A short summary of the kind of problem.")
    status: int = Field(ge=400, le=599, description="The HTTP status code.")
    detail: str | None = Field(default=None, description="What went wrong with this request.")


class TransitionProblem(Problem):
    """A status change the workflow does not allow from the submission's current status."""

    current_status: Status
    requested_status: Status
    allowed_statuses: list[Status] = Field(
        description="The statuses this client may move the submission to now."
    )


class SubmissionSummary(ApiModel):
    """A submission as it appears in a list: where it is and how far it has come."""

    reference: SubmissionReference
    application_reference: Annotated[str, Field(pattern=APPLICATION_REFERENCE_PATTERN)]
    procedure: DefinitionId
    department: DefinitionId
    queue: str = Field(description="The department's queue it was routed to.")
    status: Status
    received_at: AwareDatetime
    updated_at: AwareDatetime = Field(description="The time of its last status change.")
    due_on: date | None = Field(description="The service-level due date, if the procedure has one.")


class SubmissionPage(ApiModel):
    """One page of submissions, oldest first, and where the next page starts."""

    items: list[SubmissionSummary]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to read the next page; null on the last page."
    )


class DocumentInfo(ApiModel):
    """A supporting document: how the resident is sending it and, for an upload, the file."""

    index: int = Field(ge=0, description="Its position; the file is at `documents/{index}`.")
    id: DefinitionId
    delivery: Literal["upload", "later", "counter", "post"] | None = Field(
        description="How the resident sends it: uploaded, later, at the counter or by post."
    )
    content_type: str | None
    size: int | None = Field(ge=0)
    name: str | None = Field(description="The file name the resident's file had.")
    has_file: bool = Field(description="Whether the file can be downloaded here.")


class TimelineEntry(ApiModel):
    """One status change."""

    from_status: Status
    to_status: Status
    at: AwareDatetime
    by: Literal["applicant", "staff", "system", "api"]


class SubmissionDetail(SubmissionSummary):
    """A submission with its answers, documents and timeline."""

    life_event: DefinitionId
    procedure_version: int = Field(ge=1, description="The procedure's version it was filed on.")
    submitted_at: AwareDatetime
    answers: dict[str, Any] = Field(
        description="The answers as stored, by field id (dates as ISO text); see `withheld_fields`."
    )
    withheld_fields: list[str] = Field(
        description=(
            "Fields left out of `answers` because they hold a My Number and the client lacks "
            "the `personal:my_number` scope (`group.member` for a member of a group)."
        )
    )
    documents: list[DocumentInfo]
    timeline: list[TimelineEntry]


class StatusChangeRequest(ApiModel):
    """Move a submission to another status, as a clerk would."""

    status: Status
    reason: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_REASON_LENGTH,
        description="Why, for the audit log.",
    )


class MessageRequest(ApiModel):
    """Tell the applicant something, or ask them for information (which stops the clock)."""

    # Python's re, as the OpenAPI document's readers (and its tests) read the pattern.
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")

    kind: Literal["message", "request"] = Field(
        description=(
            "`message`: the applicant reads it on their application page; the case goes on. "
            "`request`: the applicant is asked for information and can answer on that page; "
            "the submission moves to `awaiting_applicant` and its service-level clock stops "
            "until they answer."
        )
    )
    body: str = Field(
        min_length=1,
        max_length=MAX_MESSAGE_LENGTH,
        pattern=MESSAGE_TEXT_PATTERN,
        description=(
            "The text, in the applicant's language, with at least one letter or digit. Line "
            "breaks are kept; other control characters are removed."
        ),
    )


class MessageSent(ApiModel):
    """A message as the applicant now sees it, and the submission's status after it."""

    reference: SubmissionReference
    kind: Literal["message", "request"]
    body: str = Field(description="The text as stored, control characters removed.")
    created_at: AwareDatetime
    status: Status = Field(description="The submission's status now.")


class WebhookEventData(ApiModel):
    """The submission an event is about."""

    reference: SubmissionReference
    status: Status
    procedure: DefinitionId
    department: DefinitionId


class WebhookEvent(ApiModel):
    """What a webhook endpoint is sent: one event, the same body on every retry."""

    id: str = Field(description="The event's id; also in `Madoguchi-Event-Id`. Skip repeats.")
    type: EventType
    created_at: AwareDatetime = Field(description="When it happened.")
    data: WebhookEventData


class PrivateServiceEventData(ApiModel):
    """What a private service is told of a resident's change: only what its definition declares."""

    application_reference: Annotated[str, Field(pattern=APPLICATION_REFERENCE_PATTERN)]
    life_event: DefinitionId
    service: DefinitionId
    values: dict[str, Any] = Field(
        description=(
            "The values of the fields the service's definition declares in `sends`, by field "
            "id, as stored (a date as ISO text, an address as its parts). A field the resident "
            "left empty is absent. Nothing else about the resident is sent."
        )
    )


class PrivateServiceEvent(ApiModel):
    """What a private service's endpoint is sent when a resident asked the city to tell it."""

    id: str = Field(description="The event's id; also in `Madoguchi-Event-Id`. Skip repeats.")
    type: str = Field(
        pattern=PRIVATE_SERVICE_EVENT_PATTERN,
        description="`private_service.<service id>`, the event the endpoint subscribed to.",
        examples=["private_service.water"],
    )
    created_at: AwareDatetime = Field(description="When the resident filed the application.")
    data: PrivateServiceEventData
