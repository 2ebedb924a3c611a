"""Emergencies from outside authors, through POST /api/v1/triage of a running stack; writes
bench/results/emergencies.md.

    .venv/bin/python bench/emergency_eval.py --url http://127.0.0.1:8080 --token $ROUTER_API_TOKEN

Sets: tests/data/emergencies_dev.jsonl (happening-now emergencies and near-misses),
emergencies_disguised_dev.jsonl (emergencies written like a complaint or a question) and
emergencies_dev3.jsonl (emergencies and near-misses in residents' voices: elderly, Cantonese, WeChat,
recogniser typos, buried in a question); see tests/data/README.md. All are dev sets: their errors were read. Measures, per set: told to call (recall),
with the right number, and alarms raised on near-misses. Misses are listed by line number only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import header  # noqa: E402
from bench.triage_eval import _mask_token, http_triage  # noqa: E402

SETS = ("emergencies_dev.jsonl", "emergencies_disguised_dev.jsonl", "emergencies_dev3.jsonl")


def measure(triage, path: Path) -> dict:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    out = {"emergencies": 0, "told": 0, "right": 0, "near": 0, "alarms": 0, "missed": [], "wrong": [], "alarmed": []}
    for n, row in enumerate(rows, 1):
        body = triage(row["text"], row["channel"])
        alarm = body["outcome"] == "emergency"
        if row["expected"] == "emergency":
            out["emergencies"] += 1
            out["told"] += alarm
            out["right"] += alarm and body.get("emergency_number") == row["number"]
            if not alarm:
                out["missed"].append(n)
            elif body.get("emergency_number") != row["number"]:
                out["wrong"].append(f"{n} ({row['number']}→{body.get('emergency_number')})")
        else:
            out["near"] += 1
            out["alarms"] += alarm
            if alarm:
                out["alarmed"].append(n)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", default=os.environ.get("ROUTER_API_TOKEN", ""))
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "emergencies.md")
    args = ap.parse_args()
    sys.argv = _mask_token(sys.argv)
    triage = http_triage(args.url, args.token)
    lines = [header("Emergencies from outside authors (dev sets), through POST /api/v1/triage"), "",
             "| set | told to call | with the right number | alarms on near-misses | target |",
             "| --- | ---: | ---: | ---: | ---: |"]
    details = []
    for name in SETS:
        m = measure(triage, ROOT / "tests" / "data" / name)
        e = m["emergencies"]
        near = f"{m['alarms']}/{m['near']}" if m["near"] else "–"
        lines.append(f"| {name} | {m['told']}/{e} ({m['told'] / e:.3f}) | {m['right']}/{e} ({m['right'] / e:.3f}) "
                     f"| {near} | 1.0 / 1.0 / 0 |")
        details.append(f"- {name}: missed lines {m['missed'] or 'none'}; wrong number {m['wrong'] or 'none'}; "
                       f"alarms on lines {m['alarmed'] or 'none'}")
    lines += ["", *details, ""]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
