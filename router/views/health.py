"""``GET /healthz``: 200 only when Redis, Rasa and the action server all answer (contract item 5)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
from aiohttp import web

from router.appkeys import OPENAPI_PATHS, REDIS, SETTINGS
from router.views.clients import HTTP

__all__ = ["setup_routes"]

_TIMEOUT = aiohttp.ClientTimeout(total=3)


async def _timed(coro: Any) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        detail = await asyncio.wait_for(coro, timeout=3.5)
        return {"ok": True, "latency_ms": round((time.perf_counter() - start) * 1000, 1), **(detail or {})}
    except Exception as exc:  # any failure means "not healthy", with the reason shown
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}


async def _redis(app: web.Application) -> dict[str, Any]:
    await app[REDIS].ping()
    return {}


async def _rasa(app: web.Application) -> dict[str, Any]:
    s = app[SETTINGS]
    async with app[HTTP].get(f"{s.rasa_url}/status", params={"token": s.rasa_token}, timeout=_TIMEOUT) as r:
        if r.status != 200:
            raise RuntimeError(f"status {r.status}")
        data = await r.json(content_type=None)
    # Rasa 3.6 answers {"model_file", "model_id", "num_active_training_jobs"}; older ones a fingerprint.
    if not (data.get("model_id") or data.get("fingerprint")):
        raise RuntimeError("no model loaded")
    return {"model": data.get("model_file", "")}


async def _actions(app: web.Application) -> dict[str, Any]:
    s = app[SETTINGS]
    async with app[HTTP].get(f"{s.actions_url}/health", timeout=_TIMEOUT) as r:
        if r.status != 200:
            raise RuntimeError(f"status {r.status}")
    return {}


async def healthz(request: web.Request) -> web.Response:
    app = request.app
    redis, rasa, actions = await asyncio.gather(_timed(_redis(app)), _timed(_rasa(app)), _timed(_actions(app)))
    components = {"redis": redis, "rasa": rasa, "actions": actions, "router": {"ok": True}}
    ok = all(c["ok"] for c in components.values())
    return web.json_response({"status": "ok" if ok else "degraded", "components": components},
                             status=200 if ok else 503)


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app[OPENAPI_PATHS]["/healthz"] = {"get": {
        "summary": "Health of the router and what it depends on (Redis, Rasa, action server)",
        "security": [],
        "responses": {"200": {"description": "all components answer"},
                      "503": {"description": "a component does not answer; see components"}}}}
