"""The production topology of deploy/ on loopback: scale-out per Rasa worker, and kill -9 under load.

What runs (every file from deploy/, rendered with loopback addresses and free ports):
  - Redis primary + replica (deploy/redis/primary.conf, replica.conf) and three sentinels, quorum 2
    (deploy/redis/sentinel.conf);
  - 2 routers, N Rasa workers, 2 action servers: the ExecStart= and Environment= of
    deploy/systemd/rsa-{router,rasa,actions}@.service with /opt/rsa → this checkout and %i → the port,
    under a restarter that does what the units' Restart=always / RestartSec=1 do (this container has
    no systemd);
  - nginx (Debian's package) with deploy/nginx/rsa.conf.template: the public listener in front of the
    routers, the internal one in front of the action servers (Rasa → actions) and the routers (actions →
    API).
Load goes through nginx's public listener only.

1. Throughput per added Rasa worker: the same web-chat load (C residents in 10-turn conversations) with
   1, then 2, ... of the N workers running (the routers list all of them and pass over those that are
   down).
2. Faults under load: web-chat residents (each message with a message_id, sent once more under it when
   no answer came back, as the page does) and a steady stream of tickets created through the API (each
   with an Idempotency-Key, retried under it until acknowledged) while, in turn, kill -9 hits a router,
   a Rasa worker, an action server, the Redis primary (Sentinel fails over to the replica) and nginx.
   Then: every acknowledged ticket is read back (lost = not found or changed), tickets are counted by
   their unique text (duplicated = more than one), each killed process is back, and every message was
   either answered or failed with a clear status.

3. With --worker-cpu F (e.g. 0.4): step 1 once more with every Rasa worker held to the same CPU share F of
   one core by its own cgroup (cpu.cfs_quota_us, what systemd's CPUQuota= sets), so that each added worker
   brings the same CPU a worker on a core of its own would, and the routers, action servers, Redis, nginx
   and this load generator run on what is left. On two cores the unconstrained run cannot show per-worker
   scaling (the second worker gets only what the rest leave of the second core); this run shows whether
   the topology itself (shared Redis tracker and lock, the routers' spreading) scales with the CPU its
   workers get.

Usage: .venv/bin/python bench/scale_out.py [--rasa-workers 2] [--concurrency 10] [--fault-seconds 20] [--worker-cpu 0.4]
Needs: nginx and redis-server (apt-get install nginx redis-server), the trained model (make setup).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import header, percentile  # noqa: E402
from bench.web_channel import SCRIPT  # noqa: E402
from tests.e2e.stack import free_port  # noqa: E402
from tests.sentinel import sentinel_conf, server_conf  # noqa: E402

DEPLOY = ROOT / "deploy"


def render(path: Path, values: dict[str, str]) -> str:
    """${NAME} → value; nginx's own $variables are left alone."""
    return Template(path.read_text(encoding="utf-8")).safe_substitute(values)


