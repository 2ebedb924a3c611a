"""Incident tickets and their lifecycle (the 12345 closed loop), as pure data and pure functions.

受理 → 派单 → 处置 → 办结 → 回访 → 归档, with the side moves 退单 (a department returns a wrongly routed
ticket), 督办 (overdue: supervision climbs 社区 → 街道 → 区 → 市), 合并 (a duplicate folded into an earlier
ticket) and 撤销 (the resident withdraws). Every move goes through :func:`apply`, which reads the one
transition table below and returns a *new* :class:`Ticket`; an illegal move raises
:class:`IllegalTransition` and the ticket it was given is untouched (tickets are frozen).

No I/O here: the Redis adapter (router.adapters.ticket_store) persists what this module decides, and the
bot runtime (Python 3.10) may import it too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from enum import Enum
from typing import Any

__all__ = [
    "CST",
    "Status",
    "Action",
    "Urgency",
    "Rating",
    "ESCALATION_LEVELS",
    "OPEN_STATUSES",
    "SLA_CLOCKED",
    "TRANSITIONS",
    "SLA",
    "IllegalTransition",
    "TransitionDataError",
    "TicketNotFound",
    "PreconditionFailed",
    "Topic",
    "Location",
    "Contact",
    "Assignee",
    "HistoryEntry",
    "Ticket",
    "apply",
    "add_duplicate",
    "is_ticket_id",
    "allowed_actions",
    "sla_deadline",
    "format_ticket_id",
    "ticket_day",
    "new_ticket",
    "mask_phone",
    "unit_for_residents",
    "mask_name",
    "iso",
    "parse_time",
    "text_similarity",
    "duplicate_scope",
    "reports_the_same",
    "DUPLICATE_THRESHOLD",
    "DUPLICATE_WINDOW",
    "RESIDENT_CHANNELS",
    "TICKET_CHANNELS",
    "MAX_TEXT_CHARS",
    "InvalidDraft",
    "parse_draft",
]

# China has had no daylight saving since 1991, so a fixed +08:00 offset is exact and needs no tzdata
# (the bot runtime's slim images do not always ship it).
CST = timezone(timedelta(hours=8), "Asia/Shanghai")


class Status(str, Enum):
    RECEIVED = "受理"
    DISPATCHED = "派单"
    IN_PROGRESS = "处置"
    RESOLVED = "办结"
    FOLLOWED_UP = "回访"
    CLOSED = "归档"
    RETURNED = "退单"
    ESCALATED = "督办"
    MERGED = "合并"
    WITHDRAWN = "撤销"


class Action(str, Enum):
    DISPATCH = "dispatch"
    ACCEPT = "accept"
    RETURN = "return"
    RESOLVE = "resolve"
    FOLLOW_UP = "follow_up"
    CLOSE = "close"
    ESCALATE = "escalate"
    MERGE = "merge"
    WITHDRAW = "withdraw"
    REOPEN = "reopen"
    NOTE = "note"  # a progress note (进展) from the unit handling the ticket; the status stays


class Urgency(str, Enum):
    LIFE_PROPERTY = "life_property"  # danger to life or property
    OUTAGE = "outage"  # water / power / gas cut
    GENERAL = "general"
    COMPLEX = "complex"  # needs several agencies or on-site survey


class Rating(str, Enum):
    SATISFIED = "满意"
    BASICALLY_SATISFIED = "基本满意"
    DISSATISFIED = "不满意"


SLA: dict[Urgency, timedelta] = {
    Urgency.LIFE_PROPERTY: timedelta(hours=2),
    Urgency.OUTAGE: timedelta(hours=24),
    Urgency.GENERAL: timedelta(days=7),
    Urgency.COMPLEX: timedelta(days=15),
}

# Who supervises an overdue ticket: each 督办 moves it one level up, and it stays at 市 once there.
ESCALATION_LEVELS: tuple[str, ...] = ("社区", "街道", "区", "市")

S, A = Status, Action
# The whole lifecycle. A tuple of targets means the caller picks one with ``to=`` (first is the default).
TRANSITIONS: dict[Status, dict[Action, Status | tuple[Status, ...]]] = {
    S.RECEIVED:    {A.DISPATCH: S.DISPATCHED, A.MERGE: S.MERGED, A.WITHDRAW: S.WITHDRAWN,
                    A.ESCALATE: S.ESCALATED},
    S.DISPATCHED:  {A.ACCEPT: S.IN_PROGRESS, A.RETURN: S.RETURNED, A.DISPATCH: S.DISPATCHED,
                    A.ESCALATE: S.ESCALATED, A.MERGE: S.MERGED, A.WITHDRAW: S.WITHDRAWN},
    S.IN_PROGRESS: {A.RESOLVE: S.RESOLVED, A.RETURN: S.RETURNED, A.ESCALATE: S.ESCALATED,
                    A.WITHDRAW: S.WITHDRAWN, A.NOTE: S.IN_PROGRESS},
    S.RETURNED:    {A.DISPATCH: S.DISPATCHED, A.ESCALATE: S.ESCALATED, A.MERGE: S.MERGED,
                    A.WITHDRAW: S.WITHDRAWN},
    S.ESCALATED:   {A.ESCALATE: S.ESCALATED, A.DISPATCH: S.DISPATCHED, A.ACCEPT: S.IN_PROGRESS,
                    A.RESOLVE: S.RESOLVED, A.RETURN: S.RETURNED, A.WITHDRAW: S.WITHDRAWN},
    S.RESOLVED:    {A.FOLLOW_UP: S.FOLLOWED_UP, A.CLOSE: S.CLOSED},
    S.FOLLOWED_UP: {A.CLOSE: S.CLOSED, A.REOPEN: (S.IN_PROGRESS, S.DISPATCHED)},
    S.CLOSED:      {},
    S.MERGED:      {},
    S.WITHDRAWN:   {},
}  # fmt: skip
del S, A

# Statuses in which someone still owes the resident action; these run an SLA clock.
OPEN_STATUSES: frozenset[Status] = frozenset(
    {Status.RECEIVED, Status.DISPATCHED, Status.IN_PROGRESS, Status.RETURNED, Status.ESCALATED}
)
SLA_CLOCKED = OPEN_STATUSES


class IllegalTransition(Exception):
    """The lifecycle does not allow ``action`` from ``status``; nothing was changed."""

    def __init__(self, ticket_id: str, status: Status, action: Action | str, detail: str = "") -> None:
        self.ticket_id = ticket_id
        self.status = status
        self.action = action
        self.detail = detail
        act = action.value if isinstance(action, Action) else action
        msg = f"ticket {ticket_id}: cannot {act} from {status.value} ({status.name})"
        super().__init__(f"{msg}: {detail}" if detail else msg)


class TicketNotFound(LookupError):
    def __init__(self, ticket_id: str) -> None:
        super().__init__(f"no ticket {ticket_id}")
        self.ticket_id = ticket_id


class PreconditionFailed(Exception):
    """The ticket is no longer in the state the caller decided on (e.g. another worker got there)."""


class TransitionDataError(ValueError):
    """The move is allowed but the data it needs is missing or malformed (e.g. 退单 without a reason)."""


@dataclass(frozen=True)
class Topic:
    l1: str = ""
    l2: str | None = None
    l3: str | None = None
    department: str = ""
    confidence: float = 0.0


@dataclass(frozen=True)
class Location:
    district: str | None = None
    street: str | None = None
    community: str | None = None
    grid: str | None = None
    address: str = ""


@dataclass(frozen=True)
class Contact:
    name: str = ""
    phone: str = ""


@dataclass(frozen=True)
class Assignee:
    department: str
    unit: str = ""  # the 属地 unit: street / community office that acts on the spot


@dataclass(frozen=True)
class HistoryEntry:
    from_: Status | None  # None for the entry that creates the ticket
    to: Status
    action: str  # an Action value, or "create"
    actor: str
    at: datetime
    reason: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.from_.value if self.from_ else None,
            "to": self.to.value,
            "action": self.action,
            "actor": self.actor,
            "at": iso(self.at),
            "reason": self.reason,
            **({"data": dict(self.data)} if self.data else {}),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> HistoryEntry:
        return cls(
            from_=Status(d["from"]) if d.get("from") else None,
            to=Status(d["to"]),
            action=d["action"],
            actor=d["actor"],
            at=parse_time(d["at"]),
            reason=d.get("reason"),
            data=dict(d.get("data") or {}),
        )


@dataclass(frozen=True)
class Ticket:
    id: str
    status: Status
    channel: str
    text: str
    topic: Topic
    location: Location
    contact: Contact
    urgency: Urgency
    sla_deadline: datetime
    created_at: datetime
    updated_at: datetime
    conversation_id: str | None = None
    assignee: Assignee | None = None
    escalation_level: str = ESCALATION_LEVELS[0]
    merged_into: str | None = None
    duplicates: tuple[str, ...] = ()  # ids of later reports merged into this one
    rating: Rating | None = None
    since: str | None = None  # when the resident says the problem started, as they said it
    history: tuple[HistoryEntry, ...] = ()
    version: int = 0  # bumped by every change; the store's compare-and-set token

    @property
    def reporters(self) -> int:
        """How many residents reported this problem (this ticket plus those merged into it)."""
        return 1 + len(self.duplicates)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def to_dict(self, mask_contact: bool = True) -> dict[str, Any]:
        contact = (
            {"name": mask_name(self.contact.name), "phone": mask_phone(self.contact.phone)}
            if mask_contact
            else {"name": self.contact.name, "phone": self.contact.phone}
        )
        return {
            "id": self.id,
            "status": self.status.value,
            "channel": self.channel,
            "text": self.text,
            "topic": dataclasses.asdict(self.topic),
            "location": dataclasses.asdict(self.location),
            "contact": contact,
            "urgency": self.urgency.value,
            "sla_deadline": iso(self.sla_deadline),
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "conversation_id": self.conversation_id,
            "assignee": dataclasses.asdict(self.assignee) if self.assignee else None,
            "escalation_level": self.escalation_level,
            "merged_into": self.merged_into,
            "duplicates": list(self.duplicates),
            "reporters": self.reporters,
            "rating": self.rating.value if self.rating else None,
            "since": self.since,
            "version": self.version,
            "history": [h.to_dict() for h in self.history],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Ticket:
        assignee = d.get("assignee")
        return cls(
            id=d["id"],
            status=Status(d["status"]),
            channel=d["channel"],
            text=d["text"],
            topic=Topic(**d["topic"]),
            location=Location(**d["location"]),
            contact=Contact(**d["contact"]),
            urgency=Urgency(d["urgency"]),
            sla_deadline=parse_time(d["sla_deadline"]),
            created_at=parse_time(d["created_at"]),
            updated_at=parse_time(d["updated_at"]),
            conversation_id=d.get("conversation_id"),
            assignee=Assignee(**assignee) if assignee else None,
            escalation_level=d.get("escalation_level") or ESCALATION_LEVELS[0],
            merged_into=d.get("merged_into"),
            duplicates=tuple(d.get("duplicates") or ()),
            rating=Rating(d["rating"]) if d.get("rating") else None,
            since=d.get("since"),
            history=tuple(HistoryEntry.from_dict(h) for h in d.get("history") or ()),
            version=int(d.get("version") or 0),
        )


# ---------------------------------------------------------------------------------------------- time


def iso(at: datetime) -> str:
    """ISO 8601 in Beijing time, e.g. 2026-11-25T14:03:00+08:00 — what operators read."""
    return _aware(at).astimezone(CST).isoformat(timespec="seconds")


def parse_time(text: str) -> datetime:
    return _aware(datetime.fromisoformat(text))


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r}: ticket times must carry a timezone")
    return at


def sla_deadline(created_at: datetime, urgency: Urgency | str) -> datetime:
    return _aware(created_at).astimezone(CST) + SLA[Urgency(urgency)]


# ------------------------------------------------------------------------------------------------ ids

_ID_RE = re.compile(r"^SZ\d{8}-\d{6}$")


def ticket_day(at: datetime) -> str:
    """The Beijing-time calendar day a ticket id carries (a 23:30 UTC report is already tomorrow)."""
    return _aware(at).astimezone(CST).strftime("%Y%m%d")


def format_ticket_id(day: str | date, seq: int, key: bytes | None = None) -> str:
    """SZ + Beijing date + six digits. With ``key`` the six digits are the day's sequence number
    scrambled by a keyed permutation: still unique per day and readable over the phone, but the next
    resident's ticket is not this one plus one, so nobody can walk through a day's tickets."""
    if isinstance(day, date):
        day = day.strftime("%Y%m%d")
    if not (1 <= seq <= 999_999):
        raise ValueError(f"daily sequence {seq} out of range 1..999999")
    number = scramble(seq, key, day) if key else seq
    return f"SZ{day}-{number:06d}"


_HALF = 1000  # six digits as two halves of three: a balanced Feistel network over 0..999999


def _round(key: bytes, day: str, r: int, half: int) -> int:
    digest = hmac.new(key, f"{day}:{r}:{half}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "big") % _HALF


def _feistel(x: int, key: bytes, day: str) -> int:
    left, right = divmod(x, _HALF)
    for r in range(4):
        left, right = right, (left + _round(key, day, r, right)) % _HALF
    return left * _HALF + right


def scramble(seq: int, key: bytes, day: str) -> int:
    """A keyed permutation of 1..999999 (a Feistel network over 0..999999, cycle-walked past 0)."""
    y = _feistel(seq, key, day)
    while y == 0:
        y = _feistel(y, key, day)
    return y


def is_ticket_id(text: str) -> bool:
    return bool(_ID_RE.match(text))


# ----------------------------------------------------------------------------------------- masking


def mask_phone(phone: str) -> str:
    """138****5678: enough for the resident to recognise their number, useless to anyone else."""
    digits = phone.strip()
    n = len(digits)
    if n >= 8:
        return digits[:3] + "*" * (n - 7) + digits[-4:]
    return "*" * max(n - 2, 0) + digits[-2:] if n else ""


_GRID_CODE_WORKER = re.compile(r"^[0-9A-Za-z_-]*\d[0-9A-Za-z_-]*网格员$")


def unit_for_residents(department: str, unit: str = "") -> str:
    """The handling unit as a resident reads it: 区城管局（粤海街道）; a grid worker by their community
    (大冲社区网格员), never by the grid's code (440305007029-03网格员)."""
    department, unit = department.strip(), unit.strip()
    if _GRID_CODE_WORKER.match(department):
        return f"{unit}网格员" if unit else "社区网格员"
    if unit and unit not in department:
        return f"{department}（{unit}）"
    return department


