"""The action server as `make run` starts it: loopback only, a token for everything but the health check,
and no start at all without a token (a real process on a free port)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))  # no packet is sent: only picks the outgoing interface
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


@pytest.fixture(scope="module")
def server():
    port = free_port()
    env = {**os.environ, "ACTIONS_TOKEN": "actions-secret", "PYTHONPATH": str(ROOT), "ROUTER_URL": "http://127.0.0.1:9"}
    env.pop("ACTIONS_HOST", None)
    log = open(os.devnull, "wb")  # noqa: SIM115 — closed below
    proc = subprocess.Popen([sys.executable, "-m", "actions.server", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"the action server exited with {proc.returncode}") from None
            time.sleep(0.3)
    yield port
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


def post(port: int, path: str, body: dict, host: str = "127.0.0.1") -> int:
    req = urllib.request.Request(f"http://{host}:{port}{path}", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        e.close()  # its socket, or pytest (warnings as errors) fails the next test on a ResourceWarning
        return e.code


def test_the_health_check_is_open_and_says_nothing_else(server) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{server}/health", timeout=5) as r:
        assert json.loads(r.read()) == {"status": "ok"}


def test_a_call_without_the_token_is_refused(server) -> None:
    call = {"next_action": "action_ticket_request", "sender_id": "C1", "tracker": {}, "domain": {}, "version": "3.6.2"}
    assert post(server, "/webhook", call) == 401
    assert post(server, "/webhook?token=wrong", call) == 401
    # with Rasa's token the call is taken (a malformed tracker is the action's 4xx/5xx, not an auth error)
    assert post(server, "/webhook?token=actions-secret", call) != 401


def test_the_action_list_is_not_public(server) -> None:
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"http://127.0.0.1:{server}/actions", timeout=5)
    err.value.close()
    assert err.value.code == 401


def test_it_listens_on_loopback_only(server) -> None:
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address to try")
    with pytest.raises(OSError):
        socket.create_connection((address, server), timeout=2).close()


def test_it_will_not_start_without_a_token() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("ACTIONS_TOKEN", None)
    done = subprocess.run([sys.executable, "-m", "actions.server", "--port", str(free_port())], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "ACTIONS_TOKEN is not set" in done.stdout + done.stderr
