"""The fail-to-pass check against a real sandboxd: the change's tests run on the base code too.

Each scenario is a job's change to one small Python repository whose own tests pass and never
call `mul` (which is wrong: it adds), but one to a vitest project. Like
tests/integration/test_tester_sandbox.py (whose daemon and repositories this module shares) the
runs install pytest from PyPI and vitest from npm, so every scenario runs at once in one module
fixture; about a minute on an idle 2-core machine. The base runs get a copy of what the
change's run installed unless the change touches a dependency manifest.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import AsyncIterator, Awaitable, Callable
from uuid import uuid4

import pytest

from bdg_contracts.events import FailToPass
from bdg_tester.domain import TestRun, TestTask
from bdg_tester.sandbox.runner import SandboxTestRunner
from bdg_tester.settings import TesterSettings
from tests.integration.test_tester_sandbox import (
    JS_PACKAGE,
    JS_SUM,
    JS_TEST,
    OPS,
    PYPROJECT,
    TENANT,
    TESTS,
    Outcome,
    Repos,
    daemon_fixture,
    outcome,
    repos_fixture,
)
from tests.sandbox.daemon import Daemon

__all__ = ["daemon_fixture", "repos_fixture"]  # the shared module fixtures, used by name
pytestmark = pytest.mark.timeout(900)  # 9 changes, 17 sandbox runs: ~4 min at load 20

ADD_ONLY = "from calc.ops import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
FIXED = OPS.replace("a + b\n\n\ndef sign", "a * b\n\n\ndef sign")
WITH_NEG = FIXED + "\n\ndef neg(x):\n    return -x\n"
# Passes on the wrong `mul` too (0 + 0 == 0 * 0): proves nothing about the fix.
WEAK = "from calc.ops import mul\n\n\ndef test_mul_zero():\n    assert mul(0, 0) == 0\n"
STRONG = "from calc.ops import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n"
NEG = "from calc.ops import neg\n\n\ndef test_neg():\n    assert neg(2) == -2\n"
# Kills the runner itself on the base (no results at all), runs on the change.
CRASH = (
    "import os\n\nimport calc.ops\n\nif not hasattr(calc.ops, 'neg'):\n    os._exit(3)\n\n\n"
    "def test_neg_exists():\n    assert calc.ops.neg(1) == -1\n"
)


def diff(path: str, old: str | None, new: str) -> str:
    before = "/dev/null" if old is None else f"a/{path}"
    lines = difflib.unified_diff(
        (old or "").splitlines(keepends=True), new.splitlines(keepends=True), before, f"b/{path}"
    )
    return "".join(lines)


def change(ops: str, **tests: str) -> tuple[str, ...]:
    """One patch per file, as a coder's FilesChanged would hold them."""
    patches = [diff("calc/ops.py", OPS, ops)]
    return (*patches, *(diff(f"tests/{name}.py", None, text) for name, text in tests.items()))


# A vitest project whose `sum` forgets a third argument; the change adds it and a test of it.
JS_SUM3 = "export function sum(a, b, c = 0) {\n  return a + b + c;\n}\n"
JS_SUM3_TEST = (
    'import { expect, test } from "vitest";\nimport { sum } from "./sum.js";\n\n'
    'test("adds three", () => {\n  expect(sum(1, 2, 3)).toBe(6);\n});\n'
)
PHASES: dict[str, list[str]] = {}  # the phases of the watched scenarios' runs
TOUCHED = (PYPROJECT, PYPROJECT + "# the change touches a dependency manifest\n")


def task(repo: str, patches: tuple[str, ...], goal: str = "make mul multiply") -> TestTask:
    return TestTask(goal, 1, repo, TENANT, str(uuid4()), "HEAD", patches)


@pytest.fixture(name="runs", scope="module")
async def runs_fixture(daemon: Daemon, repos: Repos) -> AsyncIterator[dict[str, Outcome]]:
    repo = repos.make(
        "f2p",
        {
            "pyproject.toml": PYPROJECT,
            "calc/__init__.py": "",
            "calc/ops.py": OPS,
            "tests/test_calc.py": ADD_ONLY,
        },
    )
    js_files = {"package.json": JS_PACKAGE, "sum.js": JS_SUM, "sum.test.js": JS_TEST}
    js = repos.make("f2p-js", js_files)
    js_change = (diff("sum.js", JS_SUM, JS_SUM3), diff("sum3.test.js", None, JS_SUM3_TEST))
    # its own tests catch the bug: test_mul fails on the base
    caught = repos.make(
        "f2p-caught",
        {
            "pyproject.toml": PYPROJECT,
            "calc/__init__.py": "",
            "calc/ops.py": OPS,
            "tests/test_calc.py": TESTS,
        },
    )
    async with daemon.client() as client:
        on = SandboxTestRunner(client, TesterSettings())

        def watched(name: str) -> SandboxTestRunner:  # its phases, in order, in PHASES[name]
            seen = PHASES.setdefault(name, [])
            return SandboxTestRunner(client, on_phase=lambda phase, _: seen.append(phase))

        off = SandboxTestRunner(client, TesterSettings(bdg_test_require_failing_first="off"))
        scenarios: dict[str, Callable[[], Awaitable[Outcome]]] = {
            "weak": lambda: on.run(task(repo, change(FIXED, test_mul=WEAK))),
            "strong": lambda: watched("strong").run(task(repo, change(FIXED, test_mul=STRONG))),
            "js": lambda: watched("js").run(task(js, js_change, "sum takes a third number")),
            "manifest": lambda: watched("manifest").run(
                task(repo, (*change(FIXED, test_mul=STRONG), diff("pyproject.toml", *TOUCHED)))
            ),
            "untested": lambda: on.run(task(repo, change(FIXED))),
            "new_function": lambda: on.run(task(repo, change(WITH_NEG, test_neg=NEG), "add neg")),
            "crash": lambda: on.run(task(repo, change(WITH_NEG, test_neg=CRASH), "add neg")),
            "off": lambda: off.run(task(repo, change(FIXED))),
            "caught": lambda: on.run(task(caught, change(FIXED))),
        }
        done = await asyncio.gather(*(s() for s in scenarios.values()), return_exceptions=True)
        yield dict(zip(scenarios, done, strict=True))


