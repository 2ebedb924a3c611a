"""Slot extraction and validation for the forms: ticket_form (what / where / since / contact) and
ticket_lookup_form (ticket id).

Rules the resident notices:
- only what is missing is asked: the first report message fills what it can (problem, place,
  phone, time), and an optional question that was skipped is never asked again;
- the place is resolved by the router (POST /api/v1/locations/resolve) down to community or
  landmark, and a later "不对，是西乡街道" replaces it (a new street drops the old community);
- anything the resident says that is not an answer (stop, emergency, 转人工...) is left alone, so
  the form rejects and the rules for those intents take over.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT, FormValidationAction
from rasa_sdk.types import DomainDict

from actions.common import (
    RouterAction,
    entity_values,
    find_phone,
    find_ticket_id,
    format_place,
    idempotency_key,
    is_payload,
    latest_intent,
    normalise,
)
from actions.router_client import RouterClient, RouterError, RouterUnavailable
from router.domain.answers import AGREE, DECLINE, SAME_NUMBER
from router.domain.answers import kind_of as answer_kind

__all__ = ["ValidateTicketForm", "ActionAskLocationOk", "ActionAskContactPhone", "caller_number", "ValidateTicketLookupForm", "INTERRUPTING_INTENTS",
           "LEVELS", "is_substantive_report", "merge_place"]

log = logging.getLogger(__name__)

# Messages with these intents are never taken as an answer to a form question.
INTERRUPTING_INTENTS = frozenset({
    "stop", "emergency", "self_harm", "request_human", "goodbye", "ask_service",
    "check_ticket", "urge_ticket", "withdraw_ticket",
})
OPTIONAL_SLOTS = ("since", "contact_phone")
MAX_TEXT = 2000
LEVELS = ("district", "street", "community", "grid", "landmark")
PLACE_ENTITIES = ("district", "street", "community", "landmark", "address")

# Words that only announce a report ("我要投诉一下") and say nothing about the problem itself.
_ANNOUNCE = re.compile(
    r"我要|我想|想要|帮我|请|麻烦|投诉|举报|反映|反应|报事|求助|报修|一下|一个|个|问题|事情|情况|有|的|了|在|"
    r"你好|您好|这里|那里|这边|那边|我们|我|要|吗|呢|吧|啊"
)
_NON_WORD = re.compile(r"[\s\W\d_a-zA-Z]+")


def is_substantive_report(text: str, place_values: list[str]) -> bool:
    """True if the message says what happened, not just "我要投诉" or a bare address."""
    rest = normalise(text)
    for value in sorted(place_values, key=len, reverse=True):
        rest = rest.replace(value, "")
    rest = _ANNOUNCE.sub("", rest)
    rest = _NON_WORD.sub("", rest)
    return len(rest) >= 3


def merge_place(current: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Combine what we knew with a new resolution.

    A different district or street is a correction: the lower levels known so far belonged to the
    old place and are dropped. Otherwise the new answer refines the old one.
    """
    new = {k: new.get(k) or None for k in LEVELS}
    changed_high = any(new[k] and current.get(k) and new[k] != current.get(k) for k in ("district", "street"))
    if changed_high:
        merged = dict(new)
        # a street alone still lies in the district we knew, unless the resolver said otherwise
        if not merged["district"] and not new["street"]:
            merged["district"] = current.get("district")
        return merged
    merged = {k: current.get(k) or None for k in LEVELS}
    for k in LEVELS:
        if new[k]:
            merged[k] = new[k]
    return merged


