"""Client for the Rasa server: the router's channel webhook, NLU parse, and health."""

from __future__ import annotations

from typing import Any

import aiohttp

__all__ = ["RasaClient", "RasaUnavailable"]


class RasaUnavailable(Exception):
    """Rasa did not answer in time or answered with an error: the caller decides what the resident sees."""


class RasaClient:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str, *,
                 timeout: float = 20.0) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def send(self, sender: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        """One resident message through the bot; the bot's messages come back in order."""
        url = f"{self.base_url}/webhooks/router/webhook"
        body = {"sender": sender, "message": text, "metadata": metadata}
        try:
            async with self.session.post(url, json=body, timeout=self.timeout,
                                         headers={"X-Router-Token": self.token}) as resp:
                if resp.status != 200:
                    raise RasaUnavailable(f"rasa answered {resp.status}: {(await resp.text())[:200]}")
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RasaUnavailable(str(exc) or type(exc).__name__) from exc
        if not isinstance(data, list):
            raise RasaUnavailable("rasa answered with something other than a list of messages")
        return [m for m in data if isinstance(m, dict)]

    async def parse(self, text: str) -> dict[str, Any]:
        """NLU only (``/model/parse``): intent, ranking and entities, no tracker touched."""
        url = f"{self.base_url}/model/parse"
        try:
            async with self.session.post(url, json={"text": text}, params={"token": self.token},
                                         timeout=self.timeout) as resp:
                if resp.status != 200:
                    raise RasaUnavailable(f"rasa parse answered {resp.status}")
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RasaUnavailable(str(exc) or type(exc).__name__) from exc
        if not isinstance(data, dict):
            raise RasaUnavailable("rasa parse answered with something other than an object")
        return data

    async def add_events(self, sender: str, events: list[dict[str, Any]]) -> None:
        url = f"{self.base_url}/conversations/{sender}/tracker/events"
        try:
            async with self.session.post(url, json=events, params={"token": self.token},
                                         timeout=self.timeout) as resp:
                if resp.status != 200:
                    raise RasaUnavailable(f"rasa events answered {resp.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RasaUnavailable(str(exc) or type(exc).__name__) from exc

    async def tracker_state(self, sender: str) -> dict[str, Any]:
        """Slots and active loop of a conversation, without its events (cheap to move)."""
        url = f"{self.base_url}/conversations/{sender}/tracker"
        try:
            async with self.session.get(url, params={"token": self.token, "include_events": "NONE"},
                                        timeout=self.timeout) as resp:
                if resp.status != 200:
                    raise RasaUnavailable(f"rasa tracker answered {resp.status}")
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RasaUnavailable(str(exc) or type(exc).__name__) from exc
        return data if isinstance(data, dict) else {}

    async def status(self) -> dict[str, Any]:
        async with self.session.get(f"{self.base_url}/status", params={"token": self.token},
                                    timeout=aiohttp.ClientTimeout(total=3)) as resp:
            if resp.status != 200:
                raise RasaUnavailable(f"rasa status {resp.status}")
            data = await resp.json(content_type=None)
            return data if isinstance(data, dict) else {}
