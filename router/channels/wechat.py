"""WeChat Official Account channel (contract item 7): URL verification and resident messages.

WeChat waits 5 seconds for a passive reply and then retries the same message up to three times. So the
bot gets ~4 seconds: if it answers in time, the answer goes back passively in the HTTP response
(encrypted in 安全模式); if not, WeChat is told ``success`` at once and the answer follows through the
customer-service message API. Every delivery is claimed once in Redis by MsgId (events: FromUserName +
CreateTime), so a retry never reaches the bot a second time: while the first is still running it waits
for the outcome, after a passive answer it repeats that answer, after a ``success`` it says ``success``
again — the customer-service message is sent once, by the delivery that owns the message.

A customer-service message WeChat cannot take at once (unreachable, busy, rate-limited) is not dropped:
it waits in a Redis Stream (router.adapters.wechat_outbox) that every instance retries, and one WeChat
refuses for good (the resident's 48-hour window is over) is noted in the conversation for the operator.

WeChat has no buttons in a text message: buttons become numbered options ("回复 1 …"), and the last
ones shown are kept in Redis per OpenID so that a reply "1" becomes the first button's payload.

What the callback refuses (see ``receive`` for the order and the reasons):

- a ``timestamp`` more than ``TIMESTAMP_WINDOW_SECONDS`` (±300 s) from our clock, GET and POST (403);
- a (timestamp, nonce) pair spent on another message (403). WeChat's retries reuse the whole query
  string — signature, timestamp and nonce — so the pair is bound to the message it first carried
  (``InboundMessage.fingerprint``) in Redis for twice the window; the same message under the same pair
  is a retry and is answered from the MsgId de-duplication like any other;
- plaintext when WECHAT_ENCODING_AES_KEY is set (403): 安全模式 and 兼容模式 only;
- a ToUserName other than WECHAT_ACCOUNT_ID, when that is set (403);
- a body that is not a well-formed WeChat message in UTF-8 (400), over the size limit (413) or
  compressed (415) — before anything is claimed or processed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import Element, ParseError

import aiohttp
import defusedxml
import defusedxml.ElementTree as SafeET
from aiohttp import web

from router import keys
from router.adapters.once import Once
from router.adapters.wechat_api import WeChatApi, WeChatApiError
from router.adapters.wechat_outbox import Undelivered, WeChatOutbox
from router.appkeys import CONVERSATIONS, DIALOGUE, OPENAPI_PATHS, OUTBOUND, REDIS, SETTINGS
from router.channels.wechat_crypto import (
    TIMESTAMP_WINDOW_SECONDS,
    CryptoError,
    InvalidSignature,
    StaleTimestamp,
    WeChatCrypto,
    check_signature,
    check_timestamp,
)
from router.http import ApiError, read_limited
from router.services.messages import Button, Reply
from router.texts import text as t

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from router.settings import Settings

__all__ = [
    "setup_routes",
    "WeChatSender",
    "WeChatChannel",
    "WECHAT",
    "InboundMessage",
    "BadMessage",
    "parse_xml",
    "passive_text_xml",
    "render_replies",
    "TIMESTAMP_WINDOW_SECONDS",
]

log = logging.getLogger(__name__)

PASSIVE_SECONDS = 4.0  # WeChat gives up after 5 s; leave room for the network and the encryption
PENDING_TTL = 60  # a delivery whose owner died is forgotten after this; WeChat's retries end within ~15 s
OUTCOME_TTL = 3600
_PENDING = json.dumps({"s": "pending"})  # a claimed delivery whose outcome is not known yet
SHUTDOWN_GRACE_SECONDS = 10.0
_OPENID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_ACCOUNT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # the original id, gh_ and 12 hex digits
_MSGID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
_CREATE_TIME = re.compile(r"^[0-9]{1,12}$")
# WeChat's nonces are decimal; 1–64 letters, digits, "_" or "-" keeps the Redis key (and its hash tag) sane.
_NONCE = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
_DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]*?\bencoding\s*=\s*["']([^"']*)["']""")
_UTF8_BOM = b"\xef\xbb\xbf"
# The fields read from a message: each may appear once, so no two readers can see different values.
_FIELDS = ("ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId", "Event", "EventKey",
           "Recognition", "Encrypt")
_CHOICE = re.compile(r"^\s*(\d{1,2})\s*[.。、)）]?\s*$")

