"""The product's scenario (issue 19) as `bdg demo` runs it on the embedded stack: agent-starter,
"Create a React PWA that stores notes in IndexedDB and works offline", the model's answers from
the recordings, everything else real (sandboxd's install, tests and build, the tester's Chromium
check, the deployer's build and release, the edge, Lighthouse). The one human action is the
click on "Approve & Continue" in the web app, made here by Playwright in Debian's Chromium.

Checked: the plan was approved by the tenant's policy (auto), the browser check passed with a
screenshot (shown on the job's page), the deploy waited for the click and nothing else, the
production URL serves the notes app (a note survives a reload; with the network off the page
still renders, from the service worker), Lighthouse >= 90 in its four categories on the
preview, the job took under 10 minutes from its request to its deploy, and the run's artifacts
were kept.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.test_bdg_up import kill_if_running, stop_leftovers
from tests.ports import free_port
from tests.waiting import eventually

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]
ROOT = Path(__file__).resolve().parents[2]
BOUND_SECONDS = 600


@pytest.fixture
def workdir() -> Iterator[Path]:
    # Outside pytest's 0700 tmp root: as root, pgserver's own user must traverse to PGDATA.
    path = Path(tempfile.mkdtemp(prefix="bdg-scenario-"))
    os.chmod(path, 0o755)
    yield path
    stop_leftovers(path / "home")
    shutil.rmtree(path, ignore_errors=True)


def scenario_env(workdir: Path) -> dict[str, str]:
    # The recordings answer: no endpoint, no recording, no stack of the caller's.
    drop = ("DATABASE_URL", "NATS_URL", "JWT_SECRET", "JWT_ALGORITHM", "BDG_HOME")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("OPENAI_")}
    env = {k: v for k, v in env.items() if not k.startswith("BDG_LLM_")}
    return {
        **env,
        "GATEWAY_PORT": str(free_port()),
        "BDG_EDGE_PORT": str(free_port()),
        "AGENT_SANDBOX_ENDPOINT": f"unix://{workdir}/sandbox.sock",
        "BDG_TENANT": "scenario",
        "BDG_USER": "sam",
        "BDG_LOG_FORMAT": "text",
        "PYTHONUNBUFFERED": "1",
    }


class Output:
    """The demo's output, read line by line until a pattern shows, with a deadline."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc, self.lines = proc, list[str]()

    async def until(self, pattern: str, timeout: float) -> re.Match[str]:
        assert self.proc.stdout is not None
        async with asyncio.timeout(timeout):
            while True:
                line = await self.proc.stdout.readline()
                assert line, f"the demo ended before {pattern!r}:\n" + self.text()
                self.lines.append(line.decode().rstrip("\n"))
                if match := re.search(pattern, self.lines[-1]):
                    return match

    async def rest(self, timeout: float) -> int:
        assert self.proc.stdout is not None
        async with asyncio.timeout(timeout):
            async for line in self.proc.stdout:
                self.lines.append(line.decode().rstrip("\n"))
            return await self.proc.wait()

    def text(self) -> str:
        return "\n".join(self.lines)


