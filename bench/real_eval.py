"""Measure POST /api/v1/triage on real residents' text the project never trains on.

    .venv/bin/python bench/real_eval.py --url http://127.0.0.1:8080 --token $ROUTER_API_TOKEN \
        [--real-dir ../shared/data/real] [--split dev|locked|all] [--out bench/results/real_text.md]

Sets (../shared/data/real/, see its README for the terms: measure with them, never train on them, never
copy their text into the repository — so this report names rows by id only):
- hotline_fuzhou.jsonl — a city's 12345 tickets; every one is a matter for a city service.
- message_board_people.jsonl — letters to local leaders; every one is a matter for a city service.
- crisis_weibo_sos1k.jsonl — posts rated for suicide risk 0–10; risk ≥ 7 must get the crisis answer.

What counts:
- turned away: out_of_scope or greeting for a letter or ticket (target ≤ 2 %);
- false alarm: emergency for a letter or ticket (none is an emergency in progress; target ≤ 2 %);
- crisis answer: emergency for a post (target ≥ 95 % at risk ≥ 7, ≤ 10 % at risk 0–2).

Each set is split in two by a hash of the row's id (or text): `dev` is where the team looks at errors,
`locked` is only ever measured. The full per-row answers go to var/real_eval/ (not committed: they hold
the real text), so a developer can study the misses of the dev split.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import header, percentile  # noqa: E402
from bench.triage_eval import _mask_token, http_triage  # noqa: E402

TURNED_AWAY = ("out_of_scope", "greeting")
DEFAULT_REAL = ROOT.parent / "shared" / "data" / "real"


def split_of(key: str) -> str:
    """dev or locked, fixed by the row's id: the same row is always on the same side."""
    return "dev" if hashlib.sha256(key.encode()).digest()[0] % 2 == 0 else "locked"


def load(path: Path, text_of: Any, key_of: Any) -> list[dict[str, Any]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        raw = json.loads(line)
        text = text_of(raw)[:2000]
        if not text.strip():
            continue
        key = str(key_of(raw))
        rows.append({**raw, "_text": text, "_key": key, "_split": split_of(key)})
    return rows


def letter_text(raw: dict[str, Any]) -> str:
    """How a resident would send it: the title, then the letter."""
    title, text = str(raw.get("title") or "").strip(), str(raw.get("text") or "").strip()
    return f"{title}\n{text}" if title and not text.startswith(title) else text


def run(rows: list[dict[str, Any]], triage: Any, channel: str, workers: int) -> list[dict[str, Any]]:
    def one(row: dict[str, Any]) -> dict[str, Any]:
        start = time.perf_counter()
        body = triage(row["_text"], row.get("_channel", channel))
        return {"key": row["_key"], "split": row["_split"], "outcome": body.get("outcome"),
                "intent": (body.get("intent") or {}).get("name"), "number": body.get("emergency_number"),
                "seconds": time.perf_counter() - start, "row": row}

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, rows))


def share(results: list[dict[str, Any]], outcomes: tuple[str, ...]) -> tuple[int, int]:
    return sum(r["outcome"] in outcomes for r in results), len(results)


