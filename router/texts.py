"""User-facing Chinese texts of the router, kept in router/data/messages_zh.json."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

__all__ = ["text"]

_PATH = Path(__file__).resolve().parent / "data" / "messages_zh.json"


@lru_cache(maxsize=1)
def _texts() -> dict[str, str]:
    return json.loads(_PATH.read_text(encoding="utf-8"))


def text(key: str, **params: object) -> str:
    return _texts()[key].format(**params)
