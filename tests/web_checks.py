"""Checks any page of the web app must pass, used by the browser tests: axe-core's serious and
critical findings, nothing wider than the window, and every control reached by Tab with a
visible focus mark."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from playwright.async_api import Page

ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"

# The controls a person acts with, numbered in the page (data-kb). Monaco's internals are left
# out: Tab must pass through the diff editor, which is checked by reaching what follows it.
MARK_CONTROLS = """() => {
  const selector =
    'a[href], button, input, select, textarea, summary, [tabindex]:not([tabindex="-1"])';
  // Not hidden, and not inside a closed <details> either (its content is laid out but skipped).
  const shown = (el) => el.checkVisibility({ visibilityProperty: true });
  // A modal dialog open: its own controls are all Tab may reach (it holds the keyboard).
  const modal = document.querySelector('[role="dialog"][aria-modal="true"]');
  const controls = [...(modal ?? document).querySelectorAll(selector)].filter(
    (el) => !el.disabled && !el.closest(".monaco") && shown(el),
  );
  controls.forEach((el, i) => (el.dataset.kb = String(i)));
  return controls.map((el) => {
    const box = el.getBoundingClientRect();
    const name = (el.getAttribute("aria-label") || el.textContent || el.id || el.tagName).trim();
    return { name: name.slice(0, 60), left: box.left + scrollX, right: box.right + scrollX };
  });
}"""

# What has the focus now: its number, and whether a focus mark shows (its own outline, or its
# label's for the visually hidden file input).
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const marked = el.type === "file" ? el.parentElement : el;
  const style = getComputedStyle(marked);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
  const name = (el.textContent || el.id || el.tagName).trim().slice(0, 60);
  return { kb: el.dataset.kb ?? null, visible: outline, name };
}"""


@dataclass(frozen=True)
class Control:
    name: str
    left: float
    right: float


async def axe_violations(page: Page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now (its context must be
    made with ``bypass_csp=True``: the app's CSP allows no script but its own)."""
    await page.add_script_tag(path=AXE)
    results = await page.evaluate("axe.run(document).then(r => r.violations)")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        f" ({v['nodes'][0].get('failureSummary', '')!r}, {v['nodes'][0].get('html', '')[:120]!r})"
        for v in results
        if v["impact"] in ("serious", "critical")
    ]


async def wider_than_the_window(page: Page) -> list[str]:
    """The page scrolls sideways, or a control lies past the window's right edge."""
    width = await page.evaluate("document.documentElement.clientWidth")
    scroll = await page.evaluate("document.documentElement.scrollWidth")
    found = [f"page is {scroll} px wide in a {width} px window"] if scroll > width else []
    controls = [Control(**c) for c in await page.evaluate(MARK_CONTROLS)]
    return found + [f"{c.name!r} spans {c.left:.0f}-{c.right:.0f} px" for c in controls
                    if c.left < 0 or c.right > width]  # fmt: skip


async def tab_through(page: Page) -> tuple[set[str], list[str]]:
    """Tab from the top of the page until the focus has gone round: every control's name that
    was never reached, and every focused control that showed no focus mark."""
    controls = [Control(**c) for c in await page.evaluate(MARK_CONTROLS)]
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    reached: set[str] = set()
    unmarked: list[str] = []
    for _ in range(len(controls) + 40):  # Monaco's own stops and the browser's own beside ours
        await page.keyboard.press("Tab")
        focused = await page.evaluate(FOCUSED)
        if focused is None or focused["kb"] is None:
            continue
        reached.add(focused["kb"])
        if not focused["visible"]:
            unmarked.append(focused["name"])
    missed = {c.name for i, c in enumerate(controls) if str(i) not in reached}
    return missed, unmarked
