"""上报 and 交办 in the units' portal on a phone (390×844, Debian chromium): a 网格员 signs for a ticket and
escalates it to the street office with a reason; the street office finds it marked 上报 with who sent it and
why, and sends it back down with a 督办意见, which the 网格员 then reads on the ticket. Screenshots go to the
artifacts folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from router.adapters.ticket_store import RedisTicketStore
from router.adapters.units import UnitStore
from router.domain.tickets import Status
from tests.browser.conftest import ConsoleServer
from tests.browser.helpers import launch_browser
from tests.browser.test_portal_browser import PHONE, dispatch_to_grid

pytestmark = pytest.mark.browser

PASSWORD = "escalation-password-1"


def test_a_grid_worker_escalates_and_the_street_office_sends_it_back_on_a_phone(
        console_server: ConsoleServer, artifacts: Path) -> None:
    from playwright.sync_api import sync_playwright

    srv = console_server
    srv.run(UnitStore(srv.redis).add("g01", "grid", "G01网格员", PASSWORD))
    srv.run(UnitStore(srv.redis).add("yh1", "street", "粤海街道办事处", PASSWORD))
    ticket_id = srv.run(dispatch_to_grid(srv.redis))

    with sync_playwright() as pw:
        browser = launch_browser(pw)
        try:
            def phone(name: str):  # type: ignore[no-untyped-def]
                page = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                           locale="zh-CN").new_page()
                page.goto(f"{srv.base_url}/work/")
                page.fill("#username", name)
                page.fill("#password", PASSWORD)
                page.click("#login-submit")
                page.wait_for_selector("#tickets")
                return page

            grid = phone("g01")
            grid.goto(f"{srv.base_url}/work/tickets/{ticket_id}")
            grid.click("#accept")
            grid.wait_for_selector("#escalate-form", state="attached")
            grid.click("text=本级解决不了？上报粤海街道办事处")
            grid.fill("#escalate-reason", "堵通道的是隔壁工地的材料，物业管不了，需要街道协调")
            grid.screenshot(path=str(artifacts / "escalation-1-grid.png"), full_page=True)
            grid.click("#escalate-submit")
            grid.wait_for_selector("#flash")
            assert "已上报粤海街道办事处" in grid.locator("#flash").text_content()
            assert grid.locator(f'.ticket[data-id="{ticket_id}"]').count() == 0  # the street office's now

            street = phone("yh1")
            item = street.locator(f'.ticket[data-id="{ticket_id}"]')
            text = item.text_content()
            assert "上报" in text and "G01网格员上报" in text and "隔壁工地的材料" in text
            street.screenshot(path=str(artifacts / "escalation-2-street-list.png"), full_page=True)
            item.locator("a").click()
            street.wait_for_selector("#assign-form")
            assert "G01网格员上报" in street.locator("#came").text_content()
            street.fill("#assign-instruction", "已联系工地负责人，今天下午清走，请网格员下班前复查")
            street.click("#assign-submit")
            street.wait_for_selector("#flash")
            assert "已交办G01网格员" in street.locator("#flash").text_content()

            grid.goto(f"{srv.base_url}/work/tickets")
            item = grid.locator(f'.ticket[data-id="{ticket_id}"]')
            assert "督办·交办" in item.text_content()
            item.locator("a").click()
            grid.wait_for_selector("#came")
            assert "请网格员下班前复查" in grid.locator("#came-reason").text_content()
            assert grid.locator("#ticket-status").text_content() == Status.DISPATCHED.value
            grid.screenshot(path=str(artifacts / "escalation-3-grid-assigned.png"), full_page=True)
        finally:
            browser.close()

    ticket = srv.run(RedisTicketStore(srv.redis).require(ticket_id))
    assert ticket.assignee is not None and ticket.assignee.department == "G01网格员"
    assert [h.action for h in ticket.history[-3:]] == ["escalate", "dispatch", "dispatch"]
