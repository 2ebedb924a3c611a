"""``GET /t/{token}``: the public tracking page a resident opens from a ticket notice.

The token is the ticket id and an HMAC of it (router.services.notices.TrackingLinks, keyed with
Settings.tracking_key()), so only a link the router sent opens a page; a wrong, altered or made-up token
is the same bare 404 as any unknown path. The page shows the progress — statuses and times, the unit
that handles it, the result text with phone and ID numbers masked — and nothing personal: not the
resident's name, phone, words or address (the place stops at the street).
"""

from __future__ import annotations

import base64
import hashlib
import html
from typing import Any

from aiohttp import web

from router.appkeys import TICKET_SERVICE, TICKETS
from router.domain.masking import mask_pii
from router.domain.tickets import CST, HistoryEntry, Status, Ticket
from router.services.notices import TrackingLinks
from router.services.referral import is_referral

__all__ = ["setup_routes", "render"]

_CSS = (
    "body{font-family:system-ui,'PingFang SC','Microsoft YaHei',sans-serif;margin:0;background:#f5f6f8;"
    "color:#1f2328;font-size:18px;line-height:1.6}"
    "main{max-width:640px;margin:0 auto;padding:16px}"
    "h1{font-size:22px;margin:8px 0 12px}h2{font-size:19px;margin:0 0 8px}"
    ".card{background:#fff;border-radius:8px;padding:12px 16px;margin-bottom:12px}"
    "dl{margin:0;display:grid;grid-template-columns:max-content 1fr;gap:4px 12px}dt{color:#57606a}dd{margin:0}"
    ".status{font-weight:bold;color:#0b6bcb}"
    "ol{list-style:none;margin:0;padding:0}li{border-left:3px solid #0b6bcb;padding:4px 0 8px 12px}"
    "time{display:block;color:#57606a;font-size:15px}.result{background:#eef6ee;padding:6px 8px;border-radius:4px}"
    "footer{color:#57606a;font-size:15px}"
)
_CSS_HASH = base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode()
_CSP = (f"default-src 'none'; style-src 'sha256-{_CSS_HASH}'; img-src 'self'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'")

_STATUS_WORDS = {
    Status.RECEIVED: "已受理，等待派单",
    Status.DISPATCHED: "已派单，等待承办单位接单",
    Status.IN_PROGRESS: "承办单位正在处理",
    Status.RESOLVED: "已办结",
    Status.FOLLOWED_UP: "已回访",
    Status.CLOSED: "已归档",
    Status.RETURNED: "重新派单中",
    Status.ESCALATED: "已督办，加快处理中",
    Status.MERGED: "已并入其他工单",
    Status.WITHDRAWN: "已撤销",
}


def _time(at: Any) -> str:
    local = at.astimezone(CST)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def _step(entry: HistoryEntry, department: str, links: TrackingLinks) -> tuple[str, str]:
    """(what happened, as HTML) for one history entry; ``department``: who had the ticket then."""
    e = html.escape
    action = entry.action
    if action == "create":
        return "受理", "诉求已受理"
    if action == "dispatch":
        return "派单", f"已转交 {e(department)} 处理" if department else "已派单"
    if action == "accept":
        return "处置", f"{e(department)} 已接单，正在处理" if department else "承办单位已接单，正在处理"
    if action == "return":
        return "退单", "承办单位退回，重新派单"
    if action == "resolve":
        result = mask_pii(entry.reason or "").strip()
        shown = f'<div class="result">处理结果：{e(result)}</div>' if result else ""
        return "办结", "已办结" + shown
    if action == "follow_up":
        return "回访", "已回访居民"
    if action == "close":
        return "归档", "工单已归档"
    if action == "escalate":
        level = str(entry.data.get("level") or "")
        return "督办", f"已由{e(level)}级督办，加快处理" if level else "已督办，加快处理"
    if action == "merge":
        target = str(entry.data.get("merged_into") or "")
        if target:
            return "合并", (f'同一问题已有居民反映，已并入工单 <a href="{e(links.path(target))}">{e(target)}</a>')
        return "合并", "已并入其他工单"
    if action == "withdraw":
        return "撤销", "居民已撤销"
    if action == "reopen":
        return "重办", f"居民不满意，已交 {e(department)} 重新办理" if department else "居民不满意，重新办理"
    if action == "note":  # the unit's own words stay with the unit: they may name people and places
        return "进展", "承办单位更新了办理进展"
    return entry.to.value, ""


def render(ticket: Ticket, links: TrackingLinks) -> str:
    """The page for ``ticket``: progress only, nothing personal."""
    e = html.escape
    steps = []
    department = ""
    for entry in ticket.history:
        if entry.action in ("dispatch", "reopen") and entry.data.get("department"):
            department = str(entry.data["department"])
        elif entry.action == "return":
            department = ""
        label, body = _step(entry, department, links)
        steps.append(f"<li><time>{_time(entry.at)}</time><strong>{e(label)}</strong> {body}</li>")
    topic = " / ".join(x for x in (ticket.topic.l1, ticket.topic.l2) if x)
    place = " ".join(x for x in (ticket.location.district, ticket.location.street) if x)
    rows = [("工单号", e(ticket.id)),
            ("当前状态", f'<span class="status">{e(_STATUS_WORDS.get(ticket.status, ticket.status.value))}</span>')]
    if topic:
        rows.append(("问题类型", e(topic)))
    if place:
        rows.append(("所在街道", e(place)))
    if ticket.assignee is not None and ticket.status is not Status.MERGED:
        rows.append(("承办单位", e(ticket.assignee.department)))
    if ticket.is_open:
        rows.append(("预计办结", _time(ticket.sla_deadline)))
    if ticket.reporters > 1:
        rows.append(("反映人数", f"{ticket.reporters} 位居民"))
    if ticket.status is Status.MERGED and ticket.merged_into:
        rows.append(("并入工单", f'<a href="{e(links.path(ticket.merged_into))}">{e(ticket.merged_into)}</a>'))
    table = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex,nofollow">'
        f"<title>工单进度 {e(ticket.id)}</title><style>{_CSS}</style></head><body><main>"
        f'<h1>工单进度</h1><section class="card"><dl>{table}</dl></section>'
        f'<section class="card"><h2>办理过程</h2><ol>{"".join(steps)}</ol></section>'
        "<footer>如有疑问，请拨打 12345 热线，报上工单号查询。</footer>"
        "</main></body></html>"
    )


async def track(request: web.Request) -> web.Response:
    links = request.app[TICKET_SERVICE].links
    ticket_id = links.ticket_id(request.match_info["token"]) if links is not None else None
    ticket = await request.app[TICKETS].get(ticket_id) if ticket_id else None
    if ticket is None or links is None or is_referral(ticket):
        # says nothing: the same as any path that does not exist. A 心理服务室 referral has no public page at
        # all (no link is ever sent for one; even its topic would say too much).
        raise web.HTTPNotFound()
    return web.Response(text=render(ticket, links), content_type="text/html", charset="utf-8",
                        headers={"Cache-Control": "no-store", "Content-Security-Policy": _CSP,
                                 "X-Robots-Tag": "noindex, nofollow"})


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/t/{token}", track, name="track")