def unit_command(unit: str, instance: str, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """ExecStart= and Environment= of deploy/systemd/<unit>, as systemd would expand them."""
    text = (DEPLOY / "systemd" / unit).read_text(encoding="utf-8").replace("/opt/rsa", str(ROOT))
    text = text.replace("%i", instance)
    unit_env = dict(env)
    for line in text.splitlines():
        if line.startswith("Environment="):
            for pair in line[len("Environment="):].split():
                k, _, v = pair.partition("=")
                unit_env[k] = v
    exec_line = next(line for line in text.splitlines() if line.startswith("ExecStart="))[len("ExecStart="):]
    argv = [re.sub(r"\$\{(\w+)\}", lambda m: unit_env.get(m.group(1), ""), a) for a in exec_line.split()]
    return argv, unit_env


class CpuSlice:
    """A cgroup of its own for one process, whose CPU share can be capped and lifted (what systemd's
    CPUQuota= does). cgroup v2 (cpu.max) where the unified hierarchy has the cpu controller, else v1's cpu
    controller (cpu.cfs_quota_us)."""

    PERIOD_US = 100_000

    def __init__(self, name: str) -> None:
        v2 = Path("/sys/fs/cgroup/cgroup.controllers")
        if v2.exists() and "cpu" in v2.read_text().split():
            self.dir, self.v2 = Path("/sys/fs/cgroup") / name, True
        else:
            self.dir, self.v2 = Path("/sys/fs/cgroup/cpu") / name, False
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            self.cap(None)
        except OSError as exc:
            raise SystemExit(f"--worker-cpu needs a writable cgroup cpu controller ({self.dir}: {exc})") from exc

    def cap(self, cores: float | None) -> None:
        """Hold the group to `cores` of one core's time (None: no limit)."""
        quota = "max" if cores is None and self.v2 else "-1" if cores is None else str(int(cores * self.PERIOD_US))
        if self.v2:
            (self.dir / "cpu.max").write_text(f"{quota} {self.PERIOD_US}")
        else:
            (self.dir / "cpu.cfs_period_us").write_text(str(self.PERIOD_US))
            (self.dir / "cpu.cfs_quota_us").write_text(quota)

    def enter(self) -> None:
        """Called in the child before exec: the process and every thread it starts belong to the group."""
        (self.dir / "cgroup.procs").write_text(str(os.getpid()))

    def throttled_s(self) -> float:
        """Seconds the group has been held back by its cap so far."""
        for line in (self.dir / "cpu.stat").read_text().splitlines():
            k, _, v = line.partition(" ")
            if k == "throttled_usec":
                return int(v) / 1e6
            if k == "throttled_time":
                return int(v) / 1e9
        return 0.0

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            self.dir.rmdir()

    @classmethod
    def available(cls) -> bool:
        try:
            cls(f"rsa-probe-{os.getpid()}").remove()
        except SystemExit:
            return False
        return True


@dataclass
class Proc:
    """One supervised process: restarted 1 s after it exits (Restart=always, RestartSec=1) unless held."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    held: bool = False
    restarts: int = 0
    deaths: list[float] = field(default_factory=list)
    cpu: CpuSlice | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen(self.argv, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                          start_new_session=True,
                                          preexec_fn=self.cpu.enter if self.cpu is not None else None)

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill9(self) -> None:
        assert self.popen is not None
        os.killpg(self.popen.pid, signal.SIGKILL)

    def terminate(self) -> None:
        """Held (not restarted) and sent SIGTERM."""
        self.held = True
        if self.alive():
            assert self.popen is not None
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)

    def wait_or_kill(self, timeout: float) -> None:
        if self.popen is None:
            return
        try:
            self.popen.wait(timeout=max(0.1, timeout))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)

    def stop(self) -> None:
        self.terminate()
        self.wait_or_kill(20)


class Supervisor:
    def __init__(self) -> None:
        self.procs: dict[str, Proc] = {}
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def add(self, proc: Proc) -> Proc:
        self.procs[proc.name] = proc
        proc.start()
        return proc

    def _loop(self) -> None:
        while not self._stop.is_set():
            for p in list(self.procs.values()):
                if not p.held and not p.alive():
                    p.deaths.append(time.monotonic())
                    time.sleep(1.0)  # RestartSec=1
                    if not p.held:
                        p.restarts += 1
                        p.start()
            self._stop.wait(0.2)

    def run(self) -> None:
        self.thread.start()

    def shutdown(self) -> None:
        """Everything at once: SIGTERM to all, then SIGKILL to what is still there after 10 s."""
        self._stop.set()
        for p in self.procs.values():
            p.held = True
        self.thread.join(timeout=5)
        for p in self.procs.values():
            p.terminate()
        deadline = time.monotonic() + 10
        for p in self.procs.values():
            p.wait_or_kill(deadline - time.monotonic())


def _get(url: str, token: str = "", timeout: float = 3) -> tuple[int, dict]:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, {}
    except (OSError, ValueError):
        return 0, {}


class Topology:
    def __init__(self, rasa_workers: int, cpu_slices: bool = False) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="rsa-scale-"))
        self.cpu_slices = cpu_slices
        self.password = uuid.uuid4().hex
        self.tokens = {k: uuid.uuid4().hex for k in ("api", "rasa", "actions", "bot", "console", "ticket", "voice")}
        self.redis_ports = [free_port(), free_port()]
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.router_ports = [free_port(), free_port()]
        self.rasa_ports = [free_port() for _ in range(rasa_workers)]
        self.actions_ports = [free_port(), free_port()]
        self.public_port, self.internal_port = free_port(), free_port()
        self.sup = Supervisor()
        self.public = f"http://127.0.0.1:{self.public_port}"

    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "HOME")}
        # The artefacts `make setup` built (scripts/env.sh's default), as deploy/rsa.env.example names them.
        keep["CLASSIFIER_CACHE_DIR"] = os.environ.get("CLASSIFIER_CACHE_DIR") or str(
            Path.home() / ".cache/resident-service-assistant/classifier")
        return {**keep,
                "REDIS_URL": f"redis://:{self.password}@127.0.0.1:{self.redis_ports[0]}/0",
                "REDIS_PASSWORD": self.password, "REDIS_DB": "0",
                "REDIS_SENTINELS": " ".join(f"127.0.0.1:{p}" for p in self.sentinel_ports),
                "REDIS_SENTINEL_SERVICE": "rsa",
                "RASA_HOST": "127.0.0.1",
                "RASA_URLS": " ".join(f"http://127.0.0.1:{p}" for p in self.rasa_ports),
                "RASA_TOKEN": self.tokens["rasa"],
                "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{self.internal_port}/webhook",
                "ACTIONS_HOST": "127.0.0.1", "ACTIONS_TOKEN": self.tokens["actions"],
                "ACTIONS_URL": f"http://127.0.0.1:{self.internal_port}/actions",
                "ROUTER_URL": f"http://127.0.0.1:{self.internal_port}", "ROUTER_BOT_TOKEN": self.tokens["bot"],
                "ROUTER_HOST": "127.0.0.1", "ROUTER_API_TOKEN": self.tokens["api"],
                "CONSOLE_SECRET": self.tokens["console"], "TICKET_ID_KEY": self.tokens["ticket"],
                "VOICE_WEBHOOK_USER": "jambonz", "VOICE_WEBHOOK_PASSWORD": self.tokens["voice"],
                "PUBLIC_URL": self.public, "TRUSTED_PROXIES": "127.0.0.1", "CONSOLE_TRUSTED_PROXIES": "127.0.0.1",
                "VAR_DIR": str(self.dir / "var"), "TZ": "Asia/Shanghai", "RASA_TELEMETRY_ENABLED": "false",
                "PYTHONPATH": str(ROOT)}

    def _redis(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            raise SystemExit("redis-server is not installed (apt-get install redis-server)")
        primary = self.redis_ports[0]
        for i, port in enumerate(self.redis_ports):
            d = self.dir / f"redis{i}"
            d.mkdir()
            (d / "redis.conf").write_text(server_conf(port, d, self.password, replica_of=primary if i else None))
            self.sup.add(Proc(f"redis{i}", [exe, str(d / "redis.conf")], {}, self.dir / f"redis{i}.log"))
        time.sleep(0.5)
        for i, port in enumerate(self.sentinel_ports):
            d = self.dir / f"sentinel{i}"
            d.mkdir()
            (d / "sentinel.conf").write_text(sentinel_conf(port, d, self.password, primary_port=primary, quorum=2))
            self.sup.add(Proc(f"sentinel{i}", [exe, str(d / "sentinel.conf"), "--sentinel"], {},
                              self.dir / f"sentinel{i}.log"))

    def _nginx(self) -> None:
        exe = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(exe).exists():
            raise SystemExit("nginx is not installed (apt-get install nginx)")
        site = render(DEPLOY / "nginx/rsa.conf.template", {
            "ROUTER_SERVERS": "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=3s;"
                                        for p in self.router_ports),
            "ACTIONS_SERVERS": "\n".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=3s;"
                                         for p in self.actions_ports),
            "PUBLIC_LISTEN": f"127.0.0.1:{self.public_port}", "INTERNAL_LISTEN": f"127.0.0.1:{self.internal_port}"})
        d = self.dir / "nginx"
        d.mkdir()
        (d / "rsa.conf").write_text(site)
        (d / "nginx.conf").write_text(f"""worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fcgi;
    uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
    include {d}/rsa.conf;
}}
""")
        self.sup.add(Proc("nginx", [exe, "-c", str(d / "nginx.conf"), "-p", str(d), "-g", "daemon off;"], {},
                          self.dir / "nginx.log"))

    def start(self) -> None:
        (self.dir / "var").mkdir(mode=0o700)
        env = self.env()
        self._redis()
        self._nginx()
        for i, port in enumerate(self.actions_ports):
            argv, e = unit_command("rsa-actions@.service", str(port), env)
            self.sup.add(Proc(f"actions{i + 1}", argv, e, self.dir / f"actions{i + 1}.log"))
        for i, port in enumerate(self.rasa_ports):
            argv, e = unit_command("rsa-rasa@.service", str(port), env)
            cpu = CpuSlice(f"{self.dir.name}-rasa{i + 1}") if self.cpu_slices else None
            self.sup.add(Proc(f"rasa{i + 1}", argv, e, self.dir / f"rasa{i + 1}.log", cpu=cpu))
        for i, port in enumerate(self.router_ports):
            argv, e = unit_command("rsa-router@.service", str(port), env)
            self.sup.add(Proc(f"router{i + 1}", argv, e, self.dir / f"router{i + 1}.log"))
        self.sup.run()
        self.wait_healthy(600)

    def health(self, router_port: int) -> tuple[int, dict]:
        return _get(f"http://127.0.0.1:{router_port}/healthz", self.tokens["api"])

    def wait_healthy(self, timeout: float, workers: int | None = None) -> float:
        """Seconds until every router answers 200 with the wanted number of Rasa workers up."""
        want = len(self.rasa_ports) if workers is None else workers
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            bodies = [self.health(p) for p in self.router_ports]
            if all(s == 200 and b["components"]["rasa"].get("workers_up", 0) >= want for s, b in bodies) and \
                    _get(self.public + "/healthz")[0] == 200:
                return time.monotonic() - t0
            time.sleep(0.5)
        raise RuntimeError(f"not healthy after {timeout}s; logs in {self.dir}")

    def primary(self) -> str:
        """Name of the Redis process that is primary now (asked of a sentinel)."""
        out = subprocess.run(["redis-cli", "-p", str(self.sentinel_ports[0]), "--no-auth-warning", "-a",
                              self.password, "SENTINEL", "get-master-addr-by-name", "rsa"],
                             capture_output=True, text=True, timeout=5).stdout.split()
        port = int(out[-1])
        return f"redis{self.redis_ports.index(port)}"

    def stop(self) -> None:
        self.sup.shutdown()
        for p in self.sup.procs.values():
            if p.cpu is not None:
                p.cpu.remove()


# ---- load -------------------------------------------------------------------------------------------------

@dataclass
class Tally:
    answered: int = 0
    answered_on_retry: int = 0
    failed: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)

    def fail(self, why: str) -> None:
        self.failed[why] = self.failed.get(why, 0) + 1


async def resident(http: aiohttp.ClientSession, base: str, token: str, turns: int, tally: Tally,
                   stop: asyncio.Event | None = None) -> None:
    session = f"scale-{uuid.uuid4().hex[:16]}"
    for i in range(turns):
        if stop is not None and stop.is_set():
            return
        body = {"session_id": session, "text": SCRIPT[i % len(SCRIPT)], "message_id": uuid.uuid4().hex}
        t0 = time.perf_counter()
        for attempt in range(2):  # as the page does: once more under the same message_id
            try:
                async with http.post(f"{base}/api/v1/channels/web/messages", json=body,
                                     headers={"Authorization": f"Bearer {token}"}) as r:
                    data = await r.read()
                    if r.status == 200 and json.loads(data).get("replies") is not None:
                        tally.answered += 1
                        tally.answered_on_retry += attempt
                        tally.latencies.append(time.perf_counter() - t0)
                        break
                    why = f"HTTP {r.status}"
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                why = type(exc).__name__
            if attempt == 0 and (why in ("HTTP 502", "HTTP 503", "HTTP 504") or not why.startswith("HTTP")):
                await asyncio.sleep(1.5)
                continue
            tally.fail(why)
            break


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine since boot, from /proc/stat."""
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


