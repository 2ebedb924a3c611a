"""The router behind Redis Sentinel (deploy/): it finds the primary, and when the primary is killed it
follows the failover to the replica without losing what was acknowledged before."""

from __future__ import annotations

import asyncio

import pytest

from router.app import close_redis, connect_redis
from tests.sentinel import SentinelSet


@pytest.fixture
def sentinel_set():
    s = SentinelSet().start()
    yield s
    s.stop()


async def test_the_router_s_redis_follows_a_failover(sentinel_set: SentinelSet):
    url = f"redis://:{sentinel_set.password}@ignored:1/0"  # with sentinels only the password and db count
    client = connect_redis(url, sentinels=sentinel_set.sentinels, sentinel_service="rsa")
    try:
        for i in range(50):
            await client.set(f"{{t}}:ack:{i}", "工单")
        await client.execute_command("WAIT", 1, 2000)  # acknowledged by the replica too
        old = sentinel_set.kill_primary()
        # A write issued during the failover waits for the new primary instead of failing.
        await asyncio.wait_for(client.set("{t}:during", "失败切换中"), timeout=30)
        new = sentinel_set.wait_failover(old)
        assert new != old
        assert [await client.get(f"{{t}}:ack:{i}") for i in range(50)] == ["工单"] * 50
        assert await client.get("{t}:during") == "失败切换中"
        assert (await client.execute_command("ROLE"))[0] == "master"
    finally:
        await close_redis(client)
