"""The work of the units that handle tickets (the portal at /work/), without HTTP.

Who sees what: a unit sees the tickets dispatched to it (``ticket.assignee.department`` is its name); a
street office also sees, read-only, the work of the community units in its street (综治中心, 网格员); a
district's 12345 分中心 the work of its district's street offices and community units and whatever is
supervised (督办) at 区 or 市 level in its district; the city's 12345 热线中心 whatever reached 市; and a
login sees the tickets it reported on patrol. Anything else is "not found" for it — it cannot tell
another unit's ticket from one that does not exist.

Who moves what: only the unit a ticket is dispatched to, and every move checks that again at commit time
(``precondition``), so a ticket re-dispatched meanwhile is a conflict, not a move on someone else's work.
签收 and 退单 of a ticket still waiting in its department's dispatch stream go through the Dispatcher as
the consumer ``portal``, so the stream entry is acknowledged once the move has committed. Every move goes
through TicketService.move (办结 asks the resident for the rating there).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from router import keys
from router.adapters import StrRedis
from router.adapters.dispatch import GROUP, Claim, Dispatcher, StaleClaim
from router.adapters.units import Unit, UnitKind, district_of, street_of
from router.domain.tickets import (
    MAX_TEXT_CHARS,
    OPEN_STATUSES,
    Action,
    PreconditionFailed,
    Status,
    Ticket,
    TicketNotFound,
    TransitionDataError,
)
from router.services.referral import is_referral
from router.services.tickets import TicketService

__all__ = ["WorkService", "NotYours", "CONSUMER", "COMMUNITY_SUFFIXES", "MAX_NOTE_CHARS", "required_text"]

CONSUMER = "portal"  # the portal's consumer name in every department's dispatch group
COMMUNITY_SUFFIXES = ("综治中心", "网格员")  # units below a street office
LOCAL_SUFFIXES = ("街道办事处", *COMMUNITY_SUFFIXES)  # units below a district's 12345 分中心
MAX_NOTE_CHARS = 1000
_LIST_LIMIT = 200


class NotYours(TicketNotFound):
    """The ticket is not this unit's to see or to move: answered as if it did not exist."""


def _live_index(ticket: Ticket) -> int | None:
    """The history index of the 派单 the ticket still waits for, if it waits for one."""
    if ticket.status not in (Status.DISPATCHED, Status.ESCALATED) or ticket.assignee is None:
        return None
    last = max(i for i, h in enumerate(ticket.history) if h.action != Action.ESCALATE.value)
    return last if ticket.history[last].to is Status.DISPATCHED else None


def required_text(value: str | None, what: str, limit: int, *, required: bool = True) -> str:
    """A unit's free text (a reason, a note, a result, a mediation's record): trimmed; missing or too long is a
    TransitionDataError whose message the unit reads as it is ("请填写退单理由", "办理结果太长了（最多 N 字）")."""
    text = (value or "").strip()
    if required and not text:
        raise TransitionDataError(f"请填写{what}")
    if len(text) > limit:
        raise TransitionDataError(f"{what}太长了（最多 {limit} 字）")
    return text


