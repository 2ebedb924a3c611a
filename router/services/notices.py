"""Residents kept informed on their own channel: the ticket service tells them when their ticket moves.

What a resident hears, whoever made the move (console, API, a unit's portal, the dispatch queue, the
SLA scheduler, the intake's auto-dispatch):

- 派单 (and a re-dispatch): which unit handles it and by when;
- 办结: the unit's result (the move's reason, phone numbers masked), then the 回访 rating question
  (router/services/followup.py) — the question goes to the reporter only, whose ticket carries the rating;
- 督办 (overdue: the SLA scheduler, or a resident's 催办): who supervises it now, and the new time limit;
- 上报 by a unit in the portal (router/services/escalation.py): one notice, on its dispatch up, naming only
  the tier it went to ("已上报街道办事处协调处理"), never the unit's reason; a 交办 back down: that the higher
  level supervised it and who goes on with it;
- 重办 (a 不满意 rating reopened it): back to which unit, by when;
- 合并: a later report of the same problem is told at once that it joined an earlier ticket and how many
  residents reported it; from then on its conversation *follows* the earlier ticket and hears the same
  dispatch and resolve notices as that ticket's reporter.

Each notice carries the ticket's tracking link (/t/{token}, router/views/track.py) when links are
configured. Delivery: the notice is written into the conversation's transcript (the operator sees it; a
web page gets it over its event stream) and sent through the channel's sender (WeChat: the outbox, which
keeps it for the 48-hour reply window). A caller on the hotline has hung up: the notice becomes an
SMS-ready callback note in the transcript for an operator, and is not spoken. A notice that cannot be
delivered never fails the move.

Followers and the notices already sent are kept per ticket (``Followers``; in Redis ``RedisFollowers``,
keys in router.keys), so a retried request or a replayed move tells nobody twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Iterable
from typing import Any, Protocol

from router import keys
from router.adapters.units import CITY_SUFFIX, DISTRICT_SUFFIX
from router.domain.masking import mask_pii
from router.domain.tickets import CST, Action, Assignee, Status, Ticket, is_ticket_id, unit_for_residents
from router.services.followup import ask_for_rating
from router.services.messages import Reply
from router.texts import text as t

__all__ = ["Followers", "RedisFollowers", "TrackingLinks", "Notices", "unit_name", "deadline_text"]

log = logging.getLogger(__name__)

FOLLOWER_TTL_SECONDS = 400 * 86400  # a ticket's followers outlive a year of 重办 and 回访


class Followers(Protocol):
    async def add(self, ticket_id: str, conversation_ids: Iterable[str]) -> None: ...

    async def members(self, ticket_id: str) -> list[str]: ...

    async def first_time(self, ticket_id: str, marker: str) -> bool:
        """True the first time ``marker`` is seen for the ticket (the notice is to be sent), else False."""
        ...


class RedisFollowers:
    """Followers and sent notices as two Redis sets per ticket (same hash slot as the ticket)."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis

    async def add(self, ticket_id: str, conversation_ids: Iterable[str]) -> None:
        ids = [c for c in conversation_ids if c]
        if not ids:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(keys.ticket_followers(ticket_id), *ids)
            pipe.expire(keys.ticket_followers(ticket_id), FOLLOWER_TTL_SECONDS)
            await pipe.execute()

    async def members(self, ticket_id: str) -> list[str]:
        return sorted(await self.redis.smembers(keys.ticket_followers(ticket_id)))

    async def first_time(self, ticket_id: str, marker: str) -> bool:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(keys.ticket_notified(ticket_id), marker)
            pipe.expire(keys.ticket_notified(ticket_id), FOLLOWER_TTL_SECONDS)
            added, _ = await pipe.execute()
        return bool(added)


