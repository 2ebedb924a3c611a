"""Customer-service messages WeChat could not take at once, kept in Redis until it does.

A late bot answer or an operator's reply goes straight to WeChat's customer-service API first. When
that fails for a reason that passes (WeChat unreachable or busy, a rate limit), the text is added to a
Redis Stream instead of being dropped. Every router instance reads the stream in one consumer group,
retries, and claims the entries an instance left unacknowledged when it died (XAUTOCLAIM after
``retry_after``). A reason that will not pass (the resident has not written to the account for 48 h,
unfollowed, a bad openid) or an entry older than ``max_age`` is given up: ``on_give_up`` records it in
the conversation, where the operator sees it.

Texts for one resident stay in order: while any is kept for a resident, new ones join the queue
behind it instead of going straight out, and when one fails in a round, the later ones for the same
resident wait for the next round instead of overtaking it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from router import keys
from router.adapters import StrRedis
from router.adapters.streams import claim_entries, ensure_group
from router.adapters.wechat_api import WeChatApi, WeChatApiError

__all__ = ["GROUP", "PERMANENT_ERRCODES", "WeChatOutbox", "Undelivered", "is_transient"]

log = logging.getLogger(__name__)

GROUP = "senders"
_SNAPSHOT = 1000  # undelivered texts looked at per round to keep each resident's order
# errcodes that retrying cannot cure (WeChat's documentation of the customer-service message API):
# 40003 invalid openid, 43004 the user does not follow the account, 45015 the 48-hour reply window is
# over, 45047 too many messages without the user writing back, 45002 content too long,
# 40008 / 47001 message malformed.
PERMANENT_ERRCODES = frozenset({40003, 43004, 45002, 45015, 45047, 40008, 47001})


def is_transient(exc: WeChatApiError) -> bool:
    """-1 (unreachable, HTTP 5xx, system busy), 45009/45011 (rate limits) and other unknown codes."""
    return exc.errcode not in PERMANENT_ERRCODES


@dataclass(frozen=True)
class Undelivered:
    openid: str
    text: str
    conversation_id: str | None
    origin: str
    error: str


class WeChatOutbox:
    def __init__(
        self,
        redis: StrRedis,
        api: Callable[[], WeChatApi],
        *,
        consumer: str,
        retry_after: float = 30.0,
        max_age: float = 1800.0,
        on_give_up: Callable[[Undelivered], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self._api = api
        self.consumer = consumer
        self.retry_after = retry_after
        self.max_age = max_age
        self.on_give_up = on_give_up
        self.clock = clock
        self._group_ready = False

    @property
    def stream(self) -> str:
        return keys.wechat_outbox()

    async def put(self, openid: str, texts: list[str], *, conversation_id: str | None = None,
                  origin: str = "bot", error: str = "") -> list[str]:
        """Keep ``texts`` (in order) for a later attempt; one stream entry per text."""
        if not texts:
            return []
        async with self.redis.pipeline(transaction=True) as pipe:
            for text in texts:
                pipe.xadd(self.stream, {
                    "openid": openid, "text": text, "conversation_id": conversation_id or "", "origin": origin,
                    "at": f"{self.clock():.3f}", "error": error[:200],
                })
            pipe.hincrby(keys.wechat_outbox_waiting(), openid, len(texts))
            ids = (await pipe.execute())[:-1]
        log.info("wechat: %d message(s) to %s kept for retry (%s)", len(texts), openid, error or "queued")
        return [str(i) for i in ids]

    async def waiting(self, openid: str) -> int:
        """How many texts are kept for this resident."""
        return int(await self.redis.hget(keys.wechat_outbox_waiting(), openid) or 0)

    async def send_or_keep(self, openid: str, texts: list[str], *, conversation_id: str | None = None,
                           origin: str = "bot") -> int:
        """Send now; texts WeChat could not take for a passing reason are kept. Returns how many were
        kept. A permanent refusal is raised (the caller tells the operator)."""
        if await self.waiting(openid):  # earlier texts are still queued: do not overtake them
            await self.put(openid, texts, conversation_id=conversation_id, origin=origin)
            return len(texts)
        for i, text in enumerate(texts):
            try:
                await self._api().send_text(openid, text)
            except WeChatApiError as exc:
                if not is_transient(exc):
                    raise
                await self.put(openid, texts[i:], conversation_id=conversation_id, origin=origin, error=str(exc))
                return len(texts) - i
        return 0

    # ------------------------------------------------------------------------------------- retrying

    async def _ensure_group(self) -> None:
        if not self._group_ready:
            await ensure_group(self.redis, self.stream, GROUP)
            self._group_ready = True

    async def run_once(self, count: int = 50) -> int:
        """One round: entries left idle by a failed attempt or a dead instance, then new ones.
        Returns how many were delivered."""
        await self._ensure_group()
        entries, _ = await claim_entries(self.redis, self.stream, GROUP, self.consumer,
                                         int(self.retry_after * 1000), count)
        # Only undelivered texts are in the stream, so a resident's text may go only when it is the
        # earliest of theirs there; a later one waits (and is claimed again) until those before it went.
        queue: dict[str, list[str]] = {}
        for entry_id, fields in await self.redis.xrange(self.stream, count=_SNAPSHOT):
            queue.setdefault(fields.get("openid", ""), []).append(entry_id)
        delivered = 0
        blocked: set[str] = set()  # residents whose earlier text failed this round
        for entry_id, fields in sorted(entries, key=lambda e: _id_key(e[0])):
            openid = fields.get("openid", "")
            mine = queue.get(openid) or [entry_id]
            if openid in blocked or mine[0] != entry_id:
                continue
            outcome = await self._attempt(entry_id, fields)
            if outcome == "later":
                blocked.add(openid)
                continue
            mine.pop(0)
            delivered += outcome == "sent"
        return delivered

    async def _attempt(self, entry_id: str, fields: dict[str, Any]) -> str:
        openid, text = fields.get("openid", ""), fields.get("text", "")
        try:
            await self._api().send_text(openid, text)
        except WeChatApiError as exc:
            too_old = self.clock() - float(fields.get("at") or 0) > self.max_age
            if is_transient(exc) and not too_old:
                log.info("wechat: retry of %s to %s failed again: %s", entry_id, openid, exc)
                return "later"  # stays pending: claimed again after retry_after
            await self._give_up(entry_id, fields, f"{exc} (kept since {fields.get('at')})" if too_old else str(exc))
            return "given_up"
        await self._done(entry_id, openid)
        return "sent"

    async def _done(self, entry_id: str, openid: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, GROUP, entry_id)
            pipe.xdel(self.stream, entry_id)
            deleted = (await pipe.execute())[1]
        if deleted:  # count each entry down once, even if two instances finished it
            await self.redis.eval(_COUNT_DOWN, 1, keys.wechat_outbox_waiting(), openid)

    async def _give_up(self, entry_id: str, fields: dict[str, Any], error: str) -> None:
        log.warning("wechat: giving up message %s to %s: %s", entry_id, fields.get("openid"), error)
        if self.on_give_up is not None:
            await self.on_give_up(Undelivered(
                openid=fields.get("openid", ""), text=fields.get("text", ""),
                conversation_id=fields.get("conversation_id") or None, origin=fields.get("origin", ""),
                error=error))
        await self._done(entry_id, fields.get("openid", ""))

    async def pending(self) -> int:
        """Entries not yet delivered (new or waiting for a retry)."""
        return int(await self.redis.xlen(self.stream))

    async def run(self, stop: asyncio.Event, interval: float = 2.0) -> None:
        """Retry until ``stop`` is set; Redis or WeChat being away only delays the next round."""
        while not stop.is_set():
            try:
                await self.run_once()
            except (RedisError, OSError) as exc:
                log.warning("wechat outbox round failed: %s", exc)
            except Exception:  # noqa: BLE001 - a bug in one round must not end retrying for good
                log.exception("wechat outbox round failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except asyncio.TimeoutError:
                pass


_COUNT_DOWN = """
local left = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if left <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return left
"""


def _id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)
