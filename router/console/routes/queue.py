"""The queue page: residents waiting for an operator (urgent first, then longest waiting) and the
conversations this operator has in service; the partial is what the live page swaps in on a change."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from router.appkeys import CONVERSATIONS
from router.console.access import guarded
from router.console.auth import Permission
from router.console.context import desk_of, session_of
from router.console.presenters import conv_view
from router.console.render import render

__all__ = ["queue_page", "queue_partial"]


async def _queue_context(request: web.Request) -> dict[str, Any]:
    session = session_of(request)
    see = session.can(Permission.SEE_PHONES)
    queued = await request.config_dict[CONVERSATIONS].queued(limit=200)
    views = sorted((conv_view(request, c, see) for c in queued), key=lambda v: (not v["urgent"], v["queued_at"]))
    mine = [conv_view(request, c, see) for c in await desk_of(request).taken_by(session.user)]
    return {"queue": views, "mine": mine}


@guarded(Permission.HANDLE_CONVERSATIONS)
async def queue_page(request: web.Request) -> web.Response:
    return render(request, "queue.html", **await _queue_context(request))


@guarded(Permission.HANDLE_CONVERSATIONS)
async def queue_partial(request: web.Request) -> web.Response:
    return render(request, "_queue.html", **await _queue_context(request))