class ValidateTicketForm(FormValidationAction):
    def __init__(self, client: RouterClient | None = None) -> None:
        self._client = client

    @property
    def client(self) -> RouterClient:
        if self._client is None:
            self._client = RouterClient.from_env()
        return self._client

    def name(self) -> str:
        return "validate_ticket_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> list[str]:
        skipped = set(tracker.get_slot("skipped_slots") or [])
        return [s for s in domain_slots if s not in skipped]

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        # The SDK keeps only events for required slots; the place levels, the skip list and the
        # idempotency key are filled alongside and must survive too.
        extracted = await self.get_extraction_events(dispatcher, tracker, domain)
        tracker.add_slots(extracted)
        validated = await self.get_validation_events(dispatcher, tracker, domain)
        tracker.add_slots(validated)
        values: dict[str, Any] = {}
        for ev in extracted + validated:
            values[ev["name"]] = ev["value"]
        events: list[EventType] = [SlotSet(k, v) for k, v in values.items()]
        # Always name the next question ourselves: Rasa's own choice would re-ask skipped slots.
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        missing = next((s for s in required if tracker.slots.get(s) is None), None)
        events.append(SlotSet(REQUESTED_SLOT, missing))
        return events

    # ------------------------------------------------------------------ validation
    def validate_problem_text(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: DomainDict) -> dict[str, Any]:
        text = str(value or "").strip()
        # the router accepts 1..2000 characters; a resident's story longer than that is cut, not lost
        return {"problem_text": text[:MAX_TEXT] or None}

    def validate_location_ok(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> dict[str, Any]:
        return {"location_ok": True if value else None}

    def validate_since(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: DomainDict) -> dict[str, Any]:
        return {"since": str(value).strip()[:100] or None if value else None}

    def validate_contact_phone(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> dict[str, Any]:
        return {"contact_phone": find_phone(str(value)) if value else None}

    # ------------------------------------------------------------------ what happened
    async def extract_problem_text(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> dict[str, Any]:
        if tracker.get_slot("problem_text"):
            return {}
        text = str((tracker.latest_message or {}).get("text") or "")
        intent = latest_intent(tracker)
        if intent in INTERRUPTING_INTENTS or is_payload(text) or not text.strip():
            return {}
        requested = tracker.get_slot("requested_slot")
        places = [v for e in PLACE_ENTITIES for v in entity_values(tracker, e)]
        substantive = is_substantive_report(text, places)
        if substantive or (requested == "problem_text" and not places):
            message_id = (tracker.latest_message or {}).get("message_id")
            return {"problem_text": normalise(text),
                    "ticket_key": idempotency_key(tracker.sender_id, message_id, text)}
        return {}

    # ------------------------------------------------------------------ where
    async def extract_location_ok(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> dict[str, Any]:
        text = str((tracker.latest_message or {}).get("text") or "")
        intent = latest_intent(tracker)
        if intent in INTERRUPTING_INTENTS:
            return {}
        requested = tracker.get_slot("requested_slot")
        current = {k: tracker.get_slot(k) for k in LEVELS}
        if requested == "location_ok" and intent == "skip":
            if current["district"] or current["street"]:
                return {"location_ok": True, "location_candidates": None}
            dispatcher.utter_message(response="utter_location_required")
            return {"location_ok": None}
        mentioned = {e: entity_values(tracker, e) for e in PLACE_ENTITIES}
        has_entities = any(mentioned.values())
        payload = is_payload(text)
        if not (has_entities or (requested in (None, "location_ok") and not payload and text.strip())):
            return {}

        if payload or not text.strip():
            query = "".join(v[0] for v in mentioned.values() if v)
        elif mentioned["district"] or mentioned["street"] or requested is None:
            query = normalise(text)
        else:  # a community, landmark or free answer: look for it inside the place we know
            query = (current["district"] or "") + (current["street"] or "") + normalise(text)

        result: dict[str, Any] = {}
        try:
            result = await self.client.resolve_location(query)
        except (RouterUnavailable, RouterError) as exc:
            log.warning("location resolve failed, using NLU entities only: %s", exc)
        resolved = {k: result.get(k) for k in LEVELS}
        ambiguous = [c for c in (result.get("ambiguous") or []) if c]
        if not any(resolved.values()) and not ambiguous:
            resolved = {k: (mentioned.get(k) or [None])[0] for k in LEVELS if k != "grid"}
        place = merge_place(current, resolved)

        address = tracker.get_slot("address")
        if mentioned["address"]:
            address = mentioned["address"][0]
        elif requested == "location_ok" and not payload and not any(
                resolved.get(k) for k in ("community", "landmark")):
            address = normalise(text)  # a description the resolver did not know: keep the words

        ok: bool | None = None
        if place["community"] or place["landmark"]:
            ok = True
        elif ambiguous:
            ok = None
        elif requested == "location_ok" and (place["district"] or place["street"]) and (
                current["district"] or current["street"]):
            # asked once for the detail and got an answer we could not place finer: good enough
            ok = True
        out: dict[str, Any] = {**place, "address": address, "location_ok": ok,
                               "location_candidates": ambiguous or None}
        if not any(place[k] for k in ("district", "street", "community", "landmark")) and requested == "location_ok":
            dispatcher.utter_message(response="utter_location_required")
        elif ok and tracker.get_slot("location_ok") and requested not in (None, "location_ok"):
            # a correction in the middle of the form: say what we now have
            dispatcher.utter_message(response="utter_location_noted",
                                     place=format_place(place["district"], place["street"],
                                                        place["community"], place["landmark"]))
        return out

    # ------------------------------------------------------------------ since when (optional)
    async def extract_since(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: DomainDict) -> dict[str, Any]:
        if tracker.get_slot("since"):
            return {}
        intent = latest_intent(tracker)
        if intent in INTERRUPTING_INTENTS:
            return {}
        requested = tracker.get_slot("requested_slot")
        text = str((tracker.latest_message or {}).get("text") or "")
        if requested == "since" and (intent == "skip" or (not is_payload(text) and answer_kind(text) == DECLINE)):
            return {"skipped_slots": _add(tracker, "since")}
        times = entity_values(tracker, "time")
        if times:
            return {"since": times[0]}
        if _mentions_place(tracker):
            return {}  # "不对，是西乡街道" corrects the place; it does not say since when
        if requested == "since" and not is_payload(text) and text.strip():
            return {"since": normalise(text)}
        return {}

    # ------------------------------------------------------------------ contact (optional)
    async def extract_contact_phone(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> dict[str, Any]:
        intent = latest_intent(tracker)
        if intent in INTERRUPTING_INTENTS:
            return {}
        out: dict[str, Any] = {}
        names = entity_values(tracker, "person_name")
        if names and not tracker.get_slot("contact_name"):
            out["contact_name"] = names[0]
        if tracker.get_slot("contact_phone"):
            return out
        requested = tracker.get_slot("requested_slot")
        text = str((tracker.latest_message or {}).get("text") or "")
        answer = answer_kind(text) if requested == "contact_phone" and not is_payload(text) else ""
        if requested == "contact_phone" and (intent == "skip" or answer == DECLINE):
            # "跳过", "不用了", "不方便", "算了": no number, and the report goes on
            return {**out, "skipped_slots": _add(tracker, "contact_phone")}
        caller = caller_number(tracker)
        if requested == "contact_phone" and caller and answer in (SAME_NUMBER, AGREE):
            return {**out, "contact_phone": caller}
        if requested == "contact_phone" and intent == "affirm" and caller:
            # "可以" / "就这个号" to "就用您现在打来的这个号码，可以吗？"
            return {**out, "contact_phone": caller}
        phone = next((p for p in (find_phone(v) for v in entity_values(tracker, "phone")) if p), None)
        phone = phone or (find_phone(text) if not is_payload(text) else None)
        if phone:
            return {**out, "contact_phone": phone}
        other_info = any(e.get("entity") != "phone" for e in (tracker.latest_message or {}).get("entities") or [])
        if requested == "contact_phone" and not is_payload(text) and text.strip() and not other_info:
            # only an answer that says nothing else is a failed phone number; "不对，是西乡街道" or
            # "上周开始的" while we wait for the phone is other information, not a bad number
            dispatcher.utter_message(response="utter_invalid_phone")
            return {**out, "contact_phone": None}
        return out


def caller_number(tracker: Tracker) -> str | None:
    """The number a phone caller is calling from, when the voice gateway gave a real one."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            meta = event.get("metadata") or {}
            number = meta.get("caller_number") if isinstance(meta, dict) else None
            return find_phone(str(number)) if number else None
    return None


class ActionAskContactPhone(RouterAction):
    """Ask for a contact number; on the phone, offer the number they are calling from."""

    def name(self) -> str:
        return "action_ask_contact_phone"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        caller = caller_number(tracker)
        if caller:
            dispatcher.utter_message(response="utter_ask_contact_phone_caller",
                                     last_digits=" ".join(caller[-4:]))
        else:
            dispatcher.utter_message(response="utter_ask_contact_phone")
        return []


def _mentions_place(tracker: Tracker) -> bool:
    return any(entity_values(tracker, e) for e in PLACE_ENTITIES)


def _add(tracker: Tracker, slot: str) -> list[str]:
    skipped = list(tracker.get_slot("skipped_slots") or [])
    if slot not in skipped:
        skipped.append(slot)
    return skipped


class ActionAskLocationOk(RouterAction):
    """Ask for the place; what is asked depends on what we already know."""

    def name(self) -> str:
        return "action_ask_location_ok"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        get = tracker.get_slot
        place = format_place(get("district"), get("street"), get("community"), get("landmark"))
        candidates = get("location_candidates") or []
        if candidates:
            buttons = []
            for cand in candidates[:5]:
                if isinstance(cand, dict):
                    levels = {k: cand.get(k) for k in ("district", "street", "community", "landmark")
                              if cand.get(k)}
                    title = format_place(**levels)
                else:
                    levels, title = {"community": str(cand)}, str(cand)
                buttons.append({"title": title,
                                "payload": "/inform" + json.dumps(levels, ensure_ascii=False)})
            dispatcher.utter_message(response="utter_ask_location_choice", buttons=buttons,
                                     place=place or str(candidates[0]))
        elif get("district") or get("street"):
            dispatcher.utter_message(response="utter_ask_location_detail", place=place)
        else:
            dispatcher.utter_message(response="utter_ask_location")
        return []


class ValidateTicketLookupForm(FormValidationAction):
    def name(self) -> str:
        return "validate_ticket_lookup_form"

    async def extract_ticket_id(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> dict[str, Any]:
        # The NLU may miss an id typed with spaces or read out by speech recognition.
        if latest_intent(tracker) in ("stop", "emergency", "self_harm", "request_human"):
            return {}
        text = str((tracker.latest_message or {}).get("text") or "")
        found = find_ticket_id(text) if not is_payload(text) else None
        if found:
            return {"ticket_id": found}
        if tracker.get_slot("requested_slot") == "ticket_id" and text.strip() and not is_payload(text) \
                and not entity_values(tracker, "ticket_id"):
            dispatcher.utter_message(response="utter_invalid_ticket_id", text=text.strip()[:30])
            return {"ticket_id": None}
        return {}

    def validate_ticket_id(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> dict[str, Any]:
        found = find_ticket_id(str(value or ""))
        if not found and value:
            dispatcher.utter_message(response="utter_invalid_ticket_id", text=str(value)[:30])
        return {"ticket_id": found}
