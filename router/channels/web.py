"""The resident web chat (contract item 3): the page, its session ids, messages, history and live events.

A browser gets a session id signed by the router (HMAC), so nobody can read another resident's history by
guessing ids; internal callers holding the API bearer token may use any id (tests, the contract check).
Operator replies reach an open page through Server-Sent Events fed by Redis pub/sub, so any router
instance can serve them.
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
from pathlib import Path
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from router import keys
from router.appkeys import CONVERSATIONS, DIALOGUE, OPENAPI_PATHS, OUTBOUND, REDIS, SETTINGS
from router.http import ApiError, bearer_ok, read_json, require_text
from router.services.messages import Reply

__all__ = ["setup_routes", "WebSender", "sign_session", "verify_session"]

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent.parent / "static"
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
HEARTBEAT_SECONDS = 5.0


def _secret(app: web.Application) -> bytes:
    s = app[SETTINGS]
    return hashlib.sha256(("web-session:" + (s.console_secret or s.api_token or "dev")).encode()).digest()


def sign_session(app: web.Application, raw: str) -> str:
    mac = hmac.new(_secret(app), raw.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{raw}.{mac}"


def verify_session(request: web.Request, session_id: Any) -> str:
    """The resident's user id for a session id, or a 4xx error."""
    if not isinstance(session_id, str) or not _ID.match(session_id):
        raise ApiError(422, "invalid_field", "'session_id' must be 1-128 letters, digits or ._:-", field="session_id")
    if bearer_ok(request):
        return session_id
    raw, _, mac = session_id.rpartition(".")
    if not raw or not hmac.compare_digest(sign_session(request.app, raw), session_id):
        raise ApiError(403, "bad_session", "unknown web session; open the chat page again to get a new one")
    return raw


class WebSender:
    """Delivery to the web page is the conversation's event stream: the console's transcript entry is
    published on it, and the page (SSE) shows operator entries. Nothing more to send."""

    async def send(self, conversation: Any, reply: Reply) -> None:
        return None


async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "chat.html", headers={"Cache-Control": "no-cache"})


async def new_session(request: web.Request) -> web.Response:
    return web.json_response({"session_id": sign_session(request.app, secrets.token_urlsafe(18))})


async def post_message(request: web.Request) -> web.Response:
    data = await read_json(request)
    user_id = verify_session(request, data.get("session_id"))
    text = require_text(data, max_chars=request.app[SETTINGS].max_text_chars)
    turn = await request.app[DIALOGUE].handle("web", user_id, text)
    return web.json_response(
        {"replies": [r.to_dict() for r in turn.replies], "conversation": turn.conversation.public()},
        dumps=lambda o: json.dumps(o, ensure_ascii=False))


async def history(request: web.Request) -> web.Response:
    user_id = verify_session(request, request.query.get("session_id"))
    store = request.app[CONVERSATIONS]
    conv_id = await store.current_id("web", user_id)
    conv = await store.get(conv_id) if conv_id else None
    if conv is None:
        return web.json_response({"conversation": None, "messages": []})
    entries = await store.transcript(conv.id, limit=200)
    messages = [{"author": e["author"], "text": e["text"], "buttons": e.get("buttons", []), "at": e["at"]}
                for e in entries]
    return web.json_response({"conversation": conv.public(), "messages": messages},
                             dumps=lambda o: json.dumps(o, ensure_ascii=False))


async def events(request: web.Request) -> web.StreamResponse:
    """SSE: operator messages and state changes of the resident's current conversation.

    The page passes ``since`` (the time of the last message it shows): what the operator wrote while
    the page was reconnecting is replayed from the transcript first, so nothing is lost in between.
    """
    user_id = verify_session(request, request.query.get("session_id"))
    try:
        since = float(request.query.get("since") or 0)
    except ValueError:
        raise ApiError(422, "invalid_field", "'since' must be a number (epoch seconds)", field="since") from None
    redis = request.app[REDIS]
    conv_id = await request.app[CONVERSATIONS].current_id("web", user_id)
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                                       "X-Accel-Buffering": "no"})
    await resp.prepare(request)
    if not conv_id:
        await resp.write(b"retry: 3000\nevent: idle\ndata: {}\n\n")
        return resp
    pubsub = redis.pubsub()
    await pubsub.subscribe(keys.conversation_events(conv_id))  # before the replay: no gap

    async def send(event: dict[str, Any]) -> None:
        await resp.write(f"data: {json.dumps(event, ensure_ascii=False)}\n\n".encode())

    try:
        await resp.write(b"retry: 2000\n: connected\n\n")
        if since:
            for entry in await request.app[CONVERSATIONS].transcript(conv_id, limit=200):
                if entry["at"] > since and entry["author"] in ("operator", "system"):
                    await send({"type": "message", **entry})
        while True:
            # Shorter than the Redis client's socket timeout, so an idle wait is never an error.
            msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=HEARTBEAT_SECONDS)
            if msg is None:
                await resp.write(b": ping\n\n")
                continue
            event = json.loads(msg["data"])
            if event.get("type") == "message" and event.get("author") not in ("operator", "system"):
                continue  # the page already shows its own messages and the bot's answers
            await send(event)
    except (ConnectionResetError, asyncio.CancelledError, RedisError) as exc:
        if isinstance(exc, RedisError):
            log.warning("web events for %s ended: %s", conv_id, exc)  # the page reconnects and replays
    finally:
        with contextlib.suppress(Exception):
            await pubsub.unsubscribe()
            await pubsub.aclose()
    return resp


OPENAPI: dict[str, Any] = {
    "/api/v1/channels/web/sessions": {"post": {
        "summary": "A new signed web-chat session id", "security": [],
        "responses": {"200": {"description": "{session_id}"}}}},
    "/api/v1/channels/web/messages": {"post": {
        "summary": "Send one resident message from the web chat and get the replies (synchronous)",
        "security": [{}, {"bearer": []}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["session_id", "text"],
            "properties": {"session_id": {"type": "string"}, "text": {"type": "string", "maxLength": 2000}}}}}},
        "responses": {"200": {"description": "{replies: [{text, buttons}], conversation: {id, state}}"},
                      "400": {"description": "broken JSON"}, "403": {"description": "unknown session"},
                      "422": {"description": "invalid text"}}}},
    "/api/v1/channels/web/history": {"get": {
        "summary": "The current conversation's messages (for reloads)", "security": [{}, {"bearer": []}],
        "parameters": [{"name": "session_id", "in": "query", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "messages"}}}},
    "/api/v1/channels/web/events": {"get": {
        "summary": "Server-Sent Events: operator replies and state changes", "security": [{}, {"bearer": []}],
        "parameters": [{"name": "session_id", "in": "query", "required": True, "schema": {"type": "string"}},
                       {"name": "since", "in": "query", "schema": {"type": "number"},
                        "description": "replay operator/system messages after this time (epoch seconds)"}],
        "responses": {"200": {"description": "text/event-stream"}}}},
}


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/", page)
    app.router.add_post("/api/v1/channels/web/sessions", new_session)
    app.router.add_post("/api/v1/channels/web/messages", post_message)
    app.router.add_get("/api/v1/channels/web/history", history)
    app.router.add_get("/api/v1/channels/web/events", events)
    app.router.add_static("/static/", STATIC, append_version=True)
    app[OPENAPI_PATHS].update(OPENAPI)
    if OUTBOUND in app:
        app[OUTBOUND].register("web", WebSender())
