"""The tester's sandbox runner against a real sandboxd and real small git repositories.

The runs need the package registries (pytest and coverage come from PyPI, vitest from npm)
through sandboxd's registry egress. They are slow (installs), so every scenario runs at once in
one module fixture and each test checks its own; a whole module takes about a minute here.
Without a usable sandbox backend (runc or bubblewrap, as root), npm, or a reachable registry
the module is skipped; under CI all of them must be there.
"""

from __future__ import annotations

import asyncio
import difflib
import os
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest

from bdg_contracts import events as ev
from bdg_contracts.base import Event
from bdg_contracts.states import JobState
from bdg_jobs.application import JobApplication
from bdg_jobs.domain import Cause, Job
from bdg_jobs.store import JobStore
from bdg_runtime.reactions import Delivery, StepError
from bdg_sandbox.client import SandboxClient, SandboxUnavailableError
from bdg_tester.application import Testing
from bdg_tester.domain import TestRun, TestTask, task_for
from bdg_tester.sandbox.runner import SandboxTestRunner, WorkspaceBuildError
from bdg_tester.settings import TesterSettings
from tests.conftest import Servers, create_database, drop_database
from tests.git_repos import commit, git, make_repo
from tests.sandbox.daemon import Daemon, start_daemon

pytestmark = pytest.mark.timeout(300)  # about 40 s on an idle 2-core machine
TENANT = "tester-it"
CAUSE = Cause(producer="test", occurred_at=datetime(2026, 1, 1, tzinfo=UTC))
PYPROJECT = '[tool.pytest.ini_options]\npythonpath = ["."]\n'
OPS = """\
def add(a, b):
    return a + b


def mul(a, b):
    return a + b


def sign(x):
    if x < 0:
        return -1
    return 1
"""
FIXED = OPS.replace("a + b\n\n\ndef sign", "a * b\n\n\ndef sign")
FIX = "".join(
    difflib.unified_diff(
        OPS.splitlines(keepends=True),
        FIXED.splitlines(keepends=True),
        "a/calc/ops.py",
        "b/calc/ops.py",
    )
)
TESTS = """\
from calc.ops import add, mul


def test_add():
    assert add(2, 3) == 5


def test_mul():
    assert mul(2, 3) == 6


def test_add_negative():
    assert add(-1, 1) == 0
"""
JS_PACKAGE = """\
{
  "name": "sums",
  "version": "1.0.0",
  "type": "module",
  "scripts": {"test": "vitest run"},
  "devDependencies": {"vitest": "2.1.9"}
}
"""
JS_SUM = "export function sum(a, b) {\n  return a + b;\n}\n"
JS_TEST = """\
import { expect, test } from "vitest";
import { sum } from "./sum.js";

test("adds", () => {
  expect(sum(1, 2)).toBe(3);
});

test("adds negatives", () => {
  expect(sum(-1, -2)).toBe(-3);
});
"""


# What four small-model jobs did: a new file in a new folder nothing imports (the tests pass).
STRAY = """\
--- /dev/null
+++ b/helpers/mul_fix.py
@@ -0,0 +1,2 @@
+def mul(a, b):
+    return a * b
"""


def _python_repo(ops: str = OPS) -> dict[str, str]:
    return {
        "pyproject.toml": PYPROJECT,
        "calc/__init__.py": "",
        "calc/ops.py": ops,
        "tests/test_calc.py": TESTS,
    }


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI must be able to run the tester's sandbox tests: {what}")
    pytest.skip(what)


def _needs() -> None:
    from bdg_sandboxd.backends import backend_classes

    reasons = [f"{n}: {c.available().reason}" for n, c in backend_classes().items()]
    if not any(c.available().ok for c in backend_classes().values()):
        _missing(f"no sandbox backend can run here ({'; '.join(reasons)})")
    if shutil.which("npm") is None:
        _missing("npm is not installed")
    for host in ("pypi.org", "registry.npmjs.org"):
        try:
            socket.create_connection((host, 443), timeout=5).close()
        except OSError as error:
            _missing(f"registry {host} unreachable: {error}")


