"""RedisTicketStore against a real redis-server: ids, idempotency, atomic moves, indexes, duplicates.

The tests that ask for ``store`` run twice: against Redis and against the in-memory store the services'
unit tests use (tests/fakes/stores.py), so the fake keeps the real store's behaviour. Those that look at
Redis itself (keys, races between routers) ask for ``redis_store``."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from router import keys
from router.adapters.ticket_store import (
    InvalidDraft,
    PreconditionFailed,
    RedisTicketStore,
    TicketNotFound,
)
from router.domain.tickets import CST, Action, IllegalTransition, Status, TransitionDataError
from router.services.tickets import TicketService
from tests.fakes.stores import InMemoryTicketStore


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **kw: float) -> None:
        self.at += timedelta(**kw)


T0 = datetime(2026, 11, 25, 9, 30, tzinfo=CST)


def draft(text: str = "科技园路的路灯坏了好几天都不亮", **kw) -> dict:
    d = {
        "text": text,
        "channel": "web",
        "conversation_id": "C0123456789abcdef",
        "address": "科技园路1号",
        "location": {"district": "南山区", "street": "粤海街道", "community": "科技园社区", "grid": "G01"},
        "topic": {"l1": "城乡建设", "l2": "市政设施", "l3": None, "department": "区城管局", "confidence": 0.9},
        "contact_phone": "13812345678",
        "contact_name": "王小明",
    }
    d.update(kw)
    return d


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def redis_store(redis, clock) -> RedisTicketStore:
    return RedisTicketStore(redis, clock=clock)


@pytest.fixture(params=["redis", "memory"])
def store(request, clock):
    if request.param == "memory":
        return InMemoryTicketStore(clock=clock)
    return request.getfixturevalue("redis_store")


async def test_ids_follow_the_beijing_day_and_daily_sequence(store, clock) -> None:
    a = await store.create(draft("甲小区电梯坏了"), actor="bot")
    b = await store.create(draft("乙小区垃圾没人收", topic={"l1": "环境保护"}), actor="bot")
    assert (a.id, b.id) == ("SZ20261125-000001", "SZ20261125-000002")
    clock.at = datetime(2026, 11, 25, 16, 30, tzinfo=CST) + timedelta(hours=8)  # 00:30 next day
    c = await store.create(draft("丙路口红绿灯不亮", location={"district": "福田区"}), actor="bot")
    assert c.id == "SZ20261126-000001"
    got = await store.get(a.id)
    assert got == a and got.status is Status.RECEIVED
    assert got.sla_deadline == T0 + timedelta(days=7)
    assert got.history[0].actor == "bot"


async def test_idempotency_key_returns_the_same_ticket_even_concurrently(redis_store, redis) -> None:
    results = await asyncio.gather(*[redis_store.create(draft(), idempotency_key="req-1") for _ in range(8)])
    assert len({t.id for t in results}) == 1
    assert await redis.zcard(keys.ticket_index("all", "all")) == 1
    again = await redis_store.create(draft(), idempotency_key="req-1")
    assert again.id == results[0].id


async def test_bad_drafts_are_rejected_with_a_reason(store) -> None:
    for bad in ({}, {"text": "  "}, draft(channel="fax"), draft(urgency="soon"), draft(text="字" * 2001),
                draft(contact_phone="call me"), "not a dict"):
        with pytest.raises(InvalidDraft):
            await store.create(bad)  # type: ignore[arg-type]


async def test_get_unknown_and_transition_unknown(store) -> None:
    assert await store.get("SZ20261125-999999") is None
    with pytest.raises(TicketNotFound):
        await store.transition("SZ20261125-999999", Action.DISPATCH, "op")


async def test_illegal_moves_leave_every_key_untouched(redis_store, redis) -> None:
    t = await redis_store.create(draft(topic={"l1": "城乡建设"}))  # no department anywhere
    snapshot = {k: await redis.dump(k) for k in sorted(await redis.keys("*"))}
    with pytest.raises(IllegalTransition):
        await redis_store.transition(t.id, Action.RESOLVE, "op")
    with pytest.raises(TransitionDataError):
        await redis_store.transition(t.id, Action.DISPATCH, "op")
    assert {k: await redis.dump(k) for k in sorted(await redis.keys("*"))} == snapshot


async def test_full_lifecycle_history_indexes_and_sla(redis_store, redis, clock) -> None:
    t = await redis_store.create(draft())
    assert await redis.zscore(keys.sla_schedule(), t.id) == t.sla_deadline.timestamp()
    clock.advance(minutes=5)
    t = await redis_store.transition(t.id, Action.DISPATCH, "dispatcher")
    assert await redis.xlen(keys.dispatch_stream("区城管局")) == 1
    clock.advance(hours=1)
    t = await redis_store.transition(t.id, "accept", "城管-张")
    clock.advance(hours=20)
    t = await redis_store.transition(t.id, "resolve", "城管-张", reason="已更换灯泡")
    assert await redis.zscore(keys.sla_schedule(), t.id) is None  # clock stops at 办结
    t = await redis_store.transition(t.id, "follow_up", "回访员", rating="满意")
    t = await redis_store.transition(t.id, "close", "回访员")
    stored = await redis_store.get(t.id)
    assert stored == t
    assert [(h.from_ and h.from_.value, h.to.value, h.actor) for h in stored.history] == [
        (None, "受理", "system"), ("受理", "派单", "dispatcher"), ("派单", "处置", "城管-张"),
        ("处置", "办结", "城管-张"), ("办结", "回访", "回访员"), ("回访", "归档", "回访员"),
    ]
    assert stored.history[3].reason == "已更换灯泡"
    assert [x.id for x in await redis_store.search(status="归档")] == [t.id]
    assert await redis_store.search(status="受理") == []
    assert await redis.zscore(keys.ticket_index("status", "受理"), t.id) is None


async def test_concurrent_moves_only_one_wins(store) -> None:
    t = await store.create(draft())
    t = await store.transition(t.id, Action.DISPATCH, "op")
    results = await asyncio.gather(
        *[store.transition(t.id, Action.ACCEPT, f"worker-{i}") for i in range(6)], return_exceptions=True
    )
    wins = [r for r in results if not isinstance(r, Exception)]
    assert len(wins) == 1
    assert all(isinstance(r, IllegalTransition) for r in results if isinstance(r, Exception))
    final = await store.get(t.id)
    assert [h.action for h in final.history].count("accept") == 1


async def test_expected_version_guards_stale_decisions(store) -> None:
    t = await store.create(draft())
    await store.transition(t.id, Action.DISPATCH, "op")
    with pytest.raises(PreconditionFailed):
        await store.transition(t.id, Action.ACCEPT, "w", expected_version=t.version)


async def test_list_filters_newest_first_and_paging(store, clock) -> None:
    made = []
    for i, (district, dept) in enumerate(
        [("南山区", "区城管局"), ("福田区", "区城管局"), ("南山区", "区水务局"), ("南山区", "区城管局")]
    ):
        clock.advance(minutes=1)
        made.append(await store.create(draft(
            f"第{i}件不同的事情{'甲乙丙丁'[i]}" * 3,
            location={"district": district, "street": f"街道{i}", "community": f"社区{i}"},
            topic={"l1": "城乡建设", "department": dept},
        )))
    ids = [t.id for t in made]
    assert [t.id for t in await store.search()] == ids[::-1]
    assert [t.id for t in await store.search(district="南山区", department="区城管局")] == [ids[3], ids[0]]
    assert [t.id for t in await store.search(district="南山区", limit=1, offset=1)] == [ids[2]]
    await store.transition(ids[0], Action.DISPATCH, "op", department="区住建局")
    assert [t.id for t in await store.search(department="区城管局", district="南山区")] == [ids[3]]
    assert [t.id for t in await store.search(department="区住建局")] == [ids[0]]
    assert [t.id for t in await store.search(status="派单", district="南山区")] == [ids[0]]


async def test_duplicate_report_is_merged_into_the_earlier_ticket(store, clock) -> None:
    first = await store.create(draft("科技园路的路灯坏了好几天都不亮"))
    clock.advance(hours=3)
    second = await store.create(draft("科技园路路灯好几天都不亮了", contact_phone="13900000000"))
    assert second.id != first.id
    assert second.status is Status.MERGED and second.merged_into == first.id
    earlier = await store.get(first.id)
    assert earlier.reporters == 2 and earlier.duplicates == (second.id,)
    # different problem at the same place: a new ticket of its own
    other = await store.create(draft("科技园社区门口的井盖丢了很危险"))
    assert other.status is Status.RECEIVED
    # same text but far outside the window: a new ticket
    clock.advance(days=8)
    late = await store.create(draft("科技园路的路灯坏了好几天都不亮"))
    assert late.status is Status.RECEIVED


async def test_same_problem_reported_at_the_same_moment_is_one_ticket(redis_store, monkeypatch) -> None:
    """Residents report the same dark lamp at the same moment: one ticket to handle, every reporter
    counted. Each create is held right after it looked for earlier reports until all have looked, so
    every one of them first sees no earlier ticket — the race a busy evening produces."""
    n = 4
    looked = 0
    all_looked = asyncio.Event()
    find = RedisTicketStore._duplicate_candidates

    async def held(self, ticket, now):
        nonlocal looked
        found = await find(self, ticket, now)
        if not all_looked.is_set():
            looked += 1
            if looked == n:
                all_looked.set()
            await asyncio.wait_for(all_looked.wait(), 5)
        return found

    monkeypatch.setattr(RedisTicketStore, "_duplicate_candidates", held)
    texts = [f"科技园路的路灯坏了好几天都不亮{'了' * i}" for i in range(n)]
    created = await asyncio.gather(*[redis_store.create(draft(t, contact_phone=f"1381234567{i}"))
                                     for i, t in enumerate(texts)])
    assert len({t.id for t in created}) == n
    open_ones = [t for t in created if t.status is Status.RECEIVED]
    assert len(open_ones) == 1
    head = await redis_store.get(open_ones[0].id)
    assert head.reporters == n
    assert sorted(head.duplicates) == sorted(t.id for t in created if t.id != head.id)
    assert all(t.merged_into == head.id for t in created if t.id != head.id)
    assert [t.id for t in await redis_store.search(status="受理")] == [head.id]


async def test_a_burst_of_reports_needs_one_connection_each(redis, redis_url, clock) -> None:
    """As many simultaneous reports as the pool has connections all go through: a create never holds
    one connection while waiting for a second (that starved the pool at 32 concurrent creates).
    (``redis`` is asked for only to start from an empty database.)"""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url, decode_responses=True, max_connections=6)
    try:
        store = RedisTicketStore(client, clock=clock)
        created = await asyncio.gather(*[store.create(draft(f"科技园路的路灯坏了好几天都不亮{'了' * i}"))
                                         for i in range(6)])
        assert sum(t.status is Status.RECEIVED for t in created) == 1
        assert (await store.get(next(t.id for t in created if t.status is Status.RECEIVED))).reporters == 6
    finally:
        await client.aclose()


async def test_urgent_report_is_not_buried_under_a_general_one(store) -> None:
    await store.create(draft("科技园路的路灯坏了好几天都不亮"))
    urgent = await store.create(draft("科技园路的路灯坏了好几天都不亮", urgency="life_property"))
    assert urgent.status is Status.RECEIVED


async def test_manual_merge_counts_the_reporter_on_the_target(store) -> None:
    a = await store.create(draft("甲小区水管爆了"))
    b = await store.create(draft("乙楼下面漏水严重", location={"district": "福田区"}))
    merged = await store.transition(b.id, Action.MERGE, "op", merged_into=a.id)
    assert merged.status is Status.MERGED
    assert (await store.get(a.id)).reporters == 2
    with pytest.raises(TicketNotFound):
        c = await store.create(draft("丙处路面塌陷", location={"district": "罗湖区"}))
        await store.transition(c.id, Action.MERGE, "op", merged_into="SZ20261101-000001")
    assert (await store.get(c.id)).status is Status.RECEIVED


# ------------------------------------------------------------------------------ SLA scheduler


async def test_overdue_ticket_is_escalated_once_per_deadline(redis_store, clock, redis_url) -> None:
    import redis.asyncio as aioredis

    from router.services.sla import SlaScheduler

    urgent = await redis_store.create(draft("燃气管道泄漏闻到很大气味", urgency="life_property",
                                      location={"district": "南山区", "street": "招商街道"}))
    calm = await redis_store.create(draft("公园长椅坏了", location={"district": "福田区"}))
    await redis_store.transition(urgent.id, Action.DISPATCH, "op")
    sla = SlaScheduler(TicketService(redis_store))
    assert await sla.tick(T0 + timedelta(hours=1)) == []

    # two routers (own clients, own scheduler objects) tick at the same overdue moment
    other_client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        other = SlaScheduler(TicketService(RedisTicketStore(other_client, clock=clock)))
        now = T0 + timedelta(hours=2, minutes=1)
        a, b = await asyncio.gather(sla.tick(now), other.tick(now))
    finally:
        await other_client.aclose()
    assert [t.id for t in a + b] == [urgent.id]
    t = await redis_store.get(urgent.id)
    assert t.status is Status.ESCALATED and t.escalation_level == "街道"
    assert t.history[-1].actor == "system:sla" and t.history[-1].reason
    assert t.sla_deadline == now + timedelta(hours=2)
    # a restarted scheduler (fresh object) does nothing more until the new deadline passes
    assert await SlaScheduler(TicketService(redis_store)).tick(now + timedelta(minutes=30)) == []
    again = await SlaScheduler(TicketService(redis_store)).tick(now + timedelta(hours=2, seconds=1))
    assert [x.escalation_level for x in again] == ["区"]
    assert (await redis_store.get(calm.id)).status is Status.RECEIVED


async def test_resolved_ticket_never_escalates(store) -> None:
    from router.services.sla import SlaScheduler

    t = await store.create(draft(urgency="life_property"))
    for action in ("dispatch", "accept", "resolve"):
        await store.transition(t.id, action, "op")
    assert await SlaScheduler(TicketService(store)).tick(T0 + timedelta(days=30)) == []
    assert (await store.get(t.id)).status is Status.RESOLVED


async def test_stale_schedule_entry_is_repaired_not_escalated(redis_store, redis) -> None:
    from router.services.sla import SlaScheduler

    t = await redis_store.create(draft(urgency="life_property"))
    await redis_store.transition(t.id, "withdraw", "resident")
    await redis.zadd(keys.sla_schedule(), {t.id: T0.timestamp()})  # left behind by a crash
    assert await SlaScheduler(TicketService(redis_store)).tick(T0 + timedelta(hours=3)) == []
    assert await redis.zscore(keys.sla_schedule(), t.id) is None


async def test_run_sla_scheduler_escalates_in_the_background(store, clock) -> None:
    from router.services.sla import run_sla_scheduler

    t = await store.create(draft(urgency="life_property"))
    clock.advance(hours=3)
    task = asyncio.create_task(run_sla_scheduler(TicketService(store), interval=0.01, clock=clock))
    try:
        for _ in range(200):
            if (await store.get(t.id)).status is Status.ESCALATED:
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert (await store.get(t.id)).status is Status.ESCALATED


# ------------------------------------------------------------------------------ reports by period


async def test_report_pages_through_a_period_without_losing_or_repeating_tickets(store, clock) -> None:
    """A report reads the period's tickets a few at a time; many created in the same second must each
    count once, and tickets outside the period are not read at all."""
    from router.services.reports import build_report, compute_report

    clock.at = T0 - timedelta(days=2)
    before = await store.create(draft("上个月的井盖丢了", location={"district": "福田区"}))
    clock.at = T0
    same_second = [await store.create(draft(f"第{i}号楼的垃圾站很臭没人清理{i}",
                                            location={"district": "南山区" if i % 2 else "罗湖区"},
                                            topic={"l1": "环境保护", "department": f"部门{i % 3}"}))
                   for i in range(7)]
    clock.at = T0 + timedelta(days=3)
    after = await store.create(draft("下周的路灯问题", location={"district": "宝安区"}))

    pages = [p async for p in store.created_between(T0, T0 + timedelta(days=1), batch=3)]
    assert [len(p) for p in pages] == [3, 3, 1]
    assert sorted(t.id for p in pages for t in p) == sorted(t.id for t in same_second)

    everything = [before, *same_second, after]
    for since, until in ((None, None), (T0, T0 + timedelta(days=1)), (T0 - timedelta(days=3), T0)):
        paged = await build_report(store, since=since, until=until, batch=2)
        assert paged == compute_report(everything, since=since, until=until)
    got = await build_report(store, since=T0, until=T0 + timedelta(days=1), batch=2)
    assert sum(r.volume for r in got["district"]) == 7
    assert {r.group for r in got["district"]} == {"南山区", "罗湖区"}
