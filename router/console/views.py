"""The operator console under /console: server-rendered pages (jinja2, autoescaped), small partial
updates, and Server-Sent Events fed by Redis pub/sub so the queue and an open transcript stay live.

The console is a sub-application so its middleware (security headers) and static files stay inside
/console; it finds the router's shared objects (Redis, conversation store, outbound delivery, tickets)
through ``request.config_dict``. It does not take the API bearer token: every route checks the login
session and the role (router.console.auth), and every POST a per-session CSRF token. A user whose
password someone else has seen (the first admin, a reset) can reach only the password page until they
chose their own. Residents' numbers are masked for roles without SEE_PHONES (router.console.masking).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import logging
import os
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from aiohttp import web

from router import keys
from router.adapters.conversations import (
    Conversation,
    ConversationNotFound,
    ConversationState,
    IllegalConversationMove,
)
from router.appkeys import CONVERSATIONS, OUTBOUND, REDIS, SETTINGS, TICKET_SERVICE, TICKETS
from router.console import proxies
from router.console.audit import AuditLog
from router.console.auth import (
    LoginLimiter,
    Permission,
    Role,
    Session,
    SessionStore,
    generate_password,
)
from router.console.users import (
    BOOTSTRAP_FILE,
    InvalidUser,
    UserExists,
    UserNotFound,
    UserStore,
    check_password,
    ensure_bootstrap_admin,
    refresh_bootstrap_notice,
)
from router.domain.masking import mask_pii
from router.domain.tickets import (
    CST,
    OPEN_STATUSES,
    Action,
    IllegalTransition,
    Rating,
    Status,
    Ticket,
    TransitionDataError,
    allowed_actions,
    mask_name,
)
from router.services.messages import Reply
from router.services.tickets import TicketService

__all__ = ["setup_console", "ConsoleState", "CONSOLE", "COOKIE", "LOGIN_COOKIE"]

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
COOKIE = "rsa_console"
LOGIN_COOKIE = "rsa_console_login"  # double-submit token for the login form (no session yet)
MAX_REPLY_CHARS = 2000
HEARTBEAT_SECONDS = 15.0
SESSION_RECHECK_SECONDS = 10.0  # a backstop: a revocation ends a live stream at once (pub/sub)
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


@dataclass
class ConsoleState:
    """Filled in at startup (Redis exists only then); one per router process, no per-user state."""

    texts: dict[str, Any]
    canned: list[dict[str, str]]
    env: jinja2.Environment
    sessions: SessionStore | None = None
    users: UserStore | None = None
    audit: AuditLog | None = None
    limiter: LoginLimiter | None = None
    trusted_proxies: proxies.Networks = ()  # Settings.console_trusted_proxies, parsed
    public_https: bool = False  # PUBLIC_URL is https: browsers reach the console over TLS
    var_dir: Path | None = None
    stopping: asyncio.Event = field(default_factory=asyncio.Event)


CONSOLE: web.AppKey[ConsoleState] = web.AppKey("console_state", ConsoleState)
_SESSION_KEY: web.RequestKey[Session] = web.RequestKey("console_session", Session)
_FLASH_KEY: web.RequestKey[Any] = web.RequestKey("console_flash")
_LOGIN_ERROR: web.RequestKey[str] = web.RequestKey("console_login_error", str)
_LOGIN_USER: web.RequestKey[str] = web.RequestKey("console_login_user", str)

# ------------------------------------------------------------------------------------------ helpers


def _state(request: web.Request) -> ConsoleState:
    return request.config_dict[CONSOLE]


def _session(request: web.Request) -> Session:
    return request[_SESSION_KEY]


def _client_ip(request: web.Request) -> str:
    """The operator's address: X-Forwarded-For only from a trusted proxy (router.console.proxies)."""
    return proxies.client_ip(request, _state(request).trusted_proxies)


def _cookie_secure(request: web.Request) -> bool:
    """Secure when the browser talks https: PUBLIC_URL is https, the request came over TLS, or a trusted
    proxy says it did (X-Forwarded-Proto / Forwarded). Plain http on the loopback (``make run``) gets
    no Secure flag, or the browser would never send the cookie back."""
    state = _state(request)
    return state.public_https or proxies.came_over_tls(request, state.trusted_proxies)


def _set_session_cookie(request: web.Request, resp: web.StreamResponse, session: Session) -> None:
    """The session cookie, and why each attribute:

    - HttpOnly: page scripts never need it, so an injected script cannot read it either;
    - SameSite=Lax: sent when an operator follows a link to the console from elsewhere (a ticket link in
      a chat), never on another site's POST, which with the CSRF token on every form closes cross-site
      requests; Strict would log operators out on every such link. The login form's own cookie is
      Strict: it only ever travels from the login page to itself;
    - Secure: see _cookie_secure — on whenever the browser uses https, directly or via a trusted proxy;
    - Path=/console, Max-Age = the session TTL: not sent to the resident pages or the API, and gone from
      the browser when Redis forgets the session.
    """
    sessions = _state(request).sessions
    assert sessions is not None
    resp.set_cookie(COOKIE, session.id, httponly=True, samesite="Lax", path="/console", max_age=sessions.ttl,
                    secure=_cookie_secure(request))


def _msg(request: web.Request, key: str, **params: Any) -> str:
    return str(_state(request).texts["messages"][key]).format(**params)


def _label(request: web.Request, group: str, value: Any) -> str:
    return str(_state(request).texts.get(group, {}).get(str(value), value if value is not None else ""))