def _say(key: str, **params: object) -> str:
    """The channel's own texts live in router/data/messages_zh.json (keys wechat_*)."""
    return t(key, **params)


class BadMessage(ValueError):
    """The body is not a WeChat message we can read: answered 400 (WeChat does not retry on 4xx)."""


# ---------------------------------------------------------------------------------------------- parsing

def parse_xml(data: bytes | str) -> Element:
    """The message element, refusing DTDs and entities outright, so an XML bomb is never expanded.

    UTF-8 only, as WeChat sends it: bytes that are not UTF-8 (UTF-16, GBK…) or a declaration naming another
    encoding are refused rather than guessed at — expat would read Latin-1 as mojibake and fail on GBK.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadMessage("the message is not UTF-8") from None
    declared = _DECLARED_ENCODING.match(raw.removeprefix(_UTF8_BOM))
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        raise BadMessage("the message declares an encoding other than UTF-8")
    try:
        root = SafeET.fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        raise BadMessage(f"XML with DTD or entities is not accepted ({type(exc).__name__})") from None
    except ParseError as exc:
        raise BadMessage(f"broken XML: {exc}") from None
    except ValueError as exc:  # expat's own refusals (e.g. an encoding it cannot read)
        raise BadMessage(f"unreadable XML: {exc}") from None
    if root.tag != "xml":
        raise BadMessage("the message root element must be <xml>")
    for tag in _FIELDS:
        if len(root.findall(tag)) > 1:
            raise BadMessage(f"{tag} appears more than once")
    return root


@dataclass(frozen=True)
class InboundMessage:
    to_user: str  # our account's original id (gh_…)
    from_user: str  # the resident's OpenID
    create_time: str
    msg_type: str
    content: str = ""
    msg_id: str = ""
    event: str = ""
    event_key: str = ""
    recognition: str = ""

    @classmethod
    def from_xml(cls, root: Element) -> InboundMessage:
        def field(tag: str) -> str:
            return (root.findtext(tag) or "").strip()

        msg = cls(
            to_user=field("ToUserName"), from_user=field("FromUserName"), create_time=field("CreateTime"),
            msg_type=field("MsgType").lower(), content=root.findtext("Content") or "", msg_id=field("MsgId"),
            event=field("Event").lower(), event_key=field("EventKey"), recognition=field("Recognition"),
        )
        if not _ACCOUNT.fullmatch(msg.to_user):
            raise BadMessage("ToUserName is missing or not an account id")
        if not _OPENID.fullmatch(msg.from_user):
            raise BadMessage("FromUserName is missing or not an OpenID")
        if not _CREATE_TIME.fullmatch(msg.create_time):
            raise BadMessage("CreateTime is missing or not epoch seconds")
        if not msg.msg_type:
            raise BadMessage("MsgType is missing")
        if msg.msg_type == "event" and not msg.event:
            raise BadMessage("an event message without Event")
        if msg.msg_id and not _MSGID.fullmatch(msg.msg_id):
            raise BadMessage("MsgId is malformed")
        return msg

    def fingerprint(self) -> str:
        """What this message says, whoever encrypted it and however: equal for WeChat's retries of it."""
        fields = json.dumps(dataclasses.astuple(self), ensure_ascii=False)
        return hashlib.sha256(fields.encode("utf-8")).hexdigest()

    def delivery_key(self) -> str:
        """What identifies this delivery across WeChat's retries."""
        if self.msg_id:
            return keys.wechat_msgid(self.msg_id)
        return keys.wechat_event(self.from_user, self.create_time)

    def dialogue_id(self) -> str:
        return self.msg_id or f"ev-{self.from_user}-{self.create_time}"


# -------------------------------------------------------------------------------------------- rendering

