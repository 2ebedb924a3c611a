"""Ticket use cases: opening, every move with what follows it, and who may see or move a ticket.

Every caller goes through here — the API views, the console, the SLA scheduler and the bot's actions —
so a rule holds whoever makes the move:
- the resident hears of 派单, 办结 (with the unit's result, then the 回访 rating question), 重办 and a
  合并 on their own channel, and so does every resident whose report was merged into the ticket
  (router/services/notices.py); the intake's auto-dispatch is told the same way;
- a 不满意 rating from the resident reopens the ticket to the unit that handled it;
- a resident sees the details of, urges, withdraws or rates only a ticket they reported: from the
  conversation that opened it, from the same WeChat account in a later conversation, or after giving
  the phone number left on it. Anyone else who quotes an id learns that it exists and its status —
  never the history's text (an agency's note may carry a phone number) — and moves nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from router import keys
from router.domain.masking import mask_pii
from router.domain.tickets import Action, Rating, Status, Ticket, TransitionDataError
from router.services.intake import TicketIntake
from router.services.notices import Followers, Notices, TrackingLinks
from router.services.ports import ConversationRepository, TicketRepository

__all__ = ["NotReporter", "Requester", "TicketService", "RESIDENT_ACTIONS", "mask_text"]

log = logging.getLogger(__name__)

RESIDENT_ACTIONS = ("status", "urge", "withdraw", "rate")
# A resident's identity does not carry over on these channels: a web session is a browser tab (a kiosk's
# next user is someone else), a phone call is one call.
_IDENTITY_CHANNELS = ("wechat",)


class NotReporter(Exception):
    """The resident asked to move a ticket they did not report."""

    def __init__(self, ticket_id: str, action: str) -> None:
        super().__init__(f"only the resident who reported {ticket_id} may {action} it")
        self.ticket_id, self.action = ticket_id, action


@dataclass(frozen=True)
class Requester:
    """Who is asking, as the bot knows them: the conversation, and numbers they told us in it."""

    conversation_id: str = ""
    phones: tuple[str, ...] = ()

    @property
    def actor(self) -> str:
        return f"resident:{self.conversation_id or 'unknown'}"


def _digits(value: Any) -> str:
    return "".join(ch for ch in str(value or "") if ch.isdigit())


def mask_text(text: str) -> str:
    """Phone and ID numbers in free text (an agency's note, a reason) masked for a resident's view."""
    return mask_pii(text)


class TicketService:
    def __init__(self, store: TicketRepository, *, conversations: ConversationRepository | None = None,
                 outbound: Any | None = None, intake: TicketIntake | None = None,
                 followers: Followers | None = None, links: TrackingLinks | None = None) -> None:
        self.store = store
        # the store's clock, so a test's clock (or a replayed day) decides what is overdue everywhere
        self.clock = getattr(store, "clock", None) or (lambda: datetime.now(timezone.utc))
        self.conversations = conversations
        self.outbound = outbound
        self.intake = intake
        self.links = links  # the public tracking page's links (router/views/track.py)
        self.notices = (Notices(store, conversations, outbound, followers=followers, links=links)
                        if conversations is not None and outbound is not None else None)

    # -- opening and moving ---------------------------------------------------------------------

    async def open(self, draft: dict[str, Any], *, idempotency_key: str | None, actor: str) -> Ticket:
        if self.intake is not None:  # topic, place, urgency filled in; dispatched when confident
            ticket = await self.intake.open(draft, idempotency_key=idempotency_key, actor=actor)
        else:
            ticket = await self.store.create(draft, idempotency_key=idempotency_key, actor=actor)
        if self.notices is not None:  # merged at once, or auto-dispatched: the resident hears it now
            try:
                await self.notices.opened(ticket)
            except Exception:  # the ticket stands; the tracking page and the bot still tell its progress
                log.exception("could not send the opening notices of %s", ticket.id)
        return ticket

    async def move(self, ticket_id: str, action: str | Action, actor: str, reason: str | None = None, *,
                   precondition: Callable[[Ticket], bool] | None = None, expected_version: int | None = None,
                   at: datetime | None = None, **data: Any) -> Ticket:
        """One move of the lifecycle (409 semantics from the domain) and what follows it. ``precondition``
        and ``expected_version``: the move happens only if the ticket still fits them (PreconditionFailed
        otherwise: someone else moved it since the caller looked)."""
        ticket = await self.store.transition(ticket_id, action, actor, reason, precondition=precondition,
                                             expected_version=expected_version, at=at, **data)
        await self._after(ticket)
        return ticket

    async def _after(self, ticket: Ticket) -> None:
        if self.notices is None:
            return
        try:
            await self.notices.moved(ticket)
        except Exception:  # the move stands; an operator can call the resident back
            log.exception("could not send the notices of %s after %s", ticket.id, ticket.status.value)
        if ticket.status is Status.IN_PROGRESS and ticket.history and ticket.history[-1].action == Action.ACCEPT.value:
            await self._attach_reasons(ticket)

    # -- residents ------------------------------------------------------------------------------

    async def is_reporter(self, ticket: Ticket, requester: Requester) -> bool:
        if requester.conversation_id and ticket.conversation_id:
            if requester.conversation_id == ticket.conversation_id:
                return True
            if await self._same_resident(requester.conversation_id, ticket.conversation_id):
                return True
        on_ticket = _digits(ticket.contact.phone if ticket.contact else "")
        return len(on_ticket) >= 7 and any(_digits(p) == on_ticket for p in requester.phones if p)

    async def _same_resident(self, asking: str, reporting: str) -> bool:
        if self.conversations is None:
            return False
        a, b = await self.conversations.get(asking), await self.conversations.get(reporting)
        return (a is not None and b is not None and a.channel == b.channel and a.channel in _IDENTITY_CHANNELS
                and bool(a.user_id) and a.user_id == b.user_id)

    async def for_resident(self, ticket_id: str, requester: Requester) -> tuple[Ticket, dict[str, Any], bool]:
        """(ticket, what this resident may see of it, whether they reported it)."""
        ticket = await self.store.require(ticket_id)
        reporter = await self.is_reporter(ticket, requester)
        return ticket, resident_view(ticket, reporter), reporter

    async def resident_action(self, ticket_id: str, action: str, requester: Requester, *,
                              rating: str | None = None, reason: str | None = None) -> tuple[Ticket, bool]:
        """A resident's 查询 / 催办 / 撤销 / 回访. Moves need the reporter (NotReporter otherwise);
        催办 of an overdue ticket is a 督办, of one in time it changes nothing."""
        if action not in RESIDENT_ACTIONS:
            raise ValueError(f"action must be one of {RESIDENT_ACTIONS}")
        ticket, _view, reporter = await self.for_resident(ticket_id, requester)
        if action == "status":
            return ticket, reporter
        if not reporter:
            raise NotReporter(ticket.id, action)
        actor = requester.actor
        if action == "withdraw":
            return await self.move(ticket.id, Action.WITHDRAW, actor, reason or "居民撤销"), True
        if action == "rate":
            rated = await self.move(ticket.id, Action.FOLLOW_UP, actor, reason, rating=rating or "")
            if rated.rating is Rating.DISSATISFIED:
                return await self._reopen(rated, actor, reason), True
            return rated, True
        # urge
        if ticket.is_open and ticket.sla_deadline <= self.clock():
            return await self.move(ticket.id, Action.ESCALATE, actor, reason or "居民催办（已超时）"), True
        return ticket, True

    async def resident_reason(self, ticket_id: str, requester: Requester, text: str) -> Ticket:
        """The reporter's words on why they were not satisfied, after a 不满意 reopened the ticket: a 进展
        (NOTE) by the resident, phone and ID numbers masked, for the unit. A ticket still waiting for its
        unit's 签收 (NOTE is for 处置 only) keeps them until the 签收, when they are written."""
        ticket = await self.store.require(ticket_id)
        if not await self.is_reporter(ticket, requester):
            raise NotReporter(ticket.id, "reason")
        words = " ".join((text or "").split())[:500]
        if not words or not ticket.is_open or not any(h.action == Action.REOPEN.value for h in ticket.history):
            raise ValueError(f"{ticket.id} is not waiting for a 不满意 reason")
        note = f"居民补充不满意原因：{mask_text(words)}"
        if ticket.status is Status.IN_PROGRESS:
            return await self.move(ticket.id, Action.NOTE, requester.actor, note)
        redis = getattr(self.store, "redis", None)
        if redis is None:
            raise ValueError("nowhere to keep the reason until the unit accepts the ticket")
        key = _reasons_key(ticket.id)
        await redis.rpush(key, json.dumps({"actor": requester.actor, "note": note}, ensure_ascii=False))
        await redis.expire(key, 90 * 86400)
        return ticket

    async def _attach_reasons(self, ticket: Ticket) -> None:
        """The reasons a resident gave while the ticket waited for 签收, as 进展 now that it is in 处置."""
        redis = getattr(self.store, "redis", None)
        if redis is None:
            return
        try:
            while raw := await redis.lpop(_reasons_key(ticket.id)):
                item = json.loads(raw)
                await self.move(ticket.id, Action.NOTE, str(item["actor"]), str(item["note"]))
        except Exception:  # the 签收 stands; the reason is logged for the operators
            log.exception("could not attach the resident's reason to %s", ticket.id)

    async def _reopen(self, rated: Ticket, actor: str, reason: str | None) -> Ticket:
        """不满意: 重办 by the unit that handled it — back in its dispatch queue with the resident's reason
        and a fresh time limit (处置 when the ticket has no unit to go back to)."""
        # the resident's words go to the unit: phone and ID numbers masked, as in their later reason
        why = f"居民不满意：{mask_text(reason.strip())}" if reason and reason.strip() else "居民不满意"
        version = rated.version
        try:
            return await self.move(rated.id, Action.REOPEN, actor, why, expected_version=version,
                                   to=Status.DISPATCHED.value)
        except TransitionDataError:  # no department on record to send it back to
            return await self.move(rated.id, Action.REOPEN, actor, why, expected_version=version)


def _reasons_key(ticket_id: str) -> str:
    """Reasons a resident gave for a 不满意 while the ticket waited for its unit's 签收 (a list)."""
    return f"{keys.ticket(ticket_id)}:resident_reasons"


def resident_view(ticket: Ticket, reporter: bool) -> dict[str, Any]:
    """What a resident sees: the reporter the progress (phones in notes masked, no staff names);
    anyone else that it exists and its status."""
    if not reporter:
        return {"id": ticket.id, "status": ticket.status.value}
    data = ticket.to_dict(mask_contact=True)
    history = []
    for h in data.get("history") or []:
        reason = h.get("reason")
        history.append({"from": h.get("from"), "to": h.get("to"), "action": h.get("action"), "at": h.get("at"),
                        "reason": mask_text(reason) if isinstance(reason, str) else None})
    return {
        "id": data["id"], "status": data["status"], "channel": data.get("channel"),
        "text": mask_text(str(data.get("text") or "")),
        "topic": {k: (data.get("topic") or {}).get(k) for k in ("l1", "l2", "department")},
        "location": data.get("location"), "contact": data.get("contact"),
        "sla_deadline": data.get("sla_deadline"), "assignee": data.get("assignee"),
        "merged_into": data.get("merged_into"), "reporters": data.get("reporters"),
        "rating": data.get("rating"), "history": history,
    }