def _fmt_time(value: float | datetime | None, with_date: bool = True) -> str:
    if value is None or value == 0:
        return ""
    at = value if isinstance(value, datetime) else datetime.fromtimestamp(float(value), CST)
    return at.astimezone(CST).strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M:%S")


def _fmt_duration(seconds: float) -> str:
    seconds = int(abs(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时"
    if hours:
        return f"{hours}小时{minutes}分"
    if minutes:
        return f"{minutes}分{secs}秒"
    return f"{secs}秒"


def _fmt_rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _make_env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every template is HTML; resident text must never become markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cst"] = _fmt_time
    env.filters["duration"] = _fmt_duration
    env.filters["rate"] = _fmt_rate
    return env


def _is_fetch(request: web.Request) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def _safe_next(target: str | None) -> str:
    """Only our own console pages: never an open redirect to another site (//evil, /\\evil)."""
    if target and target.startswith("/console/") and not target.startswith(("//", "/\\")) and "\\" not in target:
        return target
    return "/console/queue"


def _render(request: web.Request, template: str, *, status: int = 200, **ctx: Any) -> web.Response:
    state = _state(request)
    session: Session | None = request.get(_SESSION_KEY)
    body = state.env.get_template(template).render(
        session=session,
        csrf=session.csrf if session else "",
        flash=request.get(_FLASH_KEY),
        perm=Permission,
        can=(lambda p: session is not None and session.can(p)),
        label=lambda group, value: _label(request, group, value),
        texts=state.texts,
        now=time.time(),
        path=request.path,
        **ctx,
    )
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


async def _flash(request: web.Request, kind: str, text: str) -> None:
    sessions = _state(request).sessions
    assert sessions is not None
    await sessions.flash(_session(request), kind, text)


async def _audit(request: web.Request, action: str, target: str = "", /, **detail: Any) -> None:
    """The actor is the logged-in user of this request, never anything the request says: before login
    (a failed login) it is empty, and the name that was tried is the target."""
    audit = _state(request).audit
    assert audit is not None
    session: Session | None = request.get(_SESSION_KEY)
    await audit.record(actor=session.user if session else "", role=session.role.value if session else "",
                       action=action, target=target, detail=detail, ip=_client_ip(request))


async def _answer(request: web.Request, ok: bool, message: str, location: str, *, status: int = 200
                  ) -> web.StreamResponse:
    """A fetch() caller gets JSON; a plain form post gets the message as a flash and a redirect (PRG)."""
    if _is_fetch(request):
        return web.json_response({"ok": ok, "message": message}, status=200 if ok else status,
                                 dumps=lambda o: json.dumps(o, ensure_ascii=False))
    await _flash(request, "ok" if ok else "error", message)
    raise web.HTTPSeeOther(location)


# ------------------------------------------------------------------------------------ access control

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def guarded(permission: Permission | None, *, while_must_change: bool = False) -> Callable[[Handler], Handler]:
    """Login required; ``permission`` (if any) required; a valid CSRF token on every POST. A user who
    must change their password reaches only the routes marked ``while_must_change`` (the password page,
    logout): pages redirect there, everything else is refused."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def inner(request: web.Request) -> web.StreamResponse:
            state = _state(request)
            assert state.sessions is not None
            session = await state.sessions.get(request.cookies.get(COOKIE))
            if session is not None:
                session = await _current(state, session)
            if session is None:
                if request.method == "GET" and not _is_fetch(request) and not request.path.endswith("/events"):
                    raise web.HTTPSeeOther(f"/console/login?next={quote(request.path_qs, safe='')}")
                return web.json_response({"ok": False, "message": "请先登录"}, status=401,
                                         dumps=lambda o: json.dumps(o, ensure_ascii=False))
            request[_SESSION_KEY] = session
            if request.method == "POST":
                form = await request.post()
                token = request.headers.get("X-CSRF-Token") or form.get("csrf")
                if not isinstance(token, str) or not session.csrf_ok(token):
                    return await _refuse(request, 403, _msg(request, "csrf"))
            if session.must_change and not while_must_change:
                if request.method == "GET" and not _is_fetch(request) and not request.path.endswith("/events"):
                    raise web.HTTPSeeOther(f"/console/password?next={quote(request.path_qs, safe='')}")
                return await _refuse(request, 403, _msg(request, "password_change_required"))
            if permission is not None and not session.can(permission):
                return await _refuse(request, 403, _msg(request, "forbidden",
                                                        role=_label(request, "roles", session.role.value)))
            if request.method == "GET" and not _is_fetch(request) and not request.path.endswith("/events"):
                request[_FLASH_KEY] = await state.sessions.pop_flash(session)
            return await handler(request)

        return inner

    return wrap


async def _current(state: ConsoleState, session: Session) -> Session | None:
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


async def _refuse(request: web.Request, status: int, message: str) -> web.Response:
    if _is_fetch(request) or request.path.endswith("/events"):
        return web.json_response({"ok": False, "message": message}, status=status,
                                 dumps=lambda o: json.dumps(o, ensure_ascii=False))
    return _render(request, "error.html", status=status, message=message)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        resp = await handler(request)
    except web.HTTPException as exc:
        resp = exc
        _set_headers(request, resp)
        raise
    _set_headers(request, resp)
    return resp


def _set_headers(request: web.Request, resp: web.StreamResponse) -> None:
    if resp.prepared:
        return
    resp.headers.setdefault("Content-Security-Policy", _CSP)
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("X-Frame-Options", "DENY")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    if not request.path.startswith("/console/static/"):
        resp.headers.setdefault("Cache-Control", "no-store")


# ------------------------------------------------------------------------------------------- login


async def login_page(request: web.Request) -> web.Response:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    resp = _render(request, "login.html", login_token=token, next=_safe_next(request.query.get("next")),
                   error=request.get(_LOGIN_ERROR), username=request.get(_LOGIN_USER, ""))
    resp.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="Strict", path="/console/login",
                    secure=_cookie_secure(request))
    return resp


async def login_submit(request: web.Request) -> web.StreamResponse:
    state = _state(request)
    assert state.users is not None and state.sessions is not None and state.limiter is not None
    form = await request.post()
    cookie_token = request.cookies.get(LOGIN_COOKIE, "")
    form_token = str(form.get("csrf") or "")
    if not cookie_token or not secrets.compare_digest(cookie_token.encode(), form_token.encode()):
        request[_LOGIN_ERROR] = _msg(request, "csrf")
        resp = await login_page(request)
        resp.set_status(403)
        return resp
    name = str(form.get("username") or "").strip()[:64]
    password = str(form.get("password") or "")
    ip = _client_ip(request)
    request[_LOGIN_USER] = name
    wait = await state.limiter.acquire(ip, name)  # counted before the check: see LoginLimiter
    if wait:
        request[_LOGIN_ERROR] = _msg(request, "login_blocked", minutes=max(1, (wait + 59) // 60))
        resp = await login_page(request)
        resp.set_status(429)
        return resp
    user = await state.users.authenticate(name, password)
    if user is None:
        await _audit(request, "login_failed", name)
        request[_LOGIN_ERROR] = _msg(request, "login_failed")
        resp = await login_page(request)
        resp.set_status(401)
        return resp
    await state.limiter.succeeded(ip, name)
    session = await state.sessions.create(user.name, user.role, epoch=user.epoch)
    request[_SESSION_KEY] = session
    await _audit(request, "login", user.name)
    target = _safe_next(str(form.get("next") or ""))
    if user.must_change:
        target = f"/console/password?next={quote(target, safe='')}"
    resp = web.HTTPSeeOther(target)
    _set_session_cookie(request, resp, session)
    resp.del_cookie(LOGIN_COOKIE, path="/console/login", secure=_cookie_secure(request), httponly=True,
                    samesite="Strict")
    raise resp


@guarded(None, while_must_change=True)
async def password_page(request: web.Request) -> web.Response:
    return _render(request, "password.html", next=_safe_next(request.query.get("next")),
                   error=request.get(_LOGIN_ERROR))


@guarded(None, while_must_change=True)
async def password_submit(request: web.Request) -> web.StreamResponse:
    """The user's own password change: the current one, the new one twice. Every other session of the
    user ends (the epoch moves on); this browser gets a fresh session."""
    state = _state(request)
    assert state.users is not None and state.sessions is not None and state.limiter is not None
    session = _session(request)
    form = await request.post()
    current, new = str(form.get("current") or ""), str(form.get("password") or "")
    target = _safe_next(str(form.get("next") or ""))

    async def refused(key: str, status: int, **params: Any) -> web.Response:
        request[_LOGIN_ERROR] = _msg(request, key, **params)
        resp = await password_page(request)
        resp.set_status(status)
        return resp

    ip = _client_ip(request)
    wait = await state.limiter.acquire(ip, session.user)  # a stolen session must not guess the password
    if wait:
        return await refused("login_blocked", 429, minutes=max(1, (wait + 59) // 60))
    if await state.users.authenticate(session.user, current) is None:
        await _audit(request, "password_change_refused", session.user)
        return await refused("password_wrong", 401)
    await state.limiter.succeeded(ip, session.user)
    if new != str(form.get("confirm") or ""):
        return await refused("password_mismatch", 422)
    if new == current:
        return await refused("password_same", 422)
    try:
        check_password(new)
        if new.lower() == session.user.lower():
            raise InvalidUser("the password may not be the user name")
        epoch = await state.users.set_password(session.user, new)
    except InvalidUser as exc:
        return await refused("user_invalid", 422, detail=str(exc))
    except UserNotFound:
        raise web.HTTPSeeOther("/console/login") from None
    await _audit(request, "password_change", session.user)
    fresh = await state.sessions.create(session.user, session.role, epoch=epoch)
    await state.sessions.delete(session.id)
    await state.sessions.flash(fresh, "ok", _msg(request, "password_changed"))
    if state.var_dir is not None:
        with contextlib.suppress(OSError):  # the first admin's password file is stale now
            await refresh_bootstrap_notice(request.config_dict[REDIS], state.var_dir)
    resp = web.HTTPSeeOther(target)
    _set_session_cookie(request, resp, fresh)
    raise resp


@guarded(None, while_must_change=True)
async def logout(request: web.Request) -> web.StreamResponse:
    state = _state(request)
    assert state.sessions is not None
    await _audit(request, "logout", _session(request).user)
    await state.sessions.delete(_session(request).id)
    resp = web.HTTPSeeOther("/console/login")
    resp.del_cookie(COOKIE, path="/console", secure=_cookie_secure(request), httponly=True, samesite="Lax")
    raise resp


async def root(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/console/queue")


# ------------------------------------------------------------------------------------ conversations


def _urgent(conv: Conversation) -> bool:
    return conv.urgent or bool(conv.summary.get("urgent")) or conv.handoff_reason == "self_harm"


def _display_user(conv: Conversation, see_phones: bool) -> str:
    """The resident as the queue shows them: a caller's number (masked like every other view of it, so
    no two views add up to the whole number), or the start of an opaque channel id."""
    uid = conv.user_id
    if conv.channel == "voice":  # "NUMBER/CALL_SID": the number is what a person reads; the sid is noise
        uid = uid.rsplit("/", 1)[0]
    shown = uid if see_phones else mask_pii(uid, whole=True)
    return shown if len(shown) <= 20 else shown[:12] + "…"  # cut after masking: a prefix shows no more


def _masker(see_phones: bool) -> Callable[[str], str]:
    return (lambda t: t) if see_phones else mask_pii


def _summary_view(request: web.Request, conv: Conversation, see_phones: bool) -> dict[str, Any]:
    s = conv.summary or {}
    mask = _masker(see_phones)
    draft = s.get("ticket_draft") if isinstance(s.get("ticket_draft"), dict) else {}
    return {
        "intent": _label(request, "intents", s.get("intent") or "") if s.get("intent") else "",
        "topic": mask(str(s.get("topic") or "")),
        "place": mask(str(s.get("place") or "")),
        "ticket_id": str(s.get("ticket_id") or ""),
        "draft": [(_label(request, "draft_fields", k), mask(str(v))) for k, v in draft.items() if v],
        "last_messages": [mask(str(m)) for m in (s.get("last_messages") or [])][-3:],
    }


def _conv_view(request: web.Request, conv: Conversation, see_phones: bool) -> dict[str, Any]:
    now = time.time()
    return {
        "id": conv.id,
        "channel": _label(request, "channels", conv.channel),
        "state": conv.state.value,
        "state_label": _label(request, "conversation_states", conv.state.value),
        "operator": conv.operator,
        "user": _display_user(conv, see_phones),
        "urgent": _urgent(conv),
        "reason": _label(request, "handoff_reasons", conv.handoff_reason) if conv.handoff_reason else "",
        "queued_at": conv.queued_at,
        "wait": max(0.0, now - conv.queued_at) if conv.queued_at else 0.0,
        "summary": _summary_view(request, conv, see_phones),
    }


def _entry_view(request: web.Request, entry: dict[str, Any], see_phones: bool) -> dict[str, Any]:
    author = str(entry.get("author") or "")
    meta = entry.get("meta") if isinstance(entry.get("meta"), dict) else {}
    mask = _masker(see_phones)
    return {
        "author": author,
        "author_label": _label(request, "authors", author) + (f" {meta['operator']}" if meta.get("operator")
                                                                else ""),
        "text": mask(str(entry.get("text") or "")),
        "at": float(entry.get("at") or 0),
        "time": _fmt_time(float(entry.get("at") or 0), with_date=False),
        "buttons": [mask(str(b.get("title", ""))) for b in entry.get("buttons") or () if isinstance(b, dict)],
    }


async def _queue_context(request: web.Request) -> dict[str, Any]:
    session = _session(request)
    see = session.can(Permission.SEE_PHONES)
    store = request.config_dict[CONVERSATIONS]
    queued = await store.queued(limit=200)
    views = sorted((_conv_view(request, c, see) for c in queued), key=lambda v: (not v["urgent"], v["queued_at"]))
    redis = request.config_dict[REDIS]
    mine_ids = sorted(await redis.smembers(keys.console_operator_conversations(session.user)))
    mine = []
    for conv_id in mine_ids:
        conv = await store.get(conv_id)
        if conv is None or conv.state is not ConversationState.HUMAN or conv.operator != session.user:
            await redis.srem(keys.console_operator_conversations(session.user), conv_id)  # stale: tidy up
            continue
        mine.append(_conv_view(request, conv, see))
    return {"queue": views, "mine": mine}


@guarded(Permission.HANDLE_CONVERSATIONS)
async def queue_page(request: web.Request) -> web.Response:
    return _render(request, "queue.html", **await _queue_context(request))


@guarded(Permission.HANDLE_CONVERSATIONS)
async def queue_partial(request: web.Request) -> web.Response:
    return _render(request, "_queue.html", **await _queue_context(request))


async def _load_conv(request: web.Request) -> Conversation:
    conv = await request.config_dict[CONVERSATIONS].get(request.match_info["id"])
    if conv is None:
        raise web.HTTPNotFound(text=_msg(request, "not_found"))
    return conv


async def _conversation_context(request: web.Request, conv: Conversation) -> dict[str, Any]:
    session = _session(request)
    see = session.can(Permission.SEE_PHONES)
    transcript = await request.config_dict[CONVERSATIONS].transcript(conv.id, limit=500)
    return {
        "conv": _conv_view(request, conv, see),
        "entries": [_entry_view(request, e, see) for e in transcript],
        "mine": conv.state is ConversationState.HUMAN and conv.operator == session.user,
        "may_supervise": session.can(Permission.SUPERVISE),
        "canned": _state(request).canned,
    }


@guarded(Permission.HANDLE_CONVERSATIONS)
async def conversation_page(request: web.Request) -> web.Response:
    conv = await _load_conv(request)
    return _render(request, "conversation.html", **await _conversation_context(request, conv))


@guarded(Permission.HANDLE_CONVERSATIONS)
async def conversation_partial(request: web.Request) -> web.Response:
    conv = await _load_conv(request)
    return _render(request, "_conversation_head.html", **await _conversation_context(request, conv))


async def _system_entry(request: web.Request, conv: Conversation, key: str) -> None:
    """Tell the resident what happened, in the transcript (the web page's feed) and on their channel."""
    text = str(_state(request).texts["system_entries"][key])
    await request.config_dict[CONVERSATIONS].append(conv.id, "system", text, meta={"event": key})
    with contextlib.suppress(Exception):  # a notice that fails to deliver must not undo the move
        await request.config_dict[OUTBOUND].send(conv, Reply(text, author="system"))


@guarded(Permission.HANDLE_CONVERSATIONS)
async def claim(request: web.Request) -> web.StreamResponse:
    session = _session(request)
    conv_id = request.match_info["id"]
    where = f"/console/conversations/{conv_id}"
    try:
        conv = await request.config_dict[CONVERSATIONS].move(conv_id, "claim", operator=session.user)
    except ConversationNotFound:
        raise web.HTTPNotFound(text=_msg(request, "not_found")) from None
    except IllegalConversationMove as exc:
        current = await request.config_dict[CONVERSATIONS].get(conv_id)
        if exc.state == ConversationState.HUMAN.value and current is not None:
            message = _msg(request, "claimed_by_other", operator=current.operator or "其他坐席")
        else:
            message = _msg(request, "claim_not_queued", state=_label(request, "conversation_states", exc.state))
        await _audit(request, "claim_refused", conv_id, state=exc.state)
        return await _answer(request, False, message, "/console/queue", status=409)
    await request.config_dict[REDIS].sadd(keys.console_operator_conversations(session.user), conv_id)
    await _audit(request, "claim", conv_id, channel=conv.channel)
    await _system_entry(request, conv, "claimed")
    return await _answer(request, True, _msg(request, "claimed"), where)


def _check_mine(request: web.Request, conv: Conversation, *, supervisor_may: bool) -> str | None:
    """None if this operator may act on the conversation now, else the reason why not."""
    session = _session(request)
    if conv.state is not ConversationState.HUMAN:
        return None if supervisor_may and conv.state is ConversationState.QUEUED and session.can(
            Permission.SUPERVISE) else _msg(request, "not_in_service",
                                            state=_label(request, "conversation_states", conv.state.value))
    if conv.operator != session.user and not (supervisor_may and session.can(Permission.SUPERVISE)):
        return _msg(request, "not_yours", operator=conv.operator)
    return None


@guarded(Permission.HANDLE_CONVERSATIONS)
async def reply(request: web.Request) -> web.StreamResponse:
    conv = await _load_conv(request)
    where = f"/console/conversations/{conv.id}"
    form = await request.post()
    text = str(form.get("text") or "").strip()
    if not text and form.get("canned"):
        text = next((c["text"] for c in _state(request).canned if c["id"] == form.get("canned")), "")
    if not text:
        return await _answer(request, False, _msg(request, "reply_empty"), where, status=422)
    if len(text) > MAX_REPLY_CHARS:
        return await _answer(request, False, _msg(request, "reply_too_long", count=len(text),
                                                  limit=MAX_REPLY_CHARS), where, status=422)
    text = text.replace("\x00", "")
    problem = _check_mine(request, conv, supervisor_may=False)
    if problem:
        return await _answer(request, False, problem, where, status=409)
    user = _session(request).user
    # The transcript entry is published on the conversation's event stream: that is the web page's
    # delivery. Other channels (WeChat, voice) get it from their sender.
    await request.config_dict[CONVERSATIONS].append(conv.id, "operator", text, meta={"operator": user})
    try:
        await request.config_dict[OUTBOUND].send(conv, Reply(text, author="operator"))
    except Exception as exc:  # noqa: BLE001 - any channel failure is reported to the operator, not hidden
        log.warning("operator reply on %s not delivered: %s", conv.id, exc)
        await _audit(request, "reply_undelivered", conv.id, chars=len(text), error=str(exc)[:200])
        return await _answer(request, False, _msg(request, "reply_undelivered",
                                                  channel=_label(request, "channels", conv.channel),
                                                  error=str(exc)[:200] or type(exc).__name__), where, status=502)
    await _audit(request, "reply", conv.id, chars=len(text), channel=conv.channel)
    return await _answer(request, True, _msg(request, "reply_sent"), where)


async def _end(request: web.Request, command: str) -> web.StreamResponse:
    conv = await _load_conv(request)
    problem = _check_mine(request, conv, supervisor_may=True)
    if problem:
        return await _answer(request, False, problem, f"/console/conversations/{conv.id}", status=409)
    try:
        moved = await request.config_dict[CONVERSATIONS].move(conv.id, command, operator=_session(request).user,
                                                              reason="operator")
    except IllegalConversationMove as exc:
        return await _answer(request, False, _msg(request, "illegal_move",
                                                  state=_label(request, "conversation_states", exc.state),
                                                  command=_label(request, "commands", command)),
                             f"/console/conversations/{conv.id}", status=409)
    if conv.operator:
        await request.config_dict[REDIS].srem(keys.console_operator_conversations(conv.operator), conv.id)
    await _audit(request, command, conv.id, previous_operator=conv.operator)
    await _system_entry(request, moved, command)
    return await _answer(request, True, _msg(request, "handed_back" if command == "handback" else "closed"),
                         "/console/queue")


@guarded(Permission.HANDLE_CONVERSATIONS)
async def handback(request: web.Request) -> web.StreamResponse:
    return await _end(request, "handback")


@guarded(Permission.HANDLE_CONVERSATIONS)
async def close(request: web.Request) -> web.StreamResponse:
    return await _end(request, "close")


# ----------------------------------------------------------------------------------------- live (SSE)


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


@guarded(Permission.HANDLE_CONVERSATIONS)
async def events(request: web.Request) -> web.StreamResponse:
    """SSE: ``queue`` when the queue or a conversation changed; ``message`` / ``state`` for the open
    conversation (``?conversation=ID``), its text already masked for this operator's role."""
    state = _state(request)
    assert state.sessions is not None
    session = _session(request)
    see = session.can(Permission.SEE_PHONES)
    conv_id = request.query.get("conversation", "")
    redis = request.config_dict[REDIS]
    if conv_id and await request.config_dict[CONVERSATIONS].get(conv_id) is None:
        return web.json_response({"ok": False, "message": _msg(request, "not_found")}, status=404,
                                 dumps=lambda o: json.dumps(o, ensure_ascii=False))
    conv_channel = keys.conversation_events(conv_id) if conv_id else None
    user_channel = keys.console_user_events(session.user)
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8",
                                       "Cache-Control": "no-store", "X-Accel-Buffering": "no"})
    _set_headers(request, resp)
    await resp.prepare(request)
    pubsub = redis.pubsub()
    await pubsub.subscribe(*(c for c in (keys.console_events(), conv_channel, user_channel) if c))
    last_beat = last_check = time.monotonic()
    recheck = True  # once right after subscribing: a revocation just before it was announced to nobody
    try:
        await resp.write(b"retry: 3000\n: connected\n\n")
        while not state.stopping.is_set():
            msg = None if recheck else await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            now = time.monotonic()
            about_me = msg is not None and msg["channel"] == user_channel  # my sessions were revoked
            if recheck or about_me or now - last_check > SESSION_RECHECK_SECONDS:
                recheck, last_check = False, now
                live = await state.sessions.get(session.id)
                if live is None or await _current(state, live) is None:  # logged out, or revoked
                    await resp.write(_sse("logout", {}))
                    break
                if about_me:
                    continue
            if msg is None:
                if now - last_beat > HEARTBEAT_SECONDS:
                    last_beat = now
                    await resp.write(b": ping\n\n")
                continue
            try:
                event = json.loads(msg["data"])
            except (TypeError, ValueError):
                continue
            if msg["channel"] == conv_channel:
                if event.get("type") == "message":
                    await resp.write(_sse("message", _entry_view(request, event, see)))
                elif event.get("type") == "state":
                    await resp.write(_sse("state", {"state": event.get("state"),
                                                    "label": _label(request, "conversation_states",
                                                                    event.get("state"))}))
            else:
                await resp.write(_sse("queue", {"type": event.get("type"),
                                                "conversation": event.get("conversation"),
                                                "state": event.get("state")}))
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            await pubsub.unsubscribe()
            await pubsub.aclose()
    return resp


