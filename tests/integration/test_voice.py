"""The voice hotline over its jambonz webhooks, against the real Redis fixture.

The dialogue is a scripted stand-in with Dialogue.handle's signature (the real one needs Rasa); it uses
the real ConversationStore, so handoffs, queue and close are the real thing.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from router import appkeys as K
from router import keys
from router.adapters.conversations import ConversationStore
from router.app import Deps, create_app
from router.channels import voice
from router.channels.voice import CallEnded
from router.services.messages import Button, Reply, Turn
from router.settings import Settings
from router.voice.verbs import validate_verbs
from tests.conftest import shared_domain

ROOT = Path(__file__).resolve().parents[2]
USER, PASSWORD = "jambonz", "s3cret-voice"
OPERATOR = "sip:operators@pbx.example.org"


@dataclass
class Step:
    """One scripted bot answer."""

    text: str = ""
    buttons: list[tuple[str, str]] = field(default_factory=list)
    handoff: bool = False
    delay: float = 0.0


class ScriptedDialogue:
    """Dialogue.handle's signature; answers from a script, records what it was asked."""

    def __init__(self, conversations: ConversationStore) -> None:
        self.conversations = conversations
        self.script: list[Step] = []
        self.calls: list[dict[str, Any]] = []

    async def handle(self, channel: str, user_id: str, text: str, *, message_id: str | None = None,
                     metadata: dict[str, Any] | None = None) -> Turn:
        self.calls.append({"channel": channel, "user_id": user_id, "text": text, "message_id": message_id,
                           "metadata": metadata})
        conv = await self.conversations.current(channel, user_id)
        await self.conversations.append(conv.id, "resident", text)
        step = self.script.pop(0) if self.script else Step(text=f"收到：{text}")
        if step.delay:
            await asyncio.sleep(step.delay)
        if step.handoff:
            conv = await self.conversations.move(conv.id, "handoff", reason="bot_handoff")
        reply = Reply(step.text, tuple(Button(t, p) for t, p in step.buttons))
        return Turn(replies=[reply], conversation=conv)

    @property
    def texts(self) -> list[str]:
        return [c["text"] for c in self.calls]


def basic(user: str = USER, password: str = PASSWORD) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def build_app(redis, *, password: str = PASSWORD, **options: Any) -> web.Application:
    """The router as create_app builds it, with a scripted dialogue in place of Rasa."""
    app = create_app(Settings(voice_user=USER, voice_password=password),
                     Deps(redis=redis, domain=shared_domain(), dialogue=ScriptedDialogue(ConversationStore(redis))),
                     with_scheduler=False)
    opts = dataclasses.replace(app[voice.VOICE].options, operator_queue=OPERATOR, **options)
    app[voice.VOICE].options = opts
    return app


@pytest.fixture
async def app(redis):
    return build_app(redis)


@pytest.fixture
async def client(app):
    async with TestClient(TestServer(app)) as c:
        yield c


