"""Request and response models of the public API (pydantic v2); their JSON Schemas make the OpenAPI document.

Every model named in a path item (``body(...)``, ``response(...)``) is listed in ``COMPONENT_MODELS`` and
becomes ``#/components/schemas/<Name>`` (router.views.openapi), so the document and the code share one
definition. The views still check their bodies by hand: their error messages (``error.code`` and the
sentence) are part of the contract and the tests, and pydantic's would differ. These models describe;
``tests/integration/test_openapi_models.py`` checks that real answers fit them.

Response models allow more fields than they name (``extra="allow"``): an extension is not a break.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from router.domain.tickets import (
    ESCALATION_LEVELS,
    MAX_TEXT_CHARS,
    RESIDENT_CHANNELS,
    TICKET_CHANNELS,
    Action,
    Rating,
    Status,
    Urgency,
)
from router.services.tickets import RESIDENT_ACTIONS

__all__ = ["COMPONENT_MODELS", "REF", "body", "component_schemas", "errors", "ref", "response"]

REF = "#/components/schemas/{model}"


def one_of(values: Sequence[str]) -> Any:
    """A string that must be one of ``values`` (an enum in the schema, checked on validation)."""
    allowed = tuple(values)

    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"must be one of {list(allowed)}")
        return value

    return Annotated[str, Field(json_schema_extra={"enum": list(allowed)}), AfterValidator(check)]


# not blank, no NUL character (router.http.require_text)
Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_CHARS, pattern=r"^[^\x00]*[^\s\x00][^\x00]*$")]
ResidentChannel = one_of(RESIDENT_CHANNELS)
TicketChannel = one_of(TICKET_CHANNELS)
ResidentAction = one_of(RESIDENT_ACTIONS)
EscalationLevel = one_of(ESCALATION_LEVELS)
Rate = Annotated[float | None, Field(ge=0, le=1, description="null when nothing to count")]
Count = Annotated[int, Field(ge=0)]


class Out(BaseModel):
    """A response: may carry more fields than it names."""

    model_config = ConfigDict(extra="allow")


# ------------------------------------------------------------------------------------------- errors

class ErrorDetail(Out):
    code: str = Field(description="machine-readable, e.g. invalid_field, ticket_not_found, illegal_transition")
    message: str


class Error(Out):
    error: ErrorDetail


# ------------------------------------------------------------------------------ triage and catalogue

class TextRequest(BaseModel):
    text: Text


class TriageRequest(BaseModel):
    text: Text
    channel: ResidentChannel = "web"  # type: ignore[valid-type]
    alternatives: list[Annotated[str, Field(max_length=MAX_TEXT_CHARS)]] = Field(
        default_factory=list, max_length=5, description="other things the speech recogniser heard")


class Topic(Out):
    l1: str
    l2: str | None
    l3: str | None
    department: str
    confidence: float


class Location(Out):
    district: str | None
    street: str | None
    community: str | None
    grid: str | None


class Intent(Out):
    name: str
    confidence: float


class ServiceHit(Out):
    id: str
    name: str
    department: str
    score: float


class Triage(Out):
    outcome: one_of(("service_item", "ticket", "emergency", "handoff",  # type: ignore[valid-type]
                     "ticket_status", "out_of_scope", "greeting"))
    intent: Intent
    topic: Topic | None
    service_items: list[ServiceHit] = Field(max_length=3)
    location: Location | None
    emergency_number: one_of(("110", "119", "120")) | None  # type: ignore[valid-type]


class ServiceSearch(Out):
    items: list[ServiceHit] = Field(max_length=3, description="best first")


class ServiceItem(Out):
    id: str
    name: str
    department: str
    materials: list[str] = []
    where: str = Field("", description="where this resident applies (district / street given)")


class Jurisdiction(Out):
    district: str | None = None
    street: str | None = None
    community: str | None = None
    grid: str | None = None


class ConversationPublic(Out):
    id: str
    state: str


class Conversation(ConversationPublic):
    channel: str
    user_id: str
    transcript: list[dict[str, Any]] = []


class HandoffRequest(BaseModel):
    reason: str = Field("requested", description="kept to its first 200 characters")
    summary: dict[str, Any] = {}
    urgent: bool = False


# ------------------------------------------------------------------------------------------- tickets

class TicketTopic(Out):
    l1: str
    l2: str | None = None
    l3: str | None = None
    department: str
    confidence: float = 0.0


class TicketLocation(Out):
    district: str | None = None
    street: str | None = None
    community: str | None = None
    grid: str | None = None
    address: str = ""


class Contact(Out):
    """Masked (138****5678) in lists."""

    name: str
    phone: str


class Assignee(Out):
    department: str
    unit: str = ""


class HistoryEntry(Out):
    from_: Status | None = Field(alias="from")
    to: Status
    action: str
    actor: str
    at: datetime
    reason: str | None = None
    data: dict[str, Any] = {}


class Ticket(Out):
    id: str = Field(pattern=r"^SZ\d{8}-\d{6}$", examples=["SZ20261125-000123"])
    status: Status
    channel: str
    text: str
    topic: TicketTopic
    location: TicketLocation
    contact: Contact
    urgency: Urgency = Urgency.GENERAL
    sla_deadline: datetime = Field(examples=["2026-11-25T16:30:00+08:00"])
    created_at: datetime | None = None
    updated_at: datetime | None = None
    conversation_id: str | None = None
    assignee: Assignee | None = None
    escalation_level: EscalationLevel | None = None  # type: ignore[valid-type]
    merged_into: str | None = None
    duplicates: list[str] = []
    reporters: int = Field(1, ge=1)
    rating: Rating | None = None
    since: str | None = Field(None, description="when the resident says the problem started")
    version: int = 0
    history: list[HistoryEntry]


class TicketList(Out):
    items: list[Ticket]
    limit: int = Field(ge=1)
    offset: int = Field(ge=0)


def _opt(limit: int) -> Any:
    return Annotated[str | None, Field(max_length=limit)]


class TicketTopicIn(BaseModel):
    """The topic when the caller already knows it (the bot, an operator); all parts may be left out."""

    l1: _opt(200) = None  # type: ignore[valid-type]
    l2: _opt(200) = None  # type: ignore[valid-type]
    l3: _opt(200) = None  # type: ignore[valid-type]
    department: _opt(200) = None  # type: ignore[valid-type]
    confidence: float = 0.0
    needs_human_dispatch: bool | None = None


class TicketLocationIn(BaseModel):
    district: _opt(200) = None  # type: ignore[valid-type]
    street: _opt(200) = None  # type: ignore[valid-type]
    community: _opt(200) = None  # type: ignore[valid-type]
    grid: _opt(200) = None  # type: ignore[valid-type]
    address: _opt(500) = None  # type: ignore[valid-type]


class TicketCreate(BaseModel):
    """What router.domain.tickets.parse_draft reads (it says what is wrong, as 400 invalid_body)."""

    text: Text
    channel: TicketChannel = "web"  # type: ignore[valid-type]
    conversation_id: _opt(100) = None  # type: ignore[valid-type]
    address: _opt(500) = None  # type: ignore[valid-type]
    location: TicketLocationIn | None = None
    topic: TicketTopicIn | None = None
    contact_phone: Annotated[str | None, Field(max_length=32, pattern=r"^[0-9+\- ]*$")] = None
    contact_name: _opt(50) = None  # type: ignore[valid-type]
    since: _opt(100) = Field(None, description="when the problem started, in the resident's words")  # type: ignore[valid-type]
    urgency: Urgency = Urgency.GENERAL
    actor: str | None = Field(None, description="who opens it (default api)")


class TransitionRequest(BaseModel):
    action: Action
    actor: Annotated[str, Field(min_length=1, pattern=r"\S", description="who makes this move")]
    reason: str | None = None
    department: str | None = None
    unit: str | None = None
    rating: Rating | None = None
    merged_into: str | None = None
    to: one_of(("处置", "派单")) | None = None  # type: ignore[valid-type]
    expected_version: int | None = Field(None, description="409 when the ticket has moved since")


class ResidentRequest(BaseModel):
    action: ResidentAction  # type: ignore[valid-type]
    conversation_id: Annotated[str, Field(min_length=1, max_length=100, pattern=r"\S")]
    phones: list[Annotated[str, Field(max_length=30)]] = Field(default_factory=list, max_length=10)
    rating: Rating | None = Field(None, description="required with action rate")
    reason: Annotated[str, Field(max_length=500)] | None = None


class ResidentTicket(Out):
    """The reporter sees the progress (phones masked, no staff names); anyone else id and status."""

    id: str
    status: Status


class ResidentResult(Out):
    ticket: ResidentTicket
    reporter: bool


class UnitRow(Out):
    group_by: one_of(("unit", "district", "all"))  # type: ignore[valid-type]
    group: str
    dispatched: Count
    accepted: Count
    accept_due: Count
    accepted_on_time: Count
    returned: Count
    resolved: Count
    resolved_on_time: Count
    rated: Count
    satisfied: Count
    overdue_now: Count
    accept_on_time_rate: Rate
    return_rate: Rate
    resolve_on_time_rate: Rate
    satisfaction_rate: Rate
    avg_handling_hours: float | None


class Report(Out):
    """by_department and by_district; with group=unit: by_unit, by_district and total."""

    generated_at: str | None = None
    by_department: list[dict[str, Any]] | None = None
    by_district: list[dict[str, Any]]
    by_unit: list[UnitRow] | None = None
    total: UnitRow | None = None


# --------------------------------------------------------------------------------------- web channel

class WebSession(Out):
    session_id: str
    expires_in: int = Field(description="seconds without use before it ends")


class WebSessionEnd(BaseModel):
    session_id: str


class WebSessionEnded(Out):
    ended: bool


class WebMessage(BaseModel):
    session_id: str
    text: Text
    message_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{8,64}$",
                                     description="the page's name for this message: a retry under the "
                                                 "same name gets the first answer back")] | None = None


class Button(Out):
    title: str
    payload: str


class ReplyOut(Out):
    text: str | None
    buttons: list[Button] = []
    author: str | None = Field(None, description="operator or system; left out for the bot")
    at: float | None = Field(None, description="a system message's time on the transcript (epoch seconds): the "
                                               "same message also comes on the events stream with this time")


class WebReplies(Out):
    replies: list[ReplyOut]
    conversation: ConversationPublic


class WebHistoryMessage(Out):
    author: str
    text: str
    buttons: list[Button] = []
    at: float


class WebHistory(Out):
    conversation: ConversationPublic | None
    messages: list[WebHistoryMessage]


# ------------------------------------------------------------------------------------ health, voice

class ComponentHealth(Out):
    ok: bool


class Health(Out):
    status: one_of(("ok", "degraded"))  # type: ignore[valid-type]
    components: dict[str, ComponentHealth] = Field(description="redis, rasa, actions, router")


class VoiceCall(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    call_sid: str
    from_: str | None = Field(None, alias="from")
    to: str | None = None
    direction: str | None = None
    call_status: str | None = None


class VoiceGather(BaseModel):
    call_sid: str
    reason: one_of(("speechDetected", "dtmfDetected", "timeout", "error",  # type: ignore[valid-type]
                    "stt-low-confidence")) | None = None
    digits: str | None = None
    speech: dict[str, Any] | None = None
    dial_call_status: str | None = None
    queue_result: str | None = None


COMPONENT_MODELS: tuple[type[BaseModel], ...] = (
    Error, TextRequest, TriageRequest, Triage, Topic, Location, ServiceSearch, ServiceItem, Jurisdiction,
    Conversation, HandoffRequest, Ticket, TicketList, TicketCreate, TransitionRequest, ResidentRequest,
    ResidentResult, Report, WebSession, WebSessionEnd, WebSessionEnded, WebMessage, WebReplies, WebHistory,
    Health, VoiceCall, VoiceGather,
)


@functools.cache
def component_schemas() -> dict[str, Any]:
    """``components.schemas``: each model's JSON Schema, and the models they use, by name (built once;
    callers only read it)."""
    out: dict[str, Any] = {}
    for model in COMPONENT_MODELS:
        schema = model.model_json_schema(ref_template=REF, by_alias=True)
        for name, sub in schema.pop("$defs", {}).items():
            out.setdefault(name, sub)
        out[model.__name__] = schema
    return dict(sorted(out.items()))


def ref(model: type[BaseModel]) -> dict[str, str]:
    if model not in COMPONENT_MODELS:
        raise ValueError(f"{model.__name__} is not in COMPONENT_MODELS")
    return {"$ref": REF.format(model=model.__name__)}


def body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """A JSON request body of this model."""
    return {"required": required, "content": {"application/json": {"schema": ref(model)}}}


def response(description: str, model: type[BaseModel]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref(model)}}}


def errors(*codes: int, description: str = "error") -> dict[str, Any]:
    """``{"<status>": the Error response}`` for each status."""
    return {str(c): response(description, Error) for c in codes}
