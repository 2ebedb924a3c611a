"""The operator console against a real Redis: login, roles, CSRF, the queue, claim/reply/hand back/close,
audit, masking, the ticket board and the live event stream."""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from router import keys
from router.adapters.conversations import ConversationStore
from router.adapters.ticket_store import RedisTicketStore
from router.app import Deps, create_app
from router.appkeys import CONVERSATIONS, TICKETS
from router.console.audit import AuditLog
from router.console.users import UserStore, ensure_bootstrap_admin
from router.domain.masking import mask_pii
from router.services.messages import Reply
from router.services.outbound import Outbound
from router.settings import ROOT, Settings
from tests.conftest import shared_domain

PASSWORD = "correct horse battery"
XSS = "<script>window.__xss=1</script><img src=x onerror=window.__xss=2>"


class FakeSender:
    """Records what the console asked a channel to deliver."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Reply]] = []

    async def send(self, conversation: Any, reply: Reply) -> None:
        self.sent.append((conversation.id, reply))


def build_app(redis: Any, var_dir: Path, **settings: Any) -> tuple[web.Application, FakeSender]:
    """The router as create_app builds it (the console mounted at /console), its web and WeChat deliveries
    recorded instead of sent."""
    outbound = Outbound()
    app = create_app(Settings(api_token="api-token", var_dir=var_dir, **settings),
                     Deps(redis=redis, domain=shared_domain(), outbound=outbound), with_scheduler=False)
    sender = FakeSender()
    outbound.register("wechat", sender)  # in place of the channels' own senders
    outbound.register("web", sender)
    return app, sender


@pytest.fixture
async def console(redis, tmp_path, aiohttp_server, monkeypatch):
    monkeypatch.delenv("VAR_DIR", raising=False)
    app, sender = build_app(redis, tmp_path)
    server = await aiohttp_server(app)
    users = UserStore(redis)
    for name, role in (("op1", "operator"), ("op2", "operator"), ("sup", "supervisor"), ("root", "admin")):
        await users.add(name, role, PASSWORD)
    return {"app": app, "server": server, "sender": sender, "redis": redis, "var_dir": tmp_path}


async def login(aiohttp_client, server, user: str, password: str = PASSWORD) -> TestClient:
    client = await aiohttp_client(server)
    page = await (await client.get("/console/login")).text()
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    resp = await client.post("/console/login", data={"username": user, "password": password, "csrf": token,
                                                      "next": "/console/queue"})
    assert resp.status == 200, await resp.text()
    assert str(resp.url).endswith("/console/queue")
    return client


async def csrf_of(client: TestClient, path: str = "/console/queue") -> str:
    page = await (await client.get(path)).text()
    return re.search(r'data-csrf="([^"]+)"', page).group(1)


async def queued_conversation(redis, *, channel: str = "wechat", user_id: str = "openid-1", text: str = "楼上漏水",
                              urgent: bool = False, reason: str = "request_human", summary: dict | None = None):
    store = ConversationStore(redis)
    conv = await store.current(channel, user_id)
    await store.append(conv.id, "resident", text)
    await store.append(conv.id, "bot", "请问具体在哪个小区？")
    return await store.move(conv.id, "handoff", reason=reason, urgent=urgent, summary=summary or {
        "intent": "report_problem", "topic": text, "place": "南山区 粤海街道", "ticket_draft": {"problem_text": text}})


async def audit_actions(redis) -> list[tuple[str, str, str]]:
    return [(e.actor, e.action, e.target) for e in await AuditLog(redis).recent(limit=100)]


# ---------------------------------------------------------------------------------------------- login


async def test_first_start_creates_admin_with_password_file(console, aiohttp_client):
    # the fixture's users were added after startup; the admin came from the startup hook
    line = (console["var_dir"] / "console-admin.txt").read_text(encoding="utf-8").strip()
    name, password = line.split(" / ")
    assert name == "admin" and len(password) >= 16
    assert oct((console["var_dir"] / "console-admin.txt").stat().st_mode & 0o777) == "0o600"
    assert await ensure_bootstrap_admin(console["redis"], console["var_dir"]) is None  # only on the first start
    assert (console["var_dir"] / "console-admin.txt").read_text(encoding="utf-8").strip() == line
    # the first login leads to the password change (more in test_console_security.py), then the console
    client = await aiohttp_client(console["server"])
    page = await (await client.get("/console/login")).text()
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    resp = await client.post("/console/login", data={"username": name, "password": password, "csrf": token})
    page = await resp.text()
    assert str(resp.url).startswith(f"{client.make_url('/console/password')}")
    resp = await client.post("/console/password", data={
        "csrf": re.search(r'data-csrf="([^"]+)"', page).group(1), "current": password, "password": PASSWORD,
        "confirm": PASSWORD, "next": "/console/queue"})
    assert "用户管理" in await resp.text()


async def test_login_wrong_password_then_right(console, aiohttp_client):
    client = await aiohttp_client(console["server"])
    resp = await client.get("/console/queue", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/console/login?next=")
    page = await (await client.get("/console/login")).text()
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    bad = await client.post("/console/login", data={"username": "op1", "password": "wrong password!", "csrf": token})
    assert bad.status == 401
    assert "用户名或密码错误" in await bad.text()
    assert COOKIE_NAME not in {c.key for c in client.session.cookie_jar}
    good = await client.post("/console/login", data={"username": "op1", "password": PASSWORD, "csrf": token})
    assert good.status == 200 and "会话队列" in await good.text()
    cookie = next(c for c in client.session.cookie_jar if c.key == COOKIE_NAME)
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/console"
    # the session id is not what Redis stores
    assert not await console["redis"].exists(keys.console_session(cookie.value))
    assert ("", "login_failed", "op1") in await audit_actions(console["redis"])  # not logged in: no actor


COOKIE_NAME = "rsa_console"


async def test_login_needs_its_csrf_token(console, aiohttp_client):
    client = await aiohttp_client(console["server"])
    await client.get("/console/login")
    resp = await client.post("/console/login", data={"username": "op1", "password": PASSWORD, "csrf": "forged"})
    assert resp.status == 403 and "CSRF" in await resp.text()


async def test_login_is_rate_limited_per_address_and_user(console, aiohttp_client):
    client = await aiohttp_client(console["server"])
    page = await (await client.get("/console/login")).text()
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    for _ in range(5):
        r = await client.post("/console/login", data={"username": "op1", "password": "guess-guess", "csrf": token})
        assert r.status == 401
    blocked = await client.post("/console/login", data={"username": "op1", "password": PASSWORD, "csrf": token})
    assert blocked.status == 429 and "登录失败次数过多" in await blocked.text()
    # another user from the same desk is not locked out
    other = await client.post("/console/login", data={"username": "op2", "password": PASSWORD, "csrf": token})
    assert other.status == 200


async def test_logout_ends_the_session(console, aiohttp_client):
    client = await login(aiohttp_client, console["server"], "op1")
    csrf = await csrf_of(client)
    cookie = next(c for c in client.session.cookie_jar if c.key == COOKIE_NAME).value
    resp = await client.post("/console/logout", data={"csrf": csrf})
    assert "坐席登录" in await resp.text()
    replay = await aiohttp_client(console["server"], cookies={COOKIE_NAME: cookie})
    assert (await replay.get("/console/queue", allow_redirects=False)).status == 303


# ---------------------------------------------------------------------------------------------- roles


async def test_operator_cannot_open_audit_supervisor_or_users(console, aiohttp_client):
    op = await login(aiohttp_client, console["server"], "op1")
    for path in ("/console/audit", "/console/supervisor", "/console/users"):
        resp = await op.get(path)
        assert resp.status == 403, path
        assert "无权访问" in await resp.text()
    page = await (await op.get("/console/queue")).text()
    assert "审计日志" not in page and "班长视图" not in page
    sup = await login(aiohttp_client, console["server"], "sup")
    assert (await sup.get("/console/audit")).status == 200
    assert (await sup.get("/console/supervisor")).status == 200
    assert (await sup.get("/console/users")).status == 403
    root = await login(aiohttp_client, console["server"], "root")
    assert (await root.get("/console/users")).status == 200


async def test_disabled_user_is_logged_out_at_once(console, aiohttp_client):
    op = await login(aiohttp_client, console["server"], "op1")
    await UserStore(console["redis"]).set_disabled("op1", True)
    assert (await op.get("/console/queue", allow_redirects=False)).status == 303


async def test_post_without_csrf_changes_nothing(console, aiohttp_client):
    conv = await queued_conversation(console["redis"])
    op = await login(aiohttp_client, console["server"], "op1")
    resp = await op.post(f"/console/conversations/{conv.id}/claim", data={})
    assert resp.status == 403 and "CSRF" in await resp.text()
    resp = await op.post(f"/console/conversations/{conv.id}/claim", data={"csrf": "x" * 43})
    assert resp.status == 403
    assert (await ConversationStore(console["redis"]).require(conv.id)).state.value == "queued"


# -------------------------------------------------------------------------------------- conversations


async def test_queue_shows_summary_urgent_first_and_escapes_resident_text(console, aiohttp_client):
    await queued_conversation(console["redis"], user_id="a", text="小区门口路灯坏了")
    urgent = await queued_conversation(console["redis"], user_id="b", text="我不想活了" + XSS, urgent=True,
                                       reason="self_harm")
    op = await login(aiohttp_client, console["server"], "op1")
    page = await (await op.get("/console/queue")).text()
    items = re.findall(r'class="queue-item( urgent)?" data-conversation="(C[0-9a-f]{16})"', page)
    assert items[0] == (" urgent", urgent.id) and len(items) == 2
    assert "自伤风险" in page and "小区门口路灯坏了" in page and "南山区 粤海街道" in page and "微信" in page
    assert "<script>window.__xss" not in page and html.escape("<script>window.__xss=1</script>") in page
    partial = await (await op.get("/console/queue/partial")).text()
    assert "<html" not in partial and urgent.id in partial


async def test_two_operators_claim_one_conversation_second_is_refused(console, aiohttp_client):
    conv = await queued_conversation(console["redis"])
    op1 = await login(aiohttp_client, console["server"], "op1")
    op2 = await login(aiohttp_client, console["server"], "op2")
    c1, c2 = await csrf_of(op1), await csrf_of(op2)
    r1 = await op1.post(f"/console/conversations/{conv.id}/claim", data={"csrf": c1})
    assert str(r1.url).endswith(f"/console/conversations/{conv.id}") and "已接入会话" in await r1.text()
    r2 = await op2.post(f"/console/conversations/{conv.id}/claim", data={"csrf": c2})
    assert "该会话已由 op1 接入" in await r2.text()
    fetched = await op2.post(f"/console/conversations/{conv.id}/claim", data={"csrf": c2},
                             headers={"X-Requested-With": "fetch"})
    assert fetched.status == 409 and "op1" in (await fetched.json())["message"]
    after = await ConversationStore(console["redis"]).require(conv.id)
    assert after.state.value == "human" and after.operator == "op1"
    acts = await audit_actions(console["redis"])
    assert ("op1", "claim", conv.id) in acts and ("op2", "claim_refused", conv.id) in acts
    # op1 now has it in "my conversations"; it left the queue
    page = await (await op1.get("/console/queue")).text()
    assert f'href="/console/conversations/{conv.id}" class="mine-link"' in page
    assert f'data-conversation="{conv.id}"' not in page


async def test_reply_reaches_the_channel_sender_and_the_transcript(console, aiohttp_client):
    conv = await queued_conversation(console["redis"])
    op1 = await login(aiohttp_client, console["server"], "op1")
    csrf = await csrf_of(op1)
    await op1.post(f"/console/conversations/{conv.id}/claim", data={"csrf": csrf})
    resp = await op1.post(f"/console/conversations/{conv.id}/reply", data={"csrf": csrf, "text": "您好，请问具体楼栋？"},
                          headers={"X-Requested-With": "fetch"})
    assert resp.status == 200 and (await resp.json())["ok"] is True
    operator_sent = [(cid, r) for cid, r in console["sender"].sent if r.author == "operator"]
    assert operator_sent == [(conv.id, Reply("您好，请问具体楼栋？", author="operator"))]
    transcript = await ConversationStore(console["redis"]).transcript(conv.id)
    assert transcript[-1]["author"] == "operator" and transcript[-1]["text"] == "您好，请问具体楼栋？"
    assert transcript[-1]["meta"] == {"operator": "op1"}
    page = await (await op1.get(f"/console/conversations/{conv.id}")).text()
    assert "您好，请问具体楼栋？" in page and "人工客服 op1" in page and "请问具体在哪个小区？" in page
    # a canned reply without JS: the button itself is the text
    await op1.post(f"/console/conversations/{conv.id}/reply", data={"csrf": csrf, "canned": "wait"})
    assert console["sender"].sent[-1][1].text.startswith("好的，我正在为您查询")
    # the other operator may not speak in op1's conversation
    op2 = await login(aiohttp_client, console["server"], "op2")
    refused = await op2.post(f"/console/conversations/{conv.id}/reply", data={"csrf": await csrf_of(op2), "text": "hi"},
                             headers={"X-Requested-With": "fetch"})
    assert refused.status == 409 and "op1" in (await refused.json())["message"]
    empty = await op1.post(f"/console/conversations/{conv.id}/reply", data={"csrf": csrf, "text": "   "},
                           headers={"X-Requested-With": "fetch"})
    assert empty.status == 422
    assert ("op1", "reply", conv.id) in await audit_actions(console["redis"])


async def test_undeliverable_reply_is_reported_to_the_operator(console, aiohttp_client):
    conv = await queued_conversation(console["redis"], channel="voice", user_id="13800138000")
    op1 = await login(aiohttp_client, console["server"], "op1")
    csrf = await csrf_of(op1)
    await op1.post(f"/console/conversations/{conv.id}/claim", data={"csrf": csrf})
    resp = await op1.post(f"/console/conversations/{conv.id}/reply", data={"csrf": csrf, "text": "您好"},
                          headers={"X-Requested-With": "fetch"})
    assert resp.status == 502 and "未能通过热线电话渠道送达" in (await resp.json())["message"]
    assert ("op1", "reply_undelivered", conv.id) in await audit_actions(console["redis"])


async def test_hand_back_and_close(console, aiohttp_client):
    store = ConversationStore(console["redis"])
    first = await queued_conversation(console["redis"], user_id="u1")
    second = await queued_conversation(console["redis"], user_id="u2")
    op1 = await login(aiohttp_client, console["server"], "op1")
    csrf = await csrf_of(op1)
    for conv in (first, second):
        await op1.post(f"/console/conversations/{conv.id}/claim", data={"csrf": csrf})
    resp = await op1.post(f"/console/conversations/{first.id}/handback", data={"csrf": csrf})
    assert "会话已交还智能助手" in await resp.text()
    assert (await store.require(first.id)).state.value == "bot"
    *_, notice, csat = await store.transcript(first.id)  # the notice, then the rating question (test_console_desk)
    assert notice["author"] == "system" and "智能助手继续" in notice["text"]
    assert csat["meta"] == {"event": "csat"}
    resp = await op1.post(f"/console/conversations/{second.id}/close", data={"csrf": csrf})
    assert "会话已结束" in await resp.text()
    assert (await store.require(second.id)).state.value == "closed"
    # nothing left in "my conversations"; a second close is refused clearly
    assert not await console["redis"].smembers(keys.console_operator_conversations("op1"))
    again = await op1.post(f"/console/conversations/{second.id}/close", data={"csrf": csrf},
                           headers={"X-Requested-With": "fetch"})
    assert again.status == 409 and "已结束" in (await again.json())["message"]
    acts = await audit_actions(console["redis"])
    assert ("op1", "handback", first.id) in acts and ("op1", "close", second.id) in acts


async def test_phone_numbers_masked_for_operators_not_for_supervisors(console, aiohttp_client):
    conv = await queued_conversation(console["redis"], channel="voice", user_id="13812345678",
                                     text="我的电话是13812345678，座机0755-86001234")
    op = await login(aiohttp_client, console["server"], "op1")
    page = await (await op.get(f"/console/conversations/{conv.id}")).text()
    assert "13812345678" not in page and "138****5678" in page and "86001234" not in page
    sup = await login(aiohttp_client, console["server"], "sup")
    page = await (await sup.get(f"/console/conversations/{conv.id}")).text()
    assert "13812345678" in page
    assert mask_pii("电话 138 1234 5678。") == "电话 138****5678。"


# ---------------------------------------------------------------------------------------------- tickets


async def make_ticket(redis, text: str = "粤海街道科技园路灯不亮", phone: str = "13912345678"):
    return await RedisTicketStore(redis).create({
        "text": text, "channel": "web", "address": "科技园南区",
        "location": {"district": "南山区", "street": "粤海街道"},
        "topic": {"l1": "城市管理", "l2": "市政设施", "department": "南山区城市管理和综合执法局"},
        "contact_name": "王小明", "contact_phone": phone})


async def test_ticket_board_filters_and_detail_masks_contact(console, aiohttp_client):
    t1 = await make_ticket(console["redis"])
    t2 = await make_ticket(console["redis"], text="福田区华强北噪音扰民到半夜")
    await RedisTicketStore(console["redis"]).transition(t2.id, "dispatch", "test")
    op = await login(aiohttp_client, console["server"], "op1")
    board = await (await op.get("/console/tickets")).text()
    assert t1.id in board and t2.id in board and "剩余" in board
    only_dispatched = await (await op.get("/console/tickets", params={"status": "派单"})).text()
    assert t2.id in only_dispatched and t1.id not in only_dispatched
    none_here = await (await op.get("/console/tickets", params={"district": "福田区"})).text()
    assert t1.id not in none_here and "没有符合条件的工单" in none_here
    detail = await (await op.get(f"/console/tickets/{t1.id}")).text()
    assert "139****5678" in detail and "13912345678" not in detail and "王**" in detail
    sup = await login(aiohttp_client, console["server"], "sup")
    assert "13912345678" in await (await sup.get(f"/console/tickets/{t1.id}")).text()


async def test_overdue_ticket_is_highlighted(console, aiohttp_client):
    from datetime import datetime, timedelta

    from router.domain.tickets import CST

    past = RedisTicketStore(console["redis"], clock=lambda: datetime.now(CST) - timedelta(days=10))
    old = await past.create({"text": "路面塌陷一直没人修", "channel": "web",
                             "location": {"district": "南山区"}, "topic": {"l1": "城市管理", "department": "区住建局"}})
    op = await login(aiohttp_client, console["server"], "op1")
    board = await (await op.get("/console/tickets", params={"overdue": "1"})).text()
    assert re.search(rf'class="ticket-row overdue" data-ticket="{old.id}"', board)
    assert "超时 3天" in board


async def test_ticket_transition_from_the_detail_page(console, aiohttp_client):
    ticket = await make_ticket(console["redis"])
    op = await login(aiohttp_client, console["server"], "op1")
    detail = await (await op.get(f"/console/tickets/{ticket.id}")).text()
    csrf = re.search(r'data-csrf="([^"]+)"', detail).group(1)
    assert 'data-action="dispatch"' in detail and 'data-action="resolve"' not in detail
    resp = await op.post(f"/console/tickets/{ticket.id}/transitions",
                         data={"csrf": csrf, "action": "dispatch", "reason": "按属地派单", "version": "1"})
    page = await resp.text()
    assert f"工单 {ticket.id} 已派单" in page and 'id="ticket-status">派单<' in page
    stored = await RedisTicketStore(console["redis"]).require(ticket.id)
    assert stored.status.value == "派单" and stored.history[-1].actor == "console:op1"
    # illegal: 办结 straight from 派单 — clear message, nothing changes
    resp = await op.post(f"/console/tickets/{ticket.id}/transitions",
                         data={"csrf": csrf, "action": "resolve", "reason": "x"})
    assert "操作被拒绝：工单当前状态为“派单”，不能执行“办结”" in await resp.text()
    # allowed but missing data: 退单 without a reason
    resp = await op.post(f"/console/tickets/{ticket.id}/transitions", data={"csrf": csrf, "action": "return"})
    assert "操作被拒绝" in await resp.text()
    # stale form (version 1 again): refused, not applied twice
    resp = await op.post(f"/console/tickets/{ticket.id}/transitions",
                         data={"csrf": csrf, "action": "dispatch", "version": "1"})
    assert "刚被他人修改" in await resp.text()
    after = await RedisTicketStore(console["redis"]).require(ticket.id)
    assert after.version == stored.version and after.status.value == "派单"
    acts = await audit_actions(console["redis"])
    assert ("op1", "ticket_transition", ticket.id) in acts and ("op1", "ticket_transition_refused", ticket.id) in acts


async def test_supervisor_sees_queue_figures_and_three_rates(console, aiohttp_client):
    store = RedisTicketStore(console["redis"])
    done = await make_ticket(console["redis"], text="南山区粤海街道井盖丢失")
    await make_ticket(console["redis"], text="宝安区西乡街道垃圾没人清运")
    for action, kw in (("dispatch", {}), ("accept", {}), ("resolve", {}), ("follow_up", {"rating": "满意"})):
        await store.transition(done.id, action, "test", **kw)
    await queued_conversation(console["redis"], user_id="w1")
    await queued_conversation(console["redis"], user_id="w2", urgent=True, reason="self_harm")
    sup = await login(aiohttp_client, console["server"], "sup")
    page = await (await sup.get("/console/supervisor")).text()
    assert re.search(r'id="fig-queue">2<', page)
    assert 'id="rate-on-time">100.0%<' in page  # resolved within its SLA, never escalated
    assert 'id="rate-resolution">50.0%<' in page  # 1 of 2
    assert 'id="rate-satisfaction">100.0%<' in page


async def test_audit_page_lists_actions(console, aiohttp_client):
    conv = await queued_conversation(console["redis"])
    op = await login(aiohttp_client, console["server"], "op1")
    await op.post(f"/console/conversations/{conv.id}/claim", data={"csrf": await csrf_of(op)})
    sup = await login(aiohttp_client, console["server"], "sup")
    page = await (await sup.get("/console/audit", params={"actor": "op1"})).text()
    assert "接入会话" in page and conv.id in page and "登录" in page


async def test_admin_adds_a_user_from_the_console(console, aiohttp_client):
    root = await login(aiohttp_client, console["server"], "root")
    csrf = await csrf_of(root, "/console/users")
    page = await (await root.post("/console/users", data={"csrf": csrf, "name": "newbie", "role": "operator"})).text()
    password = re.search(r"初始密码：(\S+)", page).group(1)
    assert await UserStore(console["redis"]).authenticate("newbie", password) is not None


# ----------------------------------------------------------------------------------------------- live


async def read_event(resp, wanted: str, timeout: float = 5.0) -> dict[str, Any]:
    async def scan() -> dict[str, Any]:
        event = ""
        while True:
            line = (await resp.content.readline()).decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == wanted:
                return json.loads(line[6:])
    return await asyncio.wait_for(scan(), timeout)


async def test_event_stream_sends_queue_changes_and_masked_transcript_lines(console, aiohttp_client):
    conv = await queued_conversation(console["redis"])
    op = await login(aiohttp_client, console["server"], "op1")
    resp = await op.get("/console/events", params={"conversation": conv.id})
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/event-stream")
    await resp.content.readline()  # "retry:" — subscribed from here on
    await asyncio.sleep(0.1)
    await ConversationStore(console["redis"]).append(conv.id, "resident", "电话13812345678 " + XSS)
    message = await read_event(resp, "message")
    assert message["text"] == "电话138****5678 " + XSS  # raw text: the page sets it with textContent
    assert message["author_label"] == "居民"
    await queued_conversation(console["redis"], user_id="someone-else")
    assert (await read_event(resp, "queue"))["type"] in ("message", "state")
    resp.close()
    anon = await aiohttp_client(console["server"])
    assert (await anon.get("/console/events")).status == 401


# --------------------------------------------------------------------------------------------- misc


async def test_console_pages_send_security_headers_and_static_files(console, aiohttp_client):
    op = await login(aiohttp_client, console["server"], "op1")
    resp = await op.get("/console/queue")
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["Cache-Control"] == "no-store"
    css = await op.get("/console/static/console.css")
    assert css.status == 200 and "Noto Sans CJK SC" in await css.text()
    assert (await op.get("/console/static/console.js")).status == 200
    assert (await op.get("/console", allow_redirects=False)).headers["Location"] == "/console/queue"


async def test_login_next_is_never_an_open_redirect(console, aiohttp_client):
    client = await aiohttp_client(console["server"])
    page = await (await client.get("/console/login", params={"next": "//evil.example/x"})).text()
    assert 'name="next" value="/console/queue"' in page


def test_cli_adds_a_user_with_a_password_from_stdin(redis_url, tmp_path):
    import redis as sync_redis

    sync_redis.Redis.from_url(redis_url).flushdb()
    # VAR_DIR: the CLI refreshes the first admin's password notice there; never the checkout's own var/
    env = {**os.environ, "REDIS_URL": redis_url, "PYTHONPATH": str(ROOT), "VAR_DIR": str(tmp_path)}
    run = subprocess.run([sys.executable, "-m", "router.console", "users", "add", "clerk", "--role", "supervisor"],
                         input="a-long-enough-secret\n", capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "a-long-enough-secret" not in run.stdout  # a given password is never echoed
    listed = subprocess.run([sys.executable, "-m", "router.console", "users", "list"], capture_output=True,
                            text=True, env=env, cwd=ROOT, timeout=60)
    assert "clerk\tsupervisor\tactive" in listed.stdout
    dup = subprocess.run([sys.executable, "-m", "router.console", "users", "add", "clerk"], input="",
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert dup.returncode == 1 and "already exists" in dup.stderr
    short = subprocess.run([sys.executable, "-m", "router.console", "users", "add", "tiny"], input="short\n",
                           capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert short.returncode == 2 and "at least 10" in short.stderr
    generated = subprocess.run([sys.executable, "-m", "router.console", "users", "add", "gen"], input="",
                               capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert generated.returncode == 0 and re.search(r"^gen / \S{16}$", generated.stdout, re.M)


async def test_ticket_pages_say_when_the_ticket_service_is_unavailable(console, aiohttp_client, monkeypatch):
    """Redis away for longer than the client's retries: the ticket pages say so (503) instead of failing,
    and the supervisor page still shows the queue."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    async def down(*args: Any, **kwargs: Any) -> Any:
        raise RedisConnectionError("Connection refused")

    async def pages_down(*args: Any, **kwargs: Any) -> Any:
        raise RedisConnectionError("Connection refused")
        yield  # an async generator, as created_between is

    store = console["app"][TICKETS]
    for name in ("search", "get", "transition"):
        monkeypatch.setattr(store, name, down)
    monkeypatch.setattr(store, "created_between", pages_down)
    sup = await login(aiohttp_client, console["server"], "sup")
    board = await sup.get("/console/tickets")
    assert board.status == 503 and "工单服务当前不可用" in await board.text()
    detail = await sup.get("/console/tickets/SZ20261203-000001")
    assert detail.status == 503 and "工单服务当前不可用" in await detail.text()
    page = await (await sup.get("/console/supervisor")).text()
    assert "工单服务当前不可用" in page and 'id="fig-queue">0<' in page


