"""矛盾纠纷调处 in the work portal: a 综治中心 records the parties and sessions of a mediation, 办结s a
successful one with the agreement, and 上报街道 a failed one, which its street office then 签收s and goes on
with. Against a real Redis, the whole router built by create_app."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from router.adapters.units import UnitStore
from router.appkeys import TICKETS
from router.domain.tickets import Status
from tests.integration.test_portal import PASSWORD, UNITS, build_app, csrf_of, dispatched, login

PHONE = "13812345678"
CENTRE = "科技园社区综治中心"


@pytest.fixture
async def portal(redis, tmp_path, monkeypatch, aiohttp_server) -> dict[str, Any]:
    monkeypatch.delenv("VAR_DIR", raising=False)
    store = UnitStore(redis)
    for name, kind, unit in (*UNITS, ("ml1", "community", "麻岭社区综治中心")):
        await store.add(name, kind, unit, PASSWORD)
    app = build_app(redis, tmp_path)
    server = await aiohttp_server(app)
    return {"app": app, "server": server, "redis": redis}


async def dispute(portal: dict[str, Any]) -> str:
    ticket = await dispatched(portal["app"], CENTRE, text="楼上邻居天天半夜装修，协商不成，请社区帮忙调解")
    return ticket.id


async def post(client: TestClient, ticket_id: str, what: str, **fields: str) -> tuple[int, str]:
    csrf = await csrf_of(client, f"/work/tickets/{ticket_id}")
    resp = await client.post(f"/work/tickets/{ticket_id}/{what}", data={"csrf": csrf, **fields},
                             allow_redirects=True)
    return resp.status, await resp.text()


async def accepted(client: TestClient, ticket_id: str) -> None:
    status, _ = await post(client, ticket_id, "accept")
    assert status == 200


SESSION = {"when": "2026-03-02T09:30", "place": "社区调解室", "attendees": "双方当事人、调解员王某",
           "result": "约定晚上八点后不施工，赔偿问题未谈拢"}


async def mediate(client: TestClient, ticket_id: str) -> None:
    status, page = await post(client, ticket_id, "mediation/parties", parties=f"张某 {PHONE}\n李某（502业主）")
    assert status == 200 and "当事人已保存" in page
    status, page = await post(client, ticket_id, "mediation/sessions", **SESSION)
    assert status == 200 and "调解记录已添加" in page


async def test_the_record_refuses_bad_input_with_a_clear_message(portal, aiohttp_client) -> None:
    ticket_id = await dispute(portal)
    centre = await login(aiohttp_client, portal["server"], "kjy1")
    status, page = await post(centre, ticket_id, "mediation/parties", parties="张某\n李某")
    assert status == 409 and "请先签收" in page  # not taken on yet
    await accepted(centre, ticket_id)
    status, page = await post(centre, ticket_id, "mediation/sessions", **SESSION)
    assert status == 422 and "请先填写当事人" in page
    status, page = await post(centre, ticket_id, "mediation/parties", parties="张某")
    assert status == 422 and "2 到 6 个" in page
    status, page = await post(centre, ticket_id, "mediation/parties", parties="\n".join(f"当事人{i}" for i in range(7)))
    assert status == 422 and "2 到 6 个" in page
    status, page = await post(centre, ticket_id, "mediation/parties", parties="张某\n" + "李" * 41)
    assert status == 422 and "太长" in page
    status, page = await post(centre, ticket_id, "mediation/parties", parties="张某、李某")
    assert status == 200
    for bad, message in (({"when": "上周三"}, "时间格式不对"), ({"when": "2099-01-01T09:00"}, "不能晚于现在"),
                         ({"place": " "}, "请填写调解地点"), ({"result": ""}, "请填写调解情况")):
        status, page = await post(centre, ticket_id, "mediation/sessions", **{**SESSION, **bad})
        assert status == 422 and message in page, (bad, status)
    status, page = await post(centre, ticket_id, "mediation/success", agreement="双方和解")
    assert status == 422 and "至少一次调解" in page
    status, page = await post(centre, ticket_id, "mediation/success", agreement="")
    assert status == 422 and "调解协议" in page
    page = await (await centre.get(f"/work/tickets/{ticket_id}")).text()
    assert "张某；李某" in page  # nothing refused was kept
    assert re.search(r'id="mediation-sessions">\s*</ol>', page)
    ticket = await portal["app"][TICKETS].get(ticket_id)
    assert ticket.status is Status.IN_PROGRESS


async def test_another_unit_can_neither_see_nor_write_the_record(portal, aiohttp_client) -> None:
    ticket_id = await dispute(portal)
    centre = await login(aiohttp_client, portal["server"], "kjy1")
    await accepted(centre, ticket_id)
    await mediate(centre, ticket_id)
    for name in ("ml1", "sw1", "g01"):
        other = await login(aiohttp_client, portal["server"], name)
        resp = await other.get(f"/work/tickets/{ticket_id}")
        assert resp.status == 404
        csrf = await csrf_of(other)
        for what, fields in (("parties", {"parties": "甲\n乙"}), ("sessions", SESSION),
                             ("success", {"agreement": "和解"}), ("failure", {"reason": "谈不拢"})):
            resp = await other.post(f"/work/tickets/{ticket_id}/mediation/{what}", data={"csrf": csrf, **fields})
            assert resp.status == 404, (name, what)
            assert "谈不拢" not in await resp.text()
    # the street office reads its community's record but does not write it before a 上报
    street = await login(aiohttp_client, portal["server"], "yh1")
    status, page = await post(street, ticket_id, "mediation/sessions", **SESSION)
    assert status == 404
    ticket = await portal["app"][TICKETS].get(ticket_id)
    assert ticket.status is Status.IN_PROGRESS and ticket.assignee.department == CENTRE


async def test_success_resolves_the_ticket_with_the_agreement(portal, aiohttp_client) -> None:
    ticket_id = await dispute(portal)
    centre = await login(aiohttp_client, portal["server"], "kjy1")
    await accepted(centre, ticket_id)
    await mediate(centre, ticket_id)
    status, page = await post(centre, ticket_id, "mediation/success",
                              agreement="晚八点后停工，楼上补偿楼下五百元")
    assert status == 200 and "已办结" in page
    ticket = await portal["app"][TICKETS].get(ticket_id)
    assert ticket.status is Status.RESOLVED
    assert ticket.history[-1].action == "resolve" and "晚八点后停工，楼上补偿楼下五百元" in ticket.history[-1].reason
    assert ticket.history[-1].actor == "unit:kjy1"
    assert re.search(r'id="mediation-outcome">调解成功：晚八点后停工', page)
    assert "调解成功，办结</button>" not in page  # done: no more forms
    status, page = await post(centre, ticket_id, "mediation/sessions", **SESSION)
    assert status == 409


async def test_failure_escalates_to_the_street_office_which_goes_on_masked(portal, aiohttp_client) -> None:
    ticket_id = await dispute(portal)
    centre = await login(aiohttp_client, portal["server"], "kjy1")
    await accepted(centre, ticket_id)
    await mediate(centre, ticket_id)
    page = await (await centre.get(f"/work/tickets/{ticket_id}")).text()
    assert PHONE in page  # the 综治中心 wrote it and reads it whole
    street = await login(aiohttp_client, portal["server"], "yh1")
    page = await (await street.get(f"/work/tickets/{ticket_id}")).text()
    assert "张某" in page and PHONE not in page and "5678" in page  # the street office's view is masked
    assert 'id="session-form"' not in page

    status, page = await post(centre, ticket_id, "mediation/failure", reason="")
    assert status == 422 and "原因" in page
    status, page = await post(centre, ticket_id, "mediation/failure", reason=f"赔偿金额差距大，李某电话 {PHONE} 拒绝再谈")
    assert status == 200 and "已上报粤海街道办事处" in page
    ticket = await portal["app"][TICKETS].get(ticket_id)
    assert ticket.status is Status.DISPATCHED and ticket.assignee.department == "粤海街道办事处"
    assert ticket.escalation_level == "街道"
    assert [h.action for h in ticket.history[-2:]] == ["escalate", "dispatch"]
    assert "赔偿金额差距大" in ticket.history[-2].reason
    assert (await centre.get(f"/work/tickets/{ticket_id}")).status == 404  # the street office's now

    listing = await (await street.get("/work/tickets")).text()
    item = re.search(rf'data-id="{ticket_id}">.*?</li>', listing, re.S).group(0)
    assert "调解上报" in item
    page = await (await street.get(f"/work/tickets/{ticket_id}")).text()
    assert "已上报粤海街道办事处" in page and "赔偿金额差距大" in page and PHONE not in page
    await accepted(street, ticket_id)
    status, page = await post(street, ticket_id, "mediation/sessions",
                              **{**SESSION, "when": "2026-03-09T15:00", "place": "街道综治中心",
                                 "result": "街道司法所参与，双方同意再谈"})
    assert status == 200 and "街道司法所参与" in page
    status, page = await post(street, ticket_id, "mediation/failure", reason="再上报")
    assert status == 403  # a street office does not 上报 further from here
    status, page = await post(street, ticket_id, "mediation/success", agreement="补偿三百元，双方签字")
    assert status == 200
    ticket = await portal["app"][TICKETS].get(ticket_id)
    assert ticket.status is Status.RESOLVED and ticket.history[-1].actor == "unit:yh1"
