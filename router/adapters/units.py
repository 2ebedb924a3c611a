"""The units that handle tickets, and their logins, in Redis (router/keys.py: unit_user, unit_users,
unit_session).

A unit is who a ticket is dispatched to (``ticket.assignee.department``): a department (区城管局), a street
office (粤海街道办事处: it also sees the work of its communities), a community 综治中心 (科技园社区综治中心)
or a 网格员 with their grid (G01网格员); above the street offices, a district's 12345 分中心 (南山区12345分中心:
the 区 level, named after the district as a street office is after its street) and the city's 12345 热线中心
(深圳市12345热线中心: the 市 level), which take what is escalated (上报) to them. Each login belongs to one unit; several people of one unit each
have their own login. Passwords are hashed and checked with the console's scrypt functions
(router.console.auth); sessions are random cookies stored under their SHA-256, like the console's, with a
sliding TTL and a CSRF token; disabling a login or changing its password bumps its epoch, which ends every
older session at its next request.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from dataclasses import dataclass
from enum import Enum

from router import keys
from router.adapters import StrRedis
from router.console.auth import RedisSessions, csrf_matches, hash_password, verify_password_async
from router.console.users import InvalidUser, check_password

__all__ = ["UnitKind", "Unit", "UnitStore", "UnitSession", "UnitSessions", "InvalidUnit", "UnitExists",
           "UnitNotFound", "street_of", "district_office", "district_of", "CITY_CENTRE", "DISTRICT_SUFFIX",
           "CITY_SUFFIX", "SESSION_TTL_SECONDS"]

SESSION_TTL_SECONDS = 12 * 3600  # a working day on the street; every request slides it
_NAME = re.compile(r"^[A-Za-z0-9_.-]{2,32}$")

# Create the login only if the name is free, and list it, in one step.
_ADD = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'name', ARGV[1], 'kind', ARGV[2], 'unit', ARGV[3], 'password', ARGV[4],
           'created_at', ARGV[5], 'disabled', '0', 'epoch', ARGV[6])
redis.call('SADD', KEYS[2], ARGV[1])
return 1
"""

# Change fields of an existing login and bump its epoch (older sessions end). -1: no such login.
_UPDATE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
for i = 1, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return redis.call('HINCRBY', KEYS[1], 'epoch', 1)
"""


class UnitKind(str, Enum):
    DEPARTMENT = "department"
    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"
    DISTRICT = "district"  # a district's 12345 分中心: the 区 level of 上报
    CITY = "city"  # the city's 12345 热线中心: the 市 level


DISTRICT_SUFFIX = "12345分中心"
CITY_SUFFIX = "12345热线中心"
CITY_CENTRE = "深圳市" + CITY_SUFFIX  # the one 市-level unit a 上报 from a district reaches
# The tier of the escalation ladder (ESCALATION_LEVELS) each kind works at; a department has none of its own.
TIERS = {UnitKind.GRID: "社区", UnitKind.COMMUNITY: "社区", UnitKind.STREET: "街道", UnitKind.DISTRICT: "区",
         UnitKind.CITY: "市"}


class InvalidUnit(ValueError):
    """A name, kind, unit or password the portal does not accept; the message says why."""


class UnitExists(Exception):
    pass


class UnitNotFound(LookupError):
    pass


def street_of(office: str) -> str:
    """The street a 街道办事处 runs: 粤海街道办事处 → 粤海街道."""
    return office.removesuffix("办事处")


def district_office(district: str) -> str:
    """The 区-level unit a street office escalates to: 南山区 → 南山区12345分中心."""
    return district + DISTRICT_SUFFIX


def district_of(office: str) -> str:
    """The district a 12345 分中心 coordinates: 南山区12345分中心 → 南山区."""
    return office.removesuffix(DISTRICT_SUFFIX)


def _check(name: str, kind: str, unit: str) -> UnitKind:
    if not _NAME.match(name or ""):
        raise InvalidUnit("login name: 2-32 letters, digits, '.', '_' or '-'")
    try:
        k = UnitKind(kind)
    except ValueError:
        raise InvalidUnit(f"kind must be one of {', '.join(x.value for x in UnitKind)}") from None
    unit = (unit or "").strip()
    if not unit or len(unit) > 60:
        raise InvalidUnit("unit: the name tickets are dispatched to (e.g. 区城管局), 1-60 characters")
    suffix = {UnitKind.STREET: "街道办事处", UnitKind.COMMUNITY: "综治中心", UnitKind.GRID: "网格员",
              UnitKind.DISTRICT: DISTRICT_SUFFIX, UnitKind.CITY: CITY_SUFFIX}.get(k)
    if suffix and (not unit.endswith(suffix) or (k in (UnitKind.DISTRICT, UnitKind.CITY) and unit == suffix)):
        example = {"street": "粤海街道办事处", "community": "科技园社区综治中心", "grid": "G01网格员",
                   "district": district_office("南山区"), "city": CITY_CENTRE}[k.value]
        raise InvalidUnit(f"a {k.value} unit's name ends with {suffix} (e.g. {example})")
    return k


def _password(password: str) -> None:
    try:
        check_password(password)  # the console's rule: 10-128 characters
    except InvalidUser as exc:
        raise InvalidUnit(str(exc)) from None


@dataclass(frozen=True)
class Unit:
    """One login of one unit."""

    name: str  # the login name
    kind: UnitKind
    unit: str  # the name tickets are dispatched to (ticket.assignee.department)
    created_at: float = 0.0
    disabled: bool = False
    epoch: int = 0

    @property
    def actor(self) -> str:
        """How the ticket history names this login's moves."""
        return f"unit:{self.name}"

    @property
    def tier(self) -> str:
        """The escalation tier it works at (社区/街道/区/市); empty for a department."""
        return TIERS.get(self.kind, "")

    @property
    def grid(self) -> str:
        """A 网格员's grid (G01网格员 → G01); empty for other kinds."""
        return self.unit.removesuffix("网格员") if self.kind is UnitKind.GRID else ""


