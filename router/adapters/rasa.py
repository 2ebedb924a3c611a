"""Client for the Rasa server: the router's channel webhook, NLU parse, and health.

Rasa may run as several workers (RASA_WORKERS, each its own process and port) that share the Redis
tracker and lock store, so any worker can take any conversation. A conversation goes to the same worker
while that worker answers (one conversation's turns are then never queued behind the lock on another
worker); a worker that cannot be reached is skipped for a few seconds and its conversations move to the
next one. Only requests that never reached a worker are retried elsewhere: a message Rasa may have
received is never sent twice.
"""

from __future__ import annotations

import itertools
import json
import time
import zlib
from collections.abc import Sequence
from typing import Any

import aiohttp

__all__ = ["RasaClient", "RasaUnavailable"]

# How long a worker that refused a connection is passed over before it is tried again.
SKIP_SECONDS = 5.0


class RasaUnavailable(Exception):
    """Rasa did not answer in time or answered with an error: the caller decides what the resident sees."""


class RasaClient:
    def __init__(self, session: aiohttp.ClientSession, base_url: str | Sequence[str], token: str, *,
                 timeout: float = 20.0) -> None:
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        if not urls:
            raise ValueError("RasaClient needs at least one Rasa URL")
        self.session = session
        self.base_urls = tuple(u.rstrip("/") for u in urls)
        self.base_url = self.base_urls[0]
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._skip_until: dict[str, float] = {}
        self._turn = itertools.count()

    def workers(self, key: str | None = None) -> list[str]:
        """The workers in the order to try them: from the conversation's own (or the next in turn),
        those that recently refused a connection last."""
        n = len(self.base_urls)
        start = zlib.crc32(key.encode()) % n if key is not None else next(self._turn) % n
        ordered = [self.base_urls[(start + i) % n] for i in range(n)]
        now = time.monotonic()
        return sorted(ordered, key=lambda u: self._skip_until.get(u, 0.0) > now)

    async def _request(self, method: str, path: str, key: str | None, *, idempotent: bool,
                       timeout: aiohttp.ClientTimeout | None = None, **kwargs: Any) -> tuple[int, Any, str]:
        """(status, JSON body or None, text head) from the first worker that can be reached."""
        last: BaseException | None = None
        for base in self.workers(key):
            try:
                async with self.session.request(method, base + path, timeout=timeout or self.timeout,
                                                **kwargs) as resp:
                    raw = await resp.read()
                    self._skip_until.pop(base, None)
                    try:
                        body = json.loads(raw) if resp.status == 200 else None
                    except ValueError:
                        body = None
                    return resp.status, body, raw[:400].decode("utf-8", "replace")[:200]
            except aiohttp.ClientConnectorError as exc:
                # The request never reached this worker: safe to hand to the next one.
                self._skip_until[base] = time.monotonic() + SKIP_SECONDS
                last = exc
            except (aiohttp.ClientError, TimeoutError) as exc:
                # It may have reached the worker: only a request without effects is tried elsewhere.
                last = exc
                if not idempotent:
                    break
        raise RasaUnavailable(str(last) or type(last).__name__) from last

    async def send(self, sender: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        """One resident message through the bot; the bot's messages come back in order."""
        body = {"sender": sender, "message": text, "metadata": metadata}
        status, data, head = await self._request("POST", "/webhooks/router/webhook", sender, idempotent=False,
                                                 json=body, headers={"X-Router-Token": self.token})
        if status != 200:
            raise RasaUnavailable(f"rasa answered {status}: {head}")
        if not isinstance(data, list):
            raise RasaUnavailable("rasa answered with something other than a list of messages")
        return [m for m in data if isinstance(m, dict)]

    async def parse(self, text: str) -> dict[str, Any]:
        """NLU only (``/model/parse``): intent, ranking and entities, no tracker touched."""
        status, data, _ = await self._request("POST", "/model/parse", None, idempotent=True,
                                              json={"text": text}, params={"token": self.token})
        if status != 200:
            raise RasaUnavailable(f"rasa parse answered {status}")
        if not isinstance(data, dict):
            raise RasaUnavailable("rasa parse answered with something other than an object")
        return data

    async def add_events(self, sender: str, events: list[dict[str, Any]]) -> None:
        status, _, _ = await self._request("POST", f"/conversations/{sender}/tracker/events", sender,
                                           idempotent=False, json=events, params={"token": self.token})
        if status != 200:
            raise RasaUnavailable(f"rasa events answered {status}")

    async def tracker_state(self, sender: str) -> dict[str, Any]:
        """Slots and active loop of a conversation, without its events (cheap to move)."""
        status, data, _ = await self._request("GET", f"/conversations/{sender}/tracker", sender, idempotent=True,
                                              params={"token": self.token, "include_events": "NONE"})
        if status != 200:
            raise RasaUnavailable(f"rasa tracker answered {status}")
        return data if isinstance(data, dict) else {}

    async def status(self) -> dict[str, Any]:
        status, data, _ = await self._request("GET", "/status", None, idempotent=True,
                                              timeout=aiohttp.ClientTimeout(total=3), params={"token": self.token})
        if status != 200:
            raise RasaUnavailable(f"rasa status {status}")
        return data if isinstance(data, dict) else {}
