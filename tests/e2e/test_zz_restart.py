"""A process killed under `make run` is reported; a restart finds every ticket still there (AOF).

Runs its own stack (not the shared one) because it kills it.
"""

from __future__ import annotations

import os
import re
import signal
import time

from tests.e2e.stack import Stack


def test_killed_rasa_is_reported_and_tickets_survive_a_restart() -> None:
    first = Stack()
    first.start()
    try:
        status, ticket = first.request("POST", "/api/v1/tickets", {
            "text": "小区门口路灯坏了一个星期", "channel": "web", "address": "南山区粤海街道科技园",
            "location": {"district": "南山区", "street": "粤海街道"}})
        assert status == 201, ticket
        os.kill(first.pids()["rasa"], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while first.proc is not None and first.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        out = first.output()
        assert re.search(r"rasa\.1 stopped \(rc=(-9|137)\)", out), out[-2000:]
        assert first.proc is not None and first.proc.poll() not in (None, 0), "make run must not exit 0"
    finally:
        first.stop()

    again = Stack(var_dir=first.var_dir)
    again.start()
    try:
        status, body = again.request("GET", f"/api/v1/tickets/{ticket['id']}")
        assert status == 200, body
        assert body["text"] == "小区门口路灯坏了一个星期"
    finally:
        again.stop()
