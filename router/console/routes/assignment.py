"""Auto-assignment for supervisors: the switch, each user's capacity (with who is online and how many
conversations they have now), and reassigning one conversation. The rule itself is
router.services.assignment's; these handlers read the form, call it, audit, and answer."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from router.adapters.conversations import ConversationNotFound
from router.console.access import guarded
from router.console.auth import Permission
from router.console.context import assigner_of, desk_of, session_of, state_of
from router.console.presenters import label, msg
from router.console.render import answer, audit, render
from router.services.assignment import MAX_CAPACITY
from router.services.desk import Operator, Refused

__all__ = ["assignment_page", "assignment_switch", "assignment_capacity", "reassign", "desk_users"]

_WHERE = "/console/assignment"


async def desk_users(request: web.Request) -> list[dict[str, Any]]:
    """Every enabled user who may take conversations: online or not, load, capacity."""
    state = state_of(request)
    assert state.users is not None
    assigner = assigner_of(request)
    online = set(await assigner.presence.online())
    rows = []
    for user in await state.users.list():
        if user.disabled or await assigner.default_capacity(user.name) is None:
            continue
        rows.append({"name": user.name, "role": label(request, "roles", user.role.value),
                     "online": user.name in online, "load": await assigner.load(user.name),
                     "capacity": await assigner.capacity(user.name)})
    return rows


@guarded(Permission.SUPERVISE)
async def assignment_page(request: web.Request) -> web.Response:
    return render(request, "assignment.html", enabled=await assigner_of(request).enabled(),
                  users=await desk_users(request), max_capacity=MAX_CAPACITY)


@guarded(Permission.SUPERVISE)
async def assignment_switch(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    op = str(form.get("op") or "")
    if op not in ("on", "off"):
        return await answer(request, False, msg(request, "bad_request", detail=f"op={op[:20]!r}"), _WHERE,
                            status=400)
    await assigner_of(request).set_enabled(op == "on")
    await audit(request, f"assignment_{op}")
    return await answer(request, True, msg(request, f"assignment_{op}"), _WHERE)


@guarded(Permission.SUPERVISE)
async def assignment_capacity(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    form = await request.post()
    assigner = assigner_of(request)
    if await assigner.default_capacity(name) is None:
        return await answer(request, False, msg(request, "user_unknown", name=name[:40]), _WHERE, status=404)
    raw = str(form.get("capacity") or "").strip()
    if not raw.isdigit() or not 0 <= int(raw) <= MAX_CAPACITY:
        return await answer(request, False, msg(request, "capacity_invalid", limit=MAX_CAPACITY), _WHERE,
                            status=422)
    await assigner.set_capacity(name, int(raw))
    await audit(request, "capacity", name, capacity=int(raw))
    return await answer(request, True, msg(request, "capacity_set", name=name, capacity=int(raw)), _WHERE)


@guarded(Permission.SUPERVISE)
async def reassign(request: web.Request) -> web.StreamResponse:
    """A supervisor gives the conversation to an operator, or takes it over themselves."""
    conv_id = request.match_info["id"]
    where = f"/console/conversations/{conv_id}"
    session = session_of(request)
    form = await request.post()
    to = str(form.get("operator") or "").strip() or session.user
    if await assigner_of(request).default_capacity(to) is None:
        return await answer(request, False, msg(request, "user_unknown", name=to[:40]), where, status=422)
    try:
        conv = await desk_of(request).reassign(conv_id, Operator(session.user, supervisor=True), to)
    except ConversationNotFound:
        raise web.HTTPNotFound(text=msg(request, "not_found")) from None
    except Refused as exc:
        params = dict(exc.params)
        if "state" in params:
            params["state"] = label(request, "conversation_states", params["state"])
        await audit(request, "reassign_refused", conv_id, to=to)
        return await answer(request, False, msg(request, exc.reason, **params), where, status=409)
    await audit(request, "reassign", conv_id, to=to, channel=conv.channel)
    return await answer(request, True, msg(request, "reassigned", operator=to), where)
