"""SLA clocks: overdue open tickets get 督办 (escalated one level up), once per deadline.

All state is in Redis (the ``rsa:sla`` ZSET of deadlines, kept by the ticket store in the same
transaction as every move), so a restarted router picks up where it stopped and several routers may
run the scheduler side by side. Safety between routers comes from the store's optimistic
compare-and-set: each escalation is conditioned on the ticket *still* being open and past its
deadline, and 督办 itself sets the next deadline, so of two routers racing on one ticket exactly one
commits and the other finds the precondition false.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from router.domain.tickets import CST, Action, IllegalTransition, PreconditionFailed, Ticket, TicketNotFound
from router.services.tickets import TicketService

__all__ = ["SlaScheduler", "run_sla_scheduler", "ESCALATION_REASON"]

log = logging.getLogger(__name__)
ESCALATION_REASON = "超过办理时限，自动督办"
ACTOR = "system:sla"


class SlaScheduler:
    def __init__(self, tickets: TicketService, *, batch: int = 100) -> None:
        self.tickets = tickets
        self.store = tickets.store
        self.batch = batch

    async def tick(self, now: datetime) -> list[Ticket]:
        """Escalate every ticket overdue at ``now``; return the tickets this call escalated."""
        escalated: list[Ticket] = []
        for ticket_id in await self.store.due(now, self.batch):

            def overdue(t: Ticket) -> bool:
                return t.is_open and t.sla_deadline <= now

            try:
                escalated.append(
                    await self.tickets.move(
                        ticket_id, Action.ESCALATE, ACTOR, ESCALATION_REASON, precondition=overdue, at=now
                    )
                )
            except (PreconditionFailed, IllegalTransition, TicketNotFound):
                # Another router escalated it first, or the schedule entry is stale: repair it from
                # the ticket so the next tick does not trip over it again.
                await self.store.reschedule(ticket_id)
        return escalated


async def run_sla_scheduler(
    tickets: TicketService,
    interval: float = 30.0,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(CST),
) -> None:
    """Tick forever (cancel the task to stop). Meant for the app's cleanup_ctx."""
    scheduler = SlaScheduler(tickets)
    while True:
        try:
            done = await scheduler.tick(clock())
            if done:
                log.info("sla: escalated %s", ", ".join(t.id for t in done))
        except asyncio.CancelledError:
            raise
        except Exception:  # Redis blips must not kill the clock; the next tick retries
            log.exception("sla tick failed")
        await asyncio.sleep(interval)
