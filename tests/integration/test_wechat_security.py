"""What an attacker could send to the WeChat callback, and the genuine WeChat traffic that must still pass.

Same style as test_wechat.py: real Redis, a real local server standing in for WeChat's API, pushes built
the way WeChat's servers build them (tests.fakes.wechat_server), and a small fake dialogue that records
every call — "nothing processed" means it was never called and no MsgId was claimed in Redis.

Settings come from the environment (``Settings.from_env``), as in production, so WECHAT_ACCOUNT_ID is
exercised through the same path an operator uses.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import os
import secrets
import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from aiohttp.test_utils import TestClient
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from router import keys
from router.app import Deps, create_app
from router.channels.wechat import WECHAT
from router.channels.wechat_crypto import pkcs7_pad, signature
from router.settings import Settings
from tests.conftest import shared_domain
from tests.fakes.dialogue import FakeDialogue
from tests.fakes.wechat_server import FakeWeChatApi, WeChatPush

TOKEN = "community-token"
APP_ID = "wx0123456789abcdef"
SECRET = "app-secret-for-tests"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OPENID = "oResident_0123456789abcdefABC"
ACCOUNT = "gh_0123456789ab"  # WeChatPush's default ToUserName
LONG_AGO = "1000000000"  # 2001-09-09: a push logged once, replayed years later


Make = Callable[..., Awaitable[tuple[TestClient, FakeDialogue]]]


@pytest.fixture
async def wechat_api() -> AsyncIterator[FakeWeChatApi]:
    api = FakeWeChatApi(APP_ID, SECRET)
    await api.start()
    yield api
    await api.close()


@pytest.fixture
def make_client(redis: Any, wechat_api: FakeWeChatApi, aiohttp_client: Any,
                monkeypatch: pytest.MonkeyPatch) -> Make:
    async def make(*, aes: bool = True, account: str = "") -> tuple[TestClient, FakeDialogue]:
        for name, value in {"WECHAT_TOKEN": TOKEN, "WECHAT_APP_ID": APP_ID, "WECHAT_APP_SECRET": SECRET,
                            "WECHAT_ENCODING_AES_KEY": AES_KEY if aes else "",
                            "WECHAT_API_BASE": wechat_api.base_url, "WECHAT_ACCOUNT_ID": account}.items():
            monkeypatch.setenv(name, value)
        dialogue = FakeDialogue(0.05)
        app = create_app(Settings.from_env(), Deps(redis=redis, domain=shared_domain(), dialogue=dialogue),
                         with_scheduler=False)
        app[WECHAT].passive_seconds = 2.0
        return await aiohttp_client(app), dialogue

    return make


def plain(push: WeChatPush, xml: str | bytes, *, timestamp: str | None = None, nonce: str | None = None
          ) -> tuple[dict[str, str], bytes]:
    """A plaintext push (明文模式) with the query signed for ``timestamp`` / ``nonce``."""
    body = xml.encode("utf-8") if isinstance(xml, str) else xml
    return push.signed_query(timestamp=timestamp, nonce=nonce), body


def sealed(push: WeChatPush, xml: str | bytes, *, timestamp: str | None = None, nonce: str | None = None,
           outer: str = "") -> tuple[dict[str, str], bytes]:
    """A 安全模式 push (``outer``: the plaintext copy 兼容模式 puts beside <Encrypt>), freshly encrypted."""
    assert push.crypto is not None
    query = push.signed_query(timestamp=timestamp, nonce=nonce)
    encrypted = push.crypto.encrypt(xml) if isinstance(xml, str) else _encrypt_bytes(xml)
    query.update(encrypt_type="aes",
                 msg_signature=signature(push.token, query["timestamp"], query["nonce"], encrypted))
    body = (f"<xml><ToUserName><![CDATA[{push.account}]]></ToUserName>{outer}"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>")
    return query, body.encode("utf-8")


def _encrypt_bytes(raw: bytes) -> str:
    """Encrypt bytes that are not UTF-8 (WeChatCrypto.encrypt takes text), exactly as WeChat's format says."""
    key = base64.b64decode(AES_KEY + "=")
    plain_bytes = os.urandom(16) + struct.pack(">I", len(raw)) + raw + APP_ID.encode()
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(pkcs7_pad(plain_bytes)) + enc.finalize()).decode()


async def post(client: TestClient, query: dict[str, str], body: bytes, **headers: str) -> tuple[int, str]:
    resp = await client.post("/channels/wechat", params=query, data=body,
                             headers={"Content-Type": "text/xml", **headers})
    return resp.status, await resp.text()


