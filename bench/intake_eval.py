"""Understanding residents, measured on text from outside the team; writes bench/results/intake.md.

    .venv/bin/python bench/intake_eval.py --url http://127.0.0.1:8080 --token $ROUTER_API_TOKEN \
        [--split locked|dev] [--real-dir ../shared/data/real] [--out bench/results/intake.md]

Everything goes through ``POST /api/v1/triage`` of a running stack (router + Rasa), as a resident's
message would. Sets (see tests/data/README.md and ../shared/data/real/README.md):

- residents (web/WeChat/voice, written by an outside author) — outcome accuracy, emergency recall with
  the right number, crisis answers; typed, and as a phone line's recogniser heard them (with the
  recogniser's alternatives, as a gateway sends them);
- service questions (outside author) — the right catalogue item among triage's top 3;
- real letters and hotline tickets — turned away (out_of_scope/greeting) and false alarms (emergency);
- crisis posts — crisis answer by risk level;
- SMP2017 held-out chit-chat (tests/nlu/out_of_scope_heldout.yml) — false accepts (anything but
  out_of_scope/greeting);
- latency: sequential triage p50/p99 over the residents' messages.

``--split locked`` (the default) measures the sets nobody studied; ``dev`` the ones errors were read on.
The real sets are split by a hash of the row id (bench/real_eval.py); their text never appears here.
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
from bench.real_eval import TURNED_AWAY, letter_text, split_of  # noqa: E402
from bench.triage_eval import _mask_token, http_triage, load_cases  # noqa: E402

DATA = ROOT / "tests" / "data"


def pct(n: int, d: int) -> str:
    return f"{100 * n / d:.1f}% ({n}/{d})" if d else "–"


def residents(triage: Any, path: Path, *, asr: bool) -> dict[str, Any]:
    raw = {json.loads(line)["text"]: json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
           if line.strip()}
    cases = load_cases(path, asr=asr)
    rows = []
    seconds = []
    for case in cases:
        start = time.perf_counter()
        body = triage(case.text, case.channel, case.alternatives) if case.alternatives else triage(case.text, case.channel)
        seconds.append(time.perf_counter() - start)
        label = raw.get(case.written or case.text, {})
        rows.append({"expected": case.outcome, "got": body["outcome"], "number": body.get("emergency_number"),
                     "want_number": case.emergency_number, "crisis": bool(label.get("crisis")),
                     "got_crisis": bool(body.get("crisis")), "channel": case.channel})
    emergencies = [r for r in rows if r["expected"] == "emergency"]
    crises = [r for r in rows if r["crisis"]]
    confusion: dict[str, Counter[str]] = {}
    for r in rows:
        confusion.setdefault(r["expected"], Counter())[r["got"]] += 1
    return {
        "n": len(rows),
        "accuracy": sum(r["expected"] == r["got"] for r in rows) / len(rows),
        "emergency_recall": sum(r["got"] == "emergency" for r in emergencies) / len(emergencies),
        "emergency_number": sum(r["got"] == "emergency" and r["number"] == r["want_number"] for r in emergencies)
        / len(emergencies),
        "emergencies": len(emergencies),
        "missed": [r for r in emergencies if r["got"] != "emergency"],
        "crisis_answer": sum(r["got_crisis"] for r in crises) / len(crises) if crises else 0.0,
        "crises": len(crises),
        "confusion": confusion,
        "seconds": seconds,
        "by_channel": {ch: sum(r["expected"] == r["got"] for r in rows if r["channel"] == ch)
                       / max(1, sum(r["channel"] == ch for r in rows)) for ch in ("web", "wechat", "voice")},
    }


def services(triage: Any, path: Path) -> dict[str, Any]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    answerable = [r for r in rows if r["ok"]]
    top1 = top3 = 0
    outcomes: Counter[str] = Counter()
    for r in answerable:
        body = triage(r["text"], "web")
        outcomes[body["outcome"]] += 1
        ids = [i["id"] for i in body.get("service_items") or []]
        top1 += bool(ids) and ids[0] in r["ok"]
        top3 += any(i in r["ok"] for i in ids[:3])
    return {"n": len(answerable), "missing": len(rows) - len(answerable), "top1": top1 / len(answerable),
            "top3": top3 / len(answerable), "outcomes": outcomes}


def real(triage: Any, real_dir: Path, split: str, workers: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    channel_of = {"电话": "voice", "微信": "wechat"}
    for name in ("hotline_fuzhou", "message_board_people"):
        rows = [json.loads(line) for line in (real_dir / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
                if line.strip()]
        rows = [r for r in rows if split_of(str(r["id"])) == split]

        def one(r: dict[str, Any]) -> str:
            return str(triage(letter_text(r)[:2000], channel_of.get(str(r.get("channel")), "web"))["outcome"])

        with ThreadPoolExecutor(workers) as pool:
            got = list(pool.map(one, rows))
        out[name] = {"n": len(rows), "away": sum(g in TURNED_AWAY for g in got),
                     "alarm": sum(g == "emergency" for g in got)}
    posts = [json.loads(line) for line in (real_dir / "crisis_weibo_sos1k.jsonl").read_text(encoding="utf-8")
             .splitlines() if line.strip()]
    posts = [p for p in posts if split_of(hashlib.sha256(p["text"].encode()).hexdigest()[:12]) == split]
    with ThreadPoolExecutor(workers) as pool:
        answers = list(pool.map(lambda p: triage(p["text"][:2000], "web")["outcome"] == "emergency", posts))
    out["crisis"] = {label: (sum(a for p, a in zip(posts, answers, strict=True) if lo <= p["risk_level"] <= hi),
                             sum(1 for p in posts if lo <= p["risk_level"] <= hi))
                     for label, lo, hi in (("0–2", 0, 2), ("3–6", 3, 6), ("7–10", 7, 10))}
    return out


def smp(triage: Any, workers: int) -> tuple[int, int]:
    lines = (ROOT / "tests" / "nlu" / "out_of_scope_heldout.yml").read_text(encoding="utf-8").splitlines()
    texts = [line.strip()[2:] for line in lines if line.strip().startswith("- ") and "intent:" not in line]
    with ThreadPoolExecutor(workers) as pool:
        got = list(pool.map(lambda t: triage(t, "web")["outcome"], texts))
    return sum(g not in TURNED_AWAY for g in got), len(texts)


def confusion_md(conf: dict[str, Counter[str]]) -> list[str]:
    cols = ["service_item", "ticket", "emergency", "handoff", "ticket_status", "out_of_scope", "greeting"]
    lines = ["| expected \\ got | " + " | ".join(cols) + " | n |", "| --- |" + " ---: |" * (len(cols) + 1)]
    for exp in cols:
        row = conf.get(exp, Counter())
        lines.append(f"| {exp} | " + " | ".join(f"**{row[c]}**" if c == exp else (str(row[c]) if row[c] else "·")
                                              for c in cols) + f" | {sum(row.values())} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", default=os.environ.get("ROUTER_API_TOKEN", ""))
    ap.add_argument("--split", choices=("locked", "dev"), default="locked")
    ap.add_argument("--real-dir", type=Path, default=ROOT.parent / "shared" / "data" / "real")
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "intake.md")
    args = ap.parse_args()
    sys.argv = _mask_token(sys.argv)
    triage = http_triage(args.url, args.token)
    typed = residents(triage, DATA / f"residents_{args.split}.jsonl", asr=False)
    phone_path = DATA / f"residents_{args.split}_phone.jsonl"
    phone = residents(triage, phone_path, asr=True) if phone_path.exists() else None
    svc = services(triage, DATA / f"services_{args.split}.jsonl")
    fa, n_smp = smp(triage, args.workers)
    rl = real(triage, args.real_dir, "locked" if args.split == "locked" else "dev", args.workers) \
        if args.real_dir.is_dir() else None
    secs = [s * 1000 for s in typed["seconds"]]

    lines = [header(f"Understanding residents — {args.split} sets, through POST /api/v1/triage"), ""]
    lines += [f"- stack: `{args.url}`; sets: tests/data/*_{args.split}*.jsonl, SMP held-out, "
              f"../shared/data/real ({'locked' if args.split == 'locked' else 'dev'} half by row-id hash)", ""]
    lines += ["## Summary", "", "| measure | value | target |", "| --- | ---: | ---: |"]
    lines.append(f"| residents typed: outcome accuracy ({typed['n']}) | {typed['accuracy']:.3f} | ≥ 0.95 |")
    lines.append(f"| residents typed: emergency recall / with the right number ({typed['emergencies']}) | "
                 f"{typed['emergency_recall']:.3f} / {typed['emergency_number']:.3f} | 1.0 |")
    if phone:
        lines.append(f"| residents by phone (ASR): outcome accuracy ({phone['n']}) | {phone['accuracy']:.3f} | ≥ 0.85 |")
        lines.append(f"| residents by phone: emergency recall / with the right number ({phone['emergencies']}) | "
                     f"{phone['emergency_recall']:.3f} / {phone['emergency_number']:.3f} | 1.0 |")
    lines.append(f"| residents typed: crisis answer for crises ({typed['crises']}) | {typed['crisis_answer']:.3f} | |")
    lines.append(f"| service questions: right item in top 3 ({svc['n']} answerable; {svc['missing']} the "
                 f"catalogue lacks) | {svc['top3']:.3f} (top 1 {svc['top1']:.3f}) | ≥ 0.90 |")
    lines.append(f"| SMP2017 held-out chit-chat accepted | {pct(fa, n_smp)} | ≤ 3 % |")
    if rl:
        for name in ("hotline_fuzhou", "message_board_people"):
            r = rl[name]
            lines.append(f"| {name}: turned away / false alarms | {pct(r['away'], r['n'])} / "
                         f"{pct(r['alarm'], r['n'])} | ≤ 2 % / ≤ 2 % |")
        for label, (hit, n) in rl["crisis"].items():
            target = "≥ 95 %" if label == "7–10" else ("≤ 10 %" if label == "0–2" else "")
            lines.append(f"| crisis posts risk {label}: crisis answer | {pct(hit, n)} | {target} |")
    lines.append(f"| triage latency, sequential (p50 / p99) | {percentile(secs, 50):.0f} ms / "
                 f"{percentile(secs, 99):.0f} ms | p99 ≤ 50 ms |")
    lines += ["", "## Residents typed — confusion (rows expected)", "", *confusion_md(typed["confusion"]), "",
              "accuracy by channel: " + ", ".join(f"{k} {v:.3f}" for k, v in typed["by_channel"].items()), ""]
    if phone:
        lines += ["## Residents by phone — confusion (rows expected)", "", *confusion_md(phone["confusion"]), ""]
        if phone["missed"]:
            lines.append(f"emergencies missed by phone: {len(phone['missed'])} "
                         f"(got: {', '.join(r['got'] for r in phone['missed'])})")
            lines.append("")
    lines += [f"service questions: outcomes {dict(svc['outcomes'])}", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
