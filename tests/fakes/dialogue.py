"""A stand-in for router.services.dialogue.Dialogue: the same ``handle`` signature, records every call,
echoes the text after ``delay`` seconds, and offers two buttons when asked "我要办事"."""

from __future__ import annotations

import asyncio
from typing import Any

from router.services.messages import Button, Reply, Turn


class FakeDialogue:
    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls: list[dict[str, Any]] = []
        self.trusted: list[bool] = []  # trusted_payload of each call

    async def handle(self, channel: str, user_id: str, text: str, *, message_id: str | None = None,
                     metadata: dict[str, Any] | None = None, trusted_payload: bool = False) -> Turn:
        self.calls.append({"channel": channel, "user_id": user_id, "text": text, "message_id": message_id})
        self.trusted.append(trusted_payload)
        await asyncio.sleep(self.delay)
        if text == "我要办事":
            buttons = (Button("办事指南", "/ask_service"), Button("反映问题", "/report_problem"))
            return Turn(replies=[Reply("请选择您要办理的事项：", buttons=buttons)], conversation=None)
        return Turn(replies=[Reply(f"收到：{text}")], conversation=None)
