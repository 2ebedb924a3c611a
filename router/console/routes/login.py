"""Logging in and out, and the user's own password change (the only page open to a user who must change
their password); the login form carries a double-submit token, as there is no session yet."""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import quote

from aiohttp import web

from router.appkeys import REDIS
from router.console.access import COOKIE, LOGIN_FORM, cookie_secure, guarded, set_session_cookie
from router.console.auth import safe_next as safe_next_page
from router.console.context import SESSION_KEY, client_ip, session_of, state_of
from router.console.presenters import msg
from router.console.render import audit, render
from router.console.users import InvalidUser, UserNotFound, check_password, refresh_bootstrap_notice

__all__ = ["login_page", "login_submit", "password_page", "password_submit", "logout", "root", "safe_next"]

_LOGIN_ERROR: web.RequestKey[str] = web.RequestKey("console_login_error", str)
_LOGIN_USER: web.RequestKey[str] = web.RequestKey("console_login_user", str)


def safe_next(target: str | None) -> str:
    """Only our own console pages: never an open redirect to another site."""
    return safe_next_page(target, "/console/", "/console/queue")


async def login_page(request: web.Request) -> web.Response:
    token = LOGIN_FORM.token(request)
    resp = render(request, "login.html", login_token=token, next=safe_next(request.query.get("next")),
                  error=request.get(_LOGIN_ERROR), username=request.get(_LOGIN_USER, ""))
    LOGIN_FORM.give(resp, token, secure=cookie_secure(request))
    return resp


async def login_submit(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    assert state.users is not None and state.sessions is not None and state.limiter is not None
    form = await request.post()
    if not LOGIN_FORM.sent_back(request, str(form.get("csrf") or "")):
        request[_LOGIN_ERROR] = msg(request, "csrf")
        resp = await login_page(request)
        resp.set_status(403)
        return resp
    name = str(form.get("username") or "").strip()[:64]
    password = str(form.get("password") or "")
    ip = client_ip(request)
    request[_LOGIN_USER] = name
    wait = await state.limiter.acquire(ip, name)  # counted before the check: see LoginLimiter
    if wait:
        request[_LOGIN_ERROR] = msg(request, "login_blocked", minutes=max(1, (wait + 59) // 60))
        resp = await login_page(request)
        resp.set_status(429)
        return resp
    user = await state.users.authenticate(name, password)
    if user is None:
        await audit(request, "login_failed", name)
        request[_LOGIN_ERROR] = msg(request, "login_failed")
        resp = await login_page(request)
        resp.set_status(401)
        return resp
    await state.limiter.succeeded(ip, name)
    session = await state.sessions.create(user.name, user.role, epoch=user.epoch)
    request[SESSION_KEY] = session
    await audit(request, "login", user.name)
    target = safe_next(str(form.get("next") or ""))
    if user.must_change:
        target = f"/console/password?next={quote(target, safe='')}"
    resp = web.HTTPSeeOther(target)
    set_session_cookie(request, resp, session)
    LOGIN_FORM.clear(resp, secure=cookie_secure(request))
    raise resp


@guarded(None, while_must_change=True)
async def password_page(request: web.Request) -> web.Response:
    return render(request, "password.html", next=safe_next(request.query.get("next")),
                  error=request.get(_LOGIN_ERROR))


@guarded(None, while_must_change=True)
async def password_submit(request: web.Request) -> web.StreamResponse:
    """The user's own password change: the current one, the new one twice. Every other session of the
    user ends (the epoch moves on); this browser gets a fresh session."""
    state = state_of(request)
    assert state.users is not None and state.sessions is not None and state.limiter is not None
    session = session_of(request)
    form = await request.post()
    current, new = str(form.get("current") or ""), str(form.get("password") or "")
    target = safe_next(str(form.get("next") or ""))

    async def refused(key: str, status: int, **params: Any) -> web.StreamResponse:
        request[_LOGIN_ERROR] = msg(request, key, **params)
        resp = await password_page(request)
        resp.set_status(status)
        return resp

    ip = client_ip(request)
    wait = await state.limiter.acquire(ip, session.user)  # a stolen session must not guess the password
    if wait:
        return await refused("login_blocked", 429, minutes=max(1, (wait + 59) // 60))
    if await state.users.authenticate(session.user, current) is None:
        await audit(request, "password_change_refused", session.user)
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
    await audit(request, "password_change", session.user)
    fresh = await state.sessions.create(session.user, session.role, epoch=epoch)
    await state.sessions.delete(session.id)
    await state.sessions.flash(fresh, "ok", msg(request, "password_changed"))
    if state.var_dir is not None:
        with contextlib.suppress(OSError):  # the first admin's password file is stale now
            await refresh_bootstrap_notice(request.config_dict[REDIS], state.var_dir)
    resp = web.HTTPSeeOther(target)
    set_session_cookie(request, resp, fresh)
    raise resp


@guarded(None, while_must_change=True)
async def logout(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    assert state.sessions is not None
    await audit(request, "logout", session_of(request).user)
    await state.sessions.delete(session_of(request).id)
    resp = web.HTTPSeeOther("/console/login")
    resp.del_cookie(COOKIE, path="/console", secure=cookie_secure(request), httponly=True, samesite="Lax")
    raise resp


async def root(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/console/queue")
