"""The operator console in a real browser (Debian chromium): login, live queue, claim, a transcript whose
hostile resident text stays text, a reply that reaches the channel, live transcript lines, hand back."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from router.adapters.conversations import ConversationStore
from router.adapters.ticket_store import RedisTicketStore
from router.console.users import UserStore
from tests.browser.conftest import ConsoleServer
from tests.browser.helpers import claim_first, console_login, hand_back, launch_browser, send_operator_reply

pytestmark = pytest.mark.browser

PASSWORD = "browser-test-password"
XSS = "<script>window.__xss=1</script><img src=x onerror=window.__xss=2>"
RESIDENT_TEXT = "楼道里的灯坏了一个月了，没人修 " + XSS


async def queue_conversation(redis: Any, user_id: str, text: str, *, urgent: bool = False) -> str:
    store = ConversationStore(redis)
    conv = await store.current("web", user_id)
    await store.append(conv.id, "resident", text)
    await store.append(conv.id, "bot", "抱歉，我没有完全理解，正在为您转接人工客服。")
    moved = await store.move(conv.id, "handoff", reason="self_harm" if urgent else "fallback", urgent=urgent,
                             summary={"intent": "report_problem", "topic": text, "place": "南山区 粤海街道 科技园社区",
                                      "ticket_draft": {"problem_text": text, "contact_phone": "138****5678"}})
    return moved.id


def wait_until(check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_operator_claims_reads_replies_and_hands_back(console_server: ConsoleServer, artifacts: Path) -> None:
    from playwright.sync_api import sync_playwright

    srv = console_server
    srv.run(UserStore(srv.redis).add("op1", "operator", PASSWORD))
    conv_id = srv.run(queue_conversation(srv.redis, "resident-1", RESIDENT_TEXT))

    with sync_playwright() as pw:
        browser = launch_browser(pw)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
            console_login(page, srv.base_url, "op1", PASSWORD)

            # the queue shows it, with the bot's summary; the hostile text is shown, not run
            item = page.locator(f'.queue-item[data-conversation="{conv_id}"]')
            item.wait_for()
            assert XSS in item.locator(".topic").text_content()
            assert "南山区 粤海街道 科技园社区" in item.text_content()

            # a new, urgent conversation arrives while the page is open: it appears on top, no reload
            urgent_id = srv.run(queue_conversation(srv.redis, "resident-2", "我真的撑不下去了", urgent=True))
            page.locator(f'.queue-item.urgent[data-conversation="{urgent_id}"]').wait_for(timeout=10_000)
            assert page.locator(".queue-item").first.get_attribute("data-conversation") == urgent_id
            page.screenshot(path=str(artifacts / "console-queue.png"), full_page=True)

            # claim the urgent one first (top of the queue), then hand it back; then the other one
            assert claim_first(page) == urgent_id
            hand_back(page)
            assert srv.run(ConversationStore(srv.redis).require(urgent_id)).state.value == "bot"

            claimed = claim_first(page)
            assert claimed == conv_id
            resident = page.locator("#transcript .entry-resident .text").first
            assert resident.text_content() == RESIDENT_TEXT
            assert page.evaluate("typeof window.__xss") == "undefined"
            assert page.locator("#transcript img").count() == 0 and page.locator("#transcript script").count() == 0

            # reply: shown in the transcript and handed to the channel's sender
            send_operator_reply(page, "您好，我是人工客服，请问是哪一栋楼？")
            sent = wait_until(lambda: [r for cid, r in srv.sender.sent if cid == conv_id and r.author == "operator"])
            assert sent[-1].text == "您好，我是人工客服，请问是哪一栋楼？"

            # the resident answers (another router instance could have taken it): appears live, as text
            srv.run(ConversationStore(srv.redis).append(conv_id, "resident", "3栋 <b>二单元</b> 电话13812345678"))
            live = page.locator("#transcript .entry-resident .text", has_text="3栋")
            live.wait_for(timeout=10_000)
            assert live.text_content() == "3栋 <b>二单元</b> 电话138****5678"
            page.screenshot(path=str(artifacts / "console-transcript.png"), full_page=True)

            # a canned reply is a draft the operator can edit before sending
            page.locator("[data-canned-text]", has_text="请稍候").click()
            assert page.input_value("#reply-text").startswith("好的，我正在为您查询")

            # tablet width: still one usable column
            page.set_viewport_size({"width": 800, "height": 1100})
            assert page.locator("#reply-send").is_visible()
            page.screenshot(path=str(artifacts / "console-transcript-tablet.png"), full_page=True)
            page.set_viewport_size({"width": 1280, "height": 900})

            hand_back(page)
            assert srv.run(ConversationStore(srv.redis).require(conv_id)).state.value == "bot"
            assert page.evaluate("typeof window.__xss") == "undefined"

            # ticket board → detail → 派单 with a reason, through the buttons
            ticket = srv.run(RedisTicketStore(srv.redis).create({
                "text": "科技园社区路灯不亮 " + XSS, "channel": "web", "contact_phone": "13912345678",
                "location": {"district": "南山区", "street": "粤海街道", "community": "科技园社区"},
                "topic": {"l1": "城市管理", "l2": "市政设施", "department": "南山区城市管理和综合执法局"}}))
            page.click("text=工单看板")
            page.locator(f'tr[data-ticket="{ticket.id}"] .sla').wait_for()
            assert page.locator(f'tr[data-ticket="{ticket.id}"] .sla').text_content().startswith("剩余")
            page.screenshot(path=str(artifacts / "console-tickets.png"), full_page=True)
            page.click(f"text={ticket.id}")
            form = page.locator('form.transition[data-action="dispatch"]')
            form.locator('input[name="reason"]').fill("按属地派至粤海街道")
            form.locator("button").click()
            page.locator("#ticket-status", has_text="派单").wait_for()
            assert "已派单" in page.locator("#flash").text_content()
            assert "139****5678" in page.text_content("body") and "13912345678" not in page.text_content("body")
            page.screenshot(path=str(artifacts / "console-ticket.png"), full_page=True)
            assert page.evaluate("typeof window.__xss") == "undefined"
        finally:
            browser.close()
