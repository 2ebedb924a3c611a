"""The web chat channel and the dialogue service against a real Redis and a stand-in Rasa server."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from router.adapters.conversations import ConversationStore
from router.adapters.rasa import RasaClient
from router.appkeys import REDIS
from router.services.dialogue import Dialogue

TOKEN = "api-token-for-tests"


@pytest.fixture
async def client(make_app, rasa):
    app = make_app(api_token=TOKEN, rasa_url=rasa.url, rasa_token=rasa.token, deps={"rasa_timeout": 2})
    async with TestClient(TestServer(app)) as c:
        yield c


async def new_session(client) -> str:
    resp = await client.post("/api/v1/channels/web/sessions")
    return (await resp.json())["session_id"]


async def test_message_goes_through_rasa_and_comes_back_with_buttons(client, rasa):
    rasa.responder = lambda s, t, m: [{"recipient_id": s, "text": "请问您的联系电话？",
                                       "buttons": [{"title": "跳过", "payload": "/skip"}]}]
    sid = await new_session(client)
    resp = await client.post("/api/v1/channels/web/messages", json={"session_id": sid, "text": "路灯坏了"})
    assert resp.status == 200
    body = await resp.json()
    assert body["replies"] == [{"text": "请问您的联系电话？", "buttons": [{"title": "跳过", "payload": "/skip"}]}]
    assert body["conversation"]["state"] == "bot"
    call = rasa.calls[-1]
    assert call["sender"] == body["conversation"]["id"]
    assert call["metadata"]["channel"] == "web"


async def test_history_survives_a_reload(client, rasa):
    sid = await new_session(client)
    await client.post("/api/v1/channels/web/messages", json={"session_id": sid, "text": "你好"})
    resp = await client.get("/api/v1/channels/web/history", params={"session_id": sid})
    messages = (await resp.json())["messages"]
    assert [(m["author"], m["text"]) for m in messages] == [("resident", "你好"), ("bot", "收到：你好")]


async def test_history_leaves_out_the_operators_audit_notes(client, rasa):
    """A referral's consent record (who, when, which ticket) is on the transcript for the console, not for
    the resident's page."""
    sid = await new_session(client)
    body = await (await client.post("/api/v1/channels/web/messages", json={"session_id": sid, "text": "你好"})).json()
    await ConversationStore(client.app[REDIS]).append(body["conversation"]["id"], "audit", "居民已同意转介 坐席 op1 工单 SZ1")
    resp = await client.get("/api/v1/channels/web/history", params={"session_id": sid})
    assert [m["author"] for m in (await resp.json())["messages"]] == ["resident", "bot"]


