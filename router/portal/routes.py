"""The portal's pages and form posts. Each one: the login guard (router.portal.access), then a use case of
router.services.work, then a page or a redirect with a short message (PRG). A refusal is a page with the
message and the right status: 404 for a ticket that is not this unit's (as for one that does not exist),
409 for a move the ticket's state does not allow, 422 for missing text, 413/415 for a bad photo."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from aiohttp import web
from aiohttp.multipart import BodyPartReader
from redis.exceptions import RedisError

from router.adapters.units import Unit, UnitKind
from router.console.access import COOKIE as CONSOLE_COOKIE
from router.console.auth import Permission, SessionStore, can, safe_next
from router.console.users import UserStore
from router.domain.tickets import (
    TRANSITIONS,
    Action,
    IllegalTransition,
    PreconditionFailed,
    Status,
    Ticket,
    TicketNotFound,
    TransitionDataError,
    mask_name,
    mask_phone,
)
from router.portal.access import (
    COOKIE,
    LOGIN_FORM,
    SESSION,
    client_ip,
    cookie_secure,
    flash,
    guarded,
    refuse,
    render,
    set_session_cookie,
    state_of,
    unit_of,
)
from router.portal.photos import CONTENT_TYPES, MAX_PHOTO_BYTES, PhotoError, PhotoStore
from router.services.escalation import (
    ASSIGN_DOWN,
    REPORT_UP,
    CannotEscalate,
    Escalation,
    Step,
    arrival,
    can_assign_down,
    can_report_up,
    trail,
)
from router.services.mediation import MediationService
from router.services.work import NotYours, WorkService

__all__ = ["root", "login_page", "login_submit", "logout", "ticket_list", "ticket_page", "accept",
           "return_ticket", "note", "resolve", "photo", "report_page", "report_submit", "console_photo",
           "mediation_parties", "mediation_session", "mediation_success", "mediation_failure", "escalate",
           "assign_down"]

MAX_BODY = MAX_PHOTO_BYTES + 256 * 1024  # one photo and a few text fields
MAX_FIELD = 16 * 1024
ACTION_LABELS = {"create": "受理", "dispatch": "派单", "accept": "签收", "return": "退单", "note": "进展",
                 "resolve": "办结", "follow_up": "回访", "close": "归档", "escalate": "督办", "merge": "合并",
                 "withdraw": "撤销", "reopen": "重办"}
URGENCY_LABELS = {"life_property": "紧急（2小时）", "outage": "停水停电气（24小时）", "general": "一般（7天）",
                  "complex": "复杂（15天）"}
KIND_LABELS = {UnitKind.DEPARTMENT: "职能部门", UnitKind.STREET: "街道办", UnitKind.COMMUNITY: "社区综治中心",
               UnitKind.GRID: "网格员", UnitKind.DISTRICT: "区12345分中心", UnitKind.CITY: "市12345热线中心"}
STEP_LABELS = {REPORT_UP: "上报", ASSIGN_DOWN: "交办", "overdue": "超时督办"}
UNAVAILABLE = (RedisError, OSError)


def _work(request: web.Request) -> WorkService:
    work = state_of(request).work
    assert work is not None
    return work


def _escalation(request: web.Request) -> Escalation:
    escalation = state_of(request).escalation
    assert escalation is not None
    return escalation


def _mediation(request: web.Request) -> MediationService:
    mediation = state_of(request).mediation
    assert mediation is not None
    return mediation


def _can_mediate(unit: Unit, ticket: Ticket, record: dict[str, Any] | None) -> bool:
    """The mediation forms: the 综治中心 working on the ticket, or the unit it was escalated to (its street office)."""
    if not WorkService.handles(unit, ticket) or ticket.status is not Status.IN_PROGRESS:
        return False
    return MediationService.writes(unit, record)


def _photos(request: web.Request) -> PhotoStore:
    photos = state_of(request).photos
    assert photos is not None
    return photos


def _safe_next(target: str | None) -> str:
    return safe_next(target, "/work/", "/work/tickets")


def _actor(actor: str) -> str:
    """Who made a move, as a unit reads it: other units by login, the hotline and the system by role."""
    kind, _, who = actor.partition(":")
    return {"unit": who, "console": "12345热线", "system": "系统", "resident": "居民", "bot": "智能助手"}.get(
        kind, "12345热线")


def step_view(step: Step) -> dict[str, Any]:
    return {"kind": step.kind, "label": STEP_LABELS.get(step.kind, step.kind), "at": step.at,
            "actor": _actor(step.actor), "from": step.from_unit, "to": step.to_unit, "reason": step.reason,
            "level": step.level}


def ticket_view(ticket: Ticket, unit: Unit, now: datetime) -> dict[str, Any]:
    remaining = (ticket.sla_deadline - now).total_seconds()
    loc = ticket.location
    history = []
    for h in ticket.history:
        photo = str(h.data.get("photo") or "") if h.data else ""
        history.append({"at": h.at, "label": ACTION_LABELS.get(h.action, h.action), "actor": _actor(h.actor),
                        "to": h.to.value, "reason": h.reason or "", "photo": photo})
    allowed = TRANSITIONS[ticket.status] if WorkService.handles(unit, ticket) else {}
    came = arrival(ticket)
    return {
        "id": ticket.id, "status": ticket.status.value, "text": ticket.text, "open": ticket.is_open,
        "place": " ".join(p for p in (loc.district, loc.street, loc.community, loc.grid) if p),
        "address": loc.address, "topic": " / ".join(p for p in (ticket.topic.l1, ticket.topic.l2) if p),
        "urgency": URGENCY_LABELS.get(ticket.urgency.value, ticket.urgency.value),
        "urgent": ticket.urgency.value == "life_property",
        "deadline": ticket.sla_deadline, "remaining": remaining, "overdue": ticket.is_open and remaining < 0,
        "supervised": ticket.status is Status.ESCALATED or ticket.escalation_level != "社区",
        # 重办: a resident was not satisfied with a 办结 and it came back to be handled again
        "reopened": ticket.is_open and any(h.action == Action.REOPEN.value for h in ticket.history),
        "escalation_level": ticket.escalation_level,
        "department": ticket.assignee.department if ticket.assignee else "",
        "contact": " ".join(p for p in (mask_name(ticket.contact.name), mask_phone(ticket.contact.phone)) if p),
        "created_at": ticket.created_at, "history": history, "mine": WorkService.handles(unit, ticket),
        "can_accept": Action.ACCEPT in allowed and ticket.status is not Status.IN_PROGRESS,
        "can_return": Action.RETURN in allowed, "can_note": Action.NOTE in allowed,
        "can_resolve": Action.RESOLVE in allowed,
        # 上报 / 交办 (router/services/escalation.py): how it came here, and its way between the tiers
        "came": step_view(came) if came is not None else None,
        "trail": [step_view(s) for s in trail(ticket)],
        "can_report_up": can_report_up(unit, ticket), "can_assign_down": can_assign_down(unit, ticket),
    }


# ------------------------------------------------------------------------------------------ login


async def root(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/work/tickets")


async def login_page(request: web.Request, *, error: str = "", name: str = "", status: int = 200
                     ) -> web.Response:
    token = LOGIN_FORM.token(request)
    resp = render(request, "login.html", status=status, login_token=token, error=error, username=name,
                  next=_safe_next(request.query.get("next")))
    LOGIN_FORM.give(resp, token, secure=cookie_secure(request))
    return resp


async def login_submit(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    assert state.units is not None and state.sessions is not None and state.limiter is not None
    form = await request.post()
    if not LOGIN_FORM.sent_back(request, str(form.get("csrf") or "")):
        return await login_page(request, error="页面已过期，请重新登录", status=403)
    name = str(form.get("username") or "").strip()[:64]
    password = str(form.get("password") or "")
    ip = client_ip(request)
    wait = await state.limiter.acquire(ip, f"unit:{name}")  # counted before the check (LoginLimiter)
    if wait:
        return await login_page(request, error=f"尝试次数过多，请 {max(1, (wait + 59) // 60)} 分钟后再试",
                                name=name, status=429)
    unit = await state.units.authenticate(name, password)
    if unit is None:
        return await login_page(request, error="账号或密码不对", name=name, status=401)
    await state.limiter.succeeded(ip, f"unit:{name}")
    session = await state.sessions.create(unit)
    resp = web.HTTPSeeOther(_safe_next(str(form.get("next") or "")))
    set_session_cookie(request, resp, session)
    LOGIN_FORM.clear(resp, secure=cookie_secure(request))
    raise resp


@guarded()
async def logout(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    assert state.sessions is not None
    await state.sessions.delete(request[SESSION].id)
    resp = web.HTTPSeeOther("/work/login")
    resp.del_cookie(COOKIE, path="/work", secure=cookie_secure(request), httponly=True, samesite="Lax")
    raise resp


# ---------------------------------------------------------------------------------------- pages


@guarded()
async def ticket_list(request: web.Request) -> web.Response:
    unit, work = unit_of(request), _work(request)
    try:
        tickets = await work.my_tickets(unit)
        reports = await work.my_reports(unit) if unit.kind is UnitKind.GRID else []
    except UNAVAILABLE:
        return refuse(request, 503, "工单服务暂时不可用，请稍后再试")
    now = work.tickets.clock()
    views = [ticket_view(t, unit, now) for t in tickets]
    # what needs doing first: open before done, overdue first, then the nearest deadline
    views.sort(key=lambda v: (not v["open"], not v["overdue"], v["remaining"] if v["open"] else 0))
    try:
        escalated = await _mediation(request).escalated([v["id"] for v in views])
    except UNAVAILABLE:
        escalated = set()
    for v in views:
        v["mediation_escalated"] = v["id"] in escalated
    return render(request, "list.html", tickets=views, reports=[ticket_view(t, unit, now) for t in reports],
                  kind=KIND_LABELS[unit.kind])


@guarded()
async def ticket_page(request: web.Request) -> web.Response:
    unit, work = unit_of(request), _work(request)
    try:
        ticket = await work.ticket_for(unit, request.match_info["id"])
        photos = await work.photos(ticket.id)
        mediation = await _mediation(request).record_for(unit, ticket)
        for s in (mediation or {}).get("sessions", []):
            s["at"] = datetime.fromisoformat(s["at"])
    except TicketNotFound:
        return refuse(request, 404, "没有这张工单，或不归本单位办理")
    except UNAVAILABLE:
        return refuse(request, 503, "工单服务暂时不可用，请稍后再试")
    report_photos = [name for name, what in photos.items() if what == "report"]
    view = ticket_view(ticket, unit, work.tickets.clock())
    can_mediate = _can_mediate(unit, ticket, mediation)
    if can_mediate and unit.kind is UnitKind.COMMUNITY:
        view["can_report_up"] = False  # a 综治中心's dispute goes up through its mediation record (上报街道)
    escalate_to = _escalation(request).destination(unit, ticket) if view["can_report_up"] else ""
    return render(request, "ticket.html", t=view, report_photos=report_photos,
                  max_mb=MAX_PHOTO_BYTES // (1024 * 1024), mediation=mediation, can_mediate=can_mediate,
                  can_escalate=unit.kind is UnitKind.COMMUNITY and ticket.status is Status.IN_PROGRESS
                  and WorkService.handles(unit, ticket), escalate_to=escalate_to)


# ---------------------------------------------------------------------------------------- forms


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


async def _read_field(part: BodyPartReader) -> str:
    data = bytearray()
    while chunk := await part.read_chunk(8192):
        data += chunk
        if len(data) > MAX_FIELD:
            raise _Refused(413, "填写的内容太长")
    return data.decode("utf-8", errors="replace")


async def _read_form(request: web.Request) -> tuple[dict[str, str], bytes | None]:
    """The text fields and the photo (None when none was chosen) of a post, the photo refused as soon as it
    passes 5 MB — a larger upload is never read whole. The CSRF token must come before the photo."""
    session = request[SESSION]
    if request.content_type != "multipart/form-data":
        form = await request.post()
        return {k: v for k, v in form.items() if isinstance(v, str)}, None
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise _Refused(413, "照片不能超过 5 MB")
    csrf_ok = session.csrf_ok(request.headers.get("X-CSRF-Token"))
    fields: dict[str, str] = {}
    photo: bytes | None = None
    total = 0
    reader = await request.multipart()
    while True:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            raise _Refused(400, "表单格式不对")
        if part.filename is not None:  # a file input
            if not csrf_ok:
                raise _Refused(403, "页面已过期，请刷新后重试")
            if part.name != "photo" or photo is not None:
                raise _Refused(400, "每次只能上传一张照片")
            data = bytearray()
            while chunk := await part.read_chunk(65536):
                data += chunk
                if len(data) > MAX_PHOTO_BYTES:
                    raise _Refused(413, "照片不能超过 5 MB")
            photo = bytes(data) or None  # an empty file input: no photo chosen
            continue
        value = await _read_field(part)
        total += len(value)
        if total > MAX_BODY:
            raise _Refused(413, "填写的内容太长")
        if part.name == "csrf":
            csrf_ok = csrf_ok or session.csrf_ok(value)
        elif part.name:
            fields[part.name] = value
    if not csrf_ok:
        raise _Refused(403, "页面已过期，请刷新后重试")
    return fields, photo


async def _store_photo(request: web.Request, photo: bytes | None) -> str | None:
    if photo is None:
        return None
    try:
        return await _photos(request).save(photo)
    except PhotoError as exc:
        raise _Refused(exc.status, str(exc)) from None


async def _act(request: web.Request, action: str) -> web.StreamResponse:
    unit, work = unit_of(request), _work(request)
    ticket_id = request.match_info["id"]
    where = f"/work/tickets/{quote(ticket_id, safe='')}"
    stored: str | None = None
    try:
        fields, photo = await _read_form(request)
        if action in ("note", "resolve"):
            await work.ticket_for(unit, ticket_id)  # not this unit's: 404 before any photo is kept
            stored = await _store_photo(request, photo)
        elif photo is not None:
            raise _Refused(400, "这一步不用上传照片")
        if action == "accept":
            await work.accept(unit, ticket_id)
            done = "已签收，请尽快处置"
        elif action == "return":
            await work.return_ticket(unit, ticket_id, fields.get("reason"))
            await flash(request, "ok", f"已退单：{ticket_id}")
            raise web.HTTPSeeOther("/work/tickets")
        elif action == "note":
            await work.note(unit, ticket_id, fields.get("text"), stored)
            done = "进展已记录"
        else:
            await work.resolve(unit, ticket_id, fields.get("text"), stored)
            done = "已办结，系统会请居民评价"
    except web.HTTPException:
        raise
    except Exception as exc:
        if stored is not None:
            await _photos(request).remove(stored)
        return _refusal(request, exc, where)
    await flash(request, "ok", done)
    raise web.HTTPSeeOther(where)


def _refusal(request: web.Request, exc: Exception, where: str = "/work/tickets") -> web.Response:
    if isinstance(exc, _Refused):
        return render(request, "error.html", status=exc.status, message=exc.message, back=where)
    if isinstance(exc, PermissionError):
        return render(request, "error.html", status=403, message=str(exc) or "无权这样办理", back=where)
    if isinstance(exc, TicketNotFound):  # NotYours too: another unit's ticket looks like none at all
        return render(request, "error.html", status=404, message="没有这张工单，或不归本单位办理",
                      back="/work/tickets")
    if isinstance(exc, CannotEscalate):
        return render(request, "error.html", status=409, back=where, message=exc.message)
    if isinstance(exc, IllegalTransition):
        return render(request, "error.html", status=409, back=where,
                      message=f"工单现在是“{exc.status.value}”，不能{ACTION_LABELS.get(str(getattr(exc.action, 'value', exc.action)), '这样办理')}")
    if isinstance(exc, PreconditionFailed):
        return render(request, "error.html", status=409, back=where, message="工单刚被其他人处理过，请刷新后再看")
    if isinstance(exc, TransitionDataError):
        return render(request, "error.html", status=422, back=where, message=str(exc))
    if isinstance(exc, UNAVAILABLE):
        return render(request, "error.html", status=503, back=where, message="工单服务暂时不可用，请稍后再试")
    raise exc


@guarded()
async def accept(request: web.Request) -> web.StreamResponse:
    return await _act(request, "accept")


@guarded()
async def return_ticket(request: web.Request) -> web.StreamResponse:
    return await _act(request, "return")


@guarded(multipart=True)
async def note(request: web.Request) -> web.StreamResponse:
    return await _act(request, "note")


@guarded(multipart=True)
async def resolve(request: web.Request) -> web.StreamResponse:
    return await _act(request, "resolve")


# ------------------------------------------------------------------------------------- patrol


@guarded()
async def report_page(request: web.Request) -> web.Response:
    if unit_of(request).kind is not UnitKind.GRID:
        return refuse(request, 403, "只有网格员可以上报巡查发现的问题")
    return render(request, "report.html", max_mb=MAX_PHOTO_BYTES // (1024 * 1024))


@guarded(multipart=True)
async def report_submit(request: web.Request) -> web.StreamResponse:
    unit, work = unit_of(request), _work(request)
    if unit.kind is not UnitKind.GRID:
        return refuse(request, 403, "只有网格员可以上报巡查发现的问题")
    stored: str | None = None
    try:
        fields, photo = await _read_form(request)
        stored = await _store_photo(request, photo)
        key = fields.get("key") or None  # one per form: a double tap opens one ticket
        ticket = await work.report(unit, fields.get("text"), fields.get("address"), photo=stored,
                                   idempotency_key=f"unit:{unit.name}:{key[:64]}" if key else None)
    except Exception as exc:
        if stored is not None:
            await _photos(request).remove(stored)
        return _refusal(request, exc, "/work/report")
    await flash(request, "ok", f"已上报，工单号 {ticket.id}（{ticket.status.value}）")
    raise web.HTTPSeeOther(f"/work/tickets/{quote(ticket.id, safe='')}")


# -------------------------------------------------------------------------------------- photos


def _photo_response(path: Any, name: str) -> web.StreamResponse:
    ext = name.rsplit(".", 1)[-1]
    return web.FileResponse(path, headers={"Content-Type": CONTENT_TYPES[ext], "Cache-Control": "private, no-store",
                                           "Content-Disposition": "inline"})


async def _ticket_photo(request: web.Request, ticket_id: str, name: str) -> web.StreamResponse:
    work = _work(request)
    if name not in await work.photos(ticket_id):
        raise web.HTTPNotFound(text="没有这张照片")
    path = _photos(request).path(name)
    if path is None:
        raise web.HTTPNotFound(text="没有这张照片")
    return _photo_response(path, name)


@guarded()
async def photo(request: web.Request) -> web.StreamResponse:
    """A photo of a ticket this unit sees."""
    try:
        ticket = await _work(request).ticket_for(unit_of(request), request.match_info["id"])
    except NotYours:
        return refuse(request, 404, "没有这张照片")
    return await _ticket_photo(request, ticket.id, request.match_info["name"])


async def console_photo(request: web.Request) -> web.StreamResponse:
    """A unit's photo for a console operator who may handle tickets (their console login, as it is now)."""
    redis = state_of(request).units.redis  # type: ignore[union-attr]
    session = await SessionStore(redis).get(request.cookies.get(CONSOLE_COOKIE))
    user = await UserStore(redis).get(session.user) if session is not None else None
    if session is None or user is None or user.disabled or user.epoch != session.epoch:
        raise web.HTTPUnauthorized(text="请先登录坐席工作台")
    if not can(user.role, Permission.HANDLE_TICKETS):
        raise web.HTTPForbidden(text="无权查看")
    return await _ticket_photo(request, request.match_info["id"], request.match_info["name"])


