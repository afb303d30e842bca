"""The diff viewer in Debian's Chromium, against the gateway (uvicorn on real PostgreSQL and
NATS): Monaco's diff editor in the system's dark or light scheme, a file list per attempt with
highlighting by file type, unchanged lines folded and unfolded from the keyboard, the attempt's
fail-to-pass check, and axe-core clean in both schemes (contrast differs)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.gateway_stack import Keys, Stack, new_tenant
from tests.integration.web_pages import pages_of, window
from tests.web_checks import axe_violations

pytestmark = pytest.mark.timeout(180)
EARLY_LINE = re.compile(r"value_2\W+2\b")  # line 2: 17 lines before the change, folded away
BACKGROUND = {"dark": "rgb(16, 20, 24)", "light": "rgb(255, 255, 255)"}


@pytest.mark.parametrize("scheme", ["dark", "light"])
async def test_the_diff_in_monaco_follows_the_scheme_and_folds_unchanged_lines(
    client: httpx.AsyncClient,
    keys: Keys,
    stack: Stack,
    live_url: str,
    browser: Browser,
    artifacts: Path,
    scheme: str,
) -> None:
    pages = await pages_of(client, keys, stack, new_tenant())
    base = live_url.replace("ws://", "http://")
    context = await window(browser, pages.token, scheme=scheme, csp=False)
    page = await context.new_page()
    await page.goto(f"{base}/app/jobs/{pages.deploy_job}")
    diff = page.get_by_test_id("monaco-diff")
    modified = diff.locator(".editor.modified .view-lines")
    await expect(modified).to_contain_text("twenty")

    theme = "hc-black" if scheme == "dark" else "hc-light"
    await expect(diff.locator(f".monaco-editor.{theme}").first).to_be_attached()
    other = ".monaco-editor.hc-light" if scheme == "dark" else ".monaco-editor.hc-black"
    await expect(diff.locator(other)).to_have_count(0)
    body = await page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert body == BACKGROUND[scheme]
    await expect(diff).to_have_attribute("data-language", "python")

    await expect(diff.locator(".diff-hidden-lines")).not_to_have_count(0)
    await expect(modified).not_to_contain_text(EARLY_LINE)
    await page.screenshot(path=artifacts / f"diff-{scheme}-folded.png", full_page=True)
    fold = page.get_by_role("button", name="Fold unchanged lines")
    await fold.focus()
    await fold.press("Enter")
    await expect(fold).to_have_attribute("aria-pressed", "false")
    await expect(diff.locator(".diff-hidden-lines")).to_have_count(0)
    await expect(modified).to_contain_text(EARLY_LINE)
    await fold.press("Enter")
    await expect(diff.locator(".diff-hidden-lines")).not_to_have_count(0)

    check = page.get_by_role("region", name="Fail-to-pass check")  # the attempt's, from the API
    await expect(check).to_contain_text("proven: 1 test(s) fail on the base code")
    flipped = check.get_by_role("list", name="Tests that fail without the change")
    await expect(flipped).to_have_text("tests.test_app::test_twenty (failed before, passes now)")

    files = page.get_by_role("list", name="Changed files").get_by_role("button")
    await expect(files).to_have_text(["src/app.py", "web/style.css"])
    await files.filter(has_text="web/style.css").click()
    await expect(diff).to_have_attribute("data-language", "css")
    await expect(modified).to_contain_text("color: red;")
    await expect(diff.locator(".editor.modified [class*=mtk]").first).to_be_visible()
    assert not await axe_violations(page)
    await context.close()
