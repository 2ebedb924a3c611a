"""NLU training and held-out data stay honest: no leak from the held-out sets into training, the
generated files match their sources, every intent has examples on both sides, and annotated
places exist in the Shenzhen gazetteer. Router runtime (no Rasa needed)."""

from __future__ import annotations

import re
from pathlib import Path

from bot.components import oos_split, place_names

ROOT = Path(__file__).resolve().parents[2]
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\((\w+)\)|\{[^}]*\"entity\": \"(\w+)\"[^}]*\})")


def _examples(path: Path) -> dict[str, list[str]]:
    """intent → example lines (annotation markup kept) of a Rasa YAML NLU file."""
    out: dict[str, list[str]] = {}
    intent = None
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\s*- (intent|lookup|synonym|regex): (\S+)", line)
        if m:
            intent = m.group(2) if m.group(1) == "intent" else None
            continue
        if intent and line.startswith("      - "):
            out.setdefault(intent, []).append(line[8:].strip())
    return out


def _plain(example: str) -> str:
    return _ANNOTATION.sub(lambda m: m.group(1), example)


def _training() -> dict[str, list[str]]:
    merged: dict[str, list[str]] = {}
    for path in sorted((ROOT / "nlu_data").glob("*.yml")):
        for intent, examples in _examples(path).items():
            merged.setdefault(intent, []).extend(examples)
    return merged


def _domain_intents() -> list[str]:
    text = (ROOT / "bot" / "domain" / "nlu.yml").read_text(encoding="utf-8")
    block = text.split("intents:")[1].split("entities:")[0]
    return [line.strip()[2:] for line in block.splitlines() if line.strip().startswith("- ")]


def test_held_out_messages_never_appear_in_training() -> None:
    train = {_plain(e) for examples in _training().values() for e in examples}
    for name in ("test_nlu.yml", "out_of_scope_heldout.yml"):
        held_out = {_plain(e) for examples in _examples(ROOT / "tests" / "nlu" / name).values() for e in examples}
        assert held_out, name
        assert not held_out & train, f"{name} leaks into training: {sorted(held_out & train)[:5]}"


def test_every_intent_has_training_and_held_out_examples() -> None:
    train, test = _training(), _examples(ROOT / "tests" / "nlu" / "test_nlu.yml")
    for intent in _domain_intents():
        if intent == "nlu_fallback":  # produced by the FallbackClassifier, never trained
            continue
        assert len(train.get(intent, [])) >= 20, intent
        assert len(test.get(intent, [])) >= 5, intent
    # The design's own example must be a held-out report with its place.
    assert "我家楼上半夜装修吵死了，在[南山区](district)[粤海街道](street)" in test["report_problem"]


def test_annotated_places_are_real_shenzhen_places() -> None:
    places = place_names.load_places()
    known = {
        "district": set(places.districts),
        "street": set(places.streets),
        "community": set(places.communities),
    }
    for label in known:
        known[label] |= {f for name in known[label] for f in places.synonyms.get(name, [])}
    from router.domain.normalise import normalise

    for path in [*sorted((ROOT / "nlu_data").glob("*.yml")), ROOT / "tests" / "nlu" / "test_nlu.yml"]:
        for examples in _examples(path).values():
            for example in examples:
                for m in _ANNOTATION.finditer(example):
                    label = m.group(2) or m.group(3)
                    if label in known:
                        assert normalise(m.group(1)) in known[label], f"{path.name}: {m.group(1)} ({label})"


def test_generated_files_match_their_sources() -> None:
    places = place_names.load_places()
    assert place_names.LOOKUPS.read_text(encoding="utf-8") == place_names.render_lookups(places)
    assert place_names.JIEBA_DICT.read_text(encoding="utf-8") == place_names.render_jieba_dict(places)
    import json

    rows = [json.loads(line) for line in oos_split.SOURCE.read_text(encoding="utf-8").splitlines() if line.strip()]
    train, heldout = oos_split.split(rows)
    assert train and heldout and not set(train) & set(heldout)
    assert len(heldout) >= 0.25 * (len(train) + len(heldout))


def test_split_keeps_hotline_requests_out_of_the_negatives() -> None:
    assert oos_split.is_hotline_like("从我这里去芙蓉区政府怎么去")
    assert oos_split.is_hotline_like("我想死")
    assert not oos_split.is_hotline_like("打开QQ音乐")