def _cdata(value: str) -> str:
    # "]]>" cannot appear inside CDATA: close the section before the ">" and open a new one.
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def passive_text_xml(to_user: str, from_user: str, content: str, *, now: int | None = None) -> str:
    """A passive text reply as WeChat expects it (To/From swapped relative to the message)."""
    created = int(time.time()) if now is None else now
    return (f"<xml><ToUserName>{_cdata(to_user)}</ToUserName><FromUserName>{_cdata(from_user)}</FromUserName>"
            f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content>{_cdata(content)}</Content></xml>")


def render_replies(replies: list[Reply]) -> tuple[list[str], list[Button]]:
    """One text per reply, buttons turned into options numbered across all replies, and those buttons."""
    texts: list[str] = []
    shown: list[Button] = []
    for reply in replies:
        lines = [reply.text] if reply.text else []
        for button in reply.buttons:
            shown.append(button)
            lines.append(_say("wechat_option", n=len(shown), title=button.title))
        if lines:
            texts.append("\n".join(lines))
    return texts, shown


def _choice_number(text: str) -> int | None:
    m = _CHOICE.match(unicodedata.normalize("NFKC", text))
    return int(m.group(1)) if m else None


# ---------------------------------------------------------------------------------------------- channel

class WeChatChannel:
    """Per-app state of the channel; the HTTP client and API come to life in the app's cleanup context."""

    def __init__(self, app: web.Application, *, passive_seconds: float = PASSIVE_SECONDS,
                 timestamp_window: int = TIMESTAMP_WINDOW_SECONDS) -> None:
        self.app = app
        self.passive_seconds = passive_seconds
        self.timestamp_window = timestamp_window
        s = self.settings
        self.crypto = (WeChatCrypto(s.wechat_token, s.wechat_encoding_aes_key, s.wechat_app_id)
                       if s.wechat_encoding_aes_key else None)
        self._api: WeChatApi | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._outbox: WeChatOutbox | None = None
        # seconds a failed text waits before it is tried again; above the longest send (two 5 s API calls
        # plus a token refresh), so an attempt still running is never claimed and sent twice
        self.outbox_retry_after = 30.0
        self.outbox_interval = 2.0

    @property
    def settings(self) -> Settings:
        return self.app[SETTINGS]

    @property
    def redis(self) -> aioredis.Redis:
        return self.app[REDIS]

    @property
    def deliveries(self) -> Once:
        """Deliveries by MsgId (events: FromUserName + CreateTime): claimed {"s": "pending"} for
        PENDING_TTL, then {"s": "replied", "texts": [...]}, {"s": "deferred"} or {"s": "sent"}."""
        return Once(self.redis, claim_ttl=PENDING_TTL, answer_ttl=OUTCOME_TTL, marker=_PENDING)

    @property
    def outbox(self) -> WeChatOutbox:
        if self._outbox is None:
            raise RuntimeError("the WeChat outbox starts with the app (cleanup context not entered)")
        return self._outbox

    @property
    def api(self) -> WeChatApi:
        if self._api is None:
            raise RuntimeError("the WeChat API client starts with the app (cleanup context not entered)")
        return self._api

    async def client_ctx(self, app: web.Application) -> AsyncIterator[None]:
        s = self.settings
        async with aiohttp.ClientSession() as session:
            self._api = WeChatApi(session, self.redis, base_url=s.wechat_api_base, app_id=s.wechat_app_id,
                                  app_secret=s.wechat_app_secret)
            self._outbox = WeChatOutbox(self.redis, lambda: self.api, consumer=f"router-{secrets.token_hex(6)}",
                                        retry_after=self.outbox_retry_after, on_give_up=self._note_undelivered)
            stop = asyncio.Event()
            retrying = (asyncio.create_task(self.outbox.run(stop, interval=self.outbox_interval))
                        if s.wechat_token else None)
            yield
            stop.set()
            if retrying is not None:
                await asyncio.wait({retrying}, timeout=SHUTDOWN_GRACE_SECONDS)
            # Answers still on their way to the customer-service API deserve a chance to leave.
            if self._tasks:
                await asyncio.wait(set(self._tasks), timeout=SHUTDOWN_GRACE_SECONDS)
                for task in self._tasks:
                    task.cancel()
            self._api = None

    # ------------------------------------------------------------------ buttons as numbered options

    async def remember_buttons(self, openid: str, buttons: list[Button]) -> None:
        key = keys.wechat_last_buttons(openid)
        if buttons:
            await self.redis.set(key, json.dumps([b.to_dict() for b in buttons], ensure_ascii=False),
                                 ex=self.settings.session_idle_seconds)
        else:
            await self.redis.delete(key)

    async def resolve_choice(self, openid: str, text: str) -> str:
        """A reply "1"/"2"… becomes the payload of that option from the last answer, if there was one."""
        n = _choice_number(text)
        if n is None:
            return text
        raw = await self.redis.get(keys.wechat_last_buttons(openid))
        if not raw:
            return text
        buttons = json.loads(raw)
        if 1 <= n <= len(buttons):
            return str(buttons[n - 1]["payload"])
        return text

    async def render(self, openid: str, replies: list[Reply]) -> list[str]:
        texts, shown = render_replies(replies)
        await self.remember_buttons(openid, shown)
        return texts

    # ------------------------------------------------------------------------- replayed requests

    @property
    def nonce_ttl(self) -> int:
        """A timestamp is acceptable from window before it until window after it: remember the pair
        that long after first seeing it, and a minute more for the clocks."""
        return 2 * self.timestamp_window + 60

    async def spend_nonce(self, timestamp: str, nonce: str, msg: InboundMessage) -> bool:
        """Whether this (timestamp, nonce) may carry ``msg``: yes the first time, and again only for the
        same message (WeChat retrying under the same query string); never for another message."""
        key = keys.wechat_nonce(timestamp, nonce)
        fingerprint = msg.fingerprint()
        for _ in range(2):  # the second round only if the key expired between SET and GET
            if await self.redis.set(key, fingerprint, nx=True, ex=self.nonce_ttl):
                return True
            seen = await self.redis.get(key)
            if seen is not None:
                seen = seen.decode() if isinstance(seen, bytes) else str(seen)
                return hmac.compare_digest(seen, fingerprint)
        return False

    # ------------------------------------------------------------------------------ one delivery

    async def answer(self, msg: InboundMessage, produce: Callable[[], Awaitable[list[Reply]]],
                     started: float) -> list[str] | None:
        """The texts for a passive reply, or None for ``success`` (nothing now / answer follows later)."""
        key = msg.delivery_key()
        if not await self.deliveries.claim(key):
            return await self._retry(key)
        loop = asyncio.get_running_loop()
        # Resolved by the task without awaiting anything, or cancelled by us at the deadline: exactly one
        # of the two happens, so the answer goes either passively or through the customer-service API.
        passive: asyncio.Future[list[str]] = loop.create_future()
        task = asyncio.create_task(self._run(msg, key, produce, passive))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        remaining = max(0.0, self.passive_seconds - (loop.time() - started))
        done, _ = await asyncio.wait({passive}, timeout=remaining)
        if passive in done:
            texts = passive.result()
            await self.deliveries.store(key, json.dumps({"s": "replied", "texts": texts}, ensure_ascii=False),
                                        only_if_claimed=True)
            return texts
        passive.cancel()
        await self.deliveries.store(key, json.dumps({"s": "deferred"}), only_if_claimed=True)
        return None

    async def _run(self, msg: InboundMessage, key: str, produce: Callable[[], Awaitable[list[Reply]]],
                   passive: asyncio.Future[list[str]]) -> None:
        try:
            try:
                replies = await produce()
            except Exception:
                log.exception("wechat message %s failed", key)
                replies = [Reply(_say("wechat_error"), author="system")]
            texts = await self.render(msg.from_user, replies)
        except Exception as exc:  # Redis gone: the waiting request answers 500, WeChat retries later
            if not passive.done():
                passive.set_exception(exc)
            else:
                log.exception("late answer to %s failed", msg.from_user)
            return
        if not passive.done():
            passive.set_result(texts)
            return
        try:
            await self.outbox.send_or_keep(msg.from_user, texts, origin="bot")
            await self.deliveries.store(key, json.dumps({"s": "sent"}), only_if_claimed=True)
        except WeChatApiError as exc:  # refused for good (e.g. the resident's 48-hour window is over)
            log.warning("late answer to %s not delivered: %s", msg.from_user, exc)
            await self._note_undelivered(Undelivered(msg.from_user, "\n".join(texts), None, "bot", str(exc)))
        except Exception:  # noqa: BLE001 - Redis away as well: nothing left to keep it in; say so loudly
            log.exception("late answer to %s lost", msg.from_user)

    async def _note_undelivered(self, lost: Undelivered) -> None:
        """Put a message WeChat would not take into the conversation, where an operator sees it."""
        conversations = self.app[CONVERSATIONS]
        try:
            conv_id = lost.conversation_id or await conversations.current_id("wechat", lost.openid)
            if conv_id:
                await conversations.append(conv_id, "system", _say(
                    "wechat_undelivered", error=lost.error[:120], text=lost.text[:200]))
        except Exception:  # noqa: BLE001 - the log line is then the only trace
            log.exception("could not note the undelivered message to %s: %s", lost.openid, lost.text[:80])

    async def _retry(self, key: str) -> list[str] | None:
        replay = await self.deliveries.replay(key, wait=self.passive_seconds)
        outcome = json.loads(replay.answer) if replay.answer else {"s": "gone"}
        if outcome["s"] == "replied":
            return list(outcome["texts"])  # WeChat did not get the first response: give it again
        return None  # the answer is on its way through the customer-service API (or was sent)

    # --------------------------------------------------------------------------- message types

    def producer(self, msg: InboundMessage) -> Callable[[], Awaitable[list[Reply]]] | None:
        """What answers this message, or None when WeChat should just hear ``success``."""
        if msg.msg_type == "text":
            return lambda: self._dialogue(msg, msg.content)
        if msg.msg_type == "voice":
            if msg.recognition:
                return lambda: self._dialogue(msg, msg.recognition)
            return self._canned("wechat_voice_unrecognised")
        if msg.msg_type == "event":
            if msg.event == "subscribe":
                return self._canned("wechat_welcome")
            if msg.event == "click" and msg.event_key:
                # Menu keys are configured as bot payloads (e.g. "/ask_progress") by the account itself,
                # and WeChat signs the push: the dialogue may take them as the intent they name.
                return lambda: self._dialogue(msg, msg.event_key, trusted=True)
            return None  # unsubscribe, VIEW, LOCATION reports, template results: nothing to say
        return self._canned("wechat_unsupported")

    @staticmethod
    def _canned(key: str) -> Callable[[], Awaitable[list[Reply]]]:
        async def produce() -> list[Reply]:
            return [Reply(_say(key), author="system")]

        return produce

    async def _dialogue(self, msg: InboundMessage, raw_text: str, *, trusted: bool = False) -> list[Reply]:
        text = raw_text.replace("\x00", "").strip()
        limit = self.settings.max_text_chars
        if not text:
            return [Reply(t("text_empty"), author="system")]
        if len(text) > limit:
            return [Reply(t("text_too_long", limit=limit), author="system")]
        text = await self.resolve_choice(msg.from_user, text)
        turn = await self.app[DIALOGUE].handle("wechat", msg.from_user, text, message_id=msg.dialogue_id(),
                                               trusted_payload=trusted)
        return list(turn.replies)


class WeChatSender:
    """Operator (and late bot) replies to a WeChat resident, through the customer-service message API."""

    def __init__(self, channel: WeChatChannel) -> None:
        self.channel = channel

    async def send(self, conversation: Any, reply: Reply) -> None:
        """Raises WeChatApiError when WeChat refuses for good; a passing failure is retried later."""
        texts = await self.channel.render(conversation.user_id, [reply])
        await self.channel.outbox.send_or_keep(conversation.user_id, texts, conversation_id=conversation.id,
                                               origin=reply.author or "operator")


WECHAT: web.AppKey[WeChatChannel] = web.AppKey("wechat_channel", WeChatChannel)


# ------------------------------------------------------------------------------------------------- HTTP

def _plain(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=message, content_type="text/plain")


def _configured(request: web.Request) -> WeChatChannel:
    channel = request.app[WECHAT]
    if not channel.settings.wechat_token:
        raise web.HTTPServiceUnavailable(text="WeChat channel is not configured (WECHAT_TOKEN is empty)")
    return channel


async def _read_body(request: web.Request, limit: int) -> bytes:
    """WeChat wants plain HTTP errors, not the API's JSON ones."""
    try:
        return await read_limited(request, limit)
    except ApiError:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length or limit + 1,
                                            text=f"body over {limit} bytes") from None