# ----------------------------------------------------------------------------------------------- tickets


def _tickets(request: web.Request) -> Any:
    return request.config_dict.get(TICKETS)


def _ticket_view(request: web.Request, t: Ticket, see_phones: bool, now: datetime) -> dict[str, Any]:
    remaining = (t.sla_deadline - now).total_seconds()
    mask = _masker(see_phones)
    return {
        "id": t.id,
        "status": t.status.value,
        "open": t.status in OPEN_STATUSES,
        "overdue": t.status in OPEN_STATUSES and remaining < 0,
        "remaining": remaining,
        "deadline": t.sla_deadline.timestamp(),
        "text": mask(t.text),
        "channel": _label(request, "channels", t.channel),
        "topic": " / ".join(p for p in (t.topic.l1, t.topic.l2, t.topic.l3) if p),
        "department": t.assignee.department if t.assignee else t.topic.department,
        "unit": t.assignee.unit if t.assignee else "",
        "place": mask(" ".join(p for p in (t.location.district, t.location.street, t.location.community,
                                           t.location.grid) if p)),
        "district": t.location.district or "",
        "address": mask(t.location.address),
        "contact_name": t.contact.name if see_phones else mask_name(t.contact.name),
        "contact_phone": t.contact.phone if see_phones else mask_pii(t.contact.phone, whole=True),
        "urgency": _label(request, "urgency", t.urgency.value),
        "created_at": t.created_at,
        "updated_at": t.updated_at,
        "escalation_level": t.escalation_level,
        "merged_into": t.merged_into or "",
        "reporters": t.reporters,
        "rating": t.rating.value if t.rating else "",
        "since": mask(t.since or ""),
        "conversation_id": t.conversation_id or "",
        "version": t.version,
        "history": [
            {"from": h.from_.value if h.from_ else "", "to": h.to.value,
             "action": _label(request, "ticket_actions", h.action), "actor": h.actor, "at": h.at,
             "reason": mask(h.reason or ""), "data": {k: mask(str(v)) for k, v in h.data.items()}}
            for h in t.history
        ],
    }


