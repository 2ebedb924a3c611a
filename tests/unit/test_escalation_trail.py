"""The 上报 / 交办 / 督办 trail is read from a ticket's history alone (router/services/escalation.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from router.adapters.units import Unit, UnitKind
from router.domain.tickets import CST, Location, apply, new_ticket
from router.services.escalation import (
    ASSIGN_DOWN,
    OVERDUE,
    REPORT_UP,
    arrival,
    can_assign_down,
    can_report_up,
    trail,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=CST)
STREET = Unit("yh1", UnitKind.STREET, "粤海街道办事处")
DISTRICT = Unit("nsq1", UnitKind.DISTRICT, "南山区12345分中心")


def test_steps_name_who_sent_it_where_why_and_the_level() -> None:
    t = new_ticket("SZ20260302-000001", at=T0, actor="test", channel="web", text="人行道塌了",
                   location=Location("南山区", "粤海街道", "科技园社区"))
    t = apply(t, "dispatch", "console:op1", T0, department="粤海街道办事处", unit="科技园社区")
    assert arrival(t) is None and trail(t) == []
    assert not can_report_up(STREET, t)  # not signed for yet
    t = apply(t, "accept", "unit:yh1", T0)
    assert can_report_up(STREET, t) and not can_report_up(DISTRICT, t)
    t = apply(t, "escalate", "system:sla", T0 + timedelta(days=8), "超过办理时限，自动督办")
    t = apply(t, "accept", "unit:yh1", T0 + timedelta(days=8))
    t = apply(t, "escalate", "unit:yh1", T0 + timedelta(days=9), "上报区级：产权不清")
    assert can_report_up(STREET, t)  # half-way: sending it again finishes it
    t = apply(t, "dispatch", "unit:yh1", T0 + timedelta(days=9), "上报，转南山区12345分中心",
              department="南山区12345分中心", unit="粤海街道")
    came = arrival(t)
    assert came is not None and came.kind == REPORT_UP and came.from_unit == "粤海街道办事处"
    assert came.to_unit == "南山区12345分中心" and came.reason == "上报区级：产权不清" and came.level == "区"
    assert can_assign_down(DISTRICT, t) and not can_assign_down(STREET, t)
    t = apply(t, "dispatch", "unit:nsq1", T0 + timedelta(days=10), "督办意见：街道牵头",
              department="粤海街道办事处", unit="科技园社区")
    came = arrival(t)
    assert came is not None and came.kind == ASSIGN_DOWN and came.from_unit == "南山区12345分中心"
    assert [s.kind for s in trail(t)] == [OVERDUE, REPORT_UP, ASSIGN_DOWN]
    assert trail(t)[0].from_unit == "粤海街道办事处" and trail(t)[0].to_unit == "" and trail(t)[0].level == "街道"
    assert not can_assign_down(STREET, t)  # a 交办 is not a 上报: it cannot be sent back again
    t = apply(t, "accept", "unit:yh1", T0 + timedelta(days=10))
    assert arrival(t) is not None  # still how it came, while it is with the street office
    t = apply(t, "return", "unit:yh1", T0 + timedelta(days=10), "不归我们")
    assert arrival(t) is None
