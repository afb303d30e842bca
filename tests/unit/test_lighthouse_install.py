"""`bdg demo` installs Lighthouse itself when web/ has no node_modules
(libs/runtime/bdg_runtime/lighthouse.py).

Real npm on a package of our own in a temporary folder: one with no dependencies installs
quickly and offline, so the test sees npm ci run and then fail to find Lighthouse; a package
that npm refuses, and a PATH with no npm, are clear errors. The real install of web/ is what
CI's `npm ci` does before the suite (the scenario's e2e test then measures with it).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bdg_runtime.lighthouse import LighthouseError, ensure_installed


def package(web: Path, lock: bool = True) -> Path:
    web.mkdir()
    (web / "package.json").write_text(json.dumps({"name": "w", "version": "1.0.0"}))
    if lock:
        lockfile = {
            "name": "w",
            "version": "1.0.0",
            "lockfileVersion": 3,
            "requires": True,
            "packages": {"": {"name": "w", "version": "1.0.0"}},
        }
        (web / "package-lock.json").write_text(json.dumps(lockfile))
    return web


def test_an_installed_lighthouse_is_used_as_it_is(tmp_path: Path) -> None:
    web = package(tmp_path / "web")
    cli = web / "node_modules" / "lighthouse" / "cli" / "index.js"
    cli.parent.mkdir(parents=True)
    cli.write_text("// stands for the package\n")
    said: list[str] = []
    assert ensure_installed(said.append, web) == cli
    assert said == []  # nothing installed


def test_a_missing_lighthouse_runs_npm_ci_and_says_so(tmp_path: Path) -> None:
    web = package(tmp_path / "web")
    said: list[str] = []
    with pytest.raises(LighthouseError, match=r"npm ci in .* did not install Lighthouse"):
        ensure_installed(said.append, web)
    assert said == [f"installing Lighthouse: npm ci in {web} (once)"]


def test_npm_refusing_is_a_clear_error(tmp_path: Path) -> None:
    web = package(tmp_path / "web", lock=False)  # npm ci needs a lock file
    with pytest.raises(LighthouseError, match=r"npm ci in .* failed: "):
        ensure_installed(lambda _: None, web)


def test_no_npm_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    web = package(tmp_path / "web")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(LighthouseError, match="no npm can install it"):
        ensure_installed(lambda _: None, web)
