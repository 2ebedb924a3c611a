"""Figures per handling unit (签收及时率, 退单率, 办结及时率, 满意率, handling time, counts) from hand-built
ticket histories: router.services.reports.compute_unit_report and router.domain.acceptance."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest

from router.domain.acceptance import acceptance_deadline, next_working_day
from router.domain.tickets import CST, Location, Ticket, Topic, Urgency, apply, new_ticket
from router.services.reports import (
    build_unit_report,
    compute_unit_report,
    rounds_of,
    unit_report_to_csv,
)
from tests.fakes.stores import InMemoryTicketStore

MON = datetime(2026, 11, 23, 9, 0, tzinfo=CST)  # a Monday, 09:00 Beijing time
NOW = MON + timedelta(days=30)
H = timedelta(hours=1)
_seq = iter(range(1, 999_999))


def ticket(at: datetime = MON, *, district: str = "南山区", urgency: str = "general") -> Ticket:
    return new_ticket(f"SZ20261123-{next(_seq):06d}", at=at, actor="api", channel="web", text="路灯不亮",
                      topic=Topic(l1="市政", department="区城管局"), location=Location(district=district, street="粤海街道"),
                      urgency=urgency)


def moves(t: Ticket, *steps: tuple) -> Ticket:
    """steps: (hours after the ticket's creation, action, extra data)."""
    for hours, action, *rest in steps:
        data = dict(rest[0]) if rest else {}
        reason = data.pop("reason", "原因" if action in ("return", "close") else None)
        t = apply(t, action, "tester", t.created_at + timedelta(hours=hours), reason, **data)
    return t


def rows(report, by: str = "unit") -> dict:
    return {r.group: r for r in report.rows[by]}


# ------------------------------------------------------------------------------------------- limits


def test_acceptance_limits_urgent_in_hours_ordinary_by_the_next_working_day() -> None:
    assert acceptance_deadline(MON, Urgency.LIFE_PROPERTY) == MON + timedelta(minutes=30)
    assert acceptance_deadline(MON, "outage") == MON + 2 * H
    assert acceptance_deadline(MON, "general") == MON + timedelta(days=1)
    friday = MON + timedelta(days=4, hours=6)  # Friday 15:00
    assert acceptance_deadline(friday, "complex") == friday + timedelta(days=3)  # Monday 15:00
    saturday = MON + timedelta(days=5)
    assert next_working_day(saturday) == MON + timedelta(days=7)


# -------------------------------------------------------------------------------------------- rates


def test_accept_on_time_late_and_never_signed() -> None:
    on_time = moves(ticket(), (1, "dispatch", {"department": "甲局"}), (2, "accept"))
    late = moves(ticket(), (1, "dispatch", {"department": "甲局"}), (1 + 25, "accept"))
    unsigned = moves(ticket(), (1, "dispatch", {"department": "甲局"}))  # still waiting, 30 days on
    waiting = moves(ticket(NOW - 2 * H), (1, "dispatch", {"department": "甲局"}))  # inside its limit
    r = rows(compute_unit_report([on_time, late, unsigned, waiting], now=NOW))["甲局"]
    assert (r.dispatched, r.accepted, r.accept_due, r.accepted_on_time) == (4, 2, 3, 1)
    assert r.accept_on_time_rate == pytest.approx(1 / 3, abs=1e-4)


def test_urgent_dispatch_has_thirty_minutes_to_be_signed() -> None:
    t = moves(ticket(urgency="life_property"), (0, "dispatch", {"department": "应急局"}), (0.75, "accept"))
    r = rows(compute_unit_report([t], now=NOW))["应急局"]
    assert (r.accept_due, r.accepted_on_time, r.accept_on_time_rate) == (1, 0, 0.0)


def test_returned_then_redispatched_counts_for_both_units() -> None:
    t = moves(ticket(), (1, "dispatch", {"department": "甲局"}), (3, "return", {"reason": "不属我局职责"}),
              (4, "dispatch", {"department": "乙街道"}), (5, "accept"), (20, "resolve"))
    report = compute_unit_report([t], now=NOW)
    first, second = rows(report)["甲局"], rows(report)["乙街道"]
    assert (first.dispatched, first.returned, first.return_rate, first.resolved) == (1, 1, 1.0, 0)
    assert first.accept_due == 0  # returned unsigned inside its limit: neither on time nor late
    assert (second.dispatched, second.returned, second.return_rate, second.resolved) == (1, 0, 0.0, 1)
    assert second.avg_handling_hours == 16.0  # from its own dispatch (hour 4) to 办结 (hour 20)
    # the district sees both dispatches of the one ticket
    district = rows(report, "district")["南山区"]
    assert (district.dispatched, district.returned, district.resolved) == (2, 1, 1)
    assert report.total.dispatched == 2


def test_resolve_on_time_against_the_deadline_and_escalations() -> None:
    on_time = moves(ticket(), (1, "dispatch", {"department": "甲局"}), (2, "accept"), (24 * 6, "resolve"))
    late = moves(ticket(), (1, "dispatch", {"department": "甲局"}), (2, "accept"), (24 * 8, "resolve"))
    # 督办 while the unit held it: its 办结 is not on time, even inside the original limit ...
    escalated = moves(ticket(), (1, "dispatch", {"department": "甲局"}), (2, "accept"), (24 * 3, "escalate"),
                      (24 * 6, "resolve"))
    # ... nor when the 督办's extra time covers it
    extended = moves(ticket(), (1, "dispatch", {"department": "甲局"}), (2, "accept"), (24 * 7 + 1, "escalate"),
                     (24 * 8, "resolve"))
    assert extended.sla_deadline > extended.history[-1].at
    # a 督办 of the centre's own before the dispatch is not the unit's
    centre = moves(ticket(), (1, "escalate"), (2, "dispatch", {"department": "甲局"}), (3, "accept"),
                   (24 * 5, "resolve"))
    r = rows(compute_unit_report([on_time, late, escalated, extended, centre], now=NOW))["甲局"]
    assert (r.resolved, r.resolved_on_time, r.resolve_on_time_rate) == (5, 2, 0.4)


def test_satisfaction_counts_each_ticket_once_per_unit_with_its_latest_rating() -> None:
    happy = moves(ticket(), (1, "dispatch", {"department": "甲局"}), (2, "accept"), (10, "resolve"),
                  (11, "follow_up", {"rating": "基本满意"}))
    # 不满意, 重办 to the same unit, then 满意: one ticket, satisfied
    reworked = moves(ticket(), (1, "dispatch", {"department": "甲局"}), (2, "accept"), (10, "resolve"),
                     (11, "follow_up", {"rating": "不满意"}), (12, "reopen", {"to": "处置"}), (30, "resolve"),
                     (31, "follow_up", {"rating": "满意"}))
    unhappy = moves(ticket(), (1, "dispatch", {"department": "甲局"}), (2, "accept"), (10, "resolve"),
                    (11, "follow_up", {"rating": "不满意"}))
    unrated = moves(ticket(), (1, "dispatch", {"department": "甲局"}), (2, "accept"), (10, "resolve"))
    report = compute_unit_report([happy, reworked, unhappy, unrated], now=NOW)
    r = rows(report)["甲局"]
    assert (r.rated, r.satisfied) == (3, 2)
    assert r.satisfaction_rate == pytest.approx(2 / 3, abs=1e-4)
    assert r.dispatched == 4 and r.resolved == 5  # the 重办 is a second round, not a second dispatch
    assert rows(report, "district")["南山区"].rated == 3


def test_a_rework_sent_to_another_unit_rates_each_unit_for_its_own_work() -> None:
    t = moves(ticket(), (1, "dispatch", {"department": "甲局"}), (2, "accept"), (10, "resolve"),
              (11, "follow_up", {"rating": "不满意"}), (12, "reopen", {"to": "派单", "department": "乙局"}),
              (13, "accept"), (20, "resolve"), (21, "follow_up", {"rating": "满意"}))
    r = rows(compute_unit_report([t], now=NOW))
    assert (r["甲局"].rated, r["甲局"].satisfied) == (1, 0)
    assert (r["乙局"].rated, r["乙局"].satisfied, r["乙局"].dispatched) == (1, 1, 1)


def test_merged_tickets_do_not_count_twice() -> None:
    first = moves(ticket(), (1, "dispatch", {"department": "甲局"}), (2, "accept"))
    dup = moves(ticket(), (1, "dispatch", {"department": "甲局"}), (2, "merge", {"merged_into": first.id}))
    r = rows(compute_unit_report([first, dup], now=NOW))["甲局"]
    assert r.dispatched == 1 and r.accepted == 1


def test_overdue_now_only_for_what_the_unit_still_holds() -> None:
    overdue = moves(ticket(), (1, "dispatch", {"department": "甲局"}), (2, "accept"))  # 7 days long gone
    returned = moves(ticket(), (1, "dispatch", {"department": "甲局"}), (2, "return"))
    fresh = moves(ticket(NOW - H), (0, "dispatch", {"department": "甲局"}))
    r = rows(compute_unit_report([overdue, returned, fresh], now=NOW))["甲局"]
    assert r.overdue_now == 1
    assert compute_unit_report([overdue], now=MON + 2 * H).rows["unit"][0].overdue_now == 0


def test_period_is_when_the_round_started_and_district_filter() -> None:
    old = moves(ticket(MON - timedelta(days=10)), (24 * 10 + 1, "dispatch", {"department": "甲局"}))
    before = moves(ticket(MON - timedelta(days=10)), (1, "dispatch", {"department": "甲局"}))
    elsewhere = moves(ticket(district="福田区"), (1, "dispatch", {"department": "甲局"}))
    report = compute_unit_report([old, before, elsewhere], now=NOW, since=MON, until=MON + timedelta(days=1))
    assert rows(report)["甲局"].dispatched == 2  # a ticket created earlier, dispatched in the period
    assert set(rows(report, "district")) == {"南山区", "福田区"}
    only = compute_unit_report([old, before, elsewhere], now=NOW, since=MON, district="福田区")
    assert rows(only)["甲局"].dispatched == 1 and set(rows(only, "district")) == {"福田区"}


def test_an_empty_period_has_no_rows_and_no_rates() -> None:
    t = moves(ticket(), (1, "dispatch", {"department": "甲局"}), (2, "accept"), (5, "resolve"))
    report = compute_unit_report([t], now=NOW, since=MON + timedelta(days=60))
    assert report.rows == {"unit": [], "district": []}
    assert report.total.dispatched == 0
    d = report.to_json()
    assert d["total"]["accept_on_time_rate"] is None and d["total"]["return_rate"] is None
    assert d["total"]["resolve_on_time_rate"] is None and d["total"]["satisfaction_rate"] is None
    assert compute_unit_report([], now=NOW).total.avg_handling_hours is None


def test_undispatched_and_withdrawn_tickets() -> None:
    waiting = ticket()  # 受理, nobody dispatched it: no unit to judge
    withdrawn = moves(ticket(), (1, "dispatch", {"department": "甲局"}), (30, "withdraw"))
    assert rounds_of(waiting, NOW) == []
    r = rows(compute_unit_report([waiting, withdrawn], now=NOW))["甲局"]
    # withdrawn after the 1-working-day limit with nobody signing: counted as a late 签收, not as a return
    assert (r.dispatched, r.returned, r.accept_due, r.accepted_on_time, r.overdue_now) == (1, 0, 1, 0, 0)


def test_csv_has_unit_district_and_total_rows_and_is_formula_safe() -> None:
    t = moves(ticket(district="=HYPERLINK(1)"), (1, "dispatch", {"department": "甲局"}), (2, "accept"))
    lines = list(csv.DictReader(io.StringIO(unit_report_to_csv(compute_unit_report([t], now=NOW)))))
    assert [(r["group_by"], r["group"]) for r in lines] == [("unit", "甲局"), ("district", "'=HYPERLINK(1)"),
                                                             ("all", "全部")]
    assert lines[0]["accept_on_time_rate"] == "1.0" and lines[0]["satisfaction_rate"] == ""


async def test_store_report_changes_as_the_ticket_moves() -> None:
    clock = [MON]
    store = InMemoryTicketStore(clock=lambda: clock[0])
    t = await store.create({"text": "井盖丢了", "location": {"district": "南山区"},
                            "topic": {"l1": "市政", "department": "区城管局"}})
    before = await build_unit_report(store, now=NOW)
    assert before.rows["unit"] == []
    clock[0] = MON + H
    await store.transition(t.id, "dispatch", "dispatcher")
    clock[0] = MON + 2 * H
    await store.transition(t.id, "accept", "区城管局")
    r = (await build_unit_report(store, now=NOW, batch=1)).rows["unit"][0]
    assert (r.group, r.dispatched, r.accepted, r.accept_on_time_rate) == ("区城管局", 1, 1, 1.0)


def test_escalated_while_waiting_then_signed_and_moved_on() -> None:
    # 督办 of an unsigned dispatch, then a late 签收 from 督办; the unit is then replaced from 督办
    t = moves(ticket(), (1, "dispatch", {"department": "甲局"}), (30, "escalate"), (31, "accept"),
              (40, "escalate"), (41, "dispatch", {"department": "乙局"}), (42, "accept"), (50, "resolve"))
    report = compute_unit_report([t], now=NOW)
    first, second = rows(report)["甲局"], rows(report)["乙局"]
    assert (first.accepted, first.accept_due, first.accepted_on_time, first.returned, first.resolved) == (1, 1, 0, 0, 0)
    # 乙局 took over after the 督办s: they were not in its round, and it resolved inside the time limit
    assert (second.accepted_on_time, second.resolved, second.resolved_on_time) == (1, 1, 1)
