"""Tickets from the dialogue: submit the ticket_form, stop it, and follow an earlier ticket
(查询 / 催办 / 撤销) through the router's ticket API.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    RouterAction,
    channel_of,
    conversation_id,
    entity_values,
    find_phone,
    format_deadline,
    format_place,
    idempotency_key,
    is_angry,
    latest_intent,
    mask_phone,
    render,
    spoken_ticket_id,
)
from actions.router_client import (
    RouterConflict,
    RouterError,
    RouterForbidden,
    RouterNotFound,
    RouterUnavailable,
)
from router.domain.tickets import unit_for_residents

__all__ = ["ActionSubmitTicket", "ActionStopTicket", "ActionTicketRequest", "ActionRateTicket", "DRAFT_SLOTS",
           "clear_draft", "sla_label", "ticket_department", "told_phones"]

log = logging.getLogger(__name__)

# Everything the ticket_form collects; cleared after a submit or a stop so the next report starts
# clean (and a phone number does not linger in the tracker longer than needed).
DRAFT_SLOTS = ("problem_text", "district", "street", "community", "grid", "landmark", "address",
               "location_ok", "location_candidates", "since", "contact_phone", "contact_name",
               "ticket_key")
FINISHED = frozenset({"办结", "回访", "归档", "撤销", "合并"})
RATINGS = ("满意", "基本满意", "不满意")
# 不满意 without a reason: ask for one; the router takes the next free text as the reason (services/dialogue.py)
ASK_REASON = "请说说哪里还不满意，我们转告处理单位"
REASON_SKIP = "/reopen_reason_skip"
_PUNCT = re.compile(r"[\s，,。.！!？?、；;：:~…]+")
_FILLER_CHARS = frozenset("我们非常很太真的实在是对这个有点就还了啊呀吧")


def reason_in(text: str, rating: str) -> str:
    """What the rating message says beyond the rating word ("不满意，路灯还是不亮" → "路灯还是不亮")."""
    if text.startswith("/"):
        return ""
    rest = text.replace(rating, " ", 1).strip(" ，,。.！!？?、；;：:")
    core = _PUNCT.sub("", rest)
    return rest if len(core) >= 2 and not set(core) <= _FILLER_CHARS else ""


def clear_draft() -> list[EventType]:
    return [SlotSet(s, None) for s in DRAFT_SLOTS] + [SlotSet("skipped_slots", [])]


def ticket_department(ticket: dict[str, Any]) -> str:
    topic = ticket.get("topic") if isinstance(ticket.get("topic"), dict) else {}
    assignee = ticket.get("assignee") if isinstance(ticket.get("assignee"), dict) else {}
    if assignee.get("department"):  # a grid worker by their community, not the grid's code
        return unit_for_residents(str(assignee["department"]), str(assignee.get("unit") or ""))
    return str(topic.get("department") or ticket.get("department") or "")


def _parse(ts: Any) -> datetime | None:
    if not ts:
        return None
    try:
        dt = datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def sla_label(ticket: dict[str, Any], domain: DomainDict, channel: str) -> str:
    """'2小时' / '7天' from the ticket's own clock (created → deadline); '' if it has none."""
    start, end = _parse(ticket.get("created_at")), _parse(ticket.get("sla_deadline"))
    if not start or not end or end <= start:
        return ""
    hours = round((end - start).total_seconds() / 3600)
    if hours <= 48:
        return render(domain, "utter_sla_hours", channel, hours=hours)
    return render(domain, "utter_sla_days", channel, days=round(hours / 24))


def _texts_since_report(tracker: Tracker) -> list[str]:
    """The resident's messages from the one that opened the report up to now."""
    texts: list[str] = []
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        texts.append(str(event.get("text") or ""))
        if ((event.get("parse_data") or {}).get("intent") or {}).get("name") == "report_problem":
            break
    return texts


