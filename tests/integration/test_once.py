"""router.adapters.once against the real Redis fixture: claim once, store, replay or say "in progress"."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from router import keys
from router.adapters.once import Once, Replay


@pytest.fixture
def once(redis) -> Once:
    return Once(redis, claim_ttl=60, poll=0.01)


async def test_a_message_id_is_claimed_once_with_its_ttl(once, redis):
    key = keys.message_seen("web", "m-1")
    assert await once.claim(key) is True
    assert await once.claim(key) is False
    assert await once.claim(keys.message_seen("web", "m-2")) is True  # another id is another claim
    assert await redis.get(key) == ""  # the claim holds the marker until an answer is stored
    assert 55 <= await redis.ttl(key) <= 60


async def test_the_stored_answer_is_replayed_with_the_answer_ttl(redis):
    once = Once(redis, claim_ttl=60, answer_ttl=3600)
    key = keys.voice_turn("call-1", "3")
    await once.claim(key)
    assert await once.store(key, json.dumps([{"verb": "hangup"}])) is True
    assert 3590 <= await redis.ttl(key) <= 3600
    replay = await once.replay(key, wait=0)
    assert replay == Replay(json.dumps([{"verb": "hangup"}])) and replay.found and not replay.in_progress


async def test_a_repeat_waits_for_the_first_delivery_s_answer(once):
    key = keys.message_seen("wechat", "m-slow")
    await once.claim(key)

    async def first_delivery() -> None:
        await asyncio.sleep(0.1)
        await once.store(key, "the answer")

    started = time.monotonic()
    replay, _ = await asyncio.gather(once.replay(key, wait=2.0), first_delivery())
    assert replay.answer == "the answer"
    assert time.monotonic() - started < 1.0  # it stopped waiting as soon as the answer was there


async def test_a_repeat_says_in_progress_when_the_wait_runs_out(once):
    key = keys.message_seen("wechat", "m-stuck")
    await once.claim(key)
    started = time.monotonic()
    replay = await once.replay(key, wait=0.1)
    assert replay == Replay(None, in_progress=True) and not replay.found
    assert 0.1 <= time.monotonic() - started < 1.0


async def test_no_claim_at_all_answers_at_once_with_nothing(once):
    started = time.monotonic()
    assert await once.replay(keys.message_seen("web", "never"), wait=5.0) == Replay(None, in_progress=False)
    assert time.monotonic() - started < 0.5


async def test_only_if_claimed_does_not_bring_an_expired_claim_back(redis):
    once = Once(redis, claim_ttl=1, answer_ttl=3600, marker=json.dumps({"s": "pending"}))
    key = keys.wechat_msgid("42")
    assert await once.store(key, json.dumps({"s": "sent"}), only_if_claimed=True) is False
    assert await redis.exists(key) == 0
    await once.claim(key)
    assert await once.store(key, json.dumps({"s": "deferred"}), only_if_claimed=True) is True
    assert await once.store(key, json.dumps({"s": "sent"}), only_if_claimed=True) is True  # outcomes move on
    assert json.loads((await once.replay(key, wait=0)).answer or "") == {"s": "sent"}
    assert await redis.ttl(key) > 1  # the outcome lives longer than the claim


async def test_a_custom_marker_is_in_progress_and_an_empty_answer_is_an_answer(redis):
    marker = json.dumps({"s": "pending"})
    once = Once(redis, claim_ttl=60, marker=marker, poll=0.01)
    key = keys.wechat_event("oOpenId", "1700000000")
    await once.claim(key)
    assert await redis.get(key) == marker
    assert (await once.replay(key, wait=0.05)).in_progress
    await once.store(key, "")
    assert await once.replay(key, wait=0) == Replay("")


async def test_the_marker_itself_cannot_be_stored_as_an_answer(once):
    with pytest.raises(ValueError):
        await once.store(keys.message_seen("web", "m-3"), "")


async def test_a_client_answering_bytes_works_the_same(redis_url):
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url)  # decode_responses=False: GET answers bytes
    try:
        once = Once(client, claim_ttl=60, poll=0.01)
        key = keys.message_seen("voice", "call-b:1")
        await client.delete(key)
        assert await once.claim(key)
        assert (await once.replay(key, wait=0.02)).in_progress  # b"" is the marker too
        await once.store(key, "答复")
        assert (await once.replay(key, wait=0)).answer == "答复"
    finally:
        await client.aclose()


async def test_two_instances_racing_for_one_delivery_claim_it_once(redis):
    instances = [Once(redis, claim_ttl=60) for _ in range(8)]
    key = keys.message_seen("wechat", "m-race")
    results = await asyncio.gather(*(o.claim(key) for o in instances))
    assert results.count(True) == 1
