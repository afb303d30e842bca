"""Time from the first byte of a job's page to its interactive timeline, in Debian's Chromium.

"Interactive timeline": the job's events listed (``[data-version]``) and the stream live, the
moment a person can read and act. An init script (run before the app's, outside its CSP)
watches the page with a MutationObserver and stamps ``performance.now()`` then; the figure is
that stamp minus the navigation's ``responseStart`` (first byte of the HTML). Each run is a new
browser context (empty HTTP cache: a first visit).

The raw limit beside it, same browser, same runs: an empty HTML page from this machine, first
byte to its load event (what any page pays here before any script of ours runs).
"""

from __future__ import annotations

import asyncio
import statistics
import time

from playwright.async_api import Browser, Page

WATCH = """
(() => {
  const ready = () =>
    document.querySelector("[data-version]") &&
    document.querySelector("[data-testid=stream-status]")?.textContent === "live";
  const observer = new MutationObserver(() => {
    if (ready() && window.__bdgInteractive === undefined) {
      window.__bdgInteractive = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(document, { subtree: true, childList: true, characterData: true });
})();
"""
FIRST_BYTE = "performance.getEntriesByType('navigation')[0].responseStart"


async def _stamp(page: Page, expression: str, timeout: float = 60) -> float:
    """A timestamp the page sets, polled with a deadline (the page's own clock is the figure,
    so the polling interval does not enter it)."""
    deadline = time.monotonic() + timeout
    while (value := await page.evaluate(expression)) in (None, 0):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{expression} never set")
        await asyncio.sleep(0.05)
    return float(value)


async def first_byte_to_timeline(browser: Browser, url: str, token: str) -> float:
    context = await browser.new_context()
    try:
        await context.add_init_script(f"localStorage.setItem('bdg.token', {token!r})")
        await context.add_init_script(WATCH)
        page = await context.new_page()
        await page.goto(url)
        interactive = await _stamp(page, "window.__bdgInteractive ?? null")
        return (interactive - await page.evaluate(FIRST_BYTE)) / 1000
    finally:
        await context.close()


async def first_byte_to_load(browser: Browser, url: str) -> float:
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(url, wait_until="load")
        end = await _stamp(page, "performance.getEntriesByType('navigation')[0].loadEventEnd")
        return (end - await page.evaluate(FIRST_BYTE)) / 1000
    finally:
        await context.close()


async def timings(browser: Browser, job_url: str, blank_url: str, token: str, runs: int) -> str:
    """Both figures over ``runs`` alternating runs: median and best, in seconds."""
    app, blank = [], []
    for _ in range(runs):
        app.append(await first_byte_to_timeline(browser, job_url, token))
        blank.append(await first_byte_to_load(browser, blank_url))

    def row(name: str, values: list[float]) -> str:
        return f"{name:<40}{statistics.median(values):>8.3f}{min(values):>8.3f}"

    return "\n".join(
        (
            f"{'first byte to ... (s, ' + str(runs) + ' runs)':<40}{'median':>8}{'best':>8}",
            row("interactive timeline (job page)", app),
            row("load event, empty page (raw limit)", blank),
        )
    )