def mask_name(name: str) -> str:
    """Keep the surname only: 王小明 → 王**."""
    name = name.strip()
    return name[:1] + "*" * (len(name) - 1) if name else ""


# --------------------------------------------------------------------------------------- creation


def new_ticket(
    ticket_id: str,
    *,
    at: datetime,
    actor: str,
    channel: str,
    text: str,
    topic: Topic | None = None,
    location: Location | None = None,
    contact: Contact | None = None,
    urgency: Urgency | str = Urgency.GENERAL,
    conversation_id: str | None = None,
    since: str | None = None,
) -> Ticket:
    """A freshly received (受理) ticket with its first history entry and its SLA clock started."""
    if not text or not text.strip():
        raise TransitionDataError("a ticket needs the resident's text")
    urgency = Urgency(urgency)
    return Ticket(
        id=ticket_id,
        status=Status.RECEIVED,
        channel=channel,
        text=text.strip(),
        topic=topic or Topic(),
        location=location or Location(),
        contact=contact or Contact(),
        urgency=urgency,
        sla_deadline=sla_deadline(at, urgency),
        created_at=at,
        updated_at=at,
        conversation_id=conversation_id,
        since=since,
        history=(HistoryEntry(None, Status.RECEIVED, "create", actor, at),),
        version=1,
    )


