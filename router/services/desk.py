"""The operator desk: what an operator does with a conversation — take it from the queue, answer the
resident, hand it back to the bot or close it — with the checks, the store's move, the operator's list of
conversations in service, and the notice to the resident that go with each.

No HTTP here: the console (router.console.routes.conversations) parses the request, calls the desk,
records the audit entry and renders what came of it. A refusal names its reason as a key of the console's
messages, with the particulars raw (states, command and operator names) for the console to put in words.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from router import keys
from router.adapters.conversations import (
    Conversation,
    ConversationNotFound,
    ConversationState,
    IllegalConversationMove,
)
from router.services.assignment import CSAT_SCORES, DeskStats
from router.services.messages import Button, Reply

__all__ = ["Desk", "Operator", "Refused", "InvalidReply", "Undelivered", "MAX_REPLY_CHARS", "csat_payload",
           "parse_csat", "record_csat"]

log = logging.getLogger(__name__)

MAX_REPLY_CHARS = 2000


@dataclass(frozen=True)
class Operator:
    """Who is at the desk: their user name, and whether they supervise (a supervisor may end another
    operator's conversation, or one still waiting in the queue)."""

    name: str
    supervisor: bool = False


class Refused(Exception):
    """The desk will not do it now: someone else has the conversation, or it is not in that state."""

    def __init__(self, reason: str, **params: Any) -> None:
        super().__init__(reason)
        self.reason, self.params = reason, params


class InvalidReply(Refused):
    """The reply itself will not do (empty, too long), whoever sends it and whatever the conversation."""


class Undelivered(Exception):
    """The reply is in the transcript, but the resident's channel did not take it."""

    def __init__(self, conversation: Conversation, text: str, error: Exception) -> None:
        super().__init__(str(error))
        self.conversation, self.text, self.error = conversation, text, error


class Desk:
    """The operator actions on conversations. ``notices`` are the texts the resident is shown when an
    operator takes, hands back or closes their conversation (keyed "claimed", "handback", "close"), and
    "csat", the question asked once after a person served them (buttons 满意/一般/不满意)."""

    def __init__(self, conversations: Any, redis: Any, outbound: Any, notices: Mapping[str, Any]) -> None:
        self.conversations = conversations
        self.redis = redis
        self.outbound = outbound
        self.notices = notices
        self.stats = DeskStats(redis)

    async def get(self, conv_id: str) -> Conversation:
        conv = await self.conversations.get(conv_id)
        if conv is None:
            raise ConversationNotFound(conv_id)
        return conv

    async def claim(self, conv_id: str, operator: Operator) -> Conversation:
        """Take a waiting conversation: it is the operator's until they hand it back or close it."""
        try:
            conv = await self.conversations.move(conv_id, "claim", operator=operator.name)
        except IllegalConversationMove as exc:
            current = await self.conversations.get(conv_id)
            if exc.state == ConversationState.HUMAN.value and current is not None:
                raise Refused("claimed_by_other", operator=current.operator or "", state=exc.state) from None
            raise Refused("claim_not_queued", state=exc.state) from None
        await self.redis.sadd(keys.console_operator_conversations(operator.name), conv_id)
        await self._notify(conv, "claimed")
        return conv

    async def reply(self, conv_id: str, operator: Operator, text: str) -> tuple[Conversation, str]:
        """Answer the resident of a conversation the operator has; returns it and the text as sent.
        Undelivered when the channel failed: the reply is in the transcript all the same."""
        conv = await self.get(conv_id)
        if not text:
            raise InvalidReply("reply_empty")
        if len(text) > MAX_REPLY_CHARS:
            raise InvalidReply("reply_too_long", count=len(text), limit=MAX_REPLY_CHARS)
        text = text.replace("\x00", "")
        self._check_mine(conv, operator, supervisor_may=False)
        # The transcript entry is published on the conversation's event stream: that is the web page's
        # delivery. Other channels (WeChat, voice) get it from their sender.
        await self.conversations.append(conv.id, "operator", text, meta={"operator": operator.name})
        now = time.time()
        if await self.conversations.set_once(conv.id, "first_reply_at", str(now), state="human") and conv.queued_at:
            await self.stats.first_response(max(0.0, now - conv.queued_at), now=now)
        try:
            await self.outbound.send(conv, Reply(text, author="operator"))
        except Exception as exc:  # noqa: BLE001 - any channel failure is reported to the operator, not hidden
            log.warning("operator reply on %s not delivered: %s", conv.id, exc)
            raise Undelivered(conv, text, exc) from exc
        return conv, text

    async def end(self, conv_id: str, operator: Operator, command: str) -> tuple[Conversation, Conversation]:
        """``handback`` (to the bot) or ``close``; returns the conversation before and after the move."""
        conv = await self.get(conv_id)
        self._check_mine(conv, operator, supervisor_may=True)
        try:
            moved = await self.conversations.move(conv.id, command, operator=operator.name, reason="operator")
        except IllegalConversationMove as exc:
            raise Refused("illegal_move", state=exc.state, command=command) from None
        if conv.operator:
            await self.redis.srem(keys.console_operator_conversations(conv.operator), conv.id)
        await self._notify(moved, command)
        if moved.resolution_seconds is not None and conv.state in (ConversationState.QUEUED, ConversationState.HUMAN):
            await self.stats.resolution(moved.resolution_seconds, now=moved.ended_at)
        if conv.state is ConversationState.HUMAN:
            await self._ask_csat(moved)
        return conv, moved

    async def reassign(self, conv_id: str, supervisor: Operator, to: str) -> Conversation:
        """A supervisor gives a waiting or in-service conversation to ``to`` (themselves: they take it over),
        whatever the capacity: the check is against the operator it had when the page was read."""
        if not supervisor.supervisor:
            raise Refused("not_yours", operator="")
        conv = await self.get(conv_id)
        if conv.state is ConversationState.HUMAN and conv.operator == to:
            raise Refused("already_theirs", operator=to)
        status, state = await self.conversations.assign(conv.id, to, mode="manual", assigned_by=supervisor.name,
                                                        expected_operator=conv.operator)
        if status == "missing":
            raise ConversationNotFound(conv_id)
        if status != "ok":
            raise Refused("reassign_refused", state=state)
        moved = await self.get(conv.id)
        if conv.state is ConversationState.QUEUED:
            await self._notify(moved, "claimed")
        return moved

    async def announce_claimed(self, conv_id: str) -> None:
        """Tell the resident a person has their conversation (after auto-assignment)."""
        conv = await self.conversations.get(conv_id)
        if conv is not None:
            await self._notify(conv, "claimed")

    async def _ask_csat(self, conv: Conversation) -> None:
        """Once per wait for a person, on the resident's channel (not a phone call: they have hung up)."""
        if conv.channel == "voice" or "csat" not in self.notices:
            return
        if not await self.conversations.set_once(conv.id, "csat_asked_at", str(time.time())):
            return
        buttons = tuple(Button(score, csat_payload(conv.id, score)) for score in CSAT_SCORES)
        text = str(self.notices["csat"])
        await self.conversations.append(conv.id, "system", text, buttons=[b.to_dict() for b in buttons],
                                        meta={"event": "csat"})
        await self.stats.csat_asked()
        with contextlib.suppress(Exception):  # the question is in the transcript all the same
            await self.outbound.send(conv, Reply(text, buttons=buttons, author="system"))

    async def taken_by(self, name: str) -> list[Conversation]:
        """The conversations ``name`` has in service now, oldest id first; drops from their list what
        is no longer theirs (handed back, closed, or taken over)."""
        key = keys.console_operator_conversations(name)
        mine = []
        for conv_id in sorted(await self.redis.smembers(key)):
            conv = await self.conversations.get(conv_id)
            if conv is None or conv.state is not ConversationState.HUMAN or conv.operator != name:
                await self.redis.srem(key, conv_id)  # stale: tidy up
                continue
            mine.append(conv)
        return mine

    async def load(self, name: str) -> int:
        """How many conversations ``name`` has in service (as their list says)."""
        return int(await self.redis.scard(keys.console_operator_conversations(name)))

    def _check_mine(self, conv: Conversation, operator: Operator, *, supervisor_may: bool) -> None:
        """Refused unless this operator may act on the conversation now."""
        if conv.state is not ConversationState.HUMAN:
            if supervisor_may and conv.state is ConversationState.QUEUED and operator.supervisor:
                return
            raise Refused("not_in_service", state=conv.state.value)
        if conv.operator != operator.name and not (supervisor_may and operator.supervisor):
            raise Refused("not_yours", operator=conv.operator)

    async def _notify(self, conv: Conversation, key: str) -> None:
        """Tell the resident what happened, in the transcript (the web page's feed) and on their channel."""
        text = str(self.notices[key])
        await self.conversations.append(conv.id, "system", text, meta={"event": key})
        with contextlib.suppress(Exception):  # a notice that fails to deliver must not undo the move
            await self.outbound.send(conv, Reply(text, author="system"))


def csat_payload(conv_id: str, score: str) -> str:
    """The button payload of a CSAT answer: distinct from the tickets' ``/rate`` (which the bot handles),
    it is answered by the router's dialogue before Rasa (Dialogue.handle → record_csat)."""
    return "/csat" + json.dumps({"conversation_id": conv_id, "score": score}, ensure_ascii=False)


def parse_csat(text: str) -> tuple[str, str] | None:
    """(conversation id, score) of a ``/csat{...}`` payload, or None if it is not a well-formed one."""
    if not text.startswith("/csat{") or len(text) > 200:
        return None
    try:
        data = json.loads(text[len("/csat"):])
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    conv_id, score = data.get("conversation_id"), data.get("score")
    if not isinstance(conv_id, str) or not isinstance(score, str) or score not in CSAT_SCORES:
        return None
    return conv_id, score


async def record_csat(conversations: Any, redis: Any, channel: str, user_id: str, text: str
                      ) -> tuple[str, Conversation | None]:
    """A resident's answer to the CSAT question: ("recorded" | "already" | "refused", the conversation).
    Taken only from the resident the question was asked of, with exactly a button that conversation showed
    (the conversation may be closed by now: the answer still goes to it, not to a new one)."""
    parsed = parse_csat(text)
    if parsed is None:
        return "refused", None
    conv_id, score = parsed
    conv = await conversations.get(conv_id)
    if conv is None or conv.channel != channel or conv.user_id != user_id:
        return "refused", None
    offered = any(entry.get("author") == "system" and any(
        isinstance(b, dict) and b.get("payload") == text for b in entry.get("buttons") or [])
        for entry in await conversations.transcript(conv.id, limit=200))
    if not offered:
        return "refused", conv
    await conversations.append(conv.id, "resident", score, meta={"channel": channel, "event": "csat"})
    if not await conversations.set_once(conv.id, "csat", score):
        return "already", conv
    await DeskStats(redis).csat(score)
    return "recorded", conv
