"""NLU quality on held-out data (bot runtime: `.venv-bot`).

Trains an NLU model on nlu_data/ only (or takes --model), then parses every held-out example:
- tests/nlu/test_nlu.yml — hand-written, one block per intent, entities annotated;
- tests/nlu/out_of_scope_heldout.yml — the held-out 30 % of the SMP2017 negatives.
Neither file is ever trained on. Writes bench/results/nlu.md (or --out) with intent macro-F1,
entity F1, the out-of-scope false-accept rate and a per-intent table.

    PYTHONPATH=. .venv-bot/bin/python -m bench.nlu_eval [--config config.yml] [--model m.tar.gz]

Definitions:
- intent macro-F1: unweighted mean F1 over the intents of test_nlu.yml; the prediction is what the
  dialogue sees, so a message the FallbackClassifier turned into nlu_fallback counts as wrong.
- entity F1: micro F1 over (entity, value) pairs per message, after synonym mapping; an entity found
  by two extractors counts once.
- OOS false-accept: share of held-out out-of-scope messages whose final intent is an *acting* intent
  (one that makes the bot answer a service, open or touch a ticket, divert to an emergency number,
  hand off or take a form value) — i.e. above the fallback threshold. Small-talk confusions are
  reported separately.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from bench.common import header

ROOT = Path(__file__).resolve().parents[1]
ACTING_INTENTS = {
    "ask_service", "report_problem", "emergency", "self_harm", "request_human", "check_ticket",
    "urge_ticket", "withdraw_ticket", "inform", "rate",
}
NOT_ACCEPTED = {"out_of_scope", "nlu_fallback"}


def load_examples(path: Path) -> list[dict[str, Any]]:
    """Examples {text, intent, entities:[{entity,value,start,end}]} of a Rasa YAML NLU file."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    out = []
    for message in data.intent_examples:
        out.append({
            "text": message.get("text"),
            "intent": message.get("intent"),
            "entities": [
                {k: e.get(k) for k in ("entity", "value", "start", "end")} for e in message.get("entities") or []
            ],
        })
    return out


def train(config: Path, out_dir: Path) -> tuple[Path, float]:
    from rasa.model_training import train_nlu

    start = time.perf_counter()
    model = train_nlu(
        config=str(config), nlu_data=str(ROOT / "nlu_data"), output=str(out_dir),
        domain=str(ROOT / "bot" / "domain"), fixed_model_name="nlu-eval",
    )
    if not model:
        raise SystemExit("training failed")
    return Path(model), time.perf_counter() - start


async def parse_all(model: Path, texts: list[str]) -> tuple[list[dict[str, Any]], float]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    start = time.perf_counter()
    results = [await agent.parse_message(text) for text in texts]
    return results, time.perf_counter() - start


def f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def intent_report(gold: list[str], pred: list[str]) -> tuple[float, dict[str, tuple[float, float, float, int]]]:
    per: dict[str, tuple[float, float, float, int]] = {}
    for label in sorted(set(gold)):
        tp = sum(g == label and p == label for g, p in zip(gold, pred, strict=True))
        fp = sum(g != label and p == label for g, p in zip(gold, pred, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, pred, strict=True))
        per[label] = (*f1(tp, fp, fn), gold.count(label))
    macro = sum(v[2] for v in per.values()) / len(per)
    return macro, per


def entity_pairs(entities: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(str(e["entity"]), str(e["value"])) for e in entities}


