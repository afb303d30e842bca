"""Lighthouse scores of the web app's pages, served by the gateway of `bdg up` (embedded stack).

Runs the `lighthouse` npm package (web/'s devDependencies: `npm ci` in web/) with Debian's
Chromium (CHROME_PATH, default /usr/bin/chromium) on: the home page signed out, the home page
signed in, a job's page (a job started from the recorded goal, with its live timeline), the
deploy dashboard. Prints performance, accessibility and best-practices scores per page (aim:
>= 90 each), the paint and interactive times, the first page's JavaScript (gzip), the time
from the first byte of a job's page to its interactive timeline (bench/ui_timing.py), and the
load average at the start and the end.

The raw limit beside them: the same Lighthouse run, in the same Chromium, on an empty HTML page
served from this machine, the best any page can score here (Lighthouse simulates a slow phone on
the mobile preset; --desktop uses its desktop preset); for the timeline, the same browser's
first byte to load event of that empty page.

    uv run python -m bench.lighthouse_ui [--desktop]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from playwright.async_api import async_playwright

from bdg_cli.up import default_commands
from bdg_gateway.web_static import DIST
from bench.ui_timing import timings
from tests.chromium import CHROMIUM, FLAGS
from tests.e2e.test_bdg_up import kill_if_running, read_until, stop_leftovers, up_process
from tests.e2e.test_up_faults import drain
from tests.e2e.test_web_app import GOAL, up_env
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[1]
LIGHTHOUSE = ROOT / "web" / "node_modules" / "lighthouse" / "cli" / "index.js"
CHROME = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
CATEGORIES = ("performance", "accessibility", "best-practices")
METRICS = {
    "first-contentful-paint": "FCP",
    "largest-contentful-paint": "LCP",
    "total-blocking-time": "TBT",
    "interactive": "TTI",
}
CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


def initial_js_gzip() -> int:
    index = (DIST / "index.html").read_text()
    # The entry script and the modules it preloads: what the first page fetches.
    scripts = re.findall(
        r'(?:<script[^>]*src|modulepreload"[^>]*href)="(/assets/[^"]+\.js)"', index
    )
    return sum(len(gzip.compress((DIST / s.lstrip("/")).read_bytes())) for s in scripts)


@contextmanager
def blank_page() -> Iterator[str]:
    """An empty, valid HTML page on this machine: the ceiling any page can reach here."""
    body = (
        b'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
        b'content="width=device-width, initial-scale=1"><meta name="description" content="blank">'
        b'<link rel="icon" href="data:,"><title>blank</title></head>'
        b"<body><h1>blank</h1></body></html>"
    )

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def lighthouse(url: str, port: int, desktop: bool) -> dict[str, object]:
    """One Lighthouse run against the Chromium listening on ``port`` (its storage kept: the
    signed-in pages read the token from localStorage; the HTTP cache is cleared before)."""
    args = [
        "node", str(LIGHTHOUSE), url, f"--port={port}", "--disable-storage-reset",
        "--output=json", "--output-path=stdout", "--quiet",
        f"--only-categories={','.join(CATEGORIES)}",
    ]  # fmt: skip
    if desktop:
        args.append("--preset=desktop")
    run = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"lighthouse failed on {url}: {run.stderr[-2000:]}")
    report: dict[str, object] = json.loads(run.stdout)
    return report


def summary(name: str, report: dict[str, object]) -> tuple[str, list[str]]:
    categories = report["categories"]
    audits = report["audits"]
    assert isinstance(categories, dict)
    assert isinstance(audits, dict)
    scores = [round(100 * (categories[c]["score"] or 0)) for c in CATEGORIES]
    times = [audits[m]["numericValue"] / 1000 for m in METRICS]
    row = f"{name:<22}" + "".join(f"{s:>7}" for s in scores) + "".join(f"{t:>7.2f}" for t in times)
    # What cost points: each failing weighted audit, for the next fix.
    weak = [
        f"  {name}: {a['id']} ({a['score']}): {a['title']}"
        for a in audits.values()
        if a.get("score") is not None and a["score"] < 0.9 and a.get("scoreDisplayMode") == "binary"
    ]
    return row, weak


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def chromium(profile: Path) -> tuple[asyncio.subprocess.Process, int]:
    """Chromium with remote debugging, once its DevTools endpoint answers."""
    port = free_tcp_port()
    proc = await asyncio.create_subprocess_exec(
        *(CHROME, *CHROME_FLAGS, f"--remote-debugging-port={port}", f"--user-data-dir={profile}"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = asyncio.get_running_loop().time() + 30
    async with httpx.AsyncClient(timeout=2) as http:
        while True:
            try:
                if (await http.get(f"http://127.0.0.1:{port}/json/version")).is_success:
                    return proc, port
            except httpx.TransportError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                proc.kill()
                raise RuntimeError("chromium's DevTools endpoint never answered")
            await asyncio.sleep(0.1)  # polling a port with a deadline: no readiness signal


async def clear_http_cache(port: int) -> None:
    """A cold start for every page: --disable-storage-reset (kept for the session in
    localStorage) keeps the HTTP cache too, which would flatter the signed-in pages."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.connect_over_cdp(f"http://127.0.0.1:{port}")
        page = await browser.contexts[0].new_page()
        cdp = await browser.contexts[0].new_cdp_session(page)
        await cdp.send("Network.clearBrowserCache")
        await page.close()


