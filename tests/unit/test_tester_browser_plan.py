"""The browser check's pure parts: which projects get it (and the PWA checks), the verdict and
analysis from the driver's report, and the screenshot store's names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bdg_tester.browser.plan import BrowserMode, BrowserPlan, browser_plan
from bdg_tester.browser.report import ReportError, parse_report
from bdg_tester.browser.screenshots import ScreenshotStore
from bdg_tester.detection.detect import detect_projects

pytestmark = pytest.mark.timeout(10)


def package(build: str | None = "vite build", **deps: str) -> str:
    scripts = {"test": "vitest run", **({"build": build} if build is not None else {})}
    return json.dumps({"scripts": scripts, "devDependencies": {"vitest": "2.1.9", **deps}})


def plan_for(tree: dict[str, str], mode: BrowserMode = BrowserMode.auto) -> BrowserPlan | None:
    (project,) = detect_projects(tree)
    return browser_plan(project, tree, mode)


@pytest.mark.parametrize(
    ("tree", "mode", "expected"),
    [
        (
            {"package.json": package(vite="6.0.0")},
            BrowserMode.auto,
            BrowserPlan(("npm", "run", "build"), ("dist", "build"), False),
        ),
        (
            {"package.json": package(react="19.0.0")},
            BrowserMode.auto,
            BrowserPlan(("npm", "run", "build"), ("dist", "build"), False),
        ),
        (
            {"package.json": package(vite="6", **{"vite-plugin-pwa": "0.21"})},
            BrowserMode.auto,
            BrowserPlan(("npm", "run", "build"), ("dist", "build"), True),
        ),
        (
            {"package.json": package(vite="6"), "public/manifest.webmanifest": ""},
            BrowserMode.auto,
            BrowserPlan(("npm", "run", "build"), ("dist", "build"), True),
        ),
        (
            {"package.json": package(vite="6"), "pnpm-lock.yaml": ""},
            BrowserMode.auto,
            BrowserPlan(("pnpm", "run", "build"), ("dist", "build"), False),
        ),
        ({"package.json": package("tsc")}, BrowserMode.auto, None),  # no web app
        (
            {"package.json": package("tsc")},
            BrowserMode.always,
            BrowserPlan(("npm", "run", "build"), ("dist", "build"), False),
        ),
        ({"package.json": package(None, vite="6")}, BrowserMode.auto, None),  # nothing to build
        ({"package.json": package(vite="6")}, BrowserMode.never, None),
    ],
)
def test_which_projects_get_a_browser_check(
    tree: dict[str, str], mode: BrowserMode, expected: BrowserPlan | None
) -> None:
    assert plan_for(tree, mode) == expected


def test_a_project_in_a_folder_builds_and_serves_there() -> None:
    tree = {"web/package.json": package(vite="6"), "web/public/manifest.json": ""}
    assert plan_for(tree) == BrowserPlan(("npm", "run", "build"), ("web/dist", "web/build"), True)


def test_a_page_with_errors_fails_naming_them() -> None:
    report = parse_report(
        "noise before\n"
        + json.dumps({"loaded": True, "errors": ["uncaught TypeError: x is undefined"]})
    )
    assert not report.passed
    assert report.analysis == (
        "The browser check of the built app failed:\n- uncaught TypeError: x is undefined"
    )


def test_a_clean_page_passes_and_a_skip_is_no_failure() -> None:
    assert parse_report(json.dumps({"loaded": True, "errors": [], "title": "T"})).passed
    skipped = parse_report(json.dumps({"skipped": "chromium is not installed at /x"}))
    assert skipped.passed
    assert skipped.skipped == "chromium is not installed at /x"


def test_a_page_that_never_loads_fails() -> None:
    report = parse_report(json.dumps({"loaded": False, "errors": []}))
    assert "the page never finished loading" in report.analysis


def test_pwa_findings_name_each_problem() -> None:
    pwa = {"manifest_errors": ["Manifest: property 'start_url' ignored"], "service_worker": True}
    pwa |= {"controlled": False, "offline_renders": False, "offline_errors": ["net::ERR_FAILED"]}
    report = parse_report(json.dumps({"loaded": True, "errors": [], "pwa": pwa}))
    assert report.analysis.splitlines()[1:] == [
        "- PWA: manifest: Manifest: property 'start_url' ignored",
        "- PWA: the service worker does not control the page",
        "- PWA: with the network off the page fails: net::ERR_FAILED",
    ]


@pytest.mark.parametrize("stdout", ["", "Traceback (most recent call last):", "[1, 2]"])
def test_no_report_is_an_error(stdout: str) -> None:
    with pytest.raises(ReportError, match="no report"):
        parse_report(stdout)


def test_many_errors_are_counted_not_all_named() -> None:
    errors = [f"console.error {i}" for i in range(25)]
    report = parse_report(json.dumps({"loaded": True, "errors": errors}))
    assert report.analysis.endswith("- and 15 more error(s)")


def test_screenshots_are_kept_by_digest_and_names_are_only_digests(tmp_path: Path) -> None:
    store = ScreenshotStore(tmp_path / "shots")
    digest = store.put(b"\x89PNG\r\n\x1a\nabc")
    assert store.put(b"\x89PNG\r\n\x1a\nabc") == digest
    assert store.path(digest).read_bytes() == b"\x89PNG\r\n\x1a\nabc"
    assert [p.name for p in (tmp_path / "shots").iterdir()] == [f"{digest}.png"]
    for bad in ("../../etc/passwd", digest.upper(), digest + "0", ""):
        with pytest.raises(ValueError, match="not a screenshot digest"):
            store.path(bad)
