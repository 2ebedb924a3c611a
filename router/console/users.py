"""Console users in Redis (name, role, scrypt hash, flags) and the first admin created on first start.

Every change that takes away what a user may do — disabling them, changing their role, setting their
password (a reset by an admin, or their own change) or removing them — bumps the user's session epoch in
the same step and announces it on their pub/sub channel: every session from before is refused at its next
request (router.console.access), and their open live streams end at once. The shell (``python -m
router.console users ...``) and the console go through these same methods.

A password that someone other than its owner has seen (the first admin's, one an admin generated in the
console or with the CLI) is marked ``must_change``: the console lets that user do nothing else until
they chose their own.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from router import keys
from router.adapters import StrRedis
from router.console.auth import (
    MIN_PASSWORD_CHARS,
    Role,
    generate_password,
    hash_password,
    verify_password_async,
)

__all__ = ["User", "UserStore", "UserExists", "UserNotFound", "InvalidUser", "ensure_bootstrap_admin",
           "refresh_bootstrap_notice", "check_password", "BOOTSTRAP_FILE", "BOOTSTRAP_SECRET_FILE"]

BOOTSTRAP_FILE = "console-admin.txt"  # `make run` (scripts/watch.py) prints this file as "console login"
BOOTSTRAP_SECRET_FILE = "console-admin-password.txt"  # the first password, kept after the first start
MAX_PASSWORD_CHARS = 128
_NAME = re.compile(r"^[A-Za-z0-9_.-]{2,32}$")
_RESET_HINT = "(source scripts/env.sh && .venv/bin/python -m router.console users passwd {name})"

# Create the user only if the name is free, and list it, in one step.
_ADD = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'name', ARGV[1], 'role', ARGV[2], 'password', ARGV[3], 'created_at', ARGV[4],
           'disabled', '0', 'must_change', ARGV[5], 'epoch', ARGV[6])
redis.call('SADD', KEYS[2], ARGV[1])
return 1
"""

# Change fields of an existing user (never re-create a removed one) and, with ARGV[1] == '1', bump the
# session epoch in the same step. Returns the epoch, or -1 if there is no such user.
_UPDATE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
if ARGV[1] == '1' then return redis.call('HINCRBY', KEYS[1], 'epoch', 1) end
return tonumber(redis.call('HGET', KEYS[1], 'epoch') or '0')
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
    must_change: bool = False  # the password was seen by someone else: change it before anything else
    epoch: int = 0  # sessions from before the last revocation carry a smaller one


def check_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise InvalidUser("user name: 2-32 letters, digits, '.', '_' or '-'")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidUser(f"password needs at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidUser(f"password may have at most {MAX_PASSWORD_CHARS} characters")
    return password


def check_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InvalidUser(f"role must be one of {', '.join(r.value for r in Role)}") from None


class UserStore:
    def __init__(self, redis: StrRedis) -> None:
        self.redis = redis
        self._add = redis.register_script(_ADD)
        self._update = redis.register_script(_UPDATE)

    async def add(self, name: str, role: Role | str, password: str, *, must_change: bool = False) -> User:
        check_name(name)
        role = check_role(role)
        check_password(password)
        now = time.time()
        # A fresh epoch per user, not 0: sessions of an earlier user of the same name stay dead.
        epoch = secrets.randbelow(1 << 48)
        ok = await self._add(keys=[keys.console_user(name), keys.console_users()],
                             args=[name, role.value, await _hash(password), str(now), "1" if must_change else "0",
                                   str(epoch)])
        if not ok:
            raise UserExists(name)
        return User(name=name, role=role, created_at=now, must_change=must_change, epoch=epoch)

    async def get(self, name: str) -> User | None:
        h = await self.redis.hgetall(keys.console_user(name)) if _NAME.match(name or "") else {}
        if not h:
            return None
        return User(name=h["name"], role=Role(h["role"]), created_at=float(h.get("created_at") or 0),
                    disabled=h.get("disabled") == "1", must_change=h.get("must_change") == "1",
                    epoch=int(h.get("epoch") or 0))

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

    async def set_password(self, name: str, password: str, *, must_change: bool = False) -> int:
        """Set the password and end every session of the user; returns their new session epoch.
        ``must_change``: someone else chose or saw it (a reset), so the owner must pick their own."""
        check_password(password)
        return await self._change(name, True, password=await _hash(password),
                                  must_change="1" if must_change else "0")

    async def set_role(self, name: str, role: Role | str) -> None:
        role = check_role(role)
        await self._change(name, True, role=role.value)

    async def set_disabled(self, name: str, disabled: bool) -> None:
        await self._change(name, disabled, disabled="1" if disabled else "0")

    async def remove(self, name: str) -> None:
        await self._require(name)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.console_user(name))
            pipe.srem(keys.console_users(), name)
            pipe.publish(keys.console_user_events(name), json.dumps({"type": "revoked"}))
            await pipe.execute()

    async def _change(self, name: str, revoke: bool, **fields: str) -> int:
        if not _NAME.match(name or ""):
            raise UserNotFound(name)
        args = ["1" if revoke else "0"] + [x for pair in fields.items() for x in pair]
        epoch = int(await self._update(keys=[keys.console_user(name)], args=args))
        if epoch < 0:
            raise UserNotFound(name)
        if revoke:  # open live streams of the user end now, not at their next recheck
            await self.redis.publish(keys.console_user_events(name), json.dumps({"type": "revoked"}))
        return epoch

    async def count(self) -> int:
        return int(await self.redis.scard(keys.console_users()))

    async def _require(self, name: str) -> None:
        if await self.get(name) is None:
            raise UserNotFound(name)


