"""Rasa input channel for the router: REST-style, synchronous, and closed to anyone without the token.

The router is the only caller. It sends ``{"sender", "message", "metadata": {"channel", ...}}`` to
``/webhooks/router/webhook`` with ``X-Router-Token``; Rasa's stock REST channel would accept messages for
any conversation from anyone who can reach the port. Without a configured token every call is refused.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Awaitable, Callable
from typing import Any, Optional

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request

__all__ = ["RouterInput"]


class RouterInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "router"

    @classmethod
    def from_credentials(cls, credentials: Optional[dict[str, Any]]) -> RouterInput:
        token = (credentials or {}).get("token") or os.environ.get("RASA_TOKEN", "")
        return cls(token=str(token))

    def __init__(self, token: str = "") -> None:
        self.token = token

    def _extract_input_channel(self, req: Request) -> str:
        metadata = req.json.get("metadata") or {}
        return str(metadata.get("channel") or self.name())

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = super().blueprint(on_new_message)
        token = self.token

        @bp.middleware("request")
        async def check_token(request: Request) -> Optional[response.HTTPResponse]:
            # Closed without a token: an unset RASA_TOKEN must not open the conversation webhook.
            if request.path.rstrip("/").endswith("/webhook"):
                given = request.headers.get("X-Router-Token", "")
                if not token or not hmac.compare_digest(given.encode(), token.encode()):
                    return response.json({"error": "unauthorized"}, status=401)
            return None

        return bp
