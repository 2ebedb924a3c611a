"""Service questions (办事咨询): search the catalogue through the router and answer with the best
item and where to apply; the next two matches are offered as buttons.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import RouterAction, channel_of, entity_values, is_payload, normalise, render
from actions.router_client import RouterError, RouterUnavailable

__all__ = ["ActionServiceSearch", "format_where"]

log = logging.getLogger(__name__)

_URL = re.compile(r"https?://\S+")
_WHERE_FIELDS = ("name", "address", "phone", "hours", "url")


def format_where(where: Any, channel: str) -> str:
    """The router's `where` (text, an object or a list of them) as one line; voice drops links."""
    if isinstance(where, list):
        parts = [format_where(w, channel) for w in where[:2]]
        return "；".join(p for p in parts if p)
    if isinstance(where, dict):
        fields = [str(where[k]) for k in _WHERE_FIELDS if where.get(k)]
        text = "，".join(fields)
    else:
        text = str(where or "")
    if channel == "voice":
        text = _URL.sub("", text).strip("，； ")
    return text.strip()


class ActionServiceSearch(RouterAction):
    def name(self) -> str:
        return "action_service_search"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        text = str((tracker.latest_message or {}).get("text") or "")
        if is_payload(text) or not text.strip():
            dispatcher.utter_message(response="utter_ask_service_what")
            return []
        channel = channel_of(tracker)
        district = (entity_values(tracker, "district") or [tracker.get_slot("district")])[0]
        try:
            items = await self.client.search_services(normalise(text), district)
        except (RouterUnavailable, RouterError) as exc:
            log.warning("service search failed: %s", exc)
            dispatcher.utter_message(response="utter_router_down")
            return []
        if not items:
            dispatcher.utter_message(response="utter_service_not_found")
            return []
        best = items[0]
        detail: dict[str, Any] = {}
        try:
            detail = await self.client.get_service(str(best.get("id")), district)
        except (RouterUnavailable, RouterError) as exc:
            log.warning("service item %s detail failed: %s", best.get("id"), exc)
        where = format_where(detail.get("where"), channel)
        where_text = (render(domain, "utter_service_where", channel, where=where) if where
                      else render(domain, "utter_service_where_unknown", channel))
        dispatcher.utter_message(response="utter_service_answer",
                                 name=detail.get("name") or best.get("name"),
                                 department=detail.get("department") or best.get("department"),
                                 where=where_text)
        others = [i for i in items[1:3] if i.get("name")]
        if others and channel != "voice":
            # the payload is the item's own name: searching it again finds exactly that item
            dispatcher.utter_message(response="utter_service_others",
                                     buttons=[{"title": str(i["name"]), "payload": str(i["name"])}
                                              for i in others])
        return []
