"""Conversation state in Redis: who is talking, on which channel, and whether the bot or a person answers.

States: bot → queued (waiting for an operator) → human (an operator claimed it) → bot (handed back) or
closed. Every change is one Lua script, so two operators can never claim the same conversation and a
crash never leaves a conversation half-moved. Transcripts are capped lists; live events go out over
Redis pub/sub so any router instance can serve the resident's open page or an operator's console.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from router import keys
from router.adapters import StrRedis

__all__ = [
    "conversation_id_of_sender",
    "ConversationState",
    "Conversation",
    "ConversationStore",
    "IllegalConversationMove",
    "ConversationNotFound",
]

TRANSCRIPT_MAX = 1000
# A conversation, its transcript and the resident's pointer to it expire this long after their last
# activity (CONVERSATION_RETENTION_DAYS; every write refreshes it).
RETENTION_SECONDS = 90 * 86400


def conversation_id_of_sender(sender: str) -> str:
    """Rasa's sender id ``C…`` or ``C….<n>`` (after a rotation) → the conversation id."""
    return sender.split(".", 1)[0]


class ConversationState(str, Enum):
    BOT = "bot"
    QUEUED = "queued"
    HUMAN = "human"
    CLOSED = "closed"


# (from-states, to-state) per command; anything else is illegal and changes nothing.
_MOVES: dict[str, tuple[frozenset[str], str]] = {
    "handoff": (frozenset({"bot", "queued"}), "queued"),
    "claim": (frozenset({"queued"}), "human"),
    "handback": (frozenset({"human", "queued"}), "bot"),
    "close": (frozenset({"bot", "queued", "human"}), "closed"),
}


class IllegalConversationMove(Exception):
    def __init__(self, conv_id: str, command: str, state: str) -> None:
        super().__init__(f"conversation {conv_id}: cannot {command} while {state}")
        self.conv_id, self.command, self.state = conv_id, command, state


class ConversationNotFound(KeyError):
    pass


@dataclass
class Conversation:
    id: str
    channel: str
    user_id: str
    state: ConversationState = ConversationState.BOT
    operator: str = ""
    created_at: float = 0.0
    last_seen_at: float = 0.0
    queued_at: float = 0.0
    turns: int = 0
    urgent: bool = False
    handoff_reason: str = ""
    summary: dict[str, Any] = field(default_factory=dict)
    # Rasa's sender id for this conversation: the id itself, then ``<id>.<n>`` after each rotation
    # (see router.services.dialogue), and the bot turns taken under it.
    rasa_sender: str = ""
    rasa_turns: int = 0
    # The Rasa worker that last answered it (its URL), shared by every router through Redis: behind a load
    # balancer a resident's next message may reach another router, which sends it to the same worker, where
    # the conversation is warm (router.adapters.rasa).
    rasa_home: str = ""
    # The desk's timers and outcome of the latest wait for a person (reset at each new handoff):
    # the first operator reply, the end (closed or handed back), who assigned it ("auto", a supervisor's
    # name, "" when the operator took it), when the resident was asked to rate the service and the answer.
    first_reply_at: float = 0.0
    ended_at: float = 0.0
    assigned_by: str = ""
    csat_asked_at: float = 0.0
    csat: str = ""

    @property
    def first_response_seconds(self) -> float | None:
        """Queued → the first operator reply, or None while nobody has answered."""
        if not self.queued_at or not self.first_reply_at:
            return None
        return max(0.0, self.first_reply_at - self.queued_at)

    @property
    def resolution_seconds(self) -> float | None:
        """Queued → closed or handed back, or None while it is still waiting or in service."""
        if not self.queued_at or not self.ended_at:
            return None
        return max(0.0, self.ended_at - self.queued_at)

    @property
    def sender(self) -> str:
        return self.rasa_sender or self.id

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["state"] = self.state.value
        return d

    def public(self) -> dict[str, str]:
        """What the contract's channel responses show: {id, state}."""
        return {"id": self.id, "state": self.state.value}

    @classmethod
    def from_hash(cls, h: dict[str, str]) -> Conversation:
        return cls(
            id=h["id"],
            channel=h.get("channel", ""),
            user_id=h.get("user_id", ""),
            state=ConversationState(h.get("state", "bot")),
            operator=h.get("operator", ""),
            created_at=float(h.get("created_at") or 0),
            last_seen_at=float(h.get("last_seen_at") or 0),
            queued_at=float(h.get("queued_at") or 0),
            turns=int(h.get("turns") or 0),
            urgent=h.get("urgent") == "1",
            handoff_reason=h.get("handoff_reason", ""),
            summary=json.loads(h.get("summary") or "{}"),
            rasa_sender=h.get("rasa_sender", ""),
            rasa_turns=int(h.get("rasa_turns") or 0),
            rasa_home=h.get("rasa_home", ""),
            first_reply_at=float(h.get("first_reply_at") or 0),
            ended_at=float(h.get("ended_at") or 0),
            assigned_by=h.get("assigned_by", ""),
            csat_asked_at=float(h.get("csat_asked_at") or 0),
            csat=h.get("csat", ""),
        )


