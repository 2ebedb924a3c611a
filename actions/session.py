"""Session start: remember the resident's channel (web / wechat / voice) for the whole session,
so responses can pick their voice variants (short, no emoji, no links)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import CHANNELS

__all__ = ["ActionSessionStart"]


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        meta: Any = tracker.get_slot("session_started_metadata") or {}
        channel = meta.get("channel") if isinstance(meta, dict) else None
        events: list[EventType] = [SessionStarted()]
        if channel in CHANNELS:
            events.append(SlotSet("channel", channel))
        # carry_over_slots_to_new_session is false: nothing else survives into the new session
        events.append(ActionExecuted("action_listen"))
        return events
