"""Service catalogue retrieval on the service-question dev set, as the product asks it.

Run: .venv/bin/python bench/services_dev_eval.py [--misses] [--all] [--file tests/data/services_dev.jsonl]

Each row of the dev set is a resident's question with every correct item id (``ok``); rows whose ``ok`` is
empty are services the catalogue lacks and are skipped. The question goes through the same steps as in
router/services/understanding.py: ``normalise`` (bounded like MAX_EVIDENCE_CHARS), the jurisdiction resolver
for the district, then ``catalogue.search(clean[:SERVICE_QUERY_CHARS], k=3, district=...)`` on the
catalogue ``load_catalogue()`` builds (as router/app.py does). A row is a top-3 hit when any ``ok`` id is
among the 3 returned ids, a top-1 hit when the first one is.

Only the dev set is meant to be read here: the locked set is measured elsewhere, never studied.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from router.adapters.reference_data import load_catalogue, load_resolver  # noqa: E402
from router.domain.normalise import normalise  # noqa: E402
from router.services.understanding import (  # noqa: E402
    MAX_EVIDENCE_CHARS,
    PLACE_CHARS,
    SERVICE_QUERY_CHARS,
)

DEV = ROOT / "tests/data/services_dev.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEV)
    parser.add_argument("--misses", action="store_true", help="list top-3 misses with returned ids and scores")
    parser.add_argument("--all", action="store_true", help="list every row's results")
    args = parser.parse_args()
    if "locked" in args.file.name:
        raise SystemExit("the locked set is not evaluated here")

    rows = [json.loads(line) for line in args.file.open(encoding="utf-8") if line.strip()]
    rows = [r for r in rows if r.get("ok")]
    catalogue = load_catalogue()
    resolver = load_resolver()

    prepared = []
    for row in rows:
        clean = normalise(row["text"][: MAX_EVIDENCE_CHARS * 2])[:MAX_EVIDENCE_CHARS]
        district = resolver.resolve(clean[:PLACE_CHARS]).district
        prepared.append((row, clean[:SERVICE_QUERY_CHARS], district))

    top1 = top3 = 0
    report = []
    for row, query, district in prepared:
        hits = catalogue.search(query, k=3, district=district)
        ids = [h.item.id for h in hits]
        ok = set(row["ok"])
        first = bool(ids and ids[0] in ok)
        any3 = bool(ok & set(ids))
        top1 += first
        top3 += any3
        if args.all or (args.misses and not first):
            mark = "OK " if first else ("T3 " if any3 else "MISS")
            got = ", ".join(f"{h.item.id}:{h.score:.3f}" for h in hits) or "(nothing)"
            report.append(f"{mark} {row['text'][:70]!r}\n      want {sorted(ok)}\n      got  {got}")

    # Time per search: a warm-up pass, then 20 passes over the dev queries.
    for _, query, district in prepared:
        catalogue.search(query, k=3, district=district)
    times = []
    for _ in range(20):
        for _, query, district in prepared:
            t0 = time.perf_counter()
            catalogue.search(query, k=3, district=district)
            times.append(time.perf_counter() - t0)
    times.sort()
    n = len(rows)
    print("\n".join(report))
    print(f"rows {n}  top-1 {top1}/{n} = {top1 / n:.3f}  top-3 {top3}/{n} = {top3 / n:.3f}")
    print(
        f"search ms: mean {statistics.fmean(times) * 1e3:.2f}  p50 {times[len(times) // 2] * 1e3:.2f}  "
        f"p99 {times[int(len(times) * 0.99)] * 1e3:.2f}  max {times[-1] * 1e3:.2f}"
    )


if __name__ == "__main__":
    main()
