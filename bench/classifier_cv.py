"""Cross-validated quality, calibration and latency of the topic classifier → bench/results/classifier.md.

    .venv/bin/python bench/classifier_cv.py

5-fold stratified CV on data/tipdm_train.jsonl with exactly the pipeline of scripts/train_classifier.py,
once with the augmentation (authored short messages + taxonomy vocabulary) and once without. Latency is
measured on the shipped artefact (load_topic_classifier()), one message at a time.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import train_classifier as training  # noqa: E402

from router.adapters.artefacts import load_topic_classifier  # noqa: E402

OUT = REPO / "bench" / "results" / "classifier.md"


def prf_table(labels: np.ndarray, pred: np.ndarray, classes: list[str]) -> tuple[list[str], float]:
    rows = ["| class | n | precision | recall | F1 |", "| --- | ---: | ---: | ---: | ---: |"]
    f1s = []
    for c in classes:
        tp = int(np.sum((pred == c) & (labels == c)))
        p = tp / max(int(np.sum(pred == c)), 1)
        r = tp / max(int(np.sum(labels == c)), 1)
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        f1s.append(f1)
        rows.append(f"| {c} | {int(np.sum(labels == c))} | {p:.3f} | {r:.3f} | {f1:.3f} |")
    return rows, float(np.mean(f1s))


def macro_f1(labels: np.ndarray, pred: np.ndarray, classes: list[str]) -> float:
    return prf_table(labels, pred, classes)[1]


def calibration(conf: np.ndarray, correct: np.ndarray, bins: int = 10) -> tuple[float, list[str]]:
    rows = ["| confidence | n | mean confidence | accuracy |", "| --- | ---: | ---: | ---: |"]
    ece = 0.0
    edges = np.linspace(0, 1, bins + 1)
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = (conf > lo) & (conf <= hi)
        if not m.any():
            continue
        gap = abs(conf[m].mean() - correct[m].mean())
        ece += m.mean() * gap
        rows.append(f"| {lo:.1f}–{hi:.1f} | {int(m.sum())} | {conf[m].mean():.3f} | {correct[m].mean():.3f} |")
    return float(ece), rows


def main() -> int:
    started = time.perf_counter()
    lines = [
        "# Topic classifier — cross-validation, calibration, latency",
        "",
        f"- date: {dt.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- machine: `{' '.join(platform.uname())}`, nproc {os.cpu_count()}, "
        f"load average at start {os.getloadavg()[0]:.2f} (2 cores shared with other work)",
        "- command: `.venv/bin/python bench/classifier_cv.py`",
        f"- pipeline: blocks {list(training.BLOCKS)} (TF-IDF) + per-class keyword features "
        f"(weight {training.KEYWORD_WEIGHT}), base models {list(training.BASE_MODELS)} "
        f"(LinearSVC C={training.SVC_C}, balanced), multinomial LR stacker on out-of-fold scores; "
        f"{training.FOLDS}-fold stratified CV, seed {training.SEED}",
        "",
    ]
    corpus = training.load_corpus()
    clf = load_topic_classifier()  # the shipped artefact: for the rule check and latency
    results = {}
    for mode in (True, False):
        results[mode] = training.cross_validate(corpus, with_extra=mode)

    cv = results[True]
    classes = cv.classes
    tip = cv.source == "tipdm"
    extra = cv.source == "extra"
    pred = np.array(classes)[cv.oof_proba.argmax(axis=1)]
    conf = cv.oof_proba.max(axis=1)
    correct = pred == cv.labels

    # The whole decision, as TopicClassifier.decide makes it: keyword rules for untrained classes may
    # take over a short or uncertain message. On tipdm every such take-over is an error.
    full = pred.copy()
    for i, text in enumerate(cv.texts):
        rule = clf._l1_rule(text, str(pred[i]))
        if rule is not None:
            full[i] = rule.l1
    rule_hits = int(np.sum(full[tip] != pred[tip]))

    lines += ["## Macro-F1 over the 7 classes (5-fold CV, held-out tipdm messages)", "",
              "| training set | macro-F1 (model) | macro-F1 (with keyword rules) | accuracy | "
              "short authored messages held out: accuracy |",
              "| --- | ---: | ---: | ---: | ---: |"]
    for mode, name in ((False, "tipdm only"), (True, "tipdm + authored short messages + taxonomy vocabulary")):
        r = results[mode]
        p = np.array(classes)[r.oof_proba.argmax(axis=1)]
        t, e = r.source == "tipdm", r.source == "extra"
        f_rules = macro_f1(r.labels[t], full[t], classes) if mode else float("nan")
        lines.append(f"| {name} | {macro_f1(r.labels[t], p[t], classes):.4f} | "
                     f"{f'{f_rules:.4f}' if mode else '—'} | {np.mean(p[t] == r.labels[t]):.4f} | "
                     f"{np.mean(p[e] == r.labels[e]):.3f} (n={int(e.sum())}) |")
    lines += ["", f"Keyword rules for untrained l1 classes took over {rule_hits} of {int(tip.sum())} "
              "held-out tipdm messages (each one an error).", "",
              "### Per class (tipdm, shipped configuration, model only)", ""]
    table, _ = prf_table(cv.labels[tip], pred[tip], classes)
    lines += table

    ece, rel = calibration(conf[tip], correct[tip])
    order = np.argsort(-conf[tip])
    top = order[: int(round(0.8 * len(order)))]
    acc80 = float(np.mean(correct[tip][top]))
    thr = clf.threshold
    above = conf[tip] >= thr
    lines += ["", "## Calibration (held-out tipdm, cross-fitted stacker)", "",
              f"- ECE (10 bins): **{ece:.4f}**",
              f"- accuracy overall {np.mean(correct[tip]):.4f}; on the most confident 80%: **{acc80:.4f}**",
              f"- dispatch threshold (from CV: lowest confidence keeping accuracy ≥ "
              f"{training.TARGET_AUTO_ACCURACY:.2f} above it): **{thr:.3f}** → "
              f"{above.mean():.1%} dispatched automatically at accuracy {np.mean(correct[tip][above]):.4f}, "
              f"{1 - above.mean():.1%} to a human dispatcher (accuracy there {np.mean(correct[tip][~above]):.4f})",
              f"- short authored messages (held out): {np.mean(conf[extra] >= thr):.1%} above the threshold",
              "", *rel]

    # Latency: one message at a time through the public API, on real messages of both lengths.
    texts = [json.loads(x)["text"] for x in (REPO / "data" / "tipdm_train.jsonl").open(encoding="utf-8")][:400]
    texts += [json.loads(x)["text"] for x in (REPO / "router" / "data" / "classifier_extra.jsonl").open(encoding="utf-8")]
    for t in texts[:20]:
        clf.predict(t)
    times, cpu = [], []
    for t in texts:
        c0, t0 = time.thread_time(), time.perf_counter()
        clf.predict(t)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.thread_time() - c0) * 1000)
    short = [ms for t, ms in zip(texts, times, strict=True) if len(t) <= 40]
    t0 = time.perf_counter()
    clf.predict_many(texts)
    rate = len(texts) / (time.perf_counter() - t0)
    q = statistics.quantiles(times, n=100)
    qs = statistics.quantiles(short, n=100)
    lines += ["", "## Latency (shipped artefact, single message, `TopicClassifier.predict`)", "",
              f"- {len(texts)} messages (400 tipdm, median {int(np.median([len(t) for t in texts[:400]]))} chars; "
              f"{len(texts) - 400} short): p50 **{q[49]:.2f} ms**, p99 **{q[98]:.2f} ms**, max {max(times):.1f} ms",
              f"- same messages, CPU time of the thread (no waiting for a core): p50 "
              f"{statistics.quantiles(cpu, n=100)[49]:.2f} ms, p99 {statistics.quantiles(cpu, n=100)[98]:.2f} ms",
              f"- messages ≤ 40 chars (n={len(short)}): p50 {qs[49]:.2f} ms, p99 {qs[98]:.2f} ms",
              f"- predict_many throughput: {rate:.0f} texts/s",
              f"- load average at the end {os.getloadavg()[0]:.2f}; p99 on a shared machine includes scheduling stalls",
              "", f"CV time: with augmentation {results[True].seconds:.0f}s, without {results[False].seconds:.0f}s; "
              f"bench total {time.perf_counter() - started:.0f}s.", ""]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
