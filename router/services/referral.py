"""转介社区心理服务室: an operator refers a resident (typically after a crisis message) to their community's
心理服务室 for a follow-up — only with the resident's consent — and the resident's own consent button.

No HTTP here (router.console.routes.conversations parses the form and audits). A referral is a ticket, so
it flows through the units' work portal like any other (签收 / 进展 / 办结), but it is kept private:
- the topic is ``REFERRAL_TOPIC`` and the ticket is dispatched straight to ``<社区>心理服务室`` (a unit
  whose name ends neither in 综治中心 nor 网格员, so the street office does not see it in its list);
- the ticket carries no conversation id: ``Notices`` never tells the resident of its moves (no unit
  name, no tracking link, no rating question), and the resident cannot look it up as its reporter;
- the resident hears one short, kind message on their channel; the operator's note and the number
  stay on the ticket, which only that unit and the console's operators see.
The consent — which operator recorded it, when — is written on the conversation's transcript as an
``audit`` entry (not sent to the resident's live feed) and the ticket id on the conversation hash.

The resident may also ask for it themselves: after the crisis lines the bot offers
"希望社区心理服务室联系我" / "暂时不用" (``consent_payload``); the router's dialogue takes the answer before
Rasa (``record_consent``) and the console shows it to the operator, who still makes the referral.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from router import keys
from router.adapters.conversations import Conversation, ConversationState
from router.domain.tickets import CST, Action, Status, Ticket
from router.services.desk import InvalidReply, Operator, Refused
from router.services.messages import Reply
from router.texts import text as t

__all__ = ["REFERRAL_TOPIC", "ROOM_SUFFIX", "Known", "InvalidReferral", "Referrals", "room_of", "mask_phone",
           "consent_payload", "parse_consent", "record_consent", "CONSENT_ANSWERS", "is_referral"]

log = logging.getLogger(__name__)
REFERRAL_TOPIC = "心理服务转介"
ROOM_SUFFIX = "心理服务室"
MAX_NOTE_CHARS = 500
CONSENT_ANSWERS = ("yes", "no")  # the resident's own answer to the bot's offer


class InvalidReferral(InvalidReply):
    """The form will not do (no consent, no community, a bad number…): 422, nothing created."""


@dataclass(frozen=True)
class Known:
    """What the conversation already tells about the resident: for the form's defaults."""

    phone: str = ""
    community: str = ""
    district: str = ""
    street: str = ""

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)


