"""Where a Rasa worker's CPU goes under load: py-spy samples one worker of a stack started as `make run`
starts it while residents chat through the web channel; the samples are summed by what they are in.

Usage: .venv/bin/python bench/profile_rasa.py [--seconds 40] [--workers 1] [--out bench/results/profile_rasa.md]
Needs py-spy (`.venv/bin/pip install py-spy`; it reads the other process, so it may need root or
ptrace permission).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import header  # noqa: E402
from bench.web_channel import run as run_load  # noqa: E402
from tests.e2e.stack import Stack  # noqa: E402

# What a stack sample is "in": the first rule whose marker appears in the stack (outermost to innermost
# order does not matter; the markers are disjoint enough). Inclusive shares.
BUCKETS = [
    ("action answer validation (jsonschema)", ("jsonschema",)),
    ("TensorFlow inference (DIET, TED)", ("tensorflow", "keras")),
    # py-spy's frames read "function (path:line)"
    ("tracker store: save (serialise, merge, Redis)", ("save (rasa/core/tracker_store.py", "_merge_trackers",
                                                      "serialise_tracker", "save (bot/runtime/serve.py")),
    ("tracker store: retrieve (deserialise)", ("retrieve (rasa/core/tracker_store.py", "deserialise_tracker",
                                               "from_dict (rasa/shared/core/trackers.py",
                                               "_retrieve (bot/runtime/serve.py")),
    ("lock store (Redis)", ("rasa/core/lock_store.py", "lock (bot/runtime/serve.py")),
    ("tracker state for the action server", ("_action_call_format",)),
    ("featurisation (count vectors, regex, lexical)", ("count_vectors_featurizer", "regex_featurizer",
                                                       "lexical_syntactic_featurizer", "single_state_featurizer",
                                                       "tracker_featurizers")),
    ("jieba / normaliser / intake decision", ("jieba", "bot/components", "router/domain")),
    ("action server round trip (aiohttp client)", ("aiohttp/client", "rasa/utils/endpoints.py")),
    ("dask graph runner", ("dask",)),
    ("sanic / asyncio", ("sanic", "asyncio")),
]


def summarise(raw: str) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
    """(samples, [(bucket, samples)], [(leaf frame, samples)]) from py-spy's collapsed stacks."""
    total = 0
    buckets: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        for name, markers in BUCKETS:
            if any(m in stack for m in markers):
                buckets[name] += n
                break
        else:
            buckets["other"] += n
        leaves[stack.split(";")[-1][:120]] += n
    return total, buckets.most_common(), leaves.most_common(15)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=40)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--concurrency", type=int, default=10)
    ap.add_argument("--out", default=str(ROOT / "bench/results/profile_rasa.md"))
    ap.add_argument("--raw", help="also keep py-spy's collapsed stacks here (to look deeper)")
    ap.add_argument("--process", default="rasa", help="which of the stack's processes to sample (rasa, router, "
                    "actions); the buckets are Rasa's, the top frames anyone's")
    args = ap.parse_args()
    spy = shutil.which("py-spy") or str(ROOT / ".venv/bin/py-spy")
    if not Path(spy).exists():
        sys.exit("needs py-spy: .venv/bin/pip install py-spy")
    stack = Stack()
    stack.env.update({"RASA_WORKERS": str(args.workers)})
    stack.start()
    out = Path(tempfile.mkdtemp(prefix="rsa-profile-")) / "rasa.txt"
    try:
        pid = stack.pids()[args.process]
        load_args = SimpleNamespace(router=stack.url, token=stack.token)
        asyncio.run(run_load("router", load_args, 4, 10, 4))  # warm-up
        stop = threading.Event()

        def load() -> None:
            while not stop.is_set():
                asyncio.run(run_load("router", load_args, args.concurrency, 10, args.concurrency))

        thread = threading.Thread(target=load, daemon=True)
        thread.start()
        subprocess.run([spy, "record", "--pid", str(pid), "--duration", str(args.seconds), "--rate", "100",
                        "--format", "raw", "--output", str(out), "--nonblocking"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stop.set()
        thread.join(timeout=120)
    finally:
        stack.stop()
    total, buckets, leaves = summarise(out.read_text(errors="replace"))
    lines = [header("Where a Rasa worker's CPU goes under load (py-spy)"),
             f"One Rasa worker (`bot.runtime.serve`, {args.workers} in the stack) sampled at 100 Hz for {args.seconds} s "
             f"while {args.concurrency} residents chat through the web channel; {total} samples of busy threads "
             "(py-spy leaves idle ones out). A sample counts once, in the first bucket whose marker its stack "
             "contains; \"sanic / asyncio\" is what runs in the event loop and matched no bucket above it.", "",
             "| in | share of samples |", "| --- | ---: |"]
    lines += [f"| {name} | {n / total:.1%} |" for name, n in buckets]
    lines += ["", "Top leaf frames:", "", "| frame | share |", "| --- | ---: |"]
    lines += [f"| `{leaf.replace('|', '/')}` | {n / total:.1%} |" for leaf, n in leaves]
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    if args.raw:
        shutil.move(out, args.raw)
    else:
        os.remove(out)


if __name__ == "__main__":
    main()