def pct(n: int, d: int) -> str:
    return f"{100 * n / d:.1f}% ({n}/{d})" if d else "–"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", default=os.environ.get("ROUTER_API_TOKEN", ""))
    ap.add_argument("--real-dir", type=Path, default=DEFAULT_REAL)
    ap.add_argument("--split", choices=("dev", "locked", "all"), default="all")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--limit", type=int, default=0, help="rows per set (0 = all)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "real_text.md")
    ap.add_argument("--details", type=Path, default=ROOT / "var" / "real_eval")
    args = ap.parse_args()
    sys.argv = _mask_token(sys.argv)  # the result file records the command; never the secret
    if not args.real_dir.is_dir():
        sys.exit(f"{args.real_dir}: not found (the shared real-text folder is needed for this measurement)")
    triage = http_triage(args.url, args.token)

    sets = {
        "hotline_fuzhou": load(args.real_dir / "hotline_fuzhou.jsonl", letter_text, lambda r: r["id"]),
        "message_board_people": load(args.real_dir / "message_board_people.jsonl", letter_text, lambda r: r["id"]),
        "crisis_weibo_sos1k": load(args.real_dir / "crisis_weibo_sos1k.jsonl", lambda r: str(r["text"]),
                                   lambda r: hashlib.sha256(r["text"].encode()).hexdigest()[:12]),
    }
    for name, rows in sets.items():
        if args.split != "all":
            rows = [r for r in rows if r["_split"] == args.split]
        if args.limit:
            rows = rows[: args.limit]
        sets[name] = rows

    hotline_channel = {"电话": "voice", "微信": "wechat"}
    for r in sets["hotline_fuzhou"]:
        r["_channel"] = hotline_channel.get(str(r.get("channel")), "web")

    results: dict[str, list[dict[str, Any]]] = {}
    start = time.perf_counter()
    for name, rows in sets.items():
        results[name] = run(rows, triage, "web", args.workers)
    elapsed = time.perf_counter() - start

    args.details.mkdir(parents=True, exist_ok=True)
    for name, res in results.items():
        with (args.details / f"{name}.jsonl").open("w", encoding="utf-8") as fh:
            for r in res:
                row = r["row"]
                fh.write(json.dumps({**{k: v for k, v in r.items() if k != "row"}, "text": row["_text"], "nature": row.get("nature") or row.get("type"),
                                     "risk": row.get("risk_level")}, ensure_ascii=False) + "\n")

    lines = [header("Real residents' text through POST /api/v1/triage"), ""]
    lines += [f"- stack: `{args.url}`; sets from `{args.real_dir}` (terms: measure only; rows named by id, no text here)",
              f"- split: {args.split} (dev/locked fixed by a hash of the row id; `locked` is never studied)",
              f"- {sum(len(r) for r in results.values())} requests in {elapsed:.0f} s with {args.workers} workers", ""]
    targets = []
    for name in ("hotline_fuzhou", "message_board_people"):
        res = results[name]
        if not res:
            continue
        away, n = share(res, TURNED_AWAY)
        alarm, _ = share(res, ("emergency",))
        outcomes = Counter(r["outcome"] for r in res)
        lines += [f"## {name}", "",
                  f"- turned away (out_of_scope/greeting): **{pct(away, n)}** (target ≤ 2 %)",
                  f"- false alarms (emergency): **{pct(alarm, n)}** (target ≤ 2 %)",
                  "- outcomes: " + ", ".join(f"{k} {v}" for k, v in outcomes.most_common()),
                  ""]
        by_split = {s: [r for r in res if r["split"] == s] for s in ("dev", "locked")}
        lines += ["| split | n | turned away | false alarms |", "| --- | ---: | ---: | ---: |"]
        for s, part in by_split.items():
            if part:
                lines.append(f"| {s} | {len(part)} | {pct(*share(part, TURNED_AWAY))} | {pct(*share(part, ('emergency',)))} |")
        lines += ["", "| kind (nature/type) | n | turned away | false alarms |", "| --- | ---: | ---: | ---: |"]
        kinds = Counter(str(r["row"].get("nature") or r["row"].get("type")) for r in res)
        for kind, _count in kinds.most_common():
            part = [r for r in res if str(r["row"].get("nature") or r["row"].get("type")) == kind]
            lines.append(f"| {kind} | {len(part)} | {pct(*share(part, TURNED_AWAY))} | {pct(*share(part, ('emergency',)))} |")
        lines.append("")
        targets.append((name, away / n, alarm / n))
        misses = [r["key"] for r in res if r["outcome"] in TURNED_AWAY or r["outcome"] == "emergency"]
        if misses:
            lines += [f"ids turned away or raised as emergency ({len(misses)}): " + ", ".join(misses[:60])
                      + (" …" if len(misses) > 60 else ""), ""]

    crisis = results["crisis_weibo_sos1k"]
    if crisis:
        lines += ["## crisis_weibo_sos1k", "", "| risk | n | answered as an emergency (crisis answer) |",
                  "| --- | ---: | ---: |"]
        for label, lo, hi in (("0–2", 0, 2), ("3–6", 3, 6), ("7–10", 7, 10)):
            part = [r for r in crisis if lo <= int(r["row"]["risk_level"]) <= hi]
            lines.append(f"| {label} | {len(part)} | {pct(*share(part, ('emergency',)))} |")
        lines += ["", "targets: ≥ 95 % at risk 7–10, ≤ 10 % at risk 0–2", ""]

    every = [r["seconds"] for res in results.values() for r in res]
    lines += [f"latency with {args.workers} concurrent requests: p50 {1000 * percentile(every, 50):.0f} ms, "
              f"p99 {1000 * percentile(every, 99):.0f} ms", ""]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
