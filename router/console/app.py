"""The operator console under /console: server-rendered pages (jinja2, autoescaped), small partial
updates, and Server-Sent Events fed by Redis pub/sub so the queue and an open transcript stay live.

The console is a sub-application so its middleware (security headers) and static files stay inside
/console; it finds the router's shared objects (Redis, conversation store, outbound delivery, tickets)
through ``request.config_dict``. It does not take the API bearer token: every route checks the login
session and the role (router.console.access, router.console.auth), and every POST a per-session CSRF
token. A user whose password someone else has seen (the first admin, a reset) can reach only the password
page until they chose their own. Residents' numbers are masked for roles without SEE_PHONES
(router.console.presenters).

This module mounts it all: the route table, the static files, and the startup work (the stores on
Redis, the first admin, the auto-assignment loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web

from router.appkeys import CONVERSATIONS, OUTBOUND, REDIS, SETTINGS
from router.console import proxies
from router.console.access import security_headers
from router.console.audit import AuditLog
from router.console.auth import LoginLimiter, SessionStore
from router.console.canned import CannedReplies
from router.console.context import CONSOLE, HERE, ConsoleState, make_assigner
from router.console.live import events
from router.console.render import make_env
from router.console.routes.assignment import assignment_capacity, assignment_page, assignment_switch, reassign
from router.console.routes.canned import canned_add, canned_change, canned_page
from router.console.routes.conversations import (
    claim,
    close,
    conversation_page,
    conversation_partial,
    handback,
    referral,
    reply,
)
from router.console.routes.login import login_page, login_submit, logout, password_page, password_submit, root
from router.console.routes.queue import queue_page, queue_partial
from router.console.routes.supervisor import audit_page, supervisor_page
from router.console.routes.tickets import ticket_board, ticket_detail, ticket_transition
from router.console.routes.units import units_page
from router.console.routes.users import users_add, users_change, users_page
from router.console.users import BOOTSTRAP_FILE, UserStore, ensure_bootstrap_admin, refresh_bootstrap_notice
from router.services.desk import Desk

__all__ = ["setup_console"]

log = logging.getLogger(__name__)


def _load_json(name: str) -> Any:
    return json.loads((HERE / name).read_text(encoding="utf-8"))


def setup_console(app: web.Application) -> None:
    """Mount the console at /console (pages, partials, SSE, static files) and its startup work."""
    console = web.Application(middlewares=[security_headers])
    state = ConsoleState(texts=_load_json("ui_zh.json"), canned=_load_json("canned_zh.json"), env=make_env())
    console[CONSOLE] = state
    r = console.router
    r.add_get("/", root)
    r.add_get("/login", login_page)
    r.add_post("/login", login_submit)
    r.add_post("/logout", logout)
    r.add_get("/password", password_page)
    r.add_post("/password", password_submit)
    r.add_get("/queue", queue_page)
    r.add_get("/queue/partial", queue_partial)
    r.add_get("/events", events)
    r.add_get("/conversations/{id}", conversation_page)
    r.add_get("/conversations/{id}/partial", conversation_partial)
    r.add_post("/conversations/{id}/claim", claim)
    r.add_post("/conversations/{id}/reply", reply)
    r.add_post("/conversations/{id}/handback", handback)
    r.add_post("/conversations/{id}/close", close)
    r.add_post("/conversations/{id}/referral", referral)
    r.add_get("/tickets", ticket_board)
    r.add_get("/tickets/{id}", ticket_detail)
    r.add_post("/tickets/{id}/transitions", ticket_transition)
    r.add_get("/supervisor", supervisor_page)
    r.add_get("/units", units_page)
    r.add_get("/audit", audit_page)
    r.add_get("/users", users_page)
    r.add_post("/users", users_add)
    r.add_post("/users/{name}", users_change)
    r.add_get("/canned", canned_page)
    r.add_post("/canned", canned_add)
    r.add_post("/canned/{id}", canned_change)
    r.add_get("/assignment", assignment_page)
    r.add_post("/assignment", assignment_switch)
    r.add_post("/assignment/{name}", assignment_capacity)
    r.add_post("/conversations/{id}/assign", reassign)
    r.add_static("/static/", HERE / "static", append_version=False)

    async def bare_root(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/console/queue")

    app.router.add_get("/console", bare_root)
    app.add_subapp("/console", console)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        redis = app[REDIS]
        state.sessions = SessionStore(redis)
        state.users = UserStore(redis)
        state.audit = AuditLog(redis)
        state.limiter = LoginLimiter(redis)
        state.canned_store = CannedReplies(redis, state.canned)
        state.stopping.clear()
        settings = app[SETTINGS]
        state.trusted_proxies = proxies.parse_networks(settings.console_trusted_proxies)
        state.public_https = settings.public_url.lower().startswith("https://")
        var_dir = Path(settings.var_dir)  # VAR_DIR, read by Settings.from_env()
        state.var_dir = var_dir
        try:
            created = await ensure_bootstrap_admin(redis, var_dir)
            if not created:  # printed on the first start only; later `make run` says where it is
                await refresh_bootstrap_notice(redis, var_dir)
        except OSError as exc:
            log.error("console: could not write the first admin's password under %s: %s", var_dir, exc)
            created = None
        if created:
            log.warning("console: created user 'admin'; its password (to be changed at the first login) is "
                        "in %s", var_dir / BOOTSTRAP_FILE)
        assigning = asyncio.create_task(_assign_loop(app, state))
        yield
        assigning.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await assigning

    async def stop_streams(app: web.Application) -> None:
        state.stopping.set()  # open SSE streams end within a second, so shutdown does not wait on them

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(stop_streams)


ASSIGN_EVERY_SECONDS = 1.0


async def _assign_loop(app: web.Application, state: ConsoleState) -> None:
    """Auto-assignment in this router process, once a second (a resident waiting, an operator online, a lease
    run out). Every process runs it; the Lua step makes that safe. It polls rather than listening on pub/sub:
    the process keeps its one pub/sub connection for open event streams (router.http.EventHub), and a
    switched-off desk costs one HGET a second."""
    assert state.users is not None
    redis = app[REDIS]
    desk = Desk(app[CONVERSATIONS], redis, app[OUTBOUND], notices=state.texts["system_entries"])
    assigner = make_assigner(app[CONVERSATIONS], redis, state.users, desk)
    while not state.stopping.is_set():
        try:
            await asyncio.sleep(ASSIGN_EVERY_SECONDS)
            await assigner.run_once()
        except asyncio.CancelledError:
            break
        except Exception as exc:  # noqa: BLE001 - Redis away for a moment: try again shortly
            log.warning("console: auto-assignment: %s", exc)
            await asyncio.sleep(ASSIGN_EVERY_SECONDS)
