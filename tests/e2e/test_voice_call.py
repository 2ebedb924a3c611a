"""Scripted phone calls through the jambonz webhooks of the running stack (real Rasa, actions, Redis).

One caller reports a problem, gives a phone number that is read back digit by digit and confirmed with a
key, and ends with a ticket; another presses 0 and is transferred to a person.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any

import redis as redis_sync

from tests.e2e.stack import Stack


class Call:
    def __init__(self, stack: Stack, caller: str) -> None:
        self.stack = stack
        self.sid = f"e2e-{uuid.uuid4().hex[:10]}"
        self.caller = caller
        self.hook = "/channels/voice/call"
        self.heard: list[str] = []
        auth = base64.b64encode(f"{stack.env['VOICE_WEBHOOK_USER']}:{stack.env['VOICE_WEBHOOK_PASSWORD']}".encode())
        self.headers = {"Content-Type": "application/json", "Authorization": f"Basic {auth.decode()}"}

    def post(self, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        req = urllib.request.Request(self.stack.url + path, data=json.dumps(body).encode(), method="POST",
                                     headers=self.headers)
        with urllib.request.urlopen(req, timeout=15) as r:
            assert r.headers["Content-Type"].startswith("application/json")
            verbs = json.loads(r.read())
        for v in verbs:
            said = (v.get("say") or {}).get("text") if v["verb"] == "gather" else v.get("text")
            if said:
                self.heard.append(re.sub(r"<[^>]+>", "", said))
            if v["verb"] == "gather":
                self.hook = v["actionHook"]
        return verbs

    def start(self) -> list[dict[str, Any]]:
        return self.post("/channels/voice/call", {"call_sid": self.sid, "from": self.caller, "to": "12345",
                                                  "direction": "inbound", "call_status": "ringing"})

    def say(self, text: str, confidence: float = 0.92) -> list[dict[str, Any]]:
        return self.post(self.hook, {"call_sid": self.sid, "reason": "speechDetected", "speech": {
            "is_final": True, "language_code": "zh-CN",
            "alternatives": [{"confidence": confidence, "transcript": text}]}})

    def press(self, digits: str) -> list[dict[str, Any]]:
        return self.post(self.hook, {"call_sid": self.sid, "reason": "dtmfDetected", "digits": digits})

    @property
    def last(self) -> str:
        return self.heard[-1] if self.heard else ""


def key_for(option: str, said: str) -> str | None:
    m = re.search(rf"“{option}[^”]*”，?或者按(\d)", said)
    return m.group(1) if m else None


def test_caller_reports_a_problem_confirms_by_key_and_gets_a_ticket(stack: Stack) -> None:
    call = Call(stack, "+8613912345678")
    verbs = call.start()
    assert verbs[0]["verb"] == "gather" and verbs[0]["recognizer"]["language"] == "zh-CN"
    call.say("喂 那个 就是说 我们小区门口的路灯坏了好几天了 晚上黑乎乎的 在宝安区西乡街道")
    gave_phone = gave_place = False
    confirmed: list[str] = []
    announced = ""
    for _ in range(10):
        said = call.last
        if "对吗" in said:
            confirmed.append(said)
            call.press("1")
        elif "工单" in said and ("登记" in said or "受理" in said):
            announced = said
            break
        elif "电话" in said and not gave_phone:
            call.say("我的电话是幺三八零零幺三八零零零")
            gave_phone = True
        elif ("小区" in said or "社区" in said or "地址" in said) and not gave_place:
            call.say("固戍社区")
            gave_place = True
        else:
            key = key_for("跳过", said) or key_for("不", said)
            assert key or "跳过" in said, f"the caller is asked something they cannot skip: {said}"
            if key:
                call.press(key)
            else:
                call.say("跳过")
    assert announced, f"no ticket announced; the caller heard: {call.heard}"
    assert confirmed, "an address or a number is read back for confirmation before it is used"
    if gave_phone:
        assert any("幺三八" in c for c in confirmed), "the phone number is read back digit by digit"
    status, listing = stack.request("GET", "/api/v1/tickets?district=" + urllib.parse.quote("宝安区"))
    assert status == 200
    mine = [t for t in listing["items"] if t["channel"] == "voice" and "路灯" in t["text"]]
    assert mine, f"no voice ticket; the caller heard: {call.heard}"
    status, ticket = stack.request("GET", f"/api/v1/tickets/{mine[0]['id']}?unmask=1")
    assert ticket["location"]["street"] == "西乡街道"
    if gave_phone:
        assert ticket["contact"]["phone"] == "13800138000"


def test_caller_presses_zero_and_is_transferred_to_a_person(stack: Stack) -> None:
    call = Call(stack, "+8613700001111")
    call.start()
    verbs = call.press("0")
    assert [v["verb"] for v in verbs][-1] in ("dial", "enqueue")
    r = redis_sync.Redis.from_url(stack.redis_url, decode_responses=True)
    queued = [r.hgetall(f"rsa:conv:{{{cid}}}") for cid in r.zrange("rsa:handoff-queue", 0, -1)]
    assert any(c.get("channel") == "voice" and call.sid in c.get("user_id", "") for c in queued)
    r.close()


def test_voice_webhook_refuses_a_caller_without_credentials(stack: Stack) -> None:
    req = urllib.request.Request(stack.url + "/channels/voice/call", data=b"{}", method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(req, timeout=10)
        raise AssertionError("accepted without basic auth")
    except urllib.error.HTTPError as e:
        assert e.code == 401
