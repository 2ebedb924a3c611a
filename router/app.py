"""The aiohttp application factory: wires settings, Redis, Rasa, the domain and every channel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from router import appkeys as K
from router.adapters.conversations import ConversationStore
from router.adapters.rasa import RasaClient
from router.http import auth_middleware, error_middleware, event_hub, security_headers
from router.services.dialogue import Dialogue
from router.services.intake import TicketIntake
from router.services.outbound import Outbound
from router.services.tickets import TicketService
from router.services.triage import Triage
from router.settings import Settings
from router.views.clients import HTTP

__all__ = ["create_app", "connect_redis"]

log = logging.getLogger(__name__)


def connect_redis(url: str, *, max_connections: int = 64, wait_seconds: float = 5.0) -> aioredis.Redis:
    """A client that rides out a Redis restart of a few seconds instead of failing the request, with a
    bounded pool: a burst waits up to ``wait_seconds`` for one of ``max_connections`` connections rather
    than opening more (Redis' clients and this process' file descriptors stay bounded; Rasa's stores
    share the same Redis)."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=wait_seconds,
        decode_responses=True,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=8),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=30,
        socket_timeout=10,
        socket_connect_timeout=2,
    )
    return aioredis.Redis.from_pool(pool)


def _load_domain(app: web.Application) -> None:
    # Imported here: each loads data files once; create_app stays cheap to import.
    from router.adapters.artefacts import load_intake_model
    from router.domain.catalogue import Catalogue
    from router.domain.classifier import TopicClassifier
    from router.domain.jurisdiction import JurisdictionResolver
    from router.services.understanding import Understanding

    app[K.CLASSIFIER] = TopicClassifier.load()
    app[K.RESOLVER] = JurisdictionResolver.load()
    app[K.CATALOGUE] = Catalogue.load()
    app[K.UNDERSTANDING] = Understanding(classifier=app[K.CLASSIFIER], resolver=app[K.RESOLVER],
                                         catalogue=app[K.CATALOGUE], model=load_intake_model())


async def _resources(app: web.Application) -> AsyncIterator[None]:
    settings = app[K.SETTINGS]
    redis = connect_redis(settings.redis_url, max_connections=settings.redis_max_connections)
    http = aiohttp.ClientSession()
    app[K.REDIS] = redis
    app[HTTP] = http
    rasa = RasaClient(http, settings.rasa_url, settings.rasa_token)
    conversations = ConversationStore(redis, idle_seconds=settings.session_idle_seconds,
                                      retention_seconds=settings.conversation_retention_days * 86400)
    app[K.CONVERSATIONS] = conversations
    app[K.DIALOGUE] = Dialogue(redis, conversations, rasa, understanding=app[K.UNDERSTANDING])
    from router.adapters.ticket_store import RedisTicketStore

    app[K.TICKETS] = RedisTicketStore(redis, id_key=settings.ticket_id_key.encode() or None)
    app[K.INTAKE] = TicketIntake(app[K.TICKETS], app[K.CLASSIFIER], app[K.RESOLVER])
    app[K.TICKET_SERVICE] = TicketService(app[K.TICKETS], conversations=conversations, outbound=app[K.OUTBOUND],
                                          intake=app[K.INTAKE])
    app[K.TRIAGE] = Triage(parse=rasa.parse, understanding=app[K.UNDERSTANDING])
    yield
    await http.close()
    await redis.aclose()


async def _sla_scheduler(app: web.Application) -> AsyncIterator[None]:
    from router.services.sla import run_sla_scheduler

    task = asyncio.create_task(run_sla_scheduler(app[K.TICKETS]))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(settings: Settings | None = None, *, with_scheduler: bool = True) -> web.Application:
    settings = settings or Settings.from_env()
    app = web.Application(middlewares=[security_headers, error_middleware, auth_middleware],
                          client_max_size=1024 * 1024)
    app[K.SETTINGS] = settings
    app[K.OPENAPI_PATHS] = {}
    app[K.OUTBOUND] = Outbound()
    _load_domain(app)
    app.cleanup_ctx.append(_resources)
    app.cleanup_ctx.append(event_hub)  # one Redis pub/sub per process for every open event stream
    if with_scheduler:
        app.cleanup_ctx.append(_sla_scheduler)

    from router.channels import voice, wechat
    from router.channels import web as web_channel
    from router.console.views import setup_console
    from router.views import api, health, openapi, tickets

    api.setup_routes(app)
    tickets.setup_routes(app)
    health.setup_routes(app)
    openapi.setup_routes(app)
    web_channel.setup_routes(app)
    wechat.setup_routes(app)
    voice.setup_routes(app)
    setup_console(app)
    return app