@guarded(Permission.HANDLE_TICKETS)
async def ticket_board(request: web.Request) -> web.Response:
    store = _tickets(request)
    q = request.query
    filters = {"status": q.get("status", ""), "department": q.get("department", "").strip(),
               "district": q.get("district", "").strip(), "overdue": q.get("overdue", "")}
    if store is None:
        return _render(request, "tickets.html", tickets=[], filters=filters, statuses=[s.value for s in Status],
                       departments=[], districts=[], unavailable=_msg(request, "tickets_unavailable"))
    status = filters["status"] if filters["status"] in {s.value for s in Status} else ""
    filters["status"] = status
    tickets = await store.list(status=status or None, department=filters["department"] or None,
                               district=filters["district"] or None, limit=200)
    now = datetime.now(CST)
    see = _session(request).can(Permission.SEE_PHONES)
    views = [_ticket_view(request, t, see, now) for t in tickets]
    if filters["overdue"]:
        views = [v for v in views if v["overdue"]]
    views.sort(key=lambda v: (not v["overdue"], 0 if v["open"] else 1, -v["created_at"].timestamp()))
    return _render(request, "tickets.html", tickets=views, filters=filters, statuses=[s.value for s in Status],
                   departments=sorted({v["department"] for v in views if v["department"]}),
                   districts=sorted({v["district"] for v in views if v["district"]}), unavailable="")


