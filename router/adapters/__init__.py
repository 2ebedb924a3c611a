"""Adapters: Redis, Rasa, outside HTTP APIs, and the files and artefacts the domain is built from."""

from __future__ import annotations

from typing import Any, TypeAlias

__all__ = ["StrRedis"]

# Every Redis client here is built with decode_responses=True (router.app.connect_redis): replies are str,
# lists of str, dicts of str. redis-py's own annotations cannot say so (each command answers
# ``bytes | str`` or ``Awaitable[...] | ...``), so the adapters type the client as this alias.
StrRedis: TypeAlias = Any
