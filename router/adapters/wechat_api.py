"""Client for the WeChat Official Account server API: access_token and customer-service messages.

The access_token is shared by every router instance through Redis: WeChat invalidates the previous
token a few minutes after a new one is fetched, so instances that each fetched their own would knock
each other out. One instance fetches under a short Redis lock; the others wait for its token. The token
is cached until shortly before ``expires_in``, and refreshed once more when WeChat answers 40001/40014/
42001 (token invalid or expired) to a call.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from typing import Any

import aiohttp

from router import keys
from router.adapters import StrRedis

__all__ = ["WeChatApi", "WeChatApiError", "TOKEN_ERRCODES"]

log = logging.getLogger(__name__)

# access_token invalid (40001), not a valid token (40014), expired (42001): fetch a new one and retry once.
TOKEN_ERRCODES = frozenset({40001, 40014, 42001})
LOCK_SECONDS = 10
WAIT_FOR_PEER_SECONDS = 5.0

_DELETE_IF_EQUAL = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class WeChatApiError(Exception):
    """WeChat refused the call (``errcode`` ≠ 0) or could not be reached (``errcode`` -1)."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"wechat api error {errcode}: {errmsg}")
        self.errcode, self.errmsg = errcode, errmsg


class WeChatApi:
    def __init__(self, session: aiohttp.ClientSession, redis: StrRedis, *, base_url: str, app_id: str,
                 app_secret: str, timeout: float = 5.0) -> None:
        self.session = session
        self.redis = redis
        self.base_url = base_url.rstrip("/")
        self.app_id = app_id
        self.app_secret = app_secret
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._delete_if_equal = redis.register_script(_DELETE_IF_EQUAL)

    async def access_token(self, *, stale: str | None = None) -> str:
        """A valid access_token; ``stale`` is one WeChat just rejected, never to be handed out again."""
        key = keys.wechat_access_token(self.app_id)
        if stale:
            await self._delete_if_equal(keys=[key], args=[stale])
        cached = await self.redis.get(key)
        if cached and cached != stale:
            return str(cached)
        lock = keys.wechat_token_lock(self.app_id)
        me = secrets.token_hex(8)
        if await self.redis.set(lock, me, nx=True, ex=LOCK_SECONDS):
            try:
                cached = await self.redis.get(key)  # a peer may have finished between our two reads
                if cached and cached != stale:
                    return str(cached)
                return await self._fetch_token(key)
            finally:
                await self._delete_if_equal(keys=[lock], args=[me])
        # Another instance is fetching: wait for its token rather than invalidate it with our own.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_FOR_PEER_SECONDS
        while loop.time() < deadline:
            await asyncio.sleep(0.05)
            cached = await self.redis.get(key)
            if cached and cached != stale:
                return str(cached)
        return await self._fetch_token(key)

    async def _fetch_token(self, key: str) -> str:
        if not self.app_id or not self.app_secret:
            raise WeChatApiError(-1, "WECHAT_APP_ID / WECHAT_APP_SECRET are not set")
        params = {"grant_type": "client_credential", "appid": self.app_id, "secret": self.app_secret}
        data = await self._call("GET", "/cgi-bin/token", params=params)
        token, expires_in = data.get("access_token"), data.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int) or expires_in <= 0:
            raise WeChatApiError(-1, "token answer without access_token/expires_in")
        # Stop using it shortly before WeChat does (5 minutes, or a fifth of a short lifetime).
        ttl = max(1, expires_in - min(300, expires_in // 5))
        await self.redis.set(key, token, ex=ttl)
        log.info("wechat access_token refreshed, cached for %ss", ttl)
        return token

    async def send_text(self, openid: str, content: str) -> None:
        """One customer-service text message (客服消息) to a resident who wrote in the last 48 hours."""
        body = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        await self._with_token("POST", "/cgi-bin/message/custom/send", body)

    async def _with_token(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        token = await self.access_token()
        try:
            return await self._call(method, path, params={"access_token": token}, body=body)
        except WeChatApiError as exc:
            if exc.errcode not in TOKEN_ERRCODES:
                raise
            log.info("wechat rejected the access_token (%s); refreshing once", exc.errcode)
        token = await self.access_token(stale=token)
        return await self._call(method, path, params={"access_token": token}, body=body)

    async def _call(self, method: str, path: str, *, params: dict[str, str],
                    body: dict[str, Any] | None = None) -> dict[str, Any]:
        # WeChat shows \\uXXXX escapes literally in some APIs: send the Chinese as UTF-8 itself.
        data = json.dumps(body, ensure_ascii=False).encode("utf-8") if body is not None else None
        headers = {"Content-Type": "application/json; charset=utf-8"} if data is not None else None
        try:
            async with self.session.request(method, self.base_url + path, params=params, data=data,
                                            headers=headers, timeout=self.timeout) as resp:
                if resp.status != 200:
                    raise WeChatApiError(-1, f"HTTP {resp.status}")
                answer = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise WeChatApiError(-1, str(exc) or type(exc).__name__) from exc
        if not isinstance(answer, dict):
            raise WeChatApiError(-1, "answer is not a JSON object")
        errcode = answer.get("errcode", 0)
        if errcode:
            raise WeChatApiError(int(errcode), str(answer.get("errmsg", "")))
        return answer
