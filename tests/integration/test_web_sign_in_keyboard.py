"""The sign-in box holds the keyboard, in Debian's Chromium against the gateway (uvicorn on real
PostgreSQL and NATS): Tab and Shift+Tab go round its controls only (also from a focus on the
page's top), Escape closes it, and the focus goes back to the control that opened it. Closed
with no session, the header offers "Sign in" to open it again."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.gateway_stack import Keys, new_tenant
from tests.integration.web_pages import window

pytestmark = pytest.mark.timeout(120)

FOCUSED = "document.activeElement.id || document.activeElement.textContent.trim()"


async def tabbed(page: Page, key: str, times: int) -> list[str]:
    """What has the focus after each press."""
    seen = []
    for _ in range(times):
        await page.keyboard.press(key)
        seen.append(await page.evaluate(FOCUSED))
    return seen


async def test_tab_goes_round_the_box_and_escape_returns_the_focus(
    keys: Keys, live_url: str, browser: Browser, artifacts: Path
) -> None:
    base = live_url.replace("ws://", "http://")
    context = await window(browser, keys.token(new_tenant(), sub="erin", expires_in=600))
    page = await context.new_page()
    await page.goto(f"{base}/")
    sign_out = page.get_by_role("button", name="Sign out")
    await sign_out.focus()
    await page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("Signed out.")
    await expect(dialog.get_by_label("Bearer token")).to_be_focused()
    cycle = ["Use this token", "Not now", "token"]
    assert await tabbed(page, "Tab", 6) == cycle * 2
    assert await tabbed(page, "Shift+Tab", 3) == ["Not now", "Use this token", "token"]
    await page.screenshot(path=artifacts / "focus-held.png")

    await page.keyboard.press("Escape")
    await expect(dialog).to_have_count(0)
    await expect(sign_out).to_be_focused()  # back where it was
    await context.close()


async def test_from_the_pages_top_tab_enters_the_box_and_escape_leaves_a_way_back(
    live_url: str, browser: Browser
) -> None:
    base = live_url.replace("ws://", "http://")
    context = await window(browser, None)
    page = await context.new_page()
    await page.goto(f"{base}/")
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("Sign in to start.")
    await page.evaluate("document.activeElement.blur()")
    assert await tabbed(page, "Tab", 1) == ["token"]  # not the page's first link
    await page.evaluate("document.activeElement.blur()")
    assert await tabbed(page, "Shift+Tab", 1) == ["Not now"]

    await page.keyboard.press("Escape")  # no session: the page, and a way back
    await expect(dialog).to_have_count(0)
    again = page.get_by_role("button", name="Sign in")
    await again.focus()
    await page.keyboard.press("Enter")
    await expect(dialog).to_contain_text("Sign in to start.")
    await dialog.get_by_role("button", name="Not now").press("Enter")
    await expect(dialog).to_have_count(0)
    await expect(again).to_be_focused()
    await context.close()
