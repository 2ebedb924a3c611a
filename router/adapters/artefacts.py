"""Trained artefacts the router serves with, read from the cache that `make classifier` fills.

The artefacts are arrays and JSON, named by a hash of their training inputs (scripts/train_*.py), so a
checkout always reads the model trained on its own data. A missing artefact is a clear startup error
naming the command that builds it — never a silent training run on the serving path.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from router.domain.classifier import TopicClassifier
from router.domain.textmodel import LinearTextModel

__all__ = ["ArtefactMissing", "load_intake_model", "intake_model_stem", "load_topic_classifier",
           "topic_classifier_stem", "save_artefact", "read_artefact"]


class ArtefactMissing(RuntimeError):
    pass


ROOT = Path(__file__).resolve().parents[2]
# Sets written by outside authors who read nothing of the project, measured blind and studied as development
# sets in earlier sessions, now training text for the intake model's danger head (tests/data/README.md says
# which). The newest sets, residents_dev.jsonl (the development half of the locked pair) and every locked set
# are never trained on.
OUTSIDE_SETS = ("safety_dev8", "safety_dev9", "residents_dev4", "residents_dev5", "residents_dev6", "residents_dev7",
                "residents_dev10")
# Everything the intake model is trained from; their hash names the artefact.
INTAKE_INPUTS = (
    ROOT / "data" / "tipdm_train.jsonl",
    ROOT / "data" / "smp2017_train_oos.jsonl",
    ROOT / "data" / "authored" / "requests.jsonl",
    ROOT / "data" / "authored" / "safety.jsonl",
    ROOT / "data" / "authored" / "crisis2.jsonl",
    ROOT / "data" / "authored" / "crisis3.jsonl",
    ROOT / "data" / "authored" / "crisis4.jsonl",
    ROOT / "data" / "authored" / "everyday_short.jsonl",
    ROOT / "data" / "authored" / "local_other.jsonl",
    ROOT / "router" / "data" / "classifier_extra.jsonl",
    ROOT / "router" / "domain" / "textmodel.py",
    ROOT / "bot" / "components" / "oos_split.py",
    ROOT / "scripts" / "train_intake.py",
    ROOT / "router" / "domain" / "emergency.py",  # its crisis rules label the outside sets' crises
    *(ROOT / "tests" / "data" / f"{name}.jsonl" for name in OUTSIDE_SETS),
)


# Everything the topic classifier is trained from, and the code that reads its artefact.
TOPIC_INPUTS = (
    ROOT / "data" / "tipdm_train.jsonl",
    ROOT / "data" / "taxonomy.csv",
    ROOT / "router" / "data" / "classifier_extra.jsonl",
    ROOT / "router" / "data" / "taxonomy_keywords.csv",
    ROOT / "router" / "data" / "routing.csv",
    ROOT / "router" / "domain" / "classifier.py",
    ROOT / "scripts" / "train_classifier.py",
)


def intake_inputs() -> list[Path]:
    return [*INTAKE_INPUTS, *sorted((ROOT / "nlu_data").glob("*.yml"))]


def _cache_dir(cache_dir: str | Path | None) -> Path:
    if cache_dir:
        return Path(cache_dir)
    from router.settings import Settings  # the one reader of the environment (CLASSIFIER_CACHE_DIR)

    return Settings.from_env().model_dir


def _stem(name: str, inputs: Iterable[Path], cache_dir: str | Path | None) -> Path:
    digest = hashlib.sha256()
    for path in inputs:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return _cache_dir(cache_dir) / f"{name}-{digest.hexdigest()[:16]}"


def intake_model_stem(cache_dir: str | Path | None = None) -> Path:
    """<cache>/intake-<sha256 of the training inputs>; the cache is CLASSIFIER_CACHE_DIR or var/models."""
    return _stem("intake", intake_inputs(), cache_dir)


def topic_classifier_stem(cache_dir: str | Path | None = None) -> Path:
    """<cache>/classifier-<sha256 of the training inputs>, as for the intake model."""
    return _stem("classifier", TOPIC_INPUTS, cache_dir)


def save_artefact(stem: Path, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """``stem``.npz and ``stem``.json, each written then renamed, arrays first: a reader that finds the
    JSON finds its arrays, and two trainings at once never leave a half-written file."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=stem.parent, prefix=f".{stem.name}-", suffix=".npz")
    with os.fdopen(fd, "wb") as fh:
        np.savez_compressed(fh, allow_pickle=False, **arrays)
    os.chmod(tmp, 0o644)
    os.replace(tmp, stem.with_suffix(".npz"))
    fd, tmp = tempfile.mkstemp(dir=stem.parent, prefix=f".{stem.name}-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(meta, fh, ensure_ascii=False)
    os.chmod(tmp, 0o644)
    os.replace(tmp, stem.with_suffix(".json"))


def read_artefact(stem: Path, what: str, script: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    meta_path, arrays_path = stem.with_suffix(".json"), stem.with_suffix(".npz")
    if not (meta_path.is_file() and arrays_path.is_file()):
        raise ArtefactMissing(f"{what} {meta_path} is missing: run `make classifier` ({script}) to build it")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    with np.load(arrays_path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    return meta, arrays


def load_intake_model(stem: Path | None = None, *, cache_dir: str | Path | None = None) -> LinearTextModel:
    meta, arrays = read_artefact(stem or intake_model_stem(cache_dir), "intake model", "scripts/train_intake.py")
    return LinearTextModel.from_state(meta, arrays)


def load_topic_classifier(stem: Path | None = None, *, cache_dir: str | Path | None = None,
                          data_dir: Path | None = None) -> TopicClassifier:
    """The topic classifier trained on this checkout's data, with its keyword rules and routing table read
    from ``data_dir`` (router/data)."""
    from router.adapters.reference_data import load_keyword_rules, load_routing

    meta, arrays = read_artefact(stem or topic_classifier_stem(cache_dir), "topic classifier",
                                 "scripts/train_classifier.py")
    keywords = data_dir / "taxonomy_keywords.csv" if data_dir else None
    routing = data_dir / "routing.csv" if data_dir else None
    classifier = TopicClassifier.from_state(meta, arrays, load_keyword_rules(keywords), load_routing(routing))
    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()  # load the dictionary now, not inside the first resident's request
    return classifier