# ------------------------------------------------------------------------------------- transitions


def allowed_actions(status: Status) -> list[Action]:
    return list(TRANSITIONS[status])


def apply(
    ticket: Ticket,
    action: Action | str,
    actor: str,
    at: datetime,
    reason: str | None = None,
    **data: Any,
) -> Ticket:
    """Return ``ticket`` after ``action``; raise IllegalTransition / TransitionDataError otherwise.

    Data each action reads: dispatch ``department``, ``unit`` (default: the topic's department and
    the street or community of the place); follow_up ``rating``; merge ``merged_into``; reopen
    ``to`` (处置 by default, 派单 to route again); return needs a ``reason``.
    """
    if not actor or not str(actor).strip():
        raise TransitionDataError("every move needs an actor")
    try:
        act = Action(action)
    except ValueError:
        raise IllegalTransition(ticket.id, ticket.status, str(action), "unknown action") from None
    targets = TRANSITIONS[ticket.status].get(act)
    if targets is None:
        raise IllegalTransition(ticket.id, ticket.status, act)
    options = targets if isinstance(targets, tuple) else (targets,)
    to = options[0]
    if data.get("to"):
        try:
            to = Status(data["to"])
        except ValueError:
            raise TransitionDataError(f"unknown status {data['to']!r}") from None
        if to not in options:
            raise IllegalTransition(ticket.id, ticket.status, act, f"cannot go to {to.value}")
    reason = reason.strip() if reason and reason.strip() else None
    changes: dict[str, Any] = {}
    recorded: dict[str, Any] = {}

    if act is Action.DISPATCH:
        department = (data.get("department") or ticket.topic.department or "").strip()
        if not department:
            raise TransitionDataError("dispatch needs a department (none given, none in the topic)")
        unit = data.get("unit") or ticket.location.street or ticket.location.community or ""
        changes["assignee"] = Assignee(department, unit)
        recorded = {"department": department, "unit": unit}
    elif act is Action.RETURN:
        if not reason:
            raise TransitionDataError("退单 needs a reason (why the routing was wrong)")
        changes["assignee"] = None
    elif act is Action.RESOLVE:
        if data.get("photo"):  # a photo of the work done (the unit portal's 办结)
            recorded = {"photo": str(data["photo"])}
    elif act is Action.NOTE:
        if not reason:
            raise TransitionDataError("进展 needs the note's text")
        if data.get("photo"):
            recorded = {"photo": str(data["photo"])}
    elif act is Action.FOLLOW_UP:
        try:
            rating = Rating(data.get("rating"))
        except ValueError:
            raise TransitionDataError(
                f"follow_up needs rating 满意/基本满意/不满意, got {data.get('rating')!r}"
            ) from None
        changes["rating"] = rating
        recorded = {"rating": rating.value}
    elif act is Action.CLOSE:
        # Archiving without the resident's satisfaction needs a written reason (e.g. 回访无法接通,
        # 经复核已按政策答复) so that 满意率 cannot be dodged silently.
        if ticket.rating in (None, Rating.DISSATISFIED) and not reason:
            raise TransitionDataError("closing without a satisfied follow-up needs a reason")
    elif act is Action.REOPEN:
        if ticket.rating is not Rating.DISSATISFIED:
            raise IllegalTransition(ticket.id, ticket.status, act, "only a 不满意 follow-up reopens")
        changes["rating"] = None
        changes["sla_deadline"] = sla_deadline(at, ticket.urgency)  # 重办 gets a fresh time limit
        if to is Status.DISPATCHED:
            department = (data.get("department") or (ticket.assignee.department if ticket.assignee else "")
                          or ticket.topic.department)
            if not department:
                raise TransitionDataError("reopening to 派单 needs a department")
            unit = data.get("unit") or (ticket.assignee.unit if ticket.assignee else "")
            changes["assignee"] = Assignee(department, unit)
            recorded = {"department": department, "unit": unit, "to": to.value}
    elif act is Action.ESCALATE:
        level = ESCALATION_LEVELS.index(ticket.escalation_level) if (
            ticket.escalation_level in ESCALATION_LEVELS) else 0
        new_level = ESCALATION_LEVELS[min(level + 1, len(ESCALATION_LEVELS) - 1)]
        changes["escalation_level"] = new_level
        # A 督办 sets a new time limit; without one the overdue clock would fire on every tick.
        changes["sla_deadline"] = max(ticket.sla_deadline, at) + SLA[ticket.urgency]
        recorded = {"level": new_level, "overdue_since": iso(ticket.sla_deadline)}
    elif act is Action.MERGE:
        target = (data.get("merged_into") or "").strip()
        if not target or target == ticket.id:
            raise TransitionDataError("merge needs merged_into: the id of another, open ticket")
        # No rule on id order: ids are drawn before the transaction commits, so of two reports made
        # at the same moment the one with the higher id can be the one on record first. Chains stay
        # acyclic because a merged (or withdrawn) ticket is never a merge target (the store checks).
        changes["merged_into"] = target
        recorded = {"merged_into": target}
    entry = HistoryEntry(ticket.status, to, act.value, str(actor).strip(), at, reason, recorded)
    return dataclasses.replace(
        ticket,
        status=to,
        updated_at=at,
        history=(*ticket.history, entry),
        version=ticket.version + 1,
        **changes,
    )


