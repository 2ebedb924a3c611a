"""Helpers every action module shares: the injected router client, the resident's channel,
response texts read from the domain, phone / ticket-id parsing and place formatting.

User-facing Chinese lives in bot/domain/*.yml; code here only picks a response and fills its
placeholders, so wording changes never touch Python.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from rasa_sdk import Action, Tracker

from actions.router_client import RouterClient
from router.domain.tickets import RESIDENT_CHANNELS, mask_phone  # one masking rule for the bot and the router

try:  # shared with the router; pure, importable from the bot runtime with PYTHONPATH=<repo>
    from router.domain.normalise import normalise as _normalise
except ImportError:  # pragma: no cover - only when the repo root is not on the path
    _normalise = None

__all__ = [
    "CHANNELS",
    "RouterAction",
    "channel_of",
    "render",
    "normalise",
    "find_phone",
    "find_ticket_id",
    "mask_phone",
    "format_place",
    "format_deadline",
    "idempotency_key",
    "entity_values",
    "latest_intent",
    "is_payload",
    "spoken_ticket_id",
    "is_angry",
]

CHANNELS = RESIDENT_CHANNELS  # one list for the bot and the router

_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})-?(\d{7,8})(?!\d)")
_TICKET_ID = re.compile(r"SZ[-_ ]?(\d{8})[-_ ]?(\d{6})(?!\d)", re.IGNORECASE)
_DIGIT_GAP = re.compile(r"(?<=\d)[\s\-－—，,、.。]+(?=\d)")


def _load_words(name: str) -> tuple[str, ...]:
    path = Path(__file__).parent / "data" / name
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return tuple(line.lower() for line in lines if line and not line.startswith("#"))


ANGER_WORDS = _load_words("anger_words.txt")


class RouterAction(Action, ABC):
    """An action that talks to the router; the client is injected (tests pass a local stand-in)."""

    def __init__(self, client: RouterClient | None = None) -> None:
        self._client = client

    @abstractmethod
    def name(self) -> str:  # abstract so rasa-sdk does not register this base class itself
        ...

    @property
    def client(self) -> RouterClient:
        if self._client is None:
            self._client = RouterClient.from_env()
        return self._client


def normalise(text: str) -> str:
    return _normalise(text) if _normalise is not None else text.strip()


def channel_of(tracker: Tracker) -> str:
    """web | wechat | voice: the slot if set, else the latest message's metadata, else web."""
    slot = tracker.get_slot("channel")
    if slot in CHANNELS:
        return str(slot)
    candidates: list[Any] = [(tracker.latest_message or {}).get("metadata")]
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            candidates.append(event.get("metadata"))
            break
    candidates.append(tracker.get_slot("session_started_metadata"))
    for meta in candidates:
        if isinstance(meta, dict) and meta.get("channel") in CHANNELS:
            return str(meta["channel"])
    return "web"


def render(domain: dict[str, Any], name: str, channel: str = "web", **values: Any) -> str:
    """The text of response ``name`` for ``channel`` (a voice variant wins on voice), filled in.

    Used where a response is a fragment of another message (e.g. "未留" inside the ticket receipt),
    which Rasa's NLG cannot compose.
    """
    variants = (domain.get("responses") or {}).get(name) or []
    chosen = None
    for variant in variants:
        conds = variant.get("condition") or []
        if conds and all(c.get("name") == "channel" and c.get("value") == channel for c in conds):
            chosen = variant
            break
    if chosen is None:
        chosen = next((v for v in variants if not v.get("condition")), None)
    if chosen is None:
        raise KeyError(f"response {name!r} missing from the domain")
    text = str(chosen.get("text", ""))
    return text.format(**values) if values else text


def find_phone(text: str) -> str | None:
    """A mobile (11 digits) or landline (area code + 7/8 digits) number in the text, else None."""
    flat = _DIGIT_GAP.sub("", normalise(text))
    m = _MOBILE.search(flat)
    if m:
        return m.group(1)
    m = _LANDLINE.search(normalise(text)) or _LANDLINE.search(flat)
    if m:
        return f"{m.group(1)}-{m.group(2)}"
    return None


def find_ticket_id(text: str) -> str | None:
    """SZyyyymmdd-nnnnnn in any spacing/case the resident (or speech recognition) wrote it."""
    m = _TICKET_ID.search(normalise(text))
    return f"SZ{m.group(1)}-{m.group(2)}" if m else None


def spoken_ticket_id(ticket_id: str) -> str:
    """For text-to-speech: digits read one by one, grouped, instead of one huge number."""
    return " ".join(ch for ch in ticket_id.replace("-", "") if ch.isalnum())


def format_place(district: str | None = None, street: str | None = None, community: str | None = None,
                 landmark: str | None = None, address: str | None = None) -> str:
    """南山区粤海街道科技园社区（腾讯大厦附近）— levels that are known, without repeating."""
    parts = [p for p in (district, street, community) if p]
    place = "".join(parts)
    extra = landmark or address
    if extra and extra not in place:
        place = f"{place}（{extra}）" if place else extra
    return place


def format_deadline(iso_text: str | None) -> str:
    """'2026-11-26T15:00:00+08:00' → '2026-11-26 15:00' (the resident's wall clock)."""
    if not iso_text:
        return ""
    text = str(iso_text).replace("T", " ")
    return text[:16]


def idempotency_key(sender_id: str, message_id: str | None, text: str) -> str:
    """Same conversation + same triggering message → same key, so a retry never opens two tickets."""
    basis = f"{sender_id}\x1f{message_id or ''}\x1f{text if not message_id else ''}"
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]


def entity_values(tracker: Tracker, name: str) -> list[str]:
    """Values of entity ``name`` in the latest message, in order."""
    out = []
    for ent in (tracker.latest_message or {}).get("entities") or []:
        if ent.get("entity") == name and ent.get("value") not in (None, ""):
            out.append(str(ent["value"]))
    return out


def latest_intent(tracker: Tracker) -> str:
    return str(((tracker.latest_message or {}).get("intent") or {}).get("name") or "")


def is_payload(text: str | None) -> bool:
    """Button payloads such as '/skip' carry no words of the resident's own."""
    return bool(text) and str(text).lstrip().startswith("/")


def is_angry(text: str) -> bool:
    """Strong anger (abuse, 忍无可忍, 踢皮球...), not the ordinary heat of a noise complaint."""
    flat = normalise(text).lower()
    return any(word in flat for word in ANGER_WORDS)


def conversation_id(tracker: Any) -> str:
    """The router's conversation id. The router may move a long conversation to a fresh Rasa sender
    (``<id>.<n>``); the metadata carries the id itself, and the sender id's prefix is the same."""
    meta = (tracker.latest_message or {}).get("metadata") or {}
    return str(meta.get("conversation_id") or tracker.sender_id.split(".", 1)[0])