# ------------------------------------------------------------------------------- mediation (调处)


async def _mediate(request: web.Request, what: str) -> web.StreamResponse:
    unit, mediation = unit_of(request), _mediation(request)
    ticket_id = request.match_info["id"]
    where = f"/work/tickets/{quote(ticket_id, safe='')}"
    try:
        form = await request.post()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        if what == "parties":
            await mediation.set_parties(unit, ticket_id, fields.get("parties"))
            done = "当事人已保存"
        elif what == "session":
            await mediation.add_session(unit, ticket_id, when=fields.get("when"), place=fields.get("place"),
                                        attendees=fields.get("attendees"), result=fields.get("result"))
            done = "调解记录已添加"
        elif what == "success":
            await mediation.succeed(unit, ticket_id, fields.get("agreement"))
            done = "调解成功，已办结，系统会请居民评价"
        else:
            ticket = await mediation.fail(unit, ticket_id, fields.get("reason"))
            await flash(request, "ok", f"已上报{ticket.assignee.department if ticket.assignee else '街道'}：{ticket_id}")
            raise web.HTTPSeeOther("/work/tickets")
    except web.HTTPException:
        raise
    except TransitionDataError as exc:
        return render(request, "error.html", status=422, back=where, message=str(exc))
    except CannotEscalate as exc:
        return render(request, "error.html", status=409, back=where, message=exc.message)
    except IllegalTransition as exc:
        if exc.action == "mediate":
            message = f"工单现在是“{exc.status.value}”，{'请先签收再记录调解' if exc.status is Status.DISPATCHED else '不能再记录调解'}"
        else:
            message = f"工单现在是“{exc.status.value}”，不能这样办理"
        return render(request, "error.html", status=409, back=where, message=message)
    except Exception as exc:
        return _refusal(request, exc, where)
    await flash(request, "ok", done)
    raise web.HTTPSeeOther(where)


