"""HTTP plumbing shared by every view: JSON errors, bearer auth for internal APIs, safe body reading,
security headers, the client's address behind a trusted proxy, rate limits kept in Redis, and the one
Redis pub/sub connection per process that feeds every open event stream (SSE)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import json
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from router import keys
from router.access import allowed, scope_of
from router.adapters import StrRedis
from router.appkeys import REDIS, SETTINGS

__all__ = [
    "ApiError",
    "json_error",
    "error_middleware",
    "auth_middleware",
    "read_json",
    "read_limited",
    "require_text",
    "PUBLIC_PREFIXES",
    "security_headers",
    "set_security_headers",
    "PAGE_CSP",
    "API_CSP",
    "client_ip",
    "address_bucket",
    "rate_limit",
    "too_many_requests",
    "EventHub",
    "Subscription",
    "StreamClosed",
    "HubFull",
    "EVENT_HUB",
    "event_hub",
    "close_event_streams",
]

log = logging.getLogger(__name__)

# Paths that do not take the internal bearer token: each has its own verification (WeChat signature,
# web session id, voice basic auth, console login) or is public by nature (health, docs, pages).
PUBLIC_PREFIXES = (
    "/healthz",
    "/api/v1/openapi.json",
    "/api/v1/docs",
    "/api/v1/channels/web/",
    "/channels/",
    "/console",
    "/static/",
    "/favicon.ico",
)


class ApiError(Exception):
    """An error the client can act on, rendered as ``{"error": {"code", "message"}}``."""

    def __init__(self, status: int, code: str, message: str, *, headers: Mapping[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra
        self.headers = dict(headers or {})


def json_error(status: int, code: str, message: str, **extra: Any) -> web.Response:
    body = {"error": {"code": code, "message": message, **extra}}
    return web.json_response(body, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


def _wants_json(request: web.Request) -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/healthz")


@web.middleware
async def error_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                           ) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        resp = json_error(exc.status, exc.code, exc.message, **exc.extra)
        resp.headers.update(exc.headers)
        return resp
    except web.HTTPException as exc:
        if not _wants_json(request) or exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(exc.status, "http_error")
        return json_error(exc.status, code, exc.reason)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        if not _wants_json(request):
            raise
        return json_error(500, "internal_error", "内部错误，请稍后再试 (internal error)")


@web.middleware
async def auth_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                          ) -> web.StreamResponse:
    path = request.path
    if path == "/" or path.startswith(PUBLIC_PREFIXES) or not path.startswith("/api/"):
        return await handler(request)
    settings = request.app[SETTINGS]
    scope = scope_of(_bearer(request), api_token=settings.api_token, bot_token=settings.bot_token)
    if scope is None:
        return json_error(401, "unauthorized", "missing or wrong bearer token",
                          hint="Authorization: Bearer $ROUTER_API_TOKEN")
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else path
    if not allowed(scope, request.method, route):
        log.warning("%s token refused on %s %s", scope, request.method, route)
        return json_error(403, "forbidden", "this token may not call this route")
    return await handler(request)


def _bearer(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.startswith("Bearer ") else ""


def bearer_ok(request: web.Request) -> bool:
    """True for the internal API token (ROUTER_API_TOKEN), the one with the whole internal API."""
    return scope_of(_bearer(request), api_token=request.app[SETTINGS].api_token, bot_token="") == "internal"


async def read_json(request: web.Request, *, max_bytes: int = 64 * 1024) -> dict[str, Any]:
    """The request body as a JSON object, or a 4xx ApiError that says what was wrong with it."""
    raw = await read_limited(request, max_bytes)
    if not raw.strip():
        raise ApiError(400, "empty_body", "expected a JSON object")
    charset = (request.charset or "utf-8").lower()
    try:
        decoded = raw.decode(charset)
    except (UnicodeDecodeError, LookupError):
        raise ApiError(400, "bad_encoding", f"body is not valid {charset}; send UTF-8 JSON") from None
    try:
        data = json.loads(decoded)
    except json.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json", f"broken JSON: {exc.msg} at position {exc.pos}") from None
    except RecursionError:
        raise ApiError(400, "invalid_json", "JSON nested too deeply") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise ApiError(400, "invalid_json", f"JSON value not accepted: {exc}"[:200]) from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "expected a JSON object")
    if "\\u" in decoded and _has_lone_surrogate(data):  # "\ud800" is JSON but no text: Redis and UTF-8 refuse it
        raise ApiError(400, "invalid_json", "JSON string holds a lone surrogate (\\ud800-\\udfff); send real text")
    return data


def _has_lone_surrogate(data: Any) -> bool:
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


async def read_limited(request: web.Request, max_bytes: int) -> bytes:
    """The whole body (it may arrive in chunks), refusing more than ``max_bytes`` without buffering it."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise ApiError(413, "body_too_large", f"body over {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.readany()
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise ApiError(413, "body_too_large", f"body over {max_bytes} bytes")
        chunks.append(chunk)


def require_text(data: dict[str, Any], field: str = "text", *, max_chars: int = 2000) -> str:
    value = data.get(field)
    if not isinstance(value, str):
        raise ApiError(422, "invalid_field", f"'{field}' must be a string", field=field)
    value = value.strip()
    if not value:
        raise ApiError(422, "invalid_field", f"'{field}' must not be empty", field=field)
    if len(value) > max_chars:
        raise ApiError(422, "text_too_long", f"'{field}' has {len(value)} characters; at most {max_chars}",
                       field=field, limit=max_chars)
    if "\x00" in value:
        raise ApiError(422, "invalid_field", f"'{field}' contains a NUL character", field=field)
    return value


# ---------------------------------------------------------------------------------------- security headers

# The resident page and anything else HTML: our own files only, no inline code, never inside a frame.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# JSON, event streams, plain-text errors: nothing in them is ever to be rendered or run.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Pages with a fixed inline <style> and no user content (router/views/openapi.py's docs page).
_CSP_BY_PATH = {"/api/v1/docs": PAGE_CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")}


def set_security_headers(request: web.Request, resp: web.StreamResponse) -> None:
    """CSP, anti-framing, nosniff and referrer policy on ``resp``, keeping any a handler or sub-application
    (the console) set itself. Streams call it before ``prepare``; the middleware does it for the rest."""
    if resp.prepared:
        return
    headers = resp.headers
    if "Content-Security-Policy" not in headers:
        csp = _CSP_BY_PATH.get(request.path)
        if csp is None:
            # A FileResponse learns its type only when prepared: our files are pages, scripts and styles.
            html = isinstance(resp, web.FileResponse) or resp.content_type == "text/html"
            csp = PAGE_CSP if html else API_CSP
        headers["Content-Security-Policy"] = csp
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")


@web.middleware
async def security_headers(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                           ) -> web.StreamResponse:
    """Outermost middleware: also covers the JSON errors error_middleware renders and aiohttp's own 404s."""
    try:
        resp = await handler(request)
    except web.HTTPException as exc:
        set_security_headers(request, exc)
        raise
    set_security_headers(request, resp)
    return resp


# ------------------------------------------------------------------------------------- client address

_Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=16)
def _networks(specs: tuple[str, ...]) -> tuple[_Network, ...]:
    out = []
    for spec in specs:
        try:
            out.append(ipaddress.ip_network(spec.strip(), strict=False))
        except ValueError:
            log.warning("TRUSTED_PROXIES: %r is not an address or a network; ignored", spec)
    return tuple(out)


def _address(text: str) -> _Address | None:
    text = text.strip()
    if text.startswith("["):  # [2001:db8::1]:443
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:  # 198.51.100.1:5678
        text = text.split(":", 1)[0]
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def client_ip(request: web.Request) -> str:
    """The address of whoever sent the request. X-Forwarded-For is believed only when the direct peer is a
    trusted proxy (TRUSTED_PROXIES), and then read from the right: the first hop that is not one of our
    proxies is the client; whatever a client wrote further left is its own claim and is ignored."""
    peer = _address(request.remote or "")
    if peer is None:
        return request.remote or "?"
    settings = request.config_dict.get(SETTINGS)
    trusted = _networks(tuple(settings.trusted_proxies)) if settings is not None else ()
    if not any(peer in net for net in trusted):
        return str(peer)
    hops = [h for value in request.headers.getall("X-Forwarded-For", ()) for h in value.split(",") if h.strip()]
    current = peer
    for hop in reversed(hops):
        addr = _address(hop)
        if addr is None:
            break
        current = addr
        if not any(addr in net for net in trusted):
            break
    return str(current)


def address_bucket(ip: str) -> str:
    """What a per-address limit counts: the address, or for IPv6 its /64 (one subscriber's whole prefix)."""
    addr = _address(ip)
    if isinstance(addr, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{addr}/64", strict=False))
    return str(addr) if addr is not None else ip


# ------------------------------------------------------------------------------------------ rate limits

# Fixed window per key: the first request of a window starts its clock; every router process counts in
# the same key, so the limit holds however many processes serve the public side.
_WINDOW = """
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
"""


def too_many_requests(code: str, message: str, retry_after: int) -> ApiError:
    """A 429 with ``Retry-After`` and the same number in the JSON body."""
    retry_after = max(1, int(retry_after))
    return ApiError(429, code, message, retry_after=retry_after, headers={"Retry-After": str(retry_after)})


async def rate_limit(request: web.Request, scope: str, subject: str, limit: int, *, window: int | None = None
                     ) -> None:
    """Count one request of kind ``scope`` by ``subject`` (an address bucket or a session); beyond ``limit``
    per window, a 429 ApiError. ``limit`` 0 turns the check off. If Redis cannot count, the request goes
    on (it needs Redis anyway and will say so itself): a limit never turns an outage into a refusal."""
    if limit <= 0:
        return
    window = window or request.config_dict[SETTINGS].rate_window_seconds
    redis: StrRedis = request.config_dict[REDIS]
    try:
        count, ttl_ms = await redis.register_script(_WINDOW)(keys=[keys.rate_limit(scope, subject)],
                                                             args=[int(window * 1000)])
    except RedisError as exc:
        log.warning("rate limit %s not checked: %s", scope, exc)
        return
    if int(count) > limit:
        raise too_many_requests("rate_limited", "请求过于频繁，请稍后再试 (too many requests)",
                                math.ceil(int(ttl_ms) / 1000))


# ------------------------------------------------------------------------- live events (one pub/sub each)


class StreamClosed(Exception):
    """A subscription ended by the hub: shutdown, Redis lost (events may have been missed), or a subscriber
    too slow to keep up. An SSE client reconnects and replays what it missed from the transcript."""


class HubFull(Exception):
    """This process already serves as many live subscriptions as it may (SSE_MAX_PER_PROCESS)."""


class Subscription:
    """One local listener (an open SSE stream) on a few channels: a bounded queue the hub fills."""

    def __init__(self, channels: tuple[str, ...], maxsize: int) -> None:
        self.channels = channels
        self.closed = ""
        self._queue: asyncio.Queue[tuple[str, str] | None] = asyncio.Queue(maxsize)

    def _deliver(self, channel: str, data: str) -> None:
        if self.closed:
            return
        try:
            self._queue.put_nowait((channel, data))
        except asyncio.QueueFull:
            self._close("subscriber too slow")

    def _close(self, reason: str) -> None:
        if self.closed:
            return
        self.closed = reason
        while not self._queue.empty():  # make room for the end marker; the client replays anyway
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    async def get(self, timeout: float) -> tuple[str, str] | None:
        """The next ``(channel, data)``; None after ``timeout`` seconds without one; StreamClosed once ended."""
        if self.closed:
            raise StreamClosed(self.closed)
        try:
            async with asyncio.timeout(timeout):
                item = await self._queue.get()
        except TimeoutError:
            return None
        if item is None:
            raise StreamClosed(self.closed)
        return item


class EventHub:
    """The process's single Redis pub/sub connection, fanning messages out to local subscribers.

    Each channel is subscribed in Redis once, while at least one local subscriber wants it, and
    ``subscribe`` returns only after Redis confirmed it, so a caller may replay history afterwards without
    a gap. If the connection drops, every subscription ends (its client reconnects and replays from the
    transcript) and the hub connects again; at shutdown every subscription ends at once.
    """

    # Always subscribed: keeps the connection in subscriber mode, so commands sent while the reader waits
    # never trigger a health-check read of their own.
    CONTROL = f"{keys.PREFIX}:event-hub"

    def __init__(self, redis: StrRedis, *, max_subscriptions: int = 500, queue_size: int = 256) -> None:
        self.redis = redis
        self.max_subscriptions = max_subscriptions
        self.queue_size = queue_size
        self._pubsub: Any = None
        self._ready = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._subs: set[Subscription] = set()
        self._local: dict[str, set[Subscription]] = {}
        # channel → (SUBSCRIBE commands not yet confirmed, future resolved when they all are)
        self._confirm: dict[str, tuple[int, asyncio.Future[None]]] = {}

    @property
    def open_subscriptions(self) -> int:
        return len(self._subs)

    async def start(self) -> None:
        self._closing = False
        self._task = asyncio.create_task(self._run(), name="event-hub")

    async def close(self) -> None:
        """End every subscription and the connection (idempotent)."""
        self._closing = True
        for sub in list(self._subs):
            sub._close("shutting down")
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        await self._drop()

    @contextlib.asynccontextmanager
    async def subscribe(self, *channels: str) -> AsyncIterator[Subscription]:
        """Listen on ``channels`` until the block ends. HubFull beyond the cap; StreamClosed if Redis is
        not there to subscribe."""
        if self._closing:
            raise StreamClosed("shutting down")
        if len(self._subs) >= self.max_subscriptions:
            raise HubFull()
        sub = Subscription(tuple(dict.fromkeys(channels)), self.queue_size)
        self._subs.add(sub)
        try:
            await self._add(sub)
            yield sub
        finally:
            self._subs.discard(sub)
            sub._close("ended")
            await self._remove(sub)

    async def _add(self, sub: Subscription) -> None:
        try:
            async with asyncio.timeout(5):
                await self._ready.wait()
        except TimeoutError:
            raise StreamClosed("redis unavailable") from None
        pubsub = self._pubsub
        loop = asyncio.get_running_loop()
        new: list[str] = []
        waits: list[asyncio.Future[None]] = []
        for ch in sub.channels:
            local = self._local.setdefault(ch, set())
            local.add(sub)
            if len(local) == 1:
                count, fut = self._confirm.get(ch, (0, loop.create_future()))
                self._confirm[ch] = (count + 1, fut)
                new.append(ch)
                waits.append(fut)
            elif ch in self._confirm:  # another local subscriber's SUBSCRIBE is still on its way
                waits.append(self._confirm[ch][1])
        try:
            if new:
                await pubsub.subscribe(*new)
            async with asyncio.timeout(5):
                await asyncio.gather(*(asyncio.shield(f) for f in waits))
        except (RedisError, OSError, TimeoutError, AttributeError) as exc:
            raise StreamClosed(f"could not subscribe: {exc}") from None

    async def _remove(self, sub: Subscription) -> None:
        gone = []
        for ch in sub.channels:
            local = self._local.get(ch)
            if local is not None and sub in local:
                local.discard(sub)
                if not local:
                    del self._local[ch]
                    gone.append(ch)
        if gone and self._pubsub is not None and not self._closing:
            with contextlib.suppress(Exception):
                await self._pubsub.unsubscribe(*gone)

    async def _run(self) -> None:
        delay = 0.1
        while not self._closing:
            try:
                await self._connect()
                delay = 0.1
                while not self._closing:
                    msg = await self._pubsub.get_message(timeout=1.0)
                    if msg is not None:
                        self._dispatch(msg)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis gone for longer than the client's retries, or a protocol error
                if self._closing:
                    break
                log.warning("event hub: Redis pub/sub lost (%s: %s); open streams end and reconnect",
                            type(exc).__name__, exc)
                self._reset("redis connection lost")
                await self._drop()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _connect(self) -> None:
        pubsub = self.redis.pubsub()
        self._pubsub = pubsub
        await pubsub.subscribe(self.CONTROL)
        async with asyncio.timeout(10):
            while True:
                msg = await pubsub.get_message(timeout=1.0)
                if msg is not None and msg["type"] == "subscribe" and _text(msg["channel"]) == self.CONTROL:
                    break
        # After this, a reconnect inside redis-py's retries (which re-subscribes by itself) tells us that
        # messages may have been missed in between.
        assert pubsub.connection is not None  # subscribe() connected it
        pubsub.connection.register_connect_callback(self._reconnected)
        self._ready.set()

    async def _reconnected(self, connection: Any) -> None:
        log.warning("event hub: Redis connection re-established; open streams end and replay")
        self._reset("redis reconnected")

    def _reset(self, reason: str) -> None:
        for sub in list(self._subs):
            sub._close(reason)
        for _count, fut in self._confirm.values():
            if not fut.done():
                fut.set_exception(StreamClosed(reason))
                fut.exception()  # retrieved: nobody may be waiting any more
        self._confirm.clear()

    async def _drop(self) -> None:
        self._ready.clear()
        self._local.clear()
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is None:
            return
        if pubsub.connection is not None:
            pubsub.connection.deregister_connect_callback(self._reconnected)
        with contextlib.suppress(Exception):
            await pubsub.aclose()

    def _dispatch(self, msg: dict[str, Any]) -> None:
        kind, ch = msg["type"], _text(msg["channel"])
        if kind == "message":
            data = _text(msg["data"])
            for sub in tuple(self._local.get(ch, ())):
                sub._deliver(ch, data)
        elif kind == "subscribe" and ch in self._confirm:
            count, fut = self._confirm[ch]
            if count > 1:
                self._confirm[ch] = (count - 1, fut)
            else:
                del self._confirm[ch]
                if not fut.done():
                    fut.set_result(None)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


EVENT_HUB: web.AppKey[EventHub] = web.AppKey("event_hub", EventHub)


async def event_hub(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx (after the one that connects Redis): the process's event hub in ``app[EVENT_HUB]``."""
    hub = EventHub(app[REDIS], max_subscriptions=app[SETTINGS].sse_max_per_process)
    app[EVENT_HUB] = hub
    await hub.start()
    yield
    await hub.close()


async def close_event_streams(app: web.Application) -> None:
    """on_shutdown: end every open stream now, so shutdown does not wait for them to time out."""
    hub = app.get(EVENT_HUB)
    if hub is not None:
        await hub.close()
