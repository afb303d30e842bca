"""The web app in Debian's Chromium against `bdg up` on the embedded stack (recorded answers):
sign in with the printed link, type a goal, approve the plan, reload and drop the socket mid-job,
approve the deploy, see the job done; an expired token keeps what was typed. Screenshots go to
test-artifacts/ (tests/chromium.py)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from playwright.async_api import Browser, Page, expect

from bdg_cli.up import default_commands
from tests.e2e.test_bdg_up import kill_if_running, read_until, stop_leftovers, up_process
from tests.e2e.test_up_faults import drain
from tests.ports import free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]
ROOT = Path(__file__).resolve().parents[2]
GOAL = "Create a React PWA that stores notes in IndexedDB and works offline"  # recorded
STEP_TIMEOUT_MS = 90_000


@pytest.fixture
def workdir() -> Iterator[Path]:
    # Outside pytest's 0700 tmp root: as root, pgserver's own user must traverse to PGDATA.
    path = Path(tempfile.mkdtemp(prefix="bdg-web-"))
    os.chmod(path, 0o755)
    yield path
    stop_leftovers(path / "home")
    shutil.rmtree(path, ignore_errors=True)


def up_env(workdir: Path, port: int) -> dict[str, str]:
    drop = ("DATABASE_URL", "NATS_URL", "JWT_SECRET", "JWT_ALGORITHM")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    return {
        **env,
        "BDG_ANSWERS_FILE": str(ROOT / "examples" / "reference-job.json"),
        "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",  # never called: every answer is recorded
        "GATEWAY_PORT": str(port),
        "BDG_TENANT": "webui",
        "BDG_USER": "wendy",
        "BDG_LOG_FORMAT": "text",
        "AGENT_SANDBOX_ENDPOINT": f"unix://{workdir}/no-sandbox.sock",
        "PYTHONUNBUFFERED": "1",
    }


async def versions_shown(page: Page) -> list[int]:
    shown = await page.locator("[data-version]").evaluate_all(
        "items => items.map(i => Number(i.dataset.version))"
    )
    return [int(v) for v in shown]


async def approved_digest(page: Page, base: str, job_id: str) -> str:
    """The digest the job's DeployApproved event carries."""
    token = await page.evaluate("localStorage.getItem('bdg.token')")
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        answer = await http.get(
            f"/jobs/{job_id}/events", headers={"Authorization": f"Bearer {token}"}
        )
    [approved] = [e for e in answer.json() if e["name"] == "DeployApproved"]
    return str(approved["event"]["digest"])


async def assert_no_gap_no_duplicate(page: Page, base: str, job_id: str) -> None:
    token = await page.evaluate("localStorage.getItem('bdg.token')")
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        events = (
            await http.get(f"/jobs/{job_id}/events", headers={"Authorization": f"Bearer {token}"})
        ).json()
    stored = [e["version"] for e in events]

    async def same() -> bool:
        return await versions_shown(page) == stored

    deadline = time.monotonic() + 30
    while not await same():
        assert time.monotonic() < deadline, (await versions_shown(page), stored)
        await page.wait_for_timeout(100)  # polling the page with a deadline