class TrackingLinks:
    """Unguessable links to a ticket's public tracking page: /t/{ticket id}.{HMAC of the id}.

    The MAC (128 bits, keyed with Settings.tracking_key()) is what makes the link; the id in front only
    says which ticket to check it against. A wrong or altered token opens nothing."""

    MAC_CHARS = 22  # 132 bits of base64url

    def __init__(self, key: bytes, base_url: str = "") -> None:
        if len(key) < 16:
            raise ValueError("the tracking key must be at least 16 bytes")
        self.key = key
        self.base_url = base_url.rstrip("/")

    def _mac(self, ticket_id: str) -> str:
        digest = hmac.new(self.key, b"track:" + ticket_id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode()[: self.MAC_CHARS]

    def token(self, ticket_id: str) -> str:
        return f"{ticket_id}.{self._mac(ticket_id)}"

    def path(self, ticket_id: str) -> str:
        return f"/t/{self.token(ticket_id)}"

    def url(self, ticket_id: str) -> str:
        return self.base_url + self.path(ticket_id)

    def ticket_id(self, token: str) -> str | None:
        """The ticket a token opens, or None (malformed, or a MAC that does not match)."""
        ticket_id, dot, mac = token.partition(".")
        if not dot or len(mac) != self.MAC_CHARS or not is_ticket_id(ticket_id):
            return None
        return ticket_id if hmac.compare_digest(mac.encode(), self._mac(ticket_id).encode()) else None


# What a resident is told a 上报 reached, by the receiving unit's kind (router/adapters/units.py names them).
_TIERS = (("街道办事处", "notice_tier_street"), (DISTRICT_SUFFIX, "notice_tier_district"),
          (CITY_SUFFIX, "notice_tier_city"))


def _by_unit(actor: str) -> bool:
    """A move made in the units' portal (its 上报 and 交办 are told differently)."""
    return actor.startswith("unit:")


def unit_name(assignee: Assignee | None) -> str:
    """The unit as a resident reads it: 区城管局（粤海街道）."""
    if assignee is None:
        return "相关部门"
    return unit_for_residents(assignee.department, assignee.unit)


def deadline_text(ticket: Ticket) -> str:
    at = ticket.sla_deadline.astimezone(CST)
    return f"{at.month}月{at.day}日{at:%H:%M}"


class Notices:
    def __init__(self, store: Any, conversations: Any, outbound: Any, *, followers: Followers | None = None,
                 links: TrackingLinks | None = None) -> None:
        self.store = store  # a TicketRepository: how many residents reported the ticket a report joined
        self.conversations = conversations
        self.outbound = outbound
        self.followers = followers
        self.links = links

    # -- events ---------------------------------------------------------------------------------

    async def opened(self, ticket: Ticket) -> None:
        """After a ticket is opened: its conversation follows it; a report merged at once into an earlier
        ticket is told so; an auto-dispatched one hears where it went."""
        if self.followers is not None and ticket.conversation_id:
            await self.followers.add(ticket.id, [ticket.conversation_id])
        await self.moved(ticket)

    async def moved(self, ticket: Ticket) -> None:
        """After a move (the ticket's last history entry): tell whoever follows it."""
        if not ticket.history:
            return
        index, entry = len(ticket.history) - 1, ticket.history[-1]
        if ticket.status is Status.MERGED and ticket.merged_into and entry.to is Status.MERGED:
            await self._merged(ticket, index)
            return
        if entry.to is Status.DISPATCHED and entry.action == Action.DISPATCH.value and _by_unit(entry.actor):
            message = self._between_tiers(ticket, index)
        elif entry.to is Status.DISPATCHED:
            key = "notice_reopened" if entry.action == Action.REOPEN.value else "notice_dispatched"
            message = t(key, ticket_id=ticket.id, unit=unit_name(ticket.assignee), deadline=deadline_text(ticket))
        elif entry.to is Status.IN_PROGRESS and entry.action == Action.REOPEN.value:
            message = t("notice_reopened", ticket_id=ticket.id, unit=unit_name(ticket.assignee),
                        deadline=deadline_text(ticket))
        elif entry.to is Status.ESCALATED and entry.action == Action.ESCALATE.value and _by_unit(entry.actor):
            return  # a unit's 上报: the dispatch up that follows tells the resident where it went
        elif entry.to is Status.ESCALATED and entry.action == Action.ESCALATE.value:
            message = t("notice_escalated", ticket_id=ticket.id, level=ticket.escalation_level,
                        deadline=deadline_text(ticket))
        elif entry.to is Status.RESOLVED:
            result = mask_pii(entry.reason or "").strip() or t("notice_resolved_no_result")
            message = t("notice_resolved", ticket_id=ticket.id, result=result)
        else:
            return
        message = self._with_link(message, ticket.id)
        for conv_id in await self._audience(ticket):
            if not await self._once(ticket.id, index, conv_id):
                continue
            if entry.to is Status.RESOLVED and conv_id == ticket.conversation_id and await self._rate(ticket, message):
                continue  # the reporter: the result and the 回访 question in one message
            await self._tell(conv_id, message, ticket.id, entry.action)

    @staticmethod
    def _between_tiers(ticket: Ticket, index: int) -> str:
        """A unit's dispatch: the second move of its 上报 (the tier it went to, not the office's name), or a
        higher unit's 交办 back down (who goes on with it)."""
        up = False
        for h in reversed(ticket.history[:index]):
            if h.action == Action.ESCALATE.value and not _by_unit(h.actor):
                continue  # an overdue 督办 in between
            up = h.action == Action.ESCALATE.value
            break
        if not up:
            return t("notice_assigned_down", ticket_id=ticket.id, unit=unit_name(ticket.assignee),
                     deadline=deadline_text(ticket))
        department = ticket.assignee.department if ticket.assignee else ""
        tier = next((k for suffix, k in _TIERS if department.endswith(suffix)), "notice_tier_other")
        return t("notice_reported_up", ticket_id=ticket.id, to=t(tier), deadline=deadline_text(ticket))

    async def _merged(self, ticket: Ticket, index: int) -> None:
        assert ticket.merged_into is not None
        target_id = ticket.merged_into
        joining = [c for c in [ticket.conversation_id, *await self._members(ticket.id)] if c]
        if self.followers is not None and joining:
            await self.followers.add(target_id, joining)
        count = await self._reporters(target_id)
        message = self._with_link(t("notice_merged", ticket_id=target_id, count=count), target_id)
        for conv_id in dict.fromkeys(joining):
            if await self._once(ticket.id, index, conv_id):
                await self._tell(conv_id, message, ticket.id, "merge")

    async def _reporters(self, ticket_id: str) -> int:
        ticket = await self.store.get(ticket_id)
        return ticket.reporters if ticket is not None else 2  # this report and the one it joined, at least

    # -- delivery -------------------------------------------------------------------------------

    async def _rate(self, ticket: Ticket, message: str) -> bool:
        """The 办结 notice with the rating question, for the reporter; False when they are to get the notice
        another way (a caller: the callback note)."""
        try:
            return await ask_for_rating(self.conversations, self.outbound, ticket, lead=message)
        except Exception as exc:  # the transcript could not be written either: nothing more to try now
            log.warning("rating question for %s not asked: %s", ticket.id, exc)
            return True

    def _with_link(self, message: str, ticket_id: str) -> str:
        if self.links is None:
            return message
        return message + "\n" + t("notice_track", url=self.links.url(ticket_id))

    async def _members(self, ticket_id: str) -> list[str]:
        return await self.followers.members(ticket_id) if self.followers is not None else []

    async def _audience(self, ticket: Ticket) -> list[str]:
        return list(dict.fromkeys(c for c in [ticket.conversation_id, *await self._members(ticket.id)] if c))

    async def _once(self, ticket_id: str, index: int, conv_id: str, kind: str = "notice") -> bool:
        if self.followers is None:
            return True
        return await self.followers.first_time(ticket_id, f"{index}:{kind}:{conv_id}")

    async def _tell(self, conv_id: str, message: str, ticket_id: str, event: str) -> None:
        """Write the notice into the conversation and send it on its channel; never raises."""
        try:
            conv = await self.conversations.get(conv_id)
            if conv is None:  # the conversation has expired: the tracking page still tells the story
                return
            meta = {"ticket": ticket_id, "event": f"notice:{event}"}
            if conv.channel == "voice":
                # The caller hung up long ago: an operator sends it as an SMS or calls back.
                await self.conversations.append(conv.id, "system", t("notice_callback", sms=message),
                                                meta={**meta, "callback": True, "sms": message})
                return
            await self.conversations.append(conv.id, "system", message, meta=meta)
            await self.outbound.send(conv, Reply(message, author="system"))
        except Exception as exc:  # the move stands; the transcript (when written) keeps the text
            log.warning("notice %s for %s not delivered to %s: %s", event, ticket_id, conv_id, exc)
