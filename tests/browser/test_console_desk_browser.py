"""The operators' desk in a real browser: a supervisor edits a canned reply and switches auto-assignment on;
an operator with the queue open is given a waiting resident, with a notice, and picks the edited reply."""

from __future__ import annotations

from pathlib import Path

import pytest

from router.adapters.conversations import ConversationStore
from router.console.users import UserStore
from tests.browser.conftest import ConsoleServer
from tests.browser.helpers import console_login, launch_browser
from tests.browser.test_console_browser import queue_conversation, wait_until

pytestmark = pytest.mark.browser

PASSWORD = "browser-test-password"


def test_supervisor_sets_up_the_desk_and_an_operator_is_assigned(console_server: ConsoleServer,
                                                                  artifacts: Path) -> None:
    from playwright.sync_api import sync_playwright

    srv = console_server
    srv.run(UserStore(srv.redis).add("op1", "operator", PASSWORD))
    srv.run(UserStore(srv.redis).add("sup", "supervisor", PASSWORD))

    with sync_playwright() as pw:
        browser = launch_browser(pw)
        try:
            sup = browser.new_context(locale="zh-CN").new_page()
            console_login(sup, srv.base_url, "sup", PASSWORD)
            sup.goto(f"{srv.base_url}/console/canned")
            row = sup.locator("tr[data-canned]", has=sup.locator('input[value="请稍候"]'))
            row.locator('textarea[name="text"]').fill("请稍等一下，我马上帮您查。")
            row.locator("button", has_text="保存").click()
            sup.locator(".flash-ok", has_text="已保存快捷回复").wait_for()
            sup.screenshot(path=str(artifacts / "console-canned.png"), full_page=True)

            op = browser.new_context(locale="zh-CN").new_page()
            console_login(op, srv.base_url, "op1", PASSWORD)  # the queue page is open: op1 is online

            sup.goto(f"{srv.base_url}/console/assignment")
            sup.click("#assignment-toggle")
            sup.locator("#assignment-state", has_text="已开启").wait_for()
            sup.locator('tr[data-user="op1"]', has_text="在线").wait_for()
            sup.screenshot(path=str(artifacts / "console-assignment.png"), full_page=True)

            conv_id = srv.run(queue_conversation(srv.redis, "resident-9", "小区门口的井盖丢了"))
            op.locator(".flash-ok", has_text="有一个会话分配给了您").wait_for(timeout=10_000)
            link = op.locator(f'a.mine-link[href="/console/conversations/{conv_id}"]')
            link.wait_for(timeout=10_000)
            assert op.locator(".mine .badge-assigned", has_text="系统分配").count() == 1
            op.screenshot(path=str(artifacts / "console-assigned.png"), full_page=True)
            link.click()
            op.wait_for_selector("#reply-text:not([disabled])")
            op.locator("[data-canned-text]", has_text="请稍候").click()
            assert op.input_value("#reply-text") == "请稍等一下，我马上帮您查。"
            op.click("#reply-send")
            op.locator("#timer-first-response").wait_for()
            wait_until(lambda: [r for cid, r in srv.sender.sent if cid == conv_id and r.author == "operator"])
            conv = srv.run(ConversationStore(srv.redis).require(conv_id))
            assert conv.operator == "op1" and conv.first_response_seconds is not None
        finally:
            browser.close()
