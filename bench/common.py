"""Helpers for benchmarks: percentiles and the header every result file carries."""

from __future__ import annotations

import datetime as dt
import os
import platform
import shlex
import subprocess
import sys

__all__ = ["percentile", "header"]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def header(title: str) -> str:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = f.readline().split(":", 1)[1].strip()
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    return "\n".join([
        f"# {title}",
        "",
        f"- date: {dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')}",
        f"- machine: {platform.node()} · {platform.platform()} · {os.cpu_count()} cores · {cpu} · {mem}",
        f"- python: {platform.python_version()}",
        f"- command: {' '.join(shlex.quote(a) for a in sys.argv)}",
        f"- commit: {commit}",
        "",
    ])
