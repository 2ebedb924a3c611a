"""The other half of the loop, as the people in it meet it, on the running stack in Debian's chromium:

1. a resident reports a street stall blocking the way at 大冲新城花园 (a grid of 大冲社区) in the web chat and
   answers the bot's questions until it gives a ticket number — the routing table sends 城管执法 to the grid's
   网格员 for an on-site check, so the ticket is dispatched to 440305007029-03网格员 at once;
2. that 网格员, on a phone, logs in at /work/, finds the ticket, 签收, writes a 进展 with a photo and 办结 with
   the result;
3. the resident's open chat page shows the result and the rating question without reloading (the page's
   event stream); they tap 不满意 → the ticket is 重办 back to the grid, and the page tells them so;
4. the 粤海街道办事处, whose street the grid is in, sees the reopened ticket in its own list;
5. the supervisor's figures per unit (/console/units) count the second dispatch, the 办结 and the rating.

A screenshot of each screen goes to the artifacts folder (test-artifacts/loop-*.png).
"""

from __future__ import annotations

import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

from router.domain.tickets import Status
from tests.browser.helpers import console_login, launch_browser
from tests.browser.test_portal_browser import png
from tests.e2e.stack import ROOT, Stack

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
TICKET_ID = re.compile(r"SZ\d{8}-\d{6}")
GRID_UNIT = "440305007029-03网格员"  # 大冲社区第三网格 (大冲新城花园) in router/data/grids_sample.csv
RESIDENT_SEES = "大冲社区网格员"  # how the resident is told who handles it
STREET_UNIT = "粤海街道办事处"
REPORT = "大冲新城花园门口有人占道经营摆摊，堵住了人行道，行人都过不去"
RESULT = "已会同城管到现场劝离摊贩，人行道已清理通畅，将每天巡查"
REASON = "第二天摊贩又回来了，人行道还是走不了"
PASSWORD = "loop-unit-password"
FIGURES = ("dispatched", "accepted", "accept_rate", "returned", "return_rate", "resolved", "resolve_rate",
           "satisfaction_rate", "avg_hours", "overdue_now")


