"""The whole handoff as people meet it, on the running stack in Debian's chromium.

A resident on the web page asks for a person → the conversation appears in the console queue → an
operator logs in, claims it, replies → the resident's page shows the reply without reloading → the
operator hands back → the bot answers the next message.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.browser.helpers import console_login, hand_back, launch_browser, send_operator_reply
from tests.e2e.stack import Stack

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_resident_asks_for_a_person_and_gets_the_operator_reply_live(stack: Stack) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    user, password = stack.console_login()
    with sync_playwright() as p:
        browser = launch_browser(p)
        resident = browser.new_context(viewport={"width": 390, "height": 780}, locale="zh-CN").new_page()
        resident.goto(stack.url + "/")
        expect(resident.locator(".msg.bot").first).to_contain_text("社区民生服务助手")

        resident.fill("#text", "我要找人工客服")
        resident.click("#send")
        expect(resident.locator("#status")).to_contain_text("人工", timeout=30_000)

        # Other tests of this session may have left people waiting: take this resident's conversation.
        conv_id = resident.evaluate(
            "fetch('/api/v1/channels/web/history?session_id=' + encodeURIComponent("
            "sessionStorage.getItem('rsa.web.session'))).then(r => r.json()).then(d => d.conversation.id)")
        operator = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN").new_page()
        console_login(operator, stack.url, user, password)
        item = operator.locator(f'.queue-item[data-conversation="{conv_id}"]')
        expect(item).to_be_visible(timeout=15_000)
        operator.screenshot(path=str(ARTIFACTS / "e2e-console-queue.png"), full_page=True)
        item.locator("button.claim").click()
        operator.wait_for_url(re.compile(rf"/console/conversations/{conv_id}$"))
        operator.wait_for_selector("#reply-text:not([disabled])")
        send_operator_reply(operator, "您好，我是人工客服小李，请问有什么可以帮您？")
        operator.screenshot(path=str(ARTIFACTS / "e2e-console-transcript.png"), full_page=True)

        # Arrives over SSE: no reload on the resident's side.
        expect(resident.locator(".msg.operator")).to_contain_text("人工客服小李", timeout=15_000)
        resident.screenshot(path=str(ARTIFACTS / "e2e-resident-chat.png"), full_page=True)

        hand_back(operator)
        resident.fill("#text", "怎么办理居住证")
        resident.click("#send")
        expect(resident.locator(".msg.bot", has_text="居住证").first).to_be_visible(timeout=30_000)

        # History survives a reload.
        resident.reload()
        expect(resident.locator(".msg.operator")).to_contain_text("人工客服小李")
        browser.close()
