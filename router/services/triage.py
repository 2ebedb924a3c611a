"""Stateless triage of one message (contract item 1): what is it, about what, where, and what to do.

Safety first: the emergency rules run before and regardless of the NLU model, so a caller smelling gas
is told to ring 119 even when Rasa is down. The NLU intent then picks the outcome; the topic classifier,
the 属地 resolver and the service catalogue fill in the rest. Nothing is created.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from router.domain import emergency as emergency_rules
from router.domain.normalise import normalise, ticket_ids

__all__ = ["Triage", "TriageResult", "OUTCOME_BY_INTENT"]

log = logging.getLogger(__name__)

OUTCOME_BY_INTENT: dict[str, str] = {
    "ask_service": "service_item",
    "report_problem": "ticket",
    "emergency": "emergency",
    "self_harm": "emergency",
    "request_human": "handoff",
    "check_ticket": "ticket_status",
    "urge_ticket": "ticket_status",
    "withdraw_ticket": "ticket_status",
    "greet": "greeting",
    "goodbye": "greeting",
    "thank": "greeting",
    "out_of_scope": "out_of_scope",
    "nlu_fallback": "out_of_scope",
}

# A catalogue hit this good makes an otherwise unclear message a service question.
SERVICE_SCORE_FLOOR = 0.5

# Words that ask about an existing ticket. A ticket id with one of these is a follow-up even when the
# model heard a complaint in it ("SZ…-… 怎么还没人处理").
_FOLLOW_UP = re.compile(
    "进度|进展|到哪|哪一步|什么阶段|处理|谁在|派给|派到|哪个部门|哪个单位|结果|回复|怎么样|怎样|状态|查|催|撤|"
    "办结|好了没|有没有人|受理")


@dataclass
class TriageResult:
    outcome: str
    intent: dict[str, Any]
    topic: dict[str, Any] | None
    service_items: list[dict[str, Any]]
    location: dict[str, Any] | None
    emergency_number: str | None
    crisis: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "intent": self.intent,
            "topic": self.topic,
            "service_items": self.service_items,
            "location": self.location,
            "emergency_number": self.emergency_number,
        }


ParseFn = Callable[[str], Awaitable[dict[str, Any]]]


class Triage:
    def __init__(self, *, parse: ParseFn, classifier: Any, resolver: Any, catalogue: Any) -> None:
        self.parse = parse
        self.classifier = classifier
        self.resolver = resolver
        self.catalogue = catalogue

    async def __call__(self, text: str, channel: str) -> TriageResult:
        clean = normalise(text)
        intent = await self._intent(clean)
        place = self.resolver.resolve(clean)
        location = place.to_location_dict() if place.district or place.street or place.community else None
        alarm = emergency_rules.detect(clean)

        if alarm is not None:
            return TriageResult("emergency", intent, None, [], location, alarm.number, crisis=alarm.is_crisis)

        name = intent["name"]
        # An emergency outcome always names a number, even when only the model saw the danger.
        if name == "self_harm":
            # A crisis the rules missed: an ambulance if the harm is done, else the police (110), who
            # answer people about to act.
            return TriageResult("emergency", intent, None, [], location, emergency_rules.crisis_number(clean),
                                crisis=True)
        if name == "emergency":
            # The model is sure of danger but the rules found no number: send to the police (110), who
            # dispatch the others.
            return TriageResult("emergency", intent, None, [], location, "110")
        outcome = OUTCOME_BY_INTENT.get(name)
        if ticket_ids(clean) and outcome != "ticket_status" and (name != "report_problem" or _FOLLOW_UP.search(clean)):
            # A ticket id is about an existing ticket unless the message is plainly a new complaint.
            outcome = "ticket_status"
        hits = self.catalogue.search(clean, k=3, district=place.district)
        if outcome is None:  # inform / affirm / deny / skip / stop / rate: decide from the content
            if hits and hits[0].score >= SERVICE_SCORE_FLOOR:
                outcome = "service_item"
            elif location is not None:
                outcome = "ticket"
            else:
                outcome = "out_of_scope"
        topic = None
        if outcome in ("ticket", "service_item", "ticket_status", "handoff"):
            topic = self.classifier.predict(clean).to_dict()
        items = [{**h.item.to_summary(), "score": round(float(h.score), 4)} for h in hits]
        if outcome not in ("service_item", "ticket", "handoff"):
            items = []
        return TriageResult(outcome, intent, topic, items, location, None)

    async def _intent(self, text: str) -> dict[str, Any]:
        try:
            parsed = await self.parse(text)
        except Exception as exc:  # Rasa down: triage still answers, and says the intent is unknown
            log.warning("triage without NLU: %s", exc)
            return {"name": "nlu_unavailable", "confidence": 0.0}
        intent = parsed.get("intent") or {}
        return {"name": str(intent.get("name") or "nlu_fallback"),
                "confidence": round(float(intent.get("confidence") or 0.0), 4)}
