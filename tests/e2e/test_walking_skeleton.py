"""One complaint travels end to end: web chat → Rasa → actions → router API → ticket in Redis."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid

from tests.e2e.stack import ROOT, Stack

TICKET_ID = re.compile(r"SZ\d{8}-\d{6}")
SKIP_WORDS = ("跳过", "不留", "不用", "没有", "暂不")


def chat(stack: Stack, session: str, text: str) -> dict:
    status, body = stack.request("POST", "/api/v1/channels/web/messages", {"session_id": session, "text": text})
    assert status == 200, body
    return body


def report_skipping_every_question(stack: Stack, session: str, text: str, questions: int = 4) -> str:
    """Send a report and press the skip button of each question; the ticket id the bot gives at the end."""
    body = chat(stack, session, text)
    for _question in range(questions + 1):
        found = TICKET_ID.search(" ".join(r["text"] or "" for r in body["replies"]))
        if found:
            return found.group(0)
        buttons = [b for r in body["replies"] for b in r["buttons"]]
        skip = [b for b in buttons if any(w in b["title"] for w in SKIP_WORDS)]
        assert skip, f"the bot asked something without a way to skip it: {body['replies']}"
        body = chat(stack, session, skip[0]["payload"])
    raise AssertionError(f"no ticket id after {questions} questions: {body['replies']}")


def test_noise_complaint_becomes_a_ticket_in_nanshan_yuehai(stack: Stack) -> None:
    session = f"e2e-{uuid.uuid4().hex[:8]}"
    ticket_id = report_skipping_every_question(stack, session, "我家楼上半夜装修吵死了，在南山区粤海街道")

    status, ticket = stack.request("GET", f"/api/v1/tickets/{ticket_id}")
    assert status == 200, ticket
    assert ticket["status"] in ("受理", "派单")
    assert ticket["topic"]["department"]
    assert ticket["location"]["district"] == "南山区"
    assert ticket["location"]["street"] == "粤海街道"
    assert ticket["channel"] == "web"
    assert ticket["history"], "a ticket carries its history from the first step"


def test_healthz_reports_each_component(stack: Stack) -> None:
    status, body = stack.request("GET", "/healthz", token=False)
    assert status == 200
    assert {"redis", "rasa", "actions"} <= body["components"].keys()
    assert all(c["ok"] for c in body["components"].values())


def test_contract_check_passes_against_the_running_stack(stack: Stack) -> None:
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "contract_check.py"), "--url", stack.url,
                        "--token", stack.token, "--router-python", str(ROOT / ".venv" / "bin" / "python")],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "FAIL" not in r.stdout


def test_make_run_starts_a_rasa_worker_per_core_and_every_one_answers(stack: Stack) -> None:
    out = stack.output()
    m = re.search(r"Rasa workers\s*:\s*(\d+)", out)
    assert m, out[-2000:]
    workers = int(m.group(1))
    assert workers >= 1
    started = set(re.findall(r"system\s*\|\s*(rasa\d*)\.1 started", out))
    assert len(started) == workers, started
    status, health = stack.request("GET", "/healthz")
    assert status == 200
    assert health["components"]["rasa"]["workers"] == health["components"]["rasa"]["workers_up"] == workers
    # Conversations spread over the workers by their id: each resident is answered.
    for n in range(6):
        assert chat(stack, f"e2e-w{n}-{uuid.uuid4().hex[:6]}", "你好")["replies"]
