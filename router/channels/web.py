"""The resident web chat (contract item 3): the page, its session ids, messages, history and live events.

A browser gets a session id signed by the router (HMAC), so nobody can read another resident's history by
guessing ids; internal callers holding the API bearer token may use any id (tests, the contract check).
A session also lives in Redis and ends after WEB_SESSION_TTL seconds without use, or at once when the
resident presses 清空对话 (a kiosk must not show the next resident the last one's conversation).
Operator replies reach an open page through Server-Sent Events fed by the process's one Redis pub/sub
connection (router.http.EventHub), so any router instance can serve them. Every public route is rate
limited per client address and per session (429 with Retry-After); open streams are capped per session
and per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from router import keys
from router.adapters.conversations import ConversationNotFound, ConversationState, IllegalConversationMove
from router.appkeys import CONVERSATIONS, DIALOGUE, OPENAPI_PATHS, OUTBOUND, REDIS, SETTINGS
from router.http import (
    EVENT_HUB,
    ApiError,
    HubFull,
    StreamClosed,
    address_bucket,
    bearer_ok,
    client_ip,
    close_event_streams,
    rate_limit,
    read_json,
    require_text,
    set_security_headers,
    too_many_requests,
)
from router.http_sse import event_stream
from router.services.messages import Reply
from router.views import models as M
from router.views.models import body, response

__all__ = ["setup_routes", "WebSender", "sign_session", "verify_session"]

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent.parent / "static"
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
HEARTBEAT_SECONDS = 5.0
# An open stream holds a lease on one of its session's stream slots, renewed while it runs; a process that
# dies leaves leases that simply run out.
STREAM_LEASE_SECONDS = 60
STREAM_REFRESH_SECONDS = 20
STREAM_RETRY_AFTER = 10
ENDED_NOTE = "居民已清空对话，本次会话结束。"

# KEYS[1] the session's open streams (zset, score = lease end in ms); ARGV now_ms, lease_ms, cap, stream id.
_TAKE_LEASE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""


def _secret(app: web.Application) -> bytes:
    s = app[SETTINGS]
    return hashlib.sha256(("web-session:" + (s.console_secret or s.api_token or "dev")).encode()).digest()


def sign_session(app: web.Application, raw: str) -> str:
    mac = hmac.new(_secret(app), raw.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{raw}.{mac}"


def _bad_session() -> ApiError:
    return ApiError(403, "bad_session", "unknown or expired web session; open the chat page again to get a new one")


async def verify_session(request: web.Request, session_id: Any) -> str:
    """The resident's user id for a live session id (its idle clock starts again), or a 4xx error."""
    if not isinstance(session_id, str) or not _ID.match(session_id):
        raise ApiError(422, "invalid_field", "'session_id' must be 1-128 letters, digits or ._:-", field="session_id")
    if bearer_ok(request):
        return session_id
    raw, _, mac = session_id.rpartition(".")
    if not raw or not hmac.compare_digest(sign_session(request.app, raw), session_id):
        raise _bad_session()
    if not await request.app[REDIS].expire(keys.web_session(raw), request.app[SETTINGS].web_session_ttl):
        raise _bad_session()  # expired after inactivity, or ended with 清空对话
    return raw


async def _limit(request: web.Request, kind: str, user_id: str | None = None) -> None:
    """Per-address (before anything is read) or per-session rate limit of one kind of public request.
    Internal callers with the bearer token are not limited."""
    if bearer_ok(request):
        return
    s = request.app[SETTINGS]
    per_ip, per_session = {"session": (s.rate_sessions_per_ip, 0),
                           "message": (s.rate_messages_per_ip, s.rate_messages_per_session),
                           "read": (s.rate_reads_per_ip, s.rate_reads_per_session)}[kind]
    if user_id is None:
        await rate_limit(request, f"web-{kind}:ip", address_bucket(client_ip(request)), per_ip)
    else:
        await rate_limit(request, f"web-{kind}:session", user_id, per_session)


class WebSender:
    """Delivery to the web page is the conversation's event stream: the console's transcript entry is
    published on it, and the page (SSE) shows operator entries. Nothing more to send."""

    async def send(self, conversation: Any, reply: Reply) -> None:
        return None


async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "chat.html", headers={"Cache-Control": "no-cache"})


async def new_session(request: web.Request) -> web.Response:
    await _limit(request, "session")
    raw = secrets.token_urlsafe(18)
    ttl = request.app[SETTINGS].web_session_ttl
    await request.app[REDIS].set(keys.web_session(raw), "1", ex=ttl)
    return web.json_response({"session_id": sign_session(request.app, raw), "expires_in": ttl},
                             headers={"Cache-Control": "no-store"})