def answer(push: WeChatPush, body: str) -> str:
    return push.open_reply(body).findtext("Content") or ""


async def claimed(redis: Any) -> list[str]:
    """MsgIds / events the channel took for processing."""
    return sorted(await redis.keys("rsa:wechat:msgid:*") + await redis.keys("rsa:wechat:event:*"))


# ------------------------------------------------------------------------- 1. freshness and replay

@pytest.mark.parametrize("aes", [False, True], ids=["plaintext", "aes"])
async def test_a_push_signed_long_ago_or_far_ahead_is_refused(make_client: Make, redis: Any, aes: bool) -> None:
    client, dialogue = await make_client(aes=aes)
    push = WeChatPush(TOKEN, APP_ID, AES_KEY if aes else "")
    seal = sealed if aes else plain
    for n, ts in enumerate([LONG_AGO, str(int(time.time()) - 301), str(int(time.time()) + 3600)]):
        status, body = await post(client, *seal(push, push.text(OPENID, "冒充的消息", f"11{n}"), timestamp=ts))
        assert status == 403, (ts, status, body)
        assert "timestamp" in body
    assert dialogue.calls == [] and await claimed(redis) == []

    # A genuine push a little late (network, clock skew) is still inside the window.
    status, body = await post(client, *seal(push, push.text(OPENID, "真的消息", "119"),
                                            timestamp=str(int(time.time()) - 200)))
    assert status == 200
    assert answer(push, body) == "收到：真的消息"


async def test_url_verification_signed_long_ago_is_refused(make_client: Make) -> None:
    client, _ = await make_client()
    query = WeChatPush(TOKEN, APP_ID).signed_query(timestamp=LONG_AGO)
    resp = await client.get("/channels/wechat", params={**query, "echostr": "8203619827364"})
    assert resp.status == 403
    assert "8203619827364" not in await resp.text()


async def test_a_logged_callback_url_cannot_carry_another_message(make_client: Make, redis: Any) -> None:
    """In 明文模式 the signature covers only token, timestamp and nonce — not the body. Whoever saw one
    callback URL (a proxy log, a referer) could post anything as anyone under it: the nonce is spent."""
    client, dialogue = await make_client(aes=False)
    push = WeChatPush(TOKEN, APP_ID)
    query, body = plain(push, push.text(OPENID, "路灯坏了", "201"))
    assert (await post(client, query, body))[0] == 200

    forged = push.text("oSomeoneElse_0123456789abcdef", "我要撤销工单", "202")
    status, text = await post(client, query, forged.encode())
    assert status == 403 and "nonce" in text
    assert [c["text"] for c in dialogue.calls] == ["路灯坏了"]
    assert await redis.exists(keys.wechat_msgid("202")) == 0

    # The same MsgId with other content under the spent nonce: refused too (not just "answered again").
    status, _ = await post(client, query, push.text(OPENID, "改过的内容", "201").encode())
    assert status == 403

    # The spent nonce is remembered at least as long as its timestamp is acceptable.
    ttl = await redis.ttl(keys.wechat_nonce(query["timestamp"], query["nonce"]))
    assert ttl >= 2 * 300


async def test_wechat_retries_with_the_same_query_get_the_same_answer(make_client: Make) -> None:
    """WeChat retries an unanswered push with the very same URL — signature, timestamp and nonce
    unchanged (seen in access logs: four POSTs of one MsgId, one query string). The nonce cache must
    take that as the retry it is; the MsgId de-duplication answers it."""
    client, dialogue = await make_client(aes=False)
    push = WeChatPush(TOKEN, APP_ID)
    query, body = plain(push, push.text(OPENID, "楼道灯不亮", "301"))
    results = await asyncio.gather(*(post(client, query, body) for _ in range(3)))
    results.append(await post(client, query, body))  # and once more after the answer
    assert [s for s, _ in results] == [200] * 4
    assert {ET.fromstring(b).findtext("Content") for _, b in results} == {"收到：楼道灯不亮"}
    assert len(dialogue.calls) == 1


