"""Every page of the web app in Debian's Chromium at 1024x768, against the gateway (uvicorn on
real PostgreSQL and NATS): nothing wider than the window, every control reached with Tab and
showing where the focus is, and axe-core with no serious or critical finding. The pages: home
signed out (the sign-in box), home signed in, a job whose plan waits, a job whose deploy waits
(with the diff viewer open), the deploy dashboard, and a site's releases. Screenshots go to
test-artifacts/. Monaco is fetched only by the page that shows a diff."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.gateway_stack import Keys, Stack, new_tenant
from tests.integration.web_pages import Pages, pages_of, window
from tests.web_checks import axe_violations, tab_through, wider_than_the_window

pytestmark = pytest.mark.timeout(240)


def every_page(base: str, p: Pages) -> list[tuple[str, str, bool, str]]:
    """(name, url, signed in, the text that says the page is ready)."""
    return [
        ("home-signed-out", f"{base}/", False, "Sign in"),
        ("home", f"{base}/", True, "Threads"),
        ("plan-waits", f"{base}/app/jobs/{p.plan_job}", True, "Approve plan"),
        ("deploy-waits", f"{base}/app/jobs/{p.deploy_job}", True, "Raw patch"),
        ("failed", f"{base}/app/jobs/{p.failed_job}", True, "failed"),
        ("deploys", f"{base}/app/sites", True, "Production"),
        ("site", f"{base}/app/sites/{p.site.site_id}", True, f"Promote {p.site.canary}"),
    ]


async def ready(page: Page, text: str) -> None:
    await expect(page.get_by_text(text, exact=True).first).to_be_visible(timeout=30_000)
    if await page.get_by_test_id("monaco-diff").count():
        # The diff editor's lines drawn: what Tab walks through is all there.
        modified = page.get_by_test_id("monaco-diff").locator(".editor.modified .view-lines")
        await expect(modified).to_contain_text("twenty")


async def test_every_page_fits_1024_px_works_by_keyboard_and_passes_axe(
    client: httpx.AsyncClient,
    keys: Keys,
    stack: Stack,
    live_url: str,
    browser: Browser,
    artifacts: Path,
) -> None:
    pages = await pages_of(client, keys, stack, new_tenant())
    base = live_url.replace("ws://", "http://")
    found: dict[str, list[str]] = {}
    for name, url, signed_in, text in every_page(base, pages):
        context = await window(browser, pages.token if signed_in else None, csp=False)
        try:
            page = await context.new_page()
            fetched: list[str] = []
            page.on("request", lambda r, into=fetched: into.append(r.url))
            await page.goto(url)
            await ready(page, text)
            monaco = [u for u in fetched if "/assets/monaco-" in u]
            if (name == "deploy-waits") != bool(monaco):
                found[f"{name}: Monaco fetched"] = monaco
            await page.screenshot(path=artifacts / f"{name}-1024.png", full_page=True)
            problems = await wider_than_the_window(page)
            missed, unmarked = await tab_through(page)
            problems += [f"never reached by Tab: {m!r}" for m in sorted(missed)]
            problems += [f"no visible focus on {u!r}" for u in unmarked]
            problems += await axe_violations(page)
            if problems:
                found[name] = problems
        finally:
            await context.close()
    assert not found, found


async def press(button: Locator, key: str = "Enter") -> None:
    """Reached and used as a keyboard does: focused, then the key."""
    await button.focus()
    await button.press(key)


async def test_actions_by_keyboard_with_the_api_error_beside_them(
    client: httpx.AsyncClient,
    keys: Keys,
    stack: Stack,
    live_url: str,
    browser: Browser,
    artifacts: Path,
) -> None:
    pages = await pages_of(client, keys, stack, new_tenant())
    base = live_url.replace("ws://", "http://")
    headers = keys.headers(pages.tenant, sub="alice")
    context = await window(browser, pages.token)
    page = await context.new_page()
    state = page.get_by_test_id("job-state")

    await page.goto(f"{base}/app/jobs/{pages.plan_job}")
    await expect(page.locator("#plan-title")).to_contain_text("critique scores 8 of 10")
    versions = len(
        (await client.get(f"/jobs/{pages.plan_job}", headers=headers)).json()["plan_versions"]
    )
    await press(page.get_by_role("button", name="Edit plan"), " ")
    editor = page.get_by_label("Plan (markdown)")
    await editor.focus()
    await page.keyboard.press("Control+A")
    await page.keyboard.press("Delete")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")  # Save plan, emptied: the API's 422
    save = page.locator(".action", has=page.get_by_role("button", name="Save plan"))
    await expect(save.get_by_role("alert")).to_contain_text("body.plan_markdown")
    await page.screenshot(path=artifacts / "422-beside-save.png")
    job = (await client.get(f"/jobs/{pages.plan_job}", headers=headers)).json()
    assert len(job["plan_versions"]) == versions  # nothing written

    await editor.fill("# Plan\n\n- [ ] add the route, keyboard only\n")
    await press(page.get_by_role("button", name="Save plan"))
    await expect(page.get_by_test_id("plan")).to_contain_text("keyboard only")
    await press(page.get_by_role("button", name="Approve plan"))
    await expect(state).to_have_text("coding")
    await press(page.get_by_role("button", name="Resume"))  # not paused: the API's 409
    resume = page.locator(".action", has=page.get_by_role("button", name="Resume"))
    await expect(resume.get_by_role("alert")).to_contain_text("not allowed while the job is")
    await page.screenshot(path=artifacts / "409-beside-resume.png")
    await press(page.get_by_role("button", name="Pause"))
    await expect(state).to_have_text("paused")
    await press(page.get_by_role("button", name="Resume"))
    await expect(state).to_have_text("coding")
    await expect(resume.get_by_role("alert")).to_have_count(0)  # the old error went
    command, hints = page.get_by_label("Command"), page.locator("#command-hints")
    await command.fill("/can")
    await expect(hints).to_have_text("/cancel [reason] cancel this job")
    await command.press("Tab")  # the one completion, and its argument hint stays in view
    await expect(command).to_have_value("/cancel ")
    await command.press_sequentially("too slow")
    await expect(hints).to_have_text("/cancel [reason] cancel this job")
    await press(page.get_by_role("button", name="Cancel"))
    await expect(state).to_have_text("cancelled")

    await page.goto(f"{base}/app/jobs/{pages.failed_job}")
    await expect(state).to_have_text("failed")
    await press(page.get_by_role("button", name="Retry"))
    await expect(state).to_have_text("coding")

    await page.goto(f"{base}/app/jobs/{pages.deploy_job}")
    await press(page.get_by_role("button", name="Approve & Continue"), " ")
    await expect(state).to_have_text("deploying")

    await page.goto(f"{base}/app/sites/{pages.site.site_id}")
    await page.get_by_label("Reason (optional", exact=False).fill("keyboard")
    await press(page.get_by_role("button", name=f"Promote {pages.site.canary}"))
    promoted = page.locator(f'tr[data-release="{pages.site.canary}"]')
    await expect(promoted).to_have_attribute("data-state", "stable")
    await context.close()
