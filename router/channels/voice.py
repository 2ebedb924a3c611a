"""The 12345 voice hotline, driven by a jambonz gateway over its webhook protocol (contract item 8).

``POST /channels/voice/call`` answers a new call with a greeting inside a ``gather``; each ``gather``
posts what the caller said or keyed to ``POST /channels/voice/gather?turn=N``; ``POST
/channels/voice/status`` reports call states. Every answer is a JSON array of jambonz verbs
(router.voice.verbs, checked by ``validate_verbs`` before it leaves). The call's progress is one state of
the transition table in router.domain.call, kept in the call's Redis hash; each webhook asks it for every move.

Why it is built this way:
- jambonz waits 10 s for an answer. The dialogue gets ``VOICE_DIALOGUE_SECONDS`` (7); if it is slower
  the caller hears a holding sentence and a short ``gather``, and the late answer is queued in Redis and
  spoken at the next webhook — on whichever router instance receives it.
- Each answer is cached per (call, turn): the turn number rides in the actionHook URL, so a webhook the
  gateway retries gets the same verbs back and the dialogue is never asked twice (the turn is also the
  dialogue's ``message_id``).
- Callers are often elderly: short sentences, a slower voice (SSML prosody), numbers read digit by
  digit, phone numbers and addresses read back for confirmation, "再说一遍" repeats, key 0 or "转人工"
  reaches a person at any time, unsure recognition is confirmed before anything is done, and three
  silences end the call politely.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from router import keys
from router.adapters.conversations import ConversationNotFound, ConversationState, IllegalConversationMove
from router.adapters.once import Once
from router.appkeys import CONVERSATIONS, DIALOGUE, OPENAPI_PATHS, OUTBOUND, REDIS, SETTINGS, UNDERSTANDING
from router.domain.call import LIVE_STATES, CallEvent, CallState, asks_address, is_confirming, next_state
from router.http import ApiError, read_json
from router.services.messages import Reply, Turn
from router.views import models as M
from router.views.models import body
from router.voice import verbs as V
from router.voice.speech import (
    Heard,
    asks_for_address,
    clean_transcript,
    find_phone,
    is_no,
    is_operator_request,
    is_repeat_request,
    is_skip,
    is_yes,
    parse_speech,
    spoken_digits,
    spoken_options,
    ssml,
    to_speech,
    vt,
)

if TYPE_CHECKING:
    from router.settings import Settings

__all__ = ["setup_routes", "VoiceSender", "VoiceOptions", "VoiceChannel", "VOICE", "caller_user_id"]

log = logging.getLogger(__name__)

CALL_TTL = 6 * 3600  # a call's state outlives any real call
ENDED_TTL = 3600  # after hangup: long enough for late status webhooks and retries
TURN_TTL = 3600
INFLIGHT_STALE = 30.0  # a late answer older than this died with its router instance
REPLAY_WAIT = 8.5  # a retry waits at most this long for the first delivery's answer
_CALL_SID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
_DTMF = re.compile(r"^[0-9*#]{1,32}$")
_ENDED_STATUSES = frozenset({"completed", "failed", "busy", "no-answer"})

# The call's hash (keys.voice_call): user_id, caller, to, conv_id, started_at; ``state`` (a
# router.domain.call.CallState, the only record of the call's progress); silences; last_said (what
# "再说一遍" repeats); to_confirm (JSON, while confirming: what the read-back waits a yes for); options
# (JSON: the buttons offered, by key); confirmed (JSON: what the caller confirmed already); holding_since
# (when a late answer was promised: silence is not counted while it may still come); handed_over ("1" once
# put through to a person: prompts stay shorter); ended (the gateway's final call status).
# Calls begun before the state field existed carry these older names, renamed on first read:
_RENAMED = {"last": "last_said", "inflight": "holding_since", "pending": "to_confirm", "transferred": "handed_over"}
# A turn still running when the gateway reported the end must not bring the call back to life.
_SET_STATE_UNLESS_ENDED = """
if redis.call('HGET', KEYS[1], 'state') == ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[1])
return 1
"""


@dataclass(frozen=True)
class VoiceOptions:
    """Hotline settings, from Settings (the VOICE_* variables)."""

    user: str = ""
    password: str = ""
    # Where 0 / 转人工 goes: "sip:..."/"sips:..." or a phone number → dial; "user:NAME" or a bare NAME →
    # dial a user registered on the gateway; "queue:NAME" → jambonz enqueue (operators take it with dequeue).
    operator_queue: str = "operators"
    caller_id: str = ""  # callerId presented to the operator leg (empty: the gateway's default)
    asr_vendor: str = "default"  # "default": the gateway application's own speech engine
    language: str = "zh-CN"
    speech_rate: str = "slow"  # SSML prosody rate; empty → plain text for engines without SSML
    dialogue_seconds: float = 7.0
    gather_timeout: int = 10
    holding_timeout: int = 3
    min_confidence: float = 0.6
    max_silences: int = 3
    readback: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> VoiceOptions:
        return cls(
            user=settings.voice_user,
            password=settings.voice_password,
            operator_queue=settings.voice_operator_queue,
            caller_id=settings.voice_caller_id,
            asr_vendor=settings.voice_asr_vendor,
            language=settings.voice_language,
            speech_rate=settings.voice_speech_rate,
            dialogue_seconds=settings.voice_dialogue_seconds,
            gather_timeout=settings.voice_gather_timeout,
            min_confidence=settings.voice_min_confidence,
            readback=settings.voice_readback,
        )

    def transfer_verb(self, action_hook: str) -> dict[str, Any]:
        spec = self.operator_queue.strip() or "operators"
        if spec.startswith("queue:"):
            return V.enqueue(spec[6:], action_hook)
        if not spec.startswith(("sip:", "sips:", "user:", "+")) and not spec.isdigit():
            spec = "user:" + spec
        return V.dial(V.operator_target(spec), action_hook, caller_id=self.caller_id)


_CALLER_NUMBER = re.compile(r"^(?:\+?86)?(1[3-9]\d{9}|0\d{9,11})$")


def _phone_number(caller: str) -> str:
    """The caller's number as a resident would write it, if the gateway gave a real one (not "anonymous")."""
    m = _CALLER_NUMBER.match(re.sub(r"[\s\-]", "", caller or ""))
    return m.group(1) if m else ""


