"""Emergencies and crisis: the resident hears whom to call before anything else.

The number comes from the pure detector shared with the router (router.domain.emergency) when it
is importable, else from the NLU's emergency_type entity, else from the router's triage; if none
answers, the resident gets all three numbers rather than nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import RouterAction, channel_of, entity_values
from actions.handoff import REFERRAL_OFFER, offer_referral, referral_offer, request_handoff
from actions.router_client import RouterError, RouterUnavailable

try:
    from router.domain import emergency as _emergency
except ImportError:  # the detector is optional: entities and triage still give a number
    _emergency = None

__all__ = ["ActionEmergency", "ActionSelfHarm", "emergency_number", "NUMBERS_BY_TYPE", "referral_offer",
           "REFERRAL_OFFER"]

log = logging.getLogger(__name__)

NUMBERS_BY_TYPE = {"fire": "119", "medical": "120", "police": "110"}
KNOWN_NUMBERS = ("110", "119", "120", "122")


def _detect(text: str) -> Any:
    if _emergency is None or not hasattr(_emergency, "detect"):
        return None
    try:
        return _emergency.detect(text)
    except Exception:  # a detector bug must never silence the emergency reply
        log.exception("emergency detector failed")
        return None


async def emergency_number(action: RouterAction, tracker: Tracker) -> tuple[str | None, bool]:
    """(number, is_crisis) for the latest message; number None when no source could tell."""
    text = str((tracker.latest_message or {}).get("text") or "")
    found = _detect(text)
    if found is not None:
        number = getattr(found, "number", None)
        return (str(number) if number else None), bool(getattr(found, "is_crisis", False))
    for kind in entity_values(tracker, "emergency_type"):
        if kind in NUMBERS_BY_TYPE:
            return NUMBERS_BY_TYPE[kind], False
        if kind in KNOWN_NUMBERS:
            return kind, False
    try:
        triage = await action.client.triage(text, channel_of(tracker))
    except (RouterUnavailable, RouterError) as exc:
        log.warning("triage for emergency number failed: %s", exc)
        return None, False
    number = triage.get("emergency_number")
    return (str(number) if number else None), False


class ActionEmergency(RouterAction):
    def name(self) -> str:
        return "action_emergency"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        number, crisis = await emergency_number(self, tracker)
        if crisis:
            return await ActionSelfHarm(self._client).run(dispatcher, tracker, domain)
        responses = domain.get("responses") or {}
        name = f"utter_emergency_{number}" if number else "utter_emergency_unknown"
        dispatcher.utter_message(response=name if name in responses else "utter_emergency_unknown")
        if channel_of(tracker) != "voice":
            dispatcher.utter_message(response="utter_emergency_followup")
        return []


class ActionSelfHarm(RouterAction):
    """Care first, crisis lines and 120/110 in the same message, then an urgent handoff."""

    def name(self) -> str:
        return "action_self_harm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(response="utter_self_harm")
        ok = await request_handoff(self.client, tracker, "self_harm", urgent=True)
        if not ok:
            dispatcher.utter_message(response="utter_handoff_unavailable")
        if ok:  # an operator will see the answer
            offer_referral(dispatcher, tracker)
        return [SlotSet("handoff_reason", "self_harm")]
