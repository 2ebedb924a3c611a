"""Security probes against the stack as `make run` starts it, each a finding of the review that failed
before: a stranger rating or reading someone's ticket, the inside reachable without a token, one message
stalling everyone, malformed requests answered with a 500."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e


def _raw(url: str, data: bytes | None = None, headers: dict[str, str] | None = None,
         method: str | None = None, timeout: float = 10) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=data, method=method or ("POST" if data is not None else "GET"),
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _chat(stack: Stack, session: str, text: str) -> list[dict[str, Any]]:
    status, body = stack.request("POST", "/api/v1/channels/web/messages", {"session_id": session, "text": text},
                                 token=False, timeout=60)
    assert status == 200, body
    return list(body["replies"])


def _session(stack: Stack) -> str:
    status, body = stack.request("POST", "/api/v1/channels/web/sessions", {}, token=False)
    assert status in (200, 201), body
    return str(body["session_id"])


def _resolved_ticket(stack: Stack, note: str) -> str:
    status, ticket = stack.request("POST", "/api/v1/tickets", {
        "text": "小区门口路灯坏了", "channel": "web", "contact_phone": "13812345678",
        "location": {"district": "南山区", "street": "粤海街道"},
        "topic": {"l1": "城乡建设", "department": "城市管理和综合执法局"}})
    assert status == 201, ticket
    for action, extra in (("dispatch", {"department": "城市管理和综合执法局"}), ("accept", {}), ("resolve", {"reason": note})):
        status, body = stack.request("POST", f"/api/v1/tickets/{ticket['id']}/transitions",
                                     {"action": action, "actor": "dept:城管", **extra})
        assert status == 200, body
    return str(ticket["id"])


def test_a_typed_rating_payload_cannot_rate_a_strangers_ticket(stack: Stack) -> None:
    tid = _resolved_ticket(stack, "已更换灯泡")
    stranger = _session(stack)
    _chat(stack, stranger, "你好")
    replies = _chat(stack, stranger, '/rate{"rating":"满意","ticket_id":"' + tid + '"}')
    assert replies and "失效" in replies[0]["text"]
    status, ticket = stack.request("GET", f"/api/v1/tickets/{tid}")
    assert ticket["status"] == "办结" and ticket["rating"] is None


def test_a_stranger_asking_about_a_ticket_never_sees_the_agencys_note(stack: Stack) -> None:
    tid = _resolved_ticket(stack, "已处理，有问题联系张工 13987654321")
    stranger = _session(stack)
    shown = " ".join(r["text"] for r in _chat(stack, stranger, f"帮我查一下工单 {tid} 的进度"))
    assert tid in shown and "办结" in shown, shown
    assert "13987654321" not in shown and "张工" not in shown and "已处理" not in shown


def test_the_inside_refuses_callers_without_their_token(stack: Stack) -> None:
    actions = f"http://127.0.0.1:{stack.env['ACTIONS_PORT']}"
    status, _ = _raw(actions + "/webhook", json.dumps({"next_action": "action_ticket_request", "sender_id": "x",
                                                       "tracker": {}, "domain": {}}).encode(),
                     {"Content-Type": "application/json"})
    assert status == 401
    status, _ = _raw(actions + "/actions")
    assert status == 401
    status, _ = _raw(stack.rasa_url + "/webhooks/router/webhook",
                     json.dumps({"sender": "x", "message": "你好"}).encode(), {"Content-Type": "application/json"})
    assert status == 401
    status, _ = _raw(stack.rasa_url + "/model/parse", json.dumps({"text": "你好"}).encode(),
                     {"Content-Type": "application/json"})
    assert status == 401
    status, _ = _raw(stack.url + "/api/v1/tickets")
    assert status == 401


def test_one_heavy_message_does_not_stall_the_router(stack: Stack) -> None:
    heavy = "南山" * 1000
    done: list[float] = []

    def send() -> None:
        start = time.monotonic()
        stack.request("POST", "/api/v1/triage", {"text": heavy, "channel": "web"}, timeout=60)
        stack.request("POST", "/api/v1/locations/resolve", {"text": heavy}, timeout=60)
        done.append(time.monotonic() - start)

    threads = [threading.Thread(target=send) for _ in range(10)]
    for t in threads:
        t.start()
    worst = 0.0
    while any(t.is_alive() for t in threads):
        start = time.monotonic()
        status, _ = _raw(stack.url + "/healthz", timeout=10)
        worst = max(worst, time.monotonic() - start)
        assert status in (200, 503)
        time.sleep(0.05)
    for t in threads:
        t.join()
    assert worst < 1.0, f"/healthz waited {worst:.2f} s behind heavy messages"


@pytest.mark.parametrize(("path", "body"), [
    ("/api/v1/triage", b"[" * 60000),
    ("/api/v1/triage", b'{"text": 1' + b"0" * 5000 + b"}"),
    ("/api/v1/triage", b'{"text": "\xff\xfe"}'),
    ("/api/v1/tickets", b"{broken"),
    ("/api/v1/channels/web/messages", b"[" * 60000),
])
def test_malformed_json_is_a_4xx_never_a_500(stack: Stack, path: str, body: bytes) -> None:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {stack.token}"}
    status, raw = _raw(stack.url + path, body, headers)
    assert 400 <= status < 500, (status, raw[:200])
    assert json.loads(raw)["error"]["code"]
