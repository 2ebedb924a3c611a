"""The supervisor's page (the queue's figures, each operator's load, the ticket report by department
and district) and the audit trail, readable with READ_AUDIT and masked for roles without SEE_PHONES."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from router.appkeys import CONVERSATIONS, REDIS
from router.console.access import guarded
from router.console.auth import Permission
from router.console.context import UNAVAILABLE, desk_of, session_of, state_of, ticket_store
from router.console.presenters import conv_view, label, urgent
from router.console.render import render
from router.domain.masking import mask_pii
from router.services.assignment import DeskStats

__all__ = ["supervisor_page", "audit_page"]


@guarded(Permission.SUPERVISE)
async def supervisor_page(request: web.Request) -> web.Response:
    from router.services.reports import ReportRow, build_report

    store = request.config_dict[CONVERSATIONS]
    queued = await store.queued(limit=1000)
    now = time.time()
    waits = [max(0.0, now - c.queued_at) for c in queued if c.queued_at]
    state = state_of(request)
    assert state.users is not None
    desk = desk_of(request)
    load: list[dict[str, Any]] = []
    for user in await state.users.list():
        load.append({"name": user.name, "role": label(request, "roles", user.role.value),
                     "active": await desk.load(user.name)})
    figures = {
        "queue_length": len(queued),
        "urgent": sum(1 for c in queued if urgent(c)),
        "longest_wait": max(waits) if waits else 0.0,
        "average_wait": sum(waits) / len(waits) if waits else 0.0,
        "in_service": sum(row["active"] for row in load),
    }
    see = session_of(request).can(Permission.SEE_PHONES)
    waiting = sorted((conv_view(request, c, see) for c in queued), key=lambda v: -v["wait"])
    report: dict[str, list[Any]] = {"department": [], "district": []}
    total = None
    try:
        report = await build_report(ticket_store(request))
    except UNAVAILABLE:
        pass  # the page still shows the queue; the ticket figures say they are unavailable
    else:
        total = ReportRow("all", "全部")
        for row in report["department"]:  # every ticket is in exactly one department row
            for name in ("volume", "reporters", "resolved", "on_time", "withdrawn", "rated", "satisfied",
                         "handling_hours_total"):
                setattr(total, name, getattr(total, name) + getattr(row, name))
    desk_today = await DeskStats(request.config_dict[REDIS]).today(now=now)
    return render(request, "supervisor.html", figures=figures, waiting=waiting, load=load, report=report,
                  total=total, tickets_available=total is not None, desk=desk_today)


@guarded(Permission.READ_AUDIT)
async def audit_page(request: web.Request) -> web.Response:
    audit = state_of(request).audit
    assert audit is not None
    actor = request.query.get("actor", "").strip() or None
    action = request.query.get("action", "").strip() or None
    entries = await audit.recent(limit=300, actor=actor, action=action)
    see = session_of(request).can(Permission.SEE_PHONES)
    rows = [{"id": e.id, "at": e.at, "actor": e.actor, "role": label(request, "roles", e.role),
             "action": label(request, "audit_actions", e.action), "target": e.target,
             "target_kind": "conversation" if e.target.startswith("C") and len(e.target) == 17 else
             ("ticket" if e.target.startswith("SZ") else ""),
             "detail": ", ".join(f"{k}={v if see else mask_pii(str(v))}" for k, v in e.detail.items()),
             "ip": e.ip} for e in entries]
    return render(request, "audit.html", rows=rows, actor=actor or "", action=action or "",
                  actions=state_of(request).texts["audit_actions"])
