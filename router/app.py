"""The aiohttp application factory: wires settings, Redis, Rasa, the domain and every channel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import urllib.parse
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelManagedConnection
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from router import appkeys as K
from router.adapters import StrRedis
from router.adapters.conversations import ConversationStore
from router.adapters.rasa import RasaClient
from router.adapters.ticket_store import RedisTicketStore
from router.domain.catalogue import Catalogue
from router.domain.classifier import TopicClassifier
from router.domain.jurisdiction import JurisdictionResolver
from router.http import auth_middleware, error_middleware, event_hub, security_headers
from router.services.dialogue import Dialogue
from router.services.intake import TicketIntake
from router.services.notices import RedisFollowers, TrackingLinks
from router.services.outbound import Outbound
from router.services.tickets import TicketService
from router.services.triage import Triage
from router.services.understanding import Understanding
from router.settings import Settings
from router.views.clients import HTTP

__all__ = ["create_app", "Deps", "Domain", "load_domain", "connect_redis", "close_redis"]

log = logging.getLogger(__name__)


class _PrimaryFollowingConnection(SentinelManagedConnection):
    """Asks the sentinels for the primary before every socket connect. redis-py 8's own sentinel
    connection does so only in connect(), but a command reconnects through connect_check_health(), which
    retried the old primary's address until it gave up: a failover was never followed."""

    async def _connect(self) -> None:
        if self.connection_pool.is_master:
            self.host, self.port = await self.connection_pool.get_master_address()
        await super()._connect()


def connect_redis(url: str, *, max_connections: int = 64, wait_seconds: float = 5.0,
                  sentinels: tuple[str, ...] = (), sentinel_service: str = "rsa") -> aioredis.Redis:
    """A client that rides out a Redis restart of a few seconds instead of failing the request, with a
    bounded pool: a burst waits up to ``wait_seconds`` for one of ``max_connections`` connections rather
    than opening more (Redis' clients and this process' file descriptors stay bounded; Rasa's stores
    share the same Redis).

    With ``sentinels`` (REDIS_SENTINELS, the production topology in deploy/) the client asks them for the
    current primary of ``sentinel_service`` and follows a failover; REDIS_URL then gives only the password
    and the database."""
    common: dict[str, Any] = {
        "decode_responses": True,
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
        "health_check_interval": 30,
        "socket_timeout": 10,
        "socket_connect_timeout": 2,
    }
    if sentinels:
        u = urllib.parse.urlparse(url)
        password = urllib.parse.unquote(u.password or "") or None
        db = int((u.path or "/0").lstrip("/") or 0)
        nodes = [(h, int(p)) for h, _, p in (s.rpartition(":") for s in sentinels)]
        manager = Sentinel(nodes, sentinel_kwargs={"password": password, "socket_timeout": 2})
        # A failover takes seconds (down-after-milliseconds + election): commands wait up to ~15 s for it.
        return manager.master_for(sentinel_service, db=db, password=password, max_connections=max_connections,
                                  connection_class=_PrimaryFollowingConnection,
                                  retry=Retry(ExponentialBackoff(cap=1.0, base=0.1), retries=15), **common)
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=wait_seconds,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=8),
        **common,
    )
    return aioredis.Redis.from_pool(pool)


async def close_redis(redis: aioredis.Redis) -> None:
    """Close the client and, behind Sentinel, the connections to the sentinels too."""
    await redis.aclose()
    manager = getattr(redis.connection_pool, "sentinel_manager", None)
    for node in getattr(manager, "sentinels", ()):
        await node.aclose()


@dataclass(frozen=True)
class Domain:
    """What the router understands messages and routes tickets with, built once per process."""

    classifier: TopicClassifier
    resolver: JurisdictionResolver
    catalogue: Catalogue
    understanding: Understanding


def load_domain(settings: Settings) -> Domain:
    """The domain from this checkout's data files (Settings.data_dir) and trained artefacts
    (Settings.model_dir); a missing artefact is a clear error naming `make classifier`."""
    from router.adapters.artefacts import load_intake_model, load_topic_classifier
    from router.adapters.reference_data import load_catalogue, load_resolver

    classifier = load_topic_classifier(cache_dir=settings.model_dir, data_dir=settings.data_dir)
    resolver = load_resolver(settings.data_dir)
    catalogue = load_catalogue(settings.data_dir)
    understanding = Understanding(classifier=classifier, resolver=resolver, catalogue=catalogue,
                                  model=load_intake_model(cache_dir=settings.model_dir))
    return Domain(classifier, resolver, catalogue, understanding)


