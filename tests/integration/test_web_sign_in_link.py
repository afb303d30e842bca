"""The one-time login link in Debian's Chromium, against the gateway (uvicorn on real PostgreSQL
and NATS): the code stays in the address bar until it has become a session, so a failed
exchange (the gateway unreachable, or the code refused) loses nothing, and the sign-in box says
why; once exchanged, the code leaves the address bar."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.async_api import Browser, Route, expect

from bdg_runtime.login_codes import login_codes
from tests.gateway_stack import new_tenant

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Where the gateway looks for codes (BDG_HOME, read per request), as `bdg up` sets it.
    monkeypatch.setenv("BDG_HOME", str(tmp_path))
    return tmp_path


async def test_the_link_survives_a_failed_exchange_and_leaves_after_a_good_one(
    live_url: str, browser: Browser, home: Path, artifacts: Path
) -> None:
    code = login_codes(home).issue(new_tenant(), "carol", now=time.time(), ttl_seconds=120)
    link = f"{live_url.replace('ws://', 'http://')}/#login={code}"
    context = await browser.new_context()
    page = await context.new_page()

    async def unreachable(route: Route) -> None:
        await route.abort("connectionrefused")  # the gateway down for this one request

    await page.route("**/auth/login", unreachable)
    await page.goto(link)
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("login link did not work: the gateway does not answer")
    await expect(dialog).to_contain_text("reload the page to try it again")
    await page.screenshot(path=artifacts / "link-kept.png")
    assert page.url == link  # still there to try again
    assert await page.evaluate("localStorage.getItem('bdg.token')") is None

    await page.unroute("**/auth/login")
    await page.reload()
    await expect(dialog).to_have_count(0)
    assert "#login" not in page.url
    assert await page.evaluate("localStorage.getItem('bdg.token')")

    # Used: the gateway refuses it (401), the sign-in box says so, the link stays.
    other = await browser.new_context()  # another browser: no session stored
    used = await other.new_page()
    await used.goto(link)
    await expect(used.get_by_role("dialog")).to_contain_text("unknown or already used")
    assert used.url == link
    await other.close()
    await context.close()
