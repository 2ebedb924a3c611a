"""上报 社区 → 街道 → 区 → 市 and 交办 back down in the work portal, against a real Redis and the whole router:
each level sees what reached it (marked 上报, from whom, why, at which level) and acts on it; a higher
level sends it back down with its 督办意见; sibling streets and districts get 404; bad input 422, moves the
state does not allow 409; the resident hears where it went in plain words; the console shows the trail
and the mediation record, numbers masked."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from router.adapters.conversations import ConversationStore
from router.adapters.units import InvalidUnit, UnitStore
from router.appkeys import TICKETS
from router.console.users import UserStore
from router.domain.tickets import Status, Ticket
from tests.integration.test_portal import PASSWORD, UNITS, build_app, csrf_of, login
from tests.integration.test_portal_mediation import SESSION, accepted, mediate, post

PHONE = "13812345678"
STREET, DISTRICT, CITY = "粤海街道办事处", "南山区12345分中心", "深圳市12345热线中心"
LEVEL_UNITS = (
    ("sk1", "street", "蛇口街道办事处"),
    ("nsq1", "district", DISTRICT),
    ("ftq1", "district", "福田区12345分中心"),
    ("city1", "city", CITY),
)


@pytest.fixture
async def portal(redis, tmp_path, monkeypatch, aiohttp_server) -> dict[str, Any]:
    monkeypatch.delenv("VAR_DIR", raising=False)
    store = UnitStore(redis)
    for name, kind, unit in (*UNITS, *LEVEL_UNITS):
        await store.add(name, kind, unit, PASSWORD)
    app = build_app(redis, tmp_path)
    server = await aiohttp_server(app)
    return {"app": app, "server": server, "redis": redis}


async def ticket_at(portal: dict[str, Any], department: str, *, text: str = "小区门口的人行道塌了一块，一直没人修",
                    conversation_id: str | None = None, grid: str | None = None) -> Ticket:
    store = portal["app"][TICKETS]
    location = {"district": "南山区", "street": "粤海街道", "community": "科技园社区", **({"grid": grid} if grid else {})}
    ticket = await store.create({"text": text, "channel": "web", "location": location,
                                 **({"conversation_id": conversation_id} if conversation_id else {})}, actor="test")
    return await store.transition(ticket.id, "dispatch", "console:op1", department=department,
                                  unit="科技园社区")


async def get(portal: dict[str, Any], ticket_id: str) -> Ticket:
    return await portal["app"][TICKETS].get(ticket_id)


def list_item(page: str, ticket_id: str) -> str:
    found = re.search(rf'data-id="{ticket_id}">.*?</li>', page, re.S)
    assert found is not None, f"{ticket_id} not in the list"
    return found.group(0)


async def escalate(client: TestClient, ticket_id: str, reason: str) -> tuple[int, str]:
    return await post(client, ticket_id, "escalate", reason=reason)


async def test_a_grid_report_climbs_street_district_city_and_each_level_acts(portal, aiohttp_client) -> None:
    ticket = await ticket_at(portal, "G01网格员", grid="G01")
    tid = ticket.id
    grid = await login(aiohttp_client, portal["server"], "g01")
    status, page = await escalate(grid, tid, "需要街道协调")
    assert status == 409 and "请先签收再上报" in page  # not taken on yet
    await accepted(grid, tid)
    page = await (await grid.get(f"/work/tickets/{tid}")).text()
    assert 'id="escalate-form"' in page and f"上报{STREET}" in page  # says where it will go
    status, page = await escalate(grid, tid, "  ")
    assert status == 422 and "请填写上报理由" in page
    assert (await get(portal, tid)).status is Status.IN_PROGRESS  # nothing moved

    # 网格员 → 街道
    status, page = await escalate(grid, tid, f"塌陷面积大，需要街道协调施工队，业主电话 {PHONE}")
    assert status == 200 and f"已上报{STREET}" in page
    t = await get(portal, tid)
    assert t.status is Status.DISPATCHED and t.assignee.department == STREET and t.escalation_level == "街道"
    assert [h.action for h in t.history[-2:]] == ["escalate", "dispatch"] and PHONE not in t.history[-2].reason
    assert (await grid.get(f"/work/tickets/{tid}")).status == 404  # the street office's now

    street = await login(aiohttp_client, portal["server"], "yh1")
    item = list_item(await (await street.get("/work/tickets")).text(), tid)
    assert "上报</span>" in item and "G01网格员上报（督办层级 街道）" in item and "塌陷面积大" in item
    page = await (await street.get(f"/work/tickets/{tid}")).text()
    assert 'id="came"' in page and "G01网格员上报" in page and 'id="assign-form"' in page
    assert 'id="trail"' in page and "塌陷面积大" in page and "5678" in page and PHONE not in page
    await accepted(street, tid)
    status, page = await post(street, tid, "note", text="已联系施工队，产权不清，无法施工")
    assert status == 200

    # 街道 → 区
    status, page = await escalate(street, tid, "产权单位不明，需要区里协调住建和城管")
    assert status == 200 and f"已上报{DISTRICT}" in page
    t = await get(portal, tid)
    assert t.assignee.department == DISTRICT and t.escalation_level == "区" and t.status is Status.DISPATCHED
    district = await login(aiohttp_client, portal["server"], "nsq1")
    item = list_item(await (await district.get("/work/tickets")).text(), tid)
    assert "上报</span>" in item and f"{STREET}上报（督办层级 区）" in item and "产权单位不明" in item
    await accepted(district, tid)
    page = await (await district.get(f"/work/tickets/{tid}")).text()
    assert 'id="assign-form"' not in page  # signed for: its own to handle now

    # 区 → 市
    status, page = await escalate(district, tid, "涉及市属单位的地下管线，区里协调不了")
    assert status == 200 and f"已上报{CITY}" in page
    t = await get(portal, tid)
    assert t.assignee.department == CITY and t.escalation_level == "市"
    city = await login(aiohttp_client, portal["server"], "city1")
    item = list_item(await (await city.get("/work/tickets")).text(), tid)
    assert "上报</span>" in item and f"{DISTRICT}上报（督办层级 市）" in item
    page = await (await city.get(f"/work/tickets/{tid}")).text()
    steps = re.findall(r'<li data-kind="(\w+)">', page)
    assert steps == ["report_up", "report_up", "report_up"]  # the trail: who, when, why
    assert "unit:g01" not in page and "g01" in page and "涉及市属单位" in page
    await accepted(city, tid)
    page = await (await city.get(f"/work/tickets/{tid}")).text()
    assert 'id="escalate-form"' not in page  # nothing above the city
    status, page = await escalate(city, tid, "再往上")
    assert status == 409 and "已经是市级" in page
    status, page = await post(city, tid, "resolve", text="市水务集团已修复管线，人行道已回填铺平")
    assert status == 200
    t = await get(portal, tid)
    assert t.status is Status.RESOLVED and t.history[-1].actor == "unit:city1"


async def test_a_higher_level_sends_it_back_down_with_its_instruction(portal, aiohttp_client) -> None:
    tid = (await ticket_at(portal, STREET)).id
    street = await login(aiohttp_client, portal["server"], "yh1")
    await accepted(street, tid)
    status, _ = await escalate(street, tid, "需要区里协调")
    assert status == 200
    district = await login(aiohttp_client, portal["server"], "nsq1")
    status, page = await post(district, tid, "assign", instruction="")
    assert status == 422 and "请填写督办意见" in page
    status, page = await post(district, tid, "assign", instruction=f"属街道职责，请三日内组织修复，联系人 {PHONE}")
    assert status == 200 and f"已交办{STREET}" in page
    t = await get(portal, tid)
    assert t.status is Status.DISPATCHED and t.assignee.department == STREET and t.assignee.unit == "科技园社区"
    # one 督办 per 上报: a ticket the hotline sent straight to the street office is supervised at 街道 now
    assert t.escalation_level == "街道" and t.history[-1].actor == "unit:nsq1"
    assert t.history[-3].reason == "上报区级：需要区里协调"
    assert (await district.get(f"/work/tickets/{tid}")).status == 200  # still sees it: its district's street

    item = list_item(await (await street.get("/work/tickets")).text(), tid)
    assert "督办·交办" in item and "属街道职责，请三日内组织修复" in item and PHONE not in item
    page = await (await street.get(f"/work/tickets/{tid}")).text()
    assert f"{DISTRICT}交办" in page and 'id="came-reason">督办意见：属街道职责' in page
    assert 'id="assign-form"' not in page and 'id="accept"' in page
    steps = re.findall(r'<li data-kind="(\w+)">', page)
    assert steps == ["report_up", "assign_down"]
    await accepted(street, tid)
    status, _ = await post(street, tid, "resolve", text="已组织施工队修复")
    assert status == 200
    assert (await get(portal, tid)).status is Status.RESOLVED


async def test_moves_the_state_or_path_does_not_allow_are_409(portal, aiohttp_client) -> None:
    street = await login(aiohttp_client, portal["server"], "yh1")
    district = await login(aiohttp_client, portal["server"], "nsq1")
    plain = (await ticket_at(portal, DISTRICT)).id  # dispatched by the hotline, not escalated
    status, page = await post(district, plain, "assign", instruction="下去办")
    assert status == 409 and "不是下级上报来的" in page
    tid = (await ticket_at(portal, STREET)).id
    await accepted(street, tid)
    await escalate(street, tid, "需要区里协调")
    await accepted(district, tid)
    status, page = await post(district, tid, "assign", instruction="下去办")
    assert status == 409 and "已签收的工单由本单位办理" in page
    t = await get(portal, tid)
    assert t.status is Status.IN_PROGRESS and t.assignee.department == DISTRICT


async def test_siblings_and_strangers_get_404_and_the_district_reads_its_streets(portal, aiohttp_client) -> None:
    tid = (await ticket_at(portal, STREET)).id
    street = await login(aiohttp_client, portal["server"], "yh1")
    await accepted(street, tid)
    # the district reads its street's work; a sibling district, a sibling street and the city do not
    district = await login(aiohttp_client, portal["server"], "nsq1")
    assert (await district.get(f"/work/tickets/{tid}")).status == 200
    assert tid in await (await district.get("/work/tickets")).text()
    for name in ("ftq1", "sk1", "city1", "cg1"):
        other = await login(aiohttp_client, portal["server"], name)
        assert (await other.get(f"/work/tickets/{tid}")).status == 404, name
        csrf = await csrf_of(other)
        for what, fields in (("escalate", {"reason": "上报"}), ("assign", {"instruction": "交办"}),
                             ("escalate", {"reason": ""})):
            resp = await other.post(f"/work/tickets/{tid}/{what}", data={"csrf": csrf, **fields})
            assert resp.status == 404, (name, what)
    resp = await district.post(f"/work/tickets/{tid}/escalate", data={"csrf": await csrf_of(district), "reason": "x"})
    assert resp.status == 404  # it reads, it does not move the street's ticket
    await escalate(street, tid, "需要区里协调")
    assert (await get(portal, tid)).assignee.department == DISTRICT
    ftq = await login(aiohttp_client, portal["server"], "ftq1")
    assert (await ftq.get(f"/work/tickets/{tid}")).status == 404
    assert tid not in await (await ftq.get("/work/tickets")).text()
    city = await login(aiohttp_client, portal["server"], "city1")
    assert (await city.get(f"/work/tickets/{tid}")).status == 404  # it has not reached 市
    assert (await street.get(f"/work/tickets/{tid}")).status == 404


async def test_a_department_escalates_to_its_districts_coordinating_office(portal, aiohttp_client) -> None:
    tid = (await ticket_at(portal, "区城管局")).id
    dept = await login(aiohttp_client, portal["server"], "cg1")
    await accepted(dept, tid)
    status, page = await escalate(dept, tid, "涉及住建和水务，需要区里统筹")
    assert status == 200 and f"已上报{DISTRICT}" in page
    assert (await get(portal, tid)).assignee.department == DISTRICT


async def test_the_resident_hears_the_tier_it_went_to_not_the_reason(portal, aiohttp_client) -> None:
    conversations = ConversationStore(portal["redis"])
    conv = await conversations.current("web", "browser-escalation")
    tid = (await ticket_at(portal, STREET, conversation_id=conv.id)).id
    street = await login(aiohttp_client, portal["server"], "yh1")
    await accepted(street, tid)
    await escalate(street, tid, f"内部原因：产权不清，经办人电话 {PHONE}")
    district = await login(aiohttp_client, portal["server"], "nsq1")
    await post(district, tid, "assign", instruction="请街道牵头处理")
    texts = [e["text"] for e in await conversations.transcript(conv.id) if e.get("author") == "system"]
    assert len(texts) == 2, texts  # one notice per 上报 (its 督办 and dispatch are one step to the resident)
    assert f"工单号 {tid}）已上报区级部门协调处理" in texts[0] and "前办结" in texts[0]
    assert f"工单号 {tid}）已由上级督办，交粤海街道办事处" in texts[1]
    for text in texts:
        assert "产权不清" not in text and PHONE not in text and "yh1" not in text and "超过办理时限" not in text


async def test_the_mediation_failure_goes_up_the_same_path(portal, aiohttp_client) -> None:
    conversations = ConversationStore(portal["redis"])
    conv = await conversations.current("web", "browser-mediation")
    tid = (await ticket_at(portal, "科技园社区综治中心", text="楼上邻居天天半夜装修，协商不成，请社区帮忙调解",
                           conversation_id=conv.id)).id
    centre = await login(aiohttp_client, portal["server"], "kjy1")
    await accepted(centre, tid)
    page = await (await centre.get(f"/work/tickets/{tid}")).text()
    assert 'id="failure-form"' in page and 'id="escalate-form"' not in page  # a dispute goes up via its record
    await mediate(centre, tid)
    status, _ = await post(centre, tid, "mediation/failure", reason=f"赔偿谈不拢，李某电话 {PHONE}")
    assert status == 200
    texts = [e["text"] for e in await conversations.transcript(conv.id) if e.get("author") == "system"]
    assert any("已上报街道办事处协调处理" in t for t in texts) and not any("超过办理时限" in t for t in texts)
    street = await login(aiohttp_client, portal["server"], "yh1")
    item = list_item(await (await street.get("/work/tickets")).text(), tid)
    assert "调解上报" in item and "科技园社区综治中心上报（督办层级 街道）" in item
    # the street office sends it back down: the 综治中心 mediates again, marked 督办
    status, _ = await post(street, tid, "assign", instruction="请社区再组织一次调解，街道司法所派人参加")
    assert status == 200
    page = await (await centre.get(f"/work/tickets/{tid}")).text()
    assert "粤海街道办事处交办" in page and "街道司法所派人参加" in page
    await accepted(centre, tid)
    status, page = await post(centre, tid, "mediation/sessions", **{**SESSION, "when": "2026-03-09T15:00"})
    assert status == 200


async def console_client(aiohttp_client, server: Any, redis: Any, role: str) -> TestClient:
    await UserStore(redis).add(f"op-{role}", role, "operator password 1")
    client = await aiohttp_client(server)
    page = await (await client.get("/console/login")).text()
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    resp = await client.post("/console/login", data={"username": f"op-{role}", "password": "operator password 1",
                                                     "csrf": token})
    assert resp.status == 200, await resp.text()
    return client


async def test_the_console_shows_the_trail_and_the_mediation_record_masked(portal, aiohttp_client) -> None:
    tid = (await ticket_at(portal, "科技园社区综治中心", text="楼上邻居天天半夜装修，协商不成，请社区帮忙调解")).id
    centre = await login(aiohttp_client, portal["server"], "kjy1")
    await accepted(centre, tid)
    await mediate(centre, tid)
    await post(centre, tid, "mediation/failure", reason=f"赔偿谈不拢，李某电话 {PHONE}")
    street = await login(aiohttp_client, portal["server"], "yh1")
    await accepted(street, tid)
    await escalate(street, tid, "街道调解也不成，需要区里协调")
    for role in ("supervisor", "operator"):
        console = await console_client(aiohttp_client, portal["server"], portal["redis"], role)
        resp = await console.get(f"/console/tickets/{tid}")
        assert resp.status == 200
        page = await resp.text()
        trail = re.search(r'id="escalation-trail">(.*?)</ol>', page, re.S).group(1)
        assert re.findall(r'data-kind="(\w+)"', trail) == ["report_up", "report_up"]
        assert "科技园社区综治中心 → 粤海街道办事处" in trail and f"粤海街道办事处 → {DISTRICT}" in trail
        assert "unit:kjy1" in trail and "unit:yh1" in trail and "赔偿谈不拢" in trail and "督办层级 区" in trail
        assert "上报区级：街道调解也不成" in trail
        record = re.search(r'id="mediation">(.*?)id="mediation-sessions">(.*?)</ol>', page, re.S)
        assert record is not None
        assert "张某" in record.group(1) and "李某（502业主）" in record.group(1) and "调解不成功" in record.group(1)
        assert "社区调解室" in record.group(2) and "约定晚上八点后不施工" in record.group(2)
        assert PHONE not in page and "5678" in page  # masked for every role, as the street office reads it


def test_the_new_unit_kinds_are_named_like_the_ones_below() -> None:
    from router.adapters.units import _check

    assert _check("nsq1", "district", DISTRICT).value == "district"
    assert _check("city1", "city", CITY).value == "city"
    for kind, bad in (("district", "南山区政府"), ("district", "12345分中心"), ("city", "市热线")):
        with pytest.raises(InvalidUnit, match="ends with"):
            _check("x1", kind, bad)


@pytest.mark.parametrize("what", ["escalate", "assign"])
async def test_escalation_posts_need_a_login_and_the_forms_token(portal, aiohttp_client, what: str) -> None:
    ticket = await ticket_at(portal, STREET)
    fields = {"reason": "本级解决不了", "instruction": "请三日内办结"}
    stranger = await aiohttp_client(portal["server"])
    resp = await stranger.post(f"/work/tickets/{ticket.id}/{what}", data={"csrf": "x", **fields})
    assert resp.status == 401
    street = await login(aiohttp_client, portal["server"], "yh1")
    resp = await street.post(f"/work/tickets/{ticket.id}/{what}", data={"csrf": "forged", **fields})
    assert resp.status == 403
    after = await get(portal, ticket.id)
    assert (after.status, after.version) == (ticket.status, ticket.version)