def add_duplicate(ticket: Ticket, duplicate_id: str, at: datetime) -> Ticket:
    """The earlier ticket after a later report of the same problem was merged into it."""
    if duplicate_id in ticket.duplicates:
        return ticket
    return dataclasses.replace(
        ticket, duplicates=(*ticket.duplicates, duplicate_id), updated_at=at, version=ticket.version + 1
    )


# -------------------------------------------------------------------------------------- duplicates


def _bigrams(text: str) -> set[str]:
    # Bigrams never span a removed phrase or punctuation: split on them first.
    out: set[str] = set()
    for run in re.split(r"[^\w]+|_", text):
        if len(run) == 1:
            out.add(run)
        out.update(run[i : i + 2] for i in range(len(run) - 1))
    return out


def text_similarity(a: str, b: str, ignore: Sequence[str] = ()) -> float:
    """Jaccard similarity of character bigrams: robust to Chinese word order and needs no segmenter.

    ``ignore``: phrases removed from both texts first — the place names the tickets already share,
    which would otherwise make any two reports from one community look alike.
    """
    for phrase in sorted((p for p in ignore if p), key=len, reverse=True):
        a, b = a.replace(phrase, " "), b.replace(phrase, " ")
    x, y = _bigrams(a), _bigrams(b)
    if not x or not y:
        return 0.0
    return len(x & y) / len(x | y)


