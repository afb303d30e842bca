"""Runs INSIDE the sandbox (system python3, stdlib only): serve a built site on loopback, open it
in headless Chromium over the DevTools pipe, and print one JSON report on stdout.

Usage: python3 page_driver.py SITE_DIR SCREENSHOT_PATH CHROMIUM [--pwa]

The report: {"skipped": why} when there is no Chromium; else the page's uncaught exceptions and
console/log errors, whether it loaded, the screenshot's path, and with --pwa the manifest, service
worker and offline-reload findings. The page runs only here: the sandbox has no network, and the
server listens on the sandbox's own loopback. The pipe (--remote-debugging-pipe: fds 3 and 4,
NUL-terminated JSON) needs no port and no third-party client.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

STEP_TIMEOUT_S = 30.0
SETTLE_MS = 500  # after the load event: timers and promise rejections of the start-up code


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class Browser:
    def __init__(self, chromium: str, profile: str) -> None:
        to_child, self._out = os.pipe()
        self._in, from_child = os.pipe()

        def fds() -> None:  # the child's fds 3 and 4, as --remote-debugging-pipe wants
            # through fresh copies: either end may already be fd 3 or 4
            reads, writes = os.dup(to_child), os.dup(from_child)
            os.dup2(reads, 3)  # dup2's copies are inheritable
            os.dup2(writes, 4)

        self.proc = subprocess.Popen(
            [
                chromium,
                "--headless",
                "--no-sandbox",  # sandboxd is the sandbox; Chromium's own needs user namespaces
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                "--window-size=1280,800",
                "about:blank",
            ],
            preexec_fn=fds,
            pass_fds=(3, 4),  # kept open past close_fds, which runs after preexec_fn
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_child)
        os.close(from_child)
        self._buffer = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read(STEP_TIMEOUT_S)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error'].get('message')}")
                return dict(reply.get("result", {}))
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = STEP_TIMEOUT_S) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if any(e.get("method") == method for e in self.events):
                self.events = [e for e in self.events if e.get("method") != method]
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                self.events.append(self._read(left))
            except TimeoutError:
                return False

    def _read(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._in], [], [], left)[0]:
                raise TimeoutError("no answer from chromium")
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\0", 1)
        return dict(json.loads(line))

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def errors_in(events: list[dict[str, Any]]) -> list[str]:
    found = []
    for event in events:
        params = event.get("params", {})
        if event.get("method") == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            thrown = details.get("exception", {})
            found.append("uncaught " + (thrown.get("description") or details.get("text", "")))
        elif event.get("method") == "Runtime.consoleAPICalled" and params.get("type") == "error":
            args = params.get("args", [])
            words = [str(a.get("value", a.get("description", ""))) for a in args]
            found.append("console.error " + " ".join(words))
        elif event.get("method") == "Log.entryAdded":
            entry = params.get("entry", {})
            # the favicon nobody asked for is no fault of the page
            if entry.get("level") == "error" and not entry.get("url", "").endswith("/favicon.ico"):
                where = f" ({entry['url']})" if entry.get("url") else ""
                found.append(f"{entry.get('source', 'log')}: {entry.get('text', '')}{where}")
    return found


def open_page(browser: Browser, url: str) -> tuple[str, bool]:
    target = browser.call("Target.createTarget", url="about:blank")["targetId"]
    session = browser.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    for domain in ("Page", "Runtime", "Log"):
        browser.call(f"{domain}.enable", session)
    browser.call("Page.navigate", session, url=url)
    loaded = browser.wait_for("Page.loadEventFired")
    settle = f"new Promise(r => setTimeout(r, {SETTLE_MS}))"
    browser.call("Runtime.evaluate", session, expression=settle, awaitPromise=True)
    return session, loaded


def evaluate(browser: Browser, session: str, expression: str) -> Any:
    result = browser.call(
        "Runtime.evaluate", session, expression=expression, awaitPromise=True, returnByValue=True
    )
    return result.get("result", {}).get("value")


# The page's text without scripts and styles, whitespace folded: of the live DOM, and of the
# HTML as served (before any script ran), so "the app rendered" is "the text is not the HTML's".
TEXT_OF = (
    "(root => { const b = root.cloneNode(true);"
    " b.querySelectorAll('script, noscript, template, style').forEach(e => e.remove());"
    " return (b.textContent || '').replace(/\\s+/g, ' ').trim(); })"
)
STATIC_TEXT = (
    "fetch(location.href, {cache: 'no-store'}).then(r => r.text()).then(html =>"
    f" {TEXT_OF}(new DOMParser().parseFromString(html, 'text/html').body"
    " || document.createElement('body')))"
)
HAS_APP = "!!document.querySelector('script[src], script[type=module]')"
RENDER_WAIT_MS = 10_000


def rendered_text(browser: Browser, session: str, static: str | None) -> str | None:
    """The page's text once it is not empty and, for an app (``static`` given), once it is not
    the static HTML's any more (its scripts rendered); None if that did not come within
    RENDER_WAIT_MS (an app that never renders is not taken for one that did)."""
    wait = (
        f"new Promise(done => {{ const end = Date.now() + {RENDER_WAIT_MS};"
        f" const shown = {json.dumps(static)};"
        f" const poll = () => {{ const text = document.body ? {TEXT_OF}(document.body) : '';"
        " if (text && text !== shown) done(text);"
        " else if (Date.now() > end) done(null); else setTimeout(poll, 100); }; poll(); })"
    )
    value = evaluate(browser, session, wait)
    return value if isinstance(value, str) else None


def pwa(browser: Browser, session: str, server: http.server.HTTPServer, url: str) -> dict[str, Any]:
    manifest = browser.call("Page.getAppManifest", session)
    problems = [e.get("message", "") for e in manifest.get("errors", [])]
    if not manifest.get("url"):
        problems.append("the page links no web app manifest")
    # ready resolves once a worker is active; controller is set once it controls this page
    ready = (
        "navigator.serviceWorker ? navigator.serviceWorker.getRegistration().then(g => !g ? false"
        " : Promise.race([navigator.serviceWorker.ready.then(() => true),"
        " new Promise(r => setTimeout(() => r(false), 10000))])) : false"
    )
    registered = bool(evaluate(browser, session, ready))
    if registered and not evaluate(browser, session, "!!navigator.serviceWorker.controller"):
        browser.call("Page.reload", session)  # a worker controls the pages loaded after it
        browser.wait_for("Page.loadEventFired")
    controlled = bool(evaluate(browser, session, "!!navigator.serviceWorker?.controller"))
    # An app's HTML may show text before its scripts run (a heading, "Loading"): offline, that
    # text alone is no proof the app works, so its rendered content is waited for.
    static = (
        str(evaluate(browser, session, STATIC_TEXT) or "")
        if evaluate(browser, session, HAS_APP)
        else None
    )
    server.shutdown()  # the network goes away: only the service worker can answer the reload
    server.server_close()
    browser.events.clear()
    browser.call("Page.reload", session)
    browser.wait_for("Page.loadEventFired")
    text = rendered_text(browser, session, static)
    offline_errors = errors_in(browser.events)
    if evaluate(browser, session, "location.href") != url:  # Chromium's own error page
        offline_errors.append("the page did not load with the network off")
    elif text is None and static is not None:
        offline_errors.append(
            f"the app did not render within {RENDER_WAIT_MS // 1000} s: only its static HTML "
            f"showed ({static[:80]!r})"
        )
    return {
        "manifest_url": manifest.get("url", ""),
        "manifest_errors": problems,
        "service_worker": registered,
        "controlled": controlled,
        "offline_renders": bool(text) and not offline_errors,
        "offline_errors": offline_errors,
    }


def main(argv: list[str]) -> dict[str, Any]:
    site, shot, chromium = argv[0], argv[1], argv[2]
    if not (os.path.isfile(chromium) and os.access(chromium, os.X_OK)):
        return {"skipped": f"chromium is not installed at {chromium}"}
    handler = functools.partial(Quiet, directory=site)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    profile = tempfile.mkdtemp(prefix="bdg-chromium-")
    browser = Browser(chromium, profile)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        session, loaded = open_page(browser, url)
        errors = errors_in(browser.events)
        title = evaluate(browser, session, "document.title")
        data = browser.call("Page.captureScreenshot", session, format="png")["data"]
        with open(shot, "wb") as out:
            out.write(base64.b64decode(data))
        report: dict[str, Any] = {"url": url, "loaded": loaded, "errors": errors, "title": title}
        report["screenshot"] = shot
        if "--pwa" in argv:
            report["pwa"] = pwa(browser, session, server, url)
        return report
    finally:
        browser.close()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
