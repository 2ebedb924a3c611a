"""The web chat, WeChat and a phone call reach the same decision as POST /api/v1/triage on the same words.

Against the stack as `make run` starts it (real Rasa with the IntakeDecision step, real router, own
Redis): each message goes once through the triage API and once through a channel; Rasa's tracker says
what the dialogue decided (the ``intake`` the last NLU step wrote), and the resident's reply shows it
(the emergency number, a question about the place for a report, a decline for chit-chat).
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.parse
import urllib.request
import uuid
from typing import Any
from xml.sax.saxutils import escape

import pytest
import redis as redis_sync

from tests.e2e.stack import Stack
from tests.e2e.test_voice_call import Call

pytestmark = pytest.mark.e2e

# Residents' words from the outside author's development set, every outcome and every channel's style,
# plus a phone line's garbled fire call.
MESSAGES: list[tuple[str, str]] = [
    ("web", "省团校旁边那条河啥时候开始治理 又黑又臭"),
    ("web", "尊敬的领导：我是龙岗区坂田街道某小区的业主，小区旁边的工地每天晚上十一点以后还在施工，噪音很大，"
            "老人孩子都睡不好，已经向物业和街道反映多次都没有结果，恳请相关部门尽快核实处理，谢谢。"),
    ("wechat", "社宝卡丢了咋补 😭"),
    ("web", "我住在龙岗区坂田街道，想办居住证，要去哪里办？"),
    ("voice", "喂 那个 我跟你讲啊 我们小区门口那个井盖 不见了 晚上黑乎乎的 在南山区桃源街道"),
    ("wechat", "你们能帮我把我的猫送给别人养吗？我以后没法照顾它了，我打算今晚就离开。"),
    ("voice", "楼下着活了 好大的烟 下不去了"),
    ("web", "外面有个男的一直在砸门 喊着要砍死我 我一个人在家"),
    ("wechat", "上个礼拜我们楼下着火 家里熏黑了 物业和保险公司推来推去 没人赔"),
    ("web", "转人工"),
    ("wechat", "今天天气怎么样"),
    ("web", "您好"),
]


def _triage(stack: Stack, channel: str, text: str) -> dict[str, Any]:
    status, body = stack.request("POST", "/api/v1/triage", {"text": text, "channel": channel}, timeout=60)
    assert status == 200, body
    return body


def _tracker_intake(stack: Stack, conv_id: str) -> dict[str, Any]:
    url = f"{stack.rasa_url}/conversations/{conv_id}/tracker?include_events=NONE&token={stack.rasa_token}"
    with urllib.request.urlopen(url, timeout=15) as r:
        tracker = json.loads(r.read())
    latest = tracker.get("latest_message") or {}
    assert "intake" in latest, f"the dialogue did not decide through the intake step: {latest}"
    return dict(latest["intake"])


def _web(stack: Stack, text: str) -> tuple[str, list[dict[str, Any]]]:
    status, session = stack.request("POST", "/api/v1/channels/web/sessions", {}, token=False)
    assert status in (200, 201), session
    status, body = stack.request("POST", "/api/v1/channels/web/messages",
                                 {"session_id": session["session_id"], "text": text}, token=False, timeout=60)
    assert status == 200, body
    return body["conversation"]["id"], body["replies"]


def _wechat(stack: Stack, text: str) -> tuple[str, str]:
    openid = "o" + uuid.uuid4().hex[:20]
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    signature = hashlib.sha1("".join(sorted([stack.env["WECHAT_TOKEN"], timestamp, nonce])).encode()).hexdigest()
    xml = (f"<xml><ToUserName><![CDATA[gh_e2e]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
           f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
           f"<Content>{escape(text)}</Content><MsgId>{int(time.time() * 1000)}</MsgId></xml>")
    query = urllib.parse.urlencode({"signature": signature, "timestamp": timestamp, "nonce": nonce})
    req = urllib.request.Request(f"{stack.url}/channels/wechat?{query}", data=xml.encode(), method="POST",
                                 headers={"Content-Type": "text/xml"})
    with urllib.request.urlopen(req, timeout=30) as r:
        reply = r.read().decode()
    return _conversation_of(stack, "wechat", openid), reply


def _conversation_of(stack: Stack, channel: str, user_id: str) -> str:
    r = redis_sync.Redis.from_url(stack.redis_url, decode_responses=True)
    try:
        for _ in range(50):
            conv_id = r.get(f"rsa:conv-user:{channel}:{user_id}")
            if conv_id:
                return str(conv_id)
            time.sleep(0.1)
    finally:
        r.close()
    raise AssertionError(f"no conversation for {channel}:{user_id}")


def _voice(stack: Stack, text: str) -> tuple[str, str]:
    call = Call(stack, "+8613600001111")
    call.start()
    call.say(text)
    return _conversation_of(stack, "voice", f"+8613600001111/{call.sid}"), call.last


@pytest.mark.parametrize(("channel", "text"), MESSAGES)
def test_every_channel_reaches_the_triage_decision(stack: Stack, channel: str, text: str) -> None:
    expected = _triage(stack, channel, text)
    if channel == "web":
        conv_id, replies = _web(stack, text)
        shown = " ".join(r["text"] for r in replies)
    elif channel == "wechat":
        conv_id, shown = _wechat(stack, text)
    else:
        conv_id, shown = _voice(stack, text)
    decided = _tracker_intake(stack, conv_id)
    assert decided["outcome"] == expected["outcome"], (text, decided, expected["decision"])
    assert decided["emergency_number"] == expected["emergency_number"]
    if expected["outcome"] == "emergency":
        number = expected["emergency_number"]
        assert number in shown or any(s in shown for s in _spoken(number)), \
            f"{text!r}: the reply does not say {number}: {shown}"
    if expected["outcome"] in ("ticket", "service_item"):
        assert "帮不上" not in shown, f"{text!r} is a city matter but the resident was turned away: {shown}"


def _spoken(number: str) -> tuple[str, ...]:
    """How a voice reply may say the number: digit by digit, 1 as 一 or as 幺."""
    return tuple("".join(digits[int(d)] for d in number) for digits in ("零一二三四五六七八九", "零幺二三四五六七八九"))


def test_the_web_chat_takes_up_a_letter_the_old_gate_turned_away(stack: Stack) -> None:
    """A consultation on a local matter: once "抱歉，这个我帮不上忙", now a report the bot asks about."""
    text = "请问我们村旁边那条河什么时候开始治理？夏天臭得受不了，蚊子也多"
    assert _triage(stack, "web", text)["outcome"] == "ticket"
    _conv, replies = _web(stack, text)
    shown = " ".join(r["text"] for r in replies)
    assert "帮不上" not in shown
    assert "哪里" in shown or "地点" in shown or "街道" in shown, shown
