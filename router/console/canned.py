"""Canned replies (快捷回复) that supervisors manage: one JSON list in Redis, seeded from canned_zh.json the
first time it is read, changed with WATCH/MULTI so two supervisors editing at once never lose each other's
change (the later one is retried on the list as it is then)."""

from __future__ import annotations

import json
import secrets
from typing import Any

from redis.exceptions import WatchError

from router import keys

__all__ = ["CannedReplies", "InvalidCanned", "CannedNotFound", "MAX_TITLE_CHARS", "MAX_TEXT_CHARS", "MAX_REPLIES"]

MAX_TITLE_CHARS = 12  # a chip on the reply bar
MAX_TEXT_CHARS = 500
MAX_REPLIES = 40


class InvalidCanned(ValueError):
    """The reply will not do; ``reason`` is a key of ui_zh.json messages, ``params`` its particulars."""

    def __init__(self, reason: str, **params: Any) -> None:
        super().__init__(reason)
        self.reason, self.params = reason, params


class CannedNotFound(LookupError):
    pass


def _clean(title: str, text: str) -> tuple[str, str]:
    title, text = title.replace("\x00", "").strip(), text.replace("\x00", "").strip()
    if not title or not text:
        raise InvalidCanned("canned_empty")
    if len(title) > MAX_TITLE_CHARS:
        raise InvalidCanned("canned_title_long", limit=MAX_TITLE_CHARS)
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidCanned("canned_text_long", limit=MAX_TEXT_CHARS)
    return title, text


class CannedReplies:
    def __init__(self, redis: Any, seed: list[dict[str, str]]) -> None:
        self.redis = redis
        self.seed = seed

    async def list(self) -> list[dict[str, str]]:
        raw = await self.redis.get(keys.console_canned())
        if raw is None:
            return [dict(c) for c in self.seed]
        return [c for c in json.loads(raw) if isinstance(c, dict)]

    async def get(self, reply_id: str) -> dict[str, str] | None:
        return next((c for c in await self.list() if c.get("id") == reply_id), None)

    async def add(self, title: str, text: str) -> dict[str, str]:
        title, text = _clean(title, text)
        entry = {"id": "r" + secrets.token_hex(4), "title": title, "text": text}

        def change(items: list[dict[str, str]]) -> None:
            if len(items) >= MAX_REPLIES:
                raise InvalidCanned("canned_too_many", limit=MAX_REPLIES)
            items.append(entry)

        await self._change(change)
        return entry

    async def update(self, reply_id: str, title: str, text: str) -> dict[str, str]:
        title, text = _clean(title, text)

        def change(items: list[dict[str, str]]) -> None:
            item = next((c for c in items if c.get("id") == reply_id), None)
            if item is None:
                raise CannedNotFound(reply_id)
            item["title"], item["text"] = title, text

        await self._change(change)
        return {"id": reply_id, "title": title, "text": text}

    async def delete(self, reply_id: str) -> dict[str, str]:
        removed: list[dict[str, str]] = []

        def change(items: list[dict[str, str]]) -> None:
            item = next((c for c in items if c.get("id") == reply_id), None)
            if item is None:
                raise CannedNotFound(reply_id)
            items.remove(item)
            removed.append(item)

        await self._change(change)
        return removed[-1]

    async def _change(self, change: Any) -> None:
        key = keys.console_canned()
        for _ in range(20):
            async with self.redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    items = json.loads(raw) if raw is not None else [dict(c) for c in self.seed]
                    change(items)
                    pipe.multi()
                    pipe.set(key, json.dumps(items, ensure_ascii=False))
                    await pipe.execute()
                    return
                except WatchError:
                    continue
        raise RuntimeError("canned replies: too many concurrent changes")
