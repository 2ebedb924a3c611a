"""The bot's own NLU components, as Rasa runs them on a resident's message (bot runtime)."""

from __future__ import annotations

from pathlib import Path

import pytest

rasa = pytest.importorskip("rasa")

from rasa.shared.nlu.constants import ENTITIES, TEXT  # noqa: E402
from rasa.shared.nlu.training_data.message import Message  # noqa: E402
from rasa.shared.nlu.training_data.training_data import TrainingData  # noqa: E402

from bot.components.entities import EntityOwnership, PersonNameExtractor  # noqa: E402
from bot.components.use_featurizer import UniversalSentenceEncoderFeaturizer  # noqa: E402


def _names(message: Message) -> list[tuple[str, str]]:
    return [(e["value"], e["extractor"]) for e in message.get(ENTITIES) or [] if e["entity"] == "person_name"]


def test_the_rule_name_replaces_diets_guess_and_diet_stays_for_bare_names() -> None:
    said = Message(data={TEXT: "我是张阿姨", ENTITIES: [
        {"entity": "person_name", "value": "阿姨", "start": 3, "end": 5, "extractor": "DIETClassifier"}]})
    bare = Message(data={TEXT: "黄志强", ENTITIES: [
        {"entity": "person_name", "value": "黄志强", "start": 0, "end": 3, "extractor": "DIETClassifier"}]})
    place = Message(data={TEXT: "我是南山区的", ENTITIES: []})
    messages = PersonNameExtractor().process([said, bare, place])
    owner = EntityOwnership(EntityOwnership.get_default_config()["owners"],
                            EntityOwnership.get_default_config()["preferred"])
    said, bare, place = owner.process(messages)
    assert _names(said) == [("张阿姨", "PersonNameExtractor")]
    assert _names(bare) == [("黄志强", "DIETClassifier")]
    assert _names(place) == []


def test_sentence_vectors_for_residents_are_never_written_to_disk(tmp_path: Path) -> None:
    config = {**UniversalSentenceEncoderFeaturizer.get_default_config(), "cache_dir": str(tmp_path)}
    featurizer = UniversalSentenceEncoderFeaturizer(config, "use")
    live = featurizer.process([Message(data={TEXT: "我叫王建国，手机13812345678，楼下路灯坏了"})])[0]
    [feature] = live.features
    assert feature.type == "sentence" and feature.features.shape == (1, 512)
    assert list(tmp_path.rglob("*")) == []  # a resident's words (and phone) leave no trace on disk
    # training examples are cached, so a retrain after a small data change encodes only new ones
    featurizer.process_training_data(TrainingData([Message(data={TEXT: "路灯坏了", "intent": "report_problem"})]))
    assert len(list(tmp_path.rglob("*.npy"))) == 1
