"""Answering a console request: the jinja environment (autoescaped), whole pages and partials, the
JSON-or-redirect answer to a form post, flash messages, refusals, and the audit record of who did what."""

from __future__ import annotations

import json
import time
from typing import Any

import jinja2
from aiohttp import web

from router.console.auth import Permission, Session
from router.console.context import FLASH_KEY, HERE, SESSION_KEY, client_ip, session_of, state_of
from router.console.presenters import fmt_duration, fmt_rate, fmt_time, label

__all__ = ["make_env", "is_fetch", "json_answer", "render", "flash", "audit", "answer", "refuse"]


def make_env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every template is HTML; resident text must never become markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cst"] = fmt_time
    env.filters["duration"] = fmt_duration
    env.filters["rate"] = fmt_rate
    return env


def is_fetch(request: web.Request) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def json_answer(payload: dict[str, Any], *, status: int = 200) -> web.Response:
    return web.json_response(payload, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


def render(request: web.Request, template: str, *, status: int = 200, **ctx: Any) -> web.Response:
    state = state_of(request)
    session: Session | None = request.get(SESSION_KEY)
    body = state.env.get_template(template).render(
        session=session,
        csrf=session.csrf if session else "",
        flash=request.get(FLASH_KEY),
        perm=Permission,
        can=(lambda p: session is not None and session.can(p)),
        label=lambda group, value: label(request, group, value),
        texts=state.texts,
        now=time.time(),
        path=request.path,
        **ctx,
    )
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


async def flash(request: web.Request, kind: str, text: str) -> None:
    sessions = state_of(request).sessions
    assert sessions is not None
    await sessions.flash(session_of(request), kind, text)


async def audit(request: web.Request, action: str, target: str = "", /, **detail: Any) -> None:
    """The actor is the logged-in user of this request, never anything the request says: before login
    (a failed login) it is empty, and the name that was tried is the target."""
    log = state_of(request).audit
    assert log is not None
    session: Session | None = request.get(SESSION_KEY)
    await log.record(actor=session.user if session else "", role=session.role.value if session else "",
                     action=action, target=target, detail=detail, ip=client_ip(request))


async def answer(request: web.Request, ok: bool, message: str, location: str, *, status: int = 200
                 ) -> web.StreamResponse:
    """A fetch() caller gets JSON; a plain form post gets the message as a flash and a redirect (PRG)."""
    if is_fetch(request):
        return json_answer({"ok": ok, "message": message}, status=200 if ok else status)
    await flash(request, "ok" if ok else "error", message)
    raise web.HTTPSeeOther(location)


async def refuse(request: web.Request, status: int, message: str) -> web.Response:
    """A refusal: JSON to a fetch() caller or a live stream, else the error page."""
    if is_fetch(request) or request.path.endswith("/events"):
        return json_answer({"ok": False, "message": message}, status=status)
    return render(request, "error.html", status=status, message=message)
