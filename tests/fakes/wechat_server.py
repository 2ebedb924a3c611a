"""WeChat's two sides, for tests: its server API (a real local HTTP server) and its message pushes.

``FakeWeChatApi`` answers ``GET /cgi-bin/token`` and ``POST /cgi-bin/message/custom/send`` the way the
Official Account API does (errcode/errmsg JSON, 40013 for a wrong appid, 40001/42001 for a bad or
expired token) and records every request it got. ``WeChatPush`` builds what WeChat's servers send to our
callback URL: signed query strings and message XML, encrypted in 安全模式, and opens encrypted replies.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree as ET

from aiohttp import web

from router.channels.wechat_crypto import WeChatCrypto, signature

__all__ = ["FakeWeChatApi", "WeChatPush", "SentMessage"]


@dataclass
class SentMessage:
    access_token: str
    body: dict[str, Any]

    @property
    def touser(self) -> str:
        return str(self.body.get("touser", ""))

    @property
    def content(self) -> str:
        return str(self.body.get("text", {}).get("content", ""))


@dataclass
class FakeWeChatApi:
    app_id: str
    app_secret: str
    expires_in: int = 7200
    token_delay: float = 0.0  # seconds the token endpoint takes, to let concurrent callers race
    token_requests: list[dict[str, str]] = field(default_factory=list)
    sent: list[SentMessage] = field(default_factory=list)
    raw_bodies: list[bytes] = field(default_factory=list)
    valid_tokens: set[str] = field(default_factory=set)
    expired_tokens: set[str] = field(default_factory=set)
    base_url: str = ""
    # errcodes the next custom/send calls answer with, in order (-1: HTTP 503, 0: accepted)
    send_errors: list[int] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self._token)
        app.router.add_post("/cgi-bin/message/custom/send", self._custom_send)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def expire_all(self) -> None:
        """WeChat-side expiry (e.g. the token was refreshed elsewhere): the next call gets 42001."""
        self.expired_tokens |= self.valid_tokens
        self.valid_tokens.clear()

    async def _token(self, request: web.Request) -> web.Response:
        q = dict(request.query)
        self.token_requests.append(q)
        await asyncio.sleep(self.token_delay)
        if q.get("grant_type") != "client_credential":
            return web.json_response({"errcode": 40002, "errmsg": "invalid grant_type"})
        if q.get("appid") != self.app_id:
            return web.json_response({"errcode": 40013, "errmsg": "invalid appid"})
        if q.get("secret") != self.app_secret:
            return web.json_response({"errcode": 40125, "errmsg": "invalid appsecret"})
        token = "ACCESS_TOKEN_" + secrets.token_hex(6)
        self.valid_tokens.add(token)
        return web.json_response({"access_token": token, "expires_in": self.expires_in})

    async def _custom_send(self, request: web.Request) -> web.Response:
        token = request.query.get("access_token", "")
        raw = await request.read()
        self.raw_bodies.append(raw)
        code = self.send_errors.pop(0) if self.send_errors else 0  # 0: this call goes through
        if code == -1:
            return web.Response(status=503, text="service unavailable")
        if code:
            return web.json_response({"errcode": code, "errmsg": f"error {code}"})
        if token in self.expired_tokens:
            return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
        if token not in self.valid_tokens:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return web.json_response({"errcode": 47001, "errmsg": "data format error"})
        if body.get("msgtype") != "text" or not body.get("touser"):
            return web.json_response({"errcode": 40008, "errmsg": "invalid message type"})
        self.sent.append(SentMessage(token, body))
        return web.json_response({"errcode": 0, "errmsg": "ok"})


class WeChatPush:
    """What WeChat's servers POST to the callback URL, plaintext or 安全模式."""

    def __init__(self, token: str, app_id: str, aes_key: str = "", account: str = "gh_0123456789ab") -> None:
        self.token = token
        self.account = account
        self.crypto = WeChatCrypto(token, aes_key, app_id) if aes_key else None

    def signed_query(self, *, timestamp: str | None = None, nonce: str | None = None) -> dict[str, str]:
        ts = timestamp or str(int(time.time()))
        nc = nonce or str(secrets.randbelow(10**9))
        return {"signature": signature(self.token, ts, nc), "timestamp": ts, "nonce": nc}

    def message_xml(self, openid: str, msg_type: str, fields: dict[str, str], *, create_time: int | None = None
                    ) -> str:
        inner = "".join(
            f"<{k}>{v}</{k}>" if k in ("MsgId", "CreateTime") else f"<{k}><![CDATA[{v}]]></{k}>"
            for k, v in fields.items()
        )
        return (f"<xml><ToUserName><![CDATA[{self.account}]]></ToUserName>"
                f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
                f"<CreateTime>{create_time or int(time.time())}</CreateTime>"
                f"<MsgType><![CDATA[{msg_type}]]></MsgType>{inner}</xml>")

    def text(self, openid: str, content: str, msg_id: str) -> str:
        return self.message_xml(openid, "text", {"Content": content, "MsgId": msg_id})

    def push(self, xml: str, *, encrypt: bool) -> tuple[dict[str, str], bytes]:
        """Query string and body of one push; encrypted pushes carry msg_signature and encrypt_type=aes."""
        query = self.signed_query()
        if not encrypt:
            return query, xml.encode("utf-8")
        assert self.crypto is not None
        encrypted = self.crypto.encrypt(xml)
        query.update(encrypt_type="aes",
                     msg_signature=signature(self.token, query["timestamp"], query["nonce"], encrypted))
        body = f"<xml><ToUserName><![CDATA[{self.account}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        return query, body.encode("utf-8")

    def open_reply(self, body: str) -> ET.Element:
        """The passive reply as the resident's WeChat would show it: checked and decrypted if needed."""
        root = ET.fromstring(body)
        if self.crypto is None or root.find("Encrypt") is None:
            return root
        encrypted = root.findtext("Encrypt") or ""
        self.crypto.check_msg_signature(root.findtext("MsgSignature") or "", root.findtext("TimeStamp") or "",
                                        root.findtext("Nonce") or "", encrypted)
        return ET.fromstring(self.crypto.decrypt(encrypted))
