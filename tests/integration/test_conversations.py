"""Conversation state on a real Redis: atomic moves, queue order, idle expiry, transcripts."""

from __future__ import annotations

import asyncio

import pytest

from router.adapters.conversations import (
    ConversationNotFound,
    ConversationState,
    ConversationStore,
    IllegalConversationMove,
)


async def test_same_resident_keeps_one_conversation_until_idle(redis):
    store = ConversationStore(redis, idle_seconds=60)
    a = await store.current("wechat", "openid-1", now=1000.0)
    await store.touch(a.id, now=1030.0)
    b = await store.current("wechat", "openid-1", now=1080.0)
    assert b.id == a.id
    c = await store.current("wechat", "openid-1", now=1200.0)  # 170 s of silence: a new session
    assert c.id != a.id
    other = await store.current("wechat", "openid-2", now=1200.0)
    assert other.id not in (a.id, c.id)


async def test_waiting_resident_is_not_cut_off_by_the_idle_timer(redis):
    store = ConversationStore(redis, idle_seconds=60)
    conv = await store.current("web", "s1", now=1000.0)
    await store.move(conv.id, "handoff", reason="requested", now=1000.0)
    again = await store.current("web", "s1", now=5000.0)
    assert again.id == conv.id and again.state is ConversationState.QUEUED


async def test_only_one_operator_can_claim(redis):
    store = ConversationStore(redis)
    conv = await store.current("web", "s1")
    await store.move(conv.id, "handoff", reason="requested")
    results = await asyncio.gather(store.move(conv.id, "claim", operator="op1"),
                                   store.move(conv.id, "claim", operator="op2"), return_exceptions=True)
    ok = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, IllegalConversationMove)]
    assert len(ok) == 1 and len(refused) == 1
    stored = await store.require(conv.id)
    assert stored.state is ConversationState.HUMAN and stored.operator == ok[0].operator
    assert await store.queued() == []


async def test_illegal_move_changes_nothing(redis):
    store = ConversationStore(redis)
    conv = await store.current("web", "s1")
    before = await redis.hgetall(f"rsa:conv:{{{conv.id}}}")
    with pytest.raises(IllegalConversationMove):
        await store.move(conv.id, "claim", operator="op1")  # nobody asked for a person
    assert await redis.hgetall(f"rsa:conv:{{{conv.id}}}") == before
    with pytest.raises(ConversationNotFound):
        await store.move("Cnope", "handoff")


async def test_queue_puts_urgent_first_then_longest_waiting(redis):
    store = ConversationStore(redis)
    ids = []
    for i, urgent in enumerate([False, False, True]):
        conv = await store.current("web", f"s{i}")
        await store.move(conv.id, "handoff", reason="r", urgent=urgent, now=1000.0 + i)
        ids.append(conv.id)
    assert [c.id for c in await store.queued()] == [ids[2], ids[0], ids[1]]


async def test_closed_conversation_starts_fresh_and_transcript_is_kept(redis):
    store = ConversationStore(redis)
    conv = await store.current("web", "s1")
    await store.append(conv.id, "resident", "路灯坏了")
    await store.append(conv.id, "bot", "请问在哪里？", buttons=[{"title": "跳过", "payload": "/skip"}])
    await store.move(conv.id, "close")
    nxt = await store.current("web", "s1")
    assert nxt.id != conv.id
    entries = await store.transcript(conv.id)
    assert [e["author"] for e in entries] == ["resident", "bot"]
    assert entries[1]["buttons"][0]["payload"] == "/skip"