@guarded()
async def mediation_parties(request: web.Request) -> web.StreamResponse:
    return await _mediate(request, "parties")


@guarded()
async def mediation_session(request: web.Request) -> web.StreamResponse:
    return await _mediate(request, "session")


@guarded()
async def mediation_success(request: web.Request) -> web.StreamResponse:
    return await _mediate(request, "success")


@guarded()
async def mediation_failure(request: web.Request) -> web.StreamResponse:
    return await _mediate(request, "failure")


# ------------------------------------------------------------------------ 上报 / 交办 (escalation)


async def _escalate(request: web.Request, what: str) -> web.StreamResponse:
    unit, escalation = unit_of(request), _escalation(request)
    ticket_id = request.match_info["id"]
    where = f"/work/tickets/{quote(ticket_id, safe='')}"
    try:
        form = await request.post()
        if what == "escalate":
            ticket = await escalation.escalate(unit, ticket_id, str(form.get("reason") or ""))
            done = f"已上报{ticket.assignee.department if ticket.assignee else ''}：{ticket_id}"
        else:
            ticket = await escalation.assign_down(unit, ticket_id, str(form.get("instruction") or ""))
            done = f"已交办{ticket.assignee.department if ticket.assignee else ''}：{ticket_id}"
    except TransitionDataError as exc:
        return render(request, "error.html", status=422, back=where, message=str(exc))
    except Exception as exc:
        return _refusal(request, exc, where)
    await flash(request, "ok", done)
    raise web.HTTPSeeOther("/work/tickets")  # it is another unit's now


@guarded()
async def escalate(request: web.Request) -> web.StreamResponse:
    """上报: to the unit of the tier above (router/services/escalation.py)."""
    return await _escalate(request, "escalate")


@guarded()
async def assign_down(request: web.Request) -> web.StreamResponse:
    """交办: back down to the unit that escalated it, with the 督办意见."""
    return await _escalate(request, "assign")