_ACTION_FIELDS: dict[str, tuple[str, ...]] = {
    "dispatch": ("department", "unit"),
    "follow_up": ("rating",),
    "merge": ("merged_into",),
    "reopen": ("to", "department"),
}


@guarded(Permission.HANDLE_TICKETS)
async def ticket_detail(request: web.Request) -> web.Response:
    store = _tickets(request)
    if store is None:
        return _render(request, "error.html", status=503, message=_msg(request, "tickets_unavailable"))
    ticket = await store.get(request.match_info["id"])
    if ticket is None:
        raise web.HTTPNotFound(text=_msg(request, "not_found"))
    see = _session(request).can(Permission.SEE_PHONES)
    actions = [{"value": a.value, "label": _label(request, "ticket_actions", a.value),
                "fields": _ACTION_FIELDS.get(a.value, ())} for a in allowed_actions(ticket.status)]
    return _render(request, "ticket.html", t=_ticket_view(request, ticket, see, datetime.now(CST)),
                   actions=actions, ratings=[r.value for r in Rating],
                   reopen_targets=[Status.IN_PROGRESS.value, Status.DISPATCHED.value])


@guarded(Permission.HANDLE_TICKETS)
async def ticket_transition(request: web.Request) -> web.StreamResponse:
    from router.adapters.ticket_store import PreconditionFailed, TicketNotFound

    store = _tickets(request)
    ticket_id = request.match_info["id"]
    where = f"/console/tickets/{quote(ticket_id, safe='')}"
    if store is None:
        return await _answer(request, False, _msg(request, "tickets_unavailable"), "/console/tickets", status=503)
    form = await request.post()
    action = str(form.get("action") or "")
    reason = str(form.get("reason") or "").strip()[:500] or None
    data = {name: str(form.get(name) or "").strip()[:200] for name in _ACTION_FIELDS.get(action, ())}
    data = {k: v for k, v in data.items() if v}
    version = str(form.get("version") or "")
    # Through the ticket service, like every other caller: 办结 asks the resident for a rating here too.
    service = request.config_dict.get(TICKET_SERVICE) or TicketService(
        store, conversations=request.config_dict.get(CONVERSATIONS), outbound=request.config_dict.get(OUTBOUND))
    try:
        ticket = await service.move(ticket_id, action, f"console:{_session(request).user}", reason,
                                    expected_version=int(version) if version.isdigit() else None, **data)
    except TicketNotFound:
        raise web.HTTPNotFound(text=_msg(request, "not_found")) from None
    except IllegalTransition as exc:
        await _audit(request, "ticket_transition_refused", ticket_id, action=action, status=exc.status.value)
        label = _label(request, "ticket_actions", action) if action in {a.value for a in Action} else action
        return await _answer(request, False, _msg(request, "ticket_illegal", status=exc.status.value, action=label,
                                                  detail=exc.detail), where, status=409)
    except TransitionDataError as exc:
        await _audit(request, "ticket_transition_refused", ticket_id, action=action, error=str(exc))
        return await _answer(request, False, _msg(request, "ticket_data", detail=str(exc)), where, status=422)
    except PreconditionFailed:
        return await _answer(request, False, _msg(request, "ticket_conflict"), where, status=409)
    await _audit(request, "ticket_transition", ticket_id, action=action, to=ticket.status.value,
                 reason=reason or "", **data)
    await request.config_dict[REDIS].publish(keys.console_events(), json.dumps(
        {"type": "ticket", "ticket": ticket_id, "status": ticket.status.value}, ensure_ascii=False))
    return await _answer(request, True, _msg(request, "ticket_moved", id=ticket_id,
                                             action=_label(request, "ticket_actions", action),
                                             status=ticket.status.value), where)


