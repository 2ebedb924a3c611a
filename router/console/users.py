"""Console users in Redis (name, role, scrypt hash) and the first admin created on first start."""

from __future__ import annotations

import asyncio
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import redis.asyncio as aioredis

from router import keys
from router.console.auth import (
    MIN_PASSWORD_CHARS,
    Role,
    generate_password,
    hash_password,
    verify_password_async,
)

__all__ = ["User", "UserStore", "UserExists", "UserNotFound", "InvalidUser", "ensure_bootstrap_admin",
           "BOOTSTRAP_FILE"]

BOOTSTRAP_FILE = "console-admin.txt"
_NAME = re.compile(r"^[A-Za-z0-9_.-]{2,32}$")

# Create the user only if the name is free, and list it, in one step.
_ADD = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'name', ARGV[1], 'role', ARGV[2], 'password', ARGV[3], 'created_at', ARGV[4],
           'disabled', '0')
redis.call('SADD', KEYS[2], ARGV[1])
return 1
"""


class UserExists(Exception):
    pass


class UserNotFound(LookupError):
    pass


class InvalidUser(ValueError):
    """A name, role or password that the console does not accept; the message says why."""


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    created_at: float
    disabled: bool = False


def check_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise InvalidUser("user name: 2-32 letters, digits, '.', '_' or '-'")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidUser(f"password needs at least {MIN_PASSWORD_CHARS} characters")
    return password


def check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InvalidUser(f"role must be one of {', '.join(r.value for r in Role)}") from None


class UserStore:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self._add = redis.register_script(_ADD)

    async def add(self, name: str, role: Role | str, password: str) -> User:
        check_name(name)
        role = check_role(role)
        check_password(password)
        now = time.time()
        ok = await self._add(keys=[keys.console_user(name), keys.console_users()],
                             args=[name, role.value, hash_password(password), str(now)])
        if not ok:
            raise UserExists(name)
        return User(name=name, role=role, created_at=now)

    async def get(self, name: str) -> User | None:
        h = await self.redis.hgetall(keys.console_user(name)) if _NAME.match(name or "") else {}
        if not h:
            return None
        return User(name=h["name"], role=Role(h["role"]), created_at=float(h.get("created_at") or 0),
                    disabled=h.get("disabled") == "1")

    async def authenticate(self, name: str, password: str) -> User | None:
        """The user if the password is right and the account enabled; None otherwise (same cost)."""
        stored = await self.redis.hget(keys.console_user(name), "password") if _NAME.match(name or "") else None
        ok = await verify_password_async(password, stored)
        if not ok:
            return None
        user = await self.get(name)
        return user if user is not None and not user.disabled else None

    async def list(self) -> list[User]:
        names = sorted(await self.redis.smembers(keys.console_users()))
        users = [await self.get(n) for n in names]
        return [u for u in users if u is not None]

    async def set_password(self, name: str, password: str) -> None:
        check_password(password)
        await self._require(name)
        await self.redis.hset(keys.console_user(name), "password", hash_password(password))

    async def set_role(self, name: str, role: Role | str) -> None:
        role = check_role(role)
        await self._require(name)
        await self.redis.hset(keys.console_user(name), "role", role.value)

    async def set_disabled(self, name: str, disabled: bool) -> None:
        await self._require(name)
        await self.redis.hset(keys.console_user(name), "disabled", "1" if disabled else "0")

    async def remove(self, name: str) -> None:
        await self._require(name)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.console_user(name))
            pipe.srem(keys.console_users(), name)
            await pipe.execute()

    async def count(self) -> int:
        return int(await self.redis.scard(keys.console_users()))

    async def _require(self, name: str) -> None:
        if await self.get(name) is None:
            raise UserNotFound(name)


def _write_secret(target: Path, content: str) -> None:
    """Write a file only its owner can read (created 0600, not chmod-ed after the fact)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(content)
    os.chmod(target, 0o600)  # an existing file keeps its old mode through O_CREAT


async def ensure_bootstrap_admin(redis: aioredis.Redis, var_dir: str | Path) -> tuple[str, str] | None:
    """On the very first start (no console users at all) create ``admin`` with a random password and
    write "admin / PASSWORD" to var_dir/console-admin.txt (mode 0600). Returns (name, password) when it
    created the user, else None. Two routers starting together create it once (the lock + add-if-absent).
    """
    store = UserStore(redis)
    if await store.count() > 0:
        return None
    if not await redis.set(keys.console_bootstrap_lock(), "1", nx=True, ex=60):
        return None
    try:
        if await store.count() > 0:
            return None
        password = generate_password()
        try:
            await store.add("admin", Role.ADMIN, password)
        except UserExists:
            return None
        await asyncio.to_thread(_write_secret, Path(var_dir) / BOOTSTRAP_FILE, f"admin / {password}\n")
        return "admin", password
    finally:
        await redis.delete(keys.console_bootstrap_lock())