@dataclass(frozen=True)
class Deps:
    """What create_app would otherwise build from Settings: tests pass their own (a Redis of their own, a
    domain loaded once per session, a clock they move, an outbound registry that records)."""

    redis: StrRedis | None = None  # default: connect_redis(settings); one passed in is not closed here
    domain: Domain | None = None  # default: load_domain(settings)
    clock: Callable[[], datetime] | None = None  # the ticket store's clock (default: the wall clock)
    outbound: Outbound | None = None
    rasa_timeout: float = 20.0
    # the dialogue every channel talks to (default: Dialogue over Rasa); a test's scripted stand-in
    dialogue: Any = None


def tracking_links(settings: Settings) -> TrackingLinks:
    """Links to the residents' tracking page (/t/{token}), under PUBLIC_URL (else the bound address)."""
    base = settings.public_url or f"http://{settings.router_host}:{settings.router_port}"
    return TrackingLinks(settings.tracking_key(), base)


def _resources(deps: Deps) -> Callable[[web.Application], AsyncIterator[None]]:
    async def resources(app: web.Application) -> AsyncIterator[None]:
        settings, domain = app[K.SETTINGS], app[K.DOMAIN]
        redis = deps.redis
        if redis is None:
            redis = connect_redis(settings.redis_url, max_connections=settings.redis_max_connections,
                                  sentinels=settings.redis_sentinels,
                                  sentinel_service=settings.redis_sentinel_service)
        http = aiohttp.ClientSession()
        app[K.REDIS] = redis
        app[HTTP] = http
        rasa = RasaClient(http, settings.rasa_workers, settings.rasa_token, timeout=deps.rasa_timeout)
        conversations = ConversationStore(redis, idle_seconds=settings.session_idle_seconds,
                                          retention_seconds=settings.conversation_retention_days * 86400)
        app[K.CONVERSATIONS] = conversations
        id_key = settings.ticket_id_key.encode() or None
        app[K.TICKETS] = (RedisTicketStore(redis, id_key=id_key, clock=deps.clock) if deps.clock
                          else RedisTicketStore(redis, id_key=id_key))
        app[K.INTAKE] = TicketIntake(app[K.TICKETS], domain.classifier, domain.resolver)
        app[K.TICKET_SERVICE] = TicketService(app[K.TICKETS], conversations=conversations,
                                              outbound=app[K.OUTBOUND], intake=app[K.INTAKE],
                                              followers=RedisFollowers(redis), links=tracking_links(settings))
        if deps.dialogue is None:
            # The dialogue records a resident's 不满意 reason through the ticket service.
            app[K.DIALOGUE] = Dialogue(redis, conversations, rasa, understanding=domain.understanding,
                                       tickets=app[K.TICKET_SERVICE])
        app[K.TRIAGE] = Triage(parse=rasa.parse, understanding=domain.understanding)
        yield
        await http.close()
        if deps.redis is None:
            await close_redis(redis)

    return resources


async def _sla_scheduler(app: web.Application) -> AsyncIterator[None]:
    from router.services.sla import run_sla_scheduler

    task = asyncio.create_task(run_sla_scheduler(app[K.TICKET_SERVICE]))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(settings: Settings | None = None, deps: Deps | None = None, *,
               with_scheduler: bool = True) -> web.Application:
    """The one composition root: every route, middleware and shared object, from ``settings`` (default:
    the environment) and ``deps`` (default: built from the settings)."""
    settings = settings or Settings.from_env()
    deps = deps or Deps()
    app = web.Application(middlewares=[security_headers, error_middleware, auth_middleware],
                          client_max_size=1024 * 1024)
    app[K.SETTINGS] = settings
    app[K.OPENAPI_PATHS] = {}
    app[K.OUTBOUND] = deps.outbound or Outbound()
    domain = deps.domain or load_domain(settings)
    app[K.DOMAIN] = domain
    app[K.CLASSIFIER] = domain.classifier
    app[K.RESOLVER] = domain.resolver
    app[K.CATALOGUE] = domain.catalogue
    app[K.UNDERSTANDING] = domain.understanding
    if deps.dialogue is not None:  # given: there from the start, like the domain
        app[K.DIALOGUE] = deps.dialogue
    app.cleanup_ctx.append(_resources(deps))
    app.cleanup_ctx.append(event_hub)  # one Redis pub/sub per process for every open event stream
    if with_scheduler:
        app.cleanup_ctx.append(_sla_scheduler)

    from router.channels import voice, wechat
    from router.channels import web as web_channel
    from router.console.app import setup_console
    from router.views import api, health, openapi, tickets, track

    api.setup_routes(app)
    tickets.setup_routes(app)
    track.setup_routes(app)
    health.setup_routes(app)
    openapi.setup_routes(app)
    web_channel.setup_routes(app)
    wechat.setup_routes(app)
    voice.setup_routes(app)
    setup_console(app)
    from router.portal.app import setup_portal  # the units' work portal at /work/
    setup_portal(app)
    return app
