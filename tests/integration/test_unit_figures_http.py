"""Figures per handling unit over the whole router (create_app, real Redis): GET /api/v1/reports?group=unit
(JSON and CSV) and the console page /console/units, whose figures follow the tickets' moves."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import datetime, timedelta

import pytest

from router.console.users import UserStore
from router.domain.tickets import CST
from tests.integration.test_console import PASSWORD, login

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=CST)  # a Monday
TOKEN = "api-token-for-units"


class Clock:
    def __init__(self) -> None:
        self.at = T0

    def __call__(self) -> datetime:
        return self.at


def body(district: str = "南山区", text: str = "路灯坏了好几天") -> dict:
    return {"text": text, "channel": "web", "location": {"district": district, "street": "粤海街道"},
            # a dispatcher decides: the tickets below start in 受理
            "topic": {"l1": "城乡建设", "department": "区城管局", "confidence": 0.9, "needs_human_dispatch": True}}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def server(make_app, clock, aiohttp_server, redis, monkeypatch):
    monkeypatch.delenv("VAR_DIR", raising=False)
    srv = await aiohttp_server(make_app(api_token=TOKEN, deps={"clock": clock}))
    users = UserStore(redis)
    for name, role in (("op1", "operator"), ("sup", "supervisor"), ("root", "admin")):
        await users.add(name, role, PASSWORD)
    return srv


@pytest.fixture
async def api(aiohttp_client, server):
    return await aiohttp_client(server, headers={"Authorization": f"Bearer {TOKEN}"})


async def open_ticket(api, **kw) -> str:
    r = await api.post("/api/v1/tickets", json=body(**kw))
    assert r.status == 201, await r.text()
    return (await r.json())["id"]


async def move(api, clock: Clock, tid: str, action: str, after: timedelta = timedelta(hours=1), **data) -> None:
    clock.at += after
    r = await api.post(f"/api/v1/tickets/{tid}/transitions", json={"action": action, "actor": "tester", **data})
    assert r.status == 200, await r.text()


async def unit_rows(api, query: str = "") -> dict:
    r = await api.get(f"/api/v1/reports?group=unit{query}")
    assert r.status == 200, await r.text()
    data = await r.json()
    return {row["group"]: row for row in data["by_unit"]} | {"__district__": data["by_district"],
                                                             "__total__": data["total"]}


# ----------------------------------------------------------------------------------------------- API


async def test_api_figures_per_unit_returned_and_redispatched(api, clock) -> None:
    a = await open_ticket(api)
    await move(api, clock, a, "dispatch", department="区城管局")
    await move(api, clock, a, "return", reason="属于街道职责")
    await move(api, clock, a, "dispatch", department="粤海街道办事处")
    await move(api, clock, a, "accept")
    await move(api, clock, a, "resolve", after=timedelta(hours=5))
    await move(api, clock, a, "follow_up", rating="满意")
    b = await open_ticket(api, district="福田区", text="小区门口垃圾没人清运")
    await move(api, clock, b, "dispatch", department="区城管局")
    clock.at += timedelta(days=10)  # nobody signs for it: late 签收, and the ticket is overdue now
    rows = await unit_rows(api)
    city, street = rows["区城管局"], rows["粤海街道办事处"]
    assert (city["dispatched"], city["returned"], city["return_rate"], city["overdue_now"]) == (2, 1, 0.5, 1)
    assert (city["accept_due"], city["accepted_on_time"], city["accept_on_time_rate"]) == (1, 0, 0.0)
    assert (street["dispatched"], street["accepted"], street["accept_on_time_rate"]) == (1, 1, 1.0)
    assert (street["resolved"], street["resolve_on_time_rate"], street["satisfaction_rate"]) == (1, 1.0, 1.0)
    assert street["avg_handling_hours"] == 6.0
    assert {d["group"] for d in rows["__district__"]} == {"南山区", "福田区"}
    assert rows["__total__"]["dispatched"] == 3

    only = await unit_rows(api, "&district=福田区")
    assert set(only) - {"__district__", "__total__"} == {"区城管局"} and only["区城管局"]["dispatched"] == 1
    empty = await unit_rows(api, "&since=2027-01-01")
    assert len(empty) == 2 and empty["__total__"]["return_rate"] is None

    r = await api.get("/api/v1/reports.csv?group=unit")
    assert r.status == 200 and r.content_type == "text/csv"
    lines = list(csv.DictReader(io.StringIO((await r.read()).decode("utf-8-sig"))))
    assert {(x["group_by"], x["group"]) for x in lines} >= {("unit", "区城管局"), ("unit", "粤海街道办事处"),
                                                            ("all", "全部")}
    assert next(x for x in lines if x["group"] == "区城管局")["return_rate"] == "0.5"


async def test_api_keeps_the_department_report_and_refuses_bad_queries(api) -> None:
    await open_ticket(api)
    default = await (await api.get("/api/v1/reports")).json()
    assert set(default) == {"generated_at", "by_department", "by_district"}
    assert default["by_department"][0]["volume"] == 1
    text = (await (await api.get("/api/v1/reports.csv")).read()).decode("utf-8-sig")
    assert text.startswith("group_by,group,volume")
    for query, needle in (("group=team", "group must be"), ("district=南山区", "group=unit"),
                          ("group=unit&since=2026-12-01&until=2026-11-01", "before"),
                          ("group=unit&since=yesterday", "ISO 8601"), ("group=unit&district=" + "区" * 51, "longer")):
        for path in ("/api/v1/reports", "/api/v1/reports.csv"):
            r = await api.get(f"{path}?{query}")
            assert r.status == 400, (path, query)
            assert needle in (await r.json())["error"]["message"]
    spec = await (await api.get("/api/v1/openapi.json")).json()
    names = {p["name"] for p in spec["paths"]["/api/v1/reports"]["get"]["parameters"]}
    assert {"since", "until", "group", "district"} <= names


async def test_api_report_needs_the_internal_token(aiohttp_client, server) -> None:
    anon = await aiohttp_client(server)
    assert (await anon.get("/api/v1/reports?group=unit")).status in (401, 403)


# ------------------------------------------------------------------------------------------- console


def cell(page: str, table: str, group: str) -> list[str]:
    body = page.split(f'id="by-{table}"', 1)[1].split("</table>", 1)[0]
    row = re.search(rf'<tr data-group="{re.escape(html.escape(group))}">(.*?)</tr>', body, re.S)
    assert row, f"no row {group} in {table}"
    return [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1),
                                                                                   re.S)]


async def test_console_units_page_follows_the_tickets(api, aiohttp_client, server, clock) -> None:
    sup = await login(aiohttp_client, server, "sup")
    page = await (await sup.get("/console/units")).text()
    assert 'href="/console/units"' in page and "单位考核" in page
    assert "这段时间没有派单" in page

    tid = await open_ticket(api)
    await move(api, clock, tid, "dispatch", department="区城管局")
    page = await (await sup.get("/console/units")).text()
    #           单位       派单 签收 签收及时率 退单 退单率 办结 办结及时率 满意率 平均 超期
    assert cell(page, "unit", "区城管局") == ["区城管局", "1", "0", "—", "0", "0.0%", "0", "—", "—", "—", "0"]

    await move(api, clock, tid, "return", reason="不属我局")
    page = await (await sup.get("/console/units")).text()
    assert cell(page, "unit", "区城管局")[4:6] == ["1", "100.0%"]
    assert cell(page, "district", "南山区")[1] == "1"

    await move(api, clock, tid, "dispatch", department="粤海街道办事处")
    await move(api, clock, tid, "accept")
    await move(api, clock, tid, "resolve", after=timedelta(hours=3))
    page = await (await sup.get("/console/units")).text()
    assert cell(page, "unit", "粤海街道办事处") == ["粤海街道办事处", "1", "1", "100.0%", "0", "0.0%", "1", "100.0%",
                                                  "—", "4.0", "0"]
    assert cell(page, "district", "南山区")[1:3] == ["2", "1"]


async def test_console_units_filters_by_period_and_district(api, aiohttp_client, server, clock) -> None:
    a = await open_ticket(api)
    await move(api, clock, a, "dispatch", department="区城管局")
    b = await open_ticket(api, district="福田区", text="小区门口垃圾没人清运")
    await move(api, clock, b, "dispatch", department="福田区城管局")
    root = await login(aiohttp_client, server, "root")  # admins too
    page = await (await root.get("/console/units?district=福田区")).text()
    assert cell(page, "unit", "福田区城管局")[1] == "1" and 'data-group="区城管局"' not in page
    assert '<option value="南山区"' in page  # the other district stays selectable
    page = await (await root.get("/console/units?since=2026-11-24&until=2026-11-30")).text()
    assert "这段时间没有派单" in page and 'value="2026-11-24"' in page
    for query, needle in (("since=2026-13-01", "看不懂"), ("since=2026-11-30&until=2026-11-01", "不能晚于"),
                          ("since=2020-01-01&until=2026-11-01", "最多查看"), ("district=" + "区" * 51, "太长")):
        r = await root.get(f"/console/units?{query}")
        assert r.status == 400, query
        assert needle in await r.text()


async def test_console_units_is_for_supervisors_and_admins_only(aiohttp_client, server) -> None:
    op = await login(aiohttp_client, server, "op1")
    r = await op.get("/console/units")
    assert r.status == 403
    queue = await (await op.get("/console/queue")).text()
    assert 'href="/console/units"' not in queue
    anon = await aiohttp_client(server)
    r = await anon.get("/console/units", allow_redirects=False)
    assert r.status == 303 and r.headers["Location"].startswith("/console/login")


async def test_console_units_escapes_unit_names(api, aiohttp_client, server, clock) -> None:
    tid = await open_ticket(api)
    await move(api, clock, tid, "dispatch", department="<script>x()</script>局")
    sup = await login(aiohttp_client, server, "sup")
    page = await (await sup.get("/console/units")).text()
    assert "<script>x()" not in page and "&lt;script&gt;x()&lt;/script&gt;局" in page
