"""What the use cases need from storage, as protocols: the Redis adapters implement them in production
(router.adapters.ticket_store.RedisTicketStore, router.adapters.conversations.ConversationStore) and
tests/fakes/stores.py in memory, so the services (tickets, intake, follow-up, SLA) get fast unit tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from router.domain.tickets import Action, Status, Ticket

__all__ = ["TicketRepository", "ConversationRepository"]


class TicketRepository(Protocol):
    """The system of record for tickets. Moves are atomic: ``transition`` applies one lifecycle action
    (router.domain.tickets.apply) and raises IllegalTransition / TransitionDataError without writing, or
    TicketNotFound; ``create`` opens a ticket (受理), answers a repeated idempotency key with the same
    ticket, and merges a report of the same problem (router.domain.tickets.reports_the_same) into the
    earlier ticket."""

    clock: Callable[[], datetime]

    async def create(self, draft: dict[str, Any], *, idempotency_key: str | None = None,
                     actor: str = "api") -> Ticket: ...

    async def get(self, ticket_id: str) -> Ticket | None: ...

    async def require(self, ticket_id: str) -> Ticket: ...

    async def get_many(self, ids: Sequence[str]) -> list[Ticket]: ...

    async def search(self, *, status: Status | str | None = None, department: str | None = None,
                     district: str | None = None, limit: int = 50, offset: int = 0) -> list[Ticket]: ...

    async def transition(self, ticket_id: str, action: Action | str, actor: str, reason: str | None = None, *,
                         precondition: Callable[[Ticket], bool] | None = None,
                         expected_version: int | None = None, at: datetime | None = None,
                         **data: Any) -> Ticket: ...

    async def due(self, now: datetime, limit: int = 100) -> list[str]:
        """Ids of open tickets past their SLA deadline, most overdue first."""
        ...

    async def reschedule(self, ticket_id: str) -> None:
        """Repair the SLA schedule's entry for one ticket from the ticket itself."""
        ...

    def created_between(self, since: datetime | None, until: datetime | None, *,
                        batch: int = 500) -> AsyncIterator[list[Ticket]]:
        """Tickets created in [since, until), oldest first, ``batch`` at a time."""
        ...


class ConversationRepository(Protocol):
    """What the ticket services read and write of conversations: who the resident is (channel, user),
    and the transcript an operator sees."""

    async def get(self, conv_id: str) -> Any | None: ...

    async def append(self, conv_id: str, author: str, text: str, *, buttons: list[dict[str, str]] | None = None,
                     meta: dict[str, Any] | None = None) -> Any: ...