# --------------------------------------------------------------------------------- supervisor & audit


@guarded(Permission.SUPERVISE)
async def supervisor_page(request: web.Request) -> web.Response:
    from router.services.reports import ReportRow, build_report

    store = request.config_dict[CONVERSATIONS]
    queued = await store.queued(limit=1000)
    now = time.time()
    waits = [max(0.0, now - c.queued_at) for c in queued if c.queued_at]
    redis = request.config_dict[REDIS]
    state = _state(request)
    assert state.users is not None
    load = []
    for user in await state.users.list():
        n = int(await redis.scard(keys.console_operator_conversations(user.name)))
        load.append({"name": user.name, "role": _label(request, "roles", user.role.value), "active": n})
    figures = {
        "queue_length": len(queued),
        "urgent": sum(1 for c in queued if _urgent(c)),
        "longest_wait": max(waits) if waits else 0.0,
        "average_wait": sum(waits) / len(waits) if waits else 0.0,
        "in_service": sum(row["active"] for row in load),
    }
    see = _session(request).can(Permission.SEE_PHONES)
    waiting = sorted((_conv_view(request, c, see) for c in queued), key=lambda v: -v["wait"])
    report: dict[str, list[Any]] = {"department": [], "district": []}
    total = None
    tickets = _tickets(request)
    if tickets is not None:
        report = await build_report(tickets)
        total = ReportRow("all", "全部")
        for row in report["department"]:  # every ticket is in exactly one department row
            for name in ("volume", "reporters", "resolved", "on_time", "withdrawn", "rated", "satisfied",
                         "handling_hours_total"):
                setattr(total, name, getattr(total, name) + getattr(row, name))
    return _render(request, "supervisor.html", figures=figures, waiting=waiting, load=load, report=report,
                   total=total, tickets_available=tickets is not None)