def mask_phone(phone: str) -> str:
    """138****5678 (digits kept at both ends), for showing a number the operator need not read out."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def room_of(community: str) -> str:
    """The unit a referral goes to: 科技园社区 → 科技园社区心理服务室."""
    return f"{community}{ROOM_SUFFIX}"


def is_referral(ticket: Ticket) -> bool:
    return ticket.topic.l1 == REFERRAL_TOPIC


def _slot(slots: dict[str, Any], name: str) -> str:
    value = slots.get(name)
    return value.strip() if isinstance(value, str) else ""


class Referrals:
    """``tickets``: TicketService; ``rasa``: the RasaClient (for the conversation's slots; None: the bot's
    summary only); ``resolver``: the JurisdictionResolver that checks the community and finds its street."""

    def __init__(self, conversations: Any, tickets: Any, outbound: Any, resolver: Any, rasa: Any = None) -> None:
        self.conversations = conversations
        self.tickets = tickets
        self.outbound = outbound
        self.resolver = resolver
        self.rasa = rasa

    async def known(self, conv: Conversation) -> Known:
        """The phone and place the bot collected (Rasa's slots), else what its handoff summary says."""
        slots: dict[str, Any] = {}
        if self.rasa is not None:
            try:
                state = await self.rasa.tracker_state(conv.sender)
                slots = state.get("slots") or {} if isinstance(state, dict) else {}
            except Exception:  # noqa: BLE001 - the form still works, typed by hand
                slots = {}
        draft = (conv.summary or {}).get("ticket_draft")
        draft = draft if isinstance(draft, dict) else {}

        def pick(name: str) -> str:
            return _slot(slots, name) or _slot(draft, name)

        phone = _slot(slots, "contact_phone")  # the summary's number is masked: of no use to call
        return Known(phone=phone, community=pick("community"), district=pick("district"), street=pick("street"))

    async def referral_of(self, conv_id: str) -> str:
        """The id of the referral made from this conversation, or ""."""
        return (await self.status(conv_id))["referral"]

    async def status(self, conv_id: str) -> dict[str, str]:
        """{referral: ticket id or "", consent: the resident's own answer to the bot's offer ("yes"/"no"/"")}."""
        referral, consent = await self.conversations.redis.hmget(keys.conversation(conv_id),
                                                                 ["referral", "referral_consent"])
        return {"referral": str(referral or ""), "consent": str(consent or "")}

    async def create(self, conv_id: str, operator: Operator, *, consent: bool, phone: str, community: str,
                     note: str) -> Ticket:
        """The referral ticket, dispatched to the community's 心理服务室. Refused (409) unless the operator
        has the conversation in service; InvalidReferral (422) without consent or a usable number/community."""
        conv = await self.conversations.get(conv_id)
        if conv is None:
            from router.adapters.conversations import ConversationNotFound

            raise ConversationNotFound(conv_id)
        if conv.state is not ConversationState.HUMAN:
            raise Refused("not_in_service", state=conv.state.value)
        if conv.operator != operator.name and not operator.supervisor:
            raise Refused("not_yours", operator=conv.operator)
        if not consent:
            raise InvalidReferral("referral_no_consent")
        note = (note or "").replace("\x00", "").strip()
        if len(note) > MAX_NOTE_CHARS:
            raise InvalidReferral("referral_note_too_long", count=len(note), limit=MAX_NOTE_CHARS)
        known = await self.known(conv)
        number = "".join(ch for ch in (phone or "") if not ch.isspace()) or known.phone
        if not number:
            raise InvalidReferral("referral_no_phone")
        if not all(ch.isdigit() or ch in "+-" for ch in number) or not 7 <= sum(ch.isdigit() for ch in number) <= 20:
            raise InvalidReferral("referral_bad_phone")
        place = self.resolver.resolve((community or "").strip()) if (community or "").strip() else None
        if place is None or not place.community:
            if not (community or "").strip():
                raise InvalidReferral("referral_no_community")
            raise InvalidReferral("referral_unknown_community", community=community.strip()[:30])
        existing = await self.referral_of(conv.id)
        if existing:
            raise Refused("referral_exists", id=existing)
        room = room_of(place.community)
        now = time.time()
        lines = [f"{REFERRAL_TOPIC}：居民已同意由社区心理服务室联系（坐席 {operator.name} 记录）。"]
        if conv.handoff_reason:
            lines.append(f"转人工原因：{conv.handoff_reason}")
        if note:
            lines.append(f"坐席备注：{note}")
        draft = {
            "text": "\n".join(lines),
            "channel": "console",
            # needs_human_dispatch: the intake neither guesses a unit nor dispatches; we do, just below.
            # l2 is the conversation: a second referral of the same community is never taken for a duplicate.
            "topic": {"l1": REFERRAL_TOPIC, "l2": f"会话{conv.id}", "department": room, "confidence": 1.0,
                      "needs_human_dispatch": True},
            "location": {"district": place.district, "street": place.street, "community": place.community},
            "address": place.community,
            "contact_phone": number,
            "urgency": "general",
        }
        actor = f"console:{operator.name}"
        ticket = await self.tickets.open(draft, idempotency_key=f"referral:{conv.id}", actor=actor)
        if ticket.status is Status.RECEIVED:
            ticket = await self.tickets.move(ticket.id, Action.DISPATCH, actor, "心理服务转介（居民已同意）",
                                             department=room, unit=place.community)
        await self.conversations.redis.hset(keys.conversation(conv.id), "referral", ticket.id)
        # the audit trail on the transcript: consent, by whom, when (not pushed to the resident's page)
        when = datetime.fromtimestamp(now, CST).strftime("%Y-%m-%d %H:%M")  # the city's time, whatever the host's
        await self.conversations.append(
            conv.id, "audit", t("referral_audit", operator=operator.name, at=when, room=room, id=ticket.id),
            meta={"event": "referral", "operator": operator.name, "consented_at": now, "ticket_id": ticket.id,
                  "unit": room})
        await self._tell_resident(conv, place.community)
        return ticket

    async def _tell_resident(self, conv: Conversation, community: str) -> None:
        text = t("referral_resident", community=community)
        await self.conversations.append(conv.id, "system", text, meta={"event": "referral"})
        try:
            await self.outbound.send(conv, Reply(text, author="system"))
        except Exception:  # noqa: BLE001 - the referral stands; the transcript holds the message
            log.warning("referral message not delivered to %s", conv.id, exc_info=True)


# -- the resident's own answer to the bot's offer ------------------------------------------------------

def consent_payload(conv_id: str, answer: str) -> str:
    """The payload of the offer's buttons (router-side, like ``/csat``): no intent in the bot."""
    return "/referral_consent" + json.dumps({"conversation_id": conv_id, "answer": answer}, ensure_ascii=False)


def parse_consent(text: str) -> tuple[str, str] | None:
    if not text.startswith("/referral_consent{") or len(text) > 200:
        return None
    try:
        data = json.loads(text[len("/referral_consent"):])
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    conv_id, answer = data.get("conversation_id"), data.get("answer")
    if not isinstance(conv_id, str) or answer not in CONSENT_ANSWERS:
        return None
    return conv_id, str(answer)


async def record_consent(conversations: Any, channel: str, user_id: str, text: str
                         ) -> tuple[str, Conversation | None, str]:
    """("recorded" | "refused", the conversation, the answer). Taken only from that conversation's resident
    and only as a button it was shown; the answer is kept on the conversation (``referral_consent``)."""
    parsed = parse_consent(text)
    if parsed is None:
        return "refused", None, ""
    conv_id, answer = parsed
    conv = await conversations.get(conv_id)
    if conv is None or conv.channel != channel or conv.user_id != user_id:
        return "refused", None, ""
    offered = any(entry.get("author") in ("bot", "system") and any(
        isinstance(b, dict) and b.get("payload") == text for b in entry.get("buttons") or [])
        for entry in await conversations.transcript(conv.id, limit=200))
    if not offered:
        return "refused", conv, answer
    title = t("referral_offer_yes") if answer == "yes" else t("referral_offer_no")
    await conversations.append(conv.id, "resident", title, meta={"channel": channel, "event": "referral_consent",
                                                                 "answer": answer})
    await conversations.redis.hset(keys.conversation(conv.id), mapping={
        "referral_consent": answer, "referral_consent_at": str(time.time())})
    await conversations.redis.publish(keys.console_events(), json.dumps({"type": "message", "conversation": conv.id}))
    return "recorded", conv, answer

