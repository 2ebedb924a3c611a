"""The WeChat Official Account channel as WeChat and the resident see it.

Real Redis, a real local HTTP server standing in for WeChat's API, and a small fake dialogue (the real
one needs Rasa) that counts its calls and can be slow on purpose.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from aiohttp.test_utils import TestClient

from router import keys
from router.adapters.conversations import Conversation
from router.app import Deps, create_app
from router.appkeys import OPENAPI_PATHS, OUTBOUND
from router.channels.wechat import WECHAT
from router.services.messages import Reply
from router.services.outbound import Outbound
from router.settings import Settings
from tests.conftest import shared_domain
from tests.fakes.dialogue import FakeDialogue
from tests.fakes.wechat_server import FakeWeChatApi, WeChatPush

TOKEN = "community-token"
APP_ID = "wx0123456789abcdef"
SECRET = "app-secret-for-tests"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OPENID = "oResident_0123456789abcdefABC"

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE xml [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><FromUserName><![CDATA[oResident_0123456789abcdefABC]]></FromUserName>
<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content>&lol9;</Content><MsgId>1</MsgId></xml>"""


Make = Callable[..., Awaitable[tuple[TestClient, FakeDialogue]]]


@pytest.fixture
async def wechat_api() -> AsyncIterator[FakeWeChatApi]:
    api = FakeWeChatApi(APP_ID, SECRET)
    await api.start()
    yield api
    await api.close()


@pytest.fixture
def make_client(redis: Any, wechat_api: FakeWeChatApi, aiohttp_client: Any) -> Make:
    async def make(*, aes: bool = True, delay: float = 0.0, passive: float | None = 0.5,
                   ) -> tuple[TestClient, FakeDialogue]:
        """The router as create_app builds it, a fake dialogue in place of Rasa; ``passive``: the seconds
        WeChat's passive reply may wait (None: the production window)."""
        dialogue = FakeDialogue(delay)
        settings = Settings(wechat_token=TOKEN, wechat_app_id=APP_ID, wechat_app_secret=SECRET,
                            wechat_encoding_aes_key=AES_KEY if aes else "", wechat_api_base=wechat_api.base_url)
        app = create_app(settings, Deps(redis=redis, domain=shared_domain(), dialogue=dialogue),
                         with_scheduler=False)
        if passive is not None:
            app[WECHAT].passive_seconds = passive
        app[WECHAT].outbox_retry_after = 0.3  # retry quickly in tests (production: 30 s)
        app[WECHAT].outbox_interval = 0.05
        return await aiohttp_client(app), dialogue

    return make


def push_of(aes: bool) -> WeChatPush:
    return WeChatPush(TOKEN, APP_ID, AES_KEY if aes else "")


async def deliver(client: TestClient, push: WeChatPush, xml: str, *, encrypt: bool) -> tuple[int, str]:
    query, body = push.push(xml, encrypt=encrypt)
    resp = await client.post("/channels/wechat", params=query, data=body, headers={"Content-Type": "text/xml"})
    return resp.status, await resp.text()