async def test_wechat_retries_in_aes_mode_with_the_same_nonce_get_the_same_answer(make_client: Make) -> None:
    """A 安全模式 retry may be encrypted afresh (new random prefix, so a new Encrypt and msg_signature)
    under the same timestamp and nonce: it is still the same message and gets the same answer."""
    client, dialogue = await make_client(aes=True)
    push = WeChatPush(TOKEN, APP_ID, AES_KEY)
    xml = push.text(OPENID, "垃圾没人清运", "401")
    ts, nonce = str(int(time.time())), str(secrets.randbelow(10**9))
    first = await post(client, *sealed(push, xml, timestamp=ts, nonce=nonce))
    again = await post(client, *sealed(push, xml, timestamp=ts, nonce=nonce))
    later = await post(client, *sealed(push, xml))  # a retry under a new nonce
    assert [s for s, _ in (first, again, later)] == [200, 200, 200]
    assert {answer(push, b) for _, b in (first, again, later)} == {"收到：垃圾没人清运"}
    assert len(dialogue.calls) == 1


# ------------------------------------------------------------------------------ 2. 安全模式 only

async def test_plaintext_push_is_refused_when_an_aes_key_is_configured(make_client: Make, redis: Any) -> None:
    client, dialogue = await make_client(aes=True)
    push = WeChatPush(TOKEN, APP_ID, AES_KEY)
    for query, body in (plain(push, push.text(OPENID, "明文冒充", "501")),
                        ({**plain(push, "")[0], "encrypt_type": "raw"}, push.text(OPENID, "明文", "502").encode())):
        status, text = await post(client, query, body)
        assert status == 403, text
        assert "安全模式" in text
    assert dialogue.calls == [] and await claimed(redis) == []


async def test_compat_mode_push_is_read_from_its_encrypted_copy_only(make_client: Make) -> None:
    """兼容模式 sends encrypt_type=aes and msg_signature like 安全模式, with a plaintext copy beside
    <Encrypt>. Only the signed, encrypted copy counts: the plaintext beside it is not even read."""
    client, dialogue = await make_client(aes=True)
    push = WeChatPush(TOKEN, APP_ID, AES_KEY)
    outer = ("<FromUserName><![CDATA[oAttacker_0123456789abcdef]]></FromUserName><CreateTime>1</CreateTime>"
             "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[篡改的明文]]></Content><MsgId>1</MsgId>")
    status, body = await post(client, *sealed(push, push.text(OPENID, "真实的密文", "601"), outer=outer))
    assert status == 200
    assert answer(push, body) == "收到：真实的密文"
    assert dialogue.calls == [{"channel": "wechat", "user_id": OPENID, "text": "真实的密文", "message_id": "601"}]


async def test_aes_push_without_a_valid_msg_signature_is_refused(make_client: Make) -> None:
    client, dialogue = await make_client(aes=True)
    push = WeChatPush(TOKEN, APP_ID, AES_KEY)
    query, body = sealed(push, push.text(OPENID, "x", "701"))
    for bad in ({k: v for k, v in query.items() if k != "msg_signature"}, {**query, "msg_signature": "0" * 40}):
        assert (await post(client, bad, body))[0] == 403
    assert dialogue.calls == []


# ------------------------------------------------------------------------------------ 3. ToUserName

@pytest.mark.parametrize("aes", [False, True], ids=["plaintext", "aes"])
async def test_a_message_to_another_account_is_refused(make_client: Make, redis: Any, aes: bool) -> None:
    client, dialogue = await make_client(aes=aes, account=ACCOUNT)
    seal = sealed if aes else plain
    other = WeChatPush(TOKEN, APP_ID, AES_KEY if aes else "", account="gh_ffffffffffff")
    status, text = await post(client, *seal(other, other.text(OPENID, "发给别的公众号", "801")))
    assert status == 403 and "ToUserName" in text
    assert dialogue.calls == [] and await claimed(redis) == []

    ours = WeChatPush(TOKEN, APP_ID, AES_KEY if aes else "", account=ACCOUNT)
    status, body = await post(client, *seal(ours, ours.text(OPENID, "发给本公众号", "802")))
    assert status == 200 and answer(ours, body) == "收到：发给本公众号"


async def test_without_a_configured_account_any_is_accepted_and_none_is_learnt(make_client: Make) -> None:
    client, dialogue = await make_client(aes=False, account="")
    for n, account in enumerate(["gh_aaaaaaaaaaaa", "gh_bbbbbbbbbbbb", "gh_aaaaaaaaaaaa"]):
        push = WeChatPush(TOKEN, APP_ID, account=account)
        status, _ = await post(client, *plain(push, push.text(OPENID, f"第{n}条", f"81{n}")))
        assert status == 200
    assert len(dialogue.calls) == 3


# ------------------------------------------------------------------------------- 4. malformed input