def _fresh_query(channel: WeChatChannel, q: Any) -> tuple[str, str] | web.Response:
    """The request's timestamp and nonce when well-formed and recent; otherwise the response refusing it.

    Checked before the signature and before the body is read: a stale request costs us nothing."""
    timestamp, nonce = q.get("timestamp", ""), q.get("nonce", "")
    if not _NONCE.fullmatch(nonce):
        return _plain(400, "nonce is missing or malformed")
    try:
        check_timestamp(timestamp, time.time(), channel.timestamp_window)
    except StaleTimestamp:
        return _plain(403, f"timestamp outside ±{channel.timestamp_window} s of the server's clock")
    except ValueError:
        return _plain(400, "timestamp is missing or not epoch seconds")
    return timestamp, nonce


async def verify_url(request: web.Request) -> web.Response:
    """WeChat's server check when the URL is saved in the console: echo ``echostr`` if we signed it
    recently. No nonce cache here: echoing is harmless, and WeChat may well check twice."""
    channel = _configured(request)
    q = request.query
    fresh = _fresh_query(channel, q)
    if isinstance(fresh, web.Response):
        return fresh
    timestamp, nonce = fresh
    try:
        check_signature(q.get("signature", ""), channel.settings.wechat_token, timestamp, nonce)
    except InvalidSignature:
        return _plain(403, "invalid signature")
    return _plain(200, q.get("echostr", ""))