class ActionSubmitTicket(RouterAction):
    def name(self) -> str:
        return "action_submit_ticket"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        get = tracker.get_slot
        channel = channel_of(tracker)
        place = format_place(get("district"), get("street"), get("community"), get("landmark"))
        problem = get("problem_text") or ""
        payload: dict[str, Any] = {
            "text": problem,
            "channel": channel,
            "conversation_id": conversation_id(tracker),
            "address": get("address") or place,
            "location": {k: get(k) for k in ("district", "street", "community", "grid", "landmark")},
        }
        for slot in ("contact_phone", "contact_name", "since"):
            if get(slot):
                payload[slot] = get(slot)
        key = get("ticket_key") or idempotency_key(
            tracker.sender_id, (tracker.latest_message or {}).get("message_id"), problem)
        try:
            ticket = await self.client.create_ticket(payload, key)
        except RouterUnavailable as exc:
            log.warning("ticket submit failed, draft kept for a retry: %s", exc)
            dispatcher.utter_message(response="utter_ticket_router_down")
            return [SlotSet("ticket_key", key)]
        except RouterError as exc:
            dispatcher.utter_message(response="utter_ticket_rejected",
                                     error=str(exc.body.get("error") or exc.body.get("message") or exc.status))
            return [SlotSet("ticket_key", key)]

        ticket_id = str(ticket.get("id") or "")
        phone = get("contact_phone")
        dispatcher.utter_message(
            response="utter_ticket_created",
            ticket_id=ticket_id,
            ticket_id_spoken=spoken_ticket_id(ticket_id),
            problem=problem,
            place=place or payload["address"],
            department=ticket_department(ticket),
            deadline=format_deadline(ticket.get("sla_deadline")),
            sla=sla_label(ticket, domain, channel),
            phone=mask_phone(phone) if phone else render(domain, "utter_phone_not_given", channel),
        )
        if any(is_angry(text) for text in _texts_since_report(tracker)):
            # the ticket is open either way; an angry resident is offered a person on top
            dispatcher.utter_message(response="utter_anger_offer_human")
        return [SlotSet("ticket_id", ticket_id), *clear_draft()]


class ActionStopTicket(RouterAction):
    """The resident gave up on the report: nothing is submitted and the draft is forgotten."""

    def name(self) -> str:
        return "action_stop_ticket"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(response="utter_ticket_stopped")
        return [SlotSet("requested_slot", None), *clear_draft()]


def told_phones(tracker: Tracker) -> list[str]:
    """Phone numbers the resident gave in this conversation (the contact slot, or any message): the
    router accepts one that matches the ticket's as proof that they reported it."""
    told = [tracker.get_slot("contact_phone")]
    told += [find_phone(str(e.get("text") or "")) for e in tracker.events
             if e.get("event") == "user" and e.get("text")]
    return [str(p) for p in dict.fromkeys(told) if p][-10:]


