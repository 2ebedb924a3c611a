"""Entity post-processing: the emergency service from the rule-based detector, and one owner per
entity type so the dialogue sees each entity once.

- EmergencyTypeExtractor: `emergency_type` (fire | medical | police) comes from
  router.domain.emergency.detect — the same rules the router uses to divert a caller — rather than
  from a span DIET happens to tag ("冒黑烟了" is not a value a slot can use).
- PersonNameExtractor: `person_name` from router.domain.names — a cue ("我叫", "联系人", "我是") and
  the shape of a Chinese name. DIET saw a few dozen names and tags unseen ones poorly ("我是张阿姨" →
  "阿姨"); the rule is precise and DIET stays the fallback for a bare name given as a form answer.
- EntityOwnership: phones, ID numbers and ticket ids are what the regexes say, not what DIET guessed
  from digit tokens; emergency_type is what the detector says; a person_name the rule found replaces
  DIET's. Duplicates (the same entity and value from two extractors, e.g. DIET and the spaCy
  gazetteer after synonym mapping) are kept once.
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
from router.domain.names import find_person_name

__all__ = ["EmergencyTypeExtractor", "PersonNameExtractor", "EntityOwnership"]


class _RuleExtractor(GraphComponent):
    """An untrained extractor: ``find`` gives at most one entity per message from rules."""

    @classmethod
    def create(
        cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
        execution_context: ExecutionContext,
    ) -> _RuleExtractor:
        return cls()

    def find(self, text: str) -> dict[str, Any] | None:
        raise NotImplementedError

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            entity = self.find(text) if isinstance(text, str) and text else None
            if entity is None:
                continue
            entity = {**entity, "confidence_entity": 1.0, "extractor": type(self).__name__}
            message.set(ENTITIES, [*(message.get(ENTITIES) or []), entity], add_to_output=True)
        return messages


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class EmergencyTypeExtractor(_RuleExtractor):
    """Adds emergency_type when router.domain.emergency finds a (non-crisis) emergency."""

    def find(self, text: str) -> dict[str, Any] | None:
        found = detect(text)
        if found is None or found.is_crisis:
            return None
        word = found.matched[0]
        start = max(text.find(word), 0)
        return {"entity": "emergency_type", "value": found.service, "start": start,
                "end": start + len(word) if word in text else len(text)}


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class PersonNameExtractor(_RuleExtractor):
    """Adds person_name when the resident names themselves ("我叫李明", "联系人邓先生")."""

    def find(self, text: str) -> dict[str, Any] | None:
        found = find_person_name(text)
        if found is None:
            return None
        return {"entity": "person_name", "value": found.value, "start": found.start, "end": found.end}


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
            },
            # when this extractor found the entity, other extractors' guesses of it are dropped
            "preferred": {"person_name": "PersonNameExtractor"},
        }

    def __init__(self, owners: dict[str, str], preferred: dict[str, str] | None = None) -> None:
        self._owners = owners
        self._preferred = preferred or {}

    @classmethod
    def create(
        cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
        execution_context: ExecutionContext,
    ) -> EntityOwnership:
        return cls(dict(config.get("owners") or {}), dict(config.get("preferred") or {}))

    def clean(self, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
        kept: list[dict[str, Any]] = []
        seen: set[tuple[str, str]] = set()
        found_by = {(e.get("entity"), e.get("extractor")) for e in entities}
        for entity in entities:
            name = entity.get("entity", "")
            owner = self._owners.get(name)
            if owner is not None and entity.get("extractor") != owner:
                continue
            preferred = self._preferred.get(name)
            if preferred and (name, preferred) in found_by and entity.get("extractor") != preferred:
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