async def receive(request: web.Request) -> web.Response:
    """One push from WeChat: refuse what WeChat would not send, then answer it once.

    Modes. Without WECHAT_ENCODING_AES_KEY only 明文模式 is possible (an encrypted push is a clear 400:
    we cannot read it). With the key, only pushes with ``encrypt_type=aes`` are taken — a plaintext push
    is refused, because its signature covers token, timestamp and nonce but not the body, so it is the
    very thing an attacker with one logged URL can forge. 兼容模式 is supported, and needs nothing of its
    own: WeChat sends it with ``encrypt_type=aes`` and ``msg_signature`` exactly as 安全模式, only with a
    plaintext copy of the message beside <Encrypt>. We read the signed, encrypted copy and ignore the
    plaintext one entirely (never compare, never fall back to it); the reply is encrypted, which the
    docs allow in 兼容模式. So an operator can switch the console between 兼容 and 安全 freely, but must
    set the key when leaving 明文模式 — and remove it when going back.

    Order: mode and query (400/403, nothing read), freshness (403), URL signature (403), body
    (413/415, then 400 for anything not a well-formed UTF-8 WeChat message), msg_signature (403),
    ToUserName (403), the nonce (403 if spent on another message) — and only then is the MsgId claimed
    and the dialogue asked.

    ToUserName: with WECHAT_ACCOUNT_ID set (the 原始ID, gh_…), a message to any other account is refused.
    Without it every account is accepted and nothing is learnt from traffic — pinning the first
    ToUserName seen would let whoever posts first decide which account we serve.
    """
    started = asyncio.get_running_loop().time()
    channel = _configured(request)
    s = channel.settings
    q = request.query
    encrypt_type = (q.get("encrypt_type") or "raw").lower()
    if encrypt_type not in ("raw", "aes"):
        return _plain(400, f"unknown encrypt_type {encrypt_type[:16]!r}")
    if encrypt_type == "aes" and channel.crypto is None:
        return _plain(400, "安全模式 message but WECHAT_ENCODING_AES_KEY is not configured")
    if encrypt_type == "raw" and channel.crypto is not None:
        return _plain(403, "plaintext push refused: WECHAT_ENCODING_AES_KEY is set, only 安全模式/兼容模式 "
                           "(encrypt_type=aes) is accepted")
    fresh = _fresh_query(channel, q)
    if isinstance(fresh, web.Response):
        return fresh
    timestamp, nonce = fresh
    if encrypt_type == "raw" or "signature" in q:
        try:
            check_signature(q.get("signature", ""), s.wechat_token, timestamp, nonce)
        except InvalidSignature:
            return _plain(403, "invalid signature")
    if request.headers.get("Content-Encoding", "identity").strip().lower() not in ("", "identity"):
        return _plain(415, "compressed bodies are not accepted")  # never decompressed, never read
    body = await _read_body(request, s.max_body_bytes)
    try:
        root = parse_xml(body)
        if encrypt_type == "aes":
            assert channel.crypto is not None
            encrypted = (root.findtext("Encrypt") or "").strip()
            if not encrypted:
                raise BadMessage("安全模式 message without <Encrypt>")
            try:
                channel.crypto.check_msg_signature(q.get("msg_signature", ""), timestamp, nonce, encrypted)
            except InvalidSignature:
                return _plain(403, "invalid msg_signature")
            try:
                root = parse_xml(channel.crypto.decrypt(encrypted))
            except CryptoError as exc:
                raise BadMessage(f"cannot decrypt the message: {exc}") from None
        msg = InboundMessage.from_xml(root)
    except BadMessage as exc:
        return _plain(400, str(exc))
    if s.wechat_account_id and msg.to_user != s.wechat_account_id:
        return _plain(403, "ToUserName is not this account (WECHAT_ACCOUNT_ID)")
    if not await channel.spend_nonce(timestamp, nonce, msg):
        return _plain(403, "this timestamp and nonce were already used for another message")

    produce = channel.producer(msg)
    texts = await channel.answer(msg, produce, started) if produce is not None else None
    if not texts:
        return _plain(200, "success")
    xml = passive_text_xml(msg.from_user, msg.to_user, "\n\n".join(texts))
    if encrypt_type == "aes":
        assert channel.crypto is not None
        xml = channel.crypto.encrypt_reply(xml, str(int(time.time())), str(secrets.randbelow(10**10)))
    return web.Response(text=xml, content_type="application/xml", charset="utf-8")


