"""Typed keys for the objects the aiohttp app shares (aiohttp ``web.AppKey``).

Each part registers its routes with ``setup_routes(app)`` in its own module and finds what it needs
here; create_app (router/app.py) fills them in its cleanup contexts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:  # imported only for the type checker: keeps startup import order free
    import redis.asyncio as aioredis

    from router.settings import Settings

__all__ = [
    "SETTINGS",
    "REDIS",
    "TICKETS",
    "CONVERSATIONS",
    "DIALOGUE",
    "OUTBOUND",
    "CLASSIFIER",
    "RESOLVER",
    "CATALOGUE",
    "TRIAGE",
    "UNDERSTANDING",
    "INTAKE",
    "TICKET_SERVICE",
    "OPENAPI_PATHS",
]

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
REDIS: web.AppKey[aioredis.Redis] = web.AppKey("redis")
TICKETS: web.AppKey[Any] = web.AppKey("tickets")  # router.adapters.ticket_store.RedisTicketStore
CONVERSATIONS: web.AppKey[Any] = web.AppKey("conversations")  # router.adapters.conversations.ConversationStore
DIALOGUE: web.AppKey[Any] = web.AppKey("dialogue")  # router.services.dialogue.Dialogue
OUTBOUND: web.AppKey[Any] = web.AppKey("outbound")  # router.services.outbound.Outbound
CLASSIFIER: web.AppKey[Any] = web.AppKey("classifier")  # router.domain.classifier.TopicClassifier
RESOLVER: web.AppKey[Any] = web.AppKey("resolver")  # router.domain.jurisdiction.JurisdictionResolver
CATALOGUE: web.AppKey[Any] = web.AppKey("catalogue")  # router.domain.catalogue.Catalogue
TRIAGE: web.AppKey[Any] = web.AppKey("triage")  # router.services.triage.Triage
UNDERSTANDING: web.AppKey[Any] = web.AppKey("understanding")  # router.services.understanding.Understanding
INTAKE: web.AppKey[Any] = web.AppKey("intake")  # router.services.intake.TicketIntake
TICKET_SERVICE: web.AppKey[Any] = web.AppKey("ticket_service")  # router.services.tickets.TicketService
# OpenAPI path items contributed by each view module: {"/api/v1/...": {"get": {...}}}
OPENAPI_PATHS: web.AppKey[dict[str, Any]] = web.AppKey("openapi_paths")
