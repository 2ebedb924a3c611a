"""One resident message, from any channel, through the conversation: bot or person.

Every channel calls ``Dialogue.handle``. The resident's words are written to the transcript before
anything else, so nothing is lost if Rasa is down; then either the bot answers (state ``bot``) or the
message waits for the operator (``queued``/``human``). A channel message id (WeChat MsgId, a voice turn)
is taken once: a replay gets the first answer back and triggers nothing a second time.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from typing import Any

import redis.asyncio as aioredis

from router import keys
from router.adapters import pinyin_input
from router.adapters.conversations import Conversation, ConversationState, ConversationStore
from router.adapters.once import Once
from router.adapters.rasa import RasaClient, RasaUnavailable
from router.services.messages import Reply, Turn
from router.texts import text as t

__all__ = ["Dialogue"]

log = logging.getLogger(__name__)

SEEN_TTL = 24 * 3600
REPLAY_WAIT = 5.0  # a repeated message id waits at most this long for the first delivery's answer
# Rasa reads and writes a conversation's whole tracker on every turn, so its latency grows with the
# conversation (measured: p50 18 ms at turn 10, 135 ms past turn 200 on a stock bot). After this many
# turns, between forms, the conversation moves to a fresh Rasa sender carrying what matters over.
ROTATE_AFTER_TURNS = 30
# The same words three times in a row (an elderly caller repeating themselves, a resident the bot keeps
# misreading): a person takes over. Short commands ("跳过", "是的") and button payloads do not count.
REPEATS_FOR_HANDOFF = 3
REPEAT_MIN_CHARS = 4
# How far back a button stays valid: a rating question sent days ago is still in the transcript.
OFFERED_LOOKBACK = 200
# 不满意: the bot asks why ("跳过" button ``reason_skip_payload``); the resident's next free text within this
# window is taken as the reason and recorded on the reopened ticket (TicketService.resident_reason).
REASON_WINDOW_SECONDS = 30 * 60
REASON_SKIP = "/reopen_reason_skip"
CARRY_SLOTS = ("channel", "district", "street", "community", "landmark", "address", "contact_phone",
               "contact_name", "ticket_id")


class Dialogue:
    def __init__(self, redis: aioredis.Redis, conversations: ConversationStore, rasa: RasaClient, *,
                 understanding: Any | None = None, tickets: Any | None = None) -> None:
        self.redis = redis
        self.seen = Once(redis, claim_ttl=SEEN_TTL, poll=0.1)  # message ids taken: claim "" → the replies
        self.conversations = conversations
        self.rasa = rasa
        # router.services.understanding.Understanding: the evidence the bot's intake decision weighs
        # (the same decision POST /api/v1/triage makes). None: the bot decides from the words alone.
        self.understanding = understanding
        # router.services.tickets.TicketService: records a 不满意 reason the resident gives after the rating
        self.tickets = tickets

    async def handle(self, channel: str, user_id: str, text: str, *, message_id: str | None = None,
                     metadata: dict[str, Any] | None = None, trusted_payload: bool = False) -> Turn:
        """One message. A text that starts with "/" is a button payload ("/rate{...}", "/skip"): Rasa
        would take it as an intent with entities, so it is accepted only when it equals a button this
        conversation was offered — or ``trusted_payload`` (a WeChat menu key the account configured)."""
        seen_key = keys.message_seen(channel, message_id) if message_id else None
        if seen_key is not None and not await self.seen.claim(seen_key):
            return await self._replay(seen_key, channel, user_id)
        turn = await self._handle(channel, user_id, text, metadata or {}, trusted_payload)
        if seen_key is not None:
            await self.seen.store(seen_key, json.dumps([r.to_dict() for r in turn.replies], ensure_ascii=False))
        return turn

    async def _replay(self, seen_key: str, channel: str, user_id: str) -> Turn:
        # The first delivery may still be in flight: wait a little for its answer.
        replay = await self.seen.replay(seen_key, wait=REPLAY_WAIT)
        replies = [Reply.from_rasa(m) for m in json.loads(replay.answer)] if replay.answer else []
        conv = await self.conversations.current(channel, user_id)
        return Turn(replies=replies, conversation=conv, duplicate=True)

    async def _handle(self, channel: str, user_id: str, text: str, metadata: dict[str, Any],
                      trusted_payload: bool = False) -> Turn:
        if text.startswith("/csat"):  # the rating of an operator's service: the router's, not the bot's
            return await self._csat(channel, user_id, text)
        if text.startswith("/referral_consent"):  # the resident's own answer to the 心理服务室 offer
            return await self._referral_consent(channel, user_id, text)
        conv = await self.conversations.current(channel, user_id)
        await self.conversations.append(conv.id, "resident", text, meta={"channel": channel})
        await self.conversations.touch(conv.id)
        if text.startswith("/") and not trusted_payload and not await self._was_offered(conv.id, text):
            # A typed "/rate{"rating":"满意","ticket_id":"SZ…"}" is not a button anyone was shown.
            log.info("refused an unoffered payload in %s", conv.id)
            return await self._system_reply(conv, t("payload_refused"))
        if text.startswith(REASON_SKIP):
            await self.redis.delete(_reason_key(conv.id))
            return await self._system_reply(conv, t("reason_skipped"))
        if conv.state is ConversationState.QUEUED:
            # Repeat the notice only now and then; the resident's words are already with the operator.
            return Turn(replies=[Reply(t("queued_still_waiting"), author="system")], conversation=conv)
        if conv.state is ConversationState.HUMAN:
            return Turn(replies=[], conversation=conv)
        if await self._keeps_repeating(conv.id):
            reply = await self._system_message(conv, t("repeated_handoff"))
            conv = await self.conversations.move(conv.id, "handoff", reason="resident_repeats",
                                                 summary={"reason": "居民多次重复同一句话", "last_messages": [text]})
            return Turn(replies=[reply], conversation=conv)
        meta = {"channel": channel, "conversation_id": conv.id, **metadata}
        pending = "" if text.startswith("/") else await self.redis.get(_reason_key(conv.id))
        # Typed in pinyin ("wo yao zhuan ren gong"): the bot reads the characters it stands for; the
        # transcript (above) keeps the resident's own words.
        text = text if text.startswith("/") else pinyin_input.to_hanzi(text)
        if self.understanding is not None and not text.startswith("/"):
            alternatives = [a for a in meta.pop("alternatives", None) or [] if isinstance(a, str)]
            offered = await self._offered(conv.id)
            understood = await asyncio.get_running_loop().run_in_executor(
                None, functools.partial(self.understanding, text, channel, alternatives, offered=offered))
            meta["intake"] = understood.evidence.to_dict()
            if pending and _alarming(understood.evidence):
                pending = ""  # an emergency is never taken for a complaint's reason: the bot answers it
                await self.redis.delete(_reason_key(conv.id))
        if pending:
            recorded = await self._reason(conv, str(pending), text)
            if recorded is not None:
                return recorded
        try:
            messages = await self.rasa.send(conv.sender, text, meta, home=conv.rasa_home)
        except RasaUnavailable as exc:
            log.warning("rasa unavailable for %s: %s", conv.id, exc)
            return await self._bot_down(conv)
        if (home := self.rasa.home_of(conv.sender)) and home != conv.rasa_home:
            await self.conversations.set_rasa_home(conv.id, home)  # for the router that takes the next turn
        replies = [Reply.from_rasa(m) for m in messages]
        replies = [r for r in replies if r.text or r.buttons]
        for r in replies:
            await self.conversations.append(conv.id, "bot", r.text, buttons=[b.to_dict() for b in r.buttons])
            for b in r.buttons:  # the bot asked why the resident is not satisfied: their next words are the reason
                if b.payload.startswith(REASON_SKIP) and (ticket_id := _reason_ticket(b.payload)):
                    await self.redis.set(_reason_key(conv.id), ticket_id, ex=REASON_WINDOW_SECONDS)
        if await self.conversations.bot_turn(conv.id) >= ROTATE_AFTER_TURNS:
            await self._rotate(conv)
        conv = await self.conversations.require(conv.id)  # actions may have queued it for a person
        return Turn(replies=replies, conversation=conv)

    async def _csat(self, channel: str, user_id: str, text: str) -> Turn:
        """A 满意/一般/不满意 button from the question asked when an operator ended the conversation
        (router.services.desk): recorded on that conversation, even if it is closed by now."""
        from router.services.desk import record_csat

        status, conv = await record_csat(self.conversations, self.redis, channel, user_id, text)
        if conv is None:
            conv = await self.conversations.current(channel, user_id)
            await self.conversations.append(conv.id, "resident", text, meta={"channel": channel})
        key = {"recorded": "csat_thanks", "already": "csat_already"}.get(status, "payload_refused")
        return await self._system_reply(conv, t(key))

    async def _referral_consent(self, channel: str, user_id: str, text: str) -> Turn:
        """希望社区心理服务室联系我 / 暂时不用 (actions/safety.py offers them after the crisis lines): kept on the
        conversation for the operator, who makes the referral (router.services.referral)."""
        from router.services.referral import record_consent

        status, conv, answer = await record_consent(self.conversations, channel, user_id, text)
        if conv is None:
            conv = await self.conversations.current(channel, user_id)
            await self.conversations.append(conv.id, "resident", text, meta={"channel": channel})
        key = ("payload_refused" if status != "recorded"
               else "referral_consent_yes" if answer == "yes" else "referral_consent_no")
        return await self._system_reply(conv, t(key))

    async def _reason(self, conv: Conversation, ticket_id: str, text: str) -> Turn | None:
        """The resident's words after "请说说哪里还不满意": recorded on the reopened ticket for its unit.
        None (the bot answers as usual) when there is nowhere to record them."""
        await self.redis.delete(_reason_key(conv.id))
        if self.tickets is None:
            return None
        from router.services.tickets import Requester

        try:
            await self.tickets.resident_reason(ticket_id, Requester(conversation_id=conv.id), text)
        except Exception:  # noqa: BLE001 - not theirs, gone, closed: the message goes to the bot instead
            log.warning("could not record the reason for %s from %s", ticket_id, conv.id, exc_info=True)
            return None
        return await self._system_reply(conv, t("reason_recorded"))

    async def _system_message(self, conv: Conversation, text: str) -> Reply:
        """A system message: on the transcript (and so on the page's live stream) and in the answer, with the
        transcript's time so that the page shows it once."""
        entry = await self.conversations.append(conv.id, "system", text)
        return Reply(text, author="system", at=entry["at"])

    async def _system_reply(self, conv: Conversation, text: str) -> Turn:
        return Turn(replies=[await self._system_message(conv, text)], conversation=conv)

    async def _was_offered(self, conv_id: str, payload: str) -> bool:
        """Whether a bot or system message of this conversation showed a button with exactly this payload."""
        for entry in await self.conversations.transcript(conv_id, limit=OFFERED_LOOKBACK):
            if entry.get("author") in ("bot", "system") and any(
                    isinstance(b, dict) and b.get("payload") == payload for b in entry.get("buttons") or []):
                return True
        return False

    async def _offered(self, conv_id: str) -> list[tuple[str, str]]:
        """(intent, title) of the buttons in the bot's last turn: what an everyday answer may stand for."""
        recent = await self.conversations.transcript(conv_id, limit=6)
        for entry in reversed(recent[:-1]):  # the last entry is the resident's message just written
            if entry.get("author") == "resident":
                break
            if entry.get("author") == "bot":
                return [(str(b.get("payload", "")).lstrip("/").split("{")[0], str(b.get("title", "")))
                        for b in entry.get("buttons") or [] if isinstance(b, dict)]
        return []

    async def _rotate(self, conv: Conversation) -> None:
        """Continue the conversation under a new Rasa sender id, unless a form is half-filled."""
        try:
            state = await self.rasa.tracker_state(conv.sender)
            if (state.get("active_loop") or {}).get("name"):
                return  # never interrupt a form; try again next turn
            slots = state.get("slots") or {}
            generation = int(conv.sender.rsplit(".", 1)[1]) + 1 if "." in conv.sender else 1
            sender = f"{conv.id}.{generation}"
            events: list[dict[str, Any]] = [
                {"event": "action", "name": "action_session_start"},
                {"event": "session_started"},
                *({"event": "slot", "name": k, "value": slots[k]} for k in CARRY_SLOTS if slots.get(k) is not None),
                {"event": "action", "name": "action_listen"},
            ]
            await self.rasa.add_events(sender, events)
        except RasaUnavailable as exc:
            log.warning("could not rotate %s: %s", conv.id, exc)
            return
        await self.conversations.rotate_sender(conv.id, sender)

    async def _keeps_repeating(self, conv_id: str) -> bool:
        recent = await self.conversations.transcript(conv_id, limit=4 * REPEATS_FOR_HANDOFF)
        said = [_key(e["text"]) for e in recent if e["author"] == "resident"][-REPEATS_FOR_HANDOFF:]
        return (len(said) == REPEATS_FOR_HANDOFF and len(set(said)) == 1
                and len(said[0]) >= REPEAT_MIN_CHARS and not said[0].startswith("/"))

    async def _bot_down(self, conv: Conversation) -> Turn:
        reply = await self._system_message(conv, t("bot_unavailable"))
        conv = await self.conversations.move(conv.id, "handoff", reason="bot_unavailable")
        return Turn(replies=[reply], conversation=conv)


def _reason_key(conv_id: str) -> str:
    """The ticket whose 不满意 reason this conversation is asked for (TTL: the window)."""
    return f"{keys.conversation(conv_id)}:reason_for"


def _reason_ticket(payload: str) -> str:
    try:
        data = json.loads(payload[len(REASON_SKIP):])
    except ValueError:
        return ""
    ticket_id = data.get("ticket_id") if isinstance(data, dict) else None
    return ticket_id if isinstance(ticket_id, str) and 0 < len(ticket_id) <= 40 else ""


def _alarming(evidence: Any) -> bool:
    """Danger now, as the intake decision would read it: the rules' alarm, or the model's danger heads."""
    danger = getattr(evidence, "danger", None) or {}
    return getattr(evidence, "alarm", None) is not None or max(
        float(danger.get("crisis", 0.0)), float(danger.get("emergency", 0.0))) >= 0.5


def _key(text: str) -> str:
    """What counts as "the same words": punctuation, spaces and emoji aside."""
    return "".join(ch for ch in text if ch.isalnum() or ch == "/")
