"""The console's audit trail: every operator action as one entry of a Redis stream.

A stream (not a list) because entries get a server-assigned, time-ordered id that nobody can rewrite
from the console, and because a reviewer's tool can read it with a consumer group later. Capped
approximately so it cannot fill Redis; export it before the cap if policy keeps more.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from router import keys
from router.adapters import StrRedis

__all__ = ["AuditEntry", "AuditLog", "AUDIT_MAXLEN"]

AUDIT_MAXLEN = 200_000


@dataclass(frozen=True)
class AuditEntry:
    id: str
    at: float
    actor: str
    role: str
    action: str
    target: str
    detail: dict[str, Any]
    ip: str


class AuditLog:
    def __init__(self, redis: StrRedis) -> None:
        self.redis = redis

    async def record(self, *, actor: str, role: str, action: str, target: str = "",
                     detail: dict[str, Any] | None = None, ip: str = "") -> str:
        fields = {"at": f"{time.time():.3f}", "actor": actor, "role": role, "action": action, "target": target,
                  "detail": json.dumps(detail or {}, ensure_ascii=False), "ip": ip}
        return str(await self.redis.xadd(keys.console_audit(), fields, maxlen=AUDIT_MAXLEN, approximate=True))

    async def recent(self, *, limit: int = 200, actor: str | None = None, action: str | None = None
                     ) -> list[AuditEntry]:
        """Newest first; filters are applied over the last ``limit * 5`` entries at most."""
        scan = limit * 5 if (actor or action) else limit
        raw = await self.redis.xrevrange(keys.console_audit(), count=scan)
        out: list[AuditEntry] = []
        for entry_id, f in raw:
            if actor and f.get("actor") != actor:
                continue
            if action and f.get("action") != action:
                continue
            out.append(AuditEntry(id=entry_id, at=float(f.get("at") or 0), actor=f.get("actor", ""),
                                  role=f.get("role", ""), action=f.get("action", ""), target=f.get("target", ""),
                                  detail=json.loads(f.get("detail") or "{}"), ip=f.get("ip", "")))
            if len(out) >= limit:
                break
        return out
