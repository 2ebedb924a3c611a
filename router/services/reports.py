"""Performance reports per department and per district, the figures a 12345 centre is judged by.

Definitions (stated here because every city defines them a little differently):
- volume: tickets received in the period, not counting those merged into an earlier one (合并), so a
  problem reported by ten residents counts once (its ``reporters`` are shown separately).
- on-time rate (及时率): of the tickets that reached 办结, the share resolved no later than their SLA
  deadline and never escalated (督办).
- resolution rate (解决率): of the volume minus withdrawals (撤销), the share that reached 办结 or beyond.
- satisfaction (满意率): of the tickets with a follow-up rating, the share 满意 or 基本满意 (the latest
  rating given, so a reopened and later satisfied ticket counts as satisfied).
- average handling time: hours from 受理 to the first 办结, over resolved tickets.
Rates are ``null`` when their denominator is 0 rather than a misleading 0 or 100 %.

The figures per handling unit (签收及时率, 退单率, 办结及时率, 满意率 per unit a ticket was dispatched to)
are further down, with their own definitions: ``compute_unit_report`` / ``build_unit_report``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from router.domain.acceptance import acceptance_deadline
from router.domain.tickets import CST, SLA, Action, Rating, Status, Ticket, iso, sla_deadline
from router.services.ports import TicketRepository

__all__ = ["ReportRow", "ReportBuilder", "compute_report", "report_to_json", "report_to_csv", "build_report", "GROUPINGS",
           "csv_safe", "Round", "rounds_of", "UnitRow", "UnitReport", "UnitReportBuilder", "compute_unit_report",
           "build_unit_report", "unit_report_to_csv", "UNIT_GROUPINGS", "UNIT_CSV_COLUMNS", "store_now"]

GROUPINGS = ("department", "district")
_RESOLVED_OR_LATER = {Status.RESOLVED, Status.FOLLOWED_UP, Status.CLOSED}


@dataclass
class ReportRow:
    group_by: str
    group: str
    volume: int = 0
    reporters: int = 0
    resolved: int = 0
    on_time: int = 0
    withdrawn: int = 0
    rated: int = 0
    satisfied: int = 0
    handling_hours_total: float = 0.0

    @property
    def on_time_rate(self) -> float | None:
        return round(self.on_time / self.resolved, 4) if self.resolved else None

    @property
    def resolution_rate(self) -> float | None:
        base = self.volume - self.withdrawn
        return round(self.resolved / base, 4) if base else None

    @property
    def satisfaction_rate(self) -> float | None:
        return round(self.satisfied / self.rated, 4) if self.rated else None

    @property
    def avg_handling_hours(self) -> float | None:
        return round(self.handling_hours_total / self.resolved, 2) if self.resolved else None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        del d["handling_hours_total"]
        d.update(
            on_time_rate=self.on_time_rate,
            resolution_rate=self.resolution_rate,
            satisfaction_rate=self.satisfaction_rate,
            avg_handling_hours=self.avg_handling_hours,
        )
        return d


def _group_value(ticket: Ticket, by: str) -> str:
    if by == "department":
        return (ticket.assignee.department if ticket.assignee else ticket.topic.department) or "未分派"
    return ticket.location.district or "未知"


def _first_resolution(ticket: Ticket) -> datetime | None:
    for h in ticket.history:
        if h.to is Status.RESOLVED:
            return h.at
    return None


class ReportBuilder:
    """Folds tickets into the per-department and per-district rows one at a time, so a report over
    a year of tickets never holds more than one batch of them."""

    def __init__(self, *, since: datetime | None = None, until: datetime | None = None) -> None:
        self.since, self.until = since, until
        self._rows: dict[str, dict[str, ReportRow]] = {by: {} for by in GROUPINGS}

    def add(self, t: Ticket) -> None:
        if t.status is Status.MERGED:
            return
        if (self.since and t.created_at < self.since) or (self.until and t.created_at >= self.until):
            return
        resolved_at = _first_resolution(t)
        reached = t.status in _RESOLVED_OR_LATER or resolved_at is not None
        escalated = any(h.action == Action.ESCALATE.value for h in t.history)
        for by in GROUPINGS:
            key = _group_value(t, by)
            row = self._rows[by].setdefault(key, ReportRow(by, key))
            row.volume += 1
            row.reporters += t.reporters
            row.withdrawn += t.status is Status.WITHDRAWN
            if reached and resolved_at is not None:
                row.resolved += 1
                row.handling_hours_total += (resolved_at - t.created_at).total_seconds() / 3600
                if not escalated and resolved_at <= t.sla_deadline:
                    row.on_time += 1
            if t.rating is not None:
                row.rated += 1
                row.satisfied += t.rating in (Rating.SATISFIED, Rating.BASICALLY_SATISFIED)

    def rows(self) -> dict[str, list[ReportRow]]:
        return {by: sorted(self._rows[by].values(), key=lambda r: (-r.volume, r.group)) for by in GROUPINGS}


def compute_report(
    tickets: Iterable[Ticket],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, list[ReportRow]]:
    """Rows per department and per district for tickets created in [since, until)."""
    builder = ReportBuilder(since=since, until=until)
    for t in tickets:
        builder.add(t)
    return builder.rows()


def report_to_json(report: dict[str, list[ReportRow]], generated_at: datetime) -> dict[str, Any]:
    return {
        "generated_at": iso(generated_at),
        **{f"by_{by}": [r.to_dict() for r in rows] for by, rows in report.items()},
    }


CSV_COLUMNS = ["group_by", "group", "volume", "reporters", "resolved", "on_time", "withdrawn", "rated",
               "satisfied", "on_time_rate", "resolution_rate", "satisfaction_rate", "avg_handling_hours"]


# A cell a spreadsheet would read as a formula (=HYPERLINK(...) in a district typed by a resident) is
# written with a leading apostrophe, which shows it as text. Full-width forms too: some CJK spreadsheet
# settings convert them.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_safe(value: Any) -> Any:
    """``value`` for a CSV cell: text that could start a formula gets a leading ``'``; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def report_to_csv(report: dict[str, list[ReportRow]]) -> str:
    buf = io.StringIO()
    # CRLF (RFC 4180): the writer then quotes a CR or LF inside a cell instead of letting it split the row.
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for rows in report.values():
        for row in rows:
            d = row.to_dict()
            writer.writerow({k: "" if d[k] is None else csv_safe(d[k]) for k in CSV_COLUMNS})
    return buf.getvalue()


