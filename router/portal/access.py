"""Who may reach what in the portal: the login guard every page and post goes through (session re-checked
against the login as it is now, CSRF on every POST), the session cookie, and the portal's state.
Security headers, client addresses behind a trusted proxy, password hashing and the failed-login limit
are the console's (router.console.access, proxies, auth)."""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from aiohttp import web

from router.adapters.units import Unit, UnitSession, UnitSessions, UnitStore
from router.console import proxies
from router.console.access import LoginForm
from router.console.auth import LoginLimiter
from router.console.presenters import fmt_duration, fmt_time
from router.portal.photos import PhotoStore
from router.services.escalation import Escalation
from router.services.mediation import MediationService
from router.services.work import WorkService

__all__ = ["COOKIE", "LOGIN_COOKIE", "LOGIN_FORM", "PortalState", "PORTAL", "UNIT_KEY", "SESSION", "state_of", "unit_of",
           "guarded", "render", "refuse", "set_session_cookie", "cookie_secure", "client_ip", "HERE"]

HERE = Path(__file__).resolve().parent
COOKIE = "rsa_work"
LOGIN_COOKIE = "rsa_work_login"
LOGIN_FORM = LoginForm(LOGIN_COOKIE, "/work/login")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class PortalState:
    env: jinja2.Environment
    units: UnitStore | None = None
    sessions: UnitSessions | None = None
    limiter: LoginLimiter | None = None
    work: WorkService | None = None
    mediation: MediationService | None = None
    escalation: Escalation | None = None
    photos: PhotoStore | None = None
    trusted_proxies: proxies.Networks = ()
    public_https: bool = False


PORTAL: web.AppKey[PortalState] = web.AppKey("portal_state", PortalState)
UNIT_KEY: web.RequestKey[Unit] = web.RequestKey("portal_unit", Unit)
SESSION: web.RequestKey[UnitSession] = web.RequestKey("portal_session", UnitSession)
_FLASH: web.RequestKey[Any] = web.RequestKey("portal_flash")


def make_env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["cst"] = fmt_time
    env.filters["duration"] = fmt_duration
    return env


def state_of(request: web.Request) -> PortalState:
    return request.config_dict[PORTAL]


def unit_of(request: web.Request) -> Unit:
    return request[UNIT_KEY]


def client_ip(request: web.Request) -> str:
    return proxies.client_ip(request, state_of(request).trusted_proxies)


def cookie_secure(request: web.Request) -> bool:
    state = state_of(request)
    return state.public_https or proxies.came_over_tls(request, state.trusted_proxies)


def set_session_cookie(request: web.Request, resp: web.StreamResponse, session: UnitSession) -> None:
    """HttpOnly, SameSite=Lax, Secure over https, Path=/work: the console's cookie rules (see
    router.console.access.set_session_cookie), for the portal's own path."""
    sessions = state_of(request).sessions
    assert sessions is not None
    resp.set_cookie(COOKIE, session.id, httponly=True, samesite="Lax", path="/work", max_age=sessions.ttl,
                    secure=cookie_secure(request))


def render(request: web.Request, template: str, *, status: int = 200, **ctx: Any) -> web.Response:
    state = state_of(request)
    session: UnitSession | None = request.get(SESSION)
    body = state.env.get_template(template).render(
        unit=request.get(UNIT_KEY), csrf=session.csrf if session else "", flash=request.get(_FLASH),
        now=time.time(), path=request.path, **ctx)
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


def refuse(request: web.Request, status: int, message: str) -> web.Response:
    return render(request, "error.html", status=status, message=message)


async def flash(request: web.Request, kind: str, text: str) -> None:
    sessions = state_of(request).sessions
    assert sessions is not None
    await sessions.flash(request[SESSION], kind, text)


async def current_unit(request: web.Request) -> tuple[UnitSession, Unit] | None:
    """The logged-in session and its login as it is now; a disabled login, or one whose password changed
    since (a newer epoch), is logged out here."""
    state = state_of(request)
    assert state.sessions is not None and state.units is not None
    session = await state.sessions.get(request.cookies.get(COOKIE))
    if session is None:
        return None
    unit = await state.units.get(session.user)
    if unit is None or unit.disabled or unit.epoch != session.epoch:
        await state.sessions.delete(session.id)
        return None
    return session, unit


def guarded(*, multipart: bool = False) -> Callable[[Handler], Handler]:
    """Login required; a valid CSRF token on every POST (the X-CSRF-Token header or the form's ``csrf``
    field). ``multipart``: the handler streams the body itself and checks the token it finds first."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def inner(request: web.Request) -> web.StreamResponse:
            found = await current_unit(request)
            if found is None:
                if request.method == "GET":
                    raise web.HTTPSeeOther(f"/work/login?next={quote(request.path_qs, safe='')}")
                return refuse(request, 401, "请先登录")
            session, unit = found
            request[SESSION] = session
            request[UNIT_KEY] = unit
            if request.method == "POST" and not (multipart and request.content_type == "multipart/form-data"):
                token = request.headers.get("X-CSRF-Token")
                if token is None:
                    form = await request.post()
                    token = form.get("csrf") if isinstance(form.get("csrf"), str) else None  # type: ignore[assignment]
                if not session.csrf_ok(token):
                    return refuse(request, 403, "页面已过期，请刷新后重试")
            if request.method == "GET":
                assert state_of(request).sessions is not None
                request[_FLASH] = await state_of(request).sessions.pop_flash(session)  # type: ignore[union-attr]
            return await handler(request)

        return inner

    return wrap