def duplicate_scope(ticket: Ticket) -> str | None:
    """Reports that may be the same problem share a scope: the same place (community, else street) and
    topic. None when the ticket has neither place nor topic: it is compared with nothing."""
    place = ticket.location.community or ticket.location.street
    if not place or not ticket.topic.l1:
        return None
    return f"{place}|{ticket.topic.l1}|{ticket.topic.l2 or ''}"


DUPLICATE_THRESHOLD = 0.5
DUPLICATE_WINDOW = timedelta(days=7)


def reports_the_same(earlier: Ticket, ticket: Ticket, threshold: float = DUPLICATE_THRESHOLD) -> bool:
    """The duplicate policy: ``ticket`` joins ``earlier`` (same scope, created within the window, which the
    store's lookup already ensured) when ``earlier`` is still open, is not on a slower clock (an urgent
    report is never buried under a general one), and says much the same thing once the place names they
    share are set aside."""
    loc = ticket.location
    place = [p for p in (loc.district, loc.street, loc.community, loc.grid, loc.address) if p]
    return (earlier.is_open and SLA[earlier.urgency] <= SLA[ticket.urgency]
            and text_similarity(earlier.text, ticket.text, place) >= threshold)


# ------------------------------------------------------------------------------------ opening a ticket

# Where residents reach us, and where else a ticket may be opened from (an operator's console, a call
# an operator takes down by hand).
RESIDENT_CHANNELS = ("web", "wechat", "voice")
TICKET_CHANNELS = (*RESIDENT_CHANNELS, "console", "phone", "grid")  # grid: a 网格员's patrol report
MAX_TEXT_CHARS = 2000


