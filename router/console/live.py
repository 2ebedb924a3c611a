"""The console's live updates (GET /console/events, Server-Sent Events fed by Redis pub/sub): the queue
changed, a line or a state change in the open conversation, and ``logout`` the moment the operator's
session ends or is revoked. The protocol itself is router.http_sse's, shared with the web chat."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time

from aiohttp import web

from router import keys
from router.appkeys import CONVERSATIONS, REDIS
from router.console.access import current, guarded, set_headers
from router.console.auth import Permission
from router.console.context import session_of, state_of
from router.console.presenters import entry_view, label, msg
from router.console.render import json_answer
from router.http_sse import event_stream
from router.services.assignment import Presence

__all__ = ["events", "HEARTBEAT_SECONDS", "SESSION_RECHECK_SECONDS"]

HEARTBEAT_SECONDS = 15.0
SESSION_RECHECK_SECONDS = 10.0  # a backstop: a revocation ends a live stream at once (pub/sub)


@guarded(Permission.HANDLE_CONVERSATIONS)
async def events(request: web.Request) -> web.StreamResponse:
    """SSE: ``queue`` when the queue or a conversation changed; ``message`` / ``state`` for the open
    conversation (``?conversation=ID``), its text already masked for this operator's role."""
    state = state_of(request)
    assert state.sessions is not None
    session = session_of(request)
    see = session.can(Permission.SEE_PHONES)
    conv_id = request.query.get("conversation", "")
    redis = request.config_dict[REDIS]
    if conv_id and await request.config_dict[CONVERSATIONS].get(conv_id) is None:
        return json_answer({"ok": False, "message": msg(request, "not_found")}, status=404)
    conv_channel = keys.conversation_events(conv_id) if conv_id else None
    user_channel = keys.console_user_events(session.user)
    # While the stream is open the operator is online: auto-assignment may give them conversations.
    presence, stream_id = Presence(redis), secrets.token_hex(8)
    async with event_stream(request, retry_ms=3000, heartbeat=HEARTBEAT_SECONDS, set_headers=set_headers) as stream:
        pubsub = redis.pubsub()
        await pubsub.subscribe(*(c for c in (keys.console_events(), conv_channel, user_channel) if c))
        last_check = time.monotonic()
        recheck = True  # once right after subscribing: a revocation just before it was announced to nobody
        try:
            await stream.comment("connected")
            while not state.stopping.is_set():
                message = None if recheck else await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                now = time.monotonic()
                about_me = message is not None and message["channel"] == user_channel  # my sessions were revoked
                if recheck or about_me or now - last_check > SESSION_RECHECK_SECONDS:
                    recheck, last_check = False, now
                    live = await state.sessions.get(session.id)
                    if live is None or await current(state, live) is None:  # logged out, or revoked
                        await stream.send({}, event="logout")
                        break
                    await presence.renew(session.user, stream_id)
                    if about_me:
                        continue
                if message is None:
                    await stream.keepalive()
                    continue
                try:
                    event = json.loads(message["data"])
                except (TypeError, ValueError):
                    continue
                if message["channel"] == conv_channel:
                    if event.get("type") == "message":
                        await stream.send(entry_view(request, event, see), event="message")
                    elif event.get("type") == "state":
                        await stream.send({"state": event.get("state"),
                                           "label": label(request, "conversation_states", event.get("state"))},
                                          event="state")
                else:
                    await stream.send({"type": event.get("type"), "conversation": event.get("conversation"),
                                       "state": event.get("state"), "operator": event.get("operator")},
                                      event="queue")
        except asyncio.CancelledError:
            pass
        finally:
            with contextlib.suppress(Exception):
                await presence.leave(session.user, stream_id)
            with contextlib.suppress(Exception):
                await pubsub.unsubscribe()
                await pubsub.aclose()
    return stream.response
