"""Handing the conversation to a person (POST /api/v1/conversations/{id}/handoff) and the
two-stage fallback that leads there when the bot fails to understand twice in a row.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    RouterAction,
    channel_of,
    conversation_id,
    format_place,
    is_angry,
    latest_intent,
    mask_phone,
    render,
)
from actions.router_client import RouterClient, RouterError, RouterUnavailable

__all__ = ["ActionHandoff", "ActionFallback", "build_summary", "request_handoff",
           "consecutive_fallbacks", "FALLBACK_INTENT", "offer_referral", "referral_offer", "REFERRAL_OFFER",
           "REFERRAL_CHANNELS"]

log = logging.getLogger(__name__)

FALLBACK_INTENT = "nlu_fallback"
_NOT_TOPICS = {FALLBACK_INTENT, "request_human", "greet", "thank", "goodbye", "affirm", "deny", "skip",
               "stop", "inform", ""}


def _user_events(tracker: Tracker) -> list[dict[str, Any]]:
    return [e for e in tracker.events if e.get("event") == "user"]


def consecutive_fallbacks(tracker: Tracker) -> int:
    """How many of the latest user messages in a row the NLU could not understand."""
    count = 0
    for event in reversed(_user_events(tracker)):
        if ((event.get("parse_data") or {}).get("intent") or {}).get("name") != FALLBACK_INTENT:
            break
        count += 1
    return count


def build_summary(tracker: Tracker, channel: str) -> dict[str, Any]:
    """What the operator sees first: the resident's goal, place, ticket draft and last words."""
    intent = ""
    for event in reversed(_user_events(tracker)):
        name = ((event.get("parse_data") or {}).get("intent") or {}).get("name") or ""
        if name not in _NOT_TOPICS:
            intent = name
            break
    get = tracker.get_slot
    draft = {k: get(k) for k in ("problem_text", "district", "street", "community", "landmark",
                                 "address", "since", "contact_name") if get(k)}
    if get("contact_phone"):
        draft["contact_phone"] = mask_phone(str(get("contact_phone")))
    texts = [str(e.get("text")) for e in _user_events(tracker) if e.get("text")]
    return {
        "intent": intent or latest_intent(tracker),
        "topic": get("problem_text") or (texts[-1] if texts else ""),
        "place": format_place(get("district"), get("street"), get("community"), get("landmark"),
                              get("address")),
        "ticket_draft": draft,
        "ticket_id": get("ticket_id"),
        "channel": channel,
        "last_messages": texts[-5:],
    }


async def request_handoff(client: RouterClient, tracker: Tracker, reason: str, *,
                          urgent: bool = False) -> bool:
    """Ask the router to queue the conversation for an operator; False if that did not happen."""
    summary = build_summary(tracker, channel_of(tracker))
    summary["urgent"] = urgent
    try:
        await client.handoff(conversation_id(tracker), reason, summary)
    except (RouterUnavailable, RouterError) as exc:
        log.warning("handoff for %s failed: %s", tracker.sender_id, exc)
        return False
    return True


# After the crisis lines or the support lines (distress), on a channel with buttons: may the community's 心理服务室 contact them later? The
# router takes the answer before Rasa (router/services/referral.py) and shows it to the operator, who
# makes the referral; nothing is dispatched from here.
REFERRAL_OFFER = "如果您愿意，之后可以请社区心理服务室的工作人员联系您，陪您一起想办法。"
REFERRAL_CHANNELS = ("web", "wechat")


def referral_offer(conv_id: str) -> list[dict[str, str]]:
    def payload(answer: str) -> str:
        return "/referral_consent" + json.dumps({"conversation_id": conv_id, "answer": answer}, ensure_ascii=False)

    return [{"title": "希望社区心理服务室联系我", "payload": payload("yes")},
            {"title": "暂时不用", "payload": payload("no")}]


