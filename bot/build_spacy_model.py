"""Builds the spaCy Chinese pipeline that Rasa's SpacyNLP loads from build/spacy_zh.

spacy.blank("zh") with the jieba segmenter (no model weights to download) and an EntityRuler that
knows every Shenzhen district, street and community by the names residents say (short names, bare
names, former names: the same gazetteer as bot/components/place_names.py), plus landmarks from
router/data/landmarks.csv when that file exists. SpacyEntityExtractor then reports them as the
entities district / street / community / landmark; EntitySynonymMapper maps "南山" → "南山区".

    PYTHONPATH=. .venv-bot/bin/python bot/build_spacy_model.py [--out build/spacy_zh]

Run by scripts/train.sh (and the Makefile) before training; the output is not committed.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `bot` importable
    sys.path.insert(0, str(ROOT))

from bot.components.place_names import JIEBA_DICT, Places, load_places  # noqa: E402

__all__ = ["place_patterns", "landmark_patterns", "build", "main"]

LANDMARKS = ROOT / "router" / "data" / "landmarks.csv"
DEFAULT_OUT = ROOT / "build" / "spacy_zh"


def place_patterns(places: Places) -> list[dict[str, Any]]:
    """EntityRuler phrase patterns; `id` carries the official name the form stands for."""
    patterns: list[dict[str, Any]] = []
    for label, names in (("district", places.districts), ("street", places.streets),
                         ("community", places.communities)):
        for name in names:
            patterns.append({"label": label, "pattern": name, "id": name})
            for form in places.synonyms.get(name, []):
                patterns.append({"label": label, "pattern": form, "id": name})
    return patterns


def landmark_patterns(path: Path = LANDMARKS) -> list[dict[str, Any]]:
    """Landmarks from the router's product data, if present: a `name` column (and optional `aliases`
    separated by | or ;)."""
    if not path.exists():
        return []
    patterns: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            name = (row.get("name") or "").strip()
            if not name:
                continue
            patterns.append({"label": "landmark", "pattern": name, "id": name})
            for alias in (row.get("aliases") or "").replace(";", "|").split("|"):
                if alias.strip() and len(alias.strip()) >= 2:
                    patterns.append({"label": "landmark", "pattern": alias.strip(), "id": name})
    return patterns


def build(out: Path = DEFAULT_OUT) -> Path:
    import jieba
    import spacy

    # The same user dictionary as the Rasa JiebaTokenizer, so place names stay single tokens here
    # and when Rasa runs (jieba's dictionary is process-wide; the JiebaTokenizer loads it there).
    jieba.load_userdict(str(JIEBA_DICT))
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "ORTH", "overwrite_ents": True})
    patterns = place_patterns(load_places()) + landmark_patterns()
    ruler.add_patterns(patterns)  # type: ignore[attr-defined]
    out.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(out)
    print(f"spaCy zh pipeline with {len(patterns)} place patterns → {out}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    build(ap.parse_args().out)


if __name__ == "__main__":
    main()