async def _hash(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)  # 50 ms of scrypt off the event loop


def _write_secret(target: Path, content: str) -> None:
    """Write a file only its owner can read (created 0600, not chmod-ed after the fact)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(content)
    os.chmod(target, 0o600)  # an existing file keeps its old mode through O_CREAT


async def ensure_bootstrap_admin(redis: StrRedis, var_dir: str | Path) -> tuple[str, str] | None:
    """On the very first start (no console users at all) create ``admin`` with a random password that
    must be changed at the first login, and write "admin / PASSWORD" to var_dir/console-admin.txt (mode
    0600), which `make run` prints. Returns (name, password) when it created the user, else None. Two
    routers starting together create it once (the lock + add-if-absent). Later starts call
    refresh_bootstrap_notice instead, so the password is printed on the first start only.
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
            await store.add("admin", Role.ADMIN, password, must_change=True)
        except UserExists:
            return None
        await asyncio.to_thread(_write_secret, Path(var_dir) / BOOTSTRAP_FILE, f"admin / {password}\n")
        return "admin", password
    finally:
        await redis.delete(keys.console_bootstrap_lock())


async def refresh_bootstrap_notice(redis: StrRedis, var_dir: str | Path) -> None:
    """On every later start (and after a password change): console-admin.txt, which `make run` prints,
    no longer holds the first admin's password but says where it is and how to reset it. Until the admin
    has changed it, the password moves to console-admin-password.txt (0600); once changed, that file is
    deleted — it opens nothing any more. Nothing happens where console-admin.txt does not exist."""
    shown, kept = Path(var_dir) / BOOTSTRAP_FILE, Path(var_dir) / BOOTSTRAP_SECRET_FILE
    try:
        line = (await asyncio.to_thread(shown.read_text, encoding="utf-8")).strip()
    except FileNotFoundError:
        return
    name = re.split(r"[\s/]", line, maxsplit=1)[0] or "admin"
    if not _NAME.match(name):
        return
    user = await UserStore(redis).get(name)
    if " / " in line and user is not None and user.must_change:
        await asyncio.to_thread(_write_secret, kept, line + "\n")
    if user is not None and user.must_change and kept.exists():
        where = f"first-start password in {kept}, to be changed at the first login"
    else:
        await asyncio.to_thread(kept.unlink, missing_ok=True)
        where = "password not kept on disk" if user is not None else "no such user any more"
    notice = f"{name} — {where}; to reset it: {_RESET_HINT.format(name=name)}\n"
    if line + "\n" != notice:
        await asyncio.to_thread(_write_secret, shown, notice)