class ActionTicketRequest(RouterAction):
    """查询 / 催办 / 撤销 a ticket whose id the ticket_lookup_form collected. The router decides who may
    see what: the reporter (this conversation, the same WeChat account, or the phone left on the ticket)
    hears the progress and may urge or withdraw; anyone else hears only the status."""

    def name(self) -> str:
        return "action_ticket_request"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        ticket_id = tracker.get_slot("ticket_id")
        request = tracker.get_slot("ticket_request") or {
            "urge_ticket": "urge", "withdraw_ticket": "withdraw"}.get(latest_intent(tracker), "check")
        if not ticket_id:
            dispatcher.utter_message(response="utter_ask_ticket_id")
            return []
        action = {"check": "status"}.get(request, request)
        try:
            body = await self.client.resident_ticket(ticket_id, action, conversation_id=conversation_id(tracker),
                                                     phones=told_phones(tracker))
        except RouterForbidden:
            dispatcher.utter_message(response="utter_ticket_withdraw_not_owner" if action == "withdraw"
                                     else "utter_ticket_urge_not_owner", ticket_id=ticket_id)
            return [SlotSet("ticket_request", None)]
        except RouterNotFound:
            dispatcher.utter_message(response="utter_ticket_not_found", ticket_id=ticket_id)
            return [SlotSet("ticket_id", None), SlotSet("ticket_request", None)]
        except RouterConflict as exc:
            error = exc.body.get("error") if isinstance(exc.body.get("error"), dict) else {}
            dispatcher.utter_message(response="utter_ticket_cannot_withdraw", ticket_id=ticket_id,
                                     status=error.get("ticket_status", ""))
            return [SlotSet("ticket_request", None)]
        except (RouterUnavailable, RouterError) as exc:
            log.warning("ticket %s %s failed: %s", ticket_id, request, exc)
            dispatcher.utter_message(response="utter_router_down")
            return [SlotSet("ticket_request", None)]
        ticket = body.get("ticket") if isinstance(body.get("ticket"), dict) else {}
        if action == "withdraw":
            dispatcher.utter_message(response="utter_ticket_withdrawn", ticket_id=ticket.get("id", ticket_id))
        elif action == "urge":
            self._urged(dispatcher, ticket)
        elif body.get("reporter"):
            self._status(dispatcher, ticket)
        else:
            dispatcher.utter_message(response="utter_ticket_status_public", ticket_id=ticket.get("id", ticket_id),
                                     status=ticket.get("status"))
        return [SlotSet("ticket_request", None)]

    @staticmethod
    def _status(dispatcher: CollectingDispatcher, ticket: dict[str, Any]) -> None:
        history = ticket.get("history") if isinstance(ticket.get("history"), list) else []
        last = history[-1] if history and isinstance(history[-1], dict) else {}
        last_text = " ".join(str(x) for x in (format_deadline(last.get("at")), last.get("to"),
                                               last.get("reason")) if x)
        dispatcher.utter_message(response="utter_ticket_status", ticket_id=ticket.get("id"),
                                 status=ticket.get("status"), department=ticket_department(ticket),
                                 deadline=format_deadline(ticket.get("sla_deadline")),
                                 last=last_text or ticket.get("status"))

    @staticmethod
    def _urged(dispatcher: CollectingDispatcher, ticket: dict[str, Any]) -> None:
        tid, status = ticket.get("id"), ticket.get("status")
        history = ticket.get("history") if isinstance(ticket.get("history"), list) else []
        last = history[-1] if history and isinstance(history[-1], dict) else {}
        if status in FINISHED:
            dispatcher.utter_message(response="utter_ticket_urge_closed", ticket_id=tid, status=status)
        elif last.get("action") == "escalate" and last.get("reason") == "居民催办（已超时）":
            # Overdue: the resident's push became a 督办; in time, the clock already protects them.
            dispatcher.utter_message(response="utter_ticket_urged_escalated", ticket_id=tid)
        else:
            dispatcher.utter_message(response="utter_ticket_urge_in_time", ticket_id=tid, status=status,
                                     deadline=format_deadline(ticket.get("sla_deadline")))


class ActionRateTicket(RouterAction):
    """回访: the resident's 满意/基本满意/不满意 on a resolved ticket is recorded as its follow-up."""

    def name(self) -> str:
        return "action_rate_ticket"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        ratings = [r for r in entity_values(tracker, "rating") if r in RATINGS]
        text = str((tracker.latest_message or {}).get("text") or "")
        # "不满意" contains "满意": take the longest rating word the message holds
        rating = ratings[0] if ratings else next((r for r in sorted(RATINGS, key=len, reverse=True)
                                                  if r in text), None)
        ticket_id = tracker.get_slot("ticket_id")
        reason = reason_in(text, rating) if rating == "不满意" else ""
        ask = False
        if rating and ticket_id:
            try:
                await self.client.resident_ticket(str(ticket_id), "rate", conversation_id=conversation_id(tracker),
                                                  phones=told_phones(tracker), rating=rating, reason=reason or None)
                ask = rating == "不满意" and not reason and channel_of(tracker) != "voice"
            except RouterForbidden:
                dispatcher.utter_message(response="utter_rate_not_owner", ticket_id=ticket_id)
                return []
            except RouterConflict:
                pass  # not resolved yet (or already rated): the thanks below is still true
            except (RouterUnavailable, RouterError) as exc:
                log.warning("rating for %s not recorded: %s", ticket_id, exc)
                dispatcher.utter_message(response="utter_router_down")
                return []
        dispatcher.utter_message(response="utter_rate_dissatisfied" if rating == "不满意"
                                 else "utter_rate_thanks")
        if ask:
            skip = REASON_SKIP + json.dumps({"ticket_id": str(ticket_id)}, ensure_ascii=False)
            dispatcher.utter_message(text=ASK_REASON, buttons=[{"title": "跳过", "payload": skip}])
        return []