async def build_report(
    store: TicketRepository, *, since: datetime | None = None, until: datetime | None = None,
    batch: int = 500,
) -> dict[str, list[ReportRow]]:
    """Read only the tickets created in [since, until) (the creation-time index), ``batch`` at a
    time, folding each batch into the rows before the next is read."""
    builder = ReportBuilder(since=since, until=until)
    async for tickets in store.created_between(since, until, batch=batch):
        for t in tickets:
            builder.add(t)
    return builder.rows()


# ------------------------------------------------------------------------------------ figures per unit
#
# How a city judges each handling unit (承办单位: the agency, street office, 综治中心 or 网格员 a ticket is
# dispatched to — the ``department`` of the dispatch). Read from the tickets' histories, one *round* at
# a time: a round starts when a ticket is dispatched to a unit (派单, or a 重办 back to 派单) and ends when
# the unit gives it up (退单, another dispatch, 撤销, 合并) or resolves it (办结). A 重办 back to 处置 starts
# a new round for the same unit that is not a dispatch (it needs no new 签收). So a ticket returned by one
# unit and dispatched to another counts once for each.
#
# - 签收及时率: of the dispatches that had to be signed for — signed (accept, or 办结 without one), or
#   still unsigned when their 签收 time limit (router.domain.acceptance) ran out — the share signed in time.
#   A dispatch still inside its limit, or given up unsigned inside it, is not counted either way.
# - 退单率: of the dispatches, the share the unit returned (退单).
# - 办结及时率: of the rounds the unit resolved, the share resolved by the ticket's time limit for that
#   round (from 受理, or from the 重办) with no 督办 during the round. A 督办 before the dispatch is the
#   centre's, not the unit's, and a 督办's extra time does not make a late resolution on time.
# - 满意率: of the tickets the unit resolved and that were rated after it, the share 满意 or 基本满意
#   (one ticket counts once per unit, with the latest rating it got for that unit's work).
# - average handling time: hours from the start of a round to its 办结.
# - overdue now: tickets the unit holds that are open and past their time limit at ``now``.
# Tickets merged into another (合并) are left out: their problem is counted on the ticket they joined.
# A round belongs to the period in which it started; its outcome counts with it even if it came later.
# The per-district rows add up the same rounds by the ticket's district.

UNIT_GROUPINGS = ("unit", "district")
_ENDS_ROUND = {Action.RETURN.value, Action.WITHDRAW.value, Action.MERGE.value}


