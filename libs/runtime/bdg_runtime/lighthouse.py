"""Lighthouse scores of a page: the `lighthouse` npm package (web/'s devDependencies, so
`npm ci` in web/) in Debian's Chromium (CHROME_PATH, default /usr/bin/chromium), mobile preset.

Lighthouse 12 has no PWA category: the scenario's installability checks are the tester's
browser check. Each of the four categories here must reach ``BAR`` in the scenario; the
deployer measures a job's preview release with it before the deploy approval when the operator
sets ``BDG_PREVIEW_MIN_SCORE`` (``bdg demo`` sets it to ``BAR``). A library, so the CLI and the
deployer share it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]  # the checkout: web/ holds the npm package
LIGHTHOUSE = ROOT / "web" / "node_modules" / "lighthouse" / "cli" / "index.js"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
BAR = 90
FLAGS = "--headless --no-sandbox --disable-gpu --no-first-run"


def reports_dir(bdg_home: Path) -> Path:
    """Where the deployer keeps the report of each preview it measured (``<release>.json``)."""
    return bdg_home.expanduser().resolve() / "artifacts" / "lighthouse"


class LighthouseError(RuntimeError):
    """Lighthouse is missing or could not measure the page."""


@dataclass(frozen=True)
class Scores:
    url: str
    by_category: dict[str, int]  # 0..100
    report: dict[str, object]  # the whole JSON report, to keep

    def below_bar(self) -> dict[str, int]:
        return {c: s for c, s in self.by_category.items() if s < BAR}

    def line(self) -> str:
        return ", ".join(f"{c} {s}" for c, s in self.by_category.items())


def ensure_installed(
    say: Callable[[str], None], web: Path = ROOT / "web", timeout: float = 600
) -> Path:
    """Lighthouse's CLI under ``web``, installed there first (``npm ci``, once) when missing, as
    `uv run` installs the workspace on first use: the README's `bdg demo` needs nothing more."""
    cli = web / "node_modules" / "lighthouse" / "cli" / "index.js"
    if cli.is_file():
        return cli
    npm = shutil.which("npm")
    if npm is None:
        raise LighthouseError(f"Lighthouse is not installed ({cli}) and no npm can install it")
    say(f"installing Lighthouse: npm ci in {web} (once)")
    try:
        run = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=web, capture_output=True, text=True,
            timeout=timeout, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as error:
        raise LighthouseError(f"npm ci in {web} took over {timeout:.0f} s") from error
    if run.returncode != 0:
        raise LighthouseError(f"npm ci in {web} failed: {run.stderr[-2000:]}")
    if not cli.is_file():
        raise LighthouseError(f"npm ci in {web} did not install Lighthouse ({cli})")
    return cli


def measure(url: str, timeout: float = 300) -> Scores:
    if not LIGHTHOUSE.is_file():
        raise LighthouseError(f"Lighthouse is not installed ({LIGHTHOUSE}): run `npm ci` in web/")
    chrome = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
    if not Path(chrome).is_file():
        raise LighthouseError(f"no Chromium at {chrome} (set CHROME_PATH)")
    args = [
        "node", str(LIGHTHOUSE), url, "--output=json", "--output-path=stdout", "--quiet",
        f"--only-categories={','.join(CATEGORIES)}", f"--chrome-flags={FLAGS}",
    ]  # fmt: skip
    try:
        run = subprocess.run(
            args, capture_output=True, text=True, timeout=timeout, check=False,
            env={**os.environ, "CHROME_PATH": chrome},
        )  # fmt: skip
    except subprocess.TimeoutExpired as error:
        raise LighthouseError(f"Lighthouse took over {timeout:.0f} s on {url}") from error
    if run.returncode != 0:
        raise LighthouseError(f"Lighthouse failed on {url}: {run.stderr[-2000:]}")
    report = json.loads(run.stdout)
    if report.get("runtimeError"):
        raise LighthouseError(f"Lighthouse could not load {url}: {report['runtimeError']}")
    return Scores(url, scores_of(report), report)


def scores_of(report: dict[str, object]) -> dict[str, int]:
    """Category -> 0..100 of a Lighthouse JSON report (KeyError/TypeError when it has none)."""
    categories: Any = report["categories"]
    return {c: round(100 * (categories[c]["score"] or 0)) for c in CATEGORIES}
