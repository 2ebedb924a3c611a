"""Take a delivery once, keep its answer, and give that answer to the deliveries that repeat it.

Gateways retry (WeChat after 5 s, jambonz when a webhook is slow) and a retry may reach another router
instance. The first delivery *claims* the message id in Redis (SET NX with a TTL, holding a marker while
it works), then *stores* its answer over the marker; a repeat finds the claim taken and *replays*: it
waits a little for the answer, or learns that the first delivery is still working. The callers build the
keys (router/keys.py) and choose the TTLs and the answer's format.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from router.adapters import StrRedis

__all__ = ["Once", "Replay"]


@dataclass(frozen=True)
class Replay:
    """What a repeat delivery found: the stored answer, or none (still in progress, or no claim at all)."""

    answer: str | None
    in_progress: bool = False  # the claim still held the marker when the wait ran out

    @property
    def found(self) -> bool:
        return self.answer is not None


class Once:
    """Claim, store and replay over one Redis client (str or bytes responses)."""

    def __init__(self, redis: StrRedis, *, claim_ttl: int, answer_ttl: int | None = None, marker: str = "",
                 poll: float = 0.05) -> None:
        self.redis = redis
        self.claim_ttl = claim_ttl  # how long a claim lives while its delivery works
        self.answer_ttl = claim_ttl if answer_ttl is None else answer_ttl  # how long the answer is replayed
        self.marker = marker  # the value of a claim with no answer yet
        self.poll = poll

    async def claim(self, key: str) -> bool:
        """True for the first delivery of ``key`` (it must then answer); False for a repeat."""
        return bool(await self.redis.set(key, self.marker, nx=True, ex=self.claim_ttl))

    async def store(self, key: str, answer: str, *, only_if_claimed: bool = False) -> bool:
        """Keep ``answer`` for repeats (it may be stored again, e.g. as the outcome changes).

        ``only_if_claimed``: store only while the claim exists (SET XX), so a claim that expired is not
        brought back. Returns whether it was stored."""
        if answer == self.marker:
            raise ValueError("an answer equal to the claim marker could never be replayed")
        return bool(await self.redis.set(key, answer, ex=self.answer_ttl, xx=only_if_claimed))

    async def replay(self, key: str, *, wait: float) -> Replay:
        """The answer stored under ``key``, waiting up to ``wait`` seconds while the claim holds only the
        marker. No key at all (never claimed, or expired) answers at once with nothing."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            raw = await self.redis.get(key)
            if raw is None:
                return Replay(None)
            value = raw.decode() if isinstance(raw, bytes) else str(raw)
            if value != self.marker:
                return Replay(value)
            if loop.time() >= deadline:
                return Replay(None, in_progress=True)
            await asyncio.sleep(self.poll)