class Call:
    """One simulated call: follows the actionHooks the router hands out, as jambonz would."""

    def __init__(self, client: TestClient, call_sid: str = "c0ffee00-0000-4000-8000-000000000001",
                 caller: str = "+8613912345678") -> None:
        self.client, self.call_sid, self.caller = client, call_sid, caller
        self.hook = ""
        self.history: list[list[dict[str, Any]]] = []

    def payload(self, **extra: Any) -> dict[str, Any]:
        return {"call_sid": self.call_sid, "from": self.caller, "to": "12345", "direction": "inbound",
                "call_status": "in-progress", **extra}

    async def post(self, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        resp = await self.client.post(path, json=body, headers=basic())
        assert resp.status == 200, await resp.text()
        assert resp.content_type == "application/json"
        verbs = await resp.json()
        assert validate_verbs(verbs) == [], verbs
        self.history.append(verbs)
        for v in verbs:
            if v["verb"] in ("gather", "dial", "enqueue") and v.get("actionHook"):
                self.hook = v["actionHook"]
        return verbs

    async def start(self) -> list[dict[str, Any]]:
        return await self.post("/channels/voice/call", self.payload(call_status="ringing"))

    async def say(self, text: str, confidence: float = 0.93) -> list[dict[str, Any]]:
        return await self.post(self.hook, self.payload(reason="speechDetected", speech={
            "is_final": True, "language_code": "zh-CN",
            "alternatives": [{"confidence": confidence, "transcript": text}]}))

    async def keys(self, digits: str) -> list[dict[str, Any]]:
        return await self.post(self.hook, self.payload(reason="dtmfDetected", digits=digits))

    async def silence(self) -> list[dict[str, Any]]:
        return await self.post(self.hook, self.payload(reason="timeout"))

    async def hang_up(self) -> None:
        resp = await self.client.post("/channels/voice/status",
                                      json=self.payload(call_status="completed", duration=42), headers=basic())
        assert resp.status == 200


def heard(verbs: list[dict[str, Any]]) -> str:
    """Everything the caller hears from one answer, SSML stripped."""
    import re

    texts = []
    for v in verbs:
        if v["verb"] == "say":
            texts.append(v["text"])
        elif v["verb"] == "gather" and "say" in v:
            texts.append(v["say"]["text"])
    return re.sub(r"<[^>]+>", "", "".join(texts))


async def conversation_of(app, call: Call):
    return await app[K.CONVERSATIONS].current("voice", voice.caller_user_id(call.caller, call.call_sid))


# --- the tests ----------------------------------------------------------------------------------------


async def test_new_call_is_greeted_inside_a_valid_gather(client):
    call = Call(client)
    verbs = await call.start()
    assert [v["verb"] for v in verbs] == ["gather"]
    g = verbs[0]
    assert g["input"] == ["speech", "digits"]
    assert g["recognizer"]["vendor"] == "default" and g["recognizer"]["language"] == "zh-CN"
    assert g["actionHook"] == "/channels/voice/gather?turn=1"
    assert g["say"]["text"].startswith("<speak><prosody rate=\"slow\">")  # slower voice for elderly callers
    assert "12345" not in heard(verbs) and "幺二三四五" in heard(verbs)  # service numbers read digit by digit
    assert "按0" in heard(verbs)


async def test_a_call_from_greeting_to_ticket_with_read_back_of_address_and_phone(client, app):
    dialogue: ScriptedDialogue = app[K.DIALOGUE]
    dialogue.script = [
        Step("好的，我来帮您登记路灯故障。请问具体地址在哪里？"),
        Step("请问您的联系电话是多少？"),
        Step("已为您登记工单SZ20261125-000123。地址：南山区粤海街道科技园路1号。联系电话13800138000。"
             "详情 https://12345.example.cn/t/1 😊",
             buttons=[("查询进度", "/ticket_status"), ("没有了", "/goodbye")]),
        Step("感谢您的来电，再见。"),
    ]
    call = Call(client)
    await call.start()
    v = await call.say("嗯，我家门口的路灯坏了。")
    assert "请问具体地址在哪里" in heard(v)
    assert dialogue.texts == ["我家门口的路灯坏了"]

    v = await call.say("南山区粤海街道科技园路一号")
    assert "您说的地址是：南山区粤海街道科技园路1号。对吗？按1确认，按2重说" in heard(v)
    assert len(dialogue.calls) == 1  # nothing is acted on before the caller confirms

    v = await call.keys("1")
    assert dialogue.texts[-1] == "南山区粤海街道科技园路1号"
    assert "联系电话" in heard(v)

    v = await call.say("幺三八 零零幺三 八零零零")
    assert "您说的电话号码是：幺三八，零零幺三，八零零零。对吗？" in heard(v)
    assert len(dialogue.calls) == 2

    v = await call.say("对的")
    assert dialogue.texts[-1] == "13800138000"
    spoken = heard(v)
    assert "S Z，二零二六，幺幺二五，零零零幺二三" in spoken  # ticket id digit by digit
    assert "幺三八，零零幺三，八零零零" in spoken
    assert "http" not in spoken and "😊" not in spoken
    assert "您可以说“查询进度”，或者按1；说“没有了”，或者按2。" in spoken

    await call.keys("2")
    assert dialogue.texts[-1] == "/goodbye"
    assert [c["message_id"] for c in dialogue.calls] == [f"{call.call_sid}:{n}" for n in (1, 3, 5, 6)]

    conv = await conversation_of(app, call)
    conv_id = conv.id
    await call.hang_up()
    assert (await app[K.CONVERSATIONS].require(conv_id)).state.value == "closed"


async def test_key_0_transfers_to_the_operator_and_queues_the_conversation(client, app):
    call = Call(client)
    await call.start()
    v = await call.keys("0")
    assert [x["verb"] for x in v] == ["say", "dial"]
    assert v[1]["target"] == [{"type": "sip", "sipUri": OPERATOR}]
    assert "转接人工服务" in heard(v)
    conv = await conversation_of(app, call)
    assert conv.state.value == "queued" and conv.handoff_reason == "caller_request"
    assert conv.id in await app[K.REDIS].zrange(keys.queue(), 0, -1)
    assert app[K.DIALOGUE].calls == []

    # Nobody picks up: the caller is told they will be called back, and stays in the queue.
    v = await call.post(call.hook, call.payload(dial_call_status="no-answer", dial_sip_status=480))
    assert "回电" in heard(v) and v[-1]["verb"] == "gather"
    assert (await conversation_of(app, call)).state.value == "queued"

    # Asking in words works too, at any time.
    v = await call.say("我要转人工")
    assert v[-1]["verb"] == "dial"

    # The operator answered and later hung up: goodbye.
    v = await call.post(call.hook, call.payload(dial_call_status="completed"))
    assert [x["verb"] for x in v] == ["say", "hangup"]
    await call.hang_up()
    assert (await conversation_of(app, call)).state.value == "queued"  # kept for the operator


async def test_queue_name_uses_enqueue(redis):
    app = build_app(redis)
    app[voice.VOICE].options = dataclasses.replace(app[voice.VOICE].options, operator_queue="queue:hotline")
    async with TestClient(TestServer(app)) as client:
        call = Call(client)
        await call.start()
        v = await call.keys("0")
        assert v[-1] == {"verb": "enqueue", "name": "hotline", "actionHook": "/channels/voice/gather?turn=2"}


async def test_bot_handoff_is_dialled_through(client, app):
    app[K.DIALOGUE].script = [Step("好的，这就为您转人工。", handoff=True)]
    call = Call(client)
    await call.start()
    v = await call.say("我要投诉你们的工作人员态度不好")
    assert [x["verb"] for x in v] == ["say", "dial"]
    assert "好的，这就为您转人工" in heard(v)


async def test_low_confidence_is_confirmed_before_acting(client, app):
    dialogue: ScriptedDialogue = app[K.DIALOGUE]
    call = Call(client)
    await call.start()
    v = await call.say("楼下垃圾没人清理", confidence=0.42)
    assert "您是说“楼下垃圾没人清理”吗？按1确认，按2重说" in heard(v)
    assert dialogue.calls == []

    v = await call.keys("2")
    assert "请您再说一遍" in heard(v)
    assert dialogue.calls == []

    await call.say("楼下垃圾没人清理", confidence=0.5)
    v = await call.say("是的")
    assert dialogue.texts == ["楼下垃圾没人清理"]
    assert "收到：楼下垃圾没人清理" in heard(v)


async def test_three_silences_end_the_call_politely(client):
    call = Call(client)
    await call.start()
    first = await call.silence()
    second = await call.silence()
    assert first[-1]["verb"] == "gather" and second[-1]["verb"] == "gather"
    assert heard(first) != heard(second)  # the second prompt says how to get help
    third = await call.silence()
    assert [x["verb"] for x in third] == ["say", "hangup"]
    assert "再见" in heard(third)


async def test_speaking_resets_the_silence_count(client):
    call = Call(client)
    await call.start()
    await call.silence()
    await call.silence()
    await call.say("你好")
    await call.silence()
    v = await call.silence()
    assert v[-1]["verb"] == "gather"


@pytest.mark.parametrize("speech", [
    {"alternatives": [{"confidence": 0.91, "transcript": "路灯不亮了"}]},  # webhook shape
    {"is_final": True, "transcripts": [{"is_final": True, "language_code": "zh-CN",
                                         "alternatives": [{"confidence": 0.91, "transcript": "路灯不亮了"}]}]},
])
async def test_both_speech_result_shapes_are_accepted(client, app, speech):
    call = Call(client)
    await call.start()
    await call.post(call.hook, call.payload(reason="speechDetected", speech=speech))
    assert app[K.DIALOGUE].texts == ["路灯不亮了"]


async def test_traditional_characters_and_spoken_numbers_are_normalised(client, app):
    call = Call(client)
    await call.start()
    await call.say("我家樓上三十五號在裝修")
    assert app[K.DIALOGUE].texts == ["我家楼上35号在装修"]


async def test_basic_auth_is_required(client):
    body = {"call_sid": "abc-1", "from": "+861", "to": "12345"}
    assert (await client.post("/channels/voice/call", json=body)).status == 401
    resp = await client.post("/channels/voice/call", json=body, headers=basic(password="wrong"))
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"].startswith("Basic")
    for path in ("/channels/voice/gather?turn=1", "/channels/voice/status"):
        assert (await client.post(path, json=body)).status == 401
    assert (await client.post("/channels/voice/call", json=body, headers=basic())).status == 200


async def test_without_a_configured_password_everything_is_refused(redis):
    app = build_app(redis, password="")
    async with TestClient(TestServer(app)) as client:
        body = {"call_sid": "abc-1", "from": "+861", "to": "12345"}
        assert (await client.post("/channels/voice/call", json=body, headers=basic(password=""))).status == 401
        assert (await client.post("/channels/voice/call", json=body)).status == 401


async def test_bad_requests_get_clear_errors(client):
    resp = await client.post("/channels/voice/call", data=b"{broken", headers=basic())
    assert resp.status == 400
    resp = await client.post("/channels/voice/call", json={"from": "+86"}, headers=basic())
    assert resp.status == 422 and (await resp.json())["error"]["field"] == "call_sid"


async def test_a_retried_webhook_does_not_ask_the_dialogue_twice(client, app):
    call = Call(client)
    await call.start()
    hook = call.hook
    body = call.payload(reason="speechDetected",
                        speech={"alternatives": [{"confidence": 0.9, "transcript": "井盖丢了"}]})
    first = await call.post(hook, body)
    again = await call.post(hook, body)
    assert first == again
    assert app[K.DIALOGUE].texts == ["井盖丢了"]
    # A retried call webhook answers the same greeting and does not start a second conversation.
    assert await call.start() == call.history[0]


async def test_repeat_request_says_the_last_answer_again(client, app):
    app[K.DIALOGUE].script = [Step("办理居住证需要带身份证和租房合同。")]
    call = Call(client)
    await call.start()
    await call.say("居住证怎么办")
    v = await call.say("没听清，再说一遍")
    assert "我再说一遍" in heard(v) and "办理居住证需要带身份证和租房合同" in heard(v)
    v = await call.keys("*")
    assert "办理居住证需要带身份证和租房合同" in heard(v)
    assert len(app[K.DIALOGUE].calls) == 1


async def test_slow_dialogue_holds_then_speaks_the_late_answer(redis):
    app = build_app(redis, dialogue_seconds=0.2)
    app[K.DIALOGUE].script = [Step("您反映的噪音问题已登记。", delay=0.6)]
    async with TestClient(TestServer(app)) as client:
        call = Call(client)
        await call.start()
        v = await call.say("楼上半夜装修很吵")
        assert "正在为您查询" in heard(v)
        assert v[-1]["timeout"] <= 3  # come back soon for the answer
        await asyncio.sleep(0.8)
        v = await call.silence()
        assert "让您久等了" in heard(v) and "您反映的噪音问题已登记" in heard(v)
        v = await call.say("再说一遍")  # the late answer is what gets repeated
        assert "您反映的噪音问题已登记" in heard(v)
        assert len(app[K.DIALOGUE].calls) == 1
        # Silence while holding did not count: two more silences do not hang up.
        await call.silence()
        v = await call.silence()
        assert v[-1]["verb"] == "gather"


async def test_operator_text_is_spoken_at_the_next_webhook(client, app):
    call = Call(client)
    await call.start()
    await call.keys("0")
    await call.post(call.hook, call.payload(dial_call_status="busy"))
    conv = await conversation_of(app, call)
    await app[K.OUTBOUND].send(conv, Reply("您好，我是话务员小王，请问您的地址？", author="operator"))
    v = await call.silence()
    assert "工作人员说：您好，我是话务员小王" in heard(v)


async def test_simulator_drives_a_live_server(redis, tmp_path):
    app = build_app(redis)
    app[K.DIALOGUE].script = [Step("好的，请问路灯在什么位置？")]
    server = TestServer(app)
    await server.start_server()
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "router.voice.simulate", "--url", str(server.make_url("/")),
            "--user", USER, "--password", PASSWORD,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        out, err = await asyncio.wait_for(proc.communicate("路灯坏了\n#*\n/hangup\n".encode()), timeout=30)
    finally:
        await server.close()
    text = out.decode()
    assert proc.returncode == 0, err.decode()
    assert "12345市民服务热线" not in text and "幺二三四五市民服务热线" in text  # the greeting
    assert text.count("好的，请问路灯在什么位置？") == 2  # the answer, and again for key *
    assert "通话结束：caller" in text
    assert app[K.DIALOGUE].texts == ["路灯坏了"]


# --- the call's state (router.domain.call) in its Redis hash -------------------------------------------


async def call_hash(app, call: Call) -> dict[str, str]:
    return await app[K.REDIS].hgetall(keys.voice_call(call.call_sid))


async def test_the_call_s_progress_is_one_state_field(client, app):
    app[K.DIALOGUE].script = [Step("请问您的联系电话是多少？")]
    call = Call(client)
    await call.start()
    h = await call_hash(app, call)
    assert h["state"] == "listening" and h["last_said"]
    await call.say("井盖丢了")
    await call.say("幺三八 零零幺三 八零零零")
    h = await call_hash(app, call)
    assert h["state"] == "confirming" and json.loads(h["to_confirm"])["value"] == "13800138000"
    await call.keys("0")
    h = await call_hash(app, call)
    assert h["state"] == "transferring" and h["handed_over"] == "1" and "to_confirm" not in h
    await call.post(call.hook, call.payload(dial_call_status="no-answer"))
    assert (await call_hash(app, call))["state"] == "listening"
    await call.hang_up()
    h = await call_hash(app, call)
    assert (h["state"], h["ended"]) == ("ended", "completed")
    assert not {"last", "pending", "inflight", "transferred", "expect_address"} & set(h)  # the old names


async def test_no_to_an_address_read_back_reads_the_next_address_back_too(client, app):
    dialogue: ScriptedDialogue = app[K.DIALOGUE]
    dialogue.script = [Step("请问具体地址在哪里？")]
    call = Call(client)
    await call.start()
    await call.say("路灯坏了")
    assert (await call_hash(app, call))["state"] == "asking_address"
    v = await call.say("南山区粤海街道科技园路一号")
    assert "您说的地址是" in heard(v) and (await call_hash(app, call))["state"] == "confirming_address"
    v = await call.keys("2")
    assert "请您再说一遍" in heard(v) and (await call_hash(app, call))["state"] == "asking_address"
    v = await call.say("南山区粤海街道科技园路二号")
    assert "您说的地址是：南山区粤海街道科技园路2号" in heard(v)
    await call.say("对的")
    assert dialogue.texts == ["路灯坏了", "南山区粤海街道科技园路2号"]
    assert (await call_hash(app, call))["state"] == "listening"


async def test_a_call_begun_under_the_old_field_names_carries_on(client, app):
    """A deploy mid-call: the hash written by the previous version (flags, short names) still works."""
    call = Call(client)
    user_id = voice.caller_user_id(call.caller, call.call_sid)
    conv = await app[K.CONVERSATIONS].current("voice", user_id)
    await app[K.REDIS].hset(keys.voice_call(call.call_sid), mapping={
        "user_id": user_id, "caller": call.caller, "to": "12345", "conv_id": conv.id, "silences": "1",
        "started_at": "1700000000.0", "last": "请问您的联系电话是多少？", "expect_address": "1",
        "pending": json.dumps({"kind": "phone", "text": "13800138000", "value": "13800138000"}),
        "confirmed": "[]"})
    call.hook = "/channels/voice/gather?turn=4"
    v = await call.keys("*")  # "再说一遍" finds the last answer under its new name
    assert "请问您的联系电话是多少" in heard(v)
    h = await call_hash(app, call)
    assert h["state"] == "confirming_address" and h["last_said"] == "请问您的联系电话是多少？"
    assert not {"last", "pending", "expect_address"} & set(h)
    await call.keys("1")  # the read-back the old version made is confirmed
    assert app[K.DIALOGUE].texts == ["13800138000"]
    assert (await call_hash(app, call))["state"] == "listening"


async def test_a_call_in_transfer_under_the_old_field_names_takes_the_dial_outcome(client, app):
    call = Call(client)
    user_id = voice.caller_user_id(call.caller, call.call_sid)
    conv = await app[K.CONVERSATIONS].current("voice", user_id)
    await app[K.REDIS].hset(keys.voice_call(call.call_sid), mapping={
        "user_id": user_id, "caller": call.caller, "conv_id": conv.id, "silences": "0", "transferred": "1"})
    call.hook = "/channels/voice/gather?turn=3"
    v = await call.post(call.hook, call.payload(dial_call_status="no-answer"))
    assert "回电" in heard(v)
    h = await call_hash(app, call)
    assert (h["state"], h["handed_over"]) == ("listening", "1")
    assert v[-1]["timeout"] == 5  # prompts stay shorter once handed over


async def test_a_turn_finishing_after_the_hang_up_does_not_bring_the_call_back(redis):
    app = build_app(redis, dialogue_seconds=5)
    app[K.DIALOGUE].script = [Step("好的。", delay=0.5)]
    async with TestClient(TestServer(app)) as client:
        call = Call(client)
        await call.start()
        speaking = asyncio.ensure_future(call.say("路灯坏了"))
        await asyncio.sleep(0.2)
        await call.hang_up()  # the caller hangs up while the dialogue thinks
        await speaking
        h = await call_hash(app, call)
        assert (h["state"], h["ended"]) == ("ended", "completed")
        # nobody is listening any more: the operator who typed it is told so (the console says 未能送达)
        with pytest.raises(CallEnded):
            await app[K.OUTBOUND].send(await conversation_of(app, call), Reply("还在吗？", author="operator"))
        assert await redis.llen(keys.voice_outbox(call.call_sid)) == 0


async def test_a_gather_after_the_end_hangs_up_without_asking_the_dialogue(client, app):
    call = Call(client)
    await call.start()
    await call.hang_up()
    v = await call.say("喂？")
    assert v == [{"verb": "hangup"}]
    assert app[K.DIALOGUE].calls == []
