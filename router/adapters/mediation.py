"""Mediation records (矛盾纠纷调处) beside their ticket in Redis: one JSON value per ticket
(keys.ticket_mediation). ``update`` is optimistic (WATCH): two units writing at once both land, in turn."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from redis.exceptions import WatchError

from router import keys
from router.adapters import StrRedis

__all__ = ["MediationStore", "empty_record"]


def empty_record() -> dict[str, Any]:
    return {"parties": [], "sessions": [], "outcome": None, "escalated": None}


class MediationStore:
    def __init__(self, redis: StrRedis) -> None:
        self.redis = redis

    async def get(self, ticket_id: str) -> dict[str, Any] | None:
        raw = await self.redis.get(keys.ticket_mediation(ticket_id))
        return json.loads(raw) if raw else None

    async def get_many(self, ticket_ids: list[str]) -> dict[str, dict[str, Any]]:
        if not ticket_ids:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for ticket_id in ticket_ids:
                pipe.get(keys.ticket_mediation(ticket_id))
            raws = await pipe.execute()
        return {t: json.loads(r) for t, r in zip(ticket_ids, raws, strict=True) if r}

    async def update(self, ticket_id: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """Apply ``change`` to the record (an empty one if none yet) and store it; ``change`` may raise to
        leave the record as it was."""
        key = keys.ticket_mediation(ticket_id)
        while True:
            async with self.redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    record = json.loads(raw) if raw else empty_record()
                    change(record)
                    pipe.multi()
                    pipe.set(key, json.dumps(record, ensure_ascii=False))
                    await pipe.execute()
                    return record
                except WatchError:
                    continue
