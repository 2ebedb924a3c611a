"""The whole stack as `make run` starts it, on free ports with a private Redis, for end-to-end tests."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Collection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

__all__ = ["Stack", "free_port", "free_ports"]


def _outgoing_floor() -> int:
    """The lowest port the kernel gives to outgoing connections. A port chosen below it cannot become some client
    socket's local port in the time between choosing it and the process that listens on it starting (a Rasa
    worker starts in ~40 s; once its port, chosen from the kernel's own range, had meanwhile been taken)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _candidates(room: int = 1) -> range:
    """Where to look for a listening port: below the outgoing range when there is room there, else anywhere."""
    floor = _outgoing_floor()
    low = max(1024, floor - 12000)
    return range(low, floor - room + 1) if floor - low > 1000 else range(1024, 65536 - room + 1)


def free_port() -> int:
    for _ in range(500):
        port = random.choice(_candidates())
        if _bindable(port):
            return port
    raise RuntimeError("no free port")


def free_ports(n: int, exclude: Collection[int] = ()) -> list[int]:
    """n distinct free ports, none in ``exclude``."""
    ports: list[int] = []
    for _ in range(500):
        port = free_port()
        if port not in exclude and port not in ports:
            ports.append(port)
            if len(ports) == n:
                return ports
    raise RuntimeError(f"no {n} free ports outside {exclude}")


def free_port_run(n: int) -> int:
    """The first of n consecutive free ports (make run puts Rasa worker i on RASA_PORT + i)."""
    for _ in range(500):
        first = random.choice(_candidates(room=n))
        if all(_bindable(port) for port in range(first, first + n)):
            return first
    raise RuntimeError(f"no {n} consecutive free ports")


class Stack:
    def __init__(self, var_dir: str | None = None) -> None:
        self.var_dir = var_dir or tempfile.mkdtemp(prefix="rsa-e2e-")
        rasa_port = free_port_run(4)
        self.router_port, actions_port, redis_port = free_ports(3, exclude=range(rasa_port, rasa_port + 4))
        self.env = {
            **os.environ,
            "VAR_DIR": self.var_dir,
            "ROUTER_PORT": str(self.router_port),
            "RASA_PORT": str(rasa_port),
            "ACTIONS_PORT": str(actions_port),
            "OWN_REDIS_PORT": str(redis_port),
            "ROUTER_API_TOKEN": "e2e-token",
            "RASA_TOKEN": "e2e-rasa-token",
            "VOICE_WEBHOOK_USER": "jambonz",
            "VOICE_WEBHOOK_PASSWORD": "e2e-voice",
            "WECHAT_TOKEN": "e2e-wechat",
            "OWN_REDIS_PASSWORD": "e2e-redis-password",
            "STARTUP_TIMEOUT": "590",
            "STACK_PARENT_PID": str(os.getpid()),
        }
        # What scripts/env.sh derives from the ports must be derived again for this stack's ports,
        # not inherited from a `make` that sourced env.sh for the default ones.
        for derived in ("REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_DB", "REDIS_PASSWORD", "OWN_REDIS",
                        "ROUTER_URL", "ACTION_ENDPOINT_URL", "ACTIONS_URL", "RASA_URL", "CONSOLE_SECRET",
                        "PUBLIC_URL", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
            self.env.pop(derived, None)
        self.url = f"http://127.0.0.1:{self.router_port}"
        self.token = "e2e-token"
        self.rasa_token = "e2e-rasa-token"
        self.rasa_url = f"http://127.0.0.1:{self.env['RASA_PORT']}"
        # The stack's own Redis, password and all (scripts/env.sh): for tests that look inside it.
        self.redis_url = (f"redis://:{self.env['OWN_REDIS_PASSWORD']}@127.0.0.1:"
                          f"{self.env['OWN_REDIS_PORT']}/0")
        self.log_path = Path(self.var_dir) / "stack.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 600) -> None:
        offset = len(self.output())  # a restart appends to the same log: look only at what is new
        with open(self.log_path, "ab") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(["scripts/run.sh"], cwd=ROOT, env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"make run exited early:\n{self.output()[offset:][-4000:]}")
            if "is up." in self.output()[offset:]:
                return
            time.sleep(1)
        raise RuntimeError(f"stack not up after {timeout}s:\n{self.output()[-4000:]}")

    def console_login(self, user: str = "admin", password: str = "e2e-console-password") -> tuple[str, str]:
        """Give a console user a known password through the CLI, as an operator with shell access would
        (a password from stdin is the setter's own choice: no forced change at the first login)."""
        env = {**self.env, "REDIS_URL": self.redis_url}
        subprocess.run([str(ROOT / ".venv/bin/python"), "-m", "router.console", "users", "passwd", user],
                       input=password + "\n", text=True, env=env, cwd=ROOT, check=True, capture_output=True,
                       timeout=60)
        return user, password

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> int | None:
        """Ctrl-C, as a user would: honcho stops every process."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        code = self.proc.returncode
        self.proc = None
        return code

    def pids(self) -> dict[str, int]:
        """Process name → pid, from honcho's "system | rasa.1 started (pid=1234)" lines."""
        out: dict[str, int] = {}
        for m in re.finditer(r"system\s*\|\s*(\w+)\.\d+ started \(pid=(\d+)\)", self.output()):
            out[m.group(1)] = int(m.group(2))
        return out

    def request(self, method: str, path: str, body: Any = None, *, token: bool = True,
                timeout: float = 30) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                raw = r.read()
                status = r.status
        except urllib.error.HTTPError as e:
            raw, status = e.read(), e.code
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")
