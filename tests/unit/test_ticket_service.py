"""The ticket service's rules, whoever calls it (API, console, bot, scheduler), over in-memory stores:
办结 asks the resident for a rating on their own channel; only the reporter moves their ticket; a 催办 of
an overdue ticket is a 督办; a stranger who quotes an id learns only that it exists."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from router.domain.tickets import CST, Action, IllegalTransition, Status, TicketNotFound
from router.services.tickets import NotReporter, Requester, TicketService
from tests.fakes.stores import InMemoryConversations, InMemoryTicketStore, RecordingOutbound

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=CST)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def report(conversation_id: str = "conv-wechat", **extra) -> dict:
    return {"text": "小区门口的路灯坏了一个星期", "channel": "wechat", "conversation_id": conversation_id,
            "contact_phone": "13812345678", "location": {"district": "南山区", "street": "粤海街道"},
            "topic": {"l1": "城乡建设", "department": "区城管局"}, **extra}


@pytest.fixture
def world():
    clock = Clock()
    store = InMemoryTicketStore(clock=clock)
    conversations = InMemoryConversations()
    conversations.add("conv-wechat", "wechat", "openid-1")
    conversations.add("conv-wechat-later", "wechat", "openid-1")
    conversations.add("conv-wechat-other", "wechat", "openid-2")
    conversations.add("conv-web", "web", "browser-1")
    conversations.add("conv-web-later", "web", "browser-1")
    conversations.add("conv-voice", "voice", "caller-1")
    outbound = RecordingOutbound()
    service = TicketService(store, conversations=conversations, outbound=outbound)
    return service, store, conversations, outbound, clock


async def resolve(service: TicketService, ticket_id: str, actor: str = "console:op1") -> None:
    for action in (Action.DISPATCH, Action.ACCEPT, Action.RESOLVE):
        await service.move(ticket_id, action, actor, "已更换灯泡" if action is Action.RESOLVE else None)


async def test_resolving_asks_the_resident_for_a_rating_whoever_resolves(world) -> None:
    service, _store, conversations, outbound, _ = world
    for actor in ("console:op1", "dept:城管", "api"):
        ticket = await service.open(report(text=f"路灯坏了，{actor}"), idempotency_key=None, actor="bot")
        await resolve(service, ticket.id, actor)
        conv_id, reply = outbound.sent[-1]
        assert conv_id == "conv-wechat" and ticket.id in reply.text
        assert [b.title for b in reply.buttons] == ["满意", "基本满意", "不满意"]
    # one 派单 notice and one question (with the result) per ticket (tests/unit/test_notices.py: the notices)
    assert [bool(r.buttons) for _c, r in outbound.sent] == [False, True] * 3
    # the operator sees the question in the transcript too
    assert [e["meta"]["event"] for e in conversations.conversations["conv-wechat"].transcript] == [
        "notice:dispatch", "follow_up"] * 3


async def test_a_caller_is_not_asked_through_a_hung_up_line_and_a_dead_channel_does_not_undo_the_move(world):
    service, store, _conv, outbound, _ = world
    ticket = await service.open(report("conv-voice", channel="voice"), idempotency_key=None, actor="bot")
    await resolve(service, ticket.id)
    assert outbound.sent == [] and (await store.require(ticket.id)).status is Status.RESOLVED
    outbound.fail = True
    other = await service.open(report(text="楼道灯也不亮"), idempotency_key=None, actor="bot")
    await resolve(service, other.id)
    assert (await store.require(other.id)).status is Status.RESOLVED


async def test_only_the_reporter_rates_withdraws_or_urges(world) -> None:
    service, store, _conv, _out, _ = world
    ticket = await service.open(report(), idempotency_key=None, actor="bot")
    await resolve(service, ticket.id)
    stranger = Requester("conv-wechat-other")
    for action in ("rate", "withdraw", "urge"):
        with pytest.raises(NotReporter):
            await service.resident_action(ticket.id, action, stranger, rating="满意")
    assert (await store.require(ticket.id)).status is Status.RESOLVED  # nothing moved
    # the same WeChat account in a later conversation is the reporter
    rated, reporter = await service.resident_action(ticket.id, "rate", Requester("conv-wechat-later"),
                                                    rating="不满意", reason="灯还是不亮")
    # 不满意 is recorded, and reopens the ticket to the unit that handled it
    assert reporter and rated.status is Status.DISPATCHED
    assert [h.data.get("rating") for h in rated.history if h.action == "follow_up"] == ["不满意"]


async def test_a_browser_tab_is_not_an_identity_but_the_phone_number_on_the_ticket_is(world) -> None:
    service, _store, _conv, _out, _ = world
    ticket = await service.open(report("conv-web", channel="web"), idempotency_key=None, actor="bot")
    _t, view, reporter = await service.for_resident(ticket.id, Requester("conv-web-later"))
    assert not reporter and view == {"id": ticket.id, "status": "受理"}  # a kiosk's next user learns nothing
    _t, view, reporter = await service.for_resident(ticket.id, Requester("conv-web-later", ("138-1234-5678",)))
    assert reporter and view["contact"]["phone"] == "138****5678" and view["text"]


async def test_urging_an_overdue_ticket_escalates_it_and_an_early_urge_changes_nothing(world) -> None:
    service, _store, _conv, _out, clock = world
    ticket = await service.open(report(), idempotency_key=None, actor="bot")
    same, _ = await service.resident_action(ticket.id, "urge", Requester("conv-wechat"))
    assert same.status is Status.RECEIVED and same.version == ticket.version
    clock.now = ticket.sla_deadline + timedelta(minutes=1)
    urged, _ = await service.resident_action(ticket.id, "urge", Requester("conv-wechat"))
    assert urged.status is Status.ESCALATED and urged.history[-1].reason == "居民催办（已超时）"


async def test_illegal_moves_and_unknown_ids_are_refused_without_a_change(world) -> None:
    service, store, _conv, outbound, _ = world
    ticket = await service.open(report(), idempotency_key=None, actor="bot")
    with pytest.raises(IllegalTransition):
        await service.move(ticket.id, Action.RESOLVE, "console:op1")
    with pytest.raises(TicketNotFound):
        await service.move("SZ20261203-999999", Action.DISPATCH, "console:op1")
    with pytest.raises(ValueError):
        await service.resident_action(ticket.id, "delete", Requester("conv-wechat"))
    assert (await store.require(ticket.id)).version == ticket.version and outbound.sent == []
