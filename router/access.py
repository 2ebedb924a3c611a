"""Who may call which internal route: one token per internal client, each with its scope.

- ``ROUTER_API_TOKEN`` (scope ``internal``): operators' tools, other city systems, the tests — the whole
  internal API.
- ``ROUTER_BOT_TOKEN`` (scope ``bot``): the action server. It needs to understand a message, find a
  service, open a ticket, act on a ticket for the resident it talks to, and hand a conversation to a
  person — nothing else: it cannot list tickets, read one in full, move one as an agency, or read
  reports. A leaked bot token is a resident's reach, not an operator's.
"""

from __future__ import annotations

import hmac

__all__ = ["BOT_ROUTES", "scope_of", "allowed"]

# (method, canonical route) the bot may call.
BOT_ROUTES: frozenset[tuple[str, str]] = frozenset({
    ("POST", "/api/v1/triage"),
    ("POST", "/api/v1/classify"),
    ("POST", "/api/v1/locations/resolve"),
    ("GET", "/api/v1/services/search"),
    ("GET", "/api/v1/services/{id}"),
    ("POST", "/api/v1/tickets"),
    ("POST", "/api/v1/tickets/{id}/resident"),
    ("POST", "/api/v1/conversations/{id}/handoff"),
})


def _same(given: str, token: str) -> bool:
    return bool(token) and hmac.compare_digest(given.encode(), token.encode())


def scope_of(given: str, *, api_token: str, bot_token: str) -> str | None:
    """``internal``, ``bot`` or None for a presented bearer token."""
    if _same(given, api_token):
        return "internal"
    if _same(given, bot_token):
        return "bot"
    return None


def allowed(scope: str | None, method: str, route: str) -> bool:
    if scope == "internal":
        return True
    if scope == "bot":
        return (method.upper(), route) in BOT_ROUTES
    return False
