"""不满意 with the resident's reason, through the router as create_app builds it (real Redis, a stand-in Rasa):
the bot asks why (its "跳过" button marks the question), the resident's next free text is recorded on the
reopened ticket as their words (numbers masked) for the unit, and they get a short confirmation; an
emergency instead still goes to the bot; 跳过 ends the question."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from router.adapters.conversations import ConversationStore
from router.adapters.units import UnitStore
from router.appkeys import DIALOGUE, TICKET_SERVICE, TICKETS
from router.domain.tickets import Action, Status
from router.services.tickets import Requester
from tests.integration.test_console import build_app

PASSWORD = "street patrol 2026"
ASK = "请说说哪里还不满意，我们转告处理单位"


def skip_payload(ticket_id: str) -> str:
    return "/reopen_reason_skip" + json.dumps({"ticket_id": ticket_id})


@pytest.fixture
async def loop(redis, tmp_path, aiohttp_server, monkeypatch, rasa) -> dict[str, Any]:
    monkeypatch.delenv("VAR_DIR", raising=False)
    app, sender = build_app(redis, tmp_path, rasa_urls=(rasa.url,), rasa_token=rasa.token)
    server = await aiohttp_server(app)
    await UnitStore(redis).add("cg1", "department", "区城管局", PASSWORD)
    return {"app": app, "server": server, "redis": redis, "rasa": rasa}


async def reopened(app: Any, redis: Any, user: str) -> tuple[str, str]:
    """A web resident's resolved ticket rated 不满意 (what action_rate_ticket asks of the router)."""
    conv = await ConversationStore(redis).current("web", user)
    service = app[TICKET_SERVICE]
    ticket = await service.open({"text": "科技园路口的路灯坏了好几天", "channel": "web", "conversation_id": conv.id,
                                 "topic": {"l1": "城市管理", "department": "区城管局", "needs_human_dispatch": True}},
                                idempotency_key=None, actor="resident:" + conv.id)
    await service.move(ticket.id, Action.DISPATCH, "console:op1", department="区城管局")
    await service.move(ticket.id, Action.ACCEPT, "unit:cg1")
    await service.move(ticket.id, Action.RESOLVE, "unit:cg1", "已更换灯泡")
    rated, _ = await service.resident_action(ticket.id, "rate", Requester(conv.id), rating="不满意")
    assert rated.status is Status.DISPATCHED
    return conv.id, ticket.id


def bot_asks_why(ticket_id: str):
    def respond(sender: str, text: str, meta: dict) -> list[dict]:
        if text == "不满意":
            return [{"recipient_id": sender, "text": "很抱歉没有让您满意，已交回处理单位重新办理。"},
                    {"recipient_id": sender, "text": ASK, "buttons": [
                        {"title": "跳过", "payload": skip_payload(ticket_id)}]}]
        return [{"recipient_id": sender, "text": f"收到：{text}"}]
    return respond


async def test_the_residents_reason_reaches_the_unit_masked(loop, aiohttp_client) -> None:
    app, redis, rasa = loop["app"], loop["redis"], loop["rasa"]
    conv_id, ticket_id = await reopened(app, redis, "web-r1")
    rasa.responder = bot_asks_why(ticket_id)
    dialogue = app[DIALOGUE]
    turn = await dialogue.handle("web", "web-r1", "不满意")
    assert turn.replies[-1].text == ASK
    calls = len(rasa.calls)
    turn = await dialogue.handle("web", "web-r1", "路灯晚上还是不亮，有事打我电话13800138000")
    assert len(rasa.calls) == calls  # taken by the router, not read as a new request by the bot
    assert "转告处理单位" in turn.replies[0].text
    # still waiting for the unit's 签收: kept, and written as the resident's 进展 when it takes the ticket on
    assert (await app[TICKETS].require(ticket_id)).history[-1].action == "reopen"
    await app[TICKET_SERVICE].move(ticket_id, Action.ACCEPT, "unit:cg1")
    last = (await app[TICKETS].require(ticket_id)).history[-1]
    assert last.action == "note" and last.actor == f"resident:{conv_id}"
    assert "路灯晚上还是不亮" in last.reason and "13800138000" not in last.reason
    # the unit reads it in the portal
    client = await aiohttp_client(loop["server"])
    page = await (await client.get("/work/login")).text()
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    await client.post("/work/login", data={"username": "cg1", "password": PASSWORD, "csrf": token,
                                           "next": "/work/tickets"})
    detail = await (await client.get(f"/work/tickets/{ticket_id}")).text()
    assert "路灯晚上还是不亮" in detail and "13800138000" not in detail
    # the question is answered once: the next message is the bot's again
    await dialogue.handle("web", "web-r1", "谢谢")
    assert len(rasa.calls) == calls + 1


async def test_a_reason_after_the_unit_took_it_back_is_a_note_at_once(loop) -> None:
    app, redis, rasa = loop["app"], loop["redis"], loop["rasa"]
    _conv_id, ticket_id = await reopened(app, redis, "web-r2")
    rasa.responder = bot_asks_why(ticket_id)
    await app[DIALOGUE].handle("web", "web-r2", "不满意")
    await app[TICKET_SERVICE].move(ticket_id, Action.ACCEPT, "unit:cg1")
    await app[DIALOGUE].handle("web", "web-r2", "灯泡换了但是线路没修")
    last = (await app[TICKETS].require(ticket_id)).history[-1]
    assert last.action == "note" and "线路没修" in last.reason


async def test_an_emergency_still_goes_to_the_bot_and_skip_ends_the_question(loop) -> None:
    app, redis, rasa = loop["app"], loop["redis"], loop["rasa"]
    _conv_id, ticket_id = await reopened(app, redis, "web-r3")
    rasa.responder = bot_asks_why(ticket_id)
    dialogue = app[DIALOGUE]
    await dialogue.handle("web", "web-r3", "不满意")
    calls = len(rasa.calls)
    await dialogue.handle("web", "web-r3", "楼道里着火了，浓烟很大，救命")
    assert len(rasa.calls) == calls + 1  # the emergency went to the bot
    assert [h.action for h in (await app[TICKETS].require(ticket_id)).history][-1] == "reopen"
    await dialogue.handle("web", "web-r3", "不满意")  # asked again
    turn = await dialogue.handle("web", "web-r3", skip_payload(ticket_id))
    assert "重新办理" in turn.replies[0].text and len(rasa.calls) == calls + 2
    await dialogue.handle("web", "web-r3", "好的")
    assert len(rasa.calls) == calls + 3
    assert await redis.lrange(f"rsa:ticket:{{{ticket_id}}}:resident_reasons", 0, -1) == []
