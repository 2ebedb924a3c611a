"""Rasa component that puts every message into the canonical form of router.domain.normalise.

It runs first in the pipeline so that the tokenizer, the regexes (phones, ticket ids) and the
classifier see simplified characters, half-width ASCII and Arabic digits whatever the resident
typed or the speech recogniser wrote. Training examples are normalised too, piece by piece around
their annotated entities, so that entity offsets stay right.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, ENTITY_ATTRIBUTE_END, ENTITY_ATTRIBUTE_START, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from router.domain.normalise import normalise, normalise_with_spans

__all__ = ["TextNormaliser", "normalise_with_entities"]


def normalise_with_entities(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Normalise `text` and move the entity annotations with it (values normalised too, unless an
    annotation gave an explicit value such as a synonym's)."""
    spans = [(e[ENTITY_ATTRIBUTE_START], e[ENTITY_ATTRIBUTE_END]) for e in entities]
    try:
        new_text, new_spans = normalise_with_spans(text, spans)
    except ValueError:  # overlapping annotations: leave the example as it is
        return text, entities
    moved = []
    for entity, (start, end) in zip(entities, new_spans, strict=True):
        new = dict(entity)
        if new.get("value") == text[entity[ENTITY_ATTRIBUTE_START]:entity[ENTITY_ATTRIBUTE_END]]:
            new["value"] = new_text[start:end]
        new[ENTITY_ATTRIBUTE_START], new[ENTITY_ATTRIBUTE_END] = start, end
        moved.append(new)
    return new_text, moved


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class TextNormaliser(GraphComponent):
    """Rewrites the message text in place with router.domain.normalise."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TextNormaliser:
        return cls()

    def _normalise(self, message: Message) -> None:
        text = message.get(TEXT)
        if not isinstance(text, str) or not text:
            return
        entities = message.get(ENTITIES) or []
        if entities:
            new_text, new_entities = normalise_with_entities(text, entities)
            message.set(ENTITIES, new_entities)
        else:
            new_text = normalise(text)
        message.set(TEXT, new_text or text)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._normalise(example)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._normalise(message)
        return messages