async def test_goal_to_done_in_the_browser(
    workdir: Path, browser: Browser, artifacts: Path
) -> None:
    home, port = workdir / "home", free_port()
    proc = await up_process(home, default_commands(), {"sandbox": False}, up_env(workdir, port))
    seen: list[str] = []
    try:
        link = (await read_until(proc, r"web app: (http://\S+#login=\S+)", seen))[1]
        await read_until(proc, r"\[gateway\] .*gateway listening on", seen)
        output = asyncio.create_task(drain(proc, seen))
        base = f"http://127.0.0.1:{port}"
        page = await browser.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        await page.goto(link)
        await expect(page.get_by_role("dialog")).to_have_count(0)
        assert "#login" not in page.url  # the code left the address bar
        await page.screenshot(path=artifacts / "1-signed-in.png")

        await page.get_by_label("Goal").fill(GOAL)
        await page.get_by_role("button", name="Start job").click()
        await page.wait_for_url(re.compile(r"/app/jobs/[0-9a-f-]{36}$"))
        job_id = page.url.rsplit("/", 1)[1]
        approve = page.get_by_role("button", name="Approve plan")
        await expect(approve).to_be_visible(timeout=STEP_TIMEOUT_MS)
        await expect(page.get_by_test_id("plan")).not_to_be_empty()
        await page.screenshot(path=artifacts / "2-plan.png", full_page=True)

        await page.reload()  # mid-job: the timeline comes back whole, once
        await expect(page.get_by_test_id("stream-status")).to_have_text("live")
        await assert_no_gap_no_duplicate(page, base, job_id)

        await edit_the_plan_and_read_the_diff(page)
        await page.get_by_label("Command").fill("/c")
        hints = page.locator("#command-hints")
        await expect(hints).to_contain_text("/cancel")
        await expect(hints).to_contain_text("/cost")
        await page.get_by_label("Command").fill("/co")
        await page.get_by_label("Command").press("Tab")  # the one completion left
        await expect(page.get_by_label("Command")).to_have_value("/cost ")
        await page.get_by_role("button", name="Run").click()
        await expect(page.get_by_role("status")).to_contain_text("cost so far: $")

        await page.get_by_role("button", name="Approve plan").click()
        deploy = page.get_by_role("button", name="Approve & Continue")
        await expect(deploy).to_be_visible(timeout=STEP_TIMEOUT_MS)
        await page.screenshot(path=artifacts / "3-deploy-gate.png", full_page=True)
        shown_digest = await page.get_by_test_id("deploy-digest").text_content()
        assert shown_digest is not None
        assert shown_digest.startswith("sha256:"), shown_digest
        # A dropped socket, and the deploy approved before it is back: the events appended
        # meanwhile come with the reconnection, once each.
        await page.get_by_role("button", name="Reconnect stream").click()
        await deploy.click()
        await expect(page.get_by_test_id("job-state")).to_have_text("done", timeout=STEP_TIMEOUT_MS)
        await assert_no_gap_no_duplicate(page, base, job_id)
        assert await approved_digest(page, base, job_id) == shown_digest  # what the person read
        await expect(page.get_by_test_id("stream-status")).to_have_text("ended")
        await read_the_changes_in_monaco(page)
        steps = await page.locator("li.step").evaluate_all("s => s.map(x => x.dataset.step)")
        assert steps[:2] == ["job", "planning"], steps
        assert "deploying" in steps, steps

        # An action the job no longer allows: the API's 409 message beside the button.
        await page.get_by_role("button", name="Resume").click()
        beside = page.locator(".action", has=page.get_by_role("button", name="Resume"))
        await expect(beside.get_by_role("alert")).to_contain_text(
            "not allowed while the job is done"
        )
        await page.screenshot(path=artifacts / "4-done.png", full_page=True)
        assert not [e for e in errors if "Content Security Policy" in e], errors

        await page.get_by_role("link", name="Deploys").click()
        await page.wait_for_url(base + "/app/sites")
        # The sites API may not answer yet (404): the page then says so instead of failing.
        sites = page.get_by_role("table", name="Sites").or_(page.get_by_text("No sites yet"))
        await expect(sites).to_be_visible()
        await page.screenshot(path=artifacts / "4b-deploys.png", full_page=True)

        await expired_token_keeps_the_draft(page, base, home, artifacts)
        await threads_resume_export_and_import(page, base, artifacts)
        token = await page.evaluate("localStorage.getItem('bdg.token')")
        pages = (("/", False), ("/", True), (f"/app/jobs/{job_id}", True), ("/app/sites", True))
        for path, signed_in in pages:
            found = await axe_violations(browser, base + path, token if signed_in else None)
            assert not found, (path, signed_in, found)
        proc.send_signal(2)
        await asyncio.wait_for(proc.wait(), 90)
        await output
    finally:
        await kill_if_running(proc)
        print("\n".join(seen))


async def read_the_changes_in_monaco(page: Page) -> None:
    """The diff viewer (loaded lazily): Monaco's diff editor over the file picked in the list,
    highlighted by its type; the raw patch under it."""
    files = page.get_by_role("list", name="Changed files").get_by_role("button")
    await expect(files).not_to_have_count(0)
    diff = page.get_by_test_id("monaco-diff")
    await expect(diff.locator(".monaco-diff-editor")).to_be_visible()
    await expect(diff.locator(".editor.modified .view-lines")).not_to_be_empty()
    await files.filter(has_text="src/test/setup.ts").click()  # of the last attempt, shown first
    await expect(diff).to_have_attribute("data-language", "typescript")
    await page.get_by_role("button", name=re.compile(r"^Attempt 1 ")).click()
    await files.filter(has_text="index.html").click()
    await expect(diff).to_have_attribute("data-language", "html")
    await expect(diff.locator(".editor.modified .view-lines")).to_contain_text("<!doctype html>")
    await expect(diff.locator(".editor.modified [class*=mtk]").first).to_be_visible()
    await page.get_by_text("Raw patch").click()
    await expect(page.get_by_label("Patch")).to_contain_text("+++ ")


