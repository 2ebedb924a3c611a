"""Several Rasa workers: conversations spread over them and stick to one, a dead worker's conversations
move on without a message sent twice, and /healthz stays up while one worker answers."""

from __future__ import annotations

import aiohttp
import pytest

from router.adapters.rasa import RasaClient, RasaUnavailable
from router.settings import Settings
from tests.fakes.rasa_server import FakeRasa
from tests.integration.test_health import API_TOKEN, actions_server, make_client  # noqa: F401  (fixture)


@pytest.fixture
async def workers():
    fakes = [FakeRasa(), FakeRasa()]
    for f in fakes:
        await f.start()
    yield fakes
    for f in fakes:
        await f.stop()


def _senders_of(fake: FakeRasa) -> set[str]:
    return {c["sender"] for c in fake.calls}


async def test_conversations_spread_over_the_workers_and_each_stays_on_one(workers):
    a, b = workers
    async with aiohttp.ClientSession() as http:
        client = RasaClient(http, [a.url, b.url], a.token, timeout=2)
        for turn in range(3):
            for n in range(20):
                reply = await client.send(f"web:resident-{n}", f"第{turn}句", {})
                assert reply == [{"recipient_id": f"web:resident-{n}", "text": f"收到：第{turn}句"}]
    assert _senders_of(a) and _senders_of(b), "both workers take conversations"
    assert not _senders_of(a) & _senders_of(b), "a conversation's turns all go to one worker"
    assert len(a.calls) + len(b.calls) == 60


async def test_a_dead_worker_s_conversations_are_answered_by_the_other_and_nothing_is_sent_twice(workers):
    a, b = workers
    async with aiohttp.ClientSession() as http:
        client = RasaClient(http, [a.url, b.url], a.token, timeout=2)
        on_a = next(f"web:r{n}" for n in range(100) if client.workers(f"web:r{n}")[0] == a.url)
        await a.stop()  # killed: nothing listens on its port any more
        for i in range(5):
            assert await client.send(on_a, f"还在吗{i}", {}) == [{"recipient_id": on_a, "text": f"收到：还在吗{i}"}]
        assert [c["message"] for c in b.calls] == [f"还在吗{i}" for i in range(5)]
        assert (await client.parse("你好"))["intent"]["name"] == "greet"
        assert (await client.tracker_state(on_a))["sender_id"] == on_a
        await b.stop()
        with pytest.raises(RasaUnavailable):
            await client.send(on_a, "都不在了", {})


async def test_a_message_a_worker_may_have_received_is_not_sent_to_another(workers):
    a, b = workers
    async with aiohttp.ClientSession() as http:
        client = RasaClient(http, [a.url, b.url], a.token, timeout=0.3)
        sender = next(f"web:s{n}" for n in range(100) if client.workers(f"web:s{n}")[0] == a.url)
        a.delay = 1.0  # takes the message, answers too late
        with pytest.raises(RasaUnavailable):
            await client.send(sender, "我要投诉", {})
        assert [c["message"] for c in a.calls] == ["我要投诉"]
        assert b.calls == [], "a timed-out message is not replayed on the other worker"


async def test_health_stays_up_while_one_worker_answers(make_client, workers, actions_server):  # noqa: F811
    a, b = workers
    app_client = await make_client(a.url, actions_server[1], a.token, rasa_urls=(a.url, b.url))
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    try:
        body = await (await app_client.get("/healthz", headers=auth)).json()
        assert body["components"]["rasa"]["workers_up"] == 2
        await b.stop()
        resp = await app_client.get("/healthz", headers=auth)
        body = await resp.json()
        assert resp.status == 200
        assert body["components"]["rasa"]["workers_up"] == 1
        assert body["components"]["rasa"]["workers_down"] == [b.url]
        await a.stop()
        resp = await app_client.get("/healthz")
        assert resp.status == 503
        assert (await resp.json())["components"]["rasa"] == {"ok": False}
    finally:
        await app_client.close()


def test_make_run_s_workers_are_found_from_the_environment(monkeypatch):
    for name in ("RASA_URLS", "RASA_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RASA_PORT", "5105")
    monkeypatch.setenv("RASA_WORKERS", "3")
    assert Settings.from_env().rasa_workers == ("http://127.0.0.1:5105", "http://127.0.0.1:5106",
                                                "http://127.0.0.1:5107")
    monkeypatch.setenv("RASA_URLS", "http://10.0.0.5:5005, http://10.0.0.6:5005")
    assert Settings.from_env().rasa_workers == ("http://10.0.0.5:5005", "http://10.0.0.6:5005")


async def test_new_conversations_go_to_the_worker_with_the_least_in_flight(workers):
    """Ten residents start at once, every one's first message still being answered: five go to each worker
    (a hash alone often puts seven on one), and each conversation stays where it started."""
    import asyncio

    a, b = workers
    a.delay = b.delay = 0.2
    async with aiohttp.ClientSession() as http:
        client = RasaClient(http, [a.url, b.url], a.token, timeout=5)
        senders = [f"web:crowd-{n}" for n in range(10)]
        await asyncio.gather(*(client.send(s, "你好", {}) for s in senders))
        assert len(a.calls) == len(b.calls) == 5
        a.delay = b.delay = 0
        for s in senders:
            await client.send(s, "还在吗", {})
    assert len(a.calls) == len(b.calls) == 10
    assert not _senders_of(a) & _senders_of(b)


async def test_a_conversation_stays_on_its_worker_when_its_turns_reach_different_routers(
        make_client, workers, actions_server):  # noqa: F811
    """Two routers behind a load balancer that alternates between them: each resident's turns still all go
    to one Rasa worker (where the conversation is warm), because the routers share it through Redis. (Eight
    residents start at once on the first router, which spreads them by requests in flight; the second router,
    left to itself, would place each one again by a hash of its id.)"""
    import asyncio

    a, b = workers
    routers = [await make_client(a.url, actions_server[1], a.token, rasa_urls=(a.url, b.url)) for _ in range(2)]
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    residents = [f"lb-resident-{n}" for n in range(8)]

    async def say(router, session: str, text: str) -> None:
        resp = await router.post("/api/v1/channels/web/messages", headers=auth,
                                 json={"session_id": session, "text": text})
        assert resp.status == 200, await resp.text()

    a.delay = b.delay = 0.2
    await asyncio.gather(*(say(routers[0], s, "你好") for s in residents))
    a.delay = b.delay = 0
    for turn in range(1, 4):
        for session in residents:
            await say(routers[turn % 2], session, f"第{turn}句话")  # round robin: each turn reaches the other router
    assert _senders_of(a) and _senders_of(b), "both workers take conversations"
    assert not _senders_of(a) & _senders_of(b), "no conversation's turns were split between the workers"
    assert len(a.calls) + len(b.calls) == 4 * len(residents)