# KEYS[1] conv hash, KEYS[2] queue zset, KEYS[3] the operator's claimed set (claim); ARGV: command,
# allowed-from (comma list), to, now, operator, reason, summary-json, urgent, conv-id. Returns {ok, state}.
_MOVE = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing', ''} end
local allowed = false
for s in string.gmatch(ARGV[2], '[^,]+') do if s == state then allowed = true end end
if not allowed then return {'illegal', state} end
local cmd, to, now = ARGV[1], ARGV[3], ARGV[4]
redis.call('HSET', KEYS[1], 'state', to)
if cmd == 'handoff' then
  if state ~= 'queued' then
    -- a new wait for a person: its timers and rating start again
    redis.call('HSET', KEYS[1], 'queued_at', now, 'first_reply_at', '0', 'ended_at', '0', 'assigned_by', '',
               'csat_asked_at', '0', 'csat', '')
  end
  redis.call('HSET', KEYS[1], 'handoff_reason', ARGV[6])
  if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'summary', ARGV[7]) end
  if ARGV[8] == '1' then redis.call('HSET', KEYS[1], 'urgent', '1') end
  local score = tonumber(redis.call('HGET', KEYS[1], 'queued_at'))
  if ARGV[8] == '1' then score = score - 1000000000 end
  redis.call('ZADD', KEYS[2], score, ARGV[9])
elseif cmd == 'claim' then
  redis.call('HSET', KEYS[1], 'operator', ARGV[5], 'assigned_by', '')
  redis.call('ZREM', KEYS[2], ARGV[9])
  -- on the operator's list in the same step, so auto-assignment counts it against their capacity at once
  redis.call('SADD', KEYS[3], ARGV[9])
else
  if state == 'queued' or state == 'human' then redis.call('HSET', KEYS[1], 'ended_at', now) end
  redis.call('HSET', KEYS[1], 'operator', '', 'urgent', '0')
  redis.call('ZREM', KEYS[2], ARGV[9])
end
return {'ok', to}
"""


# Give a conversation to an operator in one step. KEYS: conv hash, queue zset, online zset, the operator's
# claimed set, capacity hash, the previous operator's claimed set. ARGV: conv id, operator, now, default
# capacity, mode ("auto": only a queued conversation, only to an operator online and under capacity;
# "manual": a supervisor's reassignment of a queued or in-service one, checked against the operator it
# had), expected previous operator, assigned_by. Returns {status, state}.
_ASSIGN = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing', ''} end
local prev = redis.call('HGET', KEYS[1], 'operator') or ''
if ARGV[5] == 'auto' then
  if state ~= 'queued' then return {'taken', state} end
  local lease = redis.call('ZSCORE', KEYS[3], ARGV[2])
  if (not lease) or tonumber(lease) <= tonumber(ARGV[3]) then return {'offline', state} end
  local cap = tonumber(redis.call('HGET', KEYS[5], ARGV[2]) or ARGV[4]) or 0
  if redis.call('SCARD', KEYS[4]) >= cap then return {'full', state} end
else
  if state ~= 'queued' and state ~= 'human' then return {'illegal', state} end
  if state == 'human' and prev ~= ARGV[6] then return {'changed', state} end
end
redis.call('HSET', KEYS[1], 'state', 'human', 'operator', ARGV[2], 'assigned_by', ARGV[7])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
if state == 'human' and prev ~= '' and prev ~= ARGV[2] then redis.call('SREM', KEYS[6], ARGV[1]) end
return {'ok', state}
"""