class UnitStore:
    def __init__(self, redis: StrRedis) -> None:
        self.redis = redis
        self._add = redis.register_script(_ADD)
        self._update = redis.register_script(_UPDATE)

    async def add(self, name: str, kind: UnitKind | str, unit: str, password: str) -> Unit:
        k = _check(name, kind.value if isinstance(kind, UnitKind) else kind, unit)
        _password(password)
        now = time.time()
        epoch = secrets.randbelow(1 << 48)  # sessions of an earlier login of the same name stay dead
        hashed = await asyncio.to_thread(hash_password, password)
        ok = await self._add(keys=[keys.unit_user(name), keys.unit_users()],
                             args=[name, k.value, unit.strip(), hashed, str(now), str(epoch)])
        if not ok:
            raise UnitExists(name)
        return Unit(name, k, unit.strip(), now, False, epoch)

    async def get(self, name: str) -> Unit | None:
        h = await self.redis.hgetall(keys.unit_user(name)) if _NAME.match(name or "") else {}
        if not h:
            return None
        return Unit(name=h["name"], kind=UnitKind(h["kind"]), unit=h["unit"],
                    created_at=float(h.get("created_at") or 0), disabled=h.get("disabled") == "1",
                    epoch=int(h.get("epoch") or 0))

    async def authenticate(self, name: str, password: str) -> Unit | None:
        """The login if the password is right and it is enabled; None otherwise (same cost either way)."""
        stored = await self.redis.hget(keys.unit_user(name), "password") if _NAME.match(name or "") else None
        if not await verify_password_async(password, stored):
            return None
        unit = await self.get(name)
        return unit if unit is not None and not unit.disabled else None

    async def list(self) -> list[Unit]:
        names = sorted(await self.redis.smembers(keys.unit_users()))
        found = [await self.get(n) for n in names]
        return [u for u in found if u is not None]

    async def set_password(self, name: str, password: str) -> int:
        _password(password)
        return await self._change(name, password=await asyncio.to_thread(hash_password, password))

    async def set_disabled(self, name: str, disabled: bool) -> int:
        return await self._change(name, disabled="1" if disabled else "0")

    async def _change(self, name: str, **fields: str) -> int:
        if not _NAME.match(name or ""):
            raise UnitNotFound(name)
        epoch = int(await self._update(keys=[keys.unit_user(name)], args=[x for kv in fields.items() for x in kv]))
        if epoch < 0:
            raise UnitNotFound(name)
        return epoch


@dataclass(frozen=True)
class UnitSession:
    id: str  # the cookie value; never stored as such
    user: str
    csrf: str
    epoch: int

    def csrf_ok(self, token: str | None) -> bool:
        return csrf_matches(self.csrf, token)


class UnitSessions(RedisSessions):
    """A unit login's portal sessions: the console's session mechanism under the portal's own keys."""

    def __init__(self, redis: StrRedis, *, ttl_seconds: int = SESSION_TTL_SECONDS) -> None:
        super().__init__(redis, keys.unit_session, ttl_seconds=ttl_seconds)

    async def create(self, unit: Unit) -> UnitSession:
        session = UnitSession(secrets.token_urlsafe(32), unit.name, secrets.token_urlsafe(32), unit.epoch)
        await self._store(session.id, {"user": session.user, "csrf": session.csrf, "epoch": str(session.epoch)})
        return session

    async def get(self, session_id: str | None) -> UnitSession | None:
        h = await self._load(session_id)
        if h is None or session_id is None:
            return None
        return UnitSession(session_id, h["user"], h.get("csrf", ""), int(h.get("epoch") or 0))