def offer_referral(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """The 心理服务室 offer, on a channel with buttons and a conversation to record the answer on."""
    conv_id = conversation_id(tracker)
    if channel_of(tracker) in REFERRAL_CHANNELS and conv_id:
        dispatcher.utter_message(text=REFERRAL_OFFER, buttons=referral_offer(conv_id))


DISTRESS_CARE = ("听起来您最近真的很辛苦，愿意说出来就很好。心里难受的时候，随时可以打心理援助热线：深圳 0755-25629459、"
                 "全国 12356、希望24热线 400-161-9995（24小时）。")


def _in_distress(tracker: Tracker) -> bool:
    """The intake decided on a person because the resident sounds in despair without naming harm
    (router.domain.intake: a "cues:distress" or "detector:distress:…" reason): the operator sees it first,
    marked urgent."""
    intake = (tracker.latest_message or {}).get("intake")
    reasons = intake.get("reasons") if isinstance(intake, dict) else None
    return isinstance(reasons, list) and any(str(r) == "cues:distress" or str(r).startswith("detector:distress:")
                                             for r in reasons)


class ActionHandoff(RouterAction):
    def name(self) -> str:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        if tracker.get_slot("handoff_due") or consecutive_fallbacks(tracker) >= 2:
            reason = tracker.get_slot("handoff_reason") or "fallback"
        elif latest_intent(tracker) == "request_human":
            reason = "distress" if _in_distress(tracker) else "request_human"
        else:
            reason = tracker.get_slot("handoff_reason") or "bot_failed"
        ok = await request_handoff(self.client, tracker, reason, urgent=reason == "distress")
        if reason == "distress":
            # the same lines as the crisis answer (bot/domain/safety.yml), without the emergency numbers
            dispatcher.utter_message(text=DISTRESS_CARE)
        dispatcher.utter_message(response="utter_handoff" if ok else "utter_handoff_unavailable")
        if reason == "distress" and ok:
            offer_referral(dispatcher, tracker)
        return [SlotSet("handoff_reason", reason), SlotSet("handoff_due", False), SlotSet("failed_turns", 0)]


class ActionFallback(RouterAction):
    """First misunderstanding: ask to rephrase, likely intents first. Second in a row: set
    handoff_due, and the rule that follows runs action_handoff."""

    def name(self) -> str:
        return "action_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        failed = consecutive_fallbacks(tracker)
        text = str((tracker.latest_message or {}).get("text") or "")
        if is_angry(text):
            # an angry resident we also fail to understand should not be asked to rephrase
            dispatcher.utter_message(response="utter_handoff_anger")
            return [SlotSet("failed_turns", failed), SlotSet("handoff_reason", "anger"),
                    SlotSet("handoff_due", True)]
        if failed >= 2:
            return [SlotSet("failed_turns", failed), SlotSet("handoff_reason", "fallback"),
                    SlotSet("handoff_due", True)]
        channel = channel_of(tracker)
        text = render(domain, "utter_ask_rephrase", channel)
        if channel == "voice":
            dispatcher.utter_message(text=text)
        else:
            dispatcher.utter_message(text=text, buttons=self._ranked_buttons(tracker, domain))
        return [SlotSet("failed_turns", max(failed, 1)), SlotSet("handoff_due", False)]

    @staticmethod
    def _ranked_buttons(tracker: Tracker, domain: DomainDict) -> list[dict[str, str]]:
        variants = (domain.get("responses") or {}).get("utter_ask_rephrase") or []
        buttons = next((list(v.get("buttons") or []) for v in variants if not v.get("condition")), [])
        ranking = [r.get("name") for r in (tracker.latest_message or {}).get("intent_ranking") or []]
        order = {name: i for i, name in enumerate(ranking)}

        def rank(button: dict[str, str]) -> tuple[int, int]:
            intent = str(button.get("payload", "")).lstrip("/").split("{")[0]
            # 转人工 stays last: it is the way out, not a guess
            return (1 if intent == "request_human" else 0, order.get(intent, len(order)))

        return sorted(buttons, key=rank)
