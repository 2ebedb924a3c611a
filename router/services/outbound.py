"""Delivery of operator (and late bot) messages on the resident's own channel.

Each channel registers a sender; the console calls ``Outbound.send(conversation, reply)`` and does not
care whether the reply goes to an open web page (pub/sub → SSE), WeChat's customer-service API, or is
spoken at the caller's next turn on the hotline.
"""

from __future__ import annotations

from typing import Any, Protocol

from router.services.messages import Reply

__all__ = ["ChannelSender", "Outbound", "UnknownChannel"]


class ChannelSender(Protocol):
    async def send(self, conversation: Any, reply: Reply) -> None: ...


class UnknownChannel(LookupError):
    pass


class Outbound:
    def __init__(self) -> None:
        self._senders: dict[str, ChannelSender] = {}

    def register(self, channel: str, sender: ChannelSender) -> None:
        self._senders[channel] = sender

    async def send(self, conversation: Any, reply: Reply) -> None:
        sender = self._senders.get(conversation.channel)
        if sender is None:
            raise UnknownChannel(conversation.channel)
        await sender.send(conversation, reply)
