"""Typed keys for the objects the aiohttp app shares (aiohttp ``web.AppKey``).

Each part registers its routes with ``setup_routes(app)`` in its own module and finds what it needs
here; create_app (router/app.py) fills them in its cleanup contexts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:  # imported only for the type checker: keeps startup import order free
    from router.adapters import StrRedis
    from router.adapters.conversations import ConversationStore
    from router.adapters.ticket_store import RedisTicketStore
    from router.app import Domain
    from router.domain.catalogue import Catalogue
    from router.domain.classifier import TopicClassifier
    from router.domain.jurisdiction import JurisdictionResolver
    from router.services.dialogue import Dialogue
    from router.services.intake import TicketIntake
    from router.services.outbound import Outbound
    from router.services.tickets import TicketService
    from router.services.triage import Triage
    from router.services.understanding import Understanding
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
    "DOMAIN",
]

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
REDIS: web.AppKey[StrRedis] = web.AppKey("redis")
TICKETS: web.AppKey[RedisTicketStore] = web.AppKey("tickets")
CONVERSATIONS: web.AppKey[ConversationStore] = web.AppKey("conversations")
DIALOGUE: web.AppKey[Dialogue] = web.AppKey("dialogue")
OUTBOUND: web.AppKey[Outbound] = web.AppKey("outbound")
CLASSIFIER: web.AppKey[TopicClassifier] = web.AppKey("classifier")
RESOLVER: web.AppKey[JurisdictionResolver] = web.AppKey("resolver")
CATALOGUE: web.AppKey[Catalogue] = web.AppKey("catalogue")
TRIAGE: web.AppKey[Triage] = web.AppKey("triage")
UNDERSTANDING: web.AppKey[Understanding] = web.AppKey("understanding")
INTAKE: web.AppKey[TicketIntake] = web.AppKey("intake")
TICKET_SERVICE: web.AppKey[TicketService] = web.AppKey("ticket_service")
DOMAIN: web.AppKey[Domain] = web.AppKey("domain")
# OpenAPI path items contributed by each view module: {"/api/v1/...": {"get": {...}}}
OPENAPI_PATHS: web.AppKey[dict[str, Any]] = web.AppKey("openapi_paths")