@dataclass
class Round:
    """One unit's turn with one ticket."""

    ticket_id: str
    unit: str
    district: str
    start: datetime
    dispatched: bool  # False for a 重办 back to 处置 (no new 签收)
    accept_by: datetime | None
    deadline: datetime  # the 办结 time limit of this round
    accepted_at: datetime | None = None
    ended_at: datetime | None = None  # when the unit gave the ticket up unresolved
    returned: bool = False
    escalated: bool = False
    resolved_at: datetime | None = None
    rating: Rating | None = None
    overdue_now: bool = False

    @property
    def holding(self) -> bool:
        return self.ended_at is None and self.resolved_at is None

    def accept_outcome(self, now: datetime) -> bool | None:
        """True: signed in time; False: signed late or not signed within the limit; None: not due."""
        if not self.dispatched or self.accept_by is None:
            return None
        if self.accepted_at is not None:
            return self.accepted_at <= self.accept_by
        end = self.ended_at or now
        return False if end > self.accept_by else None

    @property
    def resolved_on_time(self) -> bool:
        return self.resolved_at is not None and self.resolved_at <= self.deadline and not self.escalated


def rounds_of(ticket: Ticket, now: datetime) -> list[Round]:
    """The ticket's rounds with the units it was dispatched to, read from its history."""
    district = ticket.location.district or "未知"
    deadline = sla_deadline(ticket.created_at, ticket.urgency)
    rounds: list[Round] = []
    current: Round | None = None
    for h in ticket.history:
        act = h.action
        if act == Action.DISPATCH.value or (act == Action.REOPEN.value and h.to is Status.DISPATCHED):
            if current is not None and current.holding:
                current.ended_at = h.at
            if act == Action.REOPEN.value:
                deadline = h.at + SLA[ticket.urgency]
            unit = str(h.data.get("department") or "") or (
                ticket.assignee.department if ticket.assignee else ticket.topic.department) or "未指定"
            current = Round(ticket.id, unit, district, h.at, True, acceptance_deadline(h.at, ticket.urgency),
                            deadline)
            rounds.append(current)
        elif act == Action.REOPEN.value:  # 重办 back to 处置: the same unit, a fresh time limit
            deadline = h.at + SLA[ticket.urgency]
            unit = current.unit if current is not None else (
                ticket.assignee.department if ticket.assignee else "") or "未指定"
            current = Round(ticket.id, unit, district, h.at, False, None, deadline, accepted_at=h.at)
            rounds.append(current)
        elif current is None:
            continue  # nothing dispatched yet: 受理, or a 督办 of the centre's own
        elif act == Action.ACCEPT.value and current.holding and current.accepted_at is None:
            current.accepted_at = h.at
        elif act == Action.ESCALATE.value and current.holding:
            current.escalated = True
        elif act == Action.RESOLVE.value and current.holding:
            current.resolved_at = h.at
            if current.accepted_at is None:
                current.accepted_at = h.at  # resolved straight away: signed for by doing it
        elif act in _ENDS_ROUND and current.holding:
            current.ended_at = h.at
            current.returned = act == Action.RETURN.value
        elif act == Action.FOLLOW_UP.value and current.resolved_at is not None:
            raw = h.data.get("rating")
            current.rating = Rating(raw) if raw in {r.value for r in Rating} else current.rating
    if current is not None and current.holding and ticket.is_open and ticket.sla_deadline <= now:
        current.overdue_now = True
    return rounds


