"""The units' work portal on a phone (390×844, Debian chromium): a 网格员 logs in, finds the ticket dispatched
to their grid, 签收, writes a 进展 with a photo taken on the spot, and 办结 with the result the resident will
read. A screenshot of each screen goes to the artifacts folder."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from router import keys
from router.adapters.dispatch import GROUP
from router.adapters.ticket_store import RedisTicketStore
from router.adapters.units import UnitStore
from router.domain.tickets import Status
from tests.browser.conftest import ConsoleServer
from tests.browser.helpers import launch_browser

pytestmark = pytest.mark.browser

PASSWORD = "grid-worker-password"
PHONE = {"width": 390, "height": 844}


def png(width: int = 48, height: int = 32) -> bytes:
    """A real (decodable) PNG: orange, like a hazard sign."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x8c\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


async def dispatch_to_grid(redis: Any) -> str:
    store = RedisTicketStore(redis)
    ticket = await store.create({"text": "大冲新城花园3栋消防通道被电动车和杂物堵住了", "channel": "web",
                                 "location": {"district": "南山区", "street": "粤海街道", "community": "大冲社区",
                                              "grid": "G01", "address": "大冲新城花园3栋"}}, actor="test")
    await store.transition(ticket.id, "dispatch", "console:op1", department="G01网格员", unit="大冲社区")
    return ticket.id


def test_grid_worker_accepts_notes_with_photo_and_resolves_on_a_phone(console_server: ConsoleServer,
                                                                       artifacts: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    srv = console_server
    srv.run(UnitStore(srv.redis).add("g01", "grid", "G01网格员", PASSWORD))
    ticket_id = srv.run(dispatch_to_grid(srv.redis))
    photo = tmp_path / "scene.png"
    photo.write_bytes(png())

    with sync_playwright() as pw:
        browser = launch_browser(pw)
        try:
            page = browser.new_page(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                    locale="zh-CN")
            page.goto(f"{srv.base_url}/work/")
            page.wait_for_selector("#login-submit")
            page.screenshot(path=str(artifacts / "portal-1-login.png"), full_page=True)
            page.fill("#username", "g01")
            page.fill("#password", PASSWORD)
            page.click("#login-submit")

            # 我的工单: the ticket dispatched to the grid, with its SLA countdown
            item = page.locator(f'.ticket[data-id="{ticket_id}"]')
            item.wait_for()
            assert "消防通道" in item.text_content() and "剩余" in item.text_content()
            assert page.locator("#who").text_content() == "G01网格员"
            page.screenshot(path=str(artifacts / "portal-2-list.png"), full_page=True)

            item.locator("a").click()
            page.wait_for_selector("#accept")
            assert page.locator("#ticket-status").text_content() == Status.DISPATCHED.value
            page.screenshot(path=str(artifacts / "portal-3-ticket.png"), full_page=True)

            # 签收: through the dispatch stream, whose entry is acknowledged
            page.click("#accept")
            page.wait_for_selector("#note-form")
            assert page.locator("#ticket-status").text_content() == Status.IN_PROGRESS.value
            assert "已签收" in page.locator("#flash").text_content()
            pending = srv.run(srv.redis.xpending(keys.dispatch_stream("G01网格员"), GROUP))
            assert int(pending["pending"]) == 0
            page.screenshot(path=str(artifacts / "portal-4-accepted.png"), full_page=True)

            # 进展 with a photo
            page.fill("#note-text", "已到现场，通知物业清理，电动车已挪走一半")
            page.set_input_files("#note-photo", str(photo))
            page.click("#note-submit")
            page.wait_for_selector("#flash")
            assert "进展已记录" in page.locator("#flash").text_content()
            link = page.locator("#timeline .photo-link")
            assert link.count() == 1
            href = link.get_attribute("href")
            page.screenshot(path=str(artifacts / "portal-5-note.png"), full_page=True)
            shown = page.request.get(f"{srv.base_url}{href}")
            assert shown.status == 200 and shown.headers["content-type"] == "image/png"
            assert shown.body() == photo.read_bytes()

            # 办结 with the result the resident will read
            page.fill("#resolve-text", "消防通道已清理干净，已告知物业每天巡查")
            page.click("#resolve-submit")
            page.wait_for_selector("#flash")
            assert "已办结" in page.locator("#flash").text_content()
            assert page.locator("#ticket-status").text_content() == Status.RESOLVED.value
            assert page.locator("#accept").count() == 0 and page.locator("#resolve-form").count() == 0
            page.screenshot(path=str(artifacts / "portal-6-resolved.png"), full_page=True)

            # a hazard found on patrol, reported from the phone with a photo: a new ticket on the grid channel
            page.click("text=← 我的工单")
            page.click("#report-link")
            page.wait_for_selector("#report-form")
            page.fill("#report-text", "大冲新城花园5栋门口井盖破损，有人差点踩空")
            page.fill("#report-address", "大冲新城花园5栋门口")
            page.set_input_files("#report-photo", str(photo))
            page.screenshot(path=str(artifacts / "portal-7-report.png"), full_page=True)
            page.click("#report-submit")
            page.wait_for_selector("#flash")
            assert "已上报" in page.locator("#flash").text_content()
            reported_id = page.locator("#ticket-status").locator("xpath=..").text_content().split()[0]
            assert page.locator("img.thumb").count() >= 1
            assert page.evaluate("document.querySelector('img.thumb').naturalWidth") == 48  # the photo loads
            page.screenshot(path=str(artifacts / "portal-8-reported.png"), full_page=True)
        finally:
            browser.close()

    ticket = srv.run(RedisTicketStore(srv.redis).require(ticket_id))
    assert ticket.status is Status.RESOLVED
    assert [h.action for h in ticket.history] == ["create", "dispatch", "accept", "note", "resolve"]
    assert ticket.history[-1].reason == "消防通道已清理干净，已告知物业每天巡查"
    assert {h.actor for h in ticket.history[2:]} == {"unit:g01"}
    reported = srv.run(RedisTicketStore(srv.redis).require(reported_id))
    assert reported.channel == "grid" and reported.location.grid == "G01"
    assert reported.history[0].actor == "unit:g01" and "井盖破损" in reported.text