def add_unit_login(stack: Stack, login: str, kind: str, unit: str) -> None:
    """As an administrator with shell access does it: `python -m router.portal units add`, password on stdin."""
    r = subprocess.run([str(ROOT / ".venv/bin/python"), "-m", "router.portal", "units", "add", login, "--kind", kind,
                        "--unit", unit], input=PASSWORD + "\n", text=True, env={**stack.env, "REDIS_URL": stack.redis_url},
                       cwd=ROOT, capture_output=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def bot_said(page: Any) -> list[str]:
    """What the bot answered (the notices, which arrive on the page's stream at their own pace, left out)."""
    return list(page.locator(".msg.bot").all_text_contents())


def say(page: Any, text: str) -> None:
    """Type and send; returns once the bot has answered (the status line is cleared)."""
    before = page.locator(".msg.bot").count()
    page.fill("#text", text)
    page.click("#send")
    expect(page.locator(".msg.bot")).not_to_have_count(before, timeout=60_000)
    expect(page.locator("#send")).to_be_enabled()


def tap(page: Any, title: str) -> None:
    """Tap the last button with this title (the newest question's), as a resident does."""
    before = page.locator(".msg.bot").count()
    page.locator(".buttons button", has_text=re.compile(rf"^{re.escape(title)}$")).last.click()
    expect(page.locator(".msg.bot")).not_to_have_count(before, timeout=60_000)
    expect(page.locator("#send")).to_be_enabled()


def report_in_chat(page: Any, phone: str) -> str:
    """Report the problem and answer what the bot asks (when it started, a phone number) until it gives the
    ticket number."""
    say(page, REPORT)
    for _ in range(6):
        found = TICKET_ID.search(bot_said(page)[-1])
        if found:
            return found.group(0)
        last = bot_said(page)[-1]
        if "手机" in last or "电话" in last:
            say(page, phone)
        elif "什么时候" in last:
            tap(page, "最近几天")
        else:
            buttons = page.locator(".buttons").last.locator("button")
            skip = buttons.filter(has_text=re.compile("跳过|不用|没有|暂不"))
            assert skip.count(), f"the bot asked something a resident cannot skip: {last}"
            before = page.locator(".msg.bot").count()
            skip.last.click()
            expect(page.locator(".msg.bot")).not_to_have_count(before, timeout=60_000)
    raise AssertionError(f"no ticket number after answering the bot: {bot_said(page)}")


def unit_figures(page: Any, base_url: str, unit: str) -> dict[str, str]:
    """The unit's row of /console/units (all zero when it has none yet)."""
    page.goto(f"{base_url}/console/units")
    page.wait_for_selector("#by-unit")
    row = page.locator(f'#by-unit tr[data-group="{unit}"]')
    if not row.count():
        return {name: "0" for name in FIGURES}
    cells = row.locator("td").all_text_contents()[1:]
    figures = dict(zip(FIGURES, (c.strip() for c in cells), strict=True))
    figures["satisfied_of_rated"] = row.locator("td").nth(8).get_attribute("title") or ""
    return figures


def portal_login(page: Any, base_url: str, login: str) -> None:
    page.goto(f"{base_url}/work/")
    page.wait_for_selector("#login-submit")
    page.fill("#username", login)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#tickets, #no-tickets")


def test_resident_report_goes_round_the_loop_and_comes_back_when_not_satisfied(
        stack: Stack, artifacts: Path, tmp_path: Path) -> None:
    suffix = uuid.uuid4().hex[:6]
    grid_login, street_login = f"dc03-{suffix}", f"yuehai-{suffix}"
    add_unit_login(stack, grid_login, "grid", GRID_UNIT)
    add_unit_login(stack, street_login, "street", STREET_UNIT)
    user, password = stack.console_login()
    photo = tmp_path / "stall.png"
    photo.write_bytes(png())
    phone = "139" + str(uuid.uuid4().int)[:8]

    with sync_playwright() as pw:
        browser = launch_browser(pw)
        try:
            supervisor = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
            console_login(supervisor, stack.url, user, password)
            before = unit_figures(supervisor, stack.url, GRID_UNIT)

            # 1. the resident reports in the web chat
            resident = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                           locale="zh-CN").new_page()
            resident.goto(stack.url + "/")
            expect(resident.locator(".msg.bot").first).to_contain_text("社区民生服务助手")
            ticket_id = report_in_chat(resident, phone)
            confirmation = bot_said(resident)[-1]
            # the resident reads the grid worker by their community, never by the grid's code
            assert RESIDENT_SEES in confirmation and GRID_UNIT not in confirmation, confirmation
            # the auto-dispatch is told on the page's stream too: to whom, and by when
            dispatched = resident.locator(".msg.system", has_text=f"工单号 {ticket_id}）已转交")
            expect(dispatched).to_contain_text(RESIDENT_SEES, timeout=20_000)
            expect(dispatched).not_to_contain_text(GRID_UNIT)
            expect(dispatched).to_contain_text("前办结")
            resident.screenshot(path=str(artifacts / "loop-1-resident-reported.png"), full_page=True)

            status, ticket = stack.request("GET", f"/api/v1/tickets/{ticket_id}")
            assert status == 200, ticket
            assert ticket["status"] == Status.DISPATCHED.value, ticket
            assert ticket["assignee"]["department"] == GRID_UNIT
            assert ticket["location"]["street"] == "粤海街道"

            # 2. the 网格员 on a phone: find it, 签收, 进展 with a photo, 办结
            worker = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                         locale="zh-CN").new_page()
            portal_login(worker, stack.url, grid_login)
            item = worker.locator(f'.ticket[data-id="{ticket_id}"]')
            expect(item).to_be_visible()
            expect(item).to_contain_text("占道经营")
            worker.screenshot(path=str(artifacts / "loop-2-grid-list.png"), full_page=True)
            item.locator("a").click()
            worker.wait_for_selector("#accept")
            expect(worker.locator("#ticket-status")).to_have_text(Status.DISPATCHED.value)
            worker.click("#accept")
            worker.wait_for_selector("#note-form")
            expect(worker.locator("#ticket-status")).to_have_text(Status.IN_PROGRESS.value)
            worker.screenshot(path=str(artifacts / "loop-3-grid-accepted.png"), full_page=True)
            worker.fill("#note-text", "已到现场，摊贩正在收摊，城管队员已到")
            worker.set_input_files("#note-photo", str(photo))
            worker.click("#note-submit")
            expect(worker.locator("#flash")).to_contain_text("进展已记录")
            expect(worker.locator("#timeline .photo-link")).to_have_count(1)
            worker.screenshot(path=str(artifacts / "loop-4-grid-note.png"), full_page=True)
            worker.fill("#resolve-text", RESULT)
            worker.click("#resolve-submit")
            expect(worker.locator("#flash")).to_contain_text("已办结")
            expect(worker.locator("#ticket-status")).to_have_text(Status.RESOLVED.value)
            worker.screenshot(path=str(artifacts / "loop-5-grid-resolved.png"), full_page=True)

            # 3. the resident's open page: the result and the rating question arrive live; 不满意
            result = resident.locator(".msg", has_text=RESULT)
            expect(result).to_be_visible(timeout=20_000)
            expect(result).to_contain_text(ticket_id)
            expect(result).to_contain_text("满意吗")
            rating = resident.locator(".buttons").last
            expect(rating.locator("button")).to_have_text(["满意", "基本满意", "不满意"])
            resident.screenshot(path=str(artifacts / "loop-6-resident-result.png"), full_page=True)
            tap(resident, "不满意")
            expect(resident.locator(".msg.bot", has_text="很抱歉").last).to_be_visible()
            expect(resident.locator(".msg.bot").last).to_contain_text("请说说哪里还不满意")  # asked why
            reopened = resident.locator(".msg", has_text=f"您对工单 {ticket_id} 的处理不满意")
            expect(reopened).to_be_visible(timeout=20_000)
            expect(reopened).to_contain_text("重新交给")
            # the resident says why in their own words: it goes to the unit
            resident.fill("#text", REASON)
            resident.click("#send")
            expect(resident.locator(".msg", has_text="已记下您的意见")).to_be_visible(timeout=20_000)
            resident.screenshot(path=str(artifacts / "loop-7-resident-not-satisfied.png"), full_page=True)

            status, ticket = stack.request("GET", f"/api/v1/tickets/{ticket_id}")
            assert ticket["status"] == Status.DISPATCHED.value, ticket
            assert ticket["assignee"]["department"] == GRID_UNIT
            *_, resolved, rated, again = ticket["history"]
            assert (resolved["action"], resolved["reason"]) == ("resolve", RESULT)
            assert (rated["action"], rated["data"]["rating"]) == ("follow_up", "不满意")
            assert rated["actor"] == again["actor"] == f"resident:{ticket['conversation_id']}"
            assert (again["action"], again["to"]) == ("reopen", Status.DISPATCHED.value)

            # 4. the street office of the grid sees it back in its list, and why
            office = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN").new_page()
            portal_login(office, stack.url, street_login)
            row = office.locator(f'.ticket[data-id="{ticket_id}"]')
            expect(row).to_be_visible()
            expect(row.locator(".status")).to_have_text(Status.DISPATCHED.value)
            expect(row).to_contain_text(GRID_UNIT)
            expect(row.locator(".tag-reopened")).to_have_text("重办")  # marked in the list, not only inside
            office.screenshot(path=str(artifacts / "loop-8-street-list.png"), full_page=True)
            row.locator("a").click()
            expect(office.locator("#timeline")).to_contain_text("居民不满意")
            expect(office.locator("#accept")).to_have_count(0)  # the street office watches; the grid handles it
            office.screenshot(path=str(artifacts / "loop-9-street-ticket.png"), full_page=True)

            # the 网格员 has it back to 签收 again, and on 签收 reads the resident's reason
            worker.goto(f"{stack.url}/work/tickets/{ticket_id}")
            expect(worker.locator("#ticket-status")).to_have_text(Status.DISPATCHED.value)
            expect(worker.locator("#accept")).to_be_visible()
            worker.click("#accept")
            expect(worker.locator("#ticket-status")).to_have_text(Status.IN_PROGRESS.value)
            expect(worker.locator("#timeline")).to_contain_text(f"居民补充不满意原因：{REASON}")

            # 5. the supervisor's figures for the grid moved
            after = unit_figures(supervisor, stack.url, GRID_UNIT)
            supervisor.screenshot(path=str(artifacts / "loop-10-console-units.png"), full_page=True)
        finally:
            browser.close()

    assert int(after["dispatched"]) == int(before["dispatched"]) + 2, (before, after)  # 派单, then 重办
    assert int(after["accepted"]) == int(before["accepted"]) + 2, (before, after)  # 签收, then again after 重办
    assert int(after["resolved"]) == int(before["resolved"]) + 1, (before, after)
    satisfied, rated = (int(n) for n in after["satisfied_of_rated"].split("/"))
    if before.get("satisfied_of_rated"):
        was_satisfied, was_rated = (int(n) for n in before["satisfied_of_rated"].split("/"))
    else:
        was_satisfied, was_rated = 0, 0
    assert (satisfied, rated) == (was_satisfied, was_rated + 1), (before, after)
