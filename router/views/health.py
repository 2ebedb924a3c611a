"""``GET /healthz``: 200 only when Redis, Rasa (one worker at least) and the action server answer (contract item 5).

Anyone may ask: the answer is up or down, one ``ok`` per component and nothing else (no addresses,
paths, versions or error text). With the internal bearer token the same call shows the details:
latencies, the error of a component that does not answer, the loaded model, Redis memory. The check
also logs a warning when Redis uses more than 80 % of its maxmemory (at most every few minutes), since
`make run`'s Redis refuses writes once it is full (noeviction).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp
from aiohttp import web

from router.appkeys import OPENAPI_PATHS, REDIS, SETTINGS
from router.http import bearer_ok
from router.views import models as M
from router.views.clients import HTTP
from router.views.models import response

__all__ = ["setup_routes", "MEMORY_WARN_RATIO"]

log = logging.getLogger(__name__)

_TIMEOUT = aiohttp.ClientTimeout(total=3)
MEMORY_WARN_RATIO = 0.8
MEMORY_WARN_EVERY_SECONDS = 300.0
# {"at": monotonic time of the last memory warning}: mutable, so the frozen app can hold it.
_MEMORY_WARNED: web.AppKey[dict[str, float]] = web.AppKey("health_memory_warned", dict)


async def _timed(coro: Any) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        detail = await asyncio.wait_for(coro, timeout=3.5)
        return {"ok": True, "latency_ms": round((time.perf_counter() - start) * 1000, 1), **(detail or {})}
    except Exception as exc:  # any failure means "not healthy", with the reason shown to token holders
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}


async def _redis(app: web.Application) -> dict[str, Any]:
    redis = app[REDIS]
    await redis.ping()
    try:
        info = await redis.info("memory")
    except Exception:  # a managed Redis may refuse INFO: the ping above is what health means
        return {}
    used, limit = int(info.get("used_memory") or 0), int(info.get("maxmemory") or 0)
    detail: dict[str, Any] = {"used_memory": used, "maxmemory": limit}
    if limit and used >= MEMORY_WARN_RATIO * limit:
        detail["memory_warning"] = True
        warned = app[_MEMORY_WARNED]
        now = time.monotonic()
        if now - warned.get("at", -MEMORY_WARN_EVERY_SECONDS) >= MEMORY_WARN_EVERY_SECONDS:
            warned["at"] = now
            log.warning("Redis memory at %.0f%% of maxmemory (%d of %d bytes): writes fail when it is full; "
                        "raise REDIS_MAXMEMORY or lower CONVERSATION_RETENTION_DAYS", 100 * used / limit, used, limit)
    return detail


async def _rasa_worker(app: web.Application, url: str) -> dict[str, Any]:
    s = app[SETTINGS]
    async with app[HTTP].get(f"{url}/status", params={"token": s.rasa_token}, timeout=_TIMEOUT) as r:
        if r.status != 200:
            raise RuntimeError(f"status {r.status}")
        data = await r.json(content_type=None)
    # Rasa 3.6 answers {"model_file", "model_id", "num_active_training_jobs"}; older ones a fingerprint.
    if not (data.get("model_id") or data.get("fingerprint")):
        raise RuntimeError("no model loaded")
    return {"model": data.get("model_file", "")}


async def _rasa(app: web.Application) -> dict[str, Any]:
    """Every worker asked; Rasa is up while one answers (the router sends conversations to those that
    do), and the details say which are down."""
    urls = app[SETTINGS].rasa_workers
    results = await asyncio.gather(*(_timed(_rasa_worker(app, u)) for u in urls))
    up = [r for r in results if r["ok"]]
    if not up:
        raise RuntimeError("; ".join(r.get("error", "") for r in results))
    detail: dict[str, Any] = {"model": up[0].get("model", ""), "workers": len(urls), "workers_up": len(up)}
    if len(up) < len(urls):
        detail["workers_down"] = [u for u, r in zip(urls, results, strict=True) if not r["ok"]]
    return detail


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
    if not bearer_ok(request):
        components = {name: {"ok": c["ok"]} for name, c in components.items()}
    return web.json_response({"status": "ok" if ok else "degraded", "components": components},
                             status=200 if ok else 503, headers={"Cache-Control": "no-store"})


def setup_routes(app: web.Application) -> None:
    app[_MEMORY_WARNED] = {}
    app.router.add_get("/healthz", healthz)
    app[OPENAPI_PATHS]["/healthz"] = {"get": {
        "summary": "Health of the router and what it depends on (Redis, Rasa, action server): "
                   "{status, components: {name: {ok}}}; details (errors, latencies, model, Redis memory) "
                   "only with the bearer token",
        "security": [{}, {"bearer": []}],
        "responses": {"200": response("all components answer", M.Health),
                      "503": response("a component does not answer; see components", M.Health)}}}
