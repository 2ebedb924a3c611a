"""Trained artefacts the router serves with, read from the cache that `make classifier` fills.

The artefacts are arrays and JSON, named by a hash of their training inputs (scripts/train_*.py), so a
checkout always reads the model trained on its own data. A missing artefact is a clear startup error
naming the command that builds it — never a silent training run on the serving path.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from router.domain.textmodel import LinearTextModel

__all__ = ["ArtefactMissing", "load_intake_model", "intake_model_stem"]


class ArtefactMissing(RuntimeError):
    pass


ROOT = Path(__file__).resolve().parents[2]
# Everything the intake model is trained from; their hash names the artefact.
INTAKE_INPUTS = (
    ROOT / "data" / "tipdm_train.jsonl",
    ROOT / "data" / "smp2017_train_oos.jsonl",
    ROOT / "data" / "authored" / "requests.jsonl",
    ROOT / "data" / "authored" / "safety.jsonl",
    ROOT / "data" / "authored" / "crisis2.jsonl",
    ROOT / "data" / "authored" / "crisis3.jsonl",
    ROOT / "data" / "authored" / "everyday_short.jsonl",
    ROOT / "router" / "data" / "classifier_extra.jsonl",
    ROOT / "router" / "domain" / "textmodel.py",
    ROOT / "bot" / "components" / "oos_split.py",
    ROOT / "scripts" / "train_intake.py",
)


def intake_inputs() -> list[Path]:
    return [*INTAKE_INPUTS, *sorted((ROOT / "nlu_data").glob("*.yml"))]


def intake_model_stem(cache_dir: str | Path | None = None) -> Path:
    """<cache>/intake-<sha256 of the training inputs>; the cache is CLASSIFIER_CACHE_DIR or var/models."""
    digest = hashlib.sha256()
    for path in intake_inputs():
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    base = Path(cache_dir or os.environ.get("CLASSIFIER_CACHE_DIR") or ROOT / "var" / "models")
    return base / f"intake-{digest.hexdigest()[:16]}"


def load_intake_model(stem: Path | None = None) -> LinearTextModel:
    stem = stem or intake_model_stem()
    meta_path, arrays_path = stem.with_suffix(".json"), stem.with_suffix(".npz")
    if not (meta_path.is_file() and arrays_path.is_file()):
        raise ArtefactMissing(f"intake model {meta_path} is missing: run `make classifier` "
                              "(scripts/train_intake.py) to build it")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    with np.load(arrays_path) as data:
        arrays = {k: data[k] for k in data.files}
    return LinearTextModel.from_state(meta, arrays)
