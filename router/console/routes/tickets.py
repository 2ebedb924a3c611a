"""The ticket board (filters, overdue first), one ticket with the moves its status allows, and a move —
made through the ticket service like every other caller's, then announced to open consoles."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import quote

from aiohttp import web

from router import keys
from router.adapters.mediation import MediationStore
from router.appkeys import REDIS
from router.console.access import guarded
from router.console.auth import Permission
from router.console.context import UNAVAILABLE, session_of, ticket_service, ticket_store
from router.console.presenters import label, mediation_view, msg, ticket_view, trail_view
from router.console.render import answer, audit, render
from router.domain.tickets import (
    CST,
    Action,
    IllegalTransition,
    PreconditionFailed,
    Rating,
    Status,
    TicketNotFound,
    TransitionDataError,
    allowed_actions,
)

__all__ = ["ticket_board", "ticket_detail", "ticket_transition"]

# The form fields each move takes besides the reason (the rest of the form is ignored).
_ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "dispatch": ("department", "unit"),
    "follow_up": ("rating",),
    "merge": ("merged_into",),
    "reopen": ("to", "department"),
}


@guarded(Permission.HANDLE_TICKETS)
async def ticket_board(request: web.Request) -> web.Response:
    q = request.query
    filters = {"status": q.get("status", ""), "department": q.get("department", "").strip(),
               "district": q.get("district", "").strip(), "overdue": q.get("overdue", "")}
    status = filters["status"] if filters["status"] in {s.value for s in Status} else ""
    filters["status"] = status
    try:
        tickets = await ticket_store(request).search(status=status or None, department=filters["department"] or None,
                                                     district=filters["district"] or None, limit=200)
    except UNAVAILABLE:
        return render(request, "tickets.html", status=503, tickets=[], filters=filters,
                      statuses=[s.value for s in Status], departments=[], districts=[],
                      unavailable=msg(request, "tickets_unavailable"))
    now = datetime.now(CST)
    see = session_of(request).can(Permission.SEE_PHONES)
    views = [ticket_view(request, t, see, now) for t in tickets]
    if filters["overdue"]:
        views = [v for v in views if v["overdue"]]
    views.sort(key=lambda v: (not v["overdue"], 0 if v["open"] else 1, -v["created_at"].timestamp()))
    return render(request, "tickets.html", tickets=views, filters=filters, statuses=[s.value for s in Status],
                  departments=sorted({v["department"] for v in views if v["department"]}),
                  districts=sorted({v["district"] for v in views if v["district"]}), unavailable="")


@guarded(Permission.HANDLE_TICKETS)
async def ticket_detail(request: web.Request) -> web.Response:
    try:
        ticket = await ticket_store(request).get(request.match_info["id"])
    except UNAVAILABLE:
        return render(request, "error.html", status=503, message=msg(request, "tickets_unavailable"))
    if ticket is None:
        raise web.HTTPNotFound(text=msg(request, "not_found"))
    see = session_of(request).can(Permission.SEE_PHONES)
    try:  # a 综治中心's mediation record, if the ticket has one (written in the units' portal)
        mediation = mediation_view(request, await MediationStore(request.config_dict[REDIS]).get(ticket.id))
    except UNAVAILABLE:
        mediation = None
    actions = [{"value": a.value, "label": label(request, "ticket_actions", a.value),
                "fields": _ACTION_FIELDS.get(a.value, ())} for a in allowed_actions(ticket.status)]
    return render(request, "ticket.html", t=ticket_view(request, ticket, see, datetime.now(CST)),
                  actions=actions, ratings=[r.value for r in Rating],
                  reopen_targets=[Status.IN_PROGRESS.value, Status.DISPATCHED.value], mediation=mediation,
                  trail=trail_view(request, ticket))


@guarded(Permission.HANDLE_TICKETS)
async def ticket_transition(request: web.Request) -> web.StreamResponse:
    ticket_id = request.match_info["id"]
    where = f"/console/tickets/{quote(ticket_id, safe='')}"
    form = await request.post()
    action = str(form.get("action") or "")
    reason = str(form.get("reason") or "").strip()[:500] or None
    data = {name: str(form.get(name) or "").strip()[:200] for name in _ACTION_FIELDS.get(action, ())}
    fields: dict[str, Any] = {k: v for k, v in data.items() if v}
    version = str(form.get("version") or "")
    try:
        ticket = await ticket_service(request).move(ticket_id, action, f"console:{session_of(request).user}", reason,
                                    expected_version=int(version) if version.isdigit() else None, **fields)
    except TicketNotFound:
        raise web.HTTPNotFound(text=msg(request, "not_found")) from None
    except IllegalTransition as exc:
        await audit(request, "ticket_transition_refused", ticket_id, action=action, status=exc.status.value)
        shown = label(request, "ticket_actions", action) if action in {a.value for a in Action} else action
        return await answer(request, False, msg(request, "ticket_illegal", status=exc.status.value, action=shown,
                                                detail=exc.detail), where, status=409)
    except TransitionDataError as exc:
        await audit(request, "ticket_transition_refused", ticket_id, action=action, error=str(exc))
        return await answer(request, False, msg(request, "ticket_data", detail=str(exc)), where, status=422)
    except PreconditionFailed:
        return await answer(request, False, msg(request, "ticket_conflict"), where, status=409)
    except UNAVAILABLE:
        return await answer(request, False, msg(request, "tickets_unavailable"), where, status=503)
    await audit(request, "ticket_transition", ticket_id, action=action, to=ticket.status.value,
                reason=reason or "", **data)
    await request.config_dict[REDIS].publish(keys.console_events(), json.dumps(
        {"type": "ticket", "ticket": ticket_id, "status": ticket.status.value}, ensure_ascii=False))
    return await answer(request, True, msg(request, "ticket_moved", id=ticket_id,
                                           action=label(request, "ticket_actions", action),
                                           status=ticket.status.value), where)