async def throughput(base: str, token: str, concurrency: int, rounds: int = 3) -> dict:
    tally = Tally()
    busy0, total0 = cpu_times()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
        sem = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with sem:
                await resident(http, base, token, 10, tally)

        t0 = time.perf_counter()
        await asyncio.gather(*[one() for _ in range(concurrency * rounds)])
        wall = time.perf_counter() - t0
    busy1, total1 = cpu_times()
    ms = [x * 1000 for x in tally.latencies]
    return {"msgs": tally.answered, "failed": sum(tally.failed.values()), "msg_per_s": tally.answered / wall,
            "p50": percentile(ms, 50), "p99": percentile(ms, 99),
            "cpu_busy": (busy1 - busy0) / max(1, total1 - total0)}


async def ticket_writer(http: aiohttp.ClientSession, base: str, token: str, stop: asyncio.Event,
                        acked: dict[str, str], unacked: list[str], rate: float) -> None:
    n = 0
    while not stop.is_set():
        n += 1
        text = f"压测工单 {uuid.uuid4().hex[:10]}：第{n}号楼道的灯不亮了"
        key = uuid.uuid4().hex
        body = {"text": text, "channel": "web", "address": "南山区粤海街道科技园",
                "location": {"district": "南山区", "street": "粤海街道"}}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # retried under the same Idempotency-Key until acknowledged
            try:
                async with http.post(f"{base}/api/v1/tickets", json=body,
                                     headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key}) as r:
                    if r.status == 201:
                        acked[(await r.json())["id"]] = text
                        break
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            await asyncio.sleep(0.5)
        else:
            unacked.append(text)
        await asyncio.sleep(1 / rate)


