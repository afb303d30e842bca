"""Every benchmark task (bench/agent_tasks) is a fair check, proven in a real sandbox.

For each task: its hidden tests fail on the original repository and pass once solution.patch is
applied (in sandboxd workspaces, without network, as the benchmark runs them), and fail with
each wrong change of the review evaluation (bench/review_cases: part of the goal done). Its
visible tests are as task.toml says before the change and pass after it: the JavaScript ones
with `node --test` in the same workspaces; the Python ones need pytest, which the sandbox lacks,
so they run with this environment's pytest on local checkouts. All tasks run at once in one
module fixture. Without a usable sandbox backend (runc or bubblewrap, as root) the module is
skipped; under CI it must be there.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import pytest

from bdg_contracts.sandbox import Limits
from bdg_sandbox.client import SandboxClient
from bdg_tester.sandbox.env import SYSTEM_PATH
from bench.agent_tasks.tasks import AgentTask, load_tasks, make_repo
from bench.review_eval import ReviewCase, wrong_changes
from tests.sandbox.daemon import Daemon, start_daemon

pytestmark = pytest.mark.timeout(120)  # about 15 s on an idle 2-core machine
TENANT = "agent-tasks-it"
TASKS = load_tasks()
WRONG = wrong_changes()  # the review evaluation's wrong changes (bench/review_cases)
ENV = {"PATH": SYSTEM_PATH, "HOME": "/tmp", "LANG": "C.UTF-8"}
LIMITS = Limits(timeout_s=60, pids=512)


@dataclass(frozen=True)
class Run:
    code: int
    output: str

    def __str__(self) -> str:
        return f"exit {self.code}:\n{self.output[-3000:]}"


@dataclass(frozen=True)
class Checked:
    hidden_before: Run
    hidden_after: Run
    visible_before: Run
    visible_after: Run


def _needs() -> None:
    from bdg_sandboxd.backends import backend_classes

    reasons = [f"{n}: {c.available().reason}" for n, c in backend_classes().items()]
    if not any(c.available().ok for c in backend_classes().values()):
        what = f"no sandbox backend can run here ({'; '.join(reasons)})"
        if os.environ.get("CI"):
            pytest.fail(f"CI must be able to check the benchmark tasks: {what}")
        pytest.skip(what)


@pytest.fixture(name="repos", scope="module")
def repos_fixture() -> Iterator[Path]:
    # Outside pytest's 0700 tmp root: sandboxd reads the repositories from here.
    root = Path(tempfile.mkdtemp(prefix="bdg-agent-tasks-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(name="daemon", scope="module")
async def daemon_fixture(repos: Path) -> AsyncIterator[Daemon]:
    _needs()
    daemon = await start_daemon(SANDBOX_SOURCE_ROOTS=f'["{repos}"]', SANDBOX_MAX_CONCURRENT="8")
    daemon.grant({TENANT: [repos]})
    yield daemon
    code, output = daemon.stop(), daemon.output()
    daemon.remove()
    assert code == 0, output


async def _in_sandbox(
    client: SandboxClient, task: AgentTask, repo: Path, commit: str, patches: list[str]
) -> tuple[Run, Run]:
    """(visible, hidden) test runs in a new workspace: the repository at `commit` + `patches`.
    The visible run is only made for JavaScript (exit 0 and no output otherwise)."""
    workspace = f"{task.id}-{uuid4().hex[:8]}"
    await client.create_workspace(TENANT, workspace, str(repo), commit, patches)

    async def run(argv: list[str]) -> Run:
        result = await client.exec(TENANT, workspace, argv, env=ENV, limits=LIMITS, network="none")
        output = (result.stdout + result.stderr).decode(errors="replace")
        return Run(result.exited.code if result.exited.code is not None else -1, output)

    try:
        visible = Run(0, "")
        if task.language == "javascript":  # before the hidden files, which it would also run
            visible = await run(["node", "--test"])
        for path, text in task.hidden_files().items():
            await client.write_file(TENANT, workspace, path, text.encode())
        return visible, await run(list(task.hidden_test))
    finally:
        await client.drop_workspace(TENANT, workspace)


async def _pytest(task: AgentTask, where: Path, solved: bool) -> Run:
    """The visible Python tests with this environment's pytest, on a local checkout."""
    await asyncio.to_thread(make_repo, task, where)
    if solved:
        apply = await asyncio.create_subprocess_exec(
            "git", "-C", str(where), "apply", "-", stdin=asyncio.subprocess.PIPE
        )
        await apply.communicate(task.solution().encode())
        assert apply.returncode == 0, f"{task.id}: solution.patch does not apply"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "pytest", "-q", "-p", "no:cacheprovider"),
        cwd=where,
        # the tasks need none of this environment's plugins (which take seconds to load)
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return Run(proc.returncode if proc.returncode is not None else -1, out.decode())


