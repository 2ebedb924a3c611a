"""Fixtures of the console's own browser test: the console on a real TCP port (its own event loop in a
background thread) over the session's private Redis, with a fake channel sender recording deliveries."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.conftest import RedisServer, free_port

T = TypeVar("T")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@dataclass
class RecordingSender:
    sent: list[tuple[str, Any]] = field(default_factory=list)

    async def send(self, conversation: Any, reply: Any) -> None:
        self.sent.append((conversation.id, reply))


@dataclass
class ConsoleServer:
    base_url: str
    loop: asyncio.AbstractEventLoop
    redis: Any  # redis.asyncio client bound to ``loop``
    sender: RecordingSender

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Run a coroutine on the server's loop (where its Redis client lives) and wait for it."""
        fut: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return fut.result(timeout)


@pytest.fixture
def console_server(redis_server: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                   ) -> Iterator[ConsoleServer]:
    import redis.asyncio as aioredis
    from aiohttp import web

    from router.app import Deps, create_app
    from router.services.outbound import Outbound
    from router.settings import Settings
    from tests.conftest import shared_domain

    monkeypatch.delenv("VAR_DIR", raising=False)
    if redis_server.proc is None:
        redis_server.start()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="console-server", daemon=True)
    thread.start()
    port = free_port()
    sender = RecordingSender()

    async def start() -> tuple[Any, Any]:
        redis = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
        await redis.flushdb()
        # the router as create_app builds it (the console at /console), deliveries recorded instead of sent
        outbound = Outbound()
        app = create_app(Settings(api_token="browser-test", var_dir=tmp_path),
                         Deps(redis=redis, domain=shared_domain(), outbound=outbound), with_scheduler=False)
        for channel in ("web", "wechat", "voice"):
            outbound.register(channel, sender)
        runner = web.AppRunner(app, shutdown_timeout=5)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return runner, redis

    runner, redis = asyncio.run_coroutine_threadsafe(start(), loop).result(30)
    try:
        yield ConsoleServer(f"http://127.0.0.1:{port}", loop, redis, sender)
    finally:
        async def stop() -> None:
            await runner.cleanup()
            await redis.aclose()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