async def sign_in(port: int, base: str, token: str) -> None:
    """The session in the browser's localStorage for ``base``, as the login link leaves it."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.connect_over_cdp(f"http://127.0.0.1:{port}")
        page = await browser.contexts[0].new_page()
        await page.goto(base + "/")
        await page.evaluate(f"localStorage.setItem('bdg.token', {token!r})")
        await page.close()


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


async def timeline_timings(job_url: str, blank_url: str, token: str, runs: int) -> str:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            return await timings(browser, job_url, blank_url, token, runs)
        finally:
            await browser.close()


async def measure(desktop: bool, runs: int) -> None:
    load_before = load()
    work = Path(tempfile.mkdtemp(prefix="bdg-lighthouse-"))
    os.chmod(work, 0o755)  # pgserver's own user must traverse to PGDATA when run as root
    home, gateway_port = work / "home", free_port()
    proc = await up_process(
        home, default_commands(), {"sandbox": False}, up_env(work, gateway_port)
    )
    seen: list[str] = []
    chrome: asyncio.subprocess.Process | None = None
    try:
        link = await read_until(proc, r"web app: (http://\S+#login=(\S+))", seen)
        await read_until(proc, r"\[gateway\] .*gateway listening on", seen)
        output = asyncio.create_task(drain(proc, seen))
        base = f"http://127.0.0.1:{gateway_port}"
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            token = (await http.post("/auth/login", json={"code": link[2]})).json()["token"]
            headers = {"Authorization": f"Bearer {token}"}
            body = {"goal": GOAL, "plan_approval": "gated"}
            job = (await http.post("/jobs", json=body, headers=headers)).json()
        pages = {
            "blank (raw limit)": "",
            "home, signed out": base + "/",
            "home, signed in": base + "/",
            "job timeline": f"{base}/app/jobs/{job['id']}",
            "deploys": base + "/app/sites",
        }
        rows, weak = [], []

        async def run(name: str, port: int) -> None:
            await clear_http_cache(port)
            # In a thread: the loop keeps draining `bdg up`'s output meanwhile.
            report = await asyncio.to_thread(lighthouse, pages[name], port, desktop)
            row, bad = summary(name, report)
            rows.append(row)
            weak.extend(bad)

        with blank_page() as blank:
            pages["blank (raw limit)"] = blank
            chrome, port = await chromium(work / "chrome-out")
            await run("blank (raw limit)", port)
            await run("home, signed out", port)
            chrome.kill()
            await chrome.wait()
            chrome, port = await chromium(work / "chrome-in")
            await sign_in(port, base, token)
            for name in ("home, signed in", "job timeline", "deploys"):
                await run(name, port)
            chrome.kill()
            await chrome.wait()
            timed = await timeline_timings(pages["job timeline"], blank, token, runs)
        preset = "desktop" if desktop else "mobile (simulated slow 4G, 4x CPU)"
        print(f"Lighthouse {preset}, Chromium {CHROME}; scores 0-100, times in s")
        print(
            f"{'page':<22}{'perf':>7}{'a11y':>7}{'best':>7}"
            + "".join(f"{m:>7}" for m in METRICS.values())
        )
        print("\n".join(rows))
        print(f"first page JavaScript: {initial_js_gzip() / 1000:.1f} kB gzip")
        print(timed)
        print(f"load average (1, 5, 15 min): {load_before} at the start, {load()} at the end")
        if weak:
            print("audits below 0.9:\n" + "\n".join(weak))
        proc.send_signal(2)
        await asyncio.wait_for(proc.wait(), 90)
        await output
    finally:
        if chrome is not None and chrome.returncode is None:
            chrome.kill()
            await chrome.wait()
        await kill_if_running(proc)
        stop_leftovers(home)
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--desktop", action="store_true", help="Lighthouse's desktop preset")
    parser.add_argument("--runs", type=int, default=5, help="runs of the timeline timing")
    args = parser.parse_args()
    if not LIGHTHOUSE.is_file():
        raise SystemExit("lighthouse is not installed: run `npm ci` in web/")
    asyncio.run(measure(args.desktop, args.runs))


if __name__ == "__main__":
    main()