async def test_resolving_from_the_console_asks_the_resident_to_rate(console, aiohttp_client):
    """The 回访 question used to be sent only by the API's resolve; the console's 办结 skipped it."""
    conversations = console["app"][CONVERSATIONS]
    conv = await conversations.current("wechat", "openid-console-resolve")
    store = RedisTicketStore(console["redis"])
    ticket = await store.create({"text": "小区路灯坏了", "channel": "wechat", "conversation_id": conv.id,
                                 "location": {"district": "南山区", "street": "粤海街道"},
                                 "topic": {"l1": "城乡建设", "department": "城市管理和综合执法局"}})
    op = await login(aiohttp_client, console["server"], "op1")
    for action in ("dispatch", "accept", "resolve"):
        csrf = await csrf_of(op, f"/console/tickets/{ticket.id}")
        resp = await op.post(f"/console/tickets/{ticket.id}/transitions",
                             data={"csrf": csrf, "action": action, "reason": "已修好" if action == "resolve" else ""})
        assert resp.status == 200, await resp.text()
    assert (await store.require(ticket.id)).status.value == "办结"
    asked = [reply for conv_id, reply in console["sender"].sent if conv_id == conv.id]
    assert asked and ticket.id in asked[-1].text
    assert [b.title for b in asked[-1].buttons] == ["满意", "基本满意", "不满意"]