# Set a field once per wait (first reply, CSAT asked, CSAT answer): 1 if set now, 0 if it already was.
# ARGV: field, value, required state ("" for any).
_ONCE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v and v ~= '' and v ~= '0' and v ~= '0.0' then return 0 end
if ARGV[3] ~= '' and redis.call('HGET', KEYS[1], 'state') ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""


class ConversationStore:
    def __init__(self, redis: StrRedis, *, idle_seconds: int = 1800,
                 retention_seconds: int = RETENTION_SECONDS) -> None:
        self.redis = redis
        self.idle_seconds = idle_seconds
        self.retention_seconds = retention_seconds
        self._move = redis.register_script(_MOVE)
        self._assign = redis.register_script(_ASSIGN)
        self._once = redis.register_script(_ONCE)

    async def current(self, channel: str, user_id: str, *, now: float | None = None) -> Conversation:
        """The resident's open conversation, or a new one after silence or a close.

        A conversation waiting for or talking to a person is never cut off by the idle timer: the
        resident must not lose their place in the queue by being slow.
        """
        now = time.time() if now is None else now
        conv_id = await self.current_id(channel, user_id)
        if conv_id:
            conv = await self.get(conv_id)
            if conv is not None and conv.state is not ConversationState.CLOSED:
                idle = now - conv.last_seen_at
                if idle < self.idle_seconds or conv.state in (ConversationState.QUEUED, ConversationState.HUMAN):
                    await self.redis.expire(keys.conversation_of_user(channel, user_id), self.retention_seconds)
                    return conv
        conv = Conversation(
            id="C" + secrets.token_hex(8), channel=channel, user_id=user_id, created_at=now, last_seen_at=now
        )
        h = conv.to_dict()
        h["summary"] = json.dumps(conv.summary, ensure_ascii=False)
        h["urgent"] = "0"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.conversation(conv.id), mapping={k: str(v) for k, v in h.items()})
            pipe.expire(keys.conversation(conv.id), self.retention_seconds)
            pipe.set(keys.conversation_of_user(channel, user_id), conv.id, ex=self.retention_seconds)
            await pipe.execute()
        return conv

    async def current_id(self, channel: str, user_id: str) -> str | None:
        """The id of the resident's latest conversation, without opening a new one."""
        return await self.redis.get(keys.conversation_of_user(channel, user_id))

    async def get(self, conv_id: str) -> Conversation | None:
        h = await self.redis.hgetall(keys.conversation(conv_id))
        return Conversation.from_hash(h) if h else None

    async def require(self, conv_id: str) -> Conversation:
        conv = await self.get(conv_id)
        if conv is None:
            raise ConversationNotFound(conv_id)
        return conv

    async def touch(self, conv_id: str, *, now: float | None = None) -> None:
        now = time.time() if now is None else now
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.conversation(conv_id), "last_seen_at", str(now))
            pipe.hincrby(keys.conversation(conv_id), "turns", 1)
            pipe.expire(keys.conversation(conv_id), self.retention_seconds)
            pipe.expire(keys.conversation_transcript(conv_id), self.retention_seconds)
            await pipe.execute()

    async def append(self, conv_id: str, author: str, text: str, *, buttons: list[dict[str, str]] | None = None,
                     meta: dict[str, Any] | None = None, now: float | None = None) -> dict[str, Any]:
        entry: dict[str, Any] = {"at": time.time() if now is None else now, "author": author, "text": text}
        if buttons:
            entry["buttons"] = buttons
        if meta:
            entry["meta"] = meta
        raw = json.dumps(entry, ensure_ascii=False)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(keys.conversation_transcript(conv_id), raw)
            pipe.ltrim(keys.conversation_transcript(conv_id), -TRANSCRIPT_MAX, -1)
            pipe.expire(keys.conversation_transcript(conv_id), self.retention_seconds)
            pipe.expire(keys.conversation(conv_id), self.retention_seconds)
            await pipe.execute()
        await self.redis.publish(keys.conversation_events(conv_id), json.dumps({"type": "message", **entry},
                                                                               ensure_ascii=False))
        if author == "resident":
            await self.redis.publish(keys.console_events(), json.dumps({"type": "message", "conversation": conv_id}))
        return entry

    async def bot_turn(self, conv_id: str) -> int:
        """Count one turn under the current Rasa sender; returns the count."""
        return int(await self.redis.hincrby(keys.conversation(conv_id), "rasa_turns", 1))

    async def set_rasa_home(self, conv_id: str, url: str) -> None:
        await self.redis.hset(keys.conversation(conv_id), "rasa_home", url)

    async def rotate_sender(self, conv_id: str, sender: str) -> None:
        await self.redis.hset(keys.conversation(conv_id), mapping={"rasa_sender": sender, "rasa_turns": "0"})

    async def transcript(self, conv_id: str, *, limit: int = 200) -> list[dict[str, Any]]:
        raw = await self.redis.lrange(keys.conversation_transcript(conv_id), -limit, -1)
        return [json.loads(r) for r in raw]

    async def move(self, conv_id: str, command: str, *, operator: str = "", reason: str = "",
                   summary: dict[str, Any] | None = None, urgent: bool = False,
                   now: float | None = None) -> Conversation:
        allowed, to = _MOVES[command]
        res = await self._move(
            keys=[keys.conversation(conv_id), keys.queue(), keys.console_operator_conversations(operator)],
            args=[command, ",".join(sorted(allowed)), to, str(time.time() if now is None else now), operator,
                  reason, json.dumps(summary, ensure_ascii=False) if summary else "", "1" if urgent else "0",
                  conv_id],
        )
        status, state = res[0], res[1]
        if status == "missing":
            raise ConversationNotFound(conv_id)
        if status == "illegal":
            raise IllegalConversationMove(conv_id, command, state)
        await self.redis.publish(keys.conversation_events(conv_id), json.dumps({"type": "state", "state": to}))
        await self.redis.publish(keys.console_events(), json.dumps({"type": "state", "conversation": conv_id,
                                                                     "state": to}))
        return await self.require(conv_id)

    async def queued(self, *, limit: int = 100) -> list[Conversation]:
        """Conversations waiting for an operator, urgent first, then longest waiting first."""
        ids = await self.redis.zrange(keys.queue(), 0, limit - 1)
        out = []
        for conv_id in ids:
            conv = await self.get(conv_id)
            if conv is not None and conv.state is ConversationState.QUEUED:
                out.append(conv)
        return out

    async def assign(self, conv_id: str, operator: str, *, mode: str, assigned_by: str, expected_operator: str = "",
                     default_capacity: int = 0, now: float | None = None) -> tuple[str, str]:
        """Give the conversation to ``operator`` in one Lua step (see _ASSIGN); returns (status, state
        before): "ok", or why not — "missing", "taken", "offline", "full", "illegal", "changed". On "ok"
        the consoles are told (a ``state`` event naming the operator)."""
        now = time.time() if now is None else now
        res = await self._assign(
            keys=[keys.conversation(conv_id), keys.queue(), keys.console_online(),
                  keys.console_operator_conversations(operator), keys.console_capacity(),
                  keys.console_operator_conversations(expected_operator or operator)],
            args=[conv_id, operator, str(now), str(default_capacity), mode, expected_operator, assigned_by],
        )
        status, state = str(res[0]), str(res[1])
        if status == "ok":
            await self.redis.publish(keys.conversation_events(conv_id), json.dumps({"type": "state", "state": "human"}))
            await self.redis.publish(keys.console_events(), json.dumps({
                "type": "assigned", "conversation": conv_id, "state": "human", "operator": operator}))
        return status, state

    async def set_once(self, conv_id: str, name: str, value: str, *, state: str = "") -> bool:
        """Set ``name`` unless it already has a value this wait (and, with ``state``, only in that state)."""
        return bool(await self._once(keys=[keys.conversation(conv_id)], args=[name, value, state]))
