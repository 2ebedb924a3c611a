"""转介社区心理服务室 against a real Redis, through the router as create_app builds it: the operator who took a
crisis conversation over refers the resident, with their consent, to the community's 心理服务室; that unit
works on it in the portal, the street office does not see it, the resident hears one kind message and
nothing internal; the resident's own answer to the bot's offer is taken before Rasa and shown to the
operator."""

from __future__ import annotations

import re
from typing import Any

import pytest

from router.adapters.conversations import ConversationStore
from router.adapters.units import UnitStore
from router.appkeys import DIALOGUE, TICKET_SERVICE, TICKETS
from router.console.users import UserStore
from router.domain.tickets import Action, Status
from router.services.referral import consent_payload
from tests.integration.test_console import PASSWORD, audit_actions, build_app, login, queued_conversation
from tests.integration.test_portal import login as unit_login

FETCH = {"X-Requested-With": "fetch"}
STRANGER_STATUS = 0  # set below
ROOM = "科技园社区心理服务室"
UNIT_PASSWORD = "street patrol 2026"


@pytest.fixture
async def setup(redis, tmp_path, aiohttp_server, monkeypatch, rasa) -> dict[str, Any]:
    monkeypatch.delenv("VAR_DIR", raising=False)
    app, sender = build_app(redis, tmp_path, rasa_urls=(rasa.url,), rasa_token=rasa.token)
    server = await aiohttp_server(app)
    for name in ("op1", "op2"):
        await UserStore(redis).add(name, "operator", PASSWORD)
    units = UnitStore(redis)
    await units.add("psy1", "department", ROOM, UNIT_PASSWORD)
    await units.add("yh1", "street", "粤海街道办事处", UNIT_PASSWORD)
    await units.add("kjy1", "community", "科技园社区综治中心", UNIT_PASSWORD)
    await units.add("nsq1", "district", "南山区12345分中心", UNIT_PASSWORD)
    await units.add("sz1", "city", "深圳市12345热线中心", UNIT_PASSWORD)
    return {"app": app, "server": server, "sender": sender, "redis": redis, "rasa": rasa}


async def portal_login(aiohttp_client, server: Any, name: str) -> Any:
    return await unit_login(aiohttp_client, server, name, UNIT_PASSWORD)


async def taken_crisis(setup: dict[str, Any], aiohttp_client, operator: str = "op1") -> tuple[Any, Any, str]:
    conv = await queued_conversation(setup["redis"], channel="web", user_id="web-resident-1",
                                     text="我不想活了", reason="self_harm", urgent=True)
    op = await login(aiohttp_client, setup["server"], operator)
    resp = await op.post(f"/console/conversations/{conv.id}/claim",
                         data={"csrf": await page_csrf(op, conv.id)}, headers=FETCH)
    assert resp.status == 200, await resp.text()
    return conv, op, await page_csrf(op, conv.id)


async def page_csrf(client: Any, conv_id: str) -> str:
    page = await (await client.get(f"/console/conversations/{conv_id}")).text()
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


async def refer(op: Any, conv_id: str, csrf: str, **form: str) -> Any:
    return await op.post(f"/console/conversations/{conv_id}/referral",
                         data={"csrf": csrf, **form}, headers=FETCH)


