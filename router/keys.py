"""Every Redis key the router writes, named in one place.

Keys that belong together carry a hash tag (``{...}``) so that multi-key operations stay inside one
hash slot when Redis moves to Cluster: everything about a ticket is tagged by the ticket id, everything
about a conversation by the conversation id.
"""

from __future__ import annotations

__all__ = [
    "PREFIX",
    "ticket",
    "ticket_history",
    "ticket_followers",
    "ticket_notified",
    "ticket_seq",
    "ticket_index",
    "idempotency",
    "conversation",
    "conversation_transcript",
    "conversation_events",
    "queue",
    "dispatch_stream",
    "sla_schedule",
    "wechat_msgid",
    "web_session",
    "conversation_of_user",
    "console_events",
    "message_seen",
    "wechat_access_token",
    "wechat_token_lock",
    "wechat_last_buttons",
    "wechat_event",
    "wechat_outbox",
    "wechat_outbox_waiting",
]

PREFIX = "rsa"


def ticket(ticket_id: str) -> str:
    return f"{PREFIX}:ticket:{{{ticket_id}}}"


def ticket_history(ticket_id: str) -> str:
    return f"{PREFIX}:ticket:{{{ticket_id}}}:history"


def ticket_followers(ticket_id: str) -> str:
    """Set of conversation ids told of this ticket's progress: its reporter's and those of reports merged into it."""
    return f"{PREFIX}:ticket:{{{ticket_id}}}:followers"


def ticket_notified(ticket_id: str) -> str:
    """Set of "history index:conversation id" notices already sent for this ticket (each one goes out once)."""
    return f"{PREFIX}:ticket:{{{ticket_id}}}:notified"


def ticket_seq(day: str) -> str:
    """Daily counter behind human-readable ids (SZ20261125-000123)."""
    return f"{PREFIX}:ticket-seq:{day}"


def ticket_index(field: str, value: str) -> str:
    """Set of ticket ids by status / department / district, for list filters."""
    return f"{PREFIX}:ticket-index:{field}:{value}"


def idempotency(key: str) -> str:
    return f"{PREFIX}:idem:{key}"


def conversation(conv_id: str) -> str:
    return f"{PREFIX}:conv:{{{conv_id}}}"


def conversation_transcript(conv_id: str) -> str:
    return f"{PREFIX}:conv:{{{conv_id}}}:transcript"


def conversation_events(conv_id: str) -> str:
    """Pub/sub channel for live delivery (operator replies) to the resident's open page."""
    return f"{PREFIX}:conv:{{{conv_id}}}:events"


def queue() -> str:
    """Sorted set of conversations waiting for an operator, scored by the time they joined."""
    return f"{PREFIX}:handoff-queue"


def dispatch_stream(department: str) -> str:
    return f"{PREFIX}:dispatch:{department}"


def sla_schedule() -> str:
    """Sorted set of open ticket ids scored by SLA deadline (epoch seconds)."""
    return f"{PREFIX}:sla"


def wechat_msgid(msg_id: str) -> str:
    return f"{PREFIX}:wechat:msgid:{msg_id}"


def web_session(session_id: str) -> str:
    return f"{PREFIX}:web-session:{session_id}"


def conversation_of_user(channel: str, user_id: str) -> str:
    """The resident's current conversation; expires after SESSION_IDLE_SECONDS of silence."""
    return f"{PREFIX}:conv-user:{channel}:{user_id}"


def console_events() -> str:
    """Pub/sub channel telling open operator consoles that the queue or a conversation changed."""
    return f"{PREFIX}:console-events"


def message_seen(channel: str, message_id: str) -> str:
    """A channel message id already taken (WeChat MsgId, voice call+turn): replays answer from here."""
    return f"{PREFIX}:seen:{channel}:{message_id}"


