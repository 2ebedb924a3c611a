"""Canned replies (快捷回复) for supervisors: the list, adding one, editing or deleting one. Operators pick
them on the conversation page (router.console.routes.conversations)."""

from __future__ import annotations

from aiohttp import web

from router.console.access import guarded
from router.console.auth import Permission
from router.console.canned import MAX_TEXT_CHARS, MAX_TITLE_CHARS, CannedNotFound, InvalidCanned
from router.console.context import canned_of
from router.console.presenters import msg
from router.console.render import answer, audit, render

__all__ = ["canned_page", "canned_add", "canned_change"]

_WHERE = "/console/canned"


@guarded(Permission.SUPERVISE)
async def canned_page(request: web.Request) -> web.Response:
    return render(request, "canned.html", replies=await canned_of(request).list(), max_title=MAX_TITLE_CHARS,
                  max_text=MAX_TEXT_CHARS)


@guarded(Permission.SUPERVISE)
async def canned_add(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    try:
        entry = await canned_of(request).add(str(form.get("title") or ""), str(form.get("text") or ""))
    except InvalidCanned as exc:
        return await answer(request, False, msg(request, exc.reason, **exc.params), _WHERE, status=422)
    await audit(request, "canned_add", entry["id"], title=entry["title"], chars=len(entry["text"]))
    return await answer(request, True, msg(request, "canned_added", title=entry["title"]), _WHERE)


@guarded(Permission.SUPERVISE)
async def canned_change(request: web.Request) -> web.StreamResponse:
    reply_id = request.match_info["id"]
    form = await request.post()
    op = str(form.get("op") or "")
    store = canned_of(request)
    try:
        if op == "save":
            entry = await store.update(reply_id, str(form.get("title") or ""), str(form.get("text") or ""))
            await audit(request, "canned_edit", reply_id, title=entry["title"], chars=len(entry["text"]))
            message = msg(request, "canned_saved", title=entry["title"])
        elif op == "delete":
            entry = await store.delete(reply_id)
            await audit(request, "canned_delete", reply_id, title=entry["title"])
            message = msg(request, "canned_deleted", title=entry["title"])
        else:
            return await answer(request, False, msg(request, "bad_request", detail=f"op={op[:20]!r}"), _WHERE,
                                status=400)
    except InvalidCanned as exc:
        return await answer(request, False, msg(request, exc.reason, **exc.params), _WHERE, status=422)
    except CannedNotFound:
        return await answer(request, False, msg(request, "canned_unknown"), _WHERE, status=404)
    return await answer(request, True, message, _WHERE)
