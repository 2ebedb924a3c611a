"""Train the topic classifier and write var/models/classifier-<hash>.json/.npz (router runtime).

    .venv/bin/python scripts/train_classifier.py             # train if the artefact is missing
    .venv/bin/python scripts/train_classifier.py --force     # retrain anyway
    .venv/bin/python scripts/train_classifier.py --print-path

The hash covers the training data, this script, the classifier module and the keyword/routing files,
so the artefact always matches the code that reads it. CLASSIFIER_CACHE_DIR moves the cache (CI).

Training data: data/tipdm_train.jsonl (1,837 labelled messages, 7 l1 classes), the authored short
resident messages router/data/classifier_extra.jsonl, and the taxonomy's own vocabulary (l2/l3 names and
authored keywords of the 7 trained classes) as tiny documents. Model: TF-IDF blocks (jieba words,
char 1-3-grams, char 1-3-grams of the first 25 chars) plus one keyword feature per class (log(1 +
distinct taxonomy/keyword terms of that class in the message), weight KEYWORD_WEIGHT) → LinearSVC,
whose scores go through a multinomial logistic regression fitted on 5-fold out-of-fold scores
(calibrated probabilities).
The dispatch threshold is chosen on cross-fitted out-of-fold probabilities.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from router.adapters.artefacts import save_artefact, topic_classifier_stem  # noqa: E402
from router.adapters.reference_data import load_keyword_rules, load_routing  # noqa: E402
from router.domain.classifier import (  # noqa: E402
    ANALYSERS,
    KeywordRule,
    TopicClassifier,
    analyse,
    keyword_features,
    keyword_vocabulary,
    prepare,
)

__all__ = ["Corpus", "load_corpus", "cross_validate", "fit_state", "train_and_save", "CVResult"]

# Chosen by 5-fold stratified CV on tipdm_train (see bench/results/classifier.md).
BLOCKS: dict[str, dict[str, Any]] = {
    "word": {"min_df": 1, "weight": 1.0},
    "char": {"min_df": 2, "weight": 1.0},
    "head": {"min_df": 2, "weight": 1.0},
}
SVC_C = 1.0
# Per-class keyword features (taxonomy l2/l3 names + authored keywords, not learnt from the data),
# appended to the TF-IDF row with this weight. CV (bench/results/classifier.md): macro-F1 0.897 → 0.908
# at seed 0 (+0.014 and +0.007 with fold seeds 1 and 2); 0.05 and 0.2 gain less.
KEYWORD_WEIGHT = 0.1
LR_C = 30.0  # used when "lr" is in BASE_MODELS (CV: no gain over the SVM alone, 2x the time)
BASE_MODELS = ("svc",)
FOLDS = 5
SEED = 0
# Share of messages the dispatcher should not have to see: the threshold is the lowest confidence at
# which the out-of-fold accuracy of the messages at or above it is still >= TARGET_AUTO_ACCURACY.
TARGET_AUTO_ACCURACY = 0.95
# Keyword rules for the untrained l1 classes: messages up to this long (after normalisation)...
RULE_MAX_CHARS = 60
# ...get this nominal confidence. Authored rules have no labelled data to calibrate on, so the number is
# not a measured probability; their topics are always flagged needs_human_dispatch.
RULE_CONFIDENCE = 0.6


@dataclass
class Corpus:
    texts: list[str]  # prepared
    labels: np.ndarray
    source: np.ndarray  # "tipdm" | "extra" | "taxonomy"
    terms: dict[str, list[list[str]]] = field(default_factory=dict)
    keyword_vocab: list[list[str]] = field(default_factory=list)  # per trained class, sorted classes
    keyword_feats: np.ndarray | None = None  # n_docs × n_classes, unweighted


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_corpus(rules: Sequence[KeywordRule] | None = None) -> Corpus:
    tipdm = _read_jsonl(REPO_ROOT / "data" / "tipdm_train.jsonl")
    extra = _read_jsonl(REPO_ROOT / "router" / "data" / "classifier_extra.jsonl")
    trained = sorted({r["l1"] for r in tipdm})
    texts: list[str] = []
    labels: list[str] = []
    source: list[str] = []
    for name, rows in (("tipdm", tipdm), ("extra", extra)):
        for r in rows:
            if r["l1"] not in trained:
                raise ValueError(f"{name}: label {r['l1']!r} is not one of the trained classes")
            texts.append(prepare(r["text"]))
            labels.append(r["l1"])
            source.append(name)
    # The taxonomy's own words, one tiny document per node: teaches the vocabulary of sub-topics the
    # messages rarely show. Nodes shared by two l1 (住房公积金) simply appear under both.
    rules = load_keyword_rules() if rules is None else rules
    for rule in rules:
        if rule.l1 in trained and not rule.assigns_l1:
            doc = "".join(dict.fromkeys([rule.l2, *(rule.keywords)]))
            texts.append(prepare(doc))
            labels.append(rule.l1)
            source.append("taxonomy")
    corpus = Corpus(texts, np.array(labels), np.array(source))
    corpus.terms = {name: [analyse(name, t) for t in texts] for name in ANALYSERS}
    corpus.keyword_vocab = keyword_vocabulary(rules, trained)
    corpus.keyword_feats = np.array([keyword_features(t, corpus.keyword_vocab) for t in texts])
    return corpus


def _identity(doc: list[str]) -> list[str]:
    return doc


def _vectorise(corpus: Corpus, train_idx: np.ndarray) -> tuple[list[Any], Any]:
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer

    vecs = []
    for name, cfg in BLOCKS.items():
        v = TfidfVectorizer(analyzer=_identity, min_df=cfg["min_df"], lowercase=False)
        v.fit([corpus.terms[name][i] for i in train_idx])
        vecs.append(v)

    def transform(idx: np.ndarray) -> Any:
        mats = [v.transform([corpus.terms[n][i] for i in idx]) * BLOCKS[n]["weight"] for n, v in zip(BLOCKS, vecs, strict=True)]
        if KEYWORD_WEIGHT:
            assert corpus.keyword_feats is not None
            mats.append(csr_matrix(corpus.keyword_feats[idx] * KEYWORD_WEIGHT))
        return hstack(mats).tocsr()

    return vecs, transform


def _fit_base(X: Any, y: np.ndarray, kind: str) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    if kind == "svc":
        model = LinearSVC(C=SVC_C, class_weight="balanced")
    elif kind == "lr":
        model = LogisticRegression(C=LR_C, class_weight="balanced", max_iter=3000)
    else:
        raise ValueError(kind)
    return model.fit(X, y)


def _scores(models: Sequence[Any], X: Any) -> np.ndarray:
    return np.hstack([m.decision_function(X) for m in models])


def _fit_stacker(Z: np.ndarray, y: np.ndarray) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=1.0, max_iter=2000).fit(Z, y)


@dataclass
class CVResult:
    classes: list[str]
    labels: np.ndarray
    source: np.ndarray
    texts: list[str]
    oof_scores: np.ndarray  # base scores of evaluated docs (rows: tipdm then extra)
    oof_proba: np.ndarray  # cross-fitted stacker probabilities
    eval_idx: np.ndarray  # corpus indices of the evaluated docs
    seconds: float


def _folds(corpus: Corpus, evaluated: np.ndarray) -> np.ndarray:
    from sklearn.model_selection import StratifiedKFold

    fold = np.full(len(corpus.texts), -1)
    skf = StratifiedKFold(FOLDS, shuffle=True, random_state=SEED)
    for src in ("tipdm", "extra"):
        idx = np.flatnonzero(corpus.source == src)
        for k, (_tr, te) in enumerate(skf.split(idx, corpus.labels[idx])):
            fold[idx[te]] = k
    return fold


def cross_validate(corpus: Corpus, with_extra: bool = True) -> CVResult:
    """5-fold stratified CV. tipdm and extra messages are split into folds separately; the taxonomy
    documents are always in training. ``with_extra=False`` trains on tipdm only (extra messages are
    still predicted, to show what the augmentation buys on short messages)."""
    from sklearn.model_selection import StratifiedKFold

    t0 = time.perf_counter()
    evaluated = np.flatnonzero(corpus.source != "taxonomy")
    fold = _folds(corpus, evaluated)
    classes = sorted(set(corpus.labels[corpus.source == "tipdm"]))
    scores = np.zeros((len(corpus.texts), len(classes) * len(BASE_MODELS)))
    usable = np.ones(len(corpus.texts), bool) if with_extra else corpus.source == "tipdm"
    for k in range(FOLDS):
        train_idx = np.flatnonzero(usable & (fold != k))
        test_idx = np.flatnonzero(fold == k)
        _vecs, transform = _vectorise(corpus, train_idx)
        X = transform(train_idx)
        models = [_fit_base(X, corpus.labels[train_idx], kind) for kind in BASE_MODELS]
        scores[test_idx] = _scores(models, transform(test_idx))
    # Cross-fit the stacker on the out-of-fold scores: each message's probability comes from a
    # stacker that never saw that message's score.
    proba = np.zeros((len(corpus.texts), len(classes)))
    stack_rows = evaluated if with_extra else np.flatnonzero(corpus.source == "tipdm")
    skf = StratifiedKFold(FOLDS, shuffle=True, random_state=SEED + 1)
    for tr, te in skf.split(stack_rows, corpus.labels[stack_rows]):
        st = _fit_stacker(scores[stack_rows[tr]], corpus.labels[stack_rows[tr]])
        proba[stack_rows[te]] = st.predict_proba(scores[stack_rows[te]])
    if not with_extra:
        # extra messages were never in any training fold: any stacker fitted on tipdm rows will do.
        st = _fit_stacker(scores[stack_rows], corpus.labels[stack_rows])
        extra = np.flatnonzero(corpus.source == "extra")
        proba[extra] = st.predict_proba(scores[extra])
    return CVResult(
        classes,
        corpus.labels[evaluated],
        corpus.source[evaluated],
        [corpus.texts[i] for i in evaluated],
        scores[evaluated],
        proba[evaluated],
        evaluated,
        time.perf_counter() - t0,
    )


def choose_threshold(confidence: np.ndarray, correct: np.ndarray, target: float = TARGET_AUTO_ACCURACY) -> float:
    """Lowest confidence t with accuracy(conf >= t) >= target (0.5 if even all of them are below)."""
    order = np.argsort(-confidence)
    acc = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    ok = np.flatnonzero(acc >= target)
    if len(ok) == 0:
        return 0.5
    # Take the largest prefix that still meets the target; the threshold is its lowest confidence.
    return float(confidence[order][ok[-1]])


def fit_state(corpus: Corpus, cv: CVResult) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The artefact (JSON and arrays): base models on everything, stacker on the CV's out-of-fold scores."""
    all_idx = np.arange(len(corpus.texts))
    vecs, transform = _vectorise(corpus, all_idx)
    X = transform(all_idx)
    models = [_fit_base(X, corpus.labels, kind) for kind in BASE_MODELS]
    stacker = _fit_stacker(cv.oof_scores, cv.labels)
    classes = [str(c) for c in models[0].classes_]
    if classes != [str(c) for c in stacker.classes_] or classes != cv.classes:
        raise RuntimeError("class order differs between base models and stacker")
    blocks = []
    arrays: dict[str, np.ndarray] = {}
    for (name, cfg), v in zip(BLOCKS.items(), vecs, strict=True):
        vocab = {str(t): int(i) for t, i in v.vocabulary_.items()}
        blocks.append({"name": name, "terms": sorted(vocab, key=vocab.__getitem__), "weight": cfg["weight"]})
        arrays[f"idf.{name}"] = v.idf_.astype(np.float64)
    for i, m in enumerate(models):
        arrays[f"base.{i}.w"] = np.ascontiguousarray(m.coef_.T, dtype=np.float32)
        arrays[f"base.{i}.b"] = np.asarray(m.intercept_, dtype=np.float64)
    arrays["stack.w"] = stacker.coef_.astype(np.float64)
    arrays["stack.b"] = stacker.intercept_.astype(np.float64)
    confidence = cv.oof_proba.max(axis=1)
    predicted = np.array(cv.classes)[cv.oof_proba.argmax(axis=1)]
    threshold = choose_threshold(confidence, predicted == cv.labels)
    meta = {
        "model": {"classes": classes, "blocks": blocks, "n_base": len(models),
                  "keywords": {"words": corpus.keyword_vocab if KEYWORD_WEIGHT else [],
                               "weight": KEYWORD_WEIGHT}},
        "threshold": threshold,
        "rule_max_chars": RULE_MAX_CHARS,
        "rule_confidence": RULE_CONFIDENCE,
        "metadata": {"trained_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "n_docs": len(corpus.texts),
                     "cv_seconds": round(cv.seconds, 1)},
    }
    return meta, arrays


def train_and_save(stem: Path | None = None, log: Any = sys.stderr) -> Path:
    stem = Path(stem) if stem is not None else topic_classifier_stem()
    t0 = time.perf_counter()
    corpus = load_corpus()
    cv = cross_validate(corpus, with_extra=True)
    meta, arrays = fit_state(corpus, cv)
    # refuse to write something that won't load
    TopicClassifier.from_state(meta, arrays, load_keyword_rules(), load_routing())
    save_artefact(stem, meta, arrays)
    print(f"trained classifier in {time.perf_counter() - t0:.1f}s → {stem}.json/.npz "
          f"(threshold {meta['threshold']:.3f})", file=log)
    return stem


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--print-path", action="store_true", help="print the artefact path and exit")
    parser.add_argument("--force", action="store_true", help="retrain even if the artefact exists")
    args = parser.parse_args(argv)
    stem = topic_classifier_stem()
    if args.print_path:
        print(stem)
        return 0
    if stem.with_suffix(".json").exists() and stem.with_suffix(".npz").exists() and not args.force:
        print(f"up to date: {stem}", file=sys.stderr)
        return 0
    train_and_save(stem)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