async def test_forged_session_is_refused_but_token_holder_may_use_any_id(client):
    resp = await client.post("/api/v1/channels/web/messages", json={"session_id": "abc.123", "text": "你好"})
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "bad_session"
    resp = await client.post("/api/v1/channels/web/messages", json={"session_id": "contract-1", "text": "你好"},
                             headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status == 200


@pytest.mark.parametrize("raw, status, code", [
    (b'{"session_id": "x", "text": ', 400, "invalid_json"),
    (b"[]", 400, "invalid_json"),
    (json.dumps({"session_id": "x", "text": ""}).encode(), 422, "invalid_field"),
    (json.dumps({"session_id": "x", "text": "吵" * 2001}).encode(), 422, "text_too_long"),
    ("{\"session_id\": \"x\", \"text\": \"你好\"}".encode("gbk"), 400, "bad_encoding"),
])
async def test_bad_input_gets_a_clear_json_error(client, raw, status, code):
    resp = await client.post("/api/v1/channels/web/messages", data=raw,
                             headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    assert resp.status == status
    assert (await resp.json())["error"]["code"] == code


async def test_rasa_down_loses_nothing_and_queues_for_a_person(client, rasa, redis):
    rasa.down = True
    sid = await new_session(client)
    resp = await client.post("/api/v1/channels/web/messages", json={"session_id": sid, "text": "井盖丢了很危险"})
    body = await resp.json()
    assert resp.status == 200
    assert body["conversation"]["state"] == "queued"
    assert "人工" in body["replies"][0]["text"]
    store = ConversationStore(redis)
    transcript = await store.transcript(body["conversation"]["id"])
    assert transcript[0]["text"] == "井盖丢了很危险"


async def test_while_queued_messages_wait_for_the_operator_not_the_bot(client, rasa, redis):
    sid = await new_session(client)
    first = await (await client.post("/api/v1/channels/web/messages",
                                      json={"session_id": sid, "text": "转人工"})).json()
    await ConversationStore(redis).move(first["conversation"]["id"], "handoff", reason="requested")
    calls = len(rasa.calls)
    body = await (await client.post("/api/v1/channels/web/messages",
                                    json={"session_id": sid, "text": "还在吗"})).json()
    assert len(rasa.calls) == calls
    assert body["conversation"]["state"] == "queued"


async def test_operator_reply_arrives_live_over_sse(client, redis):
    sid = await new_session(client)
    body = await (await client.post("/api/v1/channels/web/messages",
                                    json={"session_id": sid, "text": "你好"})).json()
    conv_id = body["conversation"]["id"]
    resp = await client.get("/api/v1/channels/web/events", params={"session_id": sid})
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    assert (await resp.content.readline()).startswith(b"retry:")
    assert (await resp.content.readline()).startswith(b": connected")
    await ConversationStore(redis).append(conv_id, "operator", "您好，我是客服小王<script>")
    async def next_data() -> dict:
        while True:
            line = await resp.content.readline()
            if line.startswith(b"data: "):
                return json.loads(line[6:])
    event = await asyncio.wait_for(next_data(), timeout=5)
    assert event["author"] == "operator" and event["text"] == "您好，我是客服小王<script>"
    resp.close()


async def test_replayed_message_id_is_answered_once(redis, rasa):
    async with aiohttp.ClientSession() as http:
        store = ConversationStore(redis)
        dialogue = Dialogue(redis, store, RasaClient(http, rasa.url, rasa.token))
        rasa.delay = 0.3
        turns = await asyncio.gather(*[dialogue.handle("wechat", "openid", "路灯坏了", message_id="m1")
                                       for _ in range(3)])
    assert len(rasa.calls) == 1
    assert [t.duplicate for t in turns].count(False) == 1
    assert all(t.replies[0].text == "收到：路灯坏了" for t in turns)


async def test_long_conversation_moves_to_a_fresh_rasa_sender_between_forms(redis, rasa):
    """Rasa's per-turn cost grows with the tracker; after ROTATE_AFTER_TURNS the router starts a new
    sender carrying the slots that matter, but never in the middle of a form."""
    from router.services import dialogue as dialogue_module

    rasa.slots = {"district": "南山区", "street": "粤海街道", "contact_phone": None, "requested_slot": None}
    async with aiohttp.ClientSession() as http:
        store = ConversationStore(redis)
        dialogue = Dialogue(redis, store, RasaClient(http, rasa.url, rasa.token))
        rasa.active_loop = {"name": "ticket_form"}
        for _ in range(dialogue_module.ROTATE_AFTER_TURNS + 2):
            turn = await dialogue.handle("web", "long-talker", "嗯")
        conv_id = turn.conversation.id
        assert {c["sender"] for c in rasa.calls} == {conv_id}, "no rotation while a form is active"
        rasa.active_loop = {}
        await dialogue.handle("web", "long-talker", "嗯")
        await dialogue.handle("web", "long-talker", "还有一件事")
    assert rasa.calls[-1]["sender"] == f"{conv_id}.1"
    assert rasa.calls[-1]["metadata"]["conversation_id"] == conv_id
    carried = {e["name"]: e["value"] for e in rasa.injected[f"{conv_id}.1"] if e["event"] == "slot"}
    assert carried == {"district": "南山区", "street": "粤海街道"}


async def test_reconnecting_page_gets_what_the_operator_wrote_in_between(client, redis):
    sid = await new_session(client)
    body = await (await client.post("/api/v1/channels/web/messages",
                                    json={"session_id": sid, "text": "你好"})).json()
    conv_id = body["conversation"]["id"]
    store = ConversationStore(redis)
    first = await store.append(conv_id, "operator", "第一条")
    await store.append(conv_id, "operator", "断线时发的")
    resp = await client.get("/api/v1/channels/web/events", params={"session_id": sid, "since": first["at"]})
    texts = []
    while len(texts) < 1:
        line = await asyncio.wait_for(resp.content.readline(), timeout=5)
        if line.startswith(b"data: "):
            texts.append(json.loads(line[6:])["text"])
    assert texts == ["断线时发的"]
    resp.close()


async def test_resident_repeating_themselves_gets_a_person(client, rasa):
    sid = await new_session(client)
    for _ in range(2):
        body = await (await client.post("/api/v1/channels/web/messages",
                                        json={"session_id": sid, "text": "我的养老金怎么还没到账"})).json()
        assert body["conversation"]["state"] == "bot"
    calls = len(rasa.calls)
    body = await (await client.post("/api/v1/channels/web/messages",
                                    json={"session_id": sid, "text": "我的养老金 怎么还没到账！"})).json()
    assert body["conversation"]["state"] == "queued"
    assert "人工" in body["replies"][0]["text"]
    assert len(rasa.calls) == calls


async def test_repeated_short_answers_are_not_repetition(client):
    sid = await new_session(client)
    for _ in range(4):
        body = await (await client.post("/api/v1/channels/web/messages",
                                        json={"session_id": sid, "text": "跳过"})).json()
    assert body["conversation"]["state"] == "bot"


async def test_a_message_sent_again_under_its_name_is_answered_once(client, rasa):
    """The page re-sends a message whose answer was lost (a router restarting behind nginx) under the
    same message_id: the bot sees it once and both deliveries get the same answer."""
    sid = await new_session(client)
    body = {"session_id": sid, "text": "楼道灯坏了", "message_id": "m-0001-abcdef"}
    first = await (await client.post("/api/v1/channels/web/messages", json=body)).json()
    again = await (await client.post("/api/v1/channels/web/messages", json=body)).json()
    assert again["replies"] == first["replies"] == [{"text": "收到：楼道灯坏了", "buttons": []}]
    assert [c["message"] for c in rasa.calls] == ["楼道灯坏了"]
    # Another session naming its message the same way is not answered from the first one's.
    other = await new_session(client)
    reply = await (await client.post("/api/v1/channels/web/messages",
                                     json={**body, "session_id": other, "text": "你好"})).json()
    assert reply["replies"] == [{"text": "收到：你好", "buttons": []}]
    resp = await client.post("/api/v1/channels/web/messages", json={**body, "message_id": "../x"})
    assert resp.status == 422 and (await resp.json())["error"]["field"] == "message_id"


async def test_a_system_reply_carries_its_transcript_time_so_the_page_shows_it_once(client, rasa):
    """A system message is both in the answer and on the live stream; the page drops the second by its time."""
    sid = await new_session(client)
    resp = await client.post("/api/v1/channels/web/messages",
                             json={"session_id": sid, "text": '/rate{"rating":"满意","ticket_id":"SZ1"}'})
    [reply] = (await resp.json())["replies"]
    assert reply["author"] == "system" and isinstance(reply["at"], float)
    history = (await (await client.get("/api/v1/channels/web/history", params={"session_id": sid})).json())
    [entry] = [m for m in history["messages"] if m["author"] == "system"]
    assert (entry["at"], entry["text"]) == (reply["at"], reply["text"])


async def test_pinyin_reaches_the_bot_in_characters_and_the_history_keeps_the_residents_words(client, rasa):
    sid = await new_session(client)
    await client.post("/api/v1/channels/web/messages", json={"session_id": sid, "text": "wo yao zhuan ren gong"})
    assert rasa.calls[-1]["message"] == "我要转人工"
    resp = await client.get("/api/v1/channels/web/history", params={"session_id": sid})
    said = [m["text"] for m in (await resp.json())["messages"] if m["author"] == "resident"]
    assert said == ["wo yao zhuan ren gong"]
