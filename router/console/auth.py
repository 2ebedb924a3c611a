"""Who may use the operator console and what each role may do: password hashes, login sessions in Redis,
CSRF tokens and the failed-login limit.

Passwords are hashed with scrypt (memory-hard, in the standard library) and a per-user salt; checks use
a constant-time compare, and an unknown user name costs the same hash as a known one so timing does not
tell which names exist. Sessions are random ids in an HttpOnly cookie; Redis stores them under their
SHA-256 with a sliding TTL, so any router instance can serve any operator and a Redis dump holds no
usable cookie.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any

import redis.asyncio as aioredis

from router import keys

__all__ = [
    "Role",
    "Permission",
    "ROLE_PERMISSIONS",
    "can",
    "hash_password",
    "verify_password",
    "verify_password_async",
    "generate_password",
    "Session",
    "SessionStore",
    "LoginLimiter",
    "SESSION_TTL_SECONDS",
    "MIN_PASSWORD_CHARS",
]

SESSION_TTL_SECONDS = 8 * 3600  # one shift; every request slides it
MIN_PASSWORD_CHARS = 10
# scrypt cost: ~16 MiB and ~50 ms per check on one core — slow for a guesser, fine for a login form.
_N, _R, _P, _DKLEN = 2**14, 8, 1, 32


class Role(str, Enum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Permission(str, Enum):
    HANDLE_CONVERSATIONS = "handle_conversations"  # queue, claim, reply, hand back, close
    HANDLE_TICKETS = "handle_tickets"  # board, detail, lifecycle moves
    SEE_PHONES = "see_phones"  # unmasked phone numbers
    SUPERVISE = "supervise"  # supervisor dashboard (queue figures, 三率)
    READ_AUDIT = "read_audit"
    MANAGE_USERS = "manage_users"


_OPERATOR = frozenset({Permission.HANDLE_CONVERSATIONS, Permission.HANDLE_TICKETS})
_SUPERVISOR = _OPERATOR | {Permission.SEE_PHONES, Permission.SUPERVISE, Permission.READ_AUDIT}
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OPERATOR: _OPERATOR,
    Role.SUPERVISOR: frozenset(_SUPERVISOR),
    Role.ADMIN: frozenset(_SUPERVISOR | {Permission.MANAGE_USERS}),
}


def can(role: Role | str, permission: Permission) -> bool:
    try:
        return permission in ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False


# ------------------------------------------------------------------------------------------ passwords


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64), self-describing so the cost can be raised later."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=_DKLEN)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


# Checked against when the user does not exist, so a miss costs as much as a wrong password.
_DUMMY_HASH = hash_password("not-a-real-password", salt=b"\x00" * 16)


def verify_password(password: str, stored: str | None) -> bool:
    encoded = stored or _DUMMY_HASH
    try:
        scheme, n, r, p, salt_b64, hash_b64 = encoded.split("$")
        if scheme != "scrypt":
            return False
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(hash_b64)
        got = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=int(n), r=int(r), p=int(p),
                             dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected) and stored is not None


async def verify_password_async(password: str, stored: str | None) -> bool:
    """verify_password off the event loop: 50 ms of scrypt must not stall every open console."""
    return await asyncio.to_thread(verify_password, password, stored)


def generate_password() -> str:
    """16 characters from an alphabet without look-alikes (0/O, 1/l/I), easy to read out over the phone."""
    alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(16))


# ------------------------------------------------------------------------------------------ sessions


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    id: str  # the cookie value; never stored in Redis as such
    user: str
    role: Role
    csrf: str
    created_at: float

    def can(self, permission: Permission) -> bool:
        return can(self.role, permission)

    def csrf_ok(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(str(token).encode(), self.csrf.encode())


class SessionStore:
    def __init__(self, redis: aioredis.Redis, *, ttl_seconds: int = SESSION_TTL_SECONDS) -> None:
        self.redis = redis
        self.ttl = ttl_seconds

    async def create(self, user: str, role: Role | str) -> Session:
        session = Session(id=secrets.token_urlsafe(32), user=user, role=Role(role),
                          csrf=secrets.token_urlsafe(32), created_at=time.time())
        key = keys.console_session(_digest(session.id))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"user": session.user, "role": session.role.value, "csrf": session.csrf,
                                    "created_at": str(session.created_at)})
            pipe.expire(key, self.ttl)
            await pipe.execute()
        return session

    async def get(self, session_id: str | None) -> Session | None:
        """The live session for a cookie value (sliding its expiry), or None."""
        if not session_id or len(session_id) > 128:
            return None
        key = keys.console_session(_digest(session_id))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(key)
            pipe.expire(key, self.ttl)
            h, _ = await pipe.execute()
        if not h or "user" not in h:
            return None
        try:
            role = Role(h.get("role", ""))
        except ValueError:
            return None
        return Session(id=session_id, user=h["user"], role=role, csrf=h.get("csrf", ""),
                       created_at=float(h.get("created_at") or 0))

    async def delete(self, session_id: str) -> None:
        await self.redis.delete(keys.console_session(_digest(session_id)))

    async def flash(self, session: Session, kind: str, text: str) -> None:
        """A message shown once on the next page (the result of a POST that redirected)."""
        await self.redis.hset(keys.console_session(_digest(session.id)), "flash",
                              json.dumps({"kind": kind, "text": text}, ensure_ascii=False))

    async def pop_flash(self, session: Session) -> dict[str, Any] | None:
        key = keys.console_session(_digest(session.id))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hget(key, "flash")
            pipe.hdel(key, "flash")
            raw, _ = await pipe.execute()
        return json.loads(raw) if raw else None


class LoginLimiter:
    """At most ``max_failures`` wrong passwords per client address and user name per ``window``.

    Keyed by both so one guesser cannot lock a colleague out from another desk, and one address cannot
    try every name either without being counted per name.
    """

    def __init__(self, redis: aioredis.Redis, *, max_failures: int = 5, window_seconds: int = 15 * 60) -> None:
        self.redis = redis
        self.max_failures = max_failures
        self.window = window_seconds

    async def blocked_for(self, ip: str, user: str) -> int:
        """Seconds until this address may try this user again (0: not blocked)."""
        key = keys.console_login_failures(ip, user.lower())
        count = await self.redis.get(key)
        if count is None or int(count) < self.max_failures:
            return 0
        return max(int(await self.redis.ttl(key)), 1)

    async def failed(self, ip: str, user: str) -> None:
        key = keys.console_login_failures(ip, user.lower())
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, self.window, nx=True)
            await pipe.execute()

    async def succeeded(self, ip: str, user: str) -> None:
        await self.redis.delete(keys.console_login_failures(ip, user.lower()))
