"""Residents kept informed on their own channel (router/services/notices.py), whoever moves the ticket:
派单 names the unit and the time limit, 办结 gives the result (phones masked) with the rating question,
督办 and 重办 say so, a merged report is told at once and then hears what the first reporter hears, a
caller who hung up becomes a callback note, and nothing is ever said twice or undoes a move."""

from __future__ import annotations

import os
import stat
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest

from router.domain.routing import Handling
from router.domain.tickets import CST, Action, Status
from router.services.intake import TicketIntake
from router.services.notices import TrackingLinks
from router.services.sla import SlaScheduler
from router.services.tickets import Requester, TicketService
from router.settings import Settings
from tests.fakes.stores import (
    InMemoryConversations,
    InMemoryFollowers,
    InMemoryTicketStore,
    RecordingOutbound,
)

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=CST)
BASE = "https://12345.example.cn"
DEPT, UNIT = "区城管局", "粤海街道"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def report(conversation_id: str = "conv-a", channel: str = "wechat", **extra) -> dict:
    return {"text": "科技园社区门口的路灯坏了一个星期，晚上很黑", "channel": channel, "conversation_id": conversation_id,
            "contact_phone": "13812345678", "contact_name": "王小明",
            "location": {"district": "南山区", "street": UNIT, "community": "科技园社区"},
            "topic": {"l1": "城乡建设", "l2": "路灯", "department": DEPT}, **extra}


class World:
    def __init__(self, *, intake: bool = False) -> None:
        self.clock = Clock()
        self.store = InMemoryTicketStore(clock=self.clock)
        self.conversations = InMemoryConversations()
        for conv_id, channel, user in (("conv-a", "wechat", "openid-a"), ("conv-b", "wechat", "openid-b"),
                                       ("conv-web", "web", "browser-1"), ("conv-voice", "voice", "call-1")):
            self.conversations.add(conv_id, channel, user)
        self.outbound = RecordingOutbound()
        self.followers = InMemoryFollowers()
        self.links = TrackingLinks(b"k" * 32, BASE)
        self.service = TicketService(self.store, conversations=self.conversations, outbound=self.outbound,
                                     intake=self.intake() if intake else None, followers=self.followers,
                                     links=self.links)

    def intake(self) -> TicketIntake:
        routing = SimpleNamespace(route=lambda *_a: SimpleNamespace(handling=Handling.AGENCY))
        classifier = SimpleNamespace(routing=routing, predict=lambda _t: pytest.fail("the topic was given"))
        return TicketIntake(self.store, classifier, SimpleNamespace())  # type: ignore[arg-type]

    def sent_to(self, conv_id: str) -> list:
        return [reply for c, reply in self.outbound.sent if c == conv_id]

    def transcript(self, conv_id: str) -> list[dict]:
        return self.conversations.conversations[conv_id].transcript

    async def resolve(self, ticket_id: str, result: str = "已更换灯泡", actor: str = "console:op1") -> None:
        await self.service.move(ticket_id, Action.DISPATCH, actor, department=DEPT, unit=UNIT)
        await self.service.move(ticket_id, Action.ACCEPT, actor)
        await self.service.move(ticket_id, Action.RESOLVE, actor, result)


@pytest.fixture
def world() -> World:
    return World()


# ------------------------------------------------------------------------------------------------ 派单

@pytest.mark.parametrize("actor", ["console:op1", "api", "portal:区城管局:李四", "dept:城管"])
async def test_dispatch_tells_the_resident_the_unit_the_time_limit_and_the_link(world: World, actor: str) -> None:
    ticket = await world.service.open(report(), idempotency_key=None, actor="bot")
    assert world.outbound.sent == []  # received, not yet sent anywhere: nothing to tell
    await world.service.move(ticket.id, Action.DISPATCH, actor, department=DEPT, unit=UNIT)
    [reply] = world.sent_to("conv-a")
    assert f"工单号 {ticket.id}" in reply.text and "已转交区城管局（粤海街道）处理" in reply.text
    assert "预计12月10日09:00前办结" in reply.text  # 7 days for a general report, Beijing time
    assert f"查看进度：{BASE}/t/{world.links.token(ticket.id)}" in reply.text
    assert reply.buttons == () and reply.author == "system"
    # the operator sees it in the transcript (and a web page gets it over its event stream)
    [entry] = world.transcript("conv-a")
    assert entry["author"] == "system" and entry["text"] == reply.text
    assert entry["meta"] == {"ticket": ticket.id, "event": "notice:dispatch"}


async def test_the_intakes_auto_dispatch_is_told_once_even_when_the_request_is_retried() -> None:
    world = World(intake=True)
    ticket = await world.service.open(report(), idempotency_key="bot-msg-1", actor="bot")
    assert ticket.status is Status.DISPATCHED
    [reply] = world.sent_to("conv-a")
    assert ticket.id in reply.text and "已转交区城管局" in reply.text
    again = await world.service.open(report(), idempotency_key="bot-msg-1", actor="bot")
    assert again.id == ticket.id and len(world.outbound.sent) == 1 and len(world.transcript("conv-a")) == 1