def caller_user_id(caller: str, call_sid: str) -> str:
    """One conversation per call: the caller's number plus the call id (the sid is the last part)."""
    return f"{caller}/{call_sid}"


def _call_sid_of(user_id: str) -> str:
    return user_id.rsplit("/", 1)[-1]


@dataclass
class Spoken:
    """What one answer says, and what the next turn must remember about it."""

    text: str
    options: list[tuple[str, str]]
    expect_address: bool


class CallEnded(ConnectionError):
    """The caller hung up: a reply for them can no longer be spoken."""


class VoiceSender:
    """Operator text for a caller: queued in Redis, spoken at the call's next webhook.

    Give it the Redis client, or the app (its Redis exists only once the app has started).
    """

    def __init__(self, redis: Any = None, *, app: web.Application | None = None) -> None:
        if redis is None and app is None:
            raise ValueError("VoiceSender needs a Redis client or the app")
        self._redis, self._app = redis, app

    @property
    def redis(self) -> Any:
        return self._redis if self._redis is not None else self._app[REDIS]  # type: ignore[index]

    async def send(self, conversation: Any, reply: Reply) -> None:
        call_sid = _call_sid_of(conversation.user_id)
        call = await self.redis.hgetall(keys.voice_call(call_sid))
        if not call or _is_over(call):
            # Nobody is listening any more: the sender (an operator at the console) is told so and can call
            # the resident back; the transcript keeps the text.
            log.warning("voice: call %s has ended; reply for %s not spoken", call_sid, conversation.id)
            raise CallEnded(f"the call {call_sid} has ended; the reply was not spoken")
        item = {"author": reply.author if reply.author != "bot" else "operator", "text": reply.text,
                "buttons": [b.to_dict() for b in reply.buttons]}
        await _push_outbox(self.redis, call_sid, [item])


async def _push_outbox(redis: Any, call_sid: str, items: list[dict[str, Any]]) -> None:
    if not items:
        return
    async with redis.pipeline(transaction=True) as pipe:
        pipe.rpush(keys.voice_outbox(call_sid), *[json.dumps(i, ensure_ascii=False) for i in items])
        pipe.expire(keys.voice_outbox(call_sid), CALL_TTL)
        await pipe.execute()


