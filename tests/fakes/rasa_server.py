"""A real HTTP server standing in for Rasa: the router's channel webhook and /model/parse.

Behaviour is scripted per test: ``responder(sender, text, metadata) -> list[dict]``. It records every
call, checks the X-Router-Token header like the real input channel, and can be made slow or down.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web

__all__ = ["FakeRasa"]


class FakeRasa:
    def __init__(self, token: str = "rasa-secret") -> None:
        self.token = token
        self.calls: list[dict[str, Any]] = []
        self.delay = 0.0
        self.down = False
        self.responder: Callable[[str, str, dict[str, Any]], list[dict[str, Any]]] = (
            lambda sender, text, meta: [{"recipient_id": sender, "text": f"收到：{text}"}]
        )
        self.intent = {"name": "greet", "confidence": 0.99}
        self.slots: dict[str, Any] = {}
        self.active_loop: dict[str, Any] = {}
        self.injected: dict[str, list[dict[str, Any]]] = {}
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def _webhook(self, request: web.Request) -> web.Response:
        if request.headers.get("X-Router-Token") != self.token:
            return web.json_response({"error": "unauthorized"}, status=401)
        if self.down:
            return web.json_response({"error": "down"}, status=503)
        body = await request.json()
        self.calls.append(body)
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.json_response(self.responder(body["sender"], body["message"], body.get("metadata") or {}))

    async def _parse(self, request: web.Request) -> web.Response:
        if request.query.get("token") != self.token:
            return web.json_response({"error": "unauthorized"}, status=401)
        body = await request.json()
        return web.json_response({"text": body["text"], "intent": self.intent, "entities": []})

    async def _tracker(self, request: web.Request) -> web.Response:
        if request.query.get("token") != self.token:
            return web.json_response({"error": "unauthorized"}, status=401)
        return web.json_response({"sender_id": request.match_info["sender"], "slots": self.slots,
                                  "active_loop": self.active_loop})

    async def _events(self, request: web.Request) -> web.Response:
        if request.query.get("token") != self.token:
            return web.json_response({"error": "unauthorized"}, status=401)
        self.injected.setdefault(request.match_info["sender"], []).extend(await request.json())
        return web.json_response({"sender_id": request.match_info["sender"]})

    async def _status(self, request: web.Request) -> web.Response:
        return web.json_response({"model_id": "fake", "model_file": "fake.tar.gz", "num_active_training_jobs": 0})

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/webhooks/router/webhook", self._webhook)
        app.router.add_post("/model/parse", self._parse)
        app.router.add_get("/status", self._status)
        app.router.add_get("/conversations/{sender}/tracker", self._tracker)
        app.router.add_post("/conversations/{sender}/tracker/events", self._events)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