def entity_report(gold: list[list[dict[str, Any]]], pred: list[list[dict[str, Any]]]) -> dict[str, Any]:
    per_type: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for g_entities, p_entities in zip(gold, pred, strict=True):
        g, p = entity_pairs(g_entities), entity_pairs(p_entities)
        for pair in g & p:
            per_type[pair[0]][0] += 1
        for pair in p - g:
            per_type[pair[0]][1] += 1
        for pair in g - p:
            per_type[pair[0]][2] += 1
    tp = sum(v[0] for v in per_type.values())
    fp = sum(v[1] for v in per_type.values())
    fn = sum(v[2] for v in per_type.values())
    return {"micro": f1(tp, fp, fn), "per_type": {k: (*f1(*v), v[0] + v[2]) for k, v in sorted(per_type.items())}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default=str(ROOT / "config.yml"))
    ap.add_argument("--model", help="evaluate this model instead of training one")
    ap.add_argument("--test", default=str(ROOT / "tests" / "nlu" / "test_nlu.yml"))
    ap.add_argument("--oos", default=str(ROOT / "tests" / "nlu" / "out_of_scope_heldout.yml"))
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "nlu.md"))
    ap.add_argument("--label", default="", help="a note on what was measured (e.g. the variant)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    from rasa.shared.nlu.training_data.loading import load_data

    # Gold values are compared after the training data's synonyms, as the bot's own values are
    # ("[龙岗](district)" means 龙岗区).
    synonyms = load_data(str(ROOT / "nlu_data")).entity_synonyms
    test = load_examples(Path(args.test))
    for example in test:
        for entity in example["entities"]:
            entity["value"] = synonyms.get(str(entity["value"]), entity["value"])
    oos = load_examples(Path(args.oos))
    train_seconds = None
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(args.model) if args.model else None
        if model is None:
            model, train_seconds = train(Path(args.config), Path(tmp))
        parsed, parse_seconds = asyncio.run(parse_all(model, [e["text"] for e in test + oos]))
    test_parsed, oos_parsed = parsed[: len(test)], parsed[len(test):]

    gold = [e["intent"] for e in test]
    final = [p["intent"]["name"] for p in test_parsed]
    # The top intent before the FallbackClassifier: the ranking keeps the classifier's own order.
    raw = [next((r["name"] for r in (p.get("intent_ranking") or []) if r["name"] != "nlu_fallback"), f)
           for p, f in zip(test_parsed, final, strict=True)]
    macro, per_intent = intent_report(gold, final)
    macro_raw, _ = intent_report(gold, raw)
    accuracy = sum(g == p for g, p in zip(gold, final, strict=True)) / len(gold)
    entities = entity_report([e["entities"] for e in test], [p.get("entities") or [] for p in test_parsed])

    oos_final = Counter(p["intent"]["name"] for p in oos_parsed)
    acting = sum(n for name, n in oos_final.items() if name in ACTING_INTENTS)
    any_accept = sum(n for name, n in oos_final.items() if name not in NOT_ACCEPTED)
    required = "我家楼上半夜装修吵死了，在南山区粤海街道"
    required_parse = next((p for e, p in zip(test, test_parsed, strict=True) if e["text"] == required), None)

    errors = [(e["text"], e["intent"], f) for e, f in zip(test, final, strict=True) if e["intent"] != f]
    entity_errors = []
    for e, p in zip(test, test_parsed, strict=True):
        g, q = entity_pairs(e["entities"]), entity_pairs(p.get("entities") or [])
        if g != q:
            entity_errors.append((e["text"], sorted(g - q), sorted(q - g)))

    lines = [header("NLU evaluation on held-out data")]
    if args.label:
        lines.append(f"- variant: {args.label}")
    lines += [
        f"- config: `{os.path.relpath(args.config, ROOT)}`; model: {'trained here on nlu_data/' if train_seconds else args.model}",
        f"- training time: {train_seconds:.0f} s" if train_seconds else "- training time: (model given)",
        f"- parse time: {1000 * parse_seconds / len(parsed):.1f} ms/message over {len(parsed)} messages",
        f"- test set: {len(test)} hand-written held-out messages ({len(set(gold))} intents); "
        f"OOS held-out slice: {len(oos)} SMP2017 messages",
        "",
        "| metric | value | target |",
        "| --- | --- | --- |",
        f"| intent macro-F1 (after fallback) | {macro:.3f} | ≥ 0.95 |",
        f"| intent macro-F1 (classifier top-1, before fallback) | {macro_raw:.3f} | |",
        f"| intent accuracy (after fallback) | {accuracy:.3f} | |",
        f"| entity micro-F1 | {entities['micro'][2]:.3f} (P {entities['micro'][0]:.3f} R {entities['micro'][1]:.3f}) | ≥ 0.90 |",
        f"| OOS false-accept into acting intents | {acting / len(oos):.3%} ({acting}/{len(oos)}) | ≤ 3% |",
        f"| OOS accepted as any non-OOS intent | {any_accept / len(oos):.3%} ({any_accept}/{len(oos)}) | |",
        "",
        f"Required example `{required}` → "
        + (f"{required_parse['intent']['name']} ({required_parse['intent']['confidence']:.2f}), entities "
           f"{sorted(entity_pairs(required_parse.get('entities') or []))}" if required_parse else "not in test set"),
        "",
        "## Per intent (after fallback)",
        "",
        "| intent | precision | recall | F1 | n |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [f"| {k} | {p:.3f} | {r:.3f} | {f:.3f} | {n} |" for k, (p, r, f, n) in per_intent.items()]
    lines += ["", "## Per entity", "", "| entity | precision | recall | F1 | n gold |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {k} | {p:.3f} | {r:.3f} | {f:.3f} | {n} |" for k, (p, r, f, n) in entities["per_type"].items()]
    lines += ["", "## Held-out OOS: final intents", ""]
    lines += [f"- {name}: {n}" for name, n in oos_final.most_common()]
    lines += ["", "## Intent errors", ""]
    lines += [f"- `{t}`: {g} → {f}" for t, g, f in errors] or ["- none"]
    lines += ["", "## Entity errors (missed / spurious)", ""]
    lines += [f"- `{t}`: missed {m}, spurious {s}" for t, m, s in entity_errors] or ["- none"]
    accepted_oos = [(e["text"], p["intent"]["name"], p["intent"]["confidence"]) for e, p in zip(oos, oos_parsed, strict=True)
                    if p["intent"]["name"] in ACTING_INTENTS]
    lines += ["", "## OOS accepted into acting intents", ""]
    lines += [f"- `{t}` → {i} ({c:.2f})" for t, i, c in accepted_oos] or ["- none"]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = {
        "intent_macro_f1": round(macro, 4), "intent_macro_f1_raw": round(macro_raw, 4),
        "entity_f1": round(entities["micro"][2], 4), "oos_false_accept": round(acting / len(oos), 4),
        "oos_any_accept": round(any_accept / len(oos), 4), "train_seconds": train_seconds,
    }
    out.with_suffix(".json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary, ensure_ascii=False), file=sys.stderr)


if __name__ == "__main__":
    main()