_QUERY = [
    {"name": n, "in": "query", "required": True, "schema": {"type": "string"}}
    for n in ("signature", "timestamp", "nonce")
]

OPENAPI: dict[str, Any] = {
    "/channels/wechat": {
        "get": {
            "tags": ["channels"],
            "summary": "WeChat Official Account URL verification",
            "description": "signature = sha1(sorted([WECHAT_TOKEN, timestamp, nonce])); echoes echostr.",
            "parameters": [*_QUERY, {"name": "echostr", "in": "query", "required": True,
                                     "schema": {"type": "string"}}],
            "responses": {"200": {"description": "echostr, as text/plain"},
                          "400": {"description": "timestamp or nonce malformed"},
                          "403": {"description": "signature does not match, or timestamp outside ±300 s"}},
        },
        "post": {
            "tags": ["channels"],
            "summary": "WeChat Official Account messages (plaintext or 安全模式)",
            "description": (
                "Text, voice (with Recognition) and event messages as WeChat pushes them. With "
                "encrypt_type=aes the body carries <Encrypt> signed by msg_signature = sha1(sorted([token, "
                "timestamp, nonce, Encrypt])) and the passive reply is encrypted the same way. Answers "
                "within ~4 s come back passively; slower ones as 'success' followed by a customer-service "
                "message. Retries of one MsgId are answered once. The timestamp must be within ±300 s of "
                "the server's clock and a (timestamp, nonce) pair carries one message only; with "
                "WECHAT_ENCODING_AES_KEY set only encrypt_type=aes is accepted, with WECHAT_ACCOUNT_ID set "
                "only that ToUserName."),
            "parameters": [*_QUERY,
                           {"name": "openid", "in": "query", "required": False, "schema": {"type": "string"}},
                           {"name": "encrypt_type", "in": "query", "required": False,
                            "schema": {"type": "string", "enum": ["raw", "aes"]}},
                           {"name": "msg_signature", "in": "query", "required": False,
                            "schema": {"type": "string"}}],
            "requestBody": {"required": True, "content": {"text/xml": {"schema": {"type": "string"}}}},
            "responses": {
                "200": {"description": "passive reply XML (encrypted envelope in 安全模式) or 'success'"},
                "400": {"description": "broken XML, DTD/entities, not UTF-8, undecryptable or malformed "
                                       "message, malformed timestamp or nonce"},
                "403": {"description": "signature or msg_signature does not match, stale timestamp, nonce "
                                       "spent on another message, plaintext while an AES key is set, "
                                       "ToUserName not this account"},
                "413": {"description": "body over 64 KiB"},
                "415": {"description": "compressed body (Content-Encoding)"},
                "503": {"description": "WECHAT_TOKEN is not configured"},
            },
        },
    },
}


def setup_routes(app: web.Application, *, passive_seconds: float = PASSIVE_SECONDS) -> None:
    channel = WeChatChannel(app, passive_seconds=passive_seconds)
    app[WECHAT] = channel
    app.cleanup_ctx.append(channel.client_ctx)
    app.router.add_get("/channels/wechat", verify_url)
    app.router.add_post("/channels/wechat", receive)
    app[OPENAPI_PATHS].update(OPENAPI)
    app[OUTBOUND].register("wechat", WeChatSender(channel))
