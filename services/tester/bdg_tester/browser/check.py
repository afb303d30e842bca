"""The browser check in sandboxd: the driver runs beside the built site, with no network.

The built app is untrusted code: it runs only in the sandbox's Chromium, served on the sandbox's
own loopback. The driver script is written into the workspace, run with the system python3, and
removed with its screenshot once both are read back.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from bdg_contracts.sandbox import Limits
from bdg_sandbox.client import SandboxClient, SandboxRequestError
from bdg_tester.browser.report import BrowserReport, ReportError, parse_report
from bdg_tester.sandbox.env import SYSTEM_PATH, WORKSPACE

FOLDER = ".bdg-browser"
DRIVER = f"{FOLDER}/page_driver.py"
SCREENSHOT = f"{FOLDER}/screenshot.png"
CHROMIUM = "/usr/bin/chromium"  # Debian's; the sandbox sees the host's /usr read-only
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ENV = {"PATH": SYSTEM_PATH, "HOME": "/tmp", "LANG": "C.UTF-8"}
TAIL = 2000


@dataclass(frozen=True)
class BrowserCheck:
    report: BrowserReport
    screenshot: bytes = b""  # PNG; empty when the check was skipped or could not take one

    @property
    def passed(self) -> bool:
        return self.report.passed


def _driver() -> bytes:
    return resources.files("bdg_tester.browser").joinpath("page_driver.py").read_bytes()


class SandboxBrowserCheck:
    def __init__(self, client: SandboxClient, limits: Limits, chromium: str = CHROMIUM) -> None:
        self.client, self.limits, self.chromium = client, limits, chromium

    async def check(self, tenant: str, workspace: str, site: str, *, pwa: bool) -> BrowserCheck:
        """Open ``site`` (a built folder of the workspace, holding index.html) in Chromium."""
        await self.client.write_file(tenant, workspace, DRIVER, _driver())
        argv = ["python3", f"{WORKSPACE}/{DRIVER}", f"{WORKSPACE}/{site}"]
        argv += [f"{WORKSPACE}/{SCREENSHOT}", self.chromium] + (["--pwa"] if pwa else [])
        try:
            result = await self.client.exec(
                tenant, workspace, argv, env=ENV, limits=self.limits, network="none"
            )
            try:
                report = parse_report(result.stdout.decode("utf-8", "replace"))
            except ReportError as error:
                why = result.stderr.decode("utf-8", "replace")[-TAIL:]
                if result.exited.timed_out:
                    why += "\n[bdg] timed out: the sandbox killed the check at its time limit"
                report = BrowserReport(errors=(f"{error}\n{why}".strip(),))
            shot = b"" if report.skipped else await self._screenshot(tenant, workspace)
            return BrowserCheck(report, shot)
        finally:
            await self.client.delete_file(tenant, workspace, FOLDER)

    async def _screenshot(self, tenant: str, workspace: str) -> bytes:
        try:
            data = await self.client.read_file(tenant, workspace, SCREENSHOT)
        except SandboxRequestError:
            return b""
        return data if data.startswith(PNG_MAGIC) else b""
