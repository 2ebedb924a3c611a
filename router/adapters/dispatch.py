"""Department work queues: dispatched tickets over Redis Streams with one consumer group per department.

The store XADDs an entry to ``rsa:dispatch:DEPT`` in the same transaction that moves a ticket to 派单.
A department's workers (people at a console, or a connector to the department's own system) call
:meth:`Dispatcher.claim`, then :meth:`accept` or :meth:`return_ticket`.

Exactly once, across crashes: the entry is XACKed only *after* the ticket transition has committed.
- crash after claim, before the move: the entry stays pending; after ``min_idle_ms`` another worker's
  claim takes it over (XAUTOCLAIM) and handles it.
- crash after the move, before XACK: the entry is reclaimed too, but the ticket no longer waits for
  that dispatch (its history moved on), so the claim acknowledges it and hands out nothing.
An entry is "live" while the ticket's last non-督办 history entry is the very 派单 the entry was
written for (``history_index``); a 督办 in between keeps it live, anything else makes it stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from router import keys
from router.adapters import StrRedis
from router.adapters.streams import claim_entries, ensure_group
from router.domain.tickets import Action, PreconditionFailed, Status, Ticket
from router.services.tickets import TicketService

__all__ = ["GROUP", "Claim", "Dispatcher", "StaleClaim", "is_live"]

GROUP = "workers"


class StaleClaim(Exception):
    """The ticket moved on since this dispatch (another worker, a 退单, a withdrawal...)."""


@dataclass(frozen=True)
class Claim:
    entry_id: str
    department: str
    ticket_id: str
    history_index: int
    ticket: Ticket
    delivery_count: int = 1  # >1 when the entry was reclaimed from a dead worker


def is_live(ticket: Ticket, department: str, history_index: int) -> bool:
    """Does ``ticket`` still wait for the dispatch written at ``history_index``?"""
    if ticket.status not in (Status.DISPATCHED, Status.ESCALATED):
        return False
    if ticket.assignee is None or ticket.assignee.department != department:
        return False
    last = max(i for i, h in enumerate(ticket.history) if h.action != Action.ESCALATE.value)
    return last == history_index and ticket.history[last].to is Status.DISPATCHED


class Dispatcher:
    def __init__(self, redis: StrRedis, tickets: TicketService, *, min_idle_ms: int = 60_000) -> None:
        self.redis = redis
        self.tickets = tickets  # every move through the ticket service: 办结 asks for the rating here too
        self.store = tickets.store
        self.min_idle_ms = min_idle_ms
        self._groups: set[str] = set()

    async def ensure_group(self, department: str) -> None:
        if department in self._groups:
            return
        await ensure_group(self.redis, keys.dispatch_stream(department), GROUP)
        self._groups.add(department)

    async def claim(self, department: str, consumer: str, count: int = 10) -> list[Claim]:
        """Up to ``count`` live work items: first those abandoned by dead workers, then new ones."""
        if count <= 0:
            return []
        await self.ensure_group(department)
        entries, reclaimed = await claim_entries(self.redis, keys.dispatch_stream(department), GROUP, consumer,
                                                 self.min_idle_ms, count)
        claims: list[Claim] = []
        stale: list[str] = []
        tickets = {t.id: t for t in await self.store.get_many([f["ticket_id"] for _, f in entries])}
        for entry_id, fields in entries:
            ticket = tickets.get(fields["ticket_id"])
            index = int(fields.get("history_index", -1))
            if ticket is None or not is_live(ticket, department, index):
                stale.append(entry_id)
                continue
            claims.append(Claim(entry_id, department, ticket.id, index, ticket,
                                2 if entry_id in reclaimed else 1))
        if stale:
            await self._ack(department, stale)
        return claims

    async def _ack(self, department: str, entry_ids: list[str]) -> None:
        await self.redis.xack(keys.dispatch_stream(department), GROUP, *entry_ids)

    async def _move(self, claim: Claim, action: Action, actor: str, reason: str | None, **data: Any) -> Ticket:
        try:
            ticket = await self.tickets.move(
                claim.ticket_id, action, actor, reason,
                precondition=lambda t: is_live(t, claim.department, claim.history_index), **data,
            )
        except PreconditionFailed:
            await self._ack(claim.department, [claim.entry_id])
            raise StaleClaim(f"ticket {claim.ticket_id} no longer waits for this dispatch") from None
        await self._ack(claim.department, [claim.entry_id])  # only now: the move is committed
        return ticket

    async def accept(self, claim: Claim, actor: str) -> Ticket:
        """The department takes the ticket on (处置)."""
        return await self._move(claim, Action.ACCEPT, actor, None)

    async def return_ticket(self, claim: Claim, actor: str, reason: str) -> Ticket:
        """退单: wrong department; back to the dispatch centre with the reason."""
        return await self._move(claim, Action.RETURN, actor, reason)

    async def resolve(self, ticket_id: str, actor: str, reason: str | None = None, **data: Any) -> Ticket:
        """办结 a ticket the department accepted earlier (its stream entry is long acknowledged)."""
        return await self.tickets.move(ticket_id, Action.RESOLVE, actor, reason, **data)

    async def pending_count(self, department: str) -> int:
        await self.ensure_group(department)
        info = await self.redis.xpending(keys.dispatch_stream(department), GROUP)
        return int(info["pending"])