class WorkService:
    def __init__(self, tickets: TicketService, redis: StrRedis, *, dispatcher: Dispatcher | None = None) -> None:
        self.tickets = tickets
        self.store = tickets.store
        self.redis = redis
        self.dispatcher = dispatcher or Dispatcher(redis, tickets)

    # -- scope ------------------------------------------------------------------------------------

    @staticmethod
    def handles(unit: Unit, ticket: Ticket) -> bool:
        """The ticket is dispatched to this unit: it may move it."""
        return ticket.assignee is not None and ticket.assignee.department == unit.unit

    @classmethod
    def sees(cls, unit: Unit, ticket: Ticket) -> bool:
        if cls.handles(unit, ticket):
            return True
        if is_referral(ticket):  # a 心理服务室 referral: its room only, never the levels above, even overdue
            return False
        if unit.kind is UnitKind.STREET and ticket.assignee is not None:
            if (ticket.location.street == street_of(unit.unit)
                    and ticket.assignee.department.endswith(COMMUNITY_SUFFIXES)):
                return True
        if unit.kind is UnitKind.DISTRICT and ticket.assignee is not None:
            if ticket.location.district == district_of(unit.unit) and (
                    ticket.assignee.department.endswith(LOCAL_SUFFIXES) or ticket.escalation_level in ("区", "市")):
                return True
        if unit.kind is UnitKind.CITY and ticket.assignee is not None and ticket.escalation_level == "市":
            return True
        return bool(ticket.history) and ticket.history[0].actor == unit.actor

    async def ticket_for(self, unit: Unit, ticket_id: str) -> Ticket:
        ticket = await self.store.get(ticket_id)
        if ticket is None or not self.sees(unit, ticket):
            raise NotYours(ticket_id)
        return ticket

    async def my_tickets(self, unit: Unit) -> list[Ticket]:
        """What was dispatched to this unit (a street office, a district, the city: and the open work below it
        that it sees), newest first."""
        found: dict[str, Ticket] = {t.id: t for t in await self.store.search(department=unit.unit,
                                                                               limit=_LIST_LIMIT)}
        if unit.kind in (UnitKind.STREET, UnitKind.DISTRICT, UnitKind.CITY):
            district = district_of(unit.unit) if unit.kind is UnitKind.DISTRICT else None
            for status in OPEN_STATUSES:
                for t in await self.store.search(status=status, district=district, limit=_LIST_LIMIT):
                    found.setdefault(t.id, t)
        mine = [t for t in found.values() if self.sees(unit, t) and t.assignee is not None]
        return sorted(mine, key=lambda t: t.created_at, reverse=True)

    async def my_reports(self, unit: Unit, limit: int = 50) -> list[Ticket]:
        ids = await self.redis.zrevrange(keys.unit_reports(unit.name), 0, limit - 1)
        return [t for t in await self.store.get_many(list(ids)) if self.sees(unit, t)]

    # -- moves ------------------------------------------------------------------------------------

    async def _mine(self, unit: Unit, ticket_id: str) -> Ticket:
        ticket = await self.store.get(ticket_id)
        if ticket is None or not self.handles(unit, ticket):
            raise NotYours(ticket_id)
        return ticket

    def _still_mine(self, unit: Unit) -> Callable[[Ticket], bool]:
        return lambda t: self.handles(unit, t)

    async def _move(self, unit: Unit, ticket_id: str, action: Action, reason: str | None = None,
                    **data: Any) -> Ticket:
        await self._mine(unit, ticket_id)
        return await self.tickets.move(ticket_id, action, unit.actor, reason, precondition=self._still_mine(unit),
                                       **data)

    async def _claim(self, ticket: Ticket) -> Claim | None:
        """The live dispatch entry of ``ticket``, delivered to the portal's consumer; None if there is none
        (an old ticket from before the streams, or a trimmed stream)."""
        index = _live_index(ticket)
        if index is None or ticket.assignee is None:
            return None
        department = ticket.assignee.department
        for _ in range(20):  # take what is new (stale entries are acknowledged on the way)
            claims = await self.dispatcher.claim(department, CONSUMER, count=100)
            for claim in claims:
                if claim.ticket_id == ticket.id and claim.history_index == index:
                    return claim
            if len(claims) < 100:
                break
        # delivered before (to the portal or to another worker) and still pending: find it in the group
        stream = keys.dispatch_stream(department)
        start = "-"
        for _ in range(50):
            pending = await self.redis.xpending_range(stream, GROUP, min=start, max="+", count=200)
            if not pending:
                return None
            ids = [str(p["message_id"]) for p in pending]
            async with self.redis.pipeline(transaction=False) as pipe:
                for entry_id in ids:
                    pipe.xrange(stream, min=entry_id, max=entry_id)
                entries = await pipe.execute()
            for entry_id, found in zip(ids, entries, strict=True):
                fields = found[0][1] if found else {}
                if fields.get("ticket_id") == ticket.id and fields.get("history_index") == str(index):
                    await self.redis.xclaim(stream, GROUP, CONSUMER, 0, [entry_id])
                    return Claim(entry_id, department, ticket.id, index, ticket)
            last_ms, _, last_seq = ids[-1].partition("-")
            start = f"{last_ms}-{int(last_seq or 0) + 1}"
        return None

    async def accept(self, unit: Unit, ticket_id: str) -> Ticket:
        """签收: the unit takes the ticket on (处置)."""
        ticket = await self._mine(unit, ticket_id)
        claim = await self._claim(ticket)  # None unless it still waits for a dispatch (派单, or 督办 since)
        if claim is not None:
            try:
                return await self.dispatcher.accept(claim, unit.actor)
            except StaleClaim:
                raise PreconditionFailed(f"ticket {ticket_id} moved on meanwhile") from None
        return await self._move(unit, ticket_id, Action.ACCEPT)

    async def return_ticket(self, unit: Unit, ticket_id: str, reason: str | None) -> Ticket:
        """退单: not this unit's matter; back to the dispatch centre with the reason."""
        why = required_text(reason, "退单理由", 500)
        ticket = await self._mine(unit, ticket_id)
        claim = await self._claim(ticket)  # None unless it still waits for a dispatch (派单, or 督办 since)
        if claim is not None:
            try:
                return await self.dispatcher.return_ticket(claim, unit.actor, why)
            except StaleClaim:
                raise PreconditionFailed(f"ticket {ticket_id} moved on meanwhile") from None
        return await self._move(unit, ticket_id, Action.RETURN, why)

    async def note(self, unit: Unit, ticket_id: str, text: str | None, photo: str | None = None) -> Ticket:
        """进展: what was done so far; the status stays."""
        note = required_text(text, "进展内容", MAX_NOTE_CHARS)
        ticket = await self._move(unit, ticket_id, Action.NOTE, note, **({"photo": photo} if photo else {}))
        if photo:
            await self.attach(ticket_id, photo, "note")
        return ticket

    async def resolve(self, unit: Unit, ticket_id: str, result: str | None, photo: str | None = None) -> Ticket:
        """办结 with the result the resident will read (and be asked to rate)."""
        text = required_text(result, "办理结果", MAX_NOTE_CHARS)
        ticket = await self._move(unit, ticket_id, Action.RESOLVE, text, **({"photo": photo} if photo else {}))
        if photo:
            await self.attach(ticket_id, photo, "resolve")
        return ticket

    # -- patrol reports ---------------------------------------------------------------------------

    async def report(self, unit: Unit, text: str | None, address: str | None, *, photo: str | None = None,
                     idempotency_key: str | None = None) -> Ticket:
        """A 网格员's own report of what they found on patrol: a ticket on the "grid" channel in their grid,
        which enters the same loop (classified, placed, dispatched) as a resident's."""
        if unit.kind is not UnitKind.GRID:
            raise PermissionError("only a 网格员 reports from patrol")
        body = required_text(text, "问题描述", MAX_TEXT_CHARS)
        place = (address or "").strip()
        if len(place) > 200:
            raise TransitionDataError("地点太长了（最多 200 字）")
        draft: dict[str, Any] = {"text": body, "channel": "grid", "location": {"grid": unit.grid}}
        if place:
            draft["address"] = place
        ticket = await self.tickets.open(draft, idempotency_key=idempotency_key, actor=unit.actor)
        if photo:
            await self.attach(ticket.id, photo, "report")
        await self.redis.zadd(keys.unit_reports(unit.name), {ticket.id: time.time()})
        return ticket

    # -- photos -----------------------------------------------------------------------------------

    async def attach(self, ticket_id: str, photo: str, what: str) -> None:
        """Record that ``photo`` (a stored file name) belongs to the ticket: only such photos are shown."""
        await self.redis.hset(keys.ticket_photos(ticket_id), photo, what)

    async def photos(self, ticket_id: str) -> dict[str, str]:
        return dict(await self.redis.hgetall(keys.ticket_photos(ticket_id)))