class InvalidDraft(ValueError):
    """A request to open a ticket is missing or has malformed fields."""


def _opt_str(d: Mapping[str, Any], name: str, limit: int = 200) -> str | None:
    value = d.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidDraft(f"{name} must be a string")
    if len(value) > limit:
        raise InvalidDraft(f"{name} longer than {limit} characters")
    return value.strip() or None


def parse_draft(draft: Any) -> dict[str, Any]:
    """The keyword arguments of new_ticket from an API body; InvalidDraft says what is wrong."""
    if not isinstance(draft, dict):
        raise InvalidDraft("ticket body must be a JSON object")
    text = draft.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InvalidDraft("text is required")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidDraft(f"text longer than {MAX_TEXT_CHARS} characters")
    channel = draft.get("channel") or "web"
    if not isinstance(channel, str) or channel not in TICKET_CHANNELS:
        raise InvalidDraft(f"channel must be one of {sorted(TICKET_CHANNELS)}")
    try:
        raw_urgency = draft.get("urgency") or Urgency.GENERAL
        if not isinstance(raw_urgency, str):
            raise ValueError(raw_urgency)
        urgency = Urgency(raw_urgency)
    except ValueError:
        raise InvalidDraft(f"urgency must be one of {[u.value for u in Urgency]}") from None

    loc_in = draft.get("location") or {}
    topic_in = draft.get("topic") or {}
    if not isinstance(loc_in, dict) or not isinstance(topic_in, dict):
        raise InvalidDraft("location and topic must be objects")
    location = Location(
        district=_opt_str(loc_in, "district"),
        street=_opt_str(loc_in, "street"),
        community=_opt_str(loc_in, "community"),
        grid=_opt_str(loc_in, "grid"),
        address=_opt_str(draft, "address", 500) or _opt_str(loc_in, "address", 500) or "",
    )
    confidence = topic_in.get("confidence", 0.0)
    if not isinstance(confidence, (int, float)) or isinstance(confidence, bool):
        raise InvalidDraft("topic.confidence must be a number")
    topic = Topic(
        l1=_opt_str(topic_in, "l1") or "",
        l2=_opt_str(topic_in, "l2"),
        l3=_opt_str(topic_in, "l3"),
        department=_opt_str(topic_in, "department") or "",
        confidence=float(confidence),
    )
    phone = _opt_str(draft, "contact_phone", 32) or ""
    if phone and not all(c.isdigit() or c in "+- " for c in phone):
        raise InvalidDraft("contact_phone may hold digits, spaces, + and - only")
    contact = Contact(name=_opt_str(draft, "contact_name", 50) or "", phone=phone.replace(" ", ""))
    return {
        "channel": channel,
        "text": text,
        "topic": topic,
        "location": location,
        "contact": contact,
        "urgency": urgency,
        "conversation_id": _opt_str(draft, "conversation_id", 100),
        "since": _opt_str(draft, "since", 100),
    }
