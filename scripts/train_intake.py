"""Train the intake model (router runtime): is it a city matter, and is anyone in danger now.

    .venv/bin/python scripts/train_intake.py            # train if the artefact for these inputs is missing
    .venv/bin/python scripts/train_intake.py --force    # retrain anyway
    .venv/bin/python scripts/train_intake.py --print-path
    .venv/bin/python scripts/train_intake.py --cv       # 5-fold CV on the training data, printed

Writes ``$CLASSIFIER_CACHE_DIR/intake-<hash>.json`` (vocabulary, heads, metadata) and ``.npz`` (idf and
weights); the hash covers every input below and this script, so a change to any retrains. Read by
router.adapters.artefacts, used by router.domain.intake through router.domain.textmodel.

Training data — only what the project may train on (never ../shared/data/real, never a test set):
- city matters: data/tipdm_train.jsonl (real letters to a city's message board), their opening
  sentences (short forms), router/data/classifier_extra.jsonl, the dialogue's own report / service /
  ticket examples (nlu_data/), data/authored/requests.jsonl (written by the project in residents'
  voices: letters, operators' summaries, spoken, Cantonese, garbled speech);
- not city matters: the training part of SMP2017 (data/smp2017_train_oos.jsonl, the held-out slice of
  bot.components.oos_split left out), the dialogue's out_of_scope and small-talk examples;
- danger now: the dialogue's emergency / self_harm examples, data/authored/safety.jsonl (emergency,
  crisis, and the hard negatives: past events, outages, hazards, everyday words like 热死了) and
  data/authored/crisis2.jsonl (the writer's own suicidal intent, short and indirect, against talk about
  death without it: others' suicides, the news, negation, hyperbole, grief, recovery) and
  data/authored/crisis3.jsonl (the same two sides in social-media voices, written by outside authors:
  method questions, partners sought, plans, attempts, irony; against advice to others, opinions,
  denial, recovery, sadness, memorials) and data/authored/crisis4.jsonl (the same in late-night
  social-media voices: a method wished for casually, by place, as a fantasy or after an ordinary day;
  against invitations, trips, romance, illness and medicine, comfort, rides, jokes, anger at others)
  and data/authored/everyday_short.jsonl (goodbyes, tonight's
  dinner, going home, finishing work: the short everyday words a crisis post also uses), and the
  outside authors' residents and callers of router.adapters.artefacts.OUTSIDE_SETS (tests/data: their
  emergencies and crises against their tickets, questions and small talk in the same words).
Every example is also seen once more through a simulated speech recogniser (characters swapped for
homophones), so garbled phone text still reads.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from router.adapters.artefacts import OUTSIDE_SETS, intake_model_stem, save_artefact  # noqa: E402
from router.domain.textmodel import LinearTextModel, char_ngrams, prepare_text  # noqa: E402

NLU = ROOT / "nlu_data"
CITY_INTENTS = {"report_problem", "ask_service", "check_ticket", "urge_ticket", "withdraw_ticket"}
OTHER_INTENTS = {"out_of_scope", "greet", "goodbye", "thank"}
SEED = 13
MIN_DF = 2
C_CITY = 4.0
C_DANGER = 4.0


# --- reading ------------------------------------------------------------------------------------

_ENTITY = re.compile(r"\[([^\]]*)\]\{[^}]*\}|\[([^\]]*)\]\([^)]*\)")


def nlu_examples() -> dict[str, list[str]]:
    """intent → example texts (entity markup removed), from nlu_data/*.yml."""
    out: dict[str, list[str]] = defaultdict(list)
    intent = None
    for path in sorted(NLU.glob("*.yml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            m = re.match(r"\s*-\s*intent:\s*(\S+)", line)
            if m:
                intent = m.group(1)
                continue
            if re.match(r"\s*-\s*(synonym|lookup|regex):", line):
                intent = None
                continue
            m = re.match(r"\s{6,}-\s(.*)$", line)
            if m and intent:
                out[intent].append(_ENTITY.sub(lambda mm: mm.group(1) or mm.group(2) or "", m.group(1)).strip())
    return out


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


_SENTENCE = re.compile(r"(?<=[。！？!?])")


def openings(text: str, rng: random.Random) -> list[str]:
    """Short forms of a letter: its first sentence or two, as a resident would type in a chat."""
    parts = [p for p in _SENTENCE.split(text) if p.strip()]
    out = []
    if parts:
        out.append(parts[0][:80])
    if len(parts) > 1:
        out.append("".join(parts[:2])[:160])
    cut = rng.randint(25, 60)
    out.append(text[:cut])
    return [o for o in out if len(o) >= 6]


# --- simulated speech recogniser ----------------------------------------------------------------

def homophone_table(texts: Sequence[str]) -> dict[str, list[str]]:
    """char → other characters read alike (tone and zh/z, ch/c, sh/s, n/l, -ng/-n ignored)."""
    from pypinyin import Style, lazy_pinyin

    from router.domain.phonetic import loose

    chars = sorted({ch for t in texts for ch in t if "\u4e00" <= ch <= "\u9fff"})
    groups: dict[str, list[str]] = defaultdict(list)
    for ch in chars:
        groups[loose(lazy_pinyin(ch, style=Style.NORMAL)[0])].append(ch)
    return {ch: [o for o in groups[key] if o != ch] for key, members in groups.items() for ch in members}


def garble(text: str, table: dict[str, list[str]], rng: random.Random, rate: float = 0.15) -> str:
    out = []
    for ch in text:
        alts = table.get(ch)
        out.append(rng.choice(alts) if alts and rng.random() < rate else ch)
    text = "".join(out)
    return re.sub(r"[，。！？、,.!?；;：:“”\"']", " " if rng.random() < 0.5 else "", text)


# --- corpus -------------------------------------------------------------------------------------

def smp_training_negatives() -> list[str]:
    from bot.components.oos_split import HELDOUT_FRACTION, _bucket, is_hotline_like

    out = []
    for row in jsonl(ROOT / "data" / "smp2017_train_oos.jsonl"):
        text = str(row["text"]).strip()
        if text and not is_hotline_like(text) and _bucket(text) >= HELDOUT_FRACTION:
            out.append(text)
    return sorted(set(out))


_CRISIS_NOTE = re.compile(r"crisis|suicid|self.?harm|despair|farewell|goodbye|hopeless", re.I)
# Lines of the outside sets that share a run of 10 characters with ../shared/data/real (scripts/check_authored.py,
# 2026-12-05): the authors never saw it, but nothing that overlaps the real text is trained on (sha256[:16]).
_OVERLAPS_REAL = frozenset({"fe5d44bdbf2914d6", "7997d32b409a4533", "284f06359e20dfe4", "51d36c196537d50b"})
# Words of an indirect crisis (an edge, a goodbye, the means, the last day) in an emergency row no one marked as one.
_CRISIS_HINT = re.compile("天台|楼顶|顶楼|桥上|江边|海边|最后一|不用再|麻烦任何人|送人|遗书|告别|再见|结束|解脱|割|手腕|划了|"
                          "药|炭|绳|跳|不想|活着|没意思|撑不|熬不|离开|走了|对不起")


def outside_danger_rows() -> list[tuple[str, str]]:
    """(text, none / emergency / crisis) from the outside authors' sets (router.adapters.artefacts.OUTSIDE_SETS).
    A crisis is one the author marked (``crisis``, or said so in the persona or style) or the crisis rules
    recognise; every other emergency is an emergency."""
    from router.domain import emergency as rules

    rows: list[tuple[str, str]] = []
    for name in OUTSIDE_SETS:
        for r in jsonl(ROOT / "tests" / "data" / f"{name}.jsonl"):
            text = str(r["text"])
            if hashlib.sha256(text.encode()).hexdigest()[:16] in _OVERLAPS_REAL:
                continue
            if r.get("outcome") != "emergency":
                rows.append((text, "none"))
                continue
            found = rules.detect(text)
            if (bool(r.get("crisis")) or bool(_CRISIS_NOTE.search(f"{r.get('persona', '')} {r.get('style', '')}"))
                    or (found is not None and found.is_crisis)):
                rows.append((text, "crisis"))
            elif not _CRISIS_HINT.search(text):
                rows.append((text, "emergency"))
            # else: a crisis the author gave only an emergency number: left out rather than taught as an
            # emergency, which would split the model's reading of indirect crises between the two
    return rows


def build_corpus(rng: random.Random) -> dict[str, list[tuple[str, str]]]:
    """head → [(text, label)]."""
    nlu = nlu_examples()
    tipdm = [r["text"] for r in jsonl(ROOT / "data" / "tipdm_train.jsonl")]
    requests = jsonl(ROOT / "data" / "authored" / "requests.jsonl")
    safety = jsonl(ROOT / "data" / "authored" / "safety.jsonl")
    crisis2 = (jsonl(ROOT / "data" / "authored" / "crisis2.jsonl") + jsonl(ROOT / "data" / "authored" / "crisis3.jsonl")
               + jsonl(ROOT / "data" / "authored" / "crisis4.jsonl")
               + jsonl(ROOT / "data" / "authored" / "everyday_short.jsonl"))
    extra = [r["text"] for r in jsonl(ROOT / "router" / "data" / "classifier_extra.jsonl")]
    smp = smp_training_negatives()

    city: list[tuple[str, str]] = []
    city += [(t, "city") for t in tipdm]
    city += [(o, "city") for t in tipdm for o in openings(t, rng)]
    city += [(t, "city") for t in extra]
    city += [(r["text"], "city") for r in requests]
    city += [(t, "city") for i in sorted(CITY_INTENTS) for t in nlu.get(i, [])]
    city += [(r["text"], "city") for r in safety if r["label"] == "not_emergency" and r.get("city", True)]
    city += [(t, "other") for t in smp]
    # Not a city matter in a city's words (深圳's weather, a 福田 restaurant, a water-tank sum), beside city
    # matters said with the same words: the places alone do not make a message a city matter.
    city += [(r["text"], r["label"]) for r in jsonl(ROOT / "data" / "authored" / "local_other.jsonl")]
    city += [(t, "other") for i in sorted(OTHER_INTENTS) for t in nlu.get(i, [])]

    danger: list[tuple[str, str]] = []
    danger += [(t, "emergency") for t in nlu.get("emergency", [])]
    danger += [(t, "crisis") for t in nlu.get("self_harm", [])]
    for r in safety:
        danger.append((r["text"], {"emergency": "emergency", "crisis": "crisis"}.get(r["label"], "none")))
    # Talk about death without the writer's own intent (others, the news, negation, hyperbole) is the
    # hard negative that keeps sadness from reading as a crisis.
    danger += [(r["text"], "crisis" if r["label"] == "crisis" else "none") for r in crisis2]
    city += [(r["text"], "city") for r in crisis2 if r.get("style") == "civic"]
    danger += [(t, "none") for t in tipdm]
    danger += [(r["text"], "none") for r in requests]
    danger += [(t, "none") for t in extra]
    danger += [(t, "none") for i in (*sorted(CITY_INTENTS), *sorted(OTHER_INTENTS), "inform", "request_human") for t in nlu.get(i, [])]
    danger += [(t, "none") for t in smp]
    # Outside authors' residents and callers (tests/data, artefacts.OUTSIDE_SETS): what danger now sounds like
    # to people who never saw this project, and the tickets that only sound like it.
    danger += outside_danger_rows()

    table = homophone_table([t for t, _ in city + danger])
    corpus = {}
    for head, rows in (("city", city), ("danger", danger)):
        rows = [(t, y) for t, y in rows if t.strip()]
        noisy = [(garble(t, table, rng), y) for t, y in rows if len(t) <= 300]
        corpus[head] = rows + noisy
    return corpus


# --- training -----------------------------------------------------------------------------------

def fit(corpus: dict[str, list[tuple[str, str]]]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    # Each head gets a vectoriser fitted on its own text (its terms and IDF), so that data for one head
    # cannot move the other's answers; the artefact keeps one vocabulary (the union), each head's IDF over
    # it (0 for a term the head never saw) and its weights scattered into it.
    fitted = {}
    for name, rows in corpus.items():
        vec = TfidfVectorizer(analyzer=lambda s: char_ngrams(prepare_text(s)), min_df=MIN_DF,
                              sublinear_tf=True, norm="l2", dtype=np.float64)
        fitted[name] = (vec, vec.fit_transform([t for t, _ in rows]))
    vocab_terms = sorted({t for vec, _ in fitted.values() for t in vec.get_feature_names_out().tolist()})
    index = {t: i for i, t in enumerate(vocab_terms)}
    arrays: dict[str, np.ndarray] = {}
    heads = []
    for name, rows, c in (("city", corpus["city"], C_CITY), ("danger", corpus["danger"], C_DANGER)):
        vec, X = fitted[name]
        where = np.fromiter((index[t] for t in vec.get_feature_names_out()), dtype=np.int64)
        y = np.array([lab for _, lab in rows])
        model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
        model.fit(X, y)
        labels = [str(c) for c in model.classes_]
        w = np.zeros((len(vocab_terms), model.coef_.shape[0]), dtype=np.float32)
        w[where] = model.coef_.T  # binary: one column, P(labels[1]); otherwise one per label
        idf = np.zeros(len(vocab_terms), dtype=np.float32)
        idf[where] = vec.idf_
        arrays[f"{name}.w"] = w
        arrays[f"{name}.b"] = model.intercept_.astype(np.float64)
        arrays[f"{name}.idf"] = idf
        heads.append({"name": name, "labels": labels})
    meta = {"vocab": vocab_terms, "heads": heads, "ngram": [1, 3],
            "metadata": {"trained_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                         "docs": {h: len(r) for h, r in corpus.items()}}}
    return meta, arrays


def cross_validate(corpus: dict[str, list[tuple[str, str]]], folds: int = 5) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import classification_report
    from sklearn.model_selection import StratifiedKFold

    for name, rows in corpus.items():
        texts = np.array([t for t, _ in rows], dtype=object)
        y = np.array([lab for _, lab in rows])
        pred = np.empty_like(y)
        for train, test in StratifiedKFold(folds, shuffle=True, random_state=SEED).split(texts, y):
            vec = TfidfVectorizer(analyzer=lambda s: char_ngrams(prepare_text(s)), min_df=MIN_DF, sublinear_tf=True)
            model = LogisticRegression(C=C_CITY, max_iter=3000, class_weight="balanced")
            model.fit(vec.fit_transform(texts[train]), y[train])
            pred[test] = model.predict(vec.transform(texts[test]))
        print(f"== {name} ({len(rows)} docs, {folds}-fold CV; noisy copies share folds at random)")
        print(classification_report(y, pred, digits=3))


def train_and_save(stem: Path) -> Path:
    t0 = time.perf_counter()
    corpus = build_corpus(random.Random(SEED))
    meta, arrays = fit(corpus)
    LinearTextModel.from_state(meta, arrays)  # refuse to write something that will not load
    save_artefact(stem, meta, arrays)
    print(f"trained intake model in {time.perf_counter() - t0:.1f}s → {stem}.json "
          f"({len(meta['vocab'])} features; docs {meta['metadata']['docs']})", file=sys.stderr)
    return stem


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--print-path", action="store_true")
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--cv", action="store_true")
    args = ap.parse_args(argv)
    stem = intake_model_stem()
    if args.print_path:
        print(f"{stem}.json")
        return 0
    if args.cv:
        cross_validate(build_corpus(random.Random(SEED)))
        return 0
    if stem.with_suffix(".json").exists() and stem.with_suffix(".npz").exists() and not args.force:
        print(f"up to date: {stem}.json", file=sys.stderr)
        return 0
    train_and_save(stem)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
