"""The last step of the NLU pipeline: the intake decision turns the NLU's reading into what the
dialogue acts on.

The router gathers the evidence about every message (emergency rules on the text and on every ASR
alternative, the city/danger model, the catalogue, the place, complaint and question cues) and sends
it in the message metadata under ``intake``. Here router.domain.intake.decide weighs it with the NLU's
intent — the same function ``POST /api/v1/triage`` calls — and the message's intent becomes the decided
one: a letter DIET calls out_of_scope becomes report_problem, a garbled "楼下着活了" becomes
emergency, thin evidence becomes nlu_fallback (the bot asks with choices).

Answers to a form's question (inform, affirm, deny, skip, stop, rate) stay as the NLU read them unless
the decision is an emergency: inside a form they are the form's. Without evidence (``rasa shell``, a
caller other than the router) the decision uses what it can compute here: the words and the emergency
rules.

The NLU's own reading stays in the parse data as ``nlu_intent``; the decision as ``intake``.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from router.domain import emergency
from router.domain.intake import FORM_ANSWER_INTENTS, Alarm, Evidence, NluResult, cues_of, decide
from router.domain.normalise import normalise

__all__ = ["IntakeDecision", "evidence_for"]

log = logging.getLogger(__name__)

METADATA_KEY = "intake"
SERVICE_OF_NUMBER = {"119": "fire", "120": "medical", "110": "police"}


def evidence_for(message: Message) -> Evidence:
    """The router's evidence from the metadata, or what the words and the rules alone give."""
    metadata = message.get("metadata") or {}
    raw = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
    if isinstance(raw, dict):
        try:
            return Evidence.from_dict(raw)
        except (TypeError, ValueError, KeyError) as exc:
            log.warning("ignoring malformed intake evidence: %s", exc)
    clean = normalise(str(message.get(TEXT) or ""))[:2000]
    found = emergency.detect(clean)
    alarm = Alarm(found.number, found.kind, found.is_crisis, "text", found.matched) if found else None
    return Evidence(chars=len(clean), cues=cues_of(clean), alarm=alarm,
                    crisis_number=emergency.crisis_number(clean) if clean else "110")


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class IntakeDecision(GraphComponent):
    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> IntakeDecision:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            intent = message.get(INTENT)
            if not isinstance(text, str) or not isinstance(intent, dict) or text.startswith("/"):
                continue  # a button payload ("/rate{...}") says exactly what it is
            nlu = NluResult.from_parse({"intent": intent, "intent_ranking": message.get(INTENT_RANKING_KEY) or []})
            decision = decide(nlu, evidence_for(message))
            message.set("intake", decision.to_dict(), add_to_output=True)
            message.set("nlu_intent", dict(intent), add_to_output=True)
            answer = any(r.startswith("answer:") for r in decision.reasons)
            if nlu.name in FORM_ANSWER_INTENTS and decision.outcome != "emergency" and not answer:
                continue
            if decision.intent != nlu.name:
                message.set(INTENT, {"name": decision.intent, "confidence": float(decision.confidence)},
                            add_to_output=True)
            if decision.outcome == "emergency" and decision.emergency_number and not decision.crisis:
                self._set_emergency_type(message, SERVICE_OF_NUMBER.get(decision.emergency_number, "police"))
        return messages

    @staticmethod
    def _set_emergency_type(message: Message, service: str) -> None:
        entities = [e for e in message.get(ENTITIES) or [] if e.get("entity") != "emergency_type"]
        entities.append({"entity": "emergency_type", "value": service, "start": 0, "end": 0,
                         "confidence_entity": 1.0, "extractor": "IntakeDecision"})
        message.set(ENTITIES, entities, add_to_output=True)
