"""The lifecycle pieces the work portal added to router/domain/tickets.py (pure: no Redis): the 进展 (note)
action that keeps the status, the photo a note or a 办结 records, and the "grid" channel."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from router.domain.tickets import (
    CST,
    TRANSITIONS,
    Action,
    IllegalTransition,
    InvalidDraft,
    Status,
    TransitionDataError,
    apply,
    new_ticket,
    parse_draft,
)

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=CST)


def in_progress():
    t = new_ticket("SZ20261204-000001", at=T0, actor="resident", channel="web", text="井盖松动")
    t = apply(t, Action.DISPATCH, "op", T0, department="区城管局")
    return apply(t, Action.ACCEPT, "unit:cg1", T0 + timedelta(minutes=5))


def test_a_note_keeps_the_status_and_records_text_and_photo() -> None:
    t = in_progress()
    noted = apply(t, Action.NOTE, "unit:cg1", T0 + timedelta(hours=1), "已到现场", photo="a" * 32 + ".jpg")
    assert noted.status is Status.IN_PROGRESS and noted.version == t.version + 1
    last = noted.history[-1]
    assert (last.action, last.from_, last.to, last.reason) == ("note", Status.IN_PROGRESS, Status.IN_PROGRESS,
                                                                 "已到现场")
    assert last.data == {"photo": "a" * 32 + ".jpg"}
    assert noted.sla_deadline == t.sla_deadline and noted.assignee == t.assignee


def test_a_note_needs_text_and_an_accepted_ticket() -> None:
    with pytest.raises(TransitionDataError):
        apply(in_progress(), Action.NOTE, "unit:cg1", T0, "   ")
    dispatched = apply(new_ticket("SZ20261204-000002", at=T0, actor="r", channel="web", text="x"),
                       Action.DISPATCH, "op", T0, department="区城管局")
    with pytest.raises(IllegalTransition):
        apply(dispatched, Action.NOTE, "unit:cg1", T0, "还没签收就写进展")
    assert [s for s in Status if Action.NOTE in TRANSITIONS[s]] == [Status.IN_PROGRESS]


def test_a_resolve_may_carry_the_photo_of_the_work_done() -> None:
    done = apply(in_progress(), Action.RESOLVE, "unit:cg1", T0, "已更换井盖", photo="b" * 32 + ".png")
    assert done.status is Status.RESOLVED and done.history[-1].data == {"photo": "b" * 32 + ".png"}
    plain = apply(in_progress(), Action.RESOLVE, "op", T0, "已处理")
    assert plain.history[-1].data == {}


def test_the_grid_channel_is_accepted_and_unknown_ones_are_not() -> None:
    assert parse_draft({"text": "消防通道堵塞", "channel": "grid"})["channel"] == "grid"
    with pytest.raises(InvalidDraft):
        parse_draft({"text": "x", "channel": "fax"})
