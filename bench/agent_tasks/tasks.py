"""The benchmark's coding tasks: load them from their folders and make their repositories.

    <task-id>/task.toml        goal, language, hidden_test (argv), visible_tests_pass_before,
                               difficulty (optional: trivial, easy, medium or hard)
    <task-id>/repo/...         the repository the agent works on
    <task-id>/hidden/...       copied into the workspace root before hidden_test runs there
    <task-id>/solution.patch   a reference change (`git diff` against repo/) that passes them

`make_repo` commits a task's repository with fixed names and dates, so its commit id is the same
on every machine.

Each task is in the **dev** half (tune prompts and strategies on it) or the **held-out** half
(run only to report; never read the model's output on it while tuning), by a rule on its id
alone: the first byte of sha256(id) below 128 is dev. Nobody chooses where a task goes, and a
task never changes half when others are added. On the 24 tasks of 2026-12-05 it gives 6 dev and
6 held-out per language; of the two added on 2026-12-06, js-hex-color-strict is dev and
py-parse-bool-strict held-out.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LANGUAGES = ("python", "javascript")
DIFFICULTIES = ("trivial", "easy", "medium", "hard")
SPLITS = ("dev", "heldout")
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Left behind when a task's tests were run in place; never part of a task.
_SKIPPED = frozenset({"__pycache__", ".pytest_cache", "node_modules", ".git"})
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "BigDaddyG Bench",
    "GIT_AUTHOR_EMAIL": "bench@bigdaddyg.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00+00:00",
    "GIT_COMMITTER_NAME": "BigDaddyG Bench",
    "GIT_COMMITTER_EMAIL": "bench@bigdaddyg.invalid",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00+00:00",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
}


class TaskError(ValueError):
    """A task folder that cannot be loaded; the message names the file."""


@dataclass(frozen=True)
class AgentTask:
    id: str
    goal: str
    language: str
    hidden_test: tuple[str, ...]
    root: Path
    visible_tests_pass_before: bool
    difficulty: str = "medium"

    @property
    def split(self) -> str:
        """ "dev" or "heldout" (see the module's docstring)."""
        return split_of(self.id)

    def repo_files(self) -> dict[str, str]:
        """The repository: {relative path: text}."""
        return _files(self.root / "repo")

    def hidden_files(self) -> dict[str, str]:
        """What goes into the workspace root before `hidden_test` runs: {relative path: text}."""
        return _files(self.root / "hidden")

    def solution(self) -> str:
        return (self.root / "solution.patch").read_text(encoding="utf-8")


def split_of(task_id: str) -> str:
    return "dev" if hashlib.sha256(task_id.encode()).digest()[0] < 128 else "heldout"


def _files(top: Path) -> dict[str, str]:
    return {
        path.relative_to(top).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(top.rglob("*"))
        if path.is_file() and not _SKIPPED & set(path.relative_to(top).parts)
    }


def _required(data: dict[str, Any], key: str, kind: type, where: Path) -> Any:
    if key not in data:
        raise TaskError(f"{where}: missing key {key!r}")
    value = data[key]
    if not isinstance(value, kind):
        raise TaskError(f"{where}: {key!r} must be a {kind.__name__}, not {value!r}")
    return value


def load_task(root: Path) -> AgentTask:
    """The task in folder `root` (its name is the task's id)."""
    where = root / "task.toml"
    if not where.is_file():
        raise TaskError(f"{where}: no task.toml in the task folder")
    if not _ID.match(root.name):
        raise TaskError(f"{where}: task id {root.name!r} must be lowercase words joined by '-'")
    try:
        data = tomllib.loads(where.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise TaskError(f"{where}: not valid TOML: {error}") from error
    goal = _required(data, "goal", str, where).strip()
    if not goal:
        raise TaskError(f"{where}: 'goal' is empty")
    language = _required(data, "language", str, where)
    if language not in LANGUAGES:
        raise TaskError(f"{where}: language {language!r} is not one of {', '.join(LANGUAGES)}")
    argv = _required(data, "hidden_test", list, where)
    if not argv or not all(isinstance(a, str) and a for a in argv):
        raise TaskError(f"{where}: 'hidden_test' must be a non-empty list of non-empty strings")
    passes = _required(data, "visible_tests_pass_before", bool, where)
    difficulty = data.get("difficulty", "medium")
    if difficulty not in DIFFICULTIES:
        raise TaskError(f"{where}: difficulty {difficulty!r} is not one of {DIFFICULTIES}")
    for part in ("repo", "hidden", "solution.patch"):
        if not (root / part).exists():
            raise TaskError(f"{where}: the task has no {part} next to it")
    return AgentTask(root.name, goal, language, tuple(argv), root, passes, difficulty)


def load_tasks(root: Path = HERE) -> list[AgentTask]:
    """Every task under `root`, sorted by id (folders starting with '_' or '.' are not tasks)."""
    folders = (p for p in root.iterdir() if p.is_dir() and p.name not in _SKIPPED)
    tasks = [load_task(p) for p in folders if not p.name.startswith(("_", "."))]
    return sorted(tasks, key=lambda t: t.id)


def _git(dest: Path, *args: str) -> str:
    env = {**os.environ, **_GIT_ENV}
    done = subprocess.run(
        ["git", "-C", str(dest), *args], check=True, capture_output=True, text=True, env=env
    )
    return done.stdout.strip()


def make_repo(task: AgentTask, dest: Path) -> str:
    """A new git repository at `dest` (absent or empty) on branch main holding the task's
    repository in one commit; the commit id, the same on every machine."""
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty")
    dest.mkdir(parents=True, exist_ok=True)
    _git(dest, "init", "-q", "-b", "main")
    for name, text in task.repo_files().items():
        path = dest / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "--no-verify", "-m", f"{task.id}: the task's repository")
    return _git(dest, "rev-parse", "HEAD")
