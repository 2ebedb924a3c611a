"""schemathesis over the router's own OpenAPI document, against the stack as `make run` starts it:
whatever a client sends to any documented operation, the answer is never a server error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def test_no_documented_operation_answers_with_a_server_error(stack: Stack) -> None:
    done = subprocess.run(
        [str(SCHEMATHESIS), "run", f"{stack.url}/api/v1/openapi.json", "--checks", "not_a_server_error",
         "-H", f"Authorization: Bearer {stack.token}", "--max-examples", "10", "--seed", "7",
         "--workers", "2", "--request-timeout", "30", "--generation-deterministic", "--no-color"],
        capture_output=True, text=True, timeout=900)
    tail = (done.stdout + done.stderr)[-6000:]
    assert done.returncode == 0, tail