async def test_a_referral_needs_consent_then_goes_to_the_communitys_room_only(setup, aiohttp_client) -> None:
    app, redis, sender = setup["app"], setup["redis"], setup["sender"]
    setup["rasa"].slots = {"contact_phone": "13800138000", "community": "科技园社区"}
    conv, op, csrf = await taken_crisis(setup, aiohttp_client)

    page = await (await op.get(f"/console/conversations/{conv.id}")).text()
    assert "转介社区心理服务室" in page and "居民已同意转介，同意由心理服务室联系" in page
    assert "138****8000" in page and "13800138000" not in page  # the known number, masked
    assert 'value="科技园社区"' in page and f"转介到{ROOM}" in page

    # without the resident's consent: refused, nothing created, nothing said to the resident
    resp = await refer(op, conv.id, csrf, community="科技园社区", note="独居，近期失业")
    assert resp.status == 422 and "必须先征得居民同意" in (await resp.json())["message"]
    assert await app[TICKETS].search(department=ROOM) == []
    assert not [r for _, r in sender.sent if "心理服务室" in r.text]
    # bad input: clear 422s
    resp = await refer(op, conv.id, csrf, consent="1", community="")
    assert resp.status == 422 and "请填写居民所在社区" in (await resp.json())["message"]
    resp = await refer(op, conv.id, csrf, consent="1", community="不存在的地方", contact_phone="13800138000")
    assert resp.status == 422 and "未能识别社区" in (await resp.json())["message"]
    resp = await refer(op, conv.id, csrf, consent="1", community="科技园社区", contact_phone="abc")
    assert resp.status == 422 and "联系电话格式不对" in (await resp.json())["message"]
    assert await app[TICKETS].search(department=ROOM) == []

    # with consent: the number the bot collected is used when the field is left empty
    resp = await refer(op, conv.id, csrf, consent="1", community="科技园社区", note="独居，近期失业，情绪低落")
    assert resp.status == 200, await resp.text()
    assert ROOM in (await resp.json())["message"]
    [ticket] = await app[TICKETS].search(department=ROOM)
    assert ticket.status is Status.DISPATCHED and ticket.assignee.department == ROOM
    assert ticket.contact.phone == "13800138000" and "独居，近期失业，情绪低落" in ticket.text
    assert ticket.conversation_id is None and ticket.location.community == "科技园社区"

    # the resident: one short, kind message; no ticket id, no note, no unit's internals, no tracking link
    told = [r.text for cid, r in sender.sent if cid == conv.id and "心理服务室" in r.text]
    assert len(told) == 1 and "科技园社区心理服务室" in told[0] and "联系" in told[0]
    transcript = await ConversationStore(redis).transcript(conv.id, limit=100)
    for entry in transcript:
        if entry["author"] in ("system", "bot", "operator"):
            assert ticket.id not in entry["text"] and "/t/" not in entry["text"] and "失业" not in entry["text"]
    # the audit: consent, by whom, when — on the transcript and in the console's audit log
    [audit] = [e for e in transcript if e["author"] == "audit"]
    assert audit["meta"]["operator"] == "op1" and audit["meta"]["ticket_id"] == ticket.id
    assert audit["meta"]["consented_at"] > 0 and "居民已同意" in audit["text"]
    assert ("op1", "referral", conv.id) in await audit_actions(redis)
    page = await (await op.get(f"/console/conversations/{conv.id}")).text()
    assert f'href="/console/tickets/{ticket.id}"' in page and 'id="referral-form"' not in page

    # no public tracking page, even for someone holding a valid link
    assert (await op.get(app[TICKET_SERVICE].links.path(ticket.id))).status == 404

    # once per conversation
    resp = await refer(op, conv.id, csrf, consent="1", community="科技园社区", contact_phone="13900139000")
    assert resp.status == 409 and ticket.id in (await resp.json())["message"]

    # the community's 心理服务室 sees it and works on it in the portal
    psy = await portal_login(aiohttp_client, setup["server"], "psy1")
    assert ticket.id in await (await psy.get("/work/tickets")).text()
    detail = await (await psy.get(f"/work/tickets/{ticket.id}")).text()
    assert "独居，近期失业，情绪低落" in detail
    token = re.search(r'name="csrf" value="([^"]+)"', detail).group(1)
    resp = await psy.post(f"/work/tickets/{ticket.id}/accept", data={"csrf": token})
    assert resp.status == 200
    assert (await app[TICKETS].require(ticket.id)).status is Status.IN_PROGRESS
    # the street office and the community's 综治中心 do not
    for name in ("yh1", "kjy1"):
        other = await portal_login(aiohttp_client, setup["server"], name)
        listing = await (await other.get("/work/tickets")).text()
        assert ticket.id not in listing and "失业" not in listing, name
        assert (await other.get(f"/work/tickets/{ticket.id}")).status == 404, name
    # the move to 处置 told the resident nothing (no notice carries the referral)
    assert len([r for cid, r in sender.sent if cid == conv.id and "心理服务室" in r.text]) == 1
    # overdue until the SLA clock's 督办 reaches 市: the district and the city still do not read it
    for _ in range(3):
        ticket = await app[TICKET_SERVICE].move(ticket.id, Action.ESCALATE, "system:sla", "超时督办")
    assert ticket.escalation_level == "市"
    for name in ("nsq1", "sz1"):
        other = await portal_login(aiohttp_client, setup["server"], name)
        listing = await (await other.get("/work/tickets")).text()
        assert ticket.id not in listing and "失业" not in listing, name
        assert (await other.get(f"/work/tickets/{ticket.id}")).status == 404, name