async def edit_the_plan_and_read_the_diff(page: Page) -> None:
    await page.get_by_role("button", name="Edit plan").click()
    editor = page.get_by_label("Plan (markdown)")
    edited = (await editor.input_value()) + "\n- document the offline mode in README\n"
    await editor.fill(edited)
    await page.get_by_role("button", name="Save plan").click()
    await expect(page.get_by_test_id("plan")).to_contain_text("document the offline mode")
    await page.get_by_text(re.compile(r"^\d+ plan versions$")).click()
    await expect(page.locator(".versions")).to_contain_text("(edit) by user:wendy")
    await page.get_by_role("button", name="Show diff").click()
    await expect(page.get_by_test_id("diff")).to_contain_text(
        "+- document the offline mode in README"
    )


async def threads_resume_export_and_import(page: Page, base: str, shots: Path) -> None:
    """Both goals went into one thread, which is still the current one after a reload."""
    await page.goto(base + "/")
    messages = page.get_by_role("list", name="Messages")
    await expect(messages).to_contain_text(GOAL)
    await expect(messages).to_contain_text("a goal typed before the session expired")
    current = await page.evaluate("localStorage.getItem('bdg.thread')")
    assert current
    await expect(page.get_by_label("Current thread")).to_have_value(current)
    await page.reload()
    await expect(page.get_by_label("Current thread")).to_have_value(current)
    await expect(messages.locator("li")).to_have_count(2)
    await page.screenshot(path=shots / "6-threads.png", full_page=True)

    async with page.expect_download() as download:
        await page.get_by_role("button", name="Export").click()
    exported = shots / "thread.json"
    await (await download.value).save_as(exported)
    data = json.loads(await asyncio.to_thread(exported.read_text))
    assert data["format"] == "bdg-thread/1"
    assert data["messages"][0]["text"] == GOAL

    picker = page.get_by_label("Import")
    await picker.set_input_files(
        {"name": "broken.json", "mimeType": "application/json", "buffer": b"{not json"}
    )
    await expect(page.locator(".threads").get_by_role("alert")).to_contain_text("is not JSON")
    bad = {**data, "messages": [{**data["messages"][0], "role": "robot"}]}
    await picker.set_input_files(
        {"name": "bad.json", "mimeType": "application/json", "buffer": json.dumps(bad).encode()}
    )
    await expect(page.locator(".threads").get_by_role("alert")).to_contain_text(
        "body.messages.0.role"
    )
    await expect(page.get_by_label("Current thread")).to_have_value(current)
    await picker.set_input_files(
        {"name": "good.json", "mimeType": "application/json", "buffer": json.dumps(data).encode()}
    )
    await expect(page.get_by_label("Current thread")).not_to_have_value(current)
    await expect(messages.locator("li")).to_have_count(2)


AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"


async def axe_violations(browser: Browser, url: str, token: str | None) -> list[str]:
    """axe-core's serious and critical findings on the page (the CSP is lifted for its script
    only in this separate context)."""
    context = await browser.new_context(bypass_csp=True)
    try:
        if token:
            await context.add_init_script(f"localStorage.setItem('bdg.token', {token!r})")
        page = await context.new_page()
        await page.goto(url)
        await page.locator("h1, h2").first.wait_for()
        await page.add_script_tag(path=AXE)
        results = await page.evaluate("axe.run(document).then(r => r.violations)")
    finally:
        await context.close()
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in results
        if v["impact"] in ("serious", "critical")
    ]


async def expired_token_keeps_the_draft(page: Page, base: str, home: Path, shots: Path) -> None:
    secret = (home / "gateway-jwt-secret").read_text()
    claims = {"sub": "wendy", "tenant": "webui", "aud": "bigdaddyg", "exp": time.time() - 120}
    expired = jwt.encode(claims, secret, algorithm="HS256")
    valid = await page.evaluate("localStorage.getItem('bdg.token')")
    draft = "a goal typed before the session expired"
    await page.goto(base + "/")
    await page.get_by_label("Goal").fill(draft)
    # Coming back later: the stored token has expired meanwhile.
    await page.evaluate(f"localStorage.setItem('bdg.token', {expired!r})")
    await page.reload()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_contain_text("token expired")
    await expect(page.get_by_label("Goal")).to_have_value(draft)
    await page.screenshot(path=shots / "5-expired.png")
    await dialog.get_by_label("Bearer token").fill(valid)
    await dialog.get_by_role("button", name="Use this token").click()
    await expect(dialog).to_have_count(0)
    await expect(page.get_by_label("Goal")).to_have_value(draft)
    await page.get_by_role("button", name="Start job").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(draft)