async def wait_for(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def content(push: WeChatPush, body: str) -> ET.Element:
    return push.open_reply(body)


# ------------------------------------------------------------------------------------ URL verification

async def test_url_verification_echoes_echostr_only_when_signed_with_our_token(make_client: Make) -> None:
    client, _ = await make_client()
    query = push_of(True).signed_query()
    resp = await client.get("/channels/wechat", params={**query, "echostr": "8203619827364"})
    assert resp.status == 200
    assert await resp.text() == "8203619827364"

    forged = WeChatPush("someone-elses-token", APP_ID).signed_query()
    resp = await client.get("/channels/wechat", params={**forged, "echostr": "8203619827364"})
    assert resp.status == 403
    assert "8203619827364" not in await resp.text()


# --------------------------------------------------------------------------------------- 安全模式

async def test_encrypted_text_message_gets_an_encrypted_passive_answer(make_client: Make) -> None:
    client, dialogue = await make_client(aes=True)
    push = push_of(True)
    status, body = await deliver(client, push, push.text(OPENID, "楼上装修太吵了", "6054768590064713728"),
                                 encrypt=True)
    assert status == 200
    envelope = ET.fromstring(body)
    assert envelope.find("Encrypt") is not None and envelope.find("MsgSignature") is not None
    assert "楼上装修" not in body  # nothing readable travels in 安全模式
    reply = content(push, body)  # checks msg_signature, decrypts, checks the AppID
    assert reply.findtext("MsgType") == "text"
    assert reply.findtext("Content") == "收到：楼上装修太吵了"
    assert reply.findtext("ToUserName") == OPENID
    assert reply.findtext("FromUserName") == push.account
    assert dialogue.calls == [{"channel": "wechat", "user_id": OPENID, "text": "楼上装修太吵了",
                               "message_id": "6054768590064713728"}]


async def test_aes_account_refuses_plaintext_pushes(make_client: Make) -> None:
    """With an EncodingAESKey only 安全模式/兼容模式 pushes are taken (test_wechat_security.py has more)."""
    client, dialogue = await make_client(aes=True)
    push = push_of(True)
    status, body = await deliver(client, push, push.text(OPENID, "你好", "101"), encrypt=False)
    assert status == 403 and "安全模式" in body
    assert dialogue.calls == []


async def test_forged_msg_signature_is_rejected(make_client: Make) -> None:
    client, dialogue = await make_client(aes=True)
    push = push_of(True)
    query, body = push.push(push.text(OPENID, "真的消息", "102"), encrypt=True)
    _, other = push.push(push.text(OPENID, "篡改的消息", "102"), encrypt=True)
    resp = await client.post("/channels/wechat", params=query, data=other)  # body swapped, signature kept
    assert resp.status == 403
    assert dialogue.calls == []


# ----------------------------------------------------------------------------------------- plaintext

async def test_plaintext_mode_answers_in_plain_xml(make_client: Make) -> None:
    client, dialogue = await make_client(aes=False)
    push = push_of(False)
    status, body = await deliver(client, push, push.text(OPENID, "怎么办居住证", "201"), encrypt=False)
    assert status == 200
    reply = ET.fromstring(body)
    assert reply.findtext("Content") == "收到：怎么办居住证"
    assert reply.findtext("ToUserName") == OPENID
    assert len(dialogue.calls) == 1

    # An encrypted push to an account without an EncodingAESKey cannot be read: a clear 400.
    status, body = await deliver(client, push_of(True), push.text(OPENID, "x", "202"), encrypt=True)
    assert status == 400 and "WECHAT_ENCODING_AES_KEY" in body


async def test_forged_signature_is_rejected_before_anything_runs(make_client: Make, redis: Any) -> None:
    client, dialogue = await make_client(aes=False)
    forged = WeChatPush("not-our-token", APP_ID)
    status, _ = await deliver(client, forged, forged.text(OPENID, "假消息", "301"), encrypt=False)
    assert status == 403
    status, _ = await deliver(client, push_of(False), push_of(False).text(OPENID, "真消息", "302"), encrypt=False)
    assert status == 200
    assert [c["text"] for c in dialogue.calls] == ["真消息"]
    assert await redis.exists(keys.wechat_msgid("301")) == 0  # the forged MsgId was not even claimed


# ------------------------------------------------------------------------------------------- retries

async def test_three_deliveries_of_one_msgid_reach_the_bot_once(make_client: Make) -> None:
    client, dialogue = await make_client(aes=True, delay=0.2)
    push = push_of(True)
    xml = push.text(OPENID, "路灯坏了", "401")
    results = await asyncio.gather(*(deliver(client, push, xml, encrypt=True) for _ in range(3)))
    assert len(dialogue.calls) == 1
    answers = [content(push, body).findtext("Content") for status, body in results if status == 200]
    assert answers == ["收到：路灯坏了"] * 3  # whichever response reaches WeChat says the same thing
    status, body = await deliver(client, push, xml, encrypt=True)  # a late retry after the answer
    assert content(push, body).findtext("Content") == "收到：路灯坏了"
    assert len(dialogue.calls) == 1


async def test_slow_answer_goes_out_once_through_customer_service(make_client: Make,
                                                                  wechat_api: FakeWeChatApi) -> None:
    # The production window: WeChat must hear from us within its 5 seconds.
    client, dialogue = await make_client(aes=True, delay=4.6, passive=None)
    push = push_of(True)
    xml = push.text(OPENID, "小区门口垃圾好几天没人清运", "501")
    started = time.monotonic()
    first = asyncio.create_task(deliver(client, push, xml, encrypt=True))
    await asyncio.sleep(0.3)
    retries = await asyncio.gather(*(deliver(client, push, xml, encrypt=True) for _ in range(2)))
    status, body = await first
    elapsed = time.monotonic() - started
    assert (status, body) == (200, "success")
    assert elapsed < 4.5, f"WeChat waited {elapsed:.2f}s"
    assert retries == [(200, "success"), (200, "success")]

    await wait_for(lambda: len(wechat_api.sent) >= 1, timeout=5)
    await asyncio.sleep(0.2)
    assert [(m.touser, m.content) for m in wechat_api.sent] == [(OPENID, "收到：小区门口垃圾好几天没人清运")]
    assert "小区门口".encode() in wechat_api.raw_bodies[0]  # UTF-8 itself, not \\u escapes
    assert len(dialogue.calls) == 1

    # WeChat retrying once more after the answer went out: still one message.
    assert await deliver(client, push, xml, encrypt=True) == (200, "success")
    await asyncio.sleep(0.2)
    assert len(wechat_api.sent) == 1
    assert len(wechat_api.token_requests) == 1


async def test_access_token_is_fetched_once_and_refreshed_when_expired(make_client: Make,
                                                                       wechat_api: FakeWeChatApi) -> None:
    client, _ = await make_client(aes=False, delay=0.4, passive=0.1)
    push = push_of(False)
    for n in range(3):
        assert await deliver(client, push, push.text(OPENID, f"第{n}条", f"60{n}"), encrypt=False) == (200, "success")
        await wait_for(lambda n=n: len(wechat_api.sent) == n + 1)
    assert len(wechat_api.token_requests) == 1
    assert wechat_api.token_requests[0] == {"grant_type": "client_credential", "appid": APP_ID, "secret": SECRET}

    wechat_api.expire_all()  # WeChat answers 42001: fetch a new token once and deliver anyway
    assert await deliver(client, push, push.text(OPENID, "第4条", "604"), encrypt=False) == (200, "success")
    await wait_for(lambda: len(wechat_api.sent) == 4)
    assert len(wechat_api.token_requests) == 2
    assert wechat_api.sent[-1].content == "收到：第4条"
    assert wechat_api.sent[-1].access_token != wechat_api.sent[0].access_token


async def test_operator_reply_reaches_the_wechat_resident(make_client: Make, wechat_api: FakeWeChatApi) -> None:
    client, _ = await make_client(aes=True)
    outbound: Outbound = client.app[OUTBOUND]
    conversation = Conversation(id="C0123456789abcdef", channel="wechat", user_id=OPENID)
    await outbound.send(conversation, Reply("您好，我是街道工作人员，已联系物业上门处理。", author="operator"))
    assert [(m.touser, m.content) for m in wechat_api.sent] == [(OPENID, "您好，我是街道工作人员，已联系物业上门处理。")]


# ------------------------------------------------------------------------------------- hostile input

async def test_xml_bomb_is_rejected_without_expansion(make_client: Make) -> None:
    plain_client, plain_dialogue = await make_client(aes=False)
    client, dialogue = await make_client(aes=True)
    push = push_of(True)
    started = time.monotonic()
    status, body = await deliver(plain_client, push_of(False), BILLION_LAUGHS, encrypt=False)
    assert status == 400 and "DTD" in body
    status, body = await deliver(client, push, BILLION_LAUGHS, encrypt=True)  # hidden inside <Encrypt>
    assert status == 400 and "DTD" in body
    assert time.monotonic() - started < 3.0  # an expanded bomb would take minutes and gigabytes
    assert dialogue.calls == [] and plain_dialogue.calls == []


async def test_oversized_body_is_rejected(make_client: Make) -> None:
    client, dialogue = await make_client(aes=False)
    push = push_of(False)
    big = push.text(OPENID, "噪" * 30_000, "701")  # ~90 KB of UTF-8
    status, _ = await deliver(client, push, big, encrypt=False)
    assert status == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit still holds while reading
        for _ in range(20):
            yield b"<!-- padding -->" * 256

    resp = await client.post("/channels/wechat", params=push.signed_query(), data=chunks())
    assert resp.status == 413
    assert dialogue.calls == []


async def test_broken_xml_is_a_bad_request(make_client: Make) -> None:
    client, dialogue = await make_client(aes=False)
    push = push_of(False)
    for body in ("<xml><FromUserName>oX</Fro", "not xml at all", "<other><MsgType>text</MsgType></other>",
                 "<xml><MsgType><![CDATA[text]]></MsgType><Content>无发送者</Content></xml>"):
        resp = await client.post("/channels/wechat", params=push.signed_query(), data=body.encode())
        assert resp.status == 400, body
    assert dialogue.calls == []


# --------------------------------------------------------------------------------- message types

async def test_buttons_become_numbered_options_and_a_number_picks_one(make_client: Make) -> None:
    client, dialogue = await make_client(aes=True)
    push = push_of(True)
    _, body = await deliver(client, push, push.text(OPENID, "我要办事", "801"), encrypt=True)
    shown = content(push, body).findtext("Content")
    assert shown == "请选择您要办理的事项：\n回复 1 办事指南\n回复 2 反映问题"

    _, body = await deliver(client, push, push.text(OPENID, "2", "802"), encrypt=True)
    assert dialogue.calls[-1]["text"] == "/report_problem"
    assert content(push, body).findtext("Content") == "收到：/report_problem"

    # The last answer had no options: a bare number is just text now.
    await deliver(client, push, push.text(OPENID, "1", "803"), encrypt=True)
    assert dialogue.calls[-1]["text"] == "1"

    await deliver(client, push, push.text(OPENID, "我要办事", "804"), encrypt=True)
    await deliver(client, push, push.text(OPENID, "１", "805"), encrypt=True)  # full-width digit
    assert dialogue.calls[-1]["text"] == "/ask_service"


async def test_voice_subscribe_and_other_types(make_client: Make) -> None:
    client, dialogue = await make_client(aes=False)
    push = push_of(False)

    voice = push.message_xml(OPENID, "voice", {"MediaId": "m1", "Format": "amr", "Recognition": "我要查工单进度",
                                               "MsgId": "901"})
    _, body = await deliver(client, push, voice, encrypt=False)
    assert ET.fromstring(body).findtext("Content") == "收到：我要查工单进度"

    silent = push.message_xml(OPENID, "voice", {"MediaId": "m2", "Format": "amr", "Recognition": "", "MsgId": "902"})
    _, body = await deliver(client, push, silent, encrypt=False)
    assert "12345" in (ET.fromstring(body).findtext("Content") or "")

    image = push.message_xml(OPENID, "image", {"PicUrl": "http://example.invalid/p.jpg", "MediaId": "m3",
                                               "MsgId": "903"})
    _, body = await deliver(client, push, image, encrypt=False)
    assert "文字" in (ET.fromstring(body).findtext("Content") or "")

    subscribe = push.message_xml(OPENID, "event", {"Event": "subscribe"}, create_time=1700000001)
    status, body = await deliver(client, push, subscribe, encrypt=False)
    assert status == 200 and "欢迎" in (ET.fromstring(body).findtext("Content") or "")

    unsubscribe = push.message_xml(OPENID, "event", {"Event": "unsubscribe"}, create_time=1700000002)
    assert await deliver(client, push, unsubscribe, encrypt=False) == (200, "success")

    assert [c["text"] for c in dialogue.calls] == ["我要查工单进度"]


async def test_wechat_paths_are_documented(make_client: Make) -> None:
    client, _ = await make_client()
    paths = client.app[OPENAPI_PATHS]
    assert set(paths["/channels/wechat"]) == {"get", "post"}


async def test_concurrent_senders_share_one_access_token(make_client: Make, wechat_api: FakeWeChatApi,
                                                         redis: Any) -> None:
    client, _ = await make_client(aes=True)
    wechat_api.token_delay = 0.2
    outbound: Outbound = client.app[OUTBOUND]
    residents = [Conversation(id=f"C{n:016x}", channel="wechat", user_id=f"oResident{n}") for n in range(6)]
    await asyncio.gather(*(outbound.send(c, Reply(f"第{n}位居民，您的工单已受理。", author="operator"))
                           for n, c in enumerate(residents)))
    assert len(wechat_api.token_requests) == 1  # fetching twice would invalidate the first token
    assert sorted(m.touser for m in wechat_api.sent) == sorted(c.user_id for c in residents)
    # Cached until shortly before WeChat's expires_in (7200 s), never past it.
    assert 6800 <= await redis.ttl(keys.wechat_access_token(APP_ID)) < 7200


async def test_repeated_menu_click_event_reaches_the_bot_once(make_client: Make) -> None:
    client, dialogue = await make_client(aes=True)
    push = push_of(True)
    click = push.message_xml(OPENID, "event", {"Event": "CLICK", "EventKey": "/ask_progress"},
                             create_time=1700000100)
    first = await deliver(client, push, click, encrypt=True)
    again = await deliver(client, push, click, encrypt=True)  # events have no MsgId: sender + CreateTime
    assert content(push, first[1]).findtext("Content") == content(push, again[1]).findtext("Content")
    assert [(c["text"], c["message_id"]) for c in dialogue.calls] == [
        ("/ask_progress", f"ev-{OPENID}-1700000100")]
    later = push.message_xml(OPENID, "event", {"Event": "CLICK", "EventKey": "/ask_progress"},
                             create_time=1700000200)
    await deliver(client, push, later, encrypt=True)  # a new click is a new question
    assert len(dialogue.calls) == 2
    # the account's own menu key is taken as the intent it names; the same text typed is not
    assert dialogue.trusted == [True, True]
    typed = push.message_xml(OPENID, "text", {"Content": "/ask_progress", "MsgId": "9900001"},
                             create_time=1700000300)
    await deliver(client, push, typed, encrypt=True)
    assert dialogue.calls[-1]["text"] == "/ask_progress" and dialogue.trusted[-1] is False


async def test_an_answer_ready_right_at_the_deadline_is_delivered_exactly_once(
        make_client: Make, wechat_api: FakeWeChatApi) -> None:
    client, dialogue = await make_client(aes=False, passive=0.3)
    push = push_of(False)
    passive: list[str] = []
    for n, delay in enumerate([0.27, 0.28, 0.29, 0.295, 0.3, 0.305, 0.31, 0.32, 0.33]):
        dialogue.delay = delay
        status, body = await deliver(client, push, push.text(OPENID, f"问题{n}", f"90{n}"), encrypt=False)
        assert status == 200
        if body != "success":
            passive.append(ET.fromstring(body).findtext("Content") or "")
    await wait_for(lambda: len(passive) + len(wechat_api.sent) >= 9)
    await asyncio.sleep(0.3)
    answers = sorted(passive + [m.content for m in wechat_api.sent])
    assert answers == sorted(f"收到：问题{n}" for n in range(9))


# --------------------------------------------------------------- WeChat's API away for a moment


async def test_late_answer_survives_wechat_being_unreachable(make_client: Make, wechat_api: FakeWeChatApi,
                                                            redis: Any) -> None:
    """The answer is ready after the passive window, and WeChat's API is down just then: the resident
    still gets it, once, when the API is back."""
    client, _ = await make_client(delay=0.3, passive=0.05)
    wechat_api.send_errors = [-1, -1, 45009]  # unreachable twice, then rate-limited
    push = push_of(True)
    assert await deliver(client, push, push.text(OPENID, "楼道灯不亮", "601"), encrypt=True) == (200, "success")
    await wait_for(lambda: len(wechat_api.sent) == 1, timeout=8)
    assert [m.content for m in wechat_api.sent] == ["收到：楼道灯不亮"]
    await asyncio.sleep(0.5)
    assert len(wechat_api.sent) == 1 and wechat_api.send_errors == []
    assert await redis.xlen(keys.wechat_outbox()) == 0


async def test_operator_reply_is_kept_in_order_while_wechat_is_away(make_client: Make,
                                                                    wechat_api: FakeWeChatApi) -> None:
    client, _ = await make_client()
    channel = client.app[WECHAT]
    conv = Conversation.from_hash({"id": "C0123456789abcdef", "channel": "wechat", "user_id": OPENID,
                                   "state": "human"})
    wechat_api.send_errors = [-1]
    await client.app[OUTBOUND].send(conv, Reply("您好，我是值班员小林", author="operator"))
    await client.app[OUTBOUND].send(conv, Reply("已通知物业今天下午维修", author="operator"))
    await wait_for(lambda: len(wechat_api.sent) == 2, timeout=8)
    assert [m.content for m in wechat_api.sent] == ["您好，我是值班员小林", "已通知物业今天下午维修"]
    assert await channel.outbox.pending() == 0


async def test_refused_for_good_reaches_the_operator_not_a_retry_loop(make_client: Make,
                                                                      wechat_api: FakeWeChatApi) -> None:
    """45015: the resident has not written for 48 hours. Retrying cannot help; the console must know."""
    from router.adapters.wechat_api import WeChatApiError

    client, _ = await make_client()
    conv = Conversation.from_hash({"id": "C0123456789abcdef", "channel": "wechat", "user_id": OPENID,
                                   "state": "human"})
    wechat_api.send_errors = [45015]
    with pytest.raises(WeChatApiError) as info:
        await client.app[OUTBOUND].send(conv, Reply("请问问题解决了吗", author="operator"))
    assert info.value.errcode == 45015
    assert await client.app[WECHAT].outbox.pending() == 0


async def test_messages_a_dead_instance_took_are_delivered_by_another(redis: Any,
                                                                      wechat_api: FakeWeChatApi) -> None:
    """Instance A read the kept messages and died before sending; instance B claims them after the retry
    interval. A message WeChat then refuses for good is given up and reported, not retried forever."""
    import aiohttp

    from router.adapters.wechat_api import WeChatApi
    from router.adapters.wechat_outbox import GROUP, WeChatOutbox

    async with aiohttp.ClientSession() as session:
        api = WeChatApi(session, redis, base_url=wechat_api.base_url, app_id=APP_ID, app_secret=SECRET)
        lost: list[Any] = []

        async def note(u: Any) -> None:
            lost.append(u)

        a = WeChatOutbox(redis, lambda: api, consumer="router-a", retry_after=0.2)
        b = WeChatOutbox(redis, lambda: api, consumer="router-b", retry_after=0.2, on_give_up=note)
        await a.put(OPENID, ["第一条", "第二条"], conversation_id="C0123456789abcdef")
        await a.put("oOther_resident_0001", ["给另一位居民"])
        await a._ensure_group()
        taken = await redis.xreadgroup(GROUP, "router-a", {keys.wechat_outbox(): ">"}, count=10)
        assert len(taken[0][1]) == 3  # A holds them all ... and dies here
        assert await b.run_once() == 0  # not idle long enough yet: A may still be working
        await asyncio.sleep(0.25)
        wechat_api.send_errors = [0, 0, 43004]  # the other resident has unfollowed the account
        assert await b.run_once() == 2
        assert [m.content for m in wechat_api.sent] == ["第一条", "第二条"]
        assert [(u.openid, u.text) for u in lost] == [("oOther_resident_0001", "给另一位居民")]
        assert "43004" in lost[0].error
        assert await b.pending() == 0
        assert await b.run_once() == 0 and len(wechat_api.sent) == 2  # nothing is sent twice


async def test_a_later_text_never_overtakes_an_earlier_one_still_waiting(redis: Any,
                                                                          wechat_api: FakeWeChatApi) -> None:
    import aiohttp

    from router.adapters.wechat_api import WeChatApi
    from router.adapters.wechat_outbox import WeChatOutbox

    async with aiohttp.ClientSession() as session:
        api = WeChatApi(session, redis, base_url=wechat_api.base_url, app_id=APP_ID, app_secret=SECRET)
        box = WeChatOutbox(redis, lambda: api, consumer="router-a", retry_after=0.2)
        wechat_api.send_errors = [-1, 45009]  # unreachable, then the first retry is rate-limited
        assert await box.send_or_keep(OPENID, ["您的工单已受理"]) == 1
        await box.run_once()
        assert wechat_api.sent == [] and wechat_api.send_errors == []
        # a new text arrives while the first waits: it queues behind it, even in a later round
        assert await box.send_or_keep(OPENID, ["维修人员下午到"]) == 1
        await box.run_once()
        assert wechat_api.sent == []
        await asyncio.sleep(0.25)
        for _ in range(3):
            await box.run_once()
            await asyncio.sleep(0.25)
        assert [m.content for m in wechat_api.sent] == ["您的工单已受理", "维修人员下午到"]
        assert await box.waiting(OPENID) == 0 and await box.pending() == 0


async def test_late_answer_refused_for_good_is_noted_for_the_operator(make_client: Make,
                                                                      wechat_api: FakeWeChatApi,
                                                                      redis: Any) -> None:
    """WeChat says 45015 (the resident's 48-hour window is over): nothing to retry, but the answer the
    resident never got is in their conversation, where an operator can see it and call back."""
    from router.adapters.conversations import ConversationStore

    store = ConversationStore(redis)
    conv = await store.current("wechat", OPENID)
    client, _ = await make_client(delay=0.3, passive=0.05)
    wechat_api.send_errors = [45015]
    push = push_of(True)
    assert await deliver(client, push, push.text(OPENID, "我家门口的树倒了", "701"), encrypt=True) == (200, "success")

    async def noted() -> list[dict[str, Any]]:
        return [e for e in await store.transcript(conv.id) if e["author"] == "system"]

    for _ in range(100):  # the answer is late by design: poll for the note
        if await noted():
            break
        await asyncio.sleep(0.05)
    [note] = await noted()
    assert "未送达" in note["text"] and "收到：我家门口的树倒了" in note["text"] and "45015" in note["text"]
    assert wechat_api.sent == [] and await client.app[WECHAT].outbox.pending() == 0
