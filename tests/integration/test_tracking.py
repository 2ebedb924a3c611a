"""The other half of the loop, against the whole router (create_app) and a real Redis: a WeChat resident
hears of 派单 and 办结 through WeChat's customer-service API (a fake of it), is asked for a rating, and a
不满意 sends the ticket back to the unit; a neighbour whose report was merged hears the same; the link in
the notices opens a tracking page with the progress and nothing personal, and any other token is a 404
that says nothing."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from router.adapters.conversations import ConversationStore
from tests.fakes.wechat_server import FakeWeChatApi

TOKEN = "api-token-for-tests"
APP_ID = "wx0123456789abcdef"
SECRET = "app-secret-for-tests"
PHONE, NAME, ADDRESS = "13812345678", "王小明", "科技园社区7栋2单元门口"
DEPT = "城市管理和综合执法局"
LINK = re.compile(r"http://[^/\s]+(/t/[A-Za-z0-9._~-]+)")


@pytest.fixture
async def wechat_api() -> AsyncIterator[FakeWeChatApi]:
    api = FakeWeChatApi(APP_ID, SECRET)
    await api.start()
    yield api
    await api.close()


@pytest.fixture
async def env(aiohttp_client: Any, redis: Any, make_app: Any, wechat_api: FakeWeChatApi):
    app = make_app(api_token=TOKEN, wechat_token="wx-token", wechat_app_id=APP_ID, wechat_app_secret=SECRET,
                   wechat_api_base=wechat_api.base_url)
    client = await aiohttp_client(app, headers={"Authorization": f"Bearer {TOKEN}"})
    return client, ConversationStore(redis), wechat_api


async def wait_for(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def open_ticket(client: Any, conversation_id: str, text: str = "科技园社区门口的路灯坏了一个星期，晚上很黑") -> dict:
    r = await client.post("/api/v1/tickets", json={
        "text": text, "channel": "wechat", "conversation_id": conversation_id,
        "contact_phone": PHONE, "contact_name": NAME, "address": ADDRESS,
        "topic": {"l1": "城乡建设", "l2": "路灯", "department": DEPT, "needs_human_dispatch": True},
        "location": {"district": "南山区", "street": "粤海街道", "community": "科技园社区"}})
    assert r.status == 201, await r.text()
    return await r.json()


async def move(client: Any, tid: str, action: str, **extra: str) -> dict:
    r = await client.post(f"/api/v1/tickets/{tid}/transitions", json={"action": action, "actor": "dept:城管", **extra})
    assert r.status == 200, await r.text()
    return await r.json()


def to(api: FakeWeChatApi, openid: str) -> list[str]:
    return [m.content for m in api.sent if m.touser == openid]


async def test_a_wechat_resident_hears_dispatch_and_resolve_rates_and_dissatisfied_reopens(env) -> None:
    client, conversations, api = env
    conv = await conversations.current("wechat", "openid-reporter")
    tid = (await open_ticket(client, conv.id))["id"]
    assert to(api, "openid-reporter") == []

    await move(client, tid, "dispatch", department=DEPT, unit="粤海街道")
    await wait_for(lambda: len(to(api, "openid-reporter")) == 1)
    [dispatched] = to(api, "openid-reporter")
    assert f"工单号 {tid}" in dispatched and f"已转交{DEPT}（粤海街道）处理" in dispatched and "前办结" in dispatched
    assert LINK.search(dispatched)

    await move(client, tid, "accept")
    await move(client, tid, "resolve", reason="已更换灯泡，有问题请联系张工 13987654321")
    await wait_for(lambda: len(to(api, "openid-reporter")) == 2)
    resolved = to(api, "openid-reporter")[-1]
    assert "处理结果：已更换灯泡" in resolved and "13987654321" not in resolved
    assert "请问您对处理结果满意吗" in resolved and "不满意" in resolved  # the options, as WeChat shows them
    transcript = await conversations.transcript(conv.id)
    assert [e["meta"]["event"] for e in transcript] == ["notice:dispatch", "follow_up"]
    assert [b["title"] for b in transcript[-1]["buttons"]] == ["满意", "基本满意", "不满意"]

    # the resident answers 不满意 (as the bot's action does): back to the same unit, and they are told
    r = await client.post(f"/api/v1/tickets/{tid}/resident", json={
        "action": "rate", "conversation_id": conv.id, "rating": "不满意", "reason": "灯还是不亮"})
    assert r.status == 200, await r.text()
    ticket = await (await client.get(f"/api/v1/tickets/{tid}")).json()
    assert ticket["status"] == "派单" and ticket["assignee"]["department"] == DEPT
    assert ticket["history"][-1]["reason"] == "居民不满意：灯还是不亮"
    await wait_for(lambda: len(to(api, "openid-reporter")) == 3)
    assert f"已重新交给{DEPT}（粤海街道）办理" in to(api, "openid-reporter")[-1]


async def test_a_merged_neighbour_is_told_at_once_and_hears_the_same_notices(env) -> None:
    client, conversations, api = env
    first_conv = await conversations.current("wechat", "openid-first")
    neighbour = await conversations.current("wechat", "openid-neighbour")
    first = await open_ticket(client, first_conv.id)
    second = await open_ticket(client, neighbour.id)
    assert second["status"] == "合并" and second["merged_into"] == first["id"]
    await wait_for(lambda: len(to(api, "openid-neighbour")) == 1)
    assert f"已并入工单 {first['id']}，共 2 位居民反映" in to(api, "openid-neighbour")[0]

    await move(client, first["id"], "dispatch", department=DEPT)
    await move(client, first["id"], "accept")
    await move(client, first["id"], "resolve", reason="已更换灯泡")
    await wait_for(lambda: len(to(api, "openid-neighbour")) == 3 and len(to(api, "openid-first")) == 2)
    joined, dispatched, resolved = to(api, "openid-neighbour")
    assert f"工单号 {first['id']}）已转交" in dispatched and "处理结果：已更换灯泡" in resolved
    assert "满意吗" not in resolved  # the 回访 is the first reporter's
    assert "满意吗" in to(api, "openid-first")[-1]
    # the neighbour's link opens the ticket that is worked on
    path = LINK.search(joined).group(1)  # type: ignore[union-attr]
    page = await (await client.get(path)).text()
    assert first["id"] in page and "2 位居民" in page


async def test_the_tracking_page_shows_progress_and_nothing_personal(env) -> None:
    client, conversations, api = env
    conv = await conversations.current("wechat", "openid-page")
    tid = (await open_ticket(client, conv.id))["id"]
    await move(client, tid, "dispatch", department=DEPT, unit="粤海街道")
    await move(client, tid, "accept")
    await move(client, tid, "resolve", reason="已更换灯泡，有问题请联系张工 13987654321")
    transcript = await conversations.transcript(conv.id)
    path = LINK.search(transcript[-1]["text"]).group(1)  # type: ignore[union-attr]

    resp = await client.get(path, headers={"Authorization": ""})  # a resident's phone: no token of ours
    assert resp.status == 200 and resp.content_type == "text/html"
    assert resp.headers["Cache-Control"] == "no-store" and "noindex" in resp.headers["X-Robots-Tag"]
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    page = await resp.text()
    for shown in (tid, "已办结", DEPT, "粤海街道", "南山区", "处理结果：已更换灯泡", "139****4321", "派单", "处置"):
        assert shown in page, shown
    for hidden in (PHONE, PHONE[-4:], NAME, ADDRESS, "科技园社区", "7栋", "13987654321", "路灯坏了一个星期", "dept:城管"):
        assert hidden not in page, hidden


async def test_a_wrong_token_is_a_404_that_says_nothing(env) -> None:
    client, conversations, _api = env
    conv = await conversations.current("wechat", "openid-404")
    tid = (await open_ticket(client, conv.id))["id"]
    other = (await open_ticket(client, conv.id, text="公园的长椅坏了，坐下去会塌"))["id"]
    await move(client, tid, "dispatch", department=DEPT)
    path = LINK.search((await conversations.transcript(conv.id))[-1]["text"]).group(1)  # type: ignore[union-attr]
    token = path.removeprefix("/t/")
    assert (await client.get(path)).status == 200

    unknown = await client.get("/t-no-such-page")
    nothing = (unknown.status, await unknown.text())
    mac = token.split(".", 1)[1]
    for bad in (token[:-1] + ("A" if token[-1] != "A" else "B"),  # one character changed
                f"{other}.{mac}",  # another ticket's id with this ticket's MAC
                tid, f"{tid}.", "SZ20990101-000001." + mac, "x" * 60, "%00", "..%2F..%2Fetc"):
        resp = await client.get(f"/t/{bad}")
        assert (resp.status, await resp.text()) == nothing, bad


async def test_the_departments_queue_tells_the_reporter_and_a_merged_web_neighbour_once(redis: Any) -> None:
    """The dispatch queue's 签收 and 办结 go through the same service: the notices, with followers kept in
    Redis, reach the first reporter (WeChat) and a neighbour on the web page, and a replay tells nobody twice."""
    from router.adapters.dispatch import Dispatcher
    from router.adapters.ticket_store import RedisTicketStore
    from router.domain.tickets import Action
    from router.services.notices import RedisFollowers, TrackingLinks
    from router.services.tickets import TicketService
    from tests.fakes.stores import RecordingOutbound

    conversations, outbound = ConversationStore(redis), RecordingOutbound()
    store = RedisTicketStore(redis)
    service = TicketService(store, conversations=conversations, outbound=outbound, followers=RedisFollowers(redis),
                            links=TrackingLinks(b"q" * 32, "https://12345.example.cn"))
    reporter = await conversations.current("wechat", "openid-q")
    neighbour = await conversations.current("web", "browser-q")
    draft = {"text": "科技园社区门口的路灯坏了一个星期，晚上很黑", "location": {"street": "粤海街道", "community": "科技园社区"},
             "topic": {"l1": "城乡建设", "l2": "路灯", "department": DEPT}}
    first = await service.open({**draft, "channel": "wechat", "conversation_id": reporter.id}, idempotency_key=None,
                               actor="bot")
    merged = await service.open({**draft, "channel": "web", "conversation_id": neighbour.id}, idempotency_key=None,
                                actor="bot")
    assert merged.merged_into == first.id
    await service.move(first.id, Action.DISPATCH, "console:op1")
    queue = Dispatcher(redis, service)
    [claim] = await queue.claim(DEPT, "w1", 10)
    await queue.accept(claim, "城管-张")
    resolved = await queue.resolve(first.id, "城管-张", reason="已更换灯泡")
    await service._after(resolved)  # a replayed move
    web_texts = [e["text"] for e in await conversations.transcript(neighbour.id)]
    assert len(web_texts) == 3 and "已并入工单" in web_texts[0] and "已转交" in web_texts[1]
    assert "处理结果：已更换灯泡" in web_texts[2]
    to_reporter = [r for c, r in outbound.sent if c == reporter.id]
    assert len(to_reporter) == 2 and to_reporter[-1].buttons and "处理结果：已更换灯泡" in to_reporter[-1].text
