"""Who may reach what in the console: the guarded() decorator every page and post goes through (login,
role, CSRF, the password page first), the session re-checked against the user as they are now, the
session cookie and why each of its attributes, and the console's own security headers."""

from __future__ import annotations

import dataclasses
import functools
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from aiohttp import web

from router.console import proxies
from router.console.auth import Permission, Session, csrf_matches
from router.console.context import FLASH_KEY, SESSION_KEY, ConsoleState, state_of
from router.console.presenters import label, msg
from router.console.render import is_fetch, json_answer, refuse

__all__ = ["COOKIE", "LOGIN_COOKIE", "LOGIN_FORM", "LoginForm", "Handler", "guarded", "current", "cookie_secure",
           "set_session_cookie", "security_headers", "set_headers"]

COOKIE = "rsa_console"
LOGIN_COOKIE = "rsa_console_login"  # double-submit token for the login form (no session yet)
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclasses.dataclass(frozen=True)
class LoginForm:
    """A login form's double-submit token (there is no session yet to hold a CSRF token): a random value in
    a Strict, HttpOnly cookie scoped to the form's own path, echoed by the form. The console's and the
    units' portal's login pages are both this, each with its cookie and path."""

    cookie: str
    path: str

    def token(self, request: web.Request) -> str:
        """The token the page carries: the browser's own if it has one, else a new one."""
        return request.cookies.get(self.cookie) or secrets.token_urlsafe(24)

    def give(self, resp: web.StreamResponse, token: str, *, secure: bool) -> None:
        resp.set_cookie(self.cookie, token, httponly=True, samesite="Strict", path=self.path, secure=secure)

    def sent_back(self, request: web.Request, form_token: str) -> bool:
        """The form's token is the cookie's: the post came from our own login page."""
        return csrf_matches(request.cookies.get(self.cookie, ""), form_token)

    def clear(self, resp: web.StreamResponse, *, secure: bool) -> None:
        resp.del_cookie(self.cookie, path=self.path, secure=secure, httponly=True, samesite="Strict")


LOGIN_FORM = LoginForm(LOGIN_COOKIE, "/console/login")


def _is_page(request: web.Request) -> bool:
    """A page the browser navigates to (redirects make sense), not a fetch() call or a live stream."""
    return request.method == "GET" and not is_fetch(request) and not request.path.endswith("/events")


def guarded(permission: Permission | None, *, while_must_change: bool = False) -> Callable[[Handler], Handler]:
    """Login required; ``permission`` (if any) required; a valid CSRF token on every POST. A user who
    must change their password reaches only the routes marked ``while_must_change`` (the password page,
    logout): pages redirect there, everything else is refused."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def inner(request: web.Request) -> web.StreamResponse:
            state = state_of(request)
            assert state.sessions is not None
            session = await state.sessions.get(request.cookies.get(COOKIE))
            if session is not None:
                session = await current(state, session)
            if session is None:
                if _is_page(request):
                    raise web.HTTPSeeOther(f"/console/login?next={quote(request.path_qs, safe='')}")
                return json_answer({"ok": False, "message": "请先登录"}, status=401)
            request[SESSION_KEY] = session
            if request.method == "POST":
                form = await request.post()
                token = request.headers.get("X-CSRF-Token") or form.get("csrf")
                if not isinstance(token, str) or not session.csrf_ok(token):
                    return await refuse(request, 403, msg(request, "csrf"))
            if session.must_change and not while_must_change:
                if _is_page(request):
                    raise web.HTTPSeeOther(f"/console/password?next={quote(request.path_qs, safe='')}")
                return await refuse(request, 403, msg(request, "password_change_required"))
            if permission is not None and not session.can(permission):
                return await refuse(request, 403, msg(request, "forbidden",
                                                      role=label(request, "roles", session.role.value)))
            if _is_page(request):
                request[FLASH_KEY] = await state.sessions.pop_flash(session)
            return await handler(request)

        return inner

    return wrap


async def current(state: ConsoleState, session: Session) -> Session | None:
    """The session if it is still good, with the user's flags as they are now. A user who was disabled
    or removed, or whose role or password changed since this login (a newer session epoch), is logged
    out at this request."""
    assert state.users is not None and state.sessions is not None
    user = await state.users.get(session.user)
    if user is None or user.disabled or user.epoch != session.epoch:
        await state.sessions.delete(session.id)
        return None
    if user.role is not session.role or user.must_change != session.must_change:
        return dataclasses.replace(session, role=user.role, must_change=user.must_change)
    return session


def cookie_secure(request: web.Request) -> bool:
    """Secure when the browser talks https: PUBLIC_URL is https, the request came over TLS, or a trusted
    proxy says it did (X-Forwarded-Proto / Forwarded). Plain http on the loopback (``make run``) gets
    no Secure flag, or the browser would never send the cookie back."""
    state = state_of(request)
    return state.public_https or proxies.came_over_tls(request, state.trusted_proxies)


def set_session_cookie(request: web.Request, resp: web.StreamResponse, session: Session) -> None:
    """The session cookie, and why each attribute:

    - HttpOnly: page scripts never need it, so an injected script cannot read it either;
    - SameSite=Lax: sent when an operator follows a link to the console from elsewhere (a ticket link in
      a chat), never on another site's POST, which with the CSRF token on every form closes cross-site
      requests; Strict would log operators out on every such link. The login form's own cookie is
      Strict: it only ever travels from the login page to itself;
    - Secure: see cookie_secure — on whenever the browser uses https, directly or via a trusted proxy;
    - Path=/console, Max-Age = the session TTL: not sent to the resident pages or the API, and gone from
      the browser when Redis forgets the session.
    """
    sessions = state_of(request).sessions
    assert sessions is not None
    resp.set_cookie(COOKIE, session.id, httponly=True, samesite="Lax", path="/console", max_age=sessions.ttl,
                    secure=cookie_secure(request))


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        resp = await handler(request)
    except web.HTTPException as exc:
        resp = exc
        set_headers(request, resp)
        raise
    set_headers(request, resp)
    return resp


def set_headers(request: web.Request, resp: web.StreamResponse) -> None:
    if resp.prepared:
        return
    resp.headers.setdefault("Content-Security-Policy", _CSP)
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("X-Frame-Options", "DENY")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    if not request.path.startswith("/console/static/"):
        resp.headers.setdefault("Cache-Control", "no-store")