async def test_only_the_operator_who_has_the_conversation_refers(setup, aiohttp_client) -> None:
    conv, _op, _csrf = await taken_crisis(setup, aiohttp_client)
    other = await login(aiohttp_client, setup["server"], "op2")
    resp = await refer(other, conv.id, await page_csrf(other, conv.id), consent="1", community="科技园社区",
                       contact_phone="13800138000")
    assert resp.status == 409
    assert await setup["app"][TICKETS].search(department=ROOM) == []
    resp = await refer(other, "C" + "0" * 16, await page_csrf(other, conv.id), consent="1", community="科技园社区")
    assert resp.status == 404


async def test_the_residents_own_consent_is_taken_before_rasa_and_shown(setup, aiohttp_client) -> None:
    redis, rasa = setup["redis"], setup["rasa"]
    store = ConversationStore(redis)
    conv = await store.current("web", "web-resident-2")
    yes = consent_payload(conv.id, "yes")
    await store.append(conv.id, "bot", "您愿意让社区心理服务室联系您吗？", buttons=[
        {"title": "希望社区心理服务室联系我", "payload": yes},
        {"title": "暂时不用", "payload": consent_payload(conv.id, "no")}])
    await store.move(conv.id, "handoff", reason="self_harm", urgent=True)
    dialogue = setup["app"][DIALOGUE]
    calls = len(rasa.calls)
    # a payload nobody was shown is refused
    forged = await dialogue.handle("web", "web-resident-2", consent_payload("C" + "1" * 16, "yes"))
    assert "按钮已经失效" in forged.replies[0].text
    turn = await dialogue.handle("web", "web-resident-2", yes)
    assert "已记下您的意愿" in turn.replies[0].text
    assert len(rasa.calls) == calls  # the router's, not the bot's
    op = await login(aiohttp_client, setup["server"], "op1")
    await op.post(f"/console/conversations/{conv.id}/claim", data={"csrf": await page_csrf(op, conv.id)},
                  headers=FETCH)
    page = await (await op.get(f"/console/conversations/{conv.id}")).text()
    assert "居民已在对话中选择：希望社区心理服务室联系我" in page
    assert await setup["app"][TICKETS].search(department=ROOM) == []  # the operator still makes the referral



async def test_the_referral_form_needs_a_login_and_the_pages_token(setup, aiohttp_client) -> None:
    """A stranger (no console session) and a post without the page's CSRF token create nothing."""
    app = setup["app"]
    setup["rasa"].slots = {"contact_phone": "13800138000", "community": "科技园社区"}
    conv, op, _csrf = await taken_crisis(setup, aiohttp_client)
    form = {"consent": "1", "community": "科技园社区", "contact_phone": "13800138000"}
    stranger = await aiohttp_client(setup["server"])
    resp = await stranger.post(f"/console/conversations/{conv.id}/referral", data={"csrf": "x", **form},
                               headers=FETCH, allow_redirects=False)
    assert resp.status == 401 and "请先登录" in (await resp.json())["message"]
    resp = await refer(op, conv.id, "forged", **form)
    assert resp.status == 403
    assert await app[TICKETS].search(department=ROOM) == []
