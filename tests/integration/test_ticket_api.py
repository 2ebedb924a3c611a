"""Ticket HTTP API and reports over aiohttp's test client, against the real Redis fixture."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest

from router.appkeys import OPENAPI_PATHS
from router.domain.tickets import CST, Action, Rating, Status, Topic, new_ticket
from router.services.reports import compute_report, report_to_csv

T0 = datetime(2026, 11, 25, 9, 30, tzinfo=CST)


class Clock:
    def __init__(self) -> None:
        self.at = T0

    def __call__(self) -> datetime:
        return self.at


BODY = {
    "text": "南山区粤海街道科技园社区路灯坏了好几天",
    "channel": "wechat",
    "conversation_id": "C0123456789abcdef",
    "address": "科技园路1号",
    "location": {"district": "南山区", "street": "粤海街道", "community": "科技园社区", "grid": "G01"},
    # a dispatcher decides (the lifecycle below starts in 受理); see the auto-dispatch test for the other case
    "topic": {"l1": "城乡建设", "l2": "市政设施", "department": "区城管局", "confidence": 0.9,
              "needs_human_dispatch": True},
    "contact_phone": "13812345678",
    "contact_name": "王小明",
    "urgency": "general",
}


@pytest.fixture
def clock() -> Clock:
    return Clock()


TOKEN = "api-token-for-tests"


@pytest.fixture
async def client(aiohttp_client, make_app, clock):
    app = make_app(api_token=TOKEN, deps={"clock": clock})
    return await aiohttp_client(app, headers={"Authorization": f"Bearer {TOKEN}"})


async def test_create_get_and_idempotent_retry(client) -> None:
    r = await client.post("/api/v1/tickets", json=BODY, headers={"Idempotency-Key": "k-1"})
    assert r.status == 201
    created = await r.json()
    assert created["id"] == "SZ20261125-000001"
    assert created["status"] == "受理" and created["channel"] == "wechat"
    assert created["sla_deadline"] == "2026-12-02T09:30:00+08:00"
    assert created["location"]["address"] == "科技园路1号"
    assert created["history"][0]["to"] == "受理"
    again = await client.post("/api/v1/tickets", json=BODY, headers={"Idempotency-Key": "k-1"})
    assert (await again.json())["id"] == created["id"]
    got = await (await client.get(f"/api/v1/tickets/{created['id']}")).json()
    assert got["contact"]["phone"] == "138****5678"
    full = await (await client.get(f"/api/v1/tickets/{created['id']}?unmask=1")).json()
    assert full["contact"]["phone"] == "13812345678"


async def test_a_resident_report_without_a_topic_is_classified_placed_and_dispatched(client) -> None:
    """The router as it runs (create_app): the intake reads the text, finds topic and place, and a
    confident topic goes to its unit at once; nobody has to dispatch a plain street-light report."""
    body = {"text": "南山区粤海街道科技园社区的路灯坏了好几天，晚上很黑", "channel": "web",
            "contact_phone": "13812345678"}
    r = await client.post("/api/v1/tickets", json=body)
    assert r.status == 201
    created = await r.json()
    assert created["location"]["district"] == "南山区" and created["location"]["street"] == "粤海街道"
    assert created["topic"]["l1"] == "城乡建设" and created["topic"]["department"]
    assert created["status"] == "派单", created
    assert created["history"][-1]["reason"].startswith("自动派单")


async def test_a_topic_the_routing_table_does_not_know_waits_for_a_dispatcher(client) -> None:
    """An API client's own l1 (found by fuzzing the OpenAPI document): the ticket is kept in 受理 for a
    person to dispatch, never a 500 after it was already saved."""
    body = {"text": "小区门口的路灯坏了", "channel": "web",
            "topic": {"l1": "不存在的分类", "department": "某局", "confidence": 0.99}}
    r = await client.post("/api/v1/tickets", json=body)
    assert r.status == 201, await r.text()
    assert (await r.json())["status"] == "受理"


async def test_unknown_ticket_is_404_json(client) -> None:
    r = await client.get("/api/v1/tickets/SZ20261125-999999")
    assert r.status == 404
    assert (await r.json())["error"]["code"] == "ticket_not_found"
    r = await client.post("/api/v1/tickets/SZ20261125-999999/transitions", json={"action": "dispatch", "actor": "op"})
    assert r.status == 404


async def test_bad_bodies_are_400_with_a_message(client) -> None:
    for body in ({"channel": "web"}, {**BODY, "urgency": "soon"}, {**BODY, "text": ""}):
        r = await client.post("/api/v1/tickets", json=body)
        assert r.status == 400, body
        err = (await r.json())["error"]
        assert err["code"] and err["message"]
    r = await client.post("/api/v1/tickets", data="{not json", headers={"Content-Type": "application/json"})
    assert r.status == 400
    tid = (await (await client.post("/api/v1/tickets", json=BODY)).json())["id"]
    for body in ({"actor": "op"}, {"action": "fly", "actor": "op"}, {"action": "dispatch"},
                 {"action": "dispatch", "actor": "op", "department": 5}):
        r = await client.post(f"/api/v1/tickets/{tid}/transitions", json=body)
        assert r.status == 400, body
    r = await client.get("/api/v1/tickets?limit=0")
    assert r.status == 400
    r = await client.get("/api/v1/tickets?status=done")
    assert r.status == 400


async def test_transitions_and_illegal_move_is_409_and_changes_nothing(client) -> None:
    tid = (await (await client.post("/api/v1/tickets", json=BODY)).json())["id"]
    before = await (await client.get(f"/api/v1/tickets/{tid}")).json()
    r = await client.post(f"/api/v1/tickets/{tid}/transitions", json={"action": "resolve", "actor": "op"})
    assert r.status == 409
    err = (await r.json())["error"]
    assert err["code"] == "illegal_transition" and err["ticket_status"] == "受理" and err["action"] == "resolve"
    assert await (await client.get(f"/api/v1/tickets/{tid}")).json() == before

    r = await client.post(f"/api/v1/tickets/{tid}/transitions",
                          json={"action": "dispatch", "actor": "调度员", "department": "区城管局"})
    assert r.status == 200 and (await r.json())["status"] == "派单"
    r = await client.post(f"/api/v1/tickets/{tid}/transitions",
                          json={"action": "return", "actor": "城管"})  # 退单 without a reason
    assert r.status == 400
    r = await client.post(f"/api/v1/tickets/{tid}/transitions",
                          json={"action": "return", "actor": "城管", "reason": "应由供电局处理"})
    t = await r.json()
    assert t["status"] == "退单" and t["history"][-1]["reason"] == "应由供电局处理"
    assert t["history"][-1]["from"] == "派单" and t["history"][-1]["actor"] == "城管"


async def test_list_filters_and_masks_contacts(client, clock) -> None:
    await client.post("/api/v1/tickets", json=BODY)
    clock.at += timedelta(minutes=1)
    other = {**BODY, "text": "福田区华强北噪音扰民", "location": {"district": "福田区", "street": "华强北街道"},
             "topic": {"l1": "环境保护", "department": "区生态环境局"}}
    await client.post("/api/v1/tickets", json=other)
    r = await client.get("/api/v1/tickets?district=福田区")
    items = (await r.json())["items"]
    assert [i["location"]["district"] for i in items] == ["福田区"]
    assert items[0]["contact"] == {"name": "王**", "phone": "138****5678"}
    assert "13812345678" not in await (await client.get("/api/v1/tickets")).text()
    r = await client.get("/api/v1/tickets?department=区城管局&status=受理")
    assert len((await r.json())["items"]) == 1
    r = await client.get("/api/v1/tickets?department=区城管局&status=派单")
    assert (await r.json())["items"] == []


async def test_duplicate_report_via_api_is_merged(client) -> None:
    first = await (await client.post("/api/v1/tickets", json=BODY)).json()
    second = await (await client.post("/api/v1/tickets", json={**BODY, "text": "科技园社区的路灯坏了好几天了"})).json()
    assert second["status"] == "合并" and second["merged_into"] == first["id"]
    assert (await (await client.get(f"/api/v1/tickets/{first['id']}")).json())["reporters"] == 2


async def test_openapi_paths_registered(client) -> None:
    paths = client.app[OPENAPI_PATHS]
    assert {"/api/v1/tickets", "/api/v1/tickets/{id}", "/api/v1/tickets/{id}/transitions",
            "/api/v1/reports", "/api/v1/reports.csv"} <= set(paths)
    assert "409" in paths["/api/v1/tickets/{id}/transitions"]["post"]["responses"]
    ref = paths["/api/v1/tickets/{id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    spec = await (await client.get("/api/v1/openapi.json")).json()
    schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert {"id", "status", "history", "sla_deadline", "contact"} <= set(schema["properties"])


# ----------------------------------------------------------------------------------- reports


def _ticket(n: int, dept: str, district: str, steps: list[tuple], urgency: str = "general"):
    t = new_ticket(f"SZ20261125-{n:06d}", at=T0, actor="bot", channel="web", text=f"事项{n}",
                   topic=Topic("城乡建设", None, None, dept, 0.9), urgency=urgency)
    t = __import__("dataclasses").replace(t, location=t.location.__class__(district=district))
    at = T0
    for action, hours, kw in steps:
        at = T0 + timedelta(hours=hours)
        t = __import__("router.domain.tickets", fromlist=["apply"]).apply(t, action, "op", at, **kw)
    return t


def test_report_rates_per_department_and_district() -> None:
    done = [(Action.DISPATCH, 1, {}), (Action.ACCEPT, 2, {}), (Action.RESOLVE, 10, {})]
    tickets = [
        _ticket(1, "区城管局", "南山区", [*done, (Action.FOLLOW_UP, 11, {"rating": "满意"})]),
        _ticket(2, "区城管局", "南山区", [*done, (Action.FOLLOW_UP, 11, {"rating": "不满意"})]),
        # resolved after 200 h: past the 7-day (168 h) limit
        _ticket(3, "区城管局", "福田区", [(Action.DISPATCH, 1, {}), (Action.ACCEPT, 2, {}),
                                         (Action.RESOLVE, 200, {})]),
        _ticket(4, "区水务局", "福田区", [(Action.DISPATCH, 1, {})]),
        _ticket(5, "区水务局", "福田区", [(Action.WITHDRAW, 1, {})]),
        _ticket(6, "区水务局", "福田区", [(Action.MERGE, 1, {"merged_into": "SZ20261125-000004"})]),
    ]
    report = compute_report(tickets)
    by_dept = {r.group: r for r in report["department"]}
    cg = by_dept["区城管局"]
    assert (cg.volume, cg.resolved, cg.on_time) == (3, 3, 2)
    assert cg.on_time_rate == pytest.approx(2 / 3, abs=1e-4)
    assert cg.resolution_rate == 1.0
    assert cg.satisfaction_rate == 0.5
    assert cg.avg_handling_hours == pytest.approx((10 + 10 + 200) / 3, abs=0.01)
    sw = by_dept["区水务局"]
    assert sw.volume == 2  # the merged duplicate does not count twice
    assert sw.resolution_rate == 0.0 and sw.on_time_rate is None and sw.satisfaction_rate is None
    by_district = {r.group: r for r in report["district"]}
    assert by_district["南山区"].volume == 2 and by_district["福田区"].volume == 3
    rows = list(csv.DictReader(io.StringIO(report_to_csv(report))))
    assert {(r["group_by"], r["group"]) for r in rows} == {
        ("department", "区城管局"), ("department", "区水务局"), ("district", "南山区"), ("district", "福田区")}
    assert Rating.SATISFIED.value == "满意"


async def test_reports_endpoints(client, clock) -> None:
    tid = (await (await client.post("/api/v1/tickets", json=BODY)).json())["id"]
    for step in ({"action": "dispatch"}, {"action": "accept"}, {"action": "resolve"},
                 {"action": "follow_up", "rating": "基本满意"}):
        clock.at += timedelta(hours=1)
        r = await client.post(f"/api/v1/tickets/{tid}/transitions", json={**step, "actor": "op"})
        assert r.status == 200, await r.text()
    data = await (await client.get("/api/v1/reports")).json()
    [row] = data["by_department"]
    assert row["group"] == "区城管局" and row["volume"] == 1
    assert row["on_time_rate"] == 1.0 and row["satisfaction_rate"] == 1.0
    assert row["avg_handling_hours"] == 3.0
    r = await client.get("/api/v1/reports.csv")
    assert r.status == 200 and r.content_type == "text/csv"
    text = (await r.read()).decode("utf-8-sig")
    assert text.splitlines()[0].startswith("group_by,group,volume") and "区城管局" in text
    empty = await (await client.get("/api/v1/reports?since=2027-01-01")).json()
    assert empty["by_department"] == []
    assert (await client.get("/api/v1/reports?since=yesterday")).status == 400
    assert Status.RESOLVED.value == "办结"


async def test_a_draft_with_values_of_the_wrong_type_is_a_400(client) -> None:
    for body in ({"text": "路灯坏了", "channel": [None, None]}, {"text": "路灯坏了", "urgency": ["x"]},
                 {"text": "路灯坏了", "channel": {"a": 1}}):
        resp = await client.post("/api/v1/tickets", json=body)
        assert resp.status == 400, (body, await resp.text())
