"""Stateless triage of one message (contract item 1): what is it, about what, where, and what to do.

The evidence (router.services.understanding) and the NLU's reading go through the one decision
(router.domain.intake.decide) that the dialogue also uses, so the API and a conversation answer the
same text the same way. Safety first: the emergency rules are part of the evidence and decide before
the NLU is even consulted, so a caller smelling gas is told to ring 119 even when Rasa is down.
Nothing is created.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from router.adapters import pinyin_input
from router.domain.intake import LETTER_CHARS, OUTCOME_OF_INTENT, Decision, NluResult, decide
from router.domain.normalise import normalise
from router.services.understanding import MAX_EVIDENCE_CHARS, Understanding

__all__ = ["Triage", "TriageResult", "OUTCOME_BY_INTENT"]

log = logging.getLogger(__name__)

OUTCOME_BY_INTENT = OUTCOME_OF_INTENT


@dataclass
class TriageResult:
    outcome: str
    intent: dict[str, Any]
    topic: dict[str, Any] | None
    service_items: list[dict[str, Any]]
    location: dict[str, Any] | None
    emergency_number: str | None
    crisis: bool = False
    decision: dict[str, Any] = field(default_factory=dict)
    nlu: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "intent": self.intent,
            "topic": self.topic,
            "service_items": self.service_items,
            "location": self.location,
            "emergency_number": self.emergency_number,
            # Extensions (not in the contract's minimum): why, and what the NLU alone said.
            "crisis": self.crisis,
            "decision": self.decision,
            "nlu": self.nlu,
        }


ParseFn = Callable[[str], Awaitable[dict[str, Any]]]


class Triage:
    def __init__(self, *, parse: ParseFn, understanding: Understanding) -> None:
        self.parse = parse
        self.understanding = understanding

    async def __call__(self, text: str, channel: str, alternatives: Sequence[str] = ()) -> TriageResult:
        text = pinyin_input.to_hanzi(text)  # typed in pinyin: read as the characters it stands for
        clean = normalise(text[: MAX_EVIDENCE_CHARS * 2])[:MAX_EVIDENCE_CHARS]
        # The NLU runs in Rasa while the router gathers the evidence: the two overlap. A letter is read
        # by its evidence alone (router.domain.intake.decide), so Rasa is not asked about one.
        parse = asyncio.ensure_future(self._nlu(clean)) if len(clean) < LETTER_CHARS else None
        try:
            # Off the event loop: a letter's evidence takes tens of milliseconds of CPU, and the loop
            # keeps serving other residents (and /healthz) meanwhile.
            understood = await asyncio.get_running_loop().run_in_executor(
                None, functools.partial(self.understanding, text, channel, alternatives, with_topic=True))
            nlu = await parse if parse is not None else NluResult("not_asked", 1.0)
        finally:
            if parse is not None and not parse.done():
                parse.cancel()
        decision = decide(nlu, understood.evidence)
        return self._result(decision, nlu, understood)

    async def _nlu(self, clean: str) -> NluResult:
        try:
            return NluResult.from_parse(await self.parse(clean))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # Rasa down: triage still answers from the rest of the evidence
            log.warning("triage without NLU: %s", exc)
            return NluResult("nlu_unavailable", 0.0)

    @staticmethod
    def _result(decision: Decision, nlu: NluResult, understood: Any) -> TriageResult:
        place, hits, topic = understood.place, understood.hits, understood.topic
        location = place.to_location_dict() if place.district or place.street or place.community else None
        outcome = decision.outcome
        intent = {"name": decision.intent if decision.intent != "nlu_fallback" else nlu.name,
                  "confidence": round(float(decision.confidence), 4)}
        nlu_dict = {"name": nlu.name, "confidence": round(nlu.confidence, 4)}
        if outcome == "emergency":
            return TriageResult("emergency", intent, None, [], location, decision.emergency_number,
                                crisis=decision.crisis, decision=decision.to_dict(), nlu=nlu_dict)
        topic_dict = topic.to_dict() if topic is not None and outcome in (
            "ticket", "service_item", "ticket_status", "handoff") else None
        items = [{**h.item.to_summary(), "score": round(float(h.score), 4)} for h in hits]
        if outcome not in ("service_item", "ticket", "handoff"):
            items = []
        return TriageResult(outcome, intent, topic_dict, items, location, None,
                            decision=decision.to_dict(), nlu=nlu_dict)
