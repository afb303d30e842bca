"""The app's logic (timeline grouping, reconnect, slash parsing, markdown) under Vitest.

node_modules stays out of git: CI runs `npm ci` in web/ (.ci/run); a checkout without it gets
the locked packages here first.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(300)


def test_vitest_passes(repo_root: Path) -> None:
    web = repo_root / "web"
    npm = shutil.which("npm")
    assert npm, "npm is needed for web/'s tests (apt-get install npm)"
    if not (web / "node_modules").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=web, check=True, timeout=240)
    run = subprocess.run(
        [npm, "test"], cwd=web, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr
