"""What channels exchange with the dialogue: replies with buttons, and the turn result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Button", "Reply", "Turn"]


@dataclass(frozen=True)
class Button:
    title: str
    payload: str

    def to_dict(self) -> dict[str, str]:
        return {"title": self.title, "payload": self.payload}


@dataclass(frozen=True)
class Reply:
    """One bot or operator message. ``author`` is "bot", "operator" or "system"."""

    text: str
    buttons: tuple[Button, ...] = ()
    author: str = "bot"
    custom: dict[str, Any] | None = None
    # The transcript entry's time, for a reply that is also on the conversation's live stream (a system
    # message): the page shows the two deliveries once.
    at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"text": self.text, "buttons": [b.to_dict() for b in self.buttons]}
        if self.author != "bot":
            d["author"] = self.author
        if self.at is not None:
            d["at"] = self.at
        return d

    @classmethod
    def from_rasa(cls, message: dict[str, Any]) -> Reply:
        buttons = tuple(
            Button(str(b.get("title", "")), str(b.get("payload", "")))
            for b in message.get("buttons") or ()
            if isinstance(b, dict)
        )
        custom = message.get("custom") if isinstance(message.get("custom"), dict) else None
        return cls(text=str(message.get("text") or ""), buttons=buttons, custom=custom)


@dataclass
class Turn:
    """The outcome of one resident message: replies to show now, and the conversation after it."""

    replies: list[Reply]
    conversation: Any  # router.adapters.conversations.Conversation
    duplicate: bool = False  # the same message id was seen before: nothing was done twice
    extra: dict[str, Any] = field(default_factory=dict)
