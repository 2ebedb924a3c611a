"""Small Playwright (sync API) helpers for driving the operator console, shared by the console's own
browser test and the lead's end-to-end test with the real resident page."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "launch_browser", "console_login", "claim_first", "send_operator_reply",
           "hand_back"]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]


def launch_browser(playwright: Any) -> Any:
    """Debian's chromium (with fonts-noto-cjk), headless; nothing downloaded."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def console_login(page: Any, base_url: str, user: str, password: str) -> None:
    """Log in and land on the queue; fails with the page's own error text if the login is refused."""
    page.goto(f"{base_url.rstrip('/')}/console/login")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_load_state("domcontentloaded")
    if "/console/login" in page.url:
        error = page.locator("#login-error")
        raise AssertionError(f"console login refused: {error.text_content() if error.count() else page.url}")
    page.wait_for_selector("#queue")


def claim_first(page: Any, timeout: float = 10_000) -> str:
    """Claim the first (most urgent / longest waiting) conversation in the queue; returns its id once the
    transcript page shows it as ours."""
    item = page.locator(".queue-item").first
    item.wait_for(timeout=timeout)
    conv_id = item.get_attribute("data-conversation")
    item.locator("button.claim").click()
    page.wait_for_url(re.compile(rf"/console/conversations/{conv_id}$"), timeout=timeout)
    page.wait_for_selector("#reply-text:not([disabled])", timeout=timeout)
    return str(conv_id)


def send_operator_reply(page: Any, text: str, timeout: float = 10_000) -> None:
    """Type a reply and send it; returns when it shows in the transcript as the operator's."""
    page.fill("#reply-text", text)
    page.click("#reply-send")
    page.locator("#transcript .entry-operator .text", has_text=text).last.wait_for(timeout=timeout)


def hand_back(page: Any, timeout: float = 10_000) -> None:
    """Give the open conversation back to the bot; returns on the queue page."""
    page.click("#handback")
    page.wait_for_url(re.compile(r"/console/queue$"), timeout=timeout)