async def _check(client: SandboxClient, task: AgentTask, repos: Path) -> Checked:
    repo = repos / task.id
    commit = await asyncio.to_thread(make_repo, task, repo)
    (visible_before, hidden_before), (visible_after, hidden_after) = await asyncio.gather(
        _in_sandbox(client, task, repo, commit, []),
        _in_sandbox(client, task, repo, commit, [task.solution()]),
    )
    if task.language == "python":
        visible_before, visible_after = await asyncio.gather(
            _pytest(task, repos / f"{task.id}-before", solved=False),
            _pytest(task, repos / f"{task.id}-after", solved=True),
        )
    return Checked(hidden_before, hidden_after, visible_before, visible_after)


@pytest.fixture(name="checks", scope="module")
async def checks_fixture(daemon: Daemon, repos: Path) -> dict[str, Checked]:
    async with daemon.client() as client:
        done = await asyncio.gather(*(_check(client, t, repos) for t in TASKS))
    return {t.id: c for t, c in zip(TASKS, done, strict=True)}


def _failed_tests(task: AgentTask, run: Run) -> bool:
    """Tests ran and some failed (rather than the runner itself failing to start)."""
    if task.language == "python":
        return "FAILED (" in run.output and "Ran " in run.output
    return "# fail 0" not in run.output and "# tests " in run.output


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.id)
def test_the_hidden_tests_fail_on_the_original_repository(
    checks: dict[str, Checked], task: AgentTask
) -> None:
    run = checks[task.id].hidden_before
    assert run.code != 0, str(run)
    assert _failed_tests(task, run), str(run)


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.id)
def test_the_hidden_tests_pass_with_the_solution(
    checks: dict[str, Checked], task: AgentTask
) -> None:
    run = checks[task.id].hidden_after
    assert run.code == 0, str(run)
    assert ("OK" if task.language == "python" else "# fail 0") in run.output


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.id)
def test_the_visible_tests_are_as_the_task_says_and_pass_with_the_solution(
    checks: dict[str, Checked], task: AgentTask
) -> None:
    checked = checks[task.id]
    assert (checked.visible_before.code == 0) is task.visible_tests_pass_before, str(
        checked.visible_before
    )
    assert checked.visible_after.code == 0, str(checked.visible_after)
    assert " passed" in checked.visible_after.output or "# pass " in checked.visible_after.output


@pytest.fixture(name="wrong_runs", scope="module")
async def wrong_runs_fixture(daemon: Daemon, repos: Path) -> dict[str, Run]:
    tasks = {t.id: t for t in TASKS}

    async def hidden(client: SandboxClient, case: ReviewCase) -> Run:
        task = tasks[case.task_id]
        repo = repos / f"wrong-{task.id}"
        commit = await asyncio.to_thread(make_repo, task, repo)
        return (await _in_sandbox(client, task, repo, commit, [case.patch]))[1]

    async with daemon.client() as client:
        done = await asyncio.gather(*(hidden(client, c) for c in WRONG))
    return {c.task_id: run for c, run in zip(WRONG, done, strict=True)}


def test_the_review_evaluation_has_wrong_changes_in_both_halves() -> None:
    assert {"dev", "heldout"} == {c.split for c in WRONG}
    assert all(c.why and c.patch.startswith("diff --git ") for c in WRONG)


@pytest.mark.parametrize("case", WRONG, ids=lambda c: c.task_id)
def test_each_wrong_change_applies_and_fails_the_hidden_tests(
    wrong_runs: dict[str, Run], case: ReviewCase
) -> None:
    run = wrong_runs[case.task_id]
    task = next(t for t in TASKS if t.id == case.task_id)
    assert run.code != 0, str(run)
    assert _failed_tests(task, run), str(run)
