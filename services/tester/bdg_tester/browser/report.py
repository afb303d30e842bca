"""The browser check's verdict from the driver's JSON report (pure).

The driver (page_driver.py) prints one JSON object; a missing Chromium is a skip with its reason,
a page that threw or logged errors fails the check with an analysis naming them, and with the PWA
check each installability finding (manifest, service worker, offline reload) must hold.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MAX_ERRORS = 10  # errors named in an analysis; the rest are counted
MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class PwaFindings:
    manifest_url: str = ""
    manifest_errors: tuple[str, ...] = ()
    service_worker: bool = False
    controlled: bool = False
    offline_renders: bool = False
    offline_errors: tuple[str, ...] = ()

    @property
    def problems(self) -> list[str]:
        found = [f"manifest: {e}" for e in self.manifest_errors]
        if not self.service_worker:
            found.append("no service worker registered")
        elif not self.controlled:
            found.append("the service worker does not control the page")
        if not self.offline_renders:
            why = "; ".join(self.offline_errors) or "nothing rendered"
            found.append(f"with the network off the page fails: {why}")
        return found


@dataclass(frozen=True)
class BrowserReport:
    skipped: str = ""  # why the check did not run (no Chromium): not a failure
    loaded: bool = False
    errors: tuple[str, ...] = ()
    title: str = ""
    pwa: PwaFindings | None = None

    @property
    def passed(self) -> bool:
        if self.skipped:
            return True
        return self.loaded and not self.errors and not (self.pwa and self.pwa.problems)

    @property
    def analysis(self) -> str:
        """What failed, naming the page's errors; empty when it passed or was skipped."""
        if self.passed:
            return ""
        lines = ["The browser check of the built app failed:"]
        if not self.loaded:
            lines.append("- the page never finished loading")
        for error in self.errors[:MAX_ERRORS]:
            lines.append(f"- {error[:MAX_ERROR_CHARS]}")
        if len(self.errors) > MAX_ERRORS:
            lines.append(f"- and {len(self.errors) - MAX_ERRORS} more error(s)")
        for problem in self.pwa.problems if self.pwa else []:
            lines.append(f"- PWA: {problem[:MAX_ERROR_CHARS]}")
        return "\n".join(lines)


class ReportError(ValueError):
    """The driver printed no report (it crashed): its output says why."""


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def parse_report(stdout: str) -> BrowserReport:
    """The report on the driver's last stdout line."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    try:
        data = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError as error:
        raise ReportError(f"the browser driver printed no report: {error}") from error
    if not isinstance(data, dict):
        raise ReportError("the browser driver printed no report")
    if data.get("skipped"):
        return BrowserReport(skipped=str(data["skipped"]))
    pwa = data.get("pwa")
    findings = None
    if isinstance(pwa, dict):
        findings = PwaFindings(
            manifest_url=str(pwa.get("manifest_url", "")),
            manifest_errors=_strings(pwa.get("manifest_errors")),
            service_worker=bool(pwa.get("service_worker")),
            controlled=bool(pwa.get("controlled")),
            offline_renders=bool(pwa.get("offline_renders")),
            offline_errors=_strings(pwa.get("offline_errors")),
        )
    return BrowserReport(
        loaded=bool(data.get("loaded")),
        errors=_strings(data.get("errors")),
        title=str(data.get("title") or ""),
        pwa=findings,
    )
