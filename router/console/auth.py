"""Who may use the operator console and what each role may do: password hashes, login sessions in Redis,
CSRF tokens and the failed-login limit.

Passwords are hashed with scrypt (memory-hard, in the standard library) and a per-user salt; checks use
a constant-time compare, and an unknown user name costs the same hash as a known one so timing does not
tell which names exist. Sessions are random ids in an HttpOnly cookie; Redis stores them under their
SHA-256 with a sliding TTL, so any router instance can serve any operator and a Redis dump holds no
usable cookie. Each session carries the user's session epoch at login; disabling the user, changing their
role or password bumps the epoch (router.console.users), which ends every older session at its next
request.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import ipaddress
import json
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from router import keys
from router.adapters import StrRedis

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


def password_from_stdin() -> tuple[str, bool]:
    """For the admin CLIs: (a password piped in on one line, False), else (a generated one, True)."""
    if not sys.stdin.isatty():
        given = sys.stdin.readline().rstrip("\r\n")
        if given:
            return given, False
    return generate_password(), True


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
    epoch: int = 0  # the user's session epoch at login; a newer one in the user record ends this session
    must_change: bool = False  # the user's password must be changed before anything else (set per request)

    def can(self, permission: Permission) -> bool:
        return can(self.role, permission)

    def csrf_ok(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(str(token).encode(), self.csrf.encode())


def csrf_matches(expected: str, token: str | None) -> bool:
    """A form's CSRF token against the session's (or, on a login form, the double-submit cookie's), in
    constant time; an empty token never matches."""
    return bool(token) and hmac.compare_digest(str(token).encode(), expected.encode())


def safe_next(target: str | None, prefix: str, default: str) -> str:
    """Where to go after logging in: only our own pages under ``prefix``, never an open redirect to another
    site (//evil, /\\evil)."""
    if target and target.startswith(prefix) and not target.startswith(("//", "/\\")) and "\\" not in target:
        return target
    return default


class RedisSessions:
    """Login sessions in Redis hashes keyed by a digest of the cookie value (the value itself is never
    stored), each request sliding the expiry, with a message shown once on the next page (a POST's result
    after its redirect). The console's sessions and the units' portal sessions are both these."""

    def __init__(self, redis: StrRedis, key: Callable[[str], str], *, ttl_seconds: int) -> None:
        self.redis = redis
        self._key_of = key
        self.ttl = ttl_seconds

    def _key(self, session_id: str) -> str:
        return self._key_of(_digest(session_id))

    async def _store(self, session_id: str, fields: dict[str, str]) -> None:
        key = self._key(session_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=fields)
            pipe.expire(key, self.ttl)
            await pipe.execute()

    async def _load(self, session_id: str | None) -> dict[str, str] | None:
        """The stored fields of a live session (sliding its expiry), or None."""
        if not session_id or len(session_id) > 128:
            return None
        key = self._key(session_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(key)
            pipe.expire(key, self.ttl)
            h, _ = await pipe.execute()
        return h if h and "user" in h else None

    async def delete(self, session_id: str) -> None:
        await self.redis.delete(self._key(session_id))

    async def flash(self, session: Any, kind: str, text: str) -> None:
        """A message shown once on the next page (the result of a POST that redirected)."""
        await self.redis.hset(self._key(session.id), "flash", json.dumps({"kind": kind, "text": text},
                                                                         ensure_ascii=False))

    async def pop_flash(self, session: Any) -> dict[str, Any] | None:
        key = self._key(session.id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hget(key, "flash")
            pipe.hdel(key, "flash")
            raw, _ = await pipe.execute()
        return json.loads(raw) if raw else None


class SessionStore(RedisSessions):
    def __init__(self, redis: StrRedis, *, ttl_seconds: int = SESSION_TTL_SECONDS) -> None:
        super().__init__(redis, keys.console_session, ttl_seconds=ttl_seconds)

    async def create(self, user: str, role: Role | str, *, epoch: int = 0) -> Session:
        session = Session(id=secrets.token_urlsafe(32), user=user, role=Role(role),
                          csrf=secrets.token_urlsafe(32), created_at=time.time(), epoch=epoch)
        await self._store(session.id, {"user": session.user, "role": session.role.value, "csrf": session.csrf,
                                       "created_at": str(session.created_at), "epoch": str(session.epoch)})
        return session

    async def get(self, session_id: str | None) -> Session | None:
        """The live session for a cookie value (sliding its expiry), or None."""
        h = await self._load(session_id)
        if h is None or session_id is None:
            return None
        try:
            role = Role(h.get("role", ""))
        except ValueError:
            return None
        return Session(id=session_id, user=h["user"], role=role, csrf=h.get("csrf", ""),
                       created_at=float(h.get("created_at") or 0), epoch=int(h.get("epoch") or 0))


# Take one attempt from every bucket, or none if any is spent: the check and the count are one step, so
# concurrent guesses cannot all pass the check before any of them is counted.
_ACQUIRE = """
local wait = 0
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[i + 1]) then
    local ttl = redis.call('TTL', key)
    if ttl < 1 then redis.call('EXPIRE', key, ARGV[1]); ttl = tonumber(ARGV[1]) end
    wait = math.max(wait, ttl)
  end
end
if wait > 0 then return wait end
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 or redis.call('TTL', key) < 0 then
    redis.call('EXPIRE', key, ARGV[1])
  end
end
return 0
"""

# A right password: the account's buckets start again, the address gets its attempt back.
_SUCCEEDED = """
redis.call('DEL', KEYS[1], KEYS[2])
if redis.call('DECR', KEYS[3]) <= 0 then redis.call('DEL', KEYS[3]) end
return 1
"""


class LoginLimiter:
    """Password checks per lockout window, counted in three buckets at once:

    - per client address and account (5): one desk guessing one colleague's password;
    - per account (20): many addresses guessing one password — higher than the first, so a guesser from
      a few addresses cannot lock a colleague out as quickly as a mistyping colleague locks themselves;
    - per client address (30): one address trying a few passwords on every name.

    ``acquire`` takes an attempt from all three in one Lua script before the password is checked (not
    after it fails), so N concurrent wrong passwords cannot get past the limit: at most ``limit`` of them
    reach the check. A right password resets the account's buckets and gives the address its attempt
    back, so a busy office behind one address is never locked out by its own logins. The client address
    comes from router.console.proxies (X-Forwarded-For only from a trusted proxy); IPv6 clients count
    per /64, which is what one household or office gets.
    """

    def __init__(self, redis: StrRedis, *, max_failures: int = 5, max_per_account: int = 20,
                 max_per_address: int = 30, window_seconds: int = 15 * 60) -> None:
        self.redis = redis
        self.max_failures = max_failures
        self.max_per_account = max_per_account
        self.max_per_address = max_per_address
        self.window = window_seconds
        self._acquire = redis.register_script(_ACQUIRE)
        self._succeeded = redis.register_script(_SUCCEEDED)

    @staticmethod
    def _keys(ip: str, user: str) -> list[str]:
        address = ip
        with contextlib.suppress(ValueError):
            parsed = ipaddress.ip_address(ip)
            if parsed.version == 6:
                address = str(ipaddress.ip_network(f"{ip}/64", strict=False))
        name = user.lower()
        return [keys.console_login_attempts(f"pair:{address}:{name}"), keys.console_login_attempts(f"user:{name}"),
                keys.console_login_attempts(f"addr:{address}")]

    async def acquire(self, ip: str, user: str) -> int:
        """Take one password check for this address and user: 0 if granted, else the seconds until the
        spent bucket refills (the attempt is then not counted)."""
        return int(await self._acquire(keys=self._keys(ip, user), args=[
            self.window, self.max_failures, self.max_per_account, self.max_per_address]))

    async def succeeded(self, ip: str, user: str) -> None:
        await self._succeeded(keys=self._keys(ip, user))