@guarded(Permission.READ_AUDIT)
async def audit_page(request: web.Request) -> web.Response:
    audit = _state(request).audit
    assert audit is not None
    actor = request.query.get("actor", "").strip() or None
    action = request.query.get("action", "").strip() or None
    entries = await audit.recent(limit=300, actor=actor, action=action)
    see = _session(request).can(Permission.SEE_PHONES)
    rows = [{"id": e.id, "at": e.at, "actor": e.actor, "role": _label(request, "roles", e.role),
             "action": _label(request, "audit_actions", e.action), "target": e.target,
             "target_kind": "conversation" if e.target.startswith("C") and len(e.target) == 17 else
             ("ticket" if e.target.startswith("SZ") else ""),
             "detail": ", ".join(f"{k}={v if see else mask_pii(str(v))}" for k, v in e.detail.items()),
             "ip": e.ip} for e in entries]
    return _render(request, "audit.html", rows=rows, actor=actor or "", action=action or "",
                   actions=_state(request).texts["audit_actions"])


# ---------------------------------------------------------------------------------------------- users


@guarded(Permission.MANAGE_USERS)
async def users_page(request: web.Request) -> web.Response:
    state = _state(request)
    assert state.users is not None
    return _render(request, "users.html", users=await state.users.list(), roles=[r.value for r in Role])


