"""Fixtures for action tests: a real local HTTP stand-in for the router, the real domain, and
Trackers built from JSON fixtures (tests/actions/fixtures/*.json)."""

from __future__ import annotations

import copy
import json
import socket
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

try:  # the router venv also walks tests/: these tests only make sense in the bot venv
    import rasa_sdk  # noqa: F401
except ImportError:  # pragma: no cover
    collect_ignore_glob = ["*.py"]
else:
    from aiohttp import web
    from rasa_sdk import Tracker

    REPO = Path(__file__).resolve().parents[2]
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))

    from actions.router_client import RouterClient
    from tests.actions.fake_router import TOKEN, FakeRouter, create_app

    FIXTURES = Path(__file__).parent / "fixtures"

    def _free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    @pytest.fixture
    async def router() -> AsyncIterator[tuple[FakeRouter, RouterClient]]:
        state = FakeRouter()
        runner = web.AppRunner(create_app(state))
        await runner.setup()
        port = _free_port()
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        try:
            yield state, RouterClient(f"http://127.0.0.1:{port}", TOKEN, timeout=3)
        finally:
            await runner.cleanup()

    @pytest.fixture
    def dead_client() -> RouterClient:
        """A client whose router is down: nothing listens on the port."""
        return RouterClient(f"http://127.0.0.1:{_free_port()}", TOKEN, timeout=1)

    @pytest.fixture(scope="session")
    def domain() -> dict[str, Any]:
        from rasa.shared.core.domain import Domain

        return Domain.load(str(REPO / "bot" / "domain")).as_dict()

    @pytest.fixture
    def tracker() -> Callable[..., Tracker]:
        """tracker("report_first_message", slots={...}, text=..., intent=..., entities=[...])"""

        def build(name: str, *, slots: dict[str, Any] | None = None, text: str | None = None,
                  intent: str | None = None, entities: list[dict[str, Any]] | None = None,
                  metadata: dict[str, Any] | None = None) -> Tracker:
            state = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
            state["slots"] = {**state.get("slots", {}), **(slots or {})}
            latest = copy.deepcopy(state.get("latest_message") or {})
            if text is not None:
                latest["text"] = text
            if intent is not None:
                latest["intent"] = {"name": intent, "confidence": 0.95}
                latest["intent_ranking"] = [latest["intent"]]
            if entities is not None:
                latest["entities"] = entities
            if metadata is not None:
                latest["metadata"] = metadata
            state["latest_message"] = latest
            events = state.setdefault("events", [])
            if latest and (not events or events[-1].get("event") != "user"):
                events.append({"event": "user", "text": latest.get("text"), "parse_data": latest,
                               "metadata": latest.get("metadata") or {}})
            return Tracker.from_dict(state)

        return build