async def end_session(request: web.Request) -> web.Response:
    """清空对话: the session ends on the server, and its conversation with it (out of the operators' queue
    if it was waiting; an operator talking to the resident sees that they left)."""
    await _limit(request, "session")
    data = await read_json(request)
    user_id = await verify_session(request, data.get("session_id"))
    redis = request.app[REDIS]
    store = request.app[CONVERSATIONS]
    conv_id = await store.current_id("web", user_id)
    conv = await store.get(conv_id) if conv_id else None
    if conv is not None and conv.state is not ConversationState.CLOSED:
        if conv.state in (ConversationState.QUEUED, ConversationState.HUMAN):
            await store.append(conv.id, "system", ENDED_NOTE, meta={"channel": "web", "event": "resident_ended"})
        with contextlib.suppress(IllegalConversationMove, ConversationNotFound):
            await store.move(conv.id, "close")
    await redis.delete(keys.web_session(user_id), keys.conversation_of_user("web", user_id),
                       keys.web_streams(user_id))
    return web.json_response({"ended": True})


async def post_message(request: web.Request) -> web.Response:
    await _limit(request, "message")
    data = await read_json(request)
    user_id = await verify_session(request, data.get("session_id"))
    await _limit(request, "message", user_id)
    text = require_text(data, max_chars=request.app[SETTINGS].max_text_chars)
    # The page names each message (message_id) and sends it again under the same name when the answer
    # was lost (a router restarting, a dropped connection): the second delivery gets the first answer and
    # nothing is taken twice. Scoped to the session: one session cannot read another's answers.
    message_id = data.get("message_id")
    if message_id is not None and not (isinstance(message_id, str) and _MESSAGE_ID.fullmatch(message_id)):
        raise ApiError(422, "invalid_field", "'message_id' must be 8-64 letters, digits, '-' or '_'",
                       field="message_id")
    turn = await request.app[DIALOGUE].handle("web", user_id, text,
                                              message_id=f"{user_id}:{message_id}" if message_id else None)
    return web.json_response(
        {"replies": [r.to_dict() for r in turn.replies], "conversation": turn.conversation.public()},
        dumps=lambda o: json.dumps(o, ensure_ascii=False))


RESIDENT_SEES = ("resident", "bot", "operator", "system")


async def history(request: web.Request) -> web.Response:
    await _limit(request, "read")
    user_id = await verify_session(request, request.query.get("session_id"))
    await _limit(request, "read", user_id)
    store = request.app[CONVERSATIONS]
    conv_id = await store.current_id("web", user_id)
    conv = await store.get(conv_id) if conv_id else None
    if conv is None:
        return web.json_response({"conversation": None, "messages": []}, headers={"Cache-Control": "no-store"})
    entries = await store.transcript(conv.id, limit=200)
    # What was said to and by the resident; the transcript's other entries (an operator's audit note) are not theirs.
    messages = [{"author": e["author"], "text": e["text"], "buttons": e.get("buttons", []), "at": e["at"]}
                for e in entries if e["author"] in RESIDENT_SEES]
    return web.json_response({"conversation": conv.public(), "messages": messages},
                             headers={"Cache-Control": "no-store"},
                             dumps=lambda o: json.dumps(o, ensure_ascii=False))


async def events(request: web.Request) -> web.StreamResponse:
    """SSE: operator messages and state changes of the resident's current conversation.

    The page passes ``since`` (the time of the last message it shows): what the operator wrote while
    the page was reconnecting is replayed from the transcript first, so nothing is lost in between.
    Streams are fed by the process's event hub (one Redis connection however many are open); a session
    may hold SSE_MAX_PER_SESSION of them, a process SSE_MAX_PER_PROCESS (429 beyond).
    """
    await _limit(request, "read")
    user_id = await verify_session(request, request.query.get("session_id"))
    await _limit(request, "read", user_id)
    try:
        since = float(request.query.get("since") or 0)
    except ValueError:
        raise ApiError(422, "invalid_field", "'since' must be a number (epoch seconds)", field="since") from None
    conv_id = await request.app[CONVERSATIONS].current_id("web", user_id)
    if not conv_id:
        async with event_stream(request, retry_ms=3000, heartbeat=HEARTBEAT_SECONDS,
                                set_headers=set_security_headers) as stream:
            await stream.send({}, event="idle")
        return stream.response
    redis = request.app[REDIS]
    settings = request.app[SETTINGS]
    lease_key, stream_id = keys.web_streams(user_id), secrets.token_hex(8)
    async with contextlib.AsyncExitStack() as stack:
        if not await _take_lease(redis, lease_key, stream_id, settings.sse_max_per_session):
            raise too_many_requests("too_many_streams", "此会话打开的实时连接过多 (too many open event streams)",
                                    STREAM_RETRY_AFTER)
        stack.push_async_callback(_release_lease, redis, lease_key, stream_id)
        try:
            sub = await stack.enter_async_context(request.app[EVENT_HUB].subscribe(keys.conversation_events(conv_id)))
        except HubFull:
            raise too_many_requests("too_many_streams", "实时连接已满，请稍后再试 (too many open event streams)",
                                    STREAM_RETRY_AFTER) from None
        except StreamClosed:
            raise ApiError(503, "events_unavailable", "实时消息暂不可用，请稍后再试 (live events unavailable)",
                           headers={"Retry-After": "3"}) from None
        # A client that went away ends the stream quietly (router.http_sse).
        stream = await stack.enter_async_context(event_stream(
            request, retry_ms=2000, heartbeat=HEARTBEAT_SECONDS, set_headers=set_security_headers))
        loop = asyncio.get_running_loop()
        refresh_at = loop.time() + STREAM_REFRESH_SECONDS
        try:
            await stream.comment("connected")
            if since:
                for entry in await request.app[CONVERSATIONS].transcript(conv_id, limit=200):
                    if entry["at"] > since and entry["author"] in ("operator", "system"):
                        await stream.send({"type": "message", **entry})
            while True:
                item = await sub.get(HEARTBEAT_SECONDS)
                if loop.time() >= refresh_at:
                    refresh_at = loop.time() + STREAM_REFRESH_SECONDS
                    if not await _still_open(request, user_id, lease_key, stream_id):
                        break  # the session ended (清空对话) or expired: the page reconnects and is refused
                if item is None:
                    await stream.keepalive()
                    continue
                event = json.loads(item[1])
                if event.get("type") == "message" and event.get("author") not in ("operator", "system"):
                    continue  # the page already shows its own messages and the bot's answers
                await stream.send(event)
        except (StreamClosed, RedisError) as exc:
            log.info("web events for %s ended: %s", conv_id, exc)  # the page reconnects and replays
    return stream.response