@dataclass
class Repos:
    root: Path

    def make(self, name: str, files: dict[str, str]) -> str:
        make_repo(self.root / name, files)
        return str(self.root / name)


@pytest.fixture(name="repos", scope="module")
def repos_fixture() -> Iterator[Repos]:
    # Outside pytest's 0700 tmp root, like sandboxd's own test homes.
    root = Path(tempfile.mkdtemp(prefix="bdg-tester-repos-"))
    root.chmod(0o755)
    yield Repos(root)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(name="daemon", scope="module")
async def daemon_fixture(repos: Repos) -> AsyncIterator[Daemon]:
    _needs()
    daemon = await start_daemon(
        SANDBOX_SOURCE_ROOTS=f'["{repos.root}"]', SANDBOX_MAX_CONCURRENT="6"
    )
    daemon.grant({TENANT: [repos.root]})
    yield daemon
    code, output = daemon.stop(), daemon.output()
    daemon.remove()
    assert code == 0, output


@pytest.fixture(name="app", scope="module")
def app_fixture(servers: Servers) -> Iterator[JobApplication]:
    url = create_database(servers)
    store = JobStore.from_url(url)
    yield JobApplication(store)
    store.close()
    drop_database(servers, url)


def task(repo: str, *patches: str, ref: str = "HEAD") -> TestTask:
    return TestTask("goal", 1, repo, TENANT, str(uuid4()), ref, patches)


async def fixed_by_a_patch(
    app: JobApplication, runner: SandboxTestRunner, repo: str
) -> list[Event]:
    """A job whose coder fixed `mul`: its workspace is the repo plus its FilesChanged, and the
    tester's reaction is recorded on the job (in PostgreSQL); the job's history."""
    job = Job.request(uuid4(), TENANT, CAUSE, goal="fix mul", repo=repo, base_ref="main")
    job.make_plan_ready(CAUSE, "- [ ] fix mul")
    job.approve_plan(CAUSE, "alice")
    job.change_files(CAUSE, FIX, ("calc/ops.py",))
    job.finish_coding(CAUSE)
    await app.start(job)
    trigger = (await app.history(job.job_id))[-1]
    assert isinstance(trigger, ev.CodingFinished)
    await Testing(runner).run(Delivery("tester", trigger, app))
    return await app.history(job.job_id)


async def run_after_the_branch_moved(
    app: JobApplication, runner: SandboxTestRunner, repos: Repos
) -> list[Event]:
    """The coder fixed `mul` on main's commit then; main has moved on since, to a commit its
    patch no longer applies to. The tester builds on the commit the coder recorded."""
    repo = repos.make("moving", _python_repo())
    built_on = git(Path(repo), "rev-parse", "HEAD")
    commit(Path(repo), {"calc/ops.py": OPS.replace("a + b", "b + a")}, "moved on")
    job = Job.request(uuid4(), TENANT, CAUSE, goal="fix mul", repo=repo, base_ref="main")
    job.make_plan_ready(CAUSE, "- [ ] fix mul")
    job.approve_plan(CAUSE, "alice")
    job.change_files(CAUSE, FIX, ("calc/ops.py",))
    job.finish_coding(CAUSE, base_commit=built_on)
    await app.start(job)
    trigger = (await app.history(job.job_id))[-1]
    await Testing(runner).run(Delivery("tester", trigger, app))
    return await app.history(job.job_id)


NOTES = (
    "diff --git a/NOTES.md b/NOTES.md\nnew file mode 100644\n--- /dev/null\n+++ b/NOTES.md\n"
    "@@ -0,0 +1 @@\n+calc is tested by the tester's scaffolded tests\n"
)


