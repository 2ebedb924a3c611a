"""What every console module reads from a request: the console's state (one per router process, filled
in at startup), the logged-in session and the flash message guarded() put on the request, the operator's
address behind a trusted proxy, and the shared objects of the router the console works with (the ticket
store, the operator desk)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from redis.exceptions import RedisError

from router.adapters.ticket_store import RedisTicketStore
from router.appkeys import CONVERSATIONS, OUTBOUND, REDIS, TICKET_SERVICE, TICKETS
from router.console import proxies
from router.console.audit import AuditLog
from router.console.auth import LoginLimiter, Permission, Role, Session, SessionStore, can
from router.console.canned import CannedReplies
from router.console.users import UserStore
from router.services.assignment import DEFAULT_CAPACITY, Assigner
from router.services.desk import Desk
from router.services.tickets import TicketService

__all__ = ["HERE", "ConsoleState", "CONSOLE", "SESSION_KEY", "FLASH_KEY", "state_of", "session_of",
           "client_ip", "ticket_store", "ticket_service", "desk_of", "UNAVAILABLE", "canned_of", "assigner_of",
           "make_assigner"]

HERE = Path(__file__).resolve().parent  # templates/, static/, ui_zh.json, canned_zh.json


@dataclass
class ConsoleState:
    """Filled in at startup (Redis exists only then); one per router process, no per-user state."""

    texts: dict[str, Any]
    canned: list[dict[str, str]]
    env: jinja2.Environment
    sessions: SessionStore | None = None
    users: UserStore | None = None
    audit: AuditLog | None = None
    limiter: LoginLimiter | None = None
    trusted_proxies: proxies.Networks = ()  # Settings.console_trusted_proxies, parsed
    public_https: bool = False  # PUBLIC_URL is https: browsers reach the console over TLS
    var_dir: Path | None = None
    canned_store: CannedReplies | None = None  # supervisors' canned replies in Redis, seeded from ``canned``
    stopping: asyncio.Event = field(default_factory=asyncio.Event)


CONSOLE: web.AppKey[ConsoleState] = web.AppKey("console_state", ConsoleState)
SESSION_KEY: web.RequestKey[Session] = web.RequestKey("console_session", Session)
FLASH_KEY: web.RequestKey[Any] = web.RequestKey("console_flash")


def state_of(request: web.Request) -> ConsoleState:
    return request.config_dict[CONSOLE]


def session_of(request: web.Request) -> Session:
    """The logged-in session of a guarded() route."""
    return request[SESSION_KEY]


def client_ip(request: web.Request) -> str:
    """The operator's address: X-Forwarded-For only from a trusted proxy (router.console.proxies)."""
    return proxies.client_ip(request, state_of(request).trusted_proxies)


# Redis away for longer than the client's retries: a ticket page says the ticket service is unavailable.
UNAVAILABLE = (RedisError, OSError)


def ticket_store(request: web.Request) -> RedisTicketStore:
    return request.config_dict[TICKETS]


def ticket_service(request: web.Request) -> TicketService:
    """Every move goes through the router's ticket service: 办结 asks the resident for a rating here too."""
    return request.config_dict[TICKET_SERVICE]


def desk_of(request: web.Request) -> Desk:
    """The operator desk on the router's conversations, Redis and outbound delivery; the notices it shows
    residents are the console's (ui_zh.json, system_entries)."""
    return Desk(request.config_dict[CONVERSATIONS], request.config_dict[REDIS], request.config_dict[OUTBOUND],
                notices=state_of(request).texts["system_entries"])


def canned_of(request: web.Request) -> CannedReplies:
    store = state_of(request).canned_store
    assert store is not None
    return store


def make_assigner(conversations: Any, redis: Any, users: UserStore, desk: Desk | None = None) -> Assigner:
    """Auto-assignment over the console's users: an operator takes DEFAULT_CAPACITY conversations at once
    unless a supervisor set another number; supervisors and admins none unless given a number; a disabled
    or removed user, or a role without the desk, never."""

    async def default_capacity(name: str) -> int | None:
        user = await users.get(name)
        if user is None or user.disabled or not can(user.role, Permission.HANDLE_CONVERSATIONS):
            return None
        return DEFAULT_CAPACITY if user.role is Role.OPERATOR else 0

    return Assigner(conversations, redis, default_capacity, announce=desk.announce_claimed if desk else None)


def assigner_of(request: web.Request) -> Assigner:
    users = state_of(request).users
    assert users is not None
    return make_assigner(request.config_dict[CONVERSATIONS], request.config_dict[REDIS], users)
