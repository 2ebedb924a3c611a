"""Dispatch streams: a department's workers get each dispatched ticket once, even when a worker dies."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from router import keys
from router.adapters.conversations import ConversationStore
from router.adapters.dispatch import Dispatcher, StaleClaim
from router.adapters.ticket_store import RedisTicketStore
from router.domain.tickets import Action, Status
from router.services.tickets import TicketService
from tests.fakes.stores import RecordingOutbound

ROOT = Path(__file__).resolve().parents[2]
DEPT = "区城管局"

# A department worker in its own process. mode "before": dies holding a claimed entry before any move;
# mode "after": dies after the accept committed but before XACK.
WORKER = textwrap.dedent(
    """
    import asyncio, sys, time
    import redis.asyncio as aioredis
    from router.adapters.dispatch import Dispatcher
    from router.adapters.ticket_store import RedisTicketStore
    from router.services.tickets import TicketService

    url, dept, mode = sys.argv[1:4]

    class Dying(Dispatcher):
        async def _ack(self, department, entry_ids):
            if mode == "after":
                print("committed", flush=True)
                time.sleep(3600)  # SIGKILL arrives here: committed, never acknowledged
            await super()._ack(department, entry_ids)

    async def main():
        r = aioredis.Redis.from_url(url, decode_responses=True)
        d = Dying(r, TicketService(RedisTicketStore(r)))
        claims = await d.claim(dept, "doomed", 1)
        print("claimed", claims[0].entry_id, claims[0].ticket_id, flush=True)
        if mode == "before":
            time.sleep(3600)
        await d.accept(claims[0], "doomed")

    asyncio.run(main())
    """
)


def draft(text: str, community: str) -> dict:
    return {
        "text": text, "channel": "web",
        "location": {"district": "南山区", "street": "粤海街道", "community": community},
        "topic": {"l1": "城乡建设", "l2": "市政设施", "department": DEPT},
    }


@pytest.fixture
def store(redis) -> RedisTicketStore:
    return RedisTicketStore(redis)


async def dispatched(store: RedisTicketStore, text: str = "路灯不亮", community: str = "科技园社区") -> str:
    t = await store.create(draft(text, community))
    await store.transition(t.id, Action.DISPATCH, "dispatcher")
    return t.id


async def test_dispatch_reaches_the_department_once_and_accept_acks(redis, store) -> None:
    d = Dispatcher(redis, TicketService(store))
    tid = await dispatched(store)
    claims = await d.claim(DEPT, "w1", 10)
    assert [c.ticket_id for c in claims] == [tid]
    assert await d.claim(DEPT, "w2", 10) == []  # delivered to one worker only
    assert await d.pending_count(DEPT) == 1
    ticket = await d.accept(claims[0], "城管-张")
    assert ticket.status is Status.IN_PROGRESS
    assert await d.pending_count(DEPT) == 0
    done = await d.resolve(tid, "城管-张", reason="已修复")
    assert done.status is Status.RESOLVED


async def test_a_department_resolving_its_work_asks_the_resident_for_a_rating(redis, store) -> None:
    """办结 from a department's queue is a move like any other: the resident is asked on their channel."""
    conversations = ConversationStore(redis)
    conv = await conversations.current("wechat", "openid-9")
    outbound = RecordingOutbound()
    d = Dispatcher(redis, TicketService(store, conversations=conversations, outbound=outbound))
    t = await store.create({**draft("路灯不亮", "科技园社区"), "conversation_id": conv.id, "channel": "wechat"})
    await store.transition(t.id, Action.DISPATCH, "dispatcher")
    [claim] = await d.claim(DEPT, "w1", 10)
    await d.accept(claim, "城管-张")
    assert outbound.sent == []
    await d.resolve(t.id, "城管-张", reason="已更换灯泡")
    [(conv_id, reply)] = outbound.sent
    assert conv_id == conv.id and t.id in reply.text and len(reply.buttons) == 3