class VoiceChannel:
    def __init__(self, app: web.Application, options: VoiceOptions) -> None:
        self.app = app
        self.options = options
        self._late: set[asyncio.Task[None]] = set()

    @property
    def redis(self) -> Any:
        return self.app[REDIS]

    @property
    def turns(self) -> Once:
        """The verbs answered per (call, turn): claimed "" by the first delivery, then its verbs (JSON)."""
        return Once(self.redis, claim_ttl=TURN_TTL)

    # --- HTTP plumbing --------------------------------------------------------------------------------

    def authorise(self, request: web.Request) -> None:
        """HTTP basic auth as jambonz sends it; with no password configured nothing gets in."""
        header = request.headers.get("Authorization", "")
        ok = False
        if self.options.password and header[:6].lower() == "basic ":
            try:
                user, _, password = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user, password = "", ""
            ok = hmac.compare_digest(user.encode(), self.options.user.encode()) & hmac.compare_digest(
                password.encode(), self.options.password.encode())
        if not ok:
            if not self.options.password:
                log.warning("voice webhook refused: VOICE_WEBHOOK_PASSWORD is not set")
            raise web.HTTPUnauthorized(
                headers={"WWW-Authenticate": 'Basic realm="voice", charset="UTF-8"'},
                text=json.dumps({"error": {"code": "unauthorized", "message": "voice gateway basic auth required"}}),
                content_type="application/json")

    async def answer(self, call_sid: str, turn: str | None,
                     produce: Callable[[], Awaitable[list[dict[str, Any]]]]) -> web.Response:
        """Produce the verbs for one webhook once; a retry of the same (call, turn) gets them again."""
        key = keys.voice_turn(call_sid, turn) if turn is not None else None
        if key is not None and not await self.turns.claim(key):
            replay = await self.turns.replay(key, wait=REPLAY_WAIT)
            if replay.answer is not None:
                return _verbs_response(json.loads(replay.answer))
            log.warning("voice: retry of %s turn %s before the first answer was ready", call_sid, turn)
        try:
            out = await produce()
        except Exception:
            log.exception("voice: failed to answer call %s turn %s", call_sid, turn)
            out = [self.listen(vt("error"), f"{turn or 'x'}e")]
        errors = V.validate_verbs(out)
        if errors:  # a bug of ours must not hang up on a caller
            log.error("voice: invalid verbs for %s: %s", call_sid, errors)
            out = [self.listen(vt("error"), f"{turn or 'x'}e")]
        if key is not None:
            await self.turns.store(key, json.dumps(out, ensure_ascii=False))
        return _verbs_response(out)

    def hook(self, turn: str) -> str:
        return f"/channels/voice/gather?turn={turn}"

    def speak(self, text: str) -> dict[str, Any]:
        return V.say(ssml(to_speech(text), self.options.speech_rate))

    def listen(self, prompt: str, next_turn: str, *, timeout: int | None = None) -> dict[str, Any]:
        o = self.options
        return V.gather(self.hook(next_turn), ssml(to_speech(prompt), o.speech_rate) if prompt else None,
                        language=o.language, vendor=o.asr_vendor, timeout=timeout or o.gather_timeout,
                        hints=["转人工", "再说一遍"])

    # --- call state -----------------------------------------------------------------------------------

    async def state(self, call_sid: str, data: dict[str, Any]) -> dict[str, str]:
        call: dict[str, str] = await self.redis.hgetall(keys.voice_call(call_sid))
        if not call:
            # A gather for a call we never saw (state expired, or the call hook went to another deployment):
            # carry on rather than hang up on the caller.
            call = await self.new_state(call_sid, data)
        elif "state" not in call:
            call = await self._upgrade(call_sid, call)
        if call["state"] == CallState.RINGING:  # the greeting was given elsewhere, or failed: carry on
            call["state"] = next_state(CallState.RINGING, CallEvent.GREETED).value
        return call

    async def new_state(self, call_sid: str, data: dict[str, Any]) -> dict[str, str]:
        caller = _field(data, "from", 128) or "unknown"
        user_id = caller_user_id(caller, call_sid)
        conv = await self.app[CONVERSATIONS].current("voice", user_id)
        call = {"user_id": user_id, "caller": caller, "to": _field(data, "to", 128), "conv_id": conv.id,
                "state": CallState.RINGING.value, "silences": "0", "started_at": str(time.time())}
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.voice_call(call_sid), mapping=call)
            pipe.expire(keys.voice_call(call_sid), CALL_TTL)
            await pipe.execute()
        return call

    async def _upgrade(self, call_sid: str, call: dict[str, str]) -> dict[str, str]:
        """A call begun before the state field existed (a deploy mid-call): its flags become the state."""
        old = [name for name in (*_RENAMED, "expect_address") if name in call]
        new = {_RENAMED[name]: call[name] for name in old if name in _RENAMED}
        new["state"] = _legacy_state(call).value
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.voice_call(call_sid), mapping=new)
            if old:
                pipe.hdel(keys.voice_call(call_sid), *old)
            await pipe.execute()
        return {**{k: v for k, v in call.items() if k not in old}, **new}

    async def save(self, call_sid: str, changes: dict[str, str], drop: tuple[str, ...] = ()) -> None:
        """Write a turn's changes; ``state`` is written unless the call has ended meanwhile."""
        key = keys.voice_call(call_sid)
        fields = {k: v for k, v in changes.items() if k != "state"}
        async with self.redis.pipeline(transaction=True) as pipe:
            if fields:
                pipe.hset(key, mapping=fields)
            if drop:
                pipe.hdel(key, *drop)
            if "state" in changes:
                pipe.eval(_SET_STATE_UNLESS_ENDED, 1, key, changes["state"], CallState.ENDED.value)
            await pipe.execute()

    async def pop_outbox(self, call_sid: str) -> list[dict[str, Any]]:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lrange(keys.voice_outbox(call_sid), 0, -1)
            pipe.delete(keys.voice_outbox(call_sid))
            raw, _ = await pipe.execute()
        return [json.loads(r) for r in raw]

    # --- webhooks -------------------------------------------------------------------------------------

    async def on_call(self, call_sid: str, data: dict[str, Any]) -> list[dict[str, Any]]:
        await self.new_state(call_sid, data)
        greeting = vt("greeting")
        state = next_state(CallState.RINGING, CallEvent.GREETED)
        await self.save(call_sid, {"state": state.value, "last_said": greeting})
        return [self.listen(greeting, "1")]

    async def on_status(self, call_sid: str, data: dict[str, Any]) -> None:
        status = data.get("call_status")
        if status not in _ENDED_STATUSES:
            return
        call = await self.redis.hgetall(keys.voice_call(call_sid))
        if not call or _is_over(call):
            return
        state = CallState(call["state"]) if "state" in call else _legacy_state(call)
        await self.save(call_sid, {"state": next_state(state, CallEvent.END).value, "ended": str(status)})
        for key in (keys.voice_call(call_sid), keys.voice_outbox(call_sid)):
            await self.redis.expire(key, ENDED_TTL)
        store = self.app[CONVERSATIONS]
        conv = await store.get(call.get("conv_id", ""))
        if conv is None:
            return
        if conv.state is ConversationState.BOT:
            # The call was the conversation: when it ends, so does the conversation.
            await store.move(conv.id, "close", reason="call_ended")
        elif conv.state in (ConversationState.QUEUED, ConversationState.HUMAN):
            # Keep it for the operator (who can call back); say in the transcript that the line is gone.
            await store.append(conv.id, "system", f"来电已挂断（{status}）", meta={"channel": "voice"})

    async def on_gather(self, call_sid: str, turn: str, data: dict[str, Any]) -> list[dict[str, Any]]:
        call = await self.state(call_sid, data)
        if CallState(call["state"]) not in LIVE_STATES:
            # We hung up, or the gateway says the line is gone: nobody is there to answer.
            log.info("voice: gather for call %s in state %s: hanging up", call_sid, call["state"])
            return [V.hangup()]
        next_turn = str(int(turn) + 1) if turn.isdigit() else turn + "+"
        return await _Turn(self, call_sid, turn, next_turn, call).run(data)

    # --- late answers ---------------------------------------------------------------------------------

    def keep_late(self, call_sid: str, task: asyncio.Task[Turn]) -> None:
        late = asyncio.ensure_future(self._deliver_late(call_sid, task))
        self._late.add(late)
        late.add_done_callback(self._late.discard)

    async def _deliver_late(self, call_sid: str, task: asyncio.Task[Turn]) -> None:
        try:
            turn = await task
            items: list[dict[str, Any]] = [
                {"author": "late", "text": r.text, "buttons": [b.to_dict() for b in r.buttons]}
                for r in turn.replies
            ]
            if turn.conversation.state is ConversationState.QUEUED:
                items.append({"author": "transfer", "text": ""})
        except Exception:
            log.exception("voice: late dialogue answer for %s failed", call_sid)
            items = [{"author": "system", "text": vt("error")}]
        await _push_outbox(self.redis, call_sid, items)
        await self.redis.hdel(keys.voice_call(call_sid), "holding_since")

    async def drain(self) -> None:
        if self._late:
            await asyncio.wait(self._late, timeout=10)