@dataclass
class UnitRow:
    group_by: str
    group: str
    dispatched: int = 0
    accepted: int = 0
    accept_due: int = 0
    accepted_on_time: int = 0
    returned: int = 0
    resolved: int = 0
    resolved_on_time: int = 0
    rated: int = 0
    satisfied: int = 0
    overdue_now: int = 0
    handling_hours_total: float = 0.0

    @property
    def accept_on_time_rate(self) -> float | None:
        return round(self.accepted_on_time / self.accept_due, 4) if self.accept_due else None

    @property
    def return_rate(self) -> float | None:
        return round(self.returned / self.dispatched, 4) if self.dispatched else None

    @property
    def resolve_on_time_rate(self) -> float | None:
        return round(self.resolved_on_time / self.resolved, 4) if self.resolved else None

    @property
    def satisfaction_rate(self) -> float | None:
        return round(self.satisfied / self.rated, 4) if self.rated else None

    @property
    def avg_handling_hours(self) -> float | None:
        return round(self.handling_hours_total / self.resolved, 2) if self.resolved else None

    def add(self, other: UnitRow) -> None:
        for name in ("dispatched", "accepted", "accept_due", "accepted_on_time", "returned", "resolved",
                     "resolved_on_time", "rated", "satisfied", "overdue_now", "handling_hours_total"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        del d["handling_hours_total"]
        d.update(
            accept_on_time_rate=self.accept_on_time_rate,
            return_rate=self.return_rate,
            resolve_on_time_rate=self.resolve_on_time_rate,
            satisfaction_rate=self.satisfaction_rate,
            avg_handling_hours=self.avg_handling_hours,
        )
        return d


@dataclass
class UnitReport:
    since: datetime | None
    until: datetime | None
    district: str | None
    now: datetime
    rows: dict[str, list[UnitRow]]
    total: UnitRow

    def to_json(self) -> dict[str, Any]:
        return {
            "generated_at": iso(self.now),
            "group": "unit",
            "since": iso(self.since) if self.since else None,
            "until": iso(self.until) if self.until else None,
            "district": self.district,
            "total": self.total.to_dict(),
            **{f"by_{by}": [r.to_dict() for r in rows] for by, rows in self.rows.items()},
        }


class UnitReportBuilder:
    """Folds tickets into the per-unit and per-district rows one ticket at a time."""

    def __init__(self, *, now: datetime, since: datetime | None = None, until: datetime | None = None,
                 district: str | None = None) -> None:
        self.now, self.since, self.until, self.district = now, since, until, district
        self._rows: dict[str, dict[str, UnitRow]] = {by: {} for by in UNIT_GROUPINGS}

    def _in_period(self, r: Round) -> bool:
        return (self.since is None or r.start >= self.since) and (self.until is None or r.start < self.until)

    def add(self, t: Ticket) -> None:
        if t.status is Status.MERGED:
            return
        if self.district is not None and (t.location.district or "未知") != self.district:
            return
        rounds = [r for r in rounds_of(t, self.now) if self._in_period(r)]
        # A ticket counts once per unit for 满意率: the latest rating given for that unit's work.
        last_rating: dict[str, Rating] = {}
        for r in rounds:
            if r.rating is not None:
                last_rating[r.unit] = r.rating
        ticket_rating = next((r.rating for r in reversed(rounds) if r.rating is not None), None)
        for by in UNIT_GROUPINGS:
            for r in rounds:
                key = r.unit if by == "unit" else r.district
                row = self._rows[by].setdefault(key, UnitRow(by, key))
                row.dispatched += r.dispatched
                row.accepted += r.dispatched and r.accepted_at is not None
                outcome = r.accept_outcome(self.now)
                if outcome is not None:
                    row.accept_due += 1
                    row.accepted_on_time += outcome
                row.returned += r.returned
                if r.resolved_at is not None:
                    row.resolved += 1
                    row.resolved_on_time += r.resolved_on_time
                    row.handling_hours_total += (r.resolved_at - r.start).total_seconds() / 3600
                row.overdue_now += r.overdue_now
            ratings = last_rating if by == "unit" else (
                {rounds[0].district: ticket_rating} if rounds and ticket_rating is not None else {})
            for key, rating in ratings.items():
                row = self._rows[by][key]
                row.rated += 1
                row.satisfied += rating in (Rating.SATISFIED, Rating.BASICALLY_SATISFIED)

    def report(self) -> UnitReport:
        rows = {by: sorted(self._rows[by].values(), key=lambda r: (-r.dispatched, -r.resolved, r.group))
                for by in UNIT_GROUPINGS}
        total = UnitRow("all", "全部")
        for row in rows["district"]:  # every round is in exactly one district row
            total.add(row)
        return UnitReport(self.since, self.until, self.district, self.now, rows, total)


def compute_unit_report(
    tickets: Iterable[Ticket], *, now: datetime, since: datetime | None = None, until: datetime | None = None,
    district: str | None = None,
) -> UnitReport:
    """Figures per unit and per district for the rounds that started in [since, until)."""
    builder = UnitReportBuilder(now=now, since=since, until=until, district=district)
    for t in tickets:
        builder.add(t)
    return builder.report()


async def build_unit_report(
    store: TicketRepository, *, now: datetime, since: datetime | None = None, until: datetime | None = None,
    district: str | None = None, batch: int = 500,
) -> UnitReport:
    """Read every ticket created before ``until`` (a round in the period may belong to a ticket created
    long before it), ``batch`` at a time, folding each batch before the next is read."""
    builder = UnitReportBuilder(now=now, since=since, until=until, district=district)
    async for tickets in store.created_between(None, until, batch=batch):
        for t in tickets:
            builder.add(t)
    return builder.report()


UNIT_CSV_COLUMNS = ["group_by", "group", "dispatched", "accepted", "accept_due", "accepted_on_time", "returned",
                    "resolved", "resolved_on_time", "rated", "satisfied", "overdue_now", "accept_on_time_rate",
                    "return_rate", "resolve_on_time_rate", "satisfaction_rate", "avg_handling_hours"]


def unit_report_to_csv(report: UnitReport) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=UNIT_CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for rows in (*report.rows.values(), [report.total]):
        for row in rows:
            d = row.to_dict()
            writer.writerow({k: "" if d[k] is None else csv_safe(d[k]) for k in UNIT_CSV_COLUMNS})
    return buf.getvalue()


def store_now(store: Any) -> datetime:
    """The store's clock when it has one (tests move it), else the wall clock in Beijing time."""
    clock = getattr(store, "clock", None)
    return clock() if callable(clock) else datetime.now(CST)