def wechat_access_token(app_id: str) -> str:
    """The account's cached access_token, shared by every router instance (expires before WeChat's does)."""
    return f"{PREFIX}:wechat:access-token:{app_id}"


def wechat_token_lock(app_id: str) -> str:
    """Held while one instance fetches a new access_token, so instances do not invalidate each other's."""
    return f"{PREFIX}:wechat:access-token-lock:{app_id}"


def wechat_last_buttons(openid: str) -> str:
    """The buttons last shown to a WeChat resident as numbered options ("回复 1 …"), to map "1" back."""
    return f"{PREFIX}:wechat:buttons:{openid}"


def wechat_outbox() -> str:
    """Stream of customer-service messages WeChat could not take at once, retried until it does.
    Hash-tagged with wechat_outbox_waiting: both change in one transaction."""
    return f"{PREFIX}:wechat:{{outbox}}"


def wechat_outbox_waiting() -> str:
    """Hash OpenID → how many of their messages wait in the outbox (new ones queue behind them)."""
    return f"{PREFIX}:wechat:{{outbox}}:waiting"


__all__ += ["wechat_nonce"]


def wechat_nonce(timestamp: str, nonce: str) -> str:
    """A push's (timestamp, nonce) once spent, holding the fingerprint of the message it carried: the
    same pair may come again only with that message (WeChat's retries reuse the query string)."""
    return f"{PREFIX}:wechat:nonce:{{{timestamp}:{nonce}}}"


def wechat_event(openid: str, create_time: str) -> str:
    """An event delivery taken (events carry no MsgId: FromUserName + CreateTime identify them)."""
    return f"{PREFIX}:wechat:event:{openid}:{create_time}"


# --- voice hotline (router/channels/voice.py): everything about one call is hash-tagged by its call_sid.
__all__ += ["voice_call", "voice_outbox", "voice_turn"]


def voice_call(call_sid: str) -> str:
    """Hash: the call's dialogue state (conversation, turn counter, silences, last answer, options)."""
    return f"{PREFIX}:voice:{{{call_sid}}}"


def voice_outbox(call_sid: str) -> str:
    """List of replies (operator texts, late bot answers) to speak at the call's next webhook."""
    return f"{PREFIX}:voice:{{{call_sid}}}:outbox"


def voice_turn(call_sid: str, turn: str) -> str:
    """The verbs answered to one webhook of the call: a retried webhook gets them back unchanged."""
    return f"{PREFIX}:voice:{{{call_sid}}}:turn:{turn}"


# --- operator console (router/console): users, login sessions, rate limits, audit trail.
__all__ += ["console_user", "console_users", "console_session", "console_login_failures", "console_audit",
            "console_operator_conversations", "console_bootstrap_lock"]


def console_user(name: str) -> str:
    """Hash: one console user's role, password hash and flags."""
    return f"{PREFIX}:console:user:{name}"


def console_users() -> str:
    """Set of every console user name (for listing and the first-run check)."""
    return f"{PREFIX}:console:users"


def console_session(session_digest: str) -> str:
    """Hash of a login session, keyed by the SHA-256 of the cookie so a Redis dump holds no live cookie."""
    return f"{PREFIX}:console:session:{session_digest}"


def console_login_failures(ip: str, user: str) -> str:
    """Counter of failed logins for one client address and user name, expiring with the lockout window."""
    return f"{PREFIX}:console:login-failures:{ip}:{user}"


def console_audit() -> str:
    """Stream of every operator action (who, what, on which conversation or ticket, when)."""
    return f"{PREFIX}:console:audit"


def console_operator_conversations(user: str) -> str:
    """Set of conversation ids an operator has claimed and not yet handed back or closed."""
    return f"{PREFIX}:console:claimed:{user}"


def console_bootstrap_lock() -> str:
    """Held while the first admin is created, so two routers starting together make only one."""
    return f"{PREFIX}:console:bootstrap"


__all__ += ["console_login_attempts", "console_user_events"]