def verdict_of(run: TestRun) -> FailToPass:
    """The fail-to-pass check the run recorded: it ran once the change's tests passed."""
    check = run.results.fail_to_pass
    assert check is not None
    return check


def test_a_new_test_that_passes_on_the_base_too_is_refused(runs: dict[str, Outcome]) -> None:
    run = outcome(runs, "weak")
    assert (run.results.total, run.results.failed) == (2, 0)  # the tests themselves pass
    assert not run.passed
    check = verdict_of(run)
    assert (check.verdict, check.tests, check.test_files) == (
        "not_proven",
        (),
        ("tests/test_mul.py",),
    )
    assert "no test of the change fails without it" in run.why_failed
    assert "[bdg] fail-to-pass not proven" in run.results.output_tail


def test_a_test_that_fails_on_the_base_and_passes_now_is_accepted(runs: dict[str, Outcome]) -> None:
    run = outcome(runs, "strong")
    assert run.passed, run.analysis
    check = verdict_of(run)
    assert check.verdict == "proven"
    assert [(f.test, f.before) for f in check.tests] == [("tests.test_mul::test_mul", "failed")]


def test_the_base_copies_the_changes_installed_dependencies_instead_of_installing(
    runs: dict[str, Outcome],
) -> None:
    assert outcome(runs, "strong").passed
    # one venv and one install, the change's; the base's run gets a copy of them
    assert (PHASES["strong"].count("venv"), PHASES["strong"].count("install")) == (1, 1)
    phases = PHASES["strong"]
    assert phases.index("install") < phases.index("reuse") < phases.index("fail-to-pass")
    assert (phases.count("reuse"), phases.count("test")) == (1, 2)  # the base's tests ran


def test_a_vitest_projects_base_gets_a_copy_of_node_modules(runs: dict[str, Outcome]) -> None:
    run = outcome(runs, "js")
    assert run.passed, run.analysis
    check = verdict_of(run)
    assert check.verdict == "proven"
    assert [f.before for f in check.tests] == ["failed"]
    assert "adds three" in check.tests[0].test
    phases = PHASES["js"]
    assert (phases.count("install"), phases.count("reuse"), phases.count("test")) == (1, 1, 2)


def test_a_change_of_a_dependency_manifest_installs_the_base_again(
    runs: dict[str, Outcome],
) -> None:
    run = outcome(runs, "manifest")
    assert run.passed, run.analysis
    check = verdict_of(run)
    assert [(f.test, f.before) for f in check.tests] == [("tests.test_mul::test_mul", "failed")]
    assert (PHASES["manifest"].count("venv"), PHASES["manifest"].count("install")) == (2, 2)
    assert "reuse" not in PHASES["manifest"]


def test_a_change_to_source_with_no_test_is_refused(runs: dict[str, Outcome]) -> None:
    run = outcome(runs, "untested")
    assert (run.results.total, run.results.failed) == (1, 0)
    assert not run.passed
    check = verdict_of(run)
    assert check.verdict == "no_test"
    assert "calc/ops.py" in check.note
    assert "Add a test that shows the goal's behaviour" in run.why_failed


def test_a_fix_with_no_test_is_proven_by_the_projects_test_it_makes_pass(
    runs: dict[str, Outcome],
) -> None:
    run = outcome(runs, "caught")
    assert run.passed, run.analysis
    check = verdict_of(run)
    assert (check.verdict, check.test_files) == ("proven", ())
    assert [(f.test, f.before) for f in check.tests] == [("tests.test_calc::test_mul", "failed")]


def test_a_test_the_base_cannot_even_import_is_told_apart(runs: dict[str, Outcome]) -> None:
    run = outcome(runs, "new_function")
    assert run.passed, run.analysis
    check = verdict_of(run)
    assert check.verdict == "proven"
    # pytest ran no test of the base once test_neg.py failed to import: test_calc's are no flip
    assert [(f.test, f.before) for f in check.tests] == [("tests.test_neg::test_neg", "not run")]
    assert "could not even be collected" in check.note


def test_a_runner_that_crashes_on_the_base_is_told_apart(runs: dict[str, Outcome]) -> None:
    run = outcome(runs, "crash")
    assert run.passed, run.analysis
    check = verdict_of(run)
    assert check.verdict == "proven"
    assert ("tests.test_neg::test_neg_exists", "crashed") in [
        (f.test, f.before) for f in check.tests
    ]
    assert ".: the run on the base crashed" in check.note


def test_the_check_turned_off_lets_an_untested_change_pass(runs: dict[str, Outcome]) -> None:
    run = outcome(runs, "off")
    assert run.passed, run.analysis
    check = verdict_of(run)
    assert check.verdict == "off"


async def test_the_base_workspaces_are_dropped(runs: dict[str, Outcome], daemon: Daemon) -> None:
    assert runs
    left = [p.name for p in (daemon.state / "workspaces" / TENANT).glob("*-base")]
    assert left == []