async def faults(topo: Topology, concurrency: int, fault_seconds: float, ticket_rate: float) -> dict:
    token = topo.tokens["api"]
    base = topo.public
    tally = Tally()
    acked: dict[str, str] = {}
    unacked: list[str] = []
    events: list[dict] = []
    stop = asyncio.Event()
    victims = ["router1", "rasa1", "actions1", "redis-primary", "nginx"]

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        async def residents_loop() -> None:
            while not stop.is_set():
                await resident(http, base, token, 10, tally, stop)

        tasks = [asyncio.create_task(residents_loop()) for _ in range(concurrency)]
        tasks.append(asyncio.create_task(ticket_writer(http, base, token, stop, acked, unacked, ticket_rate)))
        await asyncio.sleep(fault_seconds / 2)
        loop = asyncio.get_running_loop()
        for victim in victims:
            name = await loop.run_in_executor(None, topo.primary) if victim == "redis-primary" else victim
            proc = topo.sup.procs[name]
            before = (tally.answered, sum(tally.failed.values()), len(acked))
            t_kill = time.monotonic()
            proc.kill9()
            back = await loop.run_in_executor(None, topo.wait_healthy, 120.0)
            await asyncio.sleep(fault_seconds)
            after = (tally.answered, sum(tally.failed.values()), len(acked))
            events.append({"victim": victim if victim != "redis-primary" else f"Redis primary ({name})",
                           "healthy_again_s": back, "restarted": proc.alive(),
                           "answered": after[0] - before[0], "failed": after[1] - before[1],
                           "tickets": after[2] - before[2], "at": t_kill})
            print(f"killed {victim}: healthy again after {back:.1f}s, answered {after[0] - before[0]}, "
                  f"failed {after[1] - before[1]}, tickets {after[2] - before[2]}", flush=True)
        stop.set()
        await asyncio.gather(*tasks)

        # Every acknowledged ticket is there, unchanged; no text was taken twice.
        lost = []
        for tid, text in acked.items():
            async with http.get(f"{base}/api/v1/tickets/{tid}", headers={"Authorization": f"Bearer {token}"}) as r:
                if r.status != 200 or (await r.json()).get("text") != text:
                    lost.append(tid)
        seen: dict[str, int] = {}
        offset = 0
        while True:
            async with http.get(f"{base}/api/v1/tickets", params={"limit": "200", "offset": str(offset)},
                                headers={"Authorization": f"Bearer {token}"}) as r:
                items = (await r.json())["items"]
            for t in items:
                seen[t["text"]] = seen.get(t["text"], 0) + 1
            if len(items) < 200:
                break
            offset += 200
    duplicated = sum(1 for n in seen.values() if n > 1)
    return {"events": events, "acked": len(acked), "unacked": len(unacked), "lost": len(lost),
            "duplicated": duplicated, "answered": tally.answered, "answered_on_retry": tally.answered_on_retry,
            "failed": dict(tally.failed)}


