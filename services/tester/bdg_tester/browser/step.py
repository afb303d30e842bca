"""The browser step of a test run: once a web project's tests pass, build its site in the same
workspace (no network), open it in the sandbox's Chromium, keep the screenshot.

A build that fails or leaves no index.html fails the step, as does a page that throws on load;
the analysis says which. No Chromium: the step is skipped and the note says why.
"""

from __future__ import annotations

import asyncio
import shlex
from dataclasses import dataclass

from bdg_tester.browser.check import SandboxBrowserCheck
from bdg_tester.browser.plan import BrowserPlan
from bdg_tester.browser.screenshots import ScreenshotStore
from bdg_tester.detection.projects import Project
from bdg_tester.sandbox.env import cwd, run_env
from bdg_tester.sandbox.project import ProjectRunner, killed

BUILD_TAIL = 3_000


@dataclass(frozen=True)
class BrowserOutcome:
    note: str  # one line for the outcome event: what was checked, or why not
    failure: str = ""  # the analysis when the step failed; empty: it passed or was skipped
    screenshot: str = ""  # the PNG's digest in the store; empty: none taken


async def browser_step(
    runner: ProjectRunner,
    project: Project,
    plan: BrowserPlan,
    checker: SandboxBrowserCheck,
    store: ScreenshotStore,
) -> BrowserOutcome:
    where = cwd(project.root)
    timeout = runner.settings.bdg_test_run_timeout_seconds
    async with runner.timer.phase("build", project.root):
        exited, out = await runner.execute(
            plan.build, project.root, run_env(project, False), network="none", timeout=timeout
        )
    if exited.code != 0:
        said = (out.text("stdout") + out.text("stderr"))[-BUILD_TAIL:]
        return BrowserOutcome(
            "browser check not run: the build failed",
            f"The build for the browser check failed: $ (cd {where} && {shlex.join(plan.build)})"
            f" exited {exited.code}{killed(exited, runner.settings)}\n{said}",
        )
    site = await _built_site(runner, plan)
    if site is None:
        wanted = " or ".join(f"{folder}/index.html" for folder in plan.sites)
        return BrowserOutcome(
            "browser check not run: nothing built",
            f"The build for the browser check wrote no {wanted}",
        )
    async with runner.timer.phase("browser", project.root):
        check = await checker.check(runner.tenant, runner.workspace, site, pwa=plan.pwa)
    report = check.report
    if report.skipped:
        return BrowserOutcome(f"browser check skipped: {report.skipped}")
    digest = await asyncio.to_thread(store.put, check.screenshot) if check.screenshot else ""
    what = "browser check with PWA checks" if plan.pwa else "browser check"
    if not check.passed:
        return BrowserOutcome(f"{what} of {site} failed", report.analysis, digest)
    return BrowserOutcome(f"{what} of {site} passed: {report.title!r}", "", digest)


async def _built_site(runner: ProjectRunner, plan: BrowserPlan) -> str | None:
    for folder in plan.sites:
        if await runner.files.read_text(f"{folder}/index.html"):
            return folder
    return None