def _msg(**fields: str | None) -> str:
    """A text message with some fields changed (None: left out)."""
    base: dict[str, str | None] = {"ToUserName": ACCOUNT, "FromUserName": OPENID, "CreateTime": str(int(time.time())),
                                   "MsgType": "text", "Content": "你好", "MsgId": "9001"}
    base.update(fields)
    return "<xml>" + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in base.items() if v is not None) + "</xml>"


MALFORMED: dict[str, bytes] = {
    "empty": b"",
    "broken": b"<xml><FromUserName>oX</Fro",
    "not xml": "不是XML".encode(),
    "other root": b"<other><MsgType>text</MsgType></other>",
    "external entity": (b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                        + _msg(Content="&x;").replace("<![CDATA[&x;]]>", "&x;").encode()),
    "gbk declared": ('<?xml version="1.0" encoding="gbk"?>' + _msg(Content="中文")).encode("gbk"),
    "latin-1 declared": b'<?xml version="1.0" encoding="iso-8859-1"?>' + _msg(Content="caf\xe9").encode("latin-1"),
    "utf-16": _msg().encode("utf-16"),
    "invalid utf-8": _msg(Content="x").encode().replace(b"x", b"\xff\xfe"),
    "no ToUserName": _msg(ToUserName=None).encode(),
    "ToUserName not an id": _msg(ToUserName="gh_<script>").encode(),
    "no FromUserName": _msg(FromUserName=None).encode(),
    "no CreateTime": _msg(CreateTime=None).encode(),
    "CreateTime not a number": _msg(CreateTime="yesterday").encode(),
    "no MsgType": _msg(MsgType=None).encode(),
    "event without Event": _msg(MsgType="event", Content=None, MsgId=None).encode(),
    "two senders": _msg().replace("</xml>", "<FromUserName>oOther_0123456789abcdef</FromUserName></xml>").encode(),
    "MsgId malformed": _msg(MsgId="1;DROP").encode(),
}


@pytest.mark.parametrize("body", list(MALFORMED.values()), ids=list(MALFORMED))
async def test_a_malformed_plaintext_body_is_a_clear_400(make_client: Make, redis: Any, body: bytes) -> None:
    client, dialogue = await make_client(aes=False)
    push = WeChatPush(TOKEN, APP_ID)
    status, text = await post(client, *plain(push, body))
    assert status == 400, text
    assert "Traceback" not in text and text.strip()
    assert dialogue.calls == [] and await claimed(redis) == []


@pytest.mark.parametrize("name", ["gbk declared", "utf-16", "no ToUserName", "two senders", "external entity"])
async def test_a_malformed_message_inside_encrypt_is_a_clear_400(make_client: Make, redis: Any, name: str) -> None:
    client, dialogue = await make_client(aes=True)
    push = WeChatPush(TOKEN, APP_ID, AES_KEY)
    status, text = await post(client, *sealed(push, MALFORMED[name]))
    assert status == 400, text
    assert dialogue.calls == [] and await claimed(redis) == []


@pytest.mark.parametrize("timestamp,nonce", [("", "123"), ("yesterday", "123"), ("9" * 5000, "123"),
                                             ("-1", "123"), (None, ""), (None, "{slot}"), (None, "n" * 200)],
                         ids=["no timestamp", "word", "5000 digits", "negative", "no nonce", "braces", "long"])
async def test_a_malformed_query_is_a_clear_400(make_client: Make, redis: Any, timestamp: str | None,
                                               nonce: str) -> None:
    client, dialogue = await make_client(aes=False)
    ts = str(int(time.time())) if timestamp is None else timestamp
    query = {"signature": signature(TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}  # signed as sent
    status, text = await post(client, query, _msg().encode())
    assert status == 400, text
    assert dialogue.calls == [] and await claimed(redis) == []


async def test_a_compressed_body_is_refused_unread(make_client: Make, redis: Any) -> None:
    """WeChat never compresses its pushes; a gzip body is at best a stranger, at worst a bomb that the
    size limit would only meet after decompressing."""
    client, dialogue = await make_client(aes=False)
    push = WeChatPush(TOKEN, APP_ID)
    query, body = plain(push, push.text(OPENID, "压缩过的", "9101"))
    status, _ = await post(client, query, gzip.compress(body), **{"Content-Encoding": "gzip"})
    assert status == 415
    bomb = gzip.compress(b"<xml>" + b" " * 20_000_000 + b"</xml>")
    status, _ = await post(client, plain(push, b"")[0], bomb, **{"Content-Encoding": "gzip"})
    assert status in (413, 415)
    assert dialogue.calls == [] and await claimed(redis) == []
