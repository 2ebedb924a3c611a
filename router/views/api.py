"""Internal API views: triage (contract item 1) and the calls the action server makes."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from router.adapters.conversations import (
    ConversationNotFound,
    IllegalConversationMove,
    conversation_id_of_sender,
)
from router.appkeys import CATALOGUE, CLASSIFIER, CONVERSATIONS, OPENAPI_PATHS, RESOLVER, SETTINGS, TRIAGE
from router.domain.normalise import normalise
from router.domain.tickets import RESIDENT_CHANNELS
from router.http import ApiError, read_json, require_text
from router.views import models as M
from router.views.models import body, errors, response

__all__ = ["setup_routes"]



def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


async def triage(request: web.Request) -> web.Response:
    data = await read_json(request)
    text = require_text(data, max_chars=request.app[SETTINGS].max_text_chars)
    channel = data.get("channel", "web")
    if channel not in RESIDENT_CHANNELS:
        raise ApiError(422, "invalid_field", f"'channel' must be one of {', '.join(RESIDENT_CHANNELS)}", field="channel")
    alternatives = data.get("alternatives", [])
    if not isinstance(alternatives, list) or len(alternatives) > 5 or not all(
            isinstance(a, str) and len(a) <= request.app[SETTINGS].max_text_chars for a in alternatives):
        raise ApiError(422, "invalid_field", "'alternatives' must be a list of at most 5 strings (other things "
                       "the speech recogniser heard)", field="alternatives")
    result = await request.app[TRIAGE](text, channel, alternatives)
    return _json(result.to_dict())


async def classify(request: web.Request) -> web.Response:
    data = await read_json(request)
    text = require_text(data, max_chars=request.app[SETTINGS].max_text_chars)
    return _json(request.app[CLASSIFIER].predict(normalise(text)).to_dict())


async def resolve_location(request: web.Request) -> web.Response:
    data = await read_json(request)
    text = require_text(data, max_chars=request.app[SETTINGS].max_text_chars)
    return _json(request.app[RESOLVER].resolve(normalise(text)).to_dict())


async def search_services(request: web.Request) -> web.Response:
    q = request.query.get("q", "").strip()
    if not q:
        raise ApiError(422, "invalid_field", "query parameter 'q' is required", field="q")
    if len(q) > request.app[SETTINGS].max_text_chars:
        raise ApiError(422, "text_too_long", "'q' is too long", field="q")
    district = request.query.get("district") or None
    hits = request.app[CATALOGUE].search(normalise(q), k=3, district=district)
    return _json({"items": [{**h.item.to_summary(), "score": round(float(h.score), 4)} for h in hits]})


async def get_service(request: web.Request) -> web.Response:
    catalogue = request.app[CATALOGUE]
    item = catalogue.get(request.match_info["id"])
    if item is None:
        raise ApiError(404, "not_found", f"no service item {request.match_info['id']}")
    district = request.query.get("district") or None
    street = request.query.get("street") or None
    return _json({**item.to_dict(), "where": catalogue.where_to_apply(item, district, street)})


async def handoff(request: web.Request) -> web.Response:
    data = await read_json(request)
    reason = str(data.get("reason") or "requested")[:200]
    summary = data.get("summary") if isinstance(data.get("summary"), dict) else {}
    urgent = bool(data.get("urgent"))
    try:
        conv_id = conversation_id_of_sender(request.match_info["id"])  # the action server knows Rasa's sender id
        conv = await request.app[CONVERSATIONS].move(conv_id, "handoff", reason=reason,
                                                     summary=summary, urgent=urgent)
    except ConversationNotFound:
        raise ApiError(404, "not_found", f"no conversation {request.match_info['id']}") from None
    except IllegalConversationMove as exc:
        raise ApiError(409, "illegal_move", str(exc), state=exc.state) from None
    return _json(conv.to_dict())


async def get_conversation(request: web.Request) -> web.Response:
    conv = await request.app[CONVERSATIONS].get(conversation_id_of_sender(request.match_info["id"]))
    if conv is None:
        raise ApiError(404, "not_found", f"no conversation {request.match_info['id']}")
    return _json({**conv.to_dict(), "transcript": await request.app[CONVERSATIONS].transcript(conv.id)})


_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}

OPENAPI: dict[str, Any] = {
    "/api/v1/triage": {"post": {
        "summary": "Triage one message: outcome, intent, topic, service items, place, emergency number",
        "requestBody": body(M.TriageRequest),
        "responses": {"200": response("triage", M.Triage), **errors(400, 401, 413, 422)}}},
    "/api/v1/classify": {"post": {
        "summary": "Topic (l1/l2/l3) and responsible department", "requestBody": body(M.TextRequest),
        "responses": {"200": response("topic", M.Topic), **errors(400, 401, 422)}}},
    "/api/v1/locations/resolve": {"post": {
        "summary": "Free text → 区/街道/社区/网格", "requestBody": body(M.TextRequest),
        "responses": {"200": response("jurisdiction", M.Jurisdiction), **errors(400, 401, 422)}}},
    "/api/v1/services/search": {"get": {
        "summary": "Search the service catalogue (best first, at most 3)",
        "parameters": [{"name": "q", "in": "query", "required": True, "schema": {"type": "string"}},
                       {"name": "district", "in": "query", "schema": {"type": "string"}}],
        "responses": {"200": response("items", M.ServiceSearch), **errors(401, 422)}}},
    "/api/v1/services/{id}": {"get": {
        "summary": "One service item and where this resident applies",
        "parameters": [_ID, {"name": "district", "in": "query", "schema": {"type": "string"}},
                       {"name": "street", "in": "query", "schema": {"type": "string"}}],
        "responses": {"200": response("item", M.ServiceItem), **errors(401, 404)}}},
    "/api/v1/conversations/{id}": {"get": {
        "summary": "A conversation with its transcript",
        "parameters": [_ID],
        "responses": {"200": response("conversation", M.Conversation), **errors(401, 404)}}},
    "/api/v1/conversations/{id}/handoff": {"post": {
        "summary": "Queue the conversation for an operator",
        "parameters": [_ID],
        "requestBody": body(M.HandoffRequest),
        "responses": {"200": response("conversation (state queued)", M.Conversation),
                      **errors(400, 401, 404, 409)}}},
}


def setup_routes(app: web.Application) -> None:
    app.router.add_post("/api/v1/triage", triage)
    app.router.add_post("/api/v1/classify", classify)
    app.router.add_post("/api/v1/locations/resolve", resolve_location)
    app.router.add_get("/api/v1/services/search", search_services)
    app.router.add_get("/api/v1/services/{id}", get_service)
    app.router.add_get("/api/v1/conversations/{id}", get_conversation)
    app.router.add_post("/api/v1/conversations/{id}/handoff", handoff)
    app[OPENAPI_PATHS].update(OPENAPI)
