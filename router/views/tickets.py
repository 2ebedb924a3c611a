"""Ticket API (contract item 4): open, read, list and move tickets; performance reports.

Thin: parse, call the store (router.adapters.ticket_store), serialise. Errors are rendered here as
``{"error": {"code", "message"}}`` so the views behave the same with or without the app's middleware.
Auth is the app's middleware (router.http), not ours.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from router.adapters.ticket_store import InvalidDraft, PreconditionFailed, TicketNotFound
from router.appkeys import OPENAPI_PATHS, TICKET_SERVICE, TICKETS
from router.domain.tickets import (
    CST,
    Action,
    IllegalTransition,
    Rating,
    Status,
    TransitionDataError,
)
from router.http import ApiError, json_error, read_json
from router.services.reports import (
    ReportRow,
    UnitReport,
    build_report,
    build_unit_report,
    report_to_csv,
    report_to_json,
    store_now,
    unit_report_to_csv,
)
from router.services.tickets import RESIDENT_ACTIONS, NotReporter, Requester, TicketService, resident_view
from router.views import models as M
from router.views.models import body, errors, response

__all__ = ["setup_routes", "OPENAPI"]

MAX_LIMIT = 200
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


def _errors_as_json(handler: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiError as exc:
            return json_error(exc.status, exc.code, exc.message, **exc.extra)
        except TicketNotFound as exc:
            return json_error(404, "ticket_not_found", str(exc), ticket_id=exc.ticket_id)
        except IllegalTransition as exc:
            action = exc.action.value if isinstance(exc.action, Action) else exc.action
            return json_error(409, "illegal_transition", str(exc), ticket_status=exc.status.value, action=action)
        except PreconditionFailed as exc:
            return json_error(409, "conflict", str(exc))
        except (InvalidDraft, TransitionDataError) as exc:
            return json_error(400, "invalid_body", str(exc))

    wrapped.__name__ = handler.__name__
    return wrapped


def _int_param(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query.get(name, "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "invalid_query", f"{name} must be an integer") from None
    if not lo <= value <= hi:
        raise ApiError(400, "invalid_query", f"{name} must be in {lo}..{hi}")
    return value


def _time_param(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name, "")
    if not raw:
        return None
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, "invalid_query", f"{name} must be an ISO 8601 date or time") from None
    return at if at.tzinfo else at.replace(tzinfo=CST)


def _service(request: web.Request) -> TicketService:
    return request.app[TICKET_SERVICE]


@_errors_as_json
async def create_ticket(request: web.Request) -> web.Response:
    body = await read_json(request)
    key = request.headers.get("Idempotency-Key")
    given = body.get("actor")
    actor = given if isinstance(given, str) and given else "api"
    ticket = await _service(request).open(body, idempotency_key=key, actor=actor)
    return _json(ticket.to_dict(mask_contact=False), status=201)


@_errors_as_json
async def get_ticket(request: web.Request) -> web.Response:
    ticket_id = request.match_info["id"]
    ticket = await request.app[TICKETS].get(ticket_id)
    if ticket is None:
        raise TicketNotFound(ticket_id)
    return _json(ticket.to_dict(mask_contact=request.query.get("unmask") != "1"))


@_errors_as_json
async def list_tickets(request: web.Request) -> web.Response:
    status = request.query.get("status") or None
    if status is not None:
        try:
            Status(status)
        except ValueError:
            raise ApiError(400, "invalid_query", f"status must be one of {[s.value for s in Status]}") from None
    limit = _int_param(request, "limit", 50, 1, MAX_LIMIT)
    offset = _int_param(request, "offset", 0, 0, 1_000_000)
    tickets = await request.app[TICKETS].search(
        status=status,
        department=request.query.get("department") or None,
        district=request.query.get("district") or None,
        limit=limit,
        offset=offset,
    )
    return _json({"items": [t.to_dict(mask_contact=True) for t in tickets], "limit": limit, "offset": offset})


@_errors_as_json
async def transition_ticket(request: web.Request) -> web.Response:
    body = await read_json(request)
    action = body.get("action")
    actor = body.get("actor")
    if not isinstance(action, str) or action not in {a.value for a in Action}:
        raise ApiError(400, "invalid_body", f"action must be one of {[a.value for a in Action]}")
    if not isinstance(actor, str) or not actor.strip():
        raise ApiError(400, "invalid_body", "actor is required (who makes this move)")
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise ApiError(400, "invalid_body", "reason must be a string")
    data = {k: v for k, v in body.items() if k in ("department", "unit", "rating", "merged_into", "to")}
    for k, v in data.items():
        if not isinstance(v, str):
            raise ApiError(400, "invalid_body", f"{k} must be a string")
    expected = body.get("expected_version")
    if expected is not None and (not isinstance(expected, int) or isinstance(expected, bool)):
        raise ApiError(400, "invalid_body", "expected_version must be an integer")
    ticket = await _service(request).move(request.match_info["id"], action, actor, reason,
                                          expected_version=expected, **data)
    return _json(ticket.to_dict(mask_contact=False))


@_errors_as_json
async def resident_request(request: web.Request) -> web.Response:
    """A resident's 查询 / 催办 / 撤销 / 回访 on their own behalf (the bot's actions call this): the ticket
    service decides whether they reported it; a stranger learns only that it exists and its status."""
    body = await read_json(request)
    action = body.get("action")
    if action not in RESIDENT_ACTIONS:
        raise ApiError(400, "invalid_body", f"action must be one of {list(RESIDENT_ACTIONS)}")
    conv = body.get("conversation_id")
    if not isinstance(conv, str) or not conv.strip() or len(conv) > 100:
        raise ApiError(400, "invalid_body", "conversation_id is required (the resident's conversation)")
    phones = body.get("phones", [])
    if not isinstance(phones, list) or len(phones) > 10 or not all(isinstance(p, str) and len(p) <= 30 for p in phones):
        raise ApiError(400, "invalid_body", "phones must be a list of at most 10 numbers")
    rating = body.get("rating")
    if action == "rate" and rating not in {r.value for r in Rating}:
        raise ApiError(400, "invalid_body", f"rating must be one of {[r.value for r in Rating]}")
    reason = body.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 500):
        raise ApiError(400, "invalid_body", "reason must be a string of at most 500 characters")
    requester = Requester(conv.strip(), tuple(phones))
    service = _service(request)
    try:
        ticket, reporter = await service.resident_action(request.match_info["id"], action, requester,
                                                         rating=rating, reason=reason)
    except NotReporter as exc:
        return json_error(403, "not_reporter", str(exc), ticket_id=exc.ticket_id)
    return _json({"ticket": resident_view(ticket, reporter), "reporter": reporter})


async def _report(request: web.Request) -> dict[str, list[ReportRow]]:
    since, until = _time_param(request, "since"), _time_param(request, "until")
    return await build_report(request.app[TICKETS], since=since, until=until)


# group=unit: the figures per handling unit (签收及时率, 退单率, 办结及时率, 满意率; router.services.reports).
# Left out (or department / district): the report per department and district, as before.
REPORT_GROUPS = ("department", "district", "unit")
MAX_DISTRICT_CHARS = 50


def _report_group(request: web.Request) -> str:
    group = request.query.get("group", "")
    if group and group not in REPORT_GROUPS:
        raise ApiError(400, "invalid_query", f"group must be one of {list(REPORT_GROUPS)}")
    if group != "unit" and "district" in request.query:
        raise ApiError(400, "invalid_query", "district filters only the report with group=unit")
    return group


async def _unit_report(request: web.Request) -> UnitReport:
    since, until = _time_param(request, "since"), _time_param(request, "until")
    if since and until and since >= until:
        raise ApiError(400, "invalid_query", "since must be before until")
    district = request.query.get("district", "").strip() or None
    if district and len(district) > MAX_DISTRICT_CHARS:
        raise ApiError(400, "invalid_query", f"district longer than {MAX_DISTRICT_CHARS} characters")
    store = request.app[TICKETS]
    return await build_unit_report(store, now=store_now(store), since=since, until=until, district=district)


def _csv(text: str, filename: str) -> web.Response:
    return web.Response(
        body=("\ufeff" + text).encode("utf-8"),  # BOM: Excel opens Chinese CSV correctly only with it
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@_errors_as_json
async def report_json(request: web.Request) -> web.Response:
    if _report_group(request) == "unit":
        return _json((await _unit_report(request)).to_json())
    return _json(report_to_json(await _report(request), datetime.now(CST)))


@_errors_as_json
async def report_csv(request: web.Request) -> web.Response:
    if _report_group(request) == "unit":
        return _csv(unit_report_to_csv(await _unit_report(request)), "units-report.csv")
    return _csv(report_to_csv(await _report(request)), "tickets-report.csv")


# --------------------------------------------------------------------------------------- OpenAPI

_ID_PARAM = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
_PERIOD = [{"name": n, "in": "query", "schema": {"type": "string", "format": "date-time"}} for n in ("since", "until")]
_REPORT_PARAMS = [
    *_PERIOD,
    {"name": "group", "in": "query", "schema": {"type": "string", "enum": list(REPORT_GROUPS)},
     "description": "unit: the figures per handling unit; a round counts in the period it was dispatched in"},
    {"name": "district", "in": "query", "schema": {"type": "string", "maxLength": MAX_DISTRICT_CHARS},
     "description": "only with group=unit: the tickets of this district"},
]

OPENAPI: dict[str, Any] = {
    "/api/v1/tickets": {
        "post": {
            "summary": "Open a ticket (受理); a duplicate of an open ticket at the same place comes back 合并",
            "parameters": [{"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"},
                            "description": "retries with the same key return the same ticket"}],
            "requestBody": body(M.TicketCreate),
            "responses": {"201": response("the ticket", M.Ticket), **errors(400, 401, 413)},
        },
        "get": {
            "summary": "List tickets, newest first (contacts masked)",
            "parameters": [
                {"name": "status", "in": "query", "schema": {"type": "string", "enum": [s.value for s in Status]}},
                {"name": "department", "in": "query", "schema": {"type": "string"}},
                {"name": "district", "in": "query", "schema": {"type": "string"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}},
                {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
            ],
            "responses": {"200": response("tickets", M.TicketList), **errors(400, 401)},
        },
    },
    "/api/v1/tickets/{id}": {"get": {
        "summary": "One ticket with its full history",
        "parameters": [_ID_PARAM, {"name": "unmask", "in": "query", "schema": {"type": "string", "enum": ["1"]},
                                   "description": "1: show the full contact (operators only)"}],
        "responses": {"200": response("the ticket", M.Ticket), **errors(401, 404)},
    }},
    "/api/v1/tickets/{id}/transitions": {"post": {
        "summary": "Move a ticket through its lifecycle; 409 on an illegal move (nothing changes)",
        "parameters": [_ID_PARAM],
        "requestBody": body(M.TransitionRequest),
        "responses": {"200": response("the ticket after the move", M.Ticket), **errors(400, 401, 404, 409)},
    }},
    "/api/v1/tickets/{id}/resident": {"post": {
        "summary": "A resident's 查询 / 催办 / 撤销 / 回访: moves only for the reporter; others see id and status",
        "parameters": [_ID_PARAM],
        "requestBody": body(M.ResidentRequest),
        "responses": {"200": response("what this resident may see, and whether they reported it",
                                      M.ResidentResult), **errors(400, 401, 403, 404, 409)},
    }},
    "/api/v1/reports": {"get": {
        "summary": "Volume, 及时率, 解决率, 满意率 and average handling time per department and district; "
                   "with group=unit: 签收及时率, 退单率, 办结及时率, 满意率 per handling unit and district",
        "parameters": _REPORT_PARAMS,
        "responses": {"200": response("report (by_department and by_district; with group=unit: by_unit, "
                                      "by_district and total)", M.Report), **errors(400, 401)},
    }},
    "/api/v1/reports.csv": {"get": {
        "summary": "The same report as CSV (UTF-8 with BOM)",
        "parameters": _REPORT_PARAMS,
        "responses": {"200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
                      **errors(400, 401)},
    }},
}


def setup_routes(app: web.Application) -> None:
    app.router.add_post("/api/v1/tickets", create_ticket)
    app.router.add_get("/api/v1/tickets", list_tickets)
    app.router.add_get("/api/v1/tickets/{id}", get_ticket)
    app.router.add_post("/api/v1/tickets/{id}/transitions", transition_ticket)
    app.router.add_post("/api/v1/tickets/{id}/resident", resident_request)
    app.router.add_get("/api/v1/reports", report_json)
    app.router.add_get("/api/v1/reports.csv", report_csv)
    app[OPENAPI_PATHS].update(OPENAPI)