async def test_the_scenario_needs_one_click(workdir: Path, browser: Browser) -> None:
    home = workdir / "home"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bdg_cli.main", "demo", "--home", str(home), "--timeout", "900",
        env=scenario_env(workdir), cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out = Output(proc)
    try:
        link = (await out.until(r"web app: (http://\S+#login=\S+)", 180))[1]
        job_page = (await out.until(r"click Approve & Continue at (http://\S+)", 900))[1]
        text = out.text()
        assert "PlanApproved           by auto" in text  # the tenant's policy, not a person
        assert re.search(r"TestsPassed .*attempt 1", text), text
        # the change's tests fail on the starter's code: they prove the change
        assert re.search(r"TestsPassed .*attempt 1.*fail-to-pass proven", text), text

        page = await browser.new_page()
        await page.goto(link)

        # The code is exchanged for a session first: leaving before that would lose it. Polled
        # with page.evaluate: wait_for_function evals its predicate in the page, which the
        # app's CSP (no 'unsafe-eval') refuses whenever the first check comes too early.
        async def signed_in() -> bool:
            return bool(await page.evaluate("localStorage.getItem('bdg.token') !== null"))

        await eventually(signed_in, 30, "the sign-in code exchanged for a session")
        await page.goto(job_page)
        approve = page.get_by_role("button", name="Approve & Continue")
        await expect(approve).to_be_enabled(timeout=60_000)
        shot = page.get_by_role("img", name="Browser check screenshot, attempt 1 (passed)")
        await expect(shot).to_be_visible(timeout=30_000)  # the passing run, as the tester saw it
        await approve.click()  # the person's one action

        await out.until(r"serving the web app, the preview and the production URL", 600)
        text = out.text()
        production = re.search(r"deployed at (http://\S+)", text)
        assert production is not None, text
        await notes_work_offline(browser, production[1])  # while the edge still serves it
        proc.send_signal(signal.SIGINT)
        code = await out.rest(120)
        text = out.text()
        assert code == 0, text
    finally:
        await kill_if_running(proc)

    took = re.search(r"done after \d+ events in ([\d.]+) s", text)
    assert took is not None, text
    assert float(took[1]) < BOUND_SECONDS, f"the job took {took[1]} s"

    scores = re.search(r"Lighthouse performance (\d+), accessibility (\d+), "
                       r"best-practices (\d+), seo (\d+)", text)  # fmt: skip
    assert scores is not None, text
    assert all(int(s) >= 90 for s in scores.groups()), scores[0]

    kept = next((home / "scenario").iterdir())
    assert "IndexedDB" in (kept / "plan.md").read_text()
    assert "+++ b/public/sw.js" in (kept / "change.diff").read_text()
    assert (kept / "screenshot.png").read_bytes().startswith(b"\x89PNG")
    report = json.loads((kept / "lighthouse.json").read_text())
    assert round(100 * report["categories"]["seo"]["score"]) == int(scores[4])


async def notes_work_offline(browser: Browser, url: str) -> None:
    """On the production URL: a note survives a reload, and the page renders offline."""
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(url)
    await page.get_by_label("New note").fill("Milk\nand bread")
    await page.get_by_role("button", name="Save note").click()
    await expect(page.get_by_text("Milk")).to_be_visible()
    await page.evaluate("navigator.serviceWorker.ready")
    await page.reload()
    await expect(page.get_by_text("Milk")).to_be_visible()
    await context.set_offline(True)
    await page.reload()
    await expect(page.get_by_text("Milk")).to_be_visible()
    await expect(page.get_by_role("status")).to_contain_text("Offline")
    await context.close()


HEAVY = ROOT / "examples" / "pwa-scenario" / "heavy-page" / "recorded-calls.jsonl"


async def test_a_heavy_preview_fails_lighthouse_and_never_reaches_the_approval(
    workdir: Path,
) -> None:
    """The same job, its index.html deliberately heavy (recorded answers of their own): the
    preview is measured before the approval, scores below 90, and the job fails there with the
    scores; nothing asks for the deploy, nothing is deployed."""
    home = workdir / "home"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bdg_cli.main", "demo", "--home", str(home), "--timeout", "900",
        "--approve", "--recordings", str(HEAVY),
        env=scenario_env(workdir), cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out = Output(proc)
    try:
        code = await out.rest(1100)
    finally:
        await kill_if_running(proc)
    text = out.text()
    assert code == 1, text
    assert re.search(r"ReviewCompleted +approved", text), text
    measured = re.search(r"PreviewMeasured +Lighthouse performance (\d+), accessibility \d+", text)
    assert measured is not None, text
    assert int(measured[1]) < 90, measured[0]
    failed = re.search(r"failed: the preview (http://\S+) failed Lighthouse: (.+)", text)
    assert failed is not None, text
    assert f"performance {measured[1]}" in failed[2]
    assert "the deploy was not offered for approval" in failed[2]
    for never in ("DeployAwaitingApproval", "approving deploy", "DeployApproved", "Deployed "):
        assert never not in text, never
    release = failed[1].removeprefix("http://").split(".")[0]
    report = json.loads((home / "artifacts" / "lighthouse" / f"{release}.json").read_text())
    assert round(100 * report["categories"]["performance"]["score"]) == int(measured[1])
