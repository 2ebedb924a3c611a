"""/healthz is 200 only when Redis, Rasa and the action server all answer; it says which one does not
(and, to holders of the internal token, why)."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tests.fakes.rasa_server import FakeRasa

API_TOKEN = "health-test-token"


async def _ok(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@pytest.fixture
async def actions_server():
    app = web.Application()
    app.router.add_get("/health", _ok)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield runner, f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    await runner.cleanup()


@pytest.fixture
async def make_client(make_app):
    clients: list[TestClient] = []

    async def make(rasa_url: str, actions_url: str, token: str, *, rasa_urls: tuple[str, ...] = ()) -> TestClient:
        app = make_app(rasa_url=rasa_url, rasa_urls=rasa_urls, rasa_token=token, actions_url=actions_url,
                       api_token=API_TOKEN)
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:  # a test that failed half-way did not close its own
        await client.close()


async def test_all_components_answer(make_client, actions_server):
    rasa = FakeRasa()
    await rasa.start()
    client = await make_client(rasa.url, actions_server[1], rasa.token)
    resp = await client.get("/healthz")
    body = await resp.json()
    assert resp.status == 200, body
    assert {k: v["ok"] for k, v in body["components"].items()} == {
        "redis": True, "rasa": True, "actions": True, "router": True}
    await client.close()
    await rasa.stop()


async def test_dead_rasa_makes_it_503_and_says_so(make_client, actions_server):
    rasa = FakeRasa()
    await rasa.start()
    url = rasa.url
    await rasa.stop()  # nothing listens there any more
    client = await make_client(url, actions_server[1], rasa.token)
    resp = await client.get("/healthz", headers={"Authorization": f"Bearer {API_TOKEN}"})
    body = await resp.json()
    assert resp.status == 503
    assert body["components"]["rasa"]["ok"] is False and body["components"]["rasa"]["error"]
    assert body["components"]["actions"]["ok"] is True
    await client.close()
