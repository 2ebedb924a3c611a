"""Who is at the desk, and giving waiting residents to them: auto-assignment (round-robin over the operators
who are online, each up to their capacity), a supervisor's reassignment, and the day's desk figures
(first-response and resolution times, CSAT).

Online means an open console live stream: each stream holds a lease in Redis, renewed while it runs and
dropped when it ends (tab closed, logout, session revoked); a router that dies leaves leases that run out
within LEASE_SECONDS. The check "queued, online, under capacity" and the move itself are one Lua script
(ConversationStore.assign), so any number of router processes may run the assigner at once: a conversation
goes to one operator only, never to one above capacity or whose lease has run out. The round-robin pointer
is only about fairness and may be read stale.

Auto-assignment is a supervisor's switch (off until switched on, kept in Redis): a desk that works the
queue by hand is never surprised by it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from router import keys
from router.adapters.conversations import Conversation, ConversationState
from router.domain.tickets import CST

__all__ = ["Presence", "Assigner", "Assignment", "DeskStats", "DEFAULT_CAPACITY", "MAX_CAPACITY",
           "LEASE_SECONDS", "CSAT_SCORES"]

log = logging.getLogger(__name__)

DEFAULT_CAPACITY = 3  # an operator's conversations at once unless a supervisor set another number
MAX_CAPACITY = 20
LEASE_SECONDS = 30.0  # a live stream renews its lease every SESSION_RECHECK_SECONDS (10 s)
CSAT_SCORES = {"满意": "good", "一般": "ok", "不满意": "bad"}
_DAY_TTL = 40 * 86400

# KEYS: the user's presence zset, online zset. ARGV: user, stream id, now, lease end ("" = leave).
_PRESENCE = """
if ARGV[4] == '' then redis.call('ZREM', KEYS[1], ARGV[2]) else redis.call('ZADD', KEYS[1], ARGV[4], ARGV[2]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if #last == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('ZADD', KEYS[2], last[2], ARGV[1])
redis.call('EXPIRE', KEYS[1], 3600)
return redis.call('ZCARD', KEYS[1])
"""


class Presence:
    """Leases of open live streams: ``renew`` while a stream runs, ``leave`` when it ends."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self._script = redis.register_script(_PRESENCE)

    async def renew(self, user: str, stream_id: str, *, now: float | None = None) -> None:
        now = time.time() if now is None else now
        await self._script(keys=[keys.console_presence(user), keys.console_online()],
                           args=[user, stream_id, str(now), str(now + LEASE_SECONDS)])

    async def leave(self, user: str, stream_id: str, *, now: float | None = None) -> None:
        now = time.time() if now is None else now
        await self._script(keys=[keys.console_presence(user), keys.console_online()],
                           args=[user, stream_id, str(now), ""])

    async def online(self, *, now: float | None = None) -> list[str]:
        now = time.time() if now is None else now
        return sorted(await self.redis.zrangebyscore(keys.console_online(), f"({now}", "+inf"))


@dataclass(frozen=True)
class Assignment:
    conversation: str
    operator: str


# user name → their default capacity (role-based), or None when they may not take conversations at all
# (removed, disabled, a role without the desk).
DefaultCapacity = Callable[[str], Awaitable[int | None]]


class Assigner:
    """The auto-assignment rule and the settings behind it (switch, capacities)."""

    def __init__(self, conversations: Any, redis: Any, default_capacity: DefaultCapacity,
                 announce: Callable[[str], Awaitable[None]] | None = None) -> None:
        self.conversations = conversations
        self.redis = redis
        self.default_capacity = default_capacity
        self.announce = announce  # tells the resident a person has their conversation now (by id)
        self.presence = Presence(redis)

    # ------------------------------------------------------------------ settings
    async def enabled(self) -> bool:
        return await self.redis.hget(keys.console_assignment(), "enabled") == "1"

    async def set_enabled(self, on: bool) -> None:
        await self.redis.hset(keys.console_assignment(), "enabled", "1" if on else "0")
        await self.redis.publish(keys.console_events(), json.dumps({"type": "assignment"}))

    async def capacity(self, user: str) -> int:
        """What auto-assignment may give ``user`` at once: the supervisor's number, else the role's."""
        raw = await self.redis.hget(keys.console_capacity(), user)
        if raw is not None:
            return int(raw)
        return await self.default_capacity(user) or 0

    async def set_capacity(self, user: str, capacity: int) -> None:
        if not 0 <= capacity <= MAX_CAPACITY:
            raise ValueError(f"capacity must be 0–{MAX_CAPACITY}")
        await self.redis.hset(keys.console_capacity(), user, str(capacity))
        await self.redis.publish(keys.console_events(), json.dumps({"type": "assignment"}))

    # ------------------------------------------------------------------ the rule
    async def load(self, user: str) -> int:
        """``user``'s conversations in service, their list tidied of what is no longer theirs."""
        key = keys.console_operator_conversations(user)
        count = 0
        for conv_id in await self.redis.smembers(key):
            conv: Conversation | None = await self.conversations.get(conv_id)
            if conv is None or conv.state is not ConversationState.HUMAN or conv.operator != user:
                await self.redis.srem(key, conv_id)
            else:
                count += 1
        return count

    async def run_once(self, *, now: float | None = None) -> list[Assignment]:
        """Give waiting conversations (urgent first, then longest waiting) to online operators in turn,
        each up to their capacity. Safe to run in every router process at once."""
        if not await self.enabled():
            return []
        now = time.time() if now is None else now
        queued = await self.conversations.queued(limit=200)
        if not queued:
            return []
        room: dict[str, int] = {}
        defaults: dict[str, int] = {}
        for user in await self.presence.online(now=now):
            default = await self.default_capacity(user)
            if default is None:
                continue
            raw = await self.redis.hget(keys.console_capacity(), user)
            cap = int(raw) if raw is not None else default
            free = cap - await self.load(user)
            if free > 0:
                room[user], defaults[user] = free, default
        if not room:
            return []
        order = sorted(room)
        last = await self.redis.hget(keys.console_assignment(), "last") or ""
        start = next((i for i, u in enumerate(order) if u > last), 0)  # the one after the last one served
        order = order[start:] + order[:start]
        done: list[Assignment] = []
        for conv in queued:
            while order:
                user = order[0]
                status, _ = await self.conversations.assign(conv.id, user, mode="auto", assigned_by="auto",
                                                            default_capacity=defaults[user], now=now)
                if status in ("full", "offline"):  # another router filled them, or they just left
                    order.pop(0)
                    continue
                if status == "ok":
                    done.append(Assignment(conv.id, user))
                    if self.announce is not None:
                        await self.announce(conv.id)
                    await self.redis.hset(keys.console_assignment(), "last", user)
                    room[user] -= 1
                    order.pop(0)
                    if room[user] > 0:
                        order.append(user)  # round-robin: back of the line
                break  # "taken" / "missing": this conversation is not waiting any more
            if not order:
                break
        if done:
            log.info("auto-assigned %s", ", ".join(f"{a.conversation}→{a.operator}" for a in done))
        return done


def _day(now: float) -> str:
    return datetime.fromtimestamp(now, CST).strftime("%Y%m%d")


class DeskStats:
    """The day's desk figures in one Redis hash per China-time day: sums and counts, so that every router
    process adds to the same figures and an average is one division."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis

    async def _add(self, now: float | None, **fields: float) -> None:
        key = keys.console_desk_day(_day(time.time() if now is None else now))
        async with self.redis.pipeline(transaction=True) as pipe:
            for name, value in fields.items():
                pipe.hincrbyfloat(key, name, value)
            pipe.expire(key, _DAY_TTL)
            await pipe.execute()

    async def first_response(self, seconds: float, *, now: float | None = None) -> None:
        await self._add(now, first_response_sum=seconds, first_response_count=1)

    async def resolution(self, seconds: float, *, now: float | None = None) -> None:
        await self._add(now, resolution_sum=seconds, resolution_count=1)

    async def csat_asked(self, *, now: float | None = None) -> None:
        await self._add(now, csat_asked=1)

    async def csat(self, score: str, *, now: float | None = None) -> None:
        await self._add(now, **{f"csat_{CSAT_SCORES[score]}": 1})

    async def today(self, *, now: float | None = None) -> dict[str, Any]:
        raw = await self.redis.hgetall(keys.console_desk_day(_day(time.time() if now is None else now)))
        f = {k: float(v) for k, v in raw.items()}

        def avg(name: str) -> float | None:
            n = f.get(f"{name}_count", 0.0)
            return f.get(f"{name}_sum", 0.0) / n if n else None

        answered = int(sum(f.get(f"csat_{v}", 0.0) for v in CSAT_SCORES.values()))
        counts = {title: int(f.get(f"csat_{v}", 0.0)) for title, v in CSAT_SCORES.items()}
        return {
            "first_response_avg": avg("first_response"),
            "first_response_count": int(f.get("first_response_count", 0.0)),
            "resolution_avg": avg("resolution"),
            "resolution_count": int(f.get("resolution_count", 0.0)),
            "csat_asked": int(f.get("csat_asked", 0.0)),
            "csat_answered": answered,
            "csat_counts": counts,
            "csat_satisfied_share": counts["满意"] / answered if answered else None,
        }
