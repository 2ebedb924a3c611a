"""Mount the work portal at /work/ (setup_portal, called once from router/app.py:create_app).

A sub-application like the console: its own route table and static files, the console's security-header
middleware, and its stores built on the router's Redis at startup. Console operators see unit photos
through /console/work-photos/{ticket}/{name} (their console login, not a unit's), which the portal
registers on the root app because the console cookie only travels under /console.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from router.adapters.mediation import MediationStore
from router.adapters.units import UnitSessions, UnitStore
from router.appkeys import CLASSIFIER, REDIS, RESOLVER, SETTINGS, TICKET_SERVICE
from router.console import proxies
from router.console.access import security_headers
from router.console.auth import LoginLimiter
from router.domain.routing import Level, RoutingError
from router.domain.tickets import Ticket
from router.portal.access import HERE, PORTAL, PortalState, make_env
from router.portal.photos import PhotoStore
from router.portal.routes import (
    accept,
    assign_down,
    console_photo,
    escalate,
    login_page,
    login_submit,
    logout,
    mediation_failure,
    mediation_parties,
    mediation_session,
    mediation_success,
    note,
    photo,
    report_page,
    report_submit,
    resolve,
    return_ticket,
    root,
    ticket_list,
    ticket_page,
)
from router.services.escalation import Escalation
from router.services.mediation import MediationService
from router.services.work import WorkService

__all__ = ["setup_portal"]


def setup_portal(app: web.Application) -> None:
    portal = web.Application(middlewares=[security_headers])
    state = PortalState(env=make_env())
    app[PORTAL] = state  # on the root: the console's photo route finds it too
    r = portal.router
    r.add_get("/", root)
    r.add_get("/login", login_page)
    r.add_post("/login", login_submit)
    r.add_post("/logout", logout)
    r.add_get("/tickets", ticket_list)
    r.add_get("/tickets/{id}", ticket_page)
    r.add_post("/tickets/{id}/accept", accept)
    r.add_post("/tickets/{id}/return", return_ticket)
    r.add_post("/tickets/{id}/note", note)
    r.add_post("/tickets/{id}/resolve", resolve)
    r.add_post("/tickets/{id}/escalate", escalate)
    r.add_post("/tickets/{id}/assign", assign_down)
    r.add_get("/tickets/{id}/photos/{name}", photo)
    r.add_post("/tickets/{id}/mediation/parties", mediation_parties)
    r.add_post("/tickets/{id}/mediation/sessions", mediation_session)
    r.add_post("/tickets/{id}/mediation/success", mediation_success)
    r.add_post("/tickets/{id}/mediation/failure", mediation_failure)
    r.add_get("/report", report_page)
    r.add_post("/report", report_submit)
    r.add_static("/static/", HERE / "static", append_version=False)

    async def bare_root(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/work/")

    app.router.add_get("/work", bare_root)
    app.router.add_get("/console/work-photos/{id}/{name}", console_photo)
    app.add_subapp("/work", portal)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        redis = app[REDIS]
        settings = app[SETTINGS]
        state.units = UnitStore(redis)
        state.sessions = UnitSessions(redis)
        state.limiter = LoginLimiter(redis)
        state.work = WorkService(app[TICKET_SERVICE], redis)
        routing = app[CLASSIFIER].routing

        def city_body(ticket: Ticket) -> bool:  # the routing table names a city-level body for its topic
            try:
                return routing.route(ticket.topic.l1, ticket.topic.l2, ticket.topic.l3).level is Level.CITY
            except RoutingError:
                return False

        state.escalation = Escalation(state.work, app[RESOLVER].street_office, city_body=city_body)
        state.mediation = MediationService(state.work, MediationStore(redis), state.escalation)
        state.photos = PhotoStore(Path(settings.var_dir))
        state.trusted_proxies = proxies.parse_networks(settings.console_trusted_proxies)
        state.public_https = settings.public_url.lower().startswith("https://")
        yield

    app.cleanup_ctx.append(lifecycle)