async def scaffolded_then_tested_again(
    app: JobApplication, runner: SandboxTestRunner, repo: str
) -> list[Event]:
    """A job on a repository without tests: the tester's first run scaffolds tests, recorded
    on the job as its FilesChanged; a second run on the workspace rebuilt from the job's
    patches finds them there. The job's history, with the second run's TestRun appended."""
    job = Job.request(uuid4(), TENANT, CAUSE, goal="untested", repo=repo, base_ref="main")
    job.make_plan_ready(CAUSE, "- [ ] test calc")
    job.approve_plan(CAUSE, "alice")
    job.change_files(CAUSE, NOTES, ("NOTES.md",))  # an empty change is no pass
    job.finish_coding(CAUSE)
    await app.start(job)
    trigger = (await app.history(job.job_id))[-1]
    await Testing(runner).run(Delivery("tester", trigger, app))
    history = await app.history(job.job_id)
    again = await runner.run(task_for(history, history[-1], 2))  # every patch so far
    return [*history, again]  # type: ignore[list-item]


Outcome = TestRun | list[Event] | BaseException


@pytest.fixture(name="runs", scope="module")
async def runs_fixture(
    daemon: Daemon, repos: Repos, app: JobApplication
) -> AsyncIterator[dict[str, Outcome]]:
    """Every scenario at once (the installs wait on the network, not the cores)."""
    failing = repos.make("failing", _python_repo())
    untested = repos.make("untested", {"requirements.txt": "# none\n", "calc.py": FIXED})
    broken = repos.make(
        "broken", {**_python_repo(), "requirements.txt": "bdg-no-such-package-here==0.0.1\n"}
    )
    passing = repos.make("passing", _python_repo(FIXED))
    js = repos.make("js", {"package.json": JS_PACKAGE, "sum.js": JS_SUM, "sum.test.js": JS_TEST})
    async with daemon.client() as client:
        # The fail-to-pass check has its own module (test_tester_fail_to_pass.py): these jobs'
        # changes fix code without a test of their own, which the check would refuse.
        runner = SandboxTestRunner(client, TesterSettings(bdg_test_require_failing_first="off"))
        scenarios: dict[str, Callable[[], Awaitable[Outcome]]] = {
            "failing": lambda: runner.run(task(failing)),
            "untested": lambda: runner.run(task(untested)),
            "broken": lambda: runner.run(task(broken)),
            "js": lambda: runner.run(task(js)),
            "patched": lambda: fixed_by_a_patch(app, runner, failing),
            "scaffolded": lambda: scaffolded_then_tested_again(app, runner, untested),
            "moved": lambda: run_after_the_branch_moved(app, runner, repos),
            "stray": lambda: runner.run(task(passing, STRAY)),
        }
        done = await asyncio.gather(*(s() for s in scenarios.values()), return_exceptions=True)
        yield dict(zip(scenarios, done, strict=True))


def outcome(runs: dict[str, Outcome], name: str) -> TestRun:
    found = runs[name]
    if isinstance(found, BaseException):
        raise found
    assert isinstance(found, TestRun)
    return found


async def test_the_jobs_patches_make_its_tests_pass_with_totals_and_coverage(
    runs: dict[str, Outcome],
) -> None:
    """The failing repository plus the job's FilesChanged patch (which fixes `mul`): the run
    through the tester's use case passes, and the job moves on to its review."""
    history = runs["patched"]
    if isinstance(history, BaseException):
        raise history
    assert isinstance(history, list)
    passed = history[-1]
    assert isinstance(passed, ev.TestsPassed), passed
    assert (passed.producer, passed.attempt) == ("tester", 1)
    assert (passed.results.total, passed.results.failed) == (3, 0)
    assert passed.results.coverage == 62.5  # sign()'s body never runs: 5 of 8 statements
    assert "3 passed" in passed.results.output_tail
    assert Job.replay(history).state is JobState.reviewing


def test_a_change_no_test_runs_is_no_pass(runs: dict[str, Outcome]) -> None:
    run = outcome(runs, "stray")
    assert (run.results.total, run.results.failed) == (3, 0)  # the tests themselves pass
    assert not run.passed
    assert run.unexercised == ("helpers/mul_fix.py",)
    assert "The change is not exercised by any test" in run.why_failed
    assert "`helpers/mul_fix.py`" in run.why_failed


