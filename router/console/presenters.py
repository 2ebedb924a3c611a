"""Shaping data for the console's templates and live events: times, durations and rates as operators read
them, labels and messages from ui_zh.json, and conversations, transcript lines and tickets as plain view
dicts — residents' numbers masked for roles without SEE_PHONES (router.domain.masking)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from router.adapters.conversations import Conversation
from router.console.context import state_of
from router.domain.masking import mask_pii
from router.domain.tickets import CST, OPEN_STATUSES, Ticket, mask_name, parse_time
from router.services.escalation import trail
from router.services.mediation import MediationService

__all__ = ["msg", "label", "fmt_time", "fmt_duration", "fmt_rate", "urgent", "display_user", "masker",
           "summary_view", "conv_view", "entry_view", "ticket_view", "trail_view", "mediation_view"]


def msg(request: web.Request, key: str, **params: Any) -> str:
    return str(state_of(request).texts["messages"][key]).format(**params)


def label(request: web.Request, group: str, value: Any) -> str:
    return str(state_of(request).texts.get(group, {}).get(str(value), value if value is not None else ""))


def fmt_time(value: float | datetime | None, with_date: bool = True) -> str:
    if value is None or value == 0:
        return ""
    at = value if isinstance(value, datetime) else datetime.fromtimestamp(float(value), CST)
    return at.astimezone(CST).strftime("%Y-%m-%d %H:%M" if with_date else "%H:%M:%S")


def fmt_duration(seconds: float) -> str:
    seconds = int(abs(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时"
    if hours:
        return f"{hours}小时{minutes}分"
    if minutes:
        return f"{minutes}分{secs}秒"
    return f"{secs}秒"


def fmt_rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def urgent(conv: Conversation) -> bool:
    return conv.urgent or bool(conv.summary.get("urgent")) or conv.handoff_reason == "self_harm"


def display_user(conv: Conversation, see_phones: bool) -> str:
    """The resident as the queue shows them: a caller's number (masked like every other view of it, so
    no two views add up to the whole number), or the start of an opaque channel id."""
    uid = conv.user_id
    if conv.channel == "voice":  # "NUMBER/CALL_SID": the number is what a person reads; the sid is noise
        uid = uid.rsplit("/", 1)[0]
    shown = uid if see_phones else mask_pii(uid, whole=True)
    return shown if len(shown) <= 20 else shown[:12] + "…"  # cut after masking: a prefix shows no more


def masker(see_phones: bool) -> Callable[[str], str]:
    return (lambda t: t) if see_phones else mask_pii


def summary_view(request: web.Request, conv: Conversation, see_phones: bool) -> dict[str, Any]:
    s = conv.summary or {}
    mask = masker(see_phones)
    raw_draft = s.get("ticket_draft")
    draft = raw_draft if isinstance(raw_draft, dict) else {}
    return {
        "intent": label(request, "intents", s.get("intent") or "") if s.get("intent") else "",
        "topic": mask(str(s.get("topic") or "")),
        "place": mask(str(s.get("place") or "")),
        "ticket_id": str(s.get("ticket_id") or ""),
        "draft": [(label(request, "draft_fields", k), mask(str(v))) for k, v in draft.items() if v],
        "last_messages": [mask(str(m)) for m in (s.get("last_messages") or [])][-3:],
    }


def conv_view(request: web.Request, conv: Conversation, see_phones: bool) -> dict[str, Any]:
    now = time.time()
    return {
        "id": conv.id,
        "channel": label(request, "channels", conv.channel),
        "state": conv.state.value,
        "state_label": label(request, "conversation_states", conv.state.value),
        "operator": conv.operator,
        "user": display_user(conv, see_phones),
        "urgent": urgent(conv),
        "reason": label(request, "handoff_reasons", conv.handoff_reason) if conv.handoff_reason else "",
        "queued_at": conv.queued_at,
        "wait": max(0.0, now - conv.queued_at) if conv.queued_at else 0.0,
        "summary": summary_view(request, conv, see_phones),
        "assigned_by": conv.assigned_by,
        # the desk's timers of this wait for a person: None until there is one
        "first_response": conv.first_response_seconds,
        "resolution": conv.resolution_seconds,
        "csat": conv.csat,
    }


def entry_view(request: web.Request, entry: dict[str, Any], see_phones: bool) -> dict[str, Any]:
    author = str(entry.get("author") or "")
    raw_meta = entry.get("meta")
    meta = raw_meta if isinstance(raw_meta, dict) else {}
    mask = masker(see_phones)
    return {
        "author": author,
        "author_label": label(request, "authors", author) + (f" {meta['operator']}" if meta.get("operator")
                                                              else ""),
        "text": mask(str(entry.get("text") or "")),
        "at": float(entry.get("at") or 0),
        "time": fmt_time(float(entry.get("at") or 0), with_date=False),
        "buttons": [mask(str(b.get("title", ""))) for b in entry.get("buttons") or () if isinstance(b, dict)],
    }


def ticket_view(request: web.Request, t: Ticket, see_phones: bool, now: datetime) -> dict[str, Any]:
    remaining = (t.sla_deadline - now).total_seconds()
    mask = masker(see_phones)
    return {
        "id": t.id,
        "status": t.status.value,
        "open": t.status in OPEN_STATUSES,
        "overdue": t.status in OPEN_STATUSES and remaining < 0,
        "remaining": remaining,
        "deadline": t.sla_deadline.timestamp(),
        "text": mask(t.text),
        "channel": label(request, "channels", t.channel),
        "topic": " / ".join(p for p in (t.topic.l1, t.topic.l2, t.topic.l3) if p),
        "department": t.assignee.department if t.assignee else t.topic.department,
        "unit": t.assignee.unit if t.assignee else "",
        "place": mask(" ".join(p for p in (t.location.district, t.location.street, t.location.community,
                                           t.location.grid) if p)),
        "district": t.location.district or "",
        "address": mask(t.location.address),
        "contact_name": t.contact.name if see_phones else mask_name(t.contact.name),
        "contact_phone": t.contact.phone if see_phones else mask_pii(t.contact.phone, whole=True),
        "urgency": label(request, "urgency", t.urgency.value),
        "created_at": t.created_at,
        "updated_at": t.updated_at,
        "escalation_level": t.escalation_level,
        "merged_into": t.merged_into or "",
        "reporters": t.reporters,
        "rating": t.rating.value if t.rating else "",
        "since": mask(t.since or ""),
        "conversation_id": t.conversation_id or "",
        "version": t.version,
        "history": [
            {"from": h.from_.value if h.from_ else "", "to": h.to.value,
             "action": label(request, "ticket_actions", h.action), "actor": h.actor, "at": h.at,
             "reason": mask(h.reason or ""), "data": {k: mask(str(v)) for k, v in h.data.items()}}
            for h in t.history
        ],
    }


def trail_view(request: web.Request, t: Ticket) -> list[dict[str, Any]]:
    """The ticket's 上报 / 交办 / 督办 steps (router/services/escalation.py), oldest first."""
    return [{"kind": s.kind, "label": label(request, "escalation_steps", s.kind), "at": s.at, "actor": s.actor,
             "from": s.from_unit, "to": s.to_unit, "reason": mask_pii(s.reason), "level": s.level}
            for s in trail(t)]


def mediation_view(request: web.Request, record: dict[str, Any] | None) -> dict[str, Any] | None:
    """A 综治中心's mediation record with phone and ID numbers masked, as a street office reads it in the portal
    (the parties are third parties: no console role sees their numbers whole)."""
    if not record:
        return None
    out = MediationService.masked(record)
    for s in out.get("sessions") or []:
        s["at"] = parse_time(s["at"])
    outcome = out.get("outcome")
    if outcome:
        outcome["label"] = label(request, "mediation_outcomes", outcome.get("result"))
    if out.get("escalated"):
        out["escalated"]["at"] = parse_time(out["escalated"]["at"])
    return out
