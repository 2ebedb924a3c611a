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
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from router.domain.tickets import Action, Rating, Status, Ticket, iso
from router.services.ports import TicketRepository

__all__ = ["ReportRow", "ReportBuilder", "compute_report", "report_to_json", "report_to_csv", "build_report", "GROUPINGS",
           "csv_safe"]

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