async def test_return_goes_back_to_dispatch_and_redispatch_reaches_the_new_department(redis, store) -> None:
    d = Dispatcher(redis, TicketService(store))
    tid = await dispatched(store)
    [claim] = await d.claim(DEPT, "w1", 10)
    back = await d.return_ticket(claim, "城管-张", "属于供电局职责")
    assert back.status is Status.RETURNED and back.history[-1].reason == "属于供电局职责"
    assert await d.pending_count(DEPT) == 0
    assert [t.id for t in await store.search(status="退单")] == [tid]
    await store.transition(tid, Action.DISPATCH, "dispatcher", department="供电局")
    [c2] = await d.claim("供电局", "p1", 10)
    assert c2.ticket_id == tid
    assert await d.claim(DEPT, "w1", 10) == []


async def test_withdrawn_ticket_is_never_handed_out(redis, store) -> None:
    d = Dispatcher(redis, TicketService(store))
    tid = await dispatched(store)
    await store.transition(tid, Action.WITHDRAW, "resident")
    assert await d.claim(DEPT, "w1", 10) == []
    assert await d.pending_count(DEPT) == 0


async def test_escalation_keeps_the_work_item_live(redis, store) -> None:
    d = Dispatcher(redis, TicketService(store))
    tid = await dispatched(store)
    [claim] = await d.claim(DEPT, "w1", 10)
    await store.transition(tid, Action.ESCALATE, "sla")
    assert (await d.accept(claim, "城管-张")).status is Status.IN_PROGRESS


async def test_second_accept_of_the_same_claim_is_stale(redis, store) -> None:
    d = Dispatcher(redis, TicketService(store))
    await dispatched(store)
    [claim] = await d.claim(DEPT, "w1", 10)
    await d.accept(claim, "a")
    with pytest.raises(StaleClaim):
        await d.accept(claim, "b")


def spawn(redis_url: str, mode: str) -> tuple[subprocess.Popen[str], list[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, redis_url, DEPT, mode],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    lines = [proc.stdout.readline().split()]
    if mode == "after":
        lines.append(proc.stdout.readline().split())
    return proc, lines  # type: ignore[return-value]


def kill(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    if proc.stdout is not None:
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.parametrize("mode", ["before", "after"])
async def test_worker_killed_mid_dispatch_entry_is_reclaimed_and_handled_exactly_once(
    redis, redis_url, store, mode
) -> None:
    tid = await dispatched(store)
    other = await dispatched(store, "井盖丢失", "大冲社区")
    proc, lines = await asyncio.to_thread(spawn, redis_url, mode)
    try:
        assert lines[0][0] == "claimed" and lines[0][2] == tid
        if mode == "after":
            assert lines[1] == ["committed"]
    finally:
        kill(proc)
    assert (await store.get(tid)).status is (Status.IN_PROGRESS if mode == "after" else Status.DISPATCHED)

    rescuer = Dispatcher(redis, TicketService(store), min_idle_ms=200)
    first = await rescuer.claim(DEPT, "rescuer", 10)
    # the dead worker's entry is not yet idle long enough: only the untouched ticket comes out
    assert [c.ticket_id for c in first] == [other]
    await rescuer.accept(first[0], "rescuer")
    await asyncio.sleep(0.3)
    second = await rescuer.claim(DEPT, "rescuer", 10)
    if mode == "before":
        assert [c.ticket_id for c in second] == [tid] and second[0].delivery_count == 2
        await rescuer.accept(second[0], "rescuer")
    else:
        assert second == []  # committed by the dead worker: acknowledged, not handed out again
    assert await rescuer.pending_count(DEPT) == 0
    assert await rescuer.claim(DEPT, "rescuer", 10) == []
    final = await store.get(tid)
    assert final.status is Status.IN_PROGRESS
    accepts = [h for h in final.history if h.action == "accept"]
    assert len(accepts) == 1
    assert accepts[0].actor == ("doomed" if mode == "after" else "rescuer")
    assert await redis.xlen(keys.dispatch_stream(DEPT)) == 2