def test_a_failing_test_is_named_with_its_assertion_and_place(runs: dict[str, Outcome]) -> None:
    run = outcome(runs, "failing")
    assert not run.passed
    assert (run.results.total, run.results.failed) == (3, 1)
    assert run.results.coverage == 62.5
    assert "1 of 3 tests failed" in run.analysis
    assert "tests.test_calc::test_mul" in run.analysis
    assert "assert 5 == 6" in run.analysis
    assert "tests/test_calc.py:9" in run.analysis
    assert run.why_failed == run.analysis


def test_a_project_without_tests_gets_scaffolded_tests_that_run(runs: dict[str, Outcome]) -> None:
    run = outcome(runs, "untested")
    assert run.passed, run.analysis
    assert run.results.total == 3  # one smoke test per public function
    assert "[bdg] scaffolded in . (python): created tests/test_calc.py" in run.results.output_tail


def test_scaffolded_tests_join_the_jobs_change_and_are_not_scaffolded_twice(
    runs: dict[str, Outcome],
) -> None:
    found = runs["scaffolded"]
    if isinstance(found, BaseException):
        raise found
    assert isinstance(found, list)
    *history, again = found
    changed, passed = history[-2:]
    assert isinstance(changed, ev.FilesChanged), history
    assert (changed.producer, changed.attempt, changed.paths) == (
        "tester",
        1,
        ("tests/test_calc.py",),
    )
    assert "new file mode 100644\n--- /dev/null\n+++ b/tests/test_calc.py" in changed.patch
    assert isinstance(passed, ev.TestsPassed)
    # the workspace rebuilt from the base and the job's patches has the tests: none scaffolded
    assert isinstance(again, TestRun)
    assert (again.passed, again.results.total, again.scaffold_patch) == (True, 3, "")
    assert "scaffolded" not in again.results.output_tail


def test_the_tests_run_on_the_commit_the_coder_built_on_not_where_the_branch_is_now(
    runs: dict[str, Outcome],
) -> None:
    history = runs["moved"]
    if isinstance(history, BaseException):
        raise history
    assert isinstance(history, list)
    passed = history[-1]
    assert isinstance(passed, ev.TestsPassed), passed
    assert (passed.results.total, passed.results.failed) == (3, 0)


def test_an_install_failure_is_a_dependency_problem(runs: dict[str, Outcome]) -> None:
    run = outcome(runs, "broken")
    assert not run.passed
    assert run.results.total == 0
    assert "a dependency problem, not a code problem" in run.analysis
    assert "bdg-no-such-package-here" in run.analysis


def test_a_vitest_project_installs_from_npm_and_reports_junit(runs: dict[str, Outcome]) -> None:
    run = outcome(runs, "js")
    assert run.passed, run.analysis
    assert (run.results.total, run.results.failed) == (2, 0)
    assert run.results.coverage is None  # no coverage provider declared


async def test_the_workspaces_are_dropped(runs: dict[str, Outcome], daemon: Daemon) -> None:
    assert runs
    left = [
        p for p in (daemon.state / "workspaces" / TENANT).glob("*") if not p.name.startswith(".")
    ]
    assert left == []


async def test_a_patch_that_does_not_apply_fails_the_step_at_once(
    daemon: Daemon, repos: Repos
) -> None:
    repo = repos.make("unpatchable", {"calc/ops.py": "x = 1\n"})
    async with daemon.client() as client:
        runner = SandboxTestRunner(client)
        with pytest.raises(WorkspaceBuildError, match="patch 0 does not apply") as raised:
            await runner.run(task(repo, FIX))
    assert isinstance(raised.value, StepError)


async def test_an_unreachable_sandbox_is_transient(tmp_path: Path) -> None:
    runner = SandboxTestRunner(SandboxClient(f"unix://{tmp_path}/nobody.sock"))
    with pytest.raises(SandboxUnavailableError) as raised:
        await runner.run(task("/nowhere"))
    assert not isinstance(raised.value, StepError)  # the consumer retries it with backoff