def console_login_attempts(bucket: str) -> str:
    """Counter of password checks in one lockout window for one bucket ("pair:ADDRESS:NAME", "user:NAME",
    "addr:ADDRESS"). One hash tag for all of them: a login takes its buckets in one Lua script."""
    return f"{PREFIX}:console:{{login-limit}}:{bucket}"


def console_user_events(name: str) -> str:
    """Pub/sub channel of one console user: their sessions were revoked, so their open live streams end."""
    return f"{PREFIX}:console:user-events:{name}"


# --- public side (router/http.py, router/channels/web.py): rate limits and open event streams.
__all__ += ["rate_limit", "web_streams"]


def rate_limit(scope: str, subject: str) -> str:
    """Counter of one client address's or session's requests of one kind in the current window
    (expires with the window; shared by every router process)."""
    return f"{PREFIX}:rate:{scope}:{subject}"


def web_streams(session: str) -> str:
    """Sorted set of a web session's open event streams, scored by when each lease runs out."""
    return f"{PREFIX}:web-streams:{session}"


# --- console desk (router/services/assignment.py, router/console/canned.py): canned replies, who is online,
# auto-assignment, and the day's desk figures (timers, CSAT).
__all__ += ["console_canned", "console_presence", "console_online", "console_assignment", "console_capacity",
            "console_desk_day"]


def console_canned() -> str:
    """String: the canned replies (快捷回复) as one JSON list, seeded from router/console/canned_zh.json."""
    return f"{PREFIX}:console:canned"


def console_presence(user: str) -> str:
    """Sorted set of one operator's open live streams (stream id → when its lease runs out)."""
    return f"{PREFIX}:console:presence:{user}"


def console_online() -> str:
    """Sorted set of operators with an open live stream, scored by when their latest lease runs out."""
    return f"{PREFIX}:console:online"


def console_assignment() -> str:
    """Hash: auto-assignment switch ("enabled") and the round-robin pointer ("last": who got the last one)."""
    return f"{PREFIX}:console:assignment"


def console_capacity() -> str:
    """Hash user → how many conversations auto-assignment may give them at once (set by a supervisor)."""
    return f"{PREFIX}:console:capacity"


def console_desk_day(day: str) -> str:
    """Hash of one day's (YYYYMMDD, China time) desk figures: response/resolution sums and counts, CSAT."""
    return f"{PREFIX}:console:desk-day:{day}"


# --- unit work portal (router/portal, router/adapters/units.py): the accounts of the units that handle
# tickets (departments, street offices, 综治中心, 网格员) and their login sessions.
__all__ += ["unit_user", "unit_users", "unit_session", "unit_reports", "ticket_photos"]


def unit_user(name: str) -> str:
    """Hash: one unit login (its unit, kind, scrypt hash, flags)."""
    return f"{PREFIX}:unit:user:{name}"


def unit_users() -> str:
    """Set of every unit login name."""
    return f"{PREFIX}:unit:users"


def unit_session(session_digest: str) -> str:
    """Hash of a portal login session, keyed by the SHA-256 of the cookie (like console_session)."""
    return f"{PREFIX}:unit:session:{session_digest}"


def unit_reports(name: str) -> str:
    """Sorted set of the tickets one unit login reported on patrol (ticket id → when)."""
    return f"{PREFIX}:unit:reports:{name}"


def ticket_photos(ticket_id: str) -> str:
    """Hash of the photos units attached to a ticket (stored file name → what it shows: report / note /
    resolve); only these may be shown with the ticket."""
    return f"{PREFIX}:ticket:{{{ticket_id}}}:photos"


def ticket_mediation(ticket_id: str) -> str:
    """JSON of a 综治中心's mediation record on a ticket (parties, sessions, outcome, escalation to the street
    office); router/adapters/mediation.py."""
    return f"{PREFIX}:ticket:{{{ticket_id}}}:mediation"
