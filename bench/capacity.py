"""Capacity: messages per second through the web channel as `make run` starts the stack, per setting.

Starts the whole stack (tests/e2e/stack.py: scripts/run.sh on free ports, its own Redis) once per setting
and drives the same load through POST /api/v1/channels/web/messages:
  - 1 Rasa worker, Rasa as shipped (RASA_SERVE_PATCHES=0)   ← the baseline, the state before issue 11
  - 1 Rasa worker, action answers checked by a validator compiled once (bot/runtime/serve.py)
  - N Rasa workers (RASA_WORKERS) with the validator; then with TensorFlow held to one thread per worker
    (TF_INTRA/INTER_OP_PARALLELISM_THREADS=1, so N workers do not fight over N cores); then also with
    glibc's malloc arenas capped (MALLOC_ARENA_MAX=2) for memory; then N workers with Redis' append-only
    file fsynced on every write (REDIS_APPENDFSYNC=always) instead of once a second; then as `make run`
    serves now (oneDNN off, capped arenas) with TEDPolicy not run when RulePolicy/MemoizationPolicy
    already decide the action (RASA_SERVE_TED_SKIP, bot/runtime/serve.py; off in every other setting) and
    the model's graph run in a planned order without dask (RASA_SERVE_DASK=0, bot/runtime/serve.py; dask
    in every other setting) and the heap frozen once loaded (GC_FREEZE, bot/runtime/serve.py and
    router/__main__.py; not in every other setting) and each conversation saved without replaying it
    (RASA_SERVE_SAVE_REPLAY=0, bot/runtime/serve.py; Rasa's save in every other setting) and conversations
    kept warm by their worker with only new events written, and Rasa's lock as one script each way
    (RASA_SERVE_WARM_TRACKERS, RASA_SERVE_ATOMIC_LOCK; not in every other setting); and the same with the graph
    run by dask, with the heap not frozen, with Rasa's save, and with Rasa's store and lock, to see what each
    saves
Each setting: a warm-up, then C residents at once, each in --rounds (default 3) 10-turn conversations (bench/web_channel.py's
script: greeting, service questions, a report with its follow-ups, thanks). Reported: msg/s, p50/p99,
errors, CPU seconds by process kind during the load and the stack's peak memory (RSS and PSS of every
process). A last setting turns TensorFlow's oneDNN kernels off (TF_ENABLE_ONEDNN_OPTS=0: ~110 MB less per
worker after loading the model, measured with bot.runtime loading it alone) with capped malloc arenas.
Ratios are against the baseline measured in the same run.

A last row (on unless --no-minimal) is stock Rasa 3.6 serving a minimal Chinese bot (bench/minimal_bot/: one
worker, in-memory tracker store, no action server, no router; bench/minimal_baseline.py) under the same load
through its REST webhook, and a line compares `make run`'s default setting with it in the same run.

Usage: .venv/bin/python bench/capacity.py [--workers 2] [--concurrency 10 20] [--only 7 8] [--no-minimal]
                                          [--rounds 3]
                                          [--out bench/results/capacity.md]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import header  # noqa: E402
from bench.minimal_baseline import NAME as MINIMAL  # noqa: E402
from bench.minimal_baseline import measure_minimal  # noqa: E402
from bench.web_channel import run as run_load  # noqa: E402
from tests.e2e.stack import Stack  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
DEFAULT = 7  # the position of the setting that is `make run`'s default (TED skipped when outvoted)
PAGE = os.sysconf("SC_PAGE_SIZE")


def stack_processes(root: int) -> dict[int, tuple[str, float, int]]:
    """pid → (kind, CPU seconds so far, RSS bytes) for the stack's processes: every descendant of ``root``
    (honcho gives each process its own session, so the tree is followed, not the session)."""
    procs: dict[int, tuple[int, str, list[str]]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        procs[int(entry)] = (int(fields[1]), cmd, fields)  # fields[1]: the parent's pid
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    out: dict[int, tuple[str, float, int]] = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        if pid not in procs:
            continue
        _, cmd, fields = procs[pid]
        cpu = (int(fields[11]) + int(fields[12])) / TICK
        rss = int(fields[21]) * PAGE
        kind = ("rasa" if "bot.runtime.serve" in cmd or "rasa run" in cmd else "actions" if "actions.server" in cmd
                else "router" if "-m router" in cmd else "redis" if "redis-server" in cmd else "other")
        out[pid] = (kind, cpu, rss)
    return out


def pss(pid: int) -> int:
    """Proportional set size in bytes: private pages plus each shared page divided among the processes that
    map it (two Rasa workers share TensorFlow's library pages; RSS would count them twice)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


class Sampler:
    """Peak RSS and peak PSS (the memory the stack really holds) of the stack, sampled every 0.5 s while the
    load runs."""

    def __init__(self, root: int) -> None:
        self.root, self.peak, self.peak_pss, self._stop = root, 0, 0, threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            procs = stack_processes(self.root)
            self.peak = max(self.peak, sum(r for _, _, r in procs.values()))
            self.peak_pss = max(self.peak_pss, sum(pss(pid) for pid in procs))
            self._stop.wait(0.5)

    def __enter__(self) -> Sampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.thread.join()


def cpu_by_kind(before: dict[int, tuple[str, float, int]], after: dict[int, tuple[str, float, int]]
                ) -> dict[str, float]:
    out: dict[str, float] = {}
    for pid, (kind, cpu, _) in after.items():
        out[kind] = out.get(kind, 0.0) + cpu - before.get(pid, (kind, 0.0, 0))[1]
    return out


def measure(name: str, env: dict[str, str], concurrency: list[int], rounds: int = 3) -> list[dict]:
    stack = Stack()
    stack.env.update(env)
    t0 = time.monotonic()
    stack.start()
    started = time.monotonic() - t0
    args = SimpleNamespace(router=stack.url, token=stack.token)
    try:
        assert stack.proc is not None
        return under_load(name, stack.proc.pid, started, concurrency,
                          lambda c, turns, n: asyncio.run(run_load("router", args, c, turns, n)), rounds)
    finally:
        stack.stop()


def under_load(name: str, root: int, started: float, concurrency: list[int], load: Any, rounds: int = 3) -> list[dict]:
    """A warm-up (every worker has answered), then per C: ``load(C, 10, rounds·C)`` while the process tree under
    ``root`` is sampled; one row per C with its CPU by kind of process and peak memory."""
    load(4, 10, 4)
    rows = []
    for conc in concurrency:
        before = stack_processes(root)
        with Sampler(root) as sampler:
            r = load(conc, 10, conc * rounds)
        cpu = cpu_by_kind(before, stack_processes(root))
        r.update(setting=name, startup_s=started, peak_rss=sampler.peak, peak_pss=sampler.peak_pss, cpu=cpu,
                 wall=r["messages"] / r["msg_per_s"] if r["msg_per_s"] else 0.0)
        rows.append(r)
        print(f"{name} c={conc}: {r['msg_per_s']:.1f} msg/s p50 {r['p50']:.0f} ms p99 {r['p99']:.0f} ms "
              f"errors {r['errors']} peak {sampler.peak / 2**30:.2f} GiB cpu {cpu}", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[10, 20])
    ap.add_argument("--only", type=int, nargs="*", default=[],
                    help="run only these settings (by position, 1 = compiled validator …) beside the baseline")
    ap.add_argument("--minimal", action=argparse.BooleanOptionalAction, default=True,
                    help="also measure stock Rasa 3.6 serving the minimal Chinese bot (bench/minimal_bot/)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="10-turn conversations per resident (more: a longer load, steadier p99)")
    ap.add_argument("--out", default=str(ROOT / "bench/results/capacity.md"))
    args = ap.parse_args()
    # make run's default; the settings after it each turn one of its serving-time changes back
    default = {"RASA_WORKERS": str(args.workers), "RASA_SERVE_PATCHES": "1", "TF_ENABLE_ONEDNN_OPTS": "0",
               "MALLOC_ARENA_MAX": "2", "RASA_SERVE_TED_SKIP": "1", "RASA_SERVE_DASK": "0", "GC_FREEZE": "1",
               "RASA_SERVE_SAVE_REPLAY": "0", "RASA_SERVE_WARM_TRACKERS": "", "RASA_SERVE_ATOMIC_LOCK": "1"}
    settings = [
        ("1 worker, Rasa as shipped (baseline)", {"RASA_WORKERS": "1", "RASA_SERVE_PATCHES": "0"}),
        ("1 worker, compiled validator", {"RASA_WORKERS": "1", "RASA_SERVE_PATCHES": "1"}),
        (f"{args.workers} workers, compiled validator", {"RASA_WORKERS": str(args.workers),
                                                          "RASA_SERVE_PATCHES": "1"}),
        (f"{args.workers} workers, validator, TensorFlow 1 thread each",
         {"RASA_WORKERS": str(args.workers), "RASA_SERVE_PATCHES": "1", "TF_INTRA_OP_PARALLELISM_THREADS": "1",
          "TF_INTER_OP_PARALLELISM_THREADS": "1"}),
        (f"{args.workers} workers, validator, TF 1 thread, MALLOC_ARENA_MAX=2",
         {"RASA_WORKERS": str(args.workers), "RASA_SERVE_PATCHES": "1", "TF_INTRA_OP_PARALLELISM_THREADS": "1",
          "TF_INTER_OP_PARALLELISM_THREADS": "1", "MALLOC_ARENA_MAX": "2"}),
        (f"{args.workers} workers, validator, oneDNN off, MALLOC_ARENA_MAX=2",
         {"RASA_WORKERS": str(args.workers), "RASA_SERVE_PATCHES": "1", "TF_ENABLE_ONEDNN_OPTS": "0",
          "MALLOC_ARENA_MAX": "2"}),
        (f"{args.workers} workers, validator, Redis appendfsync always",
         {"RASA_WORKERS": str(args.workers), "RASA_SERVE_PATCHES": "1", "REDIS_APPENDFSYNC": "always"}),
        (f"{args.workers} workers, validator, oneDNN off, MALLOC_ARENA_MAX=2, TED skipped when outvoted", default),
        (f"{args.workers} workers, as make run's default but the model's graph run by dask",
         {**default, "RASA_SERVE_DASK": "1"}),
        (f"{args.workers} workers, as make run's default but the heap not frozen after startup",
         {**default, "GC_FREEZE": "0"}),
        (f"{args.workers} workers, as make run's default but each save rebuilds and merges the conversation",
         {**default, "RASA_SERVE_SAVE_REPLAY": "1"}),
        (f"{args.workers} workers, as make run's default but conversations read and written whole and Rasa's "
         "lock", {**default, "RASA_SERVE_WARM_TRACKERS": "0", "RASA_SERVE_ATOMIC_LOCK": "0"}),
        (f"{args.workers} workers, as make run's default with TensorFlow 1 thread each",
         {**default, "TF_INTRA_OP_PARALLELISM_THREADS": "1", "TF_INTER_OP_PARALLELISM_THREADS": "1"}),
    ]
    # make run now turns oneDNN off and caps malloc's arenas by default, and serve.py skips TED when the
    # other policies decide; the other settings are measured as they were chosen (oneDNN on, glibc's
    # default arenas, TED run for every prediction, the graph run by dask) unless they say otherwise.
    shipped = {"TF_ENABLE_ONEDNN_OPTS": "1", "MALLOC_ARENA_MAX": "", "RASA_SERVE_TED_SKIP": "0", "RASA_SERVE_DASK": "1",
               "GC_FREEZE": "0", "RASA_SERVE_SAVE_REPLAY": "1", "RASA_SERVE_WARM_TRACKERS": "0",
               "RASA_SERVE_ATOMIC_LOCK": "0"}
    settings = [(name, {**shipped, **env}) for name, env in settings]
    assert "TED skipped" in settings[DEFAULT][0]
    chosen = [settings[0]] + [s for i, s in enumerate(settings) if i and (not args.only or i in args.only)]
    rows = [r for name, env in chosen for r in measure(name, env, args.concurrency, args.rounds)]
    if args.minimal:
        rows += measure_minimal(args.concurrency, args.rounds)
    default = settings[DEFAULT][0]  # make run's default: what is compared with the minimal bot
    base = {r["concurrency"]: r for r in rows if r["setting"] == settings[0][0]}
    lines = [header("Capacity through the web channel, per setting, one run"),
             "Each setting is the whole stack as `make run` starts it (own Redis, free ports), then a warm-up, "
             f"then C residents at once in 10-turn conversations ({args.rounds}·C conversations) through "
             "POST /api/v1/channels/web/messages. CPU = seconds of CPU used during that load by each kind of "
             "process; memory = peak RSS and peak PSS (shared pages divided among the processes that map them: "
             "what the stack really holds) summed over every process of the stack."
             + (f" The row \"{MINIMAL}\" is not the stack: plain `rasa run` serving bench/minimal_bot/ (no "
                "router, Redis or action server), the same load through POST /webhooks/rest/webhook; its CPU "
                "and memory are that one Rasa process's." if args.minimal else ""), "",
             "| setting | concurrent | msgs | errors | msg/s | × baseline | p50 ms | p99 ms | CPU s rasa / router / "
             "actions / redis | wall s | peak RSS GiB | peak PSS GiB | startup s |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |"]
    for r in rows:
        c = r["cpu"]
        ratio = r["msg_per_s"] / base[r["concurrency"]]["msg_per_s"]
        cpu = " / ".join(f"{c[k]:.0f}" if k in c else "–" for k in ("rasa", "router", "actions", "redis"))
        lines.append(
            f"| {r['setting']} | {r['concurrency']} | {r['messages']} | {r['errors']} | {r['msg_per_s']:.1f} | "
            f"×{ratio:.2f} | {r['p50']:.0f} | {r['p99']:.0f} | {cpu} | {r['wall']:.0f} | "
            f"{r['peak_rss'] / 2**30:.2f} | {r['peak_pss'] / 2**30:.2f} | {r['startup_s']:.0f} |")
    comparison = compare_with_minimal(rows, default) if args.minimal else []
    if comparison:
        lines += ["", f"`make run`'s default ({default}) against stock Rasa 3.6 serving the minimal Chinese bot, "
                  "same run:", "", *comparison]
        print("\n".join(comparison), flush=True)
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)


def compare_with_minimal(rows: list[dict], default: str) -> list[str]:
    """One line per concurrency: msg/s of make run's default setting over the minimal bot's, and p99 vs p99."""
    minimal = {r["concurrency"]: r for r in rows if r["setting"] == MINIMAL}
    ours = {r["concurrency"]: r for r in rows if r["setting"] == default}
    if not ours:
        return [f"- (not compared: the default setting, --only {DEFAULT}, was not run)"]
    out = []
    for conc, m in minimal.items():
        d = ours.get(conc)
        if d is None or not m["msg_per_s"]:
            continue
        out.append(f"- {conc} residents at once: {d['msg_per_s']:.1f} vs {m['msg_per_s']:.1f} msg/s "
                   f"(×{d['msg_per_s'] / m['msg_per_s']:.2f}); p99 {d['p99']:.0f} vs {m['p99']:.0f} ms "
                   f"(×{d['p99'] / m['p99']:.2f}); errors {d['errors']} vs {m['errors']}")
    return out


if __name__ == "__main__":
    main()
