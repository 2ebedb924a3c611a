"""A real Redis primary + replica watched by Redis Sentinel, on free loopback ports, for failover tests.

Standard library only: used by the router's tests (Python 3.11) and Rasa's (3.10) alike, and by
bench/scale_out.py. The configuration files are deploy/redis/'s, rendered here (``server_conf``,
``sentinel_conf``); the tests shorten the sentinels' timeouts so a failover takes a few seconds.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from string import Template

from tests.e2e.stack import free_ports

__all__ = ["SentinelSet", "sentinel_conf", "server_conf"]

DEPLOY_REDIS = Path(__file__).resolve().parents[1] / "deploy" / "redis"


def _render(name: str, **values: object) -> str:
    """deploy/redis/<name> with every ${VAR} filled in (a variable left out is an error)."""
    return Template((DEPLOY_REDIS / name).read_text(encoding="utf-8")).substitute(
        {k: str(v) for k, v in values.items()})


def server_conf(port: int, workdir: Path, password: str, *, replica_of: int | None = None,
                appendfsync: str = "always", maxmemory: str = "1gb") -> str:
    """A loopback primary (primary.conf), or a replica of ``replica_of`` (+ replica.conf)."""
    conf = _render("primary.conf", REDIS_BIND="", REDIS_PORT=port, REDIS_PASSWORD=password, REDIS_DIR=workdir,
                   APPENDFSYNC=appendfsync, REDIS_MAXMEMORY=maxmemory, MIN_REPLICAS=0)
    if replica_of is not None:
        conf += _render("replica.conf", PRIMARY_HOST="127.0.0.1", PRIMARY_PORT=replica_of, ANNOUNCE_IP="127.0.0.1")
    return conf


def sentinel_conf(port: int, workdir: Path, password: str, *, primary_port: int, quorum: int, service: str = "rsa",
                  down_after_ms: int = 3000, failover_timeout_ms: int = 30000) -> str:
    return _render("sentinel.conf", SENTINEL_BIND="", SENTINEL_PORT=port, SENTINEL_DIR=workdir,
                   REDIS_PASSWORD=password, SERVICE=service, PRIMARY_HOST="127.0.0.1", PRIMARY_PORT=primary_port,
                   QUORUM=quorum, DOWN_AFTER_MS=down_after_ms, FAILOVER_TIMEOUT_MS=failover_timeout_ms)


def _command(port: int, *args: str, password: str = "", timeout: float = 1.0) -> str:
    """One RESP command (inline form is enough for these) → the reply's first line."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        f = s.makefile("rwb")
        if password:
            f.write(f"AUTH {password}\r\n".encode())
            f.flush()
            f.readline()
        f.write((" ".join(args) + "\r\n").encode())
        f.flush()
        first = f.readline().decode(errors="replace").strip()
        if first.startswith("$") and first[1:].lstrip("-").isdigit() and int(first[1:]) >= 0:
            return f.read(int(first[1:]) + 2).decode(errors="replace").strip()
        if first.startswith("*"):  # an array of bulk strings: join them
            items = []
            for _ in range(max(0, int(first[1:]))):
                head = f.readline().decode().strip()
                items.append(f.readline().decode().strip() if head.startswith("$") else head)
            return " ".join(items)
        return first


class SentinelSet:
    def __init__(self, password: str = "sentinel-test-password", sentinels: int = 1, service: str = "rsa") -> None:
        self.exe = shutil.which("redis-server")
        if self.exe is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.password, self.service = password, service
        self.dir = Path(tempfile.mkdtemp(prefix="rsa-sentinel-"))
        ports = free_ports(2 + sentinels)
        self.ports = {"a": ports[0], "b": ports[1]}
        self.sentinel_ports = ports[2:]
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def sentinels(self) -> tuple[str, ...]:
        return tuple(f"127.0.0.1:{p}" for p in self.sentinel_ports)

    def _spawn(self, name: str, conf: str, *extra: str) -> None:
        path = self.dir / f"{name}.conf"
        path.write_text(conf)
        (self.dir / name).mkdir(exist_ok=True)
        self.procs[name] = subprocess.Popen([self.exe, str(path), *extra], stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL)

    def _wait(self, port: int, password: str) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if _command(port, "PING", password=password) == "+PONG":
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"nothing answers on port {port}")

    def start(self) -> SentinelSet:
        a, b = self.ports["a"], self.ports["b"]
        self._spawn("a", server_conf(a, self.dir / "a", self.password))
        self._wait(a, self.password)
        self._spawn("b", server_conf(b, self.dir / "b", self.password, replica_of=a))
        self._wait(b, self.password)
        quorum = len(self.sentinel_ports) // 2 + 1
        for i, port in enumerate(self.sentinel_ports):
            self._spawn(f"s{i}", sentinel_conf(port, self.dir / f"s{i}", self.password, primary_port=a, quorum=quorum,
                                               service=self.service, down_after_ms=1000, failover_timeout_ms=5000),
                        "--sentinel")
            self._wait(port, self.password)
        self.wait_replicated()
        return self

    def primary_port(self) -> int:
        reply = _command(self.sentinel_ports[0], "SENTINEL", "get-master-addr-by-name", self.service,
                         password=self.password)
        return int(reply.split()[-1])

    def wait_replicated(self, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        primary = self.primary_port()
        while time.monotonic() < deadline:
            info = _command(primary, "INFO", "replication", password=self.password)
            if "state=online" in info:
                return
            time.sleep(0.1)

    def kill_primary(self) -> int:
        """kill -9 of the current primary; returns its port."""
        port = self.primary_port()
        name = next(n for n, p in self.ports.items() if p == port)
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait(timeout=5)
        return port

    def wait_failover(self, old_port: int, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                port = self.primary_port()
                if port != old_port and _command(port, "ROLE", password=self.password).startswith("master"):
                    return port
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        raise RuntimeError("no failover within the timeout")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)