class _Turn:
    """One gather webhook: what the caller did, the verbs that answer it, and the call's moves."""

    def __init__(self, channel: VoiceChannel, call_sid: str, turn: str, next_turn: str,
                 call: dict[str, str]) -> None:
        self.channel, self.call_sid, self.turn, self.next_turn = channel, call_sid, turn, next_turn
        self.call = call  # the call's hash as read, with this turn's changes applied
        self.config = channel.options
        self.state = CallState(call["state"])
        self.changes: dict[str, str] = {}
        self.drop: list[str] = []
        self.pre: list[str] = []  # spoken before the answer: operator texts, late answers
        self.transfer_pending = False

    # state helpers
    def _move(self, event: CallEvent) -> None:
        """The call's next state, as the domain's table says; a read-back left behind is dropped."""
        self.state = next_state(self.state, event)
        if not is_confirming(self.state) and "to_confirm" in self.call:
            self._clear("to_confirm")

    def _json(self, field: str, default: Any) -> Any:
        raw = self.call.get(field)
        return json.loads(raw) if raw else default

    def _set(self, **fields: Any) -> None:
        for k, v in fields.items():
            if k in self.drop:
                self.drop.remove(k)
            self.changes[k] = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
            self.call[k] = self.changes[k]

    def _clear(self, *fields: str) -> None:
        for f in fields:
            if f not in self.drop:
                self.drop.append(f)
            self.call.pop(f, None)
            self.changes.pop(f, None)

    def _to_confirm(self) -> dict[str, Any] | None:
        """What the read-back in progress waits a yes for; None when no read-back waits."""
        return self._json("to_confirm", {}) if is_confirming(self.state) else None

    async def run(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        out = await self._decide(data)
        await self.channel.save(self.call_sid, {**self.changes, "state": self.state.value}, tuple(self.drop))
        return out

    async def _decide(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        await self._take_outbox()
        if "dial_call_status" in data or "queue_result" in data:
            return await self._after_transfer(data)
        digits = data.get("digits")
        digits = digits.strip() if isinstance(digits, str) else ""
        heard = parse_speech(data.get("speech"))
        if digits and _DTMF.match(digits):
            self._set(silences="0")
            return await self._on_digits(digits)
        if heard is not None:
            self._set(silences="0")
            return await self._on_speech(heard)
        reason = data.get("reason")
        if reason == "stt-low-confidence":
            self._set(silences="0")
            return self._say_and_listen(vt("not_understood"))
        if reason == "error":
            return self._say_and_listen(vt("error"))
        return await self._on_silence()

    # --- what the caller did ---------------------------------------------------------------------------

    async def _on_digits(self, digits: str) -> list[dict[str, Any]]:
        keys_ = digits.rstrip("#") or digits
        if keys_ == "0":
            return await self._transfer("dtmf")
        if keys_ == "*":
            return self._repeat()
        to_confirm = self._to_confirm()
        if to_confirm is not None and keys_ in ("1", "2"):
            return await self._resolve_read_back(to_confirm, keys_ == "1")
        options = self._json("options", [])
        if len(keys_) == 1 and keys_.isdigit():
            idx = int(keys_) - 1
            if 0 <= idx < len(options):
                title, payload = options[idx]
                return await self._ask(payload, shown=title)
            return self._say_and_listen(vt("bad_key") + (spoken_options([t for t, _ in options]) or
                                                          vt("nothing_to_repeat")))
        # A number keyed in (a phone number, a ticket id's digits): words like any other.
        return await self._ask(keys_)

    async def _on_speech(self, heard: Heard) -> list[dict[str, Any]]:
        text = clean_transcript(heard.text)
        if not text:
            return self._say_and_listen(vt("not_understood"))
        if is_operator_request(text):
            return await self._transfer("speech")
        if is_repeat_request(text):
            return self._repeat()
        to_confirm = self._to_confirm()
        if to_confirm is not None:
            if is_yes(text):
                return await self._resolve_read_back(to_confirm, True)
            if is_no(text):
                return await self._resolve_read_back(to_confirm, False)
            self._move(CallEvent.REJECTED)  # they said something new instead
        bare = re.sub(r"\W+", "", text)
        for title, payload in self._json("options", []):
            if bare and bare == re.sub(r"\W+", "", title):
                return await self._ask(payload, shown=title)
        understanding = self.channel.app[UNDERSTANDING]
        alternatives = [clean_transcript(a) for a in heard.alternatives]
        if understanding.alarm(text, "voice", alternatives) is not None:
            # Danger in any of what the recogniser heard: no confirmation round, no read-back.
            return await self._ask(text, alternatives=alternatives)
        if heard.confidence is not None and heard.confidence < self.config.min_confidence:
            self._start_read_back({"kind": "heard", "text": text})
            return self._say_and_listen(vt("confirm_heard", text=to_speech(text)))
        readback = self._readback(text)
        if readback:
            return readback
        return await self._ask(text, alternatives=alternatives)

    def _start_read_back(self, what: dict[str, Any]) -> None:
        self._move(CallEvent.READ_BACK)
        self._set(to_confirm=what)

    def _readback(self, text: str) -> list[dict[str, Any]] | None:
        if not self.config.readback:
            return None
        confirmed = self._json("confirmed", [])
        phone = find_phone(text)
        if phone and phone not in confirmed:
            self._start_read_back({"kind": "phone", "text": text, "value": phone})
            return self._say_and_listen(vt("confirm_phone", digits=spoken_digits(phone)))
        if asks_address(self.state) and text not in confirmed and not is_skip(text):
            self._start_read_back({"kind": "address", "text": text, "value": text})
            return self._say_and_listen(vt("confirm_address", address=to_speech(text)))
        return None

    async def _resolve_read_back(self, to_confirm: dict[str, Any], yes: bool) -> list[dict[str, Any]]:
        self._move(CallEvent.CONFIRMED if yes else CallEvent.REJECTED)
        if not yes:
            return self._say_and_listen(vt("say_again"))
        text = str(to_confirm.get("text", ""))
        confirmed = self._json("confirmed", [])
        confirmed.append(to_confirm.get("value", text))
        phone = find_phone(text)
        if phone:  # heard and confirmed as a whole: the number was read out digit by digit already
            confirmed.append(phone)
        self._set(confirmed=confirmed[-20:])
        if to_confirm.get("kind") == "heard":
            readback = self._readback(text)
            if readback:
                return readback
        return await self._ask(text)

    async def _on_silence(self) -> list[dict[str, Any]]:
        if self.pre:  # nothing said, but there is news: a late answer or an operator's words
            news, self.pre = _join(self.pre), []
            return self._say_and_listen(news)
        holding_since = float(self.call.get("holding_since") or 0)
        if holding_since and time.time() - holding_since < INFLIGHT_STALE:
            return [self.channel.listen(vt("still_holding"), self.next_turn, timeout=self.config.holding_timeout)]
        silences = int(self.call.get("silences") or 0) + 1
        self._set(silences=str(silences))
        waiting = await self._conversation_state() in (ConversationState.QUEUED, ConversationState.HUMAN)
        limit = self.config.max_silences * 3 if waiting else self.config.max_silences
        if silences >= limit:
            return self._goodbye([vt("silence_goodbye")])
        if waiting:
            return self._say_and_listen(vt("silence_waiting"))
        return self._say_and_listen(vt("silence_1") if silences == 1 else vt("silence_2"))

    def _repeat(self) -> list[dict[str, Any]]:
        last = self.call.get("last_said", "")
        if not last:
            return self._say_and_listen(vt("nothing_to_repeat"))
        return self._say_and_listen(vt("repeat_prefix") + last, remember=False)

    # --- the dialogue and the operator -----------------------------------------------------------------

    async def _ask(self, text: str, *, shown: str = "", alternatives: list[str] | None = None) -> list[dict[str, Any]]:
        """The caller's words through the dialogue, within the time budget."""
        self._clear("options")
        self._move(CallEvent.ASKED)
        dialogue = self.channel.app[DIALOGUE]
        before = await self._conversation_state()
        metadata: dict[str, Any] = {"input": "voice"}
        if shown:
            metadata["shown"] = shown
        if alternatives:
            metadata["alternatives"] = list(alternatives)
        caller = _phone_number(self.call.get("caller", ""))
        if caller:
            # The bot may offer it back ("就用您现在打来的这个号码，可以吗？") instead of asking an
            # elderly caller to recite a number.
            metadata["caller_number"] = caller
        task: asyncio.Task[Turn] = asyncio.ensure_future(dialogue.handle(
            "voice", self.call["user_id"], text, message_id=f"{self.call_sid}:{self.turn}", metadata=metadata))
        try:
            turn = await asyncio.wait_for(asyncio.shield(task), timeout=self.config.dialogue_seconds)
        except TimeoutError:
            self._set(holding_since=str(time.time()))
            self._move(CallEvent.HOLD)
            self.channel.keep_late(self.call_sid, task)
            return [self.channel.listen(" ".join(self.pre + [vt("holding")]), self.next_turn,
                                        timeout=self.config.holding_timeout)]
        spoken = self._render([{"author": r.author, "text": r.text, "buttons": [b.to_dict() for b in r.buttons]}
                               for r in turn.replies])
        state = turn.conversation.state
        if state is ConversationState.QUEUED and before is not ConversationState.QUEUED:
            return self._transfer_verbs(spoken.text)
        if state is ConversationState.CLOSED:
            return self._goodbye(self.pre + [spoken.text, vt("goodbye")])
        if not spoken.text:
            return self._say_and_listen(vt("operator_waiting") if state is ConversationState.HUMAN
                                        else vt("reply_empty"))
        return self._say_and_listen(spoken.text, options=spoken.options, expect_address=spoken.expect_address)

    async def _conversation_state(self) -> ConversationState | None:
        conv = await self.channel.app[CONVERSATIONS].get(self.call.get("conv_id", ""))
        return conv.state if conv is not None else None

    async def _transfer(self, how: str) -> list[dict[str, Any]]:
        store = self.channel.app[CONVERSATIONS]
        conv = await store.current("voice", self.call["user_id"])
        await store.append(conv.id, "resident", "转人工", meta={"channel": "voice", "input": how})
        try:
            await store.move(conv.id, "handoff", reason="caller_request")
        except (IllegalConversationMove, ConversationNotFound) as exc:
            log.info("voice: %s already with a person: %s", conv.id, exc)
        self._set(conv_id=conv.id)
        return self._transfer_verbs("")

    def _transfer_verbs(self, before: str) -> list[dict[str, Any]]:
        self._move(CallEvent.TRANSFER)
        self._set(handed_over="1")
        self._clear("options")
        text = _join(self.pre + [before, vt("transfer")])
        return [self.channel.speak(text), self.config.transfer_verb(self.channel.hook(self.next_turn))]

    async def _after_transfer(self, data: dict[str, Any]) -> list[dict[str, Any]]:
        if data.get("dial_call_status") == "completed" or data.get("queue_result") == "bridged":
            return self._goodbye(self.pre + [vt("goodbye")])
        # Nobody answered: the conversation stays queued, the operator sees it and calls back.
        self._move(CallEvent.TRANSFER_FAILED)
        return self._say_and_listen(vt("transfer_failed"))

    def _goodbye(self, parts: list[str]) -> list[dict[str, Any]]:
        self._move(CallEvent.HANG_UP)
        return [self.channel.speak(_join(parts)), V.hangup()]

    # --- speaking ---------------------------------------------------------------------------------------

    async def _take_outbox(self) -> None:
        items = await self.channel.pop_outbox(self.call_sid)
        if not items:
            return
        late = [i for i in items if i.get("author") in ("late", "system")]
        if late:
            self._clear("holding_since")
            self._move(CallEvent.LATE_ANSWER)
        spoken = self._render(items, late=bool(late))
        if spoken.text:
            self.pre.append(spoken.text)
        if any(i.get("author") == "transfer" for i in items):
            self.transfer_pending = True

    def _render(self, items: list[dict[str, Any]], *, late: bool = False) -> Spoken:
        parts: list[str] = []
        options: list[tuple[str, str]] = []
        raw = []
        if late:
            parts.append(vt("late_prefix"))
        for item in items:
            text = str(item.get("text") or "")
            if not text and not item.get("buttons"):
                continue
            raw.append(text)
            said = to_speech(text)
            if item.get("author") == "operator" and said:
                said = vt("operator_says", text=said)
            if said:
                parts.append(said if said[-1] in "。！？；" else said + "。")
            buttons = [(str(b.get("title", "")), str(b.get("payload", ""))) for b in item.get("buttons") or []]
            buttons = [(t, p) for t, p in buttons if t and p]
            if buttons:
                options = buttons[:9]
        if options:
            parts.append(spoken_options([t for t, _ in options]))
        text = _join(parts) if len(parts) > (1 if late else 0) else ""
        if options:
            self._set(options=[list(o) for o in options])
        expect_address = asks_for_address(" ".join(raw))
        if expect_address:
            self._move(CallEvent.ADDRESS_ASKED)
        return Spoken(text, options, expect_address)

    def _say_and_listen(self, text: str, *, remember: bool = True, options: list[tuple[str, str]] | None = None,
                        expect_address: bool = False) -> list[dict[str, Any]]:
        if self.transfer_pending:  # a late answer handed the caller to a person
            return self._transfer_verbs(text)
        prompt = _join(self.pre + [text]) or vt("prompt_again")
        if remember and text:
            self._set(last_said=text)
        waiting = self.call.get("handed_over") == "1"
        return [self.channel.listen(prompt, self.next_turn,
                                    timeout=None if not waiting else max(5, self.config.gather_timeout // 2))]


def _is_over(call: dict[str, str]) -> bool:
    return call.get("state") == CallState.ENDED or bool(call.get("ended"))


def _legacy_state(call: dict[str, str]) -> CallState:
    """The state a call's older flags (ended, pending, transferred, expect_address, inflight) amount to."""
    address = call.get("expect_address") == "1"
    if call.get("ended"):
        return CallState.ENDED
    if call.get("pending"):
        return CallState.CONFIRMING_ADDRESS if address else CallState.CONFIRMING
    if call.get("transferred") == "1":
        return CallState.TRANSFERRING  # takes the dial's outcome, and the caller's words like listening
    if address:
        return CallState.ASKING_ADDRESS
    if call.get("inflight"):
        return CallState.HOLDING
    return CallState.LISTENING


def _join(parts: list[str]) -> str:
    return "".join(p for p in parts if p)


def _field(data: dict[str, Any], name: str, limit: int) -> str:
    value = data.get(name)
    return value[:limit] if isinstance(value, str) else ""


def _verbs_response(verbs: list[dict[str, Any]]) -> web.Response:
    return web.json_response(verbs, dumps=lambda o: json.dumps(o, ensure_ascii=False))


def _call_sid(data: dict[str, Any]) -> str:
    sid = data.get("call_sid")
    if not isinstance(sid, str) or not _CALL_SID.match(sid):
        raise ApiError(422, "invalid_field", "'call_sid' must be 1-128 letters, digits or ._:-", field="call_sid")
    return sid


# --- views ------------------------------------------------------------------------------------------------

VOICE: web.AppKey[VoiceChannel] = web.AppKey("voice_channel", VoiceChannel)
MAX_BODY = 256 * 1024  # gather payloads may carry the recogniser's raw vendor data


async def call_hook(request: web.Request) -> web.Response:
    ch = request.app[VOICE]
    ch.authorise(request)
    data = await read_json(request, max_bytes=MAX_BODY)
    sid = _call_sid(data)
    return await ch.answer(sid, "0", lambda: ch.on_call(sid, data))


async def gather_hook(request: web.Request) -> web.Response:
    ch = request.app[VOICE]
    ch.authorise(request)
    data = await read_json(request, max_bytes=MAX_BODY)
    sid = _call_sid(data)
    turn = request.query.get("turn", "")
    if not re.fullmatch(r"\d{1,6}", turn):
        # Not one of our actionHooks (they all carry ?turn=N): answer, but without replay protection.
        return await ch.answer(sid, None, lambda: ch.on_gather(sid, f"u{int(time.time() * 1000)}", data))
    return await ch.answer(sid, turn, lambda: ch.on_gather(sid, turn, data))


async def status_hook(request: web.Request) -> web.Response:
    ch = request.app[VOICE]
    ch.authorise(request)
    data = await read_json(request, max_bytes=MAX_BODY)
    sid = _call_sid(data)
    await ch.on_status(sid, data)
    return _verbs_response([])


_BASIC = "HTTP basic auth (VOICE_WEBHOOK_USER / VOICE_WEBHOOK_PASSWORD), as the jambonz application sends it"
_VERBS = {"description": "JSON array of jambonz verbs (say, gather, dial/enqueue, hangup)",
          "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}}}}
_ERRORS = {"401": {"description": "missing or wrong basic auth"},
           "400": {"description": "broken JSON"}, "422": {"description": "no usable call_sid"}}
OPENAPI: dict[str, Any] = {
    "/channels/voice/call": {"post": {
        "summary": "jambonz application webhook for a new call → greeting inside a gather",
        "description": _BASIC, "security": [],
        "requestBody": body(M.VoiceCall),
        "responses": {"200": _VERBS, **_ERRORS}}},
    "/channels/voice/gather": {"post": {
        "summary": "gather actionHook (also dial/enqueue actionHook): speech or digits → next verbs",
        "description": _BASIC + ". speech.alternatives[] or speech.transcripts[].alternatives[] are accepted.",
        "security": [],
        "parameters": [{"name": "turn", "in": "query", "required": False, "schema": {"type": "integer"},
                        "description": "set by the router in its own actionHooks; makes retries safe"}],
        "requestBody": body(M.VoiceGather),
        "responses": {"200": _VERBS, **_ERRORS}}},
    "/channels/voice/status": {"post": {
        "summary": "jambonz call status webhook; on completed the bot conversation is closed",
        "description": _BASIC, "security": [],
        "responses": {"200": {"description": "[] (jambonz ignores the body)"}, **_ERRORS}}},
}


async def _drain(app: web.Application) -> None:
    await app[VOICE].drain()


def setup_routes(app: web.Application) -> None:
    channel = VoiceChannel(app, VoiceOptions.from_settings(app[SETTINGS]))
    app[VOICE] = channel
    app.router.add_post("/channels/voice/call", call_hook)
    app.router.add_post("/channels/voice/gather", gather_hook)
    app.router.add_post("/channels/voice/status", status_hook)
    app.on_shutdown.append(_drain)
    app[OPENAPI_PATHS].update(OPENAPI)
    app[OUTBOUND].register("voice", VoiceSender(app=app))