@guarded(Permission.MANAGE_USERS)
async def users_add(request: web.Request) -> web.StreamResponse:
    state = _state(request)
    assert state.users is not None
    form = await request.post()
    name, role = str(form.get("name") or "").strip(), str(form.get("role") or "")
    password = generate_password()
    try:
        await state.users.add(name, role, password, must_change=True)  # the admin has seen it
    except InvalidUser as exc:
        return await _answer(request, False, _msg(request, "user_invalid", detail=str(exc)), "/console/users", status=422)
    except UserExists:
        return await _answer(request, False, _msg(request, "user_exists", name=name), "/console/users", status=409)
    await _audit(request, "user_add", name, role=role)
    return await _answer(request, True, _msg(request, "user_added", name=name, role=_label(request, "roles", role),
                                             password=password), "/console/users")


@guarded(Permission.MANAGE_USERS)
async def users_change(request: web.Request) -> web.StreamResponse:
    state = _state(request)
    assert state.users is not None
    name = request.match_info["name"]
    form = await request.post()
    op = str(form.get("op") or "")
    try:
        if op == "password":
            if name == _session(request).user:  # this session would end with the password shown in it
                raise InvalidUser("change your own password on the password page (修改密码)")
            password = generate_password()
            await state.users.set_password(name, password, must_change=True)  # the admin has seen it
            message = _msg(request, "user_password", name=name, password=password)
            await _audit(request, "user_password", name)
        elif op == "role":
            role = str(form.get("role") or "")
            await state.users.set_role(name, role)
            message = _msg(request, "user_role", name=name, role=_label(request, "roles", role))
            await _audit(request, "user_role", name, role=role)
        elif op in ("disable", "enable"):
            if name == _session(request).user and op == "disable":
                raise InvalidUser("cannot disable yourself")
            await state.users.set_disabled(name, op == "disable")
            message = _msg(request, "user_disabled" if op == "disable" else "user_enabled", name=name)
            await _audit(request, f"user_{op}", name)
        else:
            raise InvalidUser(f"unknown operation {op!r}")
    except InvalidUser as exc:
        return await _answer(request, False, _msg(request, "user_invalid", detail=str(exc)), "/console/users", status=422)
    except UserNotFound:
        raise web.HTTPNotFound(text=_msg(request, "not_found")) from None
    return await _answer(request, True, message, "/console/users")


# ---------------------------------------------------------------------------------------------- setup


def _load_json(name: str) -> Any:
    return json.loads((HERE / name).read_text(encoding="utf-8"))


def setup_console(app: web.Application) -> None:
    """Mount the console at /console (pages, partials, SSE, static files) and its startup work."""
    console = web.Application(middlewares=[security_headers])
    state = ConsoleState(texts=_load_json("ui_zh.json"), canned=_load_json("canned_zh.json"), env=_make_env())
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
    r.add_get("/tickets", ticket_board)
    r.add_get("/tickets/{id}", ticket_detail)
    r.add_post("/tickets/{id}/transitions", ticket_transition)
    r.add_get("/supervisor", supervisor_page)
    r.add_get("/audit", audit_page)
    r.add_get("/users", users_page)
    r.add_post("/users", users_add)
    r.add_post("/users/{name}", users_change)
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
        state.stopping.clear()
        settings = app[SETTINGS]
        state.trusted_proxies = proxies.parse_networks(settings.console_trusted_proxies)
        state.public_https = settings.public_url.lower().startswith("https://")
        var_dir = os.environ.get("VAR_DIR") or str(settings.var_dir)
        state.var_dir = Path(var_dir)
        try:
            created = await ensure_bootstrap_admin(redis, var_dir)
            if not created:  # printed on the first start only; later `make run` says where it is
                await refresh_bootstrap_notice(redis, var_dir)
        except OSError as exc:
            log.error("console: could not write the first admin's password under %s: %s", var_dir, exc)
            created = None
        if created:
            log.warning("console: created user 'admin'; its password (to be changed at the first login) is "
                        "in %s", Path(var_dir) / BOOTSTRAP_FILE)
        yield

    async def stop_streams(app: web.Application) -> None:
        state.stopping.set()  # open SSE streams end within a second, so shutdown does not wait on them

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(stop_streams)
