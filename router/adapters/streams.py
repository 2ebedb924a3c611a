"""Redis Streams consumer-group plumbing shared by the department work queues (dispatch.py) and the
WeChat outbox (wechat_outbox.py)."""

from __future__ import annotations

from redis.exceptions import ResponseError

from router.adapters import StrRedis

__all__ = ["ensure_group", "claim_entries"]

Entry = tuple[str, dict[str, str]]


async def ensure_group(redis: StrRedis, stream: str, group: str) -> None:
    """Create ``group`` on ``stream`` (and the stream) unless it exists. From id 0: entries written
    before the first consumer ever connected are delivered too."""
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


async def claim_entries(redis: StrRedis, stream: str, group: str, consumer: str, min_idle_ms: int,
                        count: int) -> tuple[list[Entry], set[str]]:
    """Up to ``count`` entries for ``consumer``: first those left pending by another consumer (or an
    earlier attempt) for ``min_idle_ms`` (XAUTOCLAIM), then new ones (XREADGROUP). Returns the entries
    and the ids among them that were reclaimed. Entries deleted meanwhile are left out."""
    entries: list[Entry] = []
    reclaimed: set[str] = set()
    reply = await redis.xautoclaim(stream, group, consumer, min_idle_ms, "0-0", count=count)
    for entry_id, fields in reply[1]:
        if fields:  # None when the entry was trimmed or deleted meanwhile
            entries.append((entry_id, fields))
            reclaimed.add(entry_id)
    if len(entries) < count:
        fresh = await redis.xreadgroup(group, consumer, {stream: ">"}, count=count - len(entries))
        for _stream, items in fresh or []:
            entries.extend((eid, f) for eid, f in items)
    return entries, reclaimed