async def test_a_replayed_move_tells_nobody_twice(world: World) -> None:
    ticket = await world.service.open(report(), idempotency_key=None, actor="bot")
    moved = await world.service.move(ticket.id, Action.DISPATCH, "console:op1")
    await world.service._after(moved)
    assert len(world.outbound.sent) == 1


# ------------------------------------------------------------------------------------------------ 办结

async def test_resolve_gives_the_result_with_phones_masked_then_asks_for_the_rating(world: World) -> None:
    ticket = await world.service.open(report(), idempotency_key=None, actor="bot")
    await world.resolve(ticket.id, "已更换灯泡，仍有问题请联系张工 13987654321", actor="dept:城管")
    dispatch_notice, resolved = world.sent_to("conv-a")
    assert "已转交" in dispatch_notice.text
    assert f"工单号 {ticket.id}）已办结" in resolved.text and "处理结果：已更换灯泡" in resolved.text
    assert "13987654321" not in resolved.text and "139****4321" in resolved.text
    assert resolved.text.index("处理结果") < resolved.text.index("请问您对处理结果满意吗")  # result, then question
    assert world.links.path(ticket.id) in resolved.text
    assert [b.title for b in resolved.buttons] == ["满意", "基本满意", "不满意"]
    assert ticket.id in resolved.buttons[0].payload
    assert [e["meta"]["event"] for e in world.transcript("conv-a")] == ["notice:dispatch", "follow_up"]


async def test_a_resolve_without_a_result_text_still_reads_well(world: World) -> None:
    ticket = await world.service.open(report(), idempotency_key=None, actor="bot")
    await world.resolve(ticket.id, "")
    assert "处理结果：已处理完毕" in world.sent_to("conv-a")[-1].text


async def test_a_caller_who_hung_up_gets_a_callback_note_for_the_operator(world: World) -> None:
    ticket = await world.service.open(report("conv-voice", channel="voice"), idempotency_key=None, actor="bot")
    await world.resolve(ticket.id, "已更换灯泡")
    assert world.outbound.sent == []  # nothing is spoken into a call that has ended
    notes = world.transcript("conv-voice")
    assert [n["meta"]["event"] for n in notes] == ["notice:dispatch", "notice:resolve"]
    assert all(n["meta"]["callback"] and n["text"].startswith("【待回电】") for n in notes)
    sms = notes[-1]["meta"]["sms"]
    assert ticket.id in sms and "处理结果：已更换灯泡" in sms and world.links.url(ticket.id) in sms
    assert (await world.store.require(ticket.id)).status is Status.RESOLVED


async def test_a_dead_channel_or_a_forgotten_conversation_never_undoes_the_move(world: World) -> None:
    world.outbound.fail = True
    ticket = await world.service.open(report(), idempotency_key=None, actor="bot")
    await world.resolve(ticket.id)
    assert (await world.store.require(ticket.id)).status is Status.RESOLVED
    assert [e["meta"]["event"] for e in world.transcript("conv-a")] == ["notice:dispatch", "follow_up"]
    gone = await world.service.open(report("conv-expired", text="公园里的长椅坏了"), idempotency_key=None, actor="bot")
    await world.resolve(gone.id)
    assert (await world.store.require(gone.id)).status is Status.RESOLVED


# ---------------------------------------------------------------------------------------- 督办, 重办

async def test_the_sla_schedulers_escalation_tells_the_resident_the_new_time_limit(world: World) -> None:
    ticket = await world.service.open(report(), idempotency_key=None, actor="bot")
    await world.service.move(ticket.id, Action.DISPATCH, "console:op1", department=DEPT, unit=UNIT)
    [escalated] = await SlaScheduler(world.service).tick(T0 + timedelta(days=8))
    reply = world.sent_to("conv-a")[-1]
    assert escalated.id == ticket.id and "已超过办理时限" in reply.text and "街道级督办" in reply.text
    assert "预计12月18日09:00前办结" in reply.text  # 7 more days from the 督办 on 12月11日


async def test_dissatisfied_reopens_to_the_unit_that_handled_it_and_the_resident_is_told(world: World) -> None:
    ticket = await world.service.open(report(), idempotency_key=None, actor="bot")
    await world.resolve(ticket.id)
    world.clock.now = T0 + timedelta(days=2)
    rated, reporter = await world.service.resident_action(ticket.id, "rate", Requester("conv-a"),
                                                         rating="不满意", reason="灯还是不亮")
    assert reporter and rated.status is Status.DISPATCHED
    assert rated.assignee is not None and (rated.assignee.department, rated.assignee.unit) == (DEPT, UNIT)
    reopen = rated.history[-1]
    assert reopen.action == "reopen" and reopen.reason == "居民不满意：灯还是不亮"
    assert rated.sla_deadline == world.clock.now + timedelta(days=7)  # 重办 gets a fresh time limit
    told = world.sent_to("conv-a")[-1]
    assert "不满意" in told.text and "已重新交给区城管局（粤海街道）办理" in told.text and "12月12日09:00" in told.text


