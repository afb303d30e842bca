"""The live demo's repository: a bundled example made into a git repository under BDG_HOME.

The files of ``examples/demo-repo-python/`` are committed once by a fixed author at a fixed
date, so every run starts from the same commit id.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DEMO_REPO = EXAMPLES / "demo-repo-python"
DEMO_GOAL = (
    "Fix mul in calc/ops.py: it returns a + b, but it must return the product a * b, "
    "so that the tests in tests/test_ops.py pass."
)
IDENTITY = {
    "GIT_AUTHOR_NAME": "BigDaddyG demo",
    "GIT_AUTHOR_EMAIL": "demo@bigdaddyg.invalid",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00+00:00",
    "GIT_COMMITTER_NAME": "BigDaddyG demo",
    "GIT_COMMITTER_EMAIL": "demo@bigdaddyg.invalid",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00+00:00",
}
LEFT_OUT = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".git")


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, **IDENTITY, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    done = subprocess.run(
        ["git", "-C", str(repo), *args], env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def make_demo_repo(
    source: Path, dest: Path, ignore: Callable[[str, list[str]], Iterable[str]] = LEFT_OUT
) -> str:
    """A fresh git repository at ``dest`` holding ``source``'s files in one commit; its id."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, dest, ignore=ignore)
    _git(dest, "init", "-q", "-b", "main")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "--no-gpg-sign", "-m", f"{source.name}: the demo repository")
    return _git(dest, "rev-parse", "HEAD")


def demo_repo_path(home: Path) -> Path:
    return home.expanduser().resolve() / "demo-repos" / DEMO_REPO.name
