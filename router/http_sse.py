"""Server-Sent Events, written one way for every stream the router serves (the web chat's, the console's):
the text/event-stream response and its headers, ``event:`` / ``data:`` frames, a heartbeat comment while
nothing happens, and a client that went away ending the stream quietly.

The loop that decides what to send stays with each endpoint; this module only speaks the protocol::

    async with event_stream(request, retry_ms=2000, heartbeat=5.0, set_headers=set_security_headers) as stream:
        await stream.comment("connected")
        while ...:
            item = await source.get(timeout)
            if item is None:
                await stream.keepalive()
                continue
            await stream.send(item, event="message")
    return stream.response
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

__all__ = ["EventStream", "event_stream", "SSE_HEADERS"]

# no-store: a stream is never to be cached; X-Accel-Buffering: nginx passes each frame on at once.
SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store",
               "X-Accel-Buffering": "no"}
# A timer may fire a hair before its deadline; a heartbeat that waited its full interval still counts as due.
_SLACK_SECONDS = 0.01


class EventStream:
    """One open event stream. The reconnection delay (``retry:``) goes out with the first frame, so a stream
    that opens with an event (``idle``) or a comment (``connected``) sends it in one write."""

    def __init__(self, response: web.StreamResponse, *, retry_ms: int, heartbeat: float) -> None:
        self.response = response
        self.heartbeat = heartbeat
        self._pending = f"retry: {retry_ms}\n"
        self._last_ping = time.monotonic()

    async def _write(self, frame: str) -> None:
        data, self._pending = self._pending + frame, ""
        await self.response.write(data.encode())

    async def send(self, data: Any, *, event: str | None = None) -> None:
        """One event: ``data`` as JSON (non-ASCII kept as is), under the name ``event`` if given (else the
        browser's default ``message``)."""
        head = f"event: {event}\n" if event else ""
        await self._write(f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n")

    async def comment(self, text: str) -> None:
        """A comment line: the browser ignores it, a test or a proxy sees the stream is alive."""
        await self._write(f": {text}\n\n")

    async def keepalive(self) -> None:
        """Call when there was nothing to send: a ``: ping`` comment once ``heartbeat`` seconds have passed
        since the stream opened or the last ping, so proxies and browsers do not give up on a quiet line."""
        now = time.monotonic()
        if now - self._last_ping >= self.heartbeat - _SLACK_SECONDS:
            self._last_ping = now
            await self.comment("ping")


@contextlib.asynccontextmanager
async def event_stream(request: web.Request, *, retry_ms: int, heartbeat: float,
                       set_headers: Callable[[web.Request, web.StreamResponse], None]
                       ) -> AsyncIterator[EventStream]:
    """Prepare a text/event-stream response (``set_headers`` adds the caller's security headers first:
    once prepared, no middleware can) and yield it as an EventStream. A write to a client that went away
    ends the block quietly; the handler then returns ``stream.response``."""
    response = web.StreamResponse(headers=SSE_HEADERS)
    set_headers(request, response)
    await response.prepare(request)
    with contextlib.suppress(ConnectionResetError):  # the client closed the page: nothing more to say
        yield EventStream(response, retry_ms=retry_ms, heartbeat=heartbeat)
