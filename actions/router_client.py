"""Async client for the router's internal API, the only network the action server uses.

Actions get a ``RouterClient`` injected (tests point it at a local stand-in server). Every call
has a timeout; a router that is down or answers 5xx raises ``RouterUnavailable`` so the action
can tell the resident something sensible instead of crashing the turn.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

__all__ = ["RouterClient", "RouterError", "RouterUnavailable", "RouterNotFound", "RouterConflict",
           "RouterForbidden"]

DEFAULT_URL = "http://127.0.0.1:8080"


class RouterUnavailable(Exception):
    """The router did not answer in time, refused the connection or failed (5xx)."""


@dataclass
class RouterError(Exception):
    """The router answered 4xx: the request itself was wrong (bad id, illegal move...)."""

    status: int
    body: dict[str, Any]

    def __str__(self) -> str:
        return f"router answered {self.status}: {self.body}"


class RouterNotFound(RouterError):
    """404: no such ticket / service item."""


class RouterConflict(RouterError):
    """409: e.g. an illegal ticket transition; nothing changed."""


class RouterForbidden(RouterError):
    """403: e.g. a resident asked to move a ticket they did not report; nothing changed."""


class RouterClient:
    def __init__(self, base_url: str, token: str = "", *, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    @classmethod
    def from_env(cls) -> RouterClient:
        # The bot's own token (scope: what the bot needs) when one is set; the full API token otherwise.
        token = os.environ.get("ROUTER_BOT_TOKEN") or os.environ.get("ROUTER_API_TOKEN", "")
        return cls(os.environ.get("ROUTER_URL", DEFAULT_URL), token,
                   timeout=float(os.environ.get("ROUTER_TIMEOUT", "5")))

    async def _request(self, method: str, path: str, *, json: Any = None,
                       params: dict[str, str] | None = None,
                       headers: dict[str, str] | None = None) -> dict[str, Any]:
        hdrs = {"Accept": "application/json"}
        if self.token:
            hdrs["Authorization"] = f"Bearer {self.token}"
        hdrs.update(headers or {})
        # One session per call: the action server is low-traffic and this never leaks a session
        # across event loops (rasa-sdk's sanic loop vs. the test loop).
        try:
            async with aiohttp.ClientSession(timeout=self.timeout) as session:
                async with session.request(method, self.base_url + path, json=json, params=params,
                                           headers=hdrs) as resp:
                    try:
                        body = await resp.json(content_type=None)
                    except ValueError:
                        body = {"error": (await resp.text())[:200]}
                    status = resp.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise RouterUnavailable(str(exc) or type(exc).__name__) from exc
        if status >= 500:
            raise RouterUnavailable(f"router answered {status}")
        if not isinstance(body, dict):
            body = {"data": body}
        if status == 404:
            raise RouterNotFound(status, body)
        if status == 409:
            raise RouterConflict(status, body)
        if status == 403:
            raise RouterForbidden(status, body)
        if status >= 400:
            raise RouterError(status, body)
        return body

    async def triage(self, text: str, channel: str) -> dict[str, Any]:
        return await self._request("POST", "/api/v1/triage", json={"text": text, "channel": channel})

    async def classify(self, text: str) -> dict[str, Any]:
        return await self._request("POST", "/api/v1/classify", json={"text": text})

    async def resolve_location(self, text: str) -> dict[str, Any]:
        return await self._request("POST", "/api/v1/locations/resolve", json={"text": text})

    async def search_services(self, query: str, district: str | None = None) -> list[dict[str, Any]]:
        params = {"q": query}
        if district:
            params["district"] = district
        body = await self._request("GET", "/api/v1/services/search", params=params)
        items = body.get("items", [])
        return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []

    async def get_service(self, item_id: str, district: str | None = None) -> dict[str, Any]:
        params = {"district": district} if district else None
        return await self._request("GET", f"/api/v1/services/{quote(item_id, safe='')}", params=params)

    async def create_ticket(self, payload: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        return await self._request("POST", "/api/v1/tickets", json=payload,
                                   headers={"Idempotency-Key": idempotency_key})

    async def resident_ticket(self, ticket_id: str, action: str, *, conversation_id: str,
                              phones: list[str] | tuple[str, ...] = (), rating: str | None = None,
                              reason: str | None = None) -> dict[str, Any]:
        """A resident's 查询 (status) / 催办 (urge) / 撤销 (withdraw) / 回访 (rate) on their own behalf:
        ``{"ticket": what they may see, "reporter": bool}``; RouterForbidden when they did not report it."""
        body: dict[str, Any] = {"action": action, "conversation_id": conversation_id, "phones": list(phones)[:10]}
        if rating:
            body["rating"] = rating
        if reason:
            body["reason"] = reason
        return await self._request("POST", f"/api/v1/tickets/{quote(ticket_id, safe='')}/resident", json=body)

    async def handoff(self, conversation_id: str, reason: str, summary: dict[str, Any]) -> dict[str, Any]:
        return await self._request("POST", f"/api/v1/conversations/{quote(conversation_id, safe='')}/handoff",
                                   json={"reason": reason, "summary": summary})