async def _take_lease(redis: Any, key: str, stream_id: str, cap: int) -> bool:
    if cap <= 0:
        return True
    now_ms = int(time.time() * 1000)
    return bool(await redis.register_script(_TAKE_LEASE)(keys=[key], args=[now_ms, STREAM_LEASE_SECONDS * 1000,
                                                                           cap, stream_id]))


async def _release_lease(redis: Any, key: str, stream_id: str) -> None:
    with contextlib.suppress(RedisError):
        await redis.zrem(key, stream_id)


async def _still_open(request: web.Request, user_id: str, lease_key: str, stream_id: str) -> bool:
    """Renew the stream's lease and the session's idle clock (an open page is a resident still there)."""
    redis = request.app[REDIS]
    if not bearer_ok(request) and not await redis.expire(keys.web_session(user_id),
                                                          request.app[SETTINGS].web_session_ttl):
        return False
    lease_end = int(time.time() * 1000) + STREAM_LEASE_SECONDS * 1000
    async with redis.pipeline(transaction=True) as pipe:
        pipe.zadd(lease_key, {stream_id: lease_end}, xx=True)
        pipe.pexpire(lease_key, STREAM_LEASE_SECONDS * 1000)
        await pipe.execute()
    return True


OPENAPI: dict[str, Any] = {
    "/api/v1/channels/web/sessions": {"post": {
        "summary": "A new signed web-chat session id; it ends after expires_in seconds without use",
        "security": [],
        "responses": {"200": response("{session_id, expires_in}", M.WebSession),
                      "429": {"description": "too many new sessions from this address; see Retry-After"}}}},
    "/api/v1/channels/web/sessions/end": {"post": {
        "summary": "清空对话: end the session and its conversation on the server", "security": [{}, {"bearer": []}],
        "requestBody": body(M.WebSessionEnd),
        "responses": {"200": response("{ended: true}", M.WebSessionEnded),
                      "403": {"description": "unknown or expired session"}}}},
    "/api/v1/channels/web/messages": {"post": {
        "summary": "Send one resident message from the web chat and get the replies (synchronous)",
        "security": [{}, {"bearer": []}],
        "requestBody": body(M.WebMessage),
        "responses": {"200": response("{replies: [{text, buttons}], conversation: {id, state}}", M.WebReplies),
                      "400": {"description": "broken JSON"}, "403": {"description": "unknown or expired session"},
                      "422": {"description": "invalid text"},
                      "429": {"description": "too many messages from this address or session; see Retry-After"}}}},
    "/api/v1/channels/web/history": {"get": {
        "summary": "The current conversation's messages (for reloads)", "security": [{}, {"bearer": []}],
        "parameters": [{"name": "session_id", "in": "query", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": response("messages", M.WebHistory)}}},
    "/api/v1/channels/web/events": {"get": {
        "summary": "Server-Sent Events: operator replies and state changes", "security": [{}, {"bearer": []}],
        "parameters": [{"name": "session_id", "in": "query", "required": True, "schema": {"type": "string"}},
                       {"name": "since", "in": "query", "schema": {"type": "number"},
                        "description": "replay operator/system messages after this time (epoch seconds)"}],
        "responses": {"200": {"description": "text/event-stream"},
                      "429": {"description": "too many requests or open streams; see Retry-After"}}}},
}


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/", page)
    app.router.add_post("/api/v1/channels/web/sessions", new_session)
    app.router.add_post("/api/v1/channels/web/sessions/end", end_session)
    app.router.add_post("/api/v1/channels/web/messages", post_message)
    app.router.add_get("/api/v1/channels/web/history", history)
    app.router.add_get("/api/v1/channels/web/events", events)
    app.router.add_static("/static/", STATIC, append_version=True)
    app[OPENAPI_PATHS].update(OPENAPI)
    app.on_shutdown.append(close_event_streams)  # the hub itself: create_app's cleanup_ctx (router.http.event_hub)
    app[OUTBOUND].register("web", WebSender())
