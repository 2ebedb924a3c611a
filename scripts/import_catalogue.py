"""Check a service catalogue file a city provides (CSV, JSON or JSONL) before it goes live.

    .venv/bin/python scripts/import_catalogue.py city_items.csv [--query 社保卡丢了 ...] [--out items.jsonl]

Reads the file the way ``load_catalogue(extra_sources=[...])`` will, reports clear errors (missing fields,
unknown handled_at, duplicate ids), prints counts, optionally runs a few searches against the full catalogue
and writes the normalised items as JSONL (the format of router/data/services/).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from router.adapters.reference_data import load_catalogue, read_items  # noqa: E402
from router.domain.catalogue import CatalogueError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("source", type=Path)
    parser.add_argument("--all", action="store_true", help="keep scraped items that are not for residents")
    parser.add_argument("--query", action="append", default=[], help="search the combined catalogue")
    parser.add_argument("--out", type=Path, help="write the normalised items as JSONL")
    args = parser.parse_args(argv)
    try:
        items = read_items(args.source, relevant_only=not args.all)
        catalogue = load_catalogue(extra_sources=[args.source]) if args.query else None
    except CatalogueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{len(items)} items from {args.source}")
    for key, label in (("source", "source"), ("handled_at", "handled_at"), ("department", "department")):
        counts = Counter(getattr(item, key) for item in items)
        print(f"  by {label}: " + ", ".join(f"{k} {v}" for k, v in counts.most_common(10)))
    for query in args.query:
        assert catalogue is not None
        hits = catalogue.search(query)
        print(
            f"{query}: "
            + ("; ".join(f"{h.item.name} ({h.item.source}, {h.score:.2f})" for h in hits) or "no item")
        )
    if args.out:
        with args.out.open("w", encoding="utf-8") as fh:
            for item in items:
                fh.write(json.dumps(item.to_dict(), ensure_ascii=False) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
