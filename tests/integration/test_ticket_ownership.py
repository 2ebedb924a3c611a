"""Residents own their tickets: only the reporter sees the details of, urges, withdraws or rates a ticket.

Through ``POST /api/v1/tickets/{id}/resident`` (what the bot's actions call) against a real Redis. Each
test is a finding of the security review: a stranger who quotes an id must not rate it 满意 (and lock the
real resident out of 不满意), read an agency's note with a phone number in it, or escalate it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from router.adapters.conversations import ConversationStore

TOKEN = "api-token-for-tests"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def env(aiohttp_client, redis, make_app):
    clock = Clock()
    conversations = ConversationStore(redis)
    app = make_app(api_token=TOKEN, deps={"clock": clock})
    client = await aiohttp_client(app, headers={"Authorization": f"Bearer {TOKEN}"})
    reporter = await conversations.current("wechat", "openid-reporter")
    created = await (await client.post("/api/v1/tickets", json={
        "text": "小区路灯坏了", "channel": "wechat", "conversation_id": reporter.id, "contact_phone": "13812345678",
        "topic": {"l1": "城乡建设", "department": "城市管理和综合执法局", "needs_human_dispatch": True},
        "location": {"district": "南山区", "street": "粤海街道"}})).json()
    return client, conversations, reporter, created["id"], clock


async def ask(client, tid: str, action: str, conversation_id: str, **extra):
    resp = await client.post(f"/api/v1/tickets/{tid}/resident",
                             json={"action": action, "conversation_id": conversation_id, **extra})
    return resp.status, await resp.json()


async def resolve(client, tid: str, note: str = "已更换灯泡") -> None:
    for action, extra in (("dispatch", {}), ("accept", {}), ("resolve", {"reason": note})):
        r = await client.post(f"/api/v1/tickets/{tid}/transitions", json={"action": action, "actor": "dept:城管", **extra})
        assert r.status == 200, await r.text()


async def test_a_stranger_cannot_rate_someone_elses_ticket(env) -> None:
    client, conversations, reporter, tid, _clock = env
    await resolve(client, tid)
    stranger = await conversations.current("web", "someone-else")
    status, body = await ask(client, tid, "rate", stranger.id, rating="满意")
    assert status == 403 and body["error"]["code"] == "not_reporter"
    ticket = await (await client.get(f"/api/v1/tickets/{tid}")).json()
    assert ticket["status"] == "办结" and ticket["rating"] is None
    # the real resident's 不满意 still counts
    status, body = await ask(client, tid, "rate", reporter.id, rating="不满意")
    assert status == 200 and body["reporter"] is True
    assert body["ticket"]["status"] == "派单"  # 不满意 reopens it (重办) to the unit that handled it
    assert [h["action"] for h in body["ticket"]["history"]][-2:] == ["follow_up", "reopen"]


async def test_a_stranger_learns_only_that_it_exists_and_its_status(env) -> None:
    client, conversations, reporter, tid, _clock = env
    await resolve(client, tid, note="已处理，有问题请联系张工 13987654321")
    stranger = await conversations.current("web", "curious")
    status, body = await ask(client, tid, "status", stranger.id)
    assert status == 200 and body == {"ticket": {"id": tid, "status": "办结"}, "reporter": False}
    status, body = await ask(client, tid, "status", reporter.id)
    reasons = " ".join(h["reason"] or "" for h in body["ticket"]["history"])
    assert "已处理" in reasons and "13987654321" not in reasons and "139****4321" in reasons
    assert "138****5678" == body["ticket"]["contact"]["phone"]


async def test_a_stranger_cannot_urge_an_overdue_ticket_or_move_its_deadline(env) -> None:
    client, conversations, reporter, tid, clock = env
    before = await (await client.get(f"/api/v1/tickets/{tid}")).json()
    stranger = await conversations.current("web", "prankster")
    clock.now += timedelta(days=30)  # long overdue: the reporter's urge would be a 督办
    status, body = await ask(client, tid, "urge", stranger.id)
    assert status == 403
    after = await (await client.get(f"/api/v1/tickets/{tid}")).json()
    assert after["sla_deadline"] == before["sla_deadline"] and after["status"] == before["status"]


async def test_the_same_wechat_account_in_a_later_conversation_is_the_reporter(env) -> None:
    client, conversations, reporter, tid, _clock = env
    later = await conversations.current("wechat", "openid-reporter", now=reporter.created_at + 10 * 24 * 3600)
    assert later.id != reporter.id
    status, body = await ask(client, tid, "withdraw", later.id)
    assert status == 200 and body["ticket"]["status"] == "撤销"


async def test_the_phone_left_on_the_ticket_proves_the_reporter(env) -> None:
    client, conversations, _reporter, tid, _clock = env
    other = await conversations.current("voice", "+8613812345678/call-9")
    status, _ = await ask(client, tid, "withdraw", other.id, phones=["13900000000"])
    assert status == 403
    status, body = await ask(client, tid, "withdraw", other.id, phones=["138 1234 5678"])
    assert status == 200 and body["ticket"]["status"] == "撤销"


async def test_bad_requests_are_clear_4xx(env) -> None:
    client, _c, reporter, tid, _clock = env
    for body in ({"action": "rate", "conversation_id": reporter.id, "rating": "超级满意"},
                 {"action": "delete", "conversation_id": reporter.id},
                 {"action": "status"},
                 {"action": "status", "conversation_id": reporter.id, "phones": "138"}):
        r = await client.post(f"/api/v1/tickets/{tid}/resident", json=body)
        assert r.status == 400, body
    r = await client.post("/api/v1/tickets/SZ20990101-000001/resident",
                          json={"action": "status", "conversation_id": reporter.id})
    assert r.status == 404


async def test_the_reporters_urge_on_an_overdue_ticket_is_a_supervision(env) -> None:
    client, _conversations, reporter, tid, clock = env
    status, body = await ask(client, tid, "urge", reporter.id)
    assert status == 200 and body["ticket"]["status"] != "督办"  # in time: the clock protects them
    clock.now += timedelta(days=30)
    status, body = await ask(client, tid, "urge", reporter.id)
    assert status == 200 and body["ticket"]["status"] == "督办"
    assert body["ticket"]["history"][-1]["reason"] == "居民催办（已超时）"
