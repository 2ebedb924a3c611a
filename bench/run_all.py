"""`make bench`: the domain benchmarks in-process, then the stack benchmarks against a stack started as
`make run` starts it (own Redis, free ports). Every result goes to bench/results/ with date, machine and
command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.stack import Stack  # noqa: E402

PY = str(ROOT / ".venv" / "bin" / "python")
BOT_PY = str(ROOT / ".venv-bot" / "bin" / "python")


def run(cmd: list[str]) -> None:
    print("==>", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--stack-only", action="store_true", help="only the benchmarks that need the running stack")
    ap.add_argument("--long-turns", type=int, default=200, help="length of the router's long conversations")
    args = ap.parse_args()
    if not args.stack_only:
        domain()
    stack_benchmarks(args.long_turns)
    # Capacity per setting and the production topology start their own stacks, one after another.
    run([PY, "bench/capacity.py", "--minimal"])  # with stock Rasa serving bench/minimal_bot/ as a row
    run([PY, "bench/scale_out.py", "--concurrency", "10", "--per-worker", "--worker-cpu", "0.4"])


def domain() -> None:
    for script in ("bench/classifier_cv.py", "bench/catalogue_bench.py", "bench/jurisdiction_eval.py",
                   "bench/tickets_bench.py"):
        if (ROOT / script).exists():
            run([PY, script])
    if (ROOT / "bench/nlu_eval.py").exists():  # the shipped model, on the held-out NLU data
        run([BOT_PY, "-m", "bench.nlu_eval", "--model", str(ROOT / "models" / "current.tar.gz")])


def stack_benchmarks(long_turns: int) -> None:
    stack = Stack()
    stack.start()
    try:
        rasa, rasa_token = stack.rasa_url, stack.rasa_token
        run([PY, "-m", "bench.web_channel", "--router", stack.url, "--rasa", rasa, "--token", stack.token,
             "--rasa-token", rasa_token, "--long-turns", str(long_turns)])
        run([PY, "-m", "bench.nlu_latency", "--rasa", rasa, "--rasa-token", rasa_token])
        run([PY, "bench/triage_eval.py", "--url", stack.url, "--token", stack.token])
        run([PY, "bench/intake_eval.py", "--url", stack.url, "--token", stack.token])
        run([PY, "bench/emergency_eval.py", "--url", stack.url, "--token", stack.token])
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
