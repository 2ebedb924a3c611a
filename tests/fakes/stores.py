"""In-memory stand-ins for the Redis stores (router.services.ports): the same domain rules — draft
parsing, ids, the lifecycle, the duplicate policy, idempotency — without Redis, for fast unit tests of the
services. tests/integration/test_ticket_repositories.py runs one scenario against both this and the Redis
store, so the two do not drift apart.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from router.domain.tickets import (
    CST,
    DUPLICATE_THRESHOLD,
    DUPLICATE_WINDOW,
    SLA_CLOCKED,
    Action,
    IllegalTransition,
    InvalidDraft,
    PreconditionFailed,
    Status,
    Ticket,
    TicketNotFound,
    TransitionDataError,
    add_duplicate,
    apply,
    duplicate_scope,
    format_ticket_id,
    new_ticket,
    parse_draft,
    reports_the_same,
    ticket_day,
)


class InMemoryTicketStore:
    def __init__(self, *, clock: Callable[[], datetime] | None = None, id_key: bytes | None = None,
                 duplicate_window: timedelta = DUPLICATE_WINDOW,
                 duplicate_threshold: float = DUPLICATE_THRESHOLD) -> None:
        self.clock = clock or (lambda: datetime.now(CST))
        self.id_key = id_key
        self.duplicate_window = duplicate_window
        self.duplicate_threshold = duplicate_threshold
        self.tickets: dict[str, Ticket] = {}
        self._idempotency: dict[str, str] = {}
        self._seq: dict[str, itertools.count[int]] = {}

    async def create(self, draft: dict[str, Any], *, idempotency_key: str | None = None,
                     actor: str = "system") -> Ticket:
        fields = parse_draft(draft)
        if idempotency_key is not None:
            idempotency_key = idempotency_key.strip()
            if not idempotency_key or len(idempotency_key) > 200:
                raise InvalidDraft("Idempotency-Key must be 1..200 characters")
            if idempotency_key in self._idempotency:
                return self.tickets[self._idempotency[idempotency_key]]
        now = self.clock()
        day = ticket_day(now)
        seq = next(self._seq.setdefault(day, itertools.count(1)))
        try:
            ticket = new_ticket(format_ticket_id(day, seq, self.id_key), at=now, actor=actor, **fields)
        except TransitionDataError as exc:
            raise InvalidDraft(str(exc)) from None
        scope = duplicate_scope(ticket)
        earlier = None
        if scope is not None:
            since = now - self.duplicate_window
            earlier = next((t for t in sorted(self.tickets.values(), key=lambda t: t.created_at)
                            if duplicate_scope(t) == scope and t.created_at >= since
                            and reports_the_same(t, ticket, self.duplicate_threshold)), None)
        if earlier is not None:
            ticket = apply(ticket, Action.MERGE, "system:dedupe", now, reason="重复诉求", merged_into=earlier.id)
            self.tickets[earlier.id] = add_duplicate(earlier, ticket.id, now)
        self.tickets[ticket.id] = ticket
        if idempotency_key:
            self._idempotency[idempotency_key] = ticket.id
        return ticket

    async def get(self, ticket_id: str) -> Ticket | None:
        return self.tickets.get(ticket_id)

    async def require(self, ticket_id: str) -> Ticket:
        if ticket_id not in self.tickets:
            raise TicketNotFound(ticket_id)
        return self.tickets[ticket_id]

    async def get_many(self, ids: Sequence[str]) -> list[Ticket]:
        return [self.tickets[i] for i in ids if i in self.tickets]

    async def search(self, status: Status | str | None = None, department: str | None = None,
                     district: str | None = None, limit: int = 50, offset: int = 0) -> list[Ticket]:
        if limit <= 0 or offset < 0:
            return []
        wanted = Status(status) if status else None

        def matches(t: Ticket) -> bool:
            dept = t.assignee.department if t.assignee else t.topic.department
            return ((wanted is None or t.status is wanted) and (department is None or dept == department)
                    and (district is None or t.location.district == district))

        found = sorted((t for t in self.tickets.values() if matches(t)), key=lambda t: (t.created_at, t.id),
                       reverse=True)
        return found[offset: offset + limit]

    async def transition(self, ticket_id: str, action: Action | str, actor: str, reason: str | None = None, *,
                         precondition: Callable[[Ticket], bool] | None = None,
                         expected_version: int | None = None, at: datetime | None = None,
                         **data: Any) -> Ticket:
        ticket = await self.require(ticket_id)
        if expected_version is not None and ticket.version != expected_version:
            raise PreconditionFailed(f"ticket {ticket_id} is at version {ticket.version}, not {expected_version}")
        if precondition is not None and not precondition(ticket):
            raise PreconditionFailed(f"ticket {ticket_id} no longer fits this move")
        new = apply(ticket, action, actor, at or self.clock(), reason, **data)
        if new.status is Status.MERGED and new.merged_into:
            target = await self.require(new.merged_into)
            if target.status in (Status.MERGED, Status.WITHDRAWN):
                raise IllegalTransition(ticket_id, ticket.status, Action.MERGE, f"{target.id} is {target.status.value}")
            self.tickets[target.id] = add_duplicate(target, ticket_id, new.updated_at)
        self.tickets[ticket_id] = new
        return new

    async def due(self, now: datetime, limit: int = 100) -> list[str]:
        overdue = [t for t in self.tickets.values() if t.status in SLA_CLOCKED and t.sla_deadline <= now]
        return [t.id for t in sorted(overdue, key=lambda t: t.sla_deadline)][:limit]

    async def reschedule(self, ticket_id: str) -> None:
        """Nothing to repair: the deadlines are read from the tickets themselves."""

    async def created_between(self, since: datetime | None, until: datetime | None, *,
                              batch: int = 500) -> AsyncIterator[list[Ticket]]:
        found = sorted((t for t in self.tickets.values()
                        if (since is None or t.created_at >= since) and (until is None or t.created_at < until)),
                       key=lambda t: (t.created_at, t.id))
        for i in range(0, len(found), batch):
            yield found[i: i + batch]


@dataclass
class FakeConversation:
    id: str
    channel: str
    user_id: str
    transcript: list[dict[str, Any]] = field(default_factory=list)


class InMemoryConversations:
    def __init__(self) -> None:
        self.conversations: dict[str, FakeConversation] = {}

    def add(self, conv_id: str, channel: str, user_id: str) -> FakeConversation:
        self.conversations[conv_id] = FakeConversation(conv_id, channel, user_id)
        return self.conversations[conv_id]

    async def get(self, conv_id: str) -> FakeConversation | None:
        conv = self.conversations.get(conv_id)
        return replace(conv) if conv else None

    async def append(self, conv_id: str, author: str, text: str, *, buttons: list[dict[str, str]] | None = None,
                     meta: dict[str, Any] | None = None) -> dict[str, Any]:
        entry = {"author": author, "text": text, "buttons": buttons or [], "meta": meta or {}}
        self.conversations[conv_id].transcript.append(entry)
        return entry


class RecordingOutbound:
    """Outbound delivery that records (conversation id, reply) instead of sending; ``fail`` makes every
    send raise, as a channel that is down does."""

    def __init__(self, *, fail: bool = False) -> None:
        self.sent: list[tuple[str, Any]] = []
        self.fail = fail

    async def send(self, conversation: Any, reply: Any) -> None:
        if self.fail:
            raise ConnectionError("channel down")
        self.sent.append((conversation.id, reply))


class InMemoryFollowers:
    """router.services.notices.Followers in memory: who follows a ticket, and which notices went out."""

    def __init__(self) -> None:
        self.followers: dict[str, set[str]] = {}
        self.notified: dict[str, set[str]] = {}

    async def add(self, ticket_id: str, conversation_ids: Any) -> None:
        self.followers.setdefault(ticket_id, set()).update(c for c in conversation_ids if c)

    async def members(self, ticket_id: str) -> list[str]:
        return sorted(self.followers.get(ticket_id, ()))

    async def first_time(self, ticket_id: str, marker: str) -> bool:
        seen = self.notified.setdefault(ticket_id, set())
        if marker in seen:
            return False
        seen.add(marker)
        return True