def per_worker_runs(topo: Topology, workers: int, concurrency: int, rounds: int, cap: float | None,
                    per_worker: bool = False) -> list[dict]:
    """The same load with 1, 2, ... workers running (``per_worker``: ``concurrency`` residents for each worker
    running); with `cap`, each worker held to that share of a core."""
    runs = []
    for n in range(1, workers + 1):
        residents = concurrency * n if per_worker else concurrency
        for i in range(len(topo.rasa_ports)):
            proc = topo.sup.procs[f"rasa{i + 1}"]
            if proc.cpu is not None:
                proc.cpu.cap(cap)
            if i < n and proc.held:
                proc.held = False
            elif i >= n:
                proc.stop()
        topo.wait_healthy(600, workers=n)
        time.sleep(6)  # the routers try a worker that was down again after a few seconds
        slices = [topo.sup.procs[f"rasa{i + 1}"].cpu for i in range(n)]
        held0 = sum(c.throttled_s() for c in slices if c is not None)
        r = asyncio.run(throughput(topo.public, topo.tokens["api"], residents, rounds))
        r["workers"], r["residents"] = n, residents
        r["throttled_s"] = sum(c.throttled_s() for c in slices if c is not None) - held0
        runs.append(r)
        print(f"{n} Rasa worker(s){f' at {cap:g} core each' if cap else ''}: {r}", flush=True)
    return runs


