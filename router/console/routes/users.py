"""User administration (MANAGE_USERS): the list, adding a user, and a new password, role, or disabling
for one. A password the admin has seen must be changed at the user's first login."""

from __future__ import annotations

from aiohttp import web

from router.console.access import guarded
from router.console.auth import Permission, Role, generate_password
from router.console.context import session_of, state_of
from router.console.presenters import label, msg
from router.console.render import answer, audit, render
from router.console.users import InvalidUser, UserExists, UserNotFound

__all__ = ["users_page", "users_add", "users_change"]


@guarded(Permission.MANAGE_USERS)
async def users_page(request: web.Request) -> web.Response:
    state = state_of(request)
    assert state.users is not None
    return render(request, "users.html", users=await state.users.list(), roles=[r.value for r in Role])


@guarded(Permission.MANAGE_USERS)
async def users_add(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    assert state.users is not None
    form = await request.post()
    name, role = str(form.get("name") or "").strip(), str(form.get("role") or "")
    password = generate_password()
    try:
        await state.users.add(name, role, password, must_change=True)  # the admin has seen it
    except InvalidUser as exc:
        return await answer(request, False, msg(request, "user_invalid", detail=str(exc)), "/console/users", status=422)
    except UserExists:
        return await answer(request, False, msg(request, "user_exists", name=name), "/console/users", status=409)
    await audit(request, "user_add", name, role=role)
    return await answer(request, True, msg(request, "user_added", name=name, role=label(request, "roles", role),
                                           password=password), "/console/users")


@guarded(Permission.MANAGE_USERS)
async def users_change(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    assert state.users is not None
    name = request.match_info["name"]
    form = await request.post()
    op = str(form.get("op") or "")
    try:
        if op == "password":
            if name == session_of(request).user:  # this session would end with the password shown in it
                raise InvalidUser("change your own password on the password page (修改密码)")
            password = generate_password()
            await state.users.set_password(name, password, must_change=True)  # the admin has seen it
            message = msg(request, "user_password", name=name, password=password)
            await audit(request, "user_password", name)
        elif op == "role":
            role = str(form.get("role") or "")
            await state.users.set_role(name, role)
            message = msg(request, "user_role", name=name, role=label(request, "roles", role))
            await audit(request, "user_role", name, role=role)
        elif op in ("disable", "enable"):
            if name == session_of(request).user and op == "disable":
                raise InvalidUser("cannot disable yourself")
            await state.users.set_disabled(name, op == "disable")
            message = msg(request, "user_disabled" if op == "disable" else "user_enabled", name=name)
            await audit(request, f"user_{op}", name)
        else:
            raise InvalidUser(f"unknown operation {op!r}")
    except InvalidUser as exc:
        return await answer(request, False, msg(request, "user_invalid", detail=str(exc)), "/console/users", status=422)
    except UserNotFound:
        raise web.HTTPNotFound(text=msg(request, "not_found")) from None
    return await answer(request, True, message, "/console/users")
