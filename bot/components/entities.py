"""Entity post-processing: the emergency service from the rule-based detector, and one owner per
entity type so the dialogue sees each entity once.

- EmergencyTypeExtractor: `emergency_type` (fire | medical | police) comes from
  router.domain.emergency.detect — the same rules the router uses to divert a caller — rather than
  from a span DIET happens to tag ("冒黑烟了" is not a value a slot can use).
- EntityOwnership: phones, ID numbers and ticket ids are what the regexes say, not what DIET guessed
  from digit tokens; emergency_type is what the detector says. Duplicates (the same entity and value
  from two extractors, e.g. DIET and the spaCy gazetteer after synonym mapping) are kept once.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from router.domain.emergency import detect

__all__ = ["EmergencyTypeExtractor", "EntityOwnership"]


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class EmergencyTypeExtractor(GraphComponent):
    """Adds emergency_type when router.domain.emergency finds a (non-crisis) emergency."""

    @classmethod
    def create(
        cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
        execution_context: ExecutionContext,
    ) -> EmergencyTypeExtractor:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or not text:
                continue
            found = detect(text)
            if found is None or found.is_crisis:
                continue
            word = found.matched[0]
            start = max(text.find(word), 0)
            entity = {
                "entity": "emergency_type", "value": found.service, "start": start,
                "end": start + len(word) if word in text else len(text),
                "confidence_entity": 1.0, "extractor": type(self).__name__,
            }
            message.set(ENTITIES, [*(message.get(ENTITIES) or []), entity], add_to_output=True)
        return messages


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class EntityOwnership(GraphComponent):
    """Keeps an entity type only from its owning extractor (config `owners`) and drops duplicates."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "owners": {
                "phone": "RegexEntityExtractor",
                "id_number": "RegexEntityExtractor",
                "ticket_id": "RegexEntityExtractor",
                "emergency_type": "EmergencyTypeExtractor",
            }
        }

    def __init__(self, owners: dict[str, str]) -> None:
        self._owners = owners

    @classmethod
    def create(
        cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
        execution_context: ExecutionContext,
    ) -> EntityOwnership:
        return cls(dict(config.get("owners") or {}))

    def clean(self, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
        kept: list[dict[str, Any]] = []
        seen: set[tuple[str, str]] = set()
        for entity in entities:
            owner = self._owners.get(entity.get("entity", ""))
            if owner is not None and entity.get("extractor") != owner:
                continue
            key = (str(entity.get("entity")), str(entity.get("value")))
            if key in seen:
                continue
            seen.add(key)
            kept.append(entity)
        return kept

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            entities = message.get(ENTITIES)
            if entities:
                message.set(ENTITIES, self.clean(entities), add_to_output=True)
        return messages