def worker_table(runs: list[dict], throttled: bool) -> list[str]:
    base = runs[0]["msg_per_s"]
    head = "| Rasa workers | residents | answered | failed | msg/s | × one worker | per worker vs linear | p50 ms | p99 ms | " \
           f"machine CPU busy |{' workers held back s |' if throttled else ''}"
    lines = [head, "| ---: " * (head.count("|") - 1) + "|"]
    for r in runs:
        n = r["workers"]
        lines.append(f"| {n} | {r['residents']} | {r['msgs']} | {r['failed']} | {r['msg_per_s']:.1f} | ×{r['msg_per_s'] / base:.2f} | "
                     f"{r['msg_per_s'] / (base * n):.2f} | {r['p50']:.0f} | {r['p99']:.0f} | {r['cpu_busy']:.0%} |"
                     + (f" {r['throttled_s']:.0f} |" if throttled else ""))
    return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rasa-workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--concurrency", type=int, default=10)
    ap.add_argument("--per-worker", action="store_true",
                    help="--concurrency residents for each Rasa worker running (the load grows with the workers)")
    ap.add_argument("--fault-seconds", type=float, default=20.0)
    ap.add_argument("--ticket-rate", type=float, default=5.0, help="tickets per second during the faults")
    ap.add_argument("--rounds", type=int, default=10, help="10-turn conversations per resident for each worker count")
    ap.add_argument("--worker-cpu", type=float, default=0.0,
                    help="also measure with each Rasa worker held to this share of one core (cgroup), e.g. 0.4")
    ap.add_argument("--out", default=str(ROOT / "bench/results/scale_out.md"))
    args = ap.parse_args()
    if args.worker_cpu and not CpuSlice.available():
        print("--worker-cpu: no writable cgroup cpu controller here; measuring without the capped run", flush=True)
        args.worker_cpu = 0.0
    # Stopped by SIGTERM or SIGINT (even where a background job ignores SIGINT), the topology below is still
    # taken down by the `finally`: no orphaned Rasa workers, routers, Redis or nginx left running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    topo = Topology(args.rasa_workers, cpu_slices=bool(args.worker_cpu))
    t0 = time.monotonic()
    try:
        topo.start()
        startup = time.monotonic() - t0
        print(f"topology up in {startup:.0f}s ({topo.dir})", flush=True)
        asyncio.run(throughput(topo.public, topo.tokens["api"], 4))  # warm-up: every worker has answered
        per_worker = per_worker_runs(topo, args.rasa_workers, args.concurrency, args.rounds, None, args.per_worker)
        sliced = []
        if args.worker_cpu:
            sliced = per_worker_runs(topo, args.rasa_workers, args.concurrency, args.rounds, args.worker_cpu,
                                     args.per_worker)
            for p in topo.sup.procs.values():
                if p.cpu is not None:
                    p.cpu.cap(None)
        fault_residents = args.concurrency * (args.rasa_workers if args.per_worker else 1)
        fault = asyncio.run(faults(topo, fault_residents, args.fault_seconds, args.ticket_rate))
    finally:
        topo.stop()
    lines = [header("Scale-out and faults: deploy/'s topology on loopback"),
             f"2 routers, {args.rasa_workers} Rasa workers, 2 action servers, Redis primary + replica + 3 sentinels, "
             "nginx in front; every process as its deploy/systemd unit runs it (Restart=always, RestartSec=1 done by "
             "the bench's restarter). Load through nginx only. Topology up in "
             f"{startup:.0f} s. Logs: {topo.dir}", "",
             "## Throughput per Rasa worker", "",
             (f"{args.concurrency} residents at once for each Rasa worker running (the load grows with the workers: "
              f"each worker has as many residents to answer as one alone had)" if args.per_worker else
              f"{args.concurrency} residents at once") + f", 10-turn web-chat conversations ({args.rounds} per resident), "
             "same machine, same run. Machine CPU busy = share of all cores' time not idle during "
             "the load (every process: nginx, routers, Rasa, action servers, Redis, sentinels and this load "
             "generator): where it nears 100%, a further worker has no core to run on.", "",
             *worker_table(per_worker, False)]
    if sliced:
        lines += ["", f"### Each worker held to {args.worker_cpu:g} of a core", "",
                  f"The same load once more, every Rasa worker in a cgroup of its own capped at {args.worker_cpu:g} "
                  "of one core (cpu.cfs_quota_us / cpu.max, what systemd's CPUQuota= sets): each added worker brings "
                  "the same CPU, as a worker on a core of its own would, and the rest of the stack and the load "
                  "generator run on what is left. \"per worker vs linear\" = msg/s ÷ (workers × one worker's msg/s); "
                  "\"workers held back\" = seconds the cap kept the workers waiting (the cap was what bound them).",
                  "", *worker_table(sliced, True)]
    lines += ["", "## kill -9 under load", "",
              f"{fault_residents} residents chatting without pause and ~{args.ticket_rate:g} tickets/s through the "
              f"API; each process below killed in turn, {args.fault_seconds:g} s apart.", "",
              "| killed | healthy again after s | restarted | messages answered | messages failed | tickets acked |",
              "| --- | ---: | --- | ---: | ---: | ---: |"]
    for e in fault["events"]:
        lines.append(f"| {e['victim']} | {e['healthy_again_s']:.1f} | {'yes' if e['restarted'] else 'NO'} | "
                     f"{e['answered']} | {e['failed']} | {e['tickets']} |")
    lines += ["", f"- tickets acknowledged: {fault['acked']}; lost: **{fault['lost']}**; duplicated: "
              f"**{fault['duplicated']}**; never acknowledged within 30 s of retries: {fault['unacked']}",
              f"- messages answered: {fault['answered']} ({fault['answered_on_retry']} on the page's one retry "
              f"under the same message_id); failed with a status: {fault['failed'] or 'none'}"]
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
