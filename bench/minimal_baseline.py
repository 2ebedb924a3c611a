"""Baseline for bench/capacity.py: stock Rasa 3.6 serving a minimal Chinese bot (bench/minimal_bot/), one worker,
in-memory tracker store, no action server, no patches.

The model is trained once with the bot environment (`.venv-bot/bin/rasa train`, offline, well under a minute)
and cached under ~/.cache/resident-service-assistant/minimal-bot/ by a hash of bench/minimal_bot/'s files, so
it is trained again only when they change. It is served with plain `rasa run --enable-api` on a free port and
driven with the same load shape as capacity.py's settings (a warm-up, then C residents at once in 10-turn
conversations, 3·C conversations, bench/web_channel.py's Chinese script) through Rasa's REST webhook
`POST /webhooks/rest/webhook`. Measured as capacity.py measures the stack: msg/s, p50/p99, errors, CPU seconds
of the Rasa process during the load, its peak RSS and PSS.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import percentile  # noqa: E402
from bench.web_channel import SCRIPT, drive  # noqa: E402
from tests.e2e.stack import free_port  # noqa: E402

BOT_DIR = ROOT / "bench" / "minimal_bot"
RASA = ROOT / ".venv-bot" / "bin" / "rasa"
CACHE_DIR = Path(os.environ.get("MINIMAL_BOT_CACHE_DIR",
                                Path.home() / ".cache" / "resident-service-assistant" / "minimal-bot"))
NAME = "stock Rasa 3.6, minimal Chinese bot, 1 worker, in-memory tracker"

__all__ = ["NAME", "model_path", "measure_minimal"]


def bot_hash() -> str:
    """Hash of the files the model is trained from (README.md excluded: it does not change the model)."""
    h = hashlib.sha256()
    for path in sorted(p for p in BOT_DIR.rglob("*") if p.is_file() and p.name != "README.md"):
        h.update(str(path.relative_to(BOT_DIR)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _rasa_env() -> dict[str, str]:
    """The environment as a stock install would see it: none of make run's tuning (oneDNN, malloc arenas,
    serve patches), no telemetry, nothing fetched from the network."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_ENABLE_ONEDNN_OPTS", "MALLOC_ARENA_MAX", "RASA_SERVE_PATCHES", "RASA_SERVE_TED_SKIP",
                        "TF_INTRA_OP_PARALLELISM_THREADS", "TF_INTER_OP_PARALLELISM_THREADS")}
    env.update(RASA_TELEMETRY_ENABLED="false", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    return env


def model_path() -> Path:
    """The trained minimal model, trained now if bench/minimal_bot/ changed since it was last trained."""
    digest = bot_hash()
    model = CACHE_DIR / f"minimal-{digest}.tar.gz"
    if model.exists():
        return model
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="minimal-bot-train-") as work:  # rasa train leaves .rasa/ in cwd
        cmd = [str(RASA), "train", "--config", str(BOT_DIR / "config.yml"), "--domain", str(BOT_DIR / "domain.yml"),
               "--data", str(BOT_DIR / "data"), "--out", work, "--fixed-model-name", "model"]
        print("==> training the minimal bot:", " ".join(cmd), flush=True)
        t0 = time.monotonic()
        done = subprocess.run(cmd, cwd=work, env=_rasa_env(), capture_output=True, text=True, timeout=600)
        if done.returncode != 0 or not (Path(work) / "model.tar.gz").exists():
            sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
            raise RuntimeError(f"training the minimal bot failed (exit {done.returncode})")
        tmp = model.with_suffix(".partial")
        shutil.move(str(Path(work) / "model.tar.gz"), tmp)
        tmp.replace(model)
        print(f"    trained in {time.monotonic() - t0:.0f} s → {model}", flush=True)
    return model


class MinimalRasa:
    """`rasa run --enable-api -p <free port> -i 127.0.0.1 -m <model>`: one process, in-memory tracker store."""

    def __init__(self, model: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.model = model
        self.log = Path(tempfile.mkstemp(prefix="minimal-rasa-", suffix=".log")[1])
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 300) -> float:
        cmd = [str(RASA), "run", "--enable-api", "-p", str(self.port), "-i", "127.0.0.1", "-m", str(self.model),
               "--endpoints", str(BOT_DIR / "endpoints.yml"), "--credentials", str(BOT_DIR / "credentials.yml")]
        t0 = time.monotonic()
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(cmd, cwd=BOT_DIR, env=_rasa_env(), stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"rasa run exited ({self.proc.returncode}):\n{self.log.read_text()[-4000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/status", timeout=5) as r:
                    if r.status == 200:
                        return time.monotonic() - t0
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"rasa run not ready after {timeout:.0f} s:\n{self.log.read_text()[-4000:]}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


async def _converse(http: aiohttp.ClientSession, url: str, turns: int, lat: list[float], errors: list[str]) -> None:
    who = f"bench-{uuid.uuid4().hex[:12]}"
    for i in range(turns):
        t0 = time.perf_counter()
        try:
            async with http.post(f"{url}/webhooks/rest/webhook",
                                 json={"sender": who, "message": SCRIPT[i % len(SCRIPT)]}) as r:
                body = await r.read()
                ok = r.status == 200 and body.startswith(b"[")
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            ok = False
            errors.append(str(exc))
        if ok:
            lat.append(time.perf_counter() - t0)
        else:
            errors.append(f"turn {i}")


async def run_rest(url: str, concurrency: int, turns: int, conversations: int) -> dict:
    """bench/web_channel.run's load shape (C at once, `conversations` of `turns` turns) on Rasa's REST webhook."""
    lat: list[float] = []
    errors: list[str] = []
    wall = await drive(concurrency, conversations, lambda http: _converse(http, url, turns, lat, errors))
    ms = [x * 1000 for x in lat]
    return {"target": "rest", "concurrency": concurrency, "turns": turns, "messages": len(lat),
            "errors": len(errors), "msg_per_s": len(lat) / wall, "p50": percentile(ms, 50),
            "p95": percentile(ms, 95), "p99": percentile(ms, 99)}


def measure_minimal(concurrency: list[int], rounds: int = 3) -> list[dict]:
    """Rows shaped like capacity.measure's, for the minimal bot on stock Rasa."""
    from bench.capacity import under_load

    model = model_path()
    rasa = MinimalRasa(model)
    started = rasa.start()
    try:
        assert rasa.proc is not None
        rows = under_load(NAME, rasa.proc.pid, started, concurrency,
                          lambda c, turns, n: asyncio.run(run_rest(rasa.url, c, turns, n)), rounds)
    finally:
        rasa.stop()
    for r in rows:
        r["minimal"] = True
    return rows


if __name__ == "__main__":  # train (if needed) and print the model's path
    print(model_path())