async def test_a_satisfied_rating_closes_the_loop_without_reopening(world: World) -> None:
    ticket = await world.service.open(report(), idempotency_key=None, actor="bot")
    await world.resolve(ticket.id)
    before = len(world.outbound.sent)
    rated, _ = await world.service.resident_action(ticket.id, "rate", Requester("conv-a"), rating="满意")
    assert rated.status is Status.FOLLOWED_UP and rated.rating is not None and rated.rating.value == "满意"
    assert len(world.outbound.sent) == before  # nothing more to say


# ------------------------------------------------------------------------------------------------ 合并

async def test_a_merged_report_is_told_at_once_and_then_hears_what_the_first_reporter_hears(world: World) -> None:
    first = await world.service.open(report("conv-a"), idempotency_key=None, actor="bot")
    second = await world.service.open(report("conv-b"), idempotency_key=None, actor="bot")
    assert second.status is Status.MERGED and second.merged_into == first.id
    [joined] = world.sent_to("conv-b")
    assert f"已并入工单 {first.id}" in joined.text and "共 2 位居民反映" in joined.text
    assert world.links.url(first.id) in joined.text  # the link follows the ticket that is worked on
    third = await world.service.open(report("conv-web", channel="web"), idempotency_key=None, actor="bot")
    assert "共 3 位居民反映" in world.transcript("conv-web")[-1]["text"] and third.merged_into == first.id

    await world.resolve(first.id, "已更换灯泡")
    for conv_id in ("conv-a", "conv-b", "conv-web"):
        texts = [e["text"] for e in world.transcript(conv_id)]
        assert any(f"工单号 {first.id}）已转交区城管局" in x for x in texts), conv_id
        assert any("处理结果：已更换灯泡" in x for x in texts), conv_id
    # the rating question (and its record on the ticket) is the first reporter's; neighbours get the result
    assert world.sent_to("conv-a")[-1].buttons and not world.sent_to("conv-b")[-1].buttons


async def test_an_operators_merge_tells_the_later_reporter_too(world: World) -> None:
    first = await world.service.open(report("conv-a"), idempotency_key=None, actor="bot")
    other = await world.service.open(report("conv-b", text="晚上科技园那边黑漆漆的，灯不亮"), idempotency_key=None,
                                     actor="bot")
    assert other.status is Status.RECEIVED and world.outbound.sent == []  # not seen as the same at first
    await world.service.move(other.id, Action.MERGE, "console:op1", "同一盏路灯", merged_into=first.id)
    [joined] = world.sent_to("conv-b")
    assert f"已并入工单 {first.id}" in joined.text and "共 2 位居民反映" in joined.text
    await world.service.move(first.id, Action.DISPATCH, "console:op1", department=DEPT, unit=UNIT)
    assert "已转交区城管局" in world.sent_to("conv-b")[-1].text


# ------------------------------------------------------------------------------------- links and keys

def test_a_tracking_link_opens_its_ticket_and_nothing_else() -> None:
    links = TrackingLinks(b"k" * 32, BASE + "/")
    token = links.token("SZ20261203-000001")
    assert links.ticket_id(token) == "SZ20261203-000001"
    assert links.url("SZ20261203-000001") == f"{BASE}/t/{token}"
    assert token != links.token("SZ20261203-000002")
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    other_id = "SZ20261203-000002" + token[len("SZ20261203-000001"):]
    for bad in (tampered, other_id, "SZ20261203-000001", "", ".", "x" * 40, token + "x",
                TrackingLinks(b"o" * 32).token("SZ20261203-000001")):
        assert links.ticket_id(bad) is None, bad
    with pytest.raises(ValueError):
        TrackingLinks(b"short")


def test_the_tracking_key_comes_from_the_secret_or_is_made_once_and_kept(tmp_path) -> None:
    given = Settings(tracking_secret="s3cret", var_dir=tmp_path).tracking_key()
    assert given == Settings(tracking_secret="s3cret", console_secret="x").tracking_key()
    derived = Settings(console_secret="console", var_dir=tmp_path).tracking_key()
    assert derived not in (given, Settings(api_token="console", console_secret="other").tracking_key())
    assert not (tmp_path / "tracking-secret").exists()  # a secret was there to derive from
    made = Settings(var_dir=tmp_path).tracking_key()
    kept = tmp_path / "tracking-secret"
    assert kept.exists() and stat.S_IMODE(os.stat(kept).st_mode) == 0o600
    assert Settings(var_dir=tmp_path).tracking_key() == made  # the links survive a restart
    assert Settings(var_dir=tmp_path / "elsewhere").tracking_key() != made


def test_tracking_secret_is_read_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("TRACKING_SECRET", " abc ")
    assert Settings.from_env().tracking_secret == "abc"
