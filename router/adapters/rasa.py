"""Client for the Rasa server: the router's channel webhook, NLU parse, and health.

Rasa may run as several workers (RASA_WORKERS, each its own process and port) that share the Redis
tracker and lock store, so any worker can take any conversation. A new conversation goes to the worker
with the fewest of this router's requests in flight (ties: a hash of the conversation), and its later turns
to the same worker while that worker answers — one conversation's turns are then never queued behind the
lock on another worker, and the worker still holds the conversation warm (bot/runtime/serve.py). Several
routers behind a load balancer share each conversation's worker through the conversation record (``home``
given to ``send``, read back with ``home_of``): without it a resident's turns alternated between workers
as nginx alternated between routers, and each switch read and wrote the whole conversation. A hash
alone put seven of ten conversations on one worker a third of the time while the other idled. A worker that
cannot be reached is skipped for a few seconds and its conversations move to the next one. Only requests
that never reached a worker are retried elsewhere: a message Rasa may have received is never sent twice.
"""

from __future__ import annotations

import itertools
import json
import time
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import aiohttp

__all__ = ["RasaClient", "RasaUnavailable"]

# How long a worker that refused a connection is passed over before it is tried again.
SKIP_SECONDS = 5.0
# Conversations whose worker this router remembers (the least recently served are forgotten first; a
# forgotten one is placed again as a new one would be).
HOMES_KEPT = 50_000


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
        self._in_flight = dict.fromkeys(self.base_urls, 0)
        self._homes: OrderedDict[str, str] = OrderedDict()

    def workers(self, key: str | None = None) -> list[str]:
        """The workers in the order to try them: the conversation's own first (a new conversation's: the one
        with the fewest requests in flight), those that recently refused a connection last."""
        n = len(self.base_urls)
        start = zlib.crc32(key.encode()) % n if key is not None else next(self._turn) % n
        ordered = [self.base_urls[(start + i) % n] for i in range(n)]
        home = self._homes.get(key) if key is not None else None
        now = time.monotonic()
        return sorted(ordered, key=lambda u: (self._skip_until.get(u, 0.0) > now,
                                              u != home if home else self._in_flight[u]))

    def _home(self, key: str, base: str) -> None:
        self._homes[key] = base
        self._homes.move_to_end(key)
        if len(self._homes) > HOMES_KEPT:
            self._homes.popitem(last=False)

    async def _request(self, method: str, path: str, key: str | None, *, idempotent: bool,
                       timeout: aiohttp.ClientTimeout | None = None, **kwargs: Any) -> tuple[int, Any, str]:
        """(status, JSON body or None, text head) from the first worker that can be reached."""
        last: BaseException | None = None
        candidates = self.workers(key)
        if key is not None and key not in self._homes:
            self._home(key, candidates[0])  # placed now: its next request, even one sent meanwhile, follows
        for base in candidates:
            self._in_flight[base] += 1
            try:
                async with self.session.request(method, base + path, timeout=timeout or self.timeout,
                                                **kwargs) as resp:
                    raw = await resp.read()
                    self._skip_until.pop(base, None)
                    if key is not None:
                        self._home(key, base)
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
            finally:
                self._in_flight[base] -= 1
        raise RasaUnavailable(str(last) or type(last).__name__) from last

    def home_of(self, key: str) -> str:
        """The worker that last answered ``key`` (or was chosen for it), "" if none."""
        return self._homes.get(key, "")

    async def send(self, sender: str, text: str, metadata: dict[str, Any], *, home: str = "") -> list[dict[str, Any]]:
        """One resident message through the bot; the bot's messages come back in order. ``home``: the worker
        the conversation record names (another router may have served its last turn), tried first."""
        if home in self.base_urls:
            self._home(sender, home)
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
