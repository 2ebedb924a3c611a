"""Check that the project's own training text does not copy the real text it is measured on.

    .venv/bin/python scripts/check_authored.py [--real-dir ../shared/data/real] [--run 10] [files...]

../shared/data/real/ (hotline tickets, letters, crisis posts) may be studied and measured, never copied
or trained on. Every line of data/authored/*.jsonl (or the files given) is compared with every real
text: a line that shares a run of ``--run`` characters (default 10, punctuation and spaces ignored)
with a real text is reported by file and line number, and the script exits 1 — unless every shared run
is a formula found in several real texts (``--formula``, default 3: "尊敬的领导您好", "有关部门给一个明确的
答复", a department's name, a date), which is the language of public letters, not one resident's words.
Only numbers are printed, never the real text.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL_FILES = ("hotline_fuzhou.jsonl", "message_board_people.jsonl", "crisis_weibo_sos1k.jsonl")
_DROP = re.compile(r"[\W_]+", re.UNICODE)


def canon(text: str) -> str:
    return _DROP.sub("", text).lower()


def runs(text: str, n: int) -> set[str]:
    return {text[i : i + n] for i in range(len(text) - n + 1)}


def real_runs(real_dir: Path, n: int) -> dict[str, int]:
    """run → in how many real texts it occurs."""
    out: dict[str, int] = {}
    for name in REAL_FILES:
        path = real_dir / name
        if not path.exists():
            raise SystemExit(f"{path} is missing (the real sets live in the shared data folder)")
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            for field in ("title", "text", "reply"):
                value = row.get(field)
                if isinstance(value, str):
                    for run in runs(canon(value), n):
                        out[run] = out.get(run, 0) + 1
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--real-dir", type=Path, default=ROOT.parent / "shared" / "data" / "real")
    ap.add_argument("--run", type=int, default=10)
    ap.add_argument("--formula", type=int, default=3, help="a run in this many real texts is a formula")
    args = ap.parse_args(argv)
    files = args.files or sorted((ROOT / "data" / "authored").glob("*.jsonl"))
    seen = real_runs(args.real_dir, args.run)
    bad = 0
    lines = 0
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            lines += 1
            text = canon(str(json.loads(line).get("text", "")))
            shared = [run for run in runs(text, args.run) if run in seen]
            if any(seen[run] < args.formula for run in shared):
                bad += 1
                print(f"{path}:{number}: shares {len(shared)} run(s) of {args.run} characters with the real sets, "
                      f"{sum(seen[run] < args.formula for run in shared)} of them in fewer than {args.formula} texts")
    print(f"{lines} lines checked against {len(seen)} real {args.run}-character runs: {bad} share text",
          file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
