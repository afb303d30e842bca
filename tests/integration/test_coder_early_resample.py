"""The rewrite strategy's early resample against a real sandboxd, PostgreSQL and NATS, the model
scripted through the fake OpenAI server: on a first attempt the goal's examples land before the
model writes its own test, the project's tests and those examples run, and when they name a
failing test the definition is asked for once more (shown the failures, sampled with a seed of
its own); the model's test comes after, shown the examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from nats.aio.client import Client

from bdg_coder.application import Coding
from bdg_contracts import events as ev
from bdg_jobs.application import JobApplication
from bdg_sandbox.client import SandboxClient
from tests.fakes.openai_server import FakeOpenAi
from tests.integration.test_coder_loop import (  # noqa: F401 (fixtures)
    FIXED,
    app_fixture,
    applied,
    attempt,
    coding_job,
    daemon_fixture,
    fake_fixture,
    model,
    nc_fixture,
    of,
    repo_fixture,
    sandbox_fixture,
)
from tests.integration.test_coder_rewrite import (
    NEW_TEST,
    TIMES,
    code,
    committed,
    replays,
    rewriting,
    two_file_job,
)

pytestmark = pytest.mark.timeout(90)
GOAL = "Make add() add its arguments: add(2, 3) is 5 and add(-1, 1) == 0."
PYTEST_STYLE = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
# A project test that passes whatever add() does: only the goal's examples can fail.
NOTHING_TESTED = "from calc import add\n\n\ndef test_nothing():\n    pass\n"
EXAMPLES = (
    "def test_the_goal_s_examples():\n    assert add(2, 3) == 5\n    assert add(-1, 1) == 0\n"
)


def early(
    fake: FakeOpenAi, sandbox: SandboxClient, nc: Client, check: tuple[str, ...] | None = None
) -> Coding:
    """The coder with the early resample on and no later ones (``check`` None: the default
    check, the sandbox's pytest here)."""
    return rewriting(fake, sandbox, nc, check=check, early_resample=True)


def checks(new: list[ev.Event]) -> list[bool]:
    return [
        json.loads(e.result)["passed"] for e in of(new, ev.ToolCalled) if e.tool == "check_tests"
    ]


async def test_a_definition_failing_the_goal_s_examples_is_asked_again_before_the_test(
    app: JobApplication,
    sandbox: SandboxClient,
    nc: Client,
    fake: FakeOpenAi,
    repo: Path,
    tmp_path: Path,
) -> None:
    """add() multiplies: the project's test_add and the goal's examples fail on it before the
    model has written a test that could agree with it; the resample, shown those failures,
    adds, and is kept; the model's test is asked for after, shown the examples."""
    committed(repo, {"test_calc.py": PYTEST_STYLE})
    trigger = await coding_job(app, repo, GOAL)
    fake.push(code(TIMES), code(FIXED.rstrip()), code(NEW_TEST))
    new = await attempt(early(fake, sandbox, nc), app, trigger)

    first, again, test = fake.requests
    asked = again["messages"][1]["content"]
    assert asked.startswith(f"The file `calc.py` as it is now:\n```\n{TIMES}\n```")
    assert "The tests were run on the file above, and these fail:" in asked
    assert "test_the_goal_s_examples" in asked
    assert "test_add" in asked
    assert (first["temperature"], again["temperature"], again["seed"]) == (0.0, 0.7, 1_001)
    assert EXAMPLES.rstrip() in test["messages"][-1]["content"]  # the model's test sees them
    assert checks(new) == [False, True]
    (changed,) = of(new, ev.FilesChanged)
    after = applied(repo, changed.patch, tmp_path)
    assert (after / "calc.py").read_text() == FIXED
    assert (after / "test_calc.py").read_text() == (
        PYTEST_STYLE + "\n\n" + EXAMPLES + "\n\n" + NEW_TEST + "\n"
    )
    (finished,) = of(new, ev.CodingFinished)
    assert finished.summary.startswith(
        "The pipeline applied 3 edit(s): calc.py add, test_calc.py (the goal's examples), "
        "test_calc.py (new test)."
    )
    (settings,) = of(new, ev.SettingsRecorded)
    assert settings.settings["early_resample"] == "true"
    await replays(app, trigger)


async def test_a_definition_the_tests_pass_on_is_not_asked_again(
    app: JobApplication,
    sandbox: SandboxClient,
    nc: Client,
    fake: FakeOpenAi,
    repo: Path,
) -> None:
    committed(repo, {"test_calc.py": PYTEST_STYLE})
    trigger = await coding_job(app, repo, GOAL)
    fake.push(code(FIXED.rstrip()), code(NEW_TEST))
    new = await attempt(early(fake, sandbox, nc), app, trigger)

    assert len(fake.requests) == 2
    assert checks(new) == [True]
    await replays(app, trigger)


async def test_a_failing_run_that_names_no_test_is_not_resampled(
    app: JobApplication,
    sandbox: SandboxClient,
    nc: Client,
    fake: FakeOpenAi,
    repo: Path,
) -> None:
    """A check that fails without naming a failing test (a project whose tests cannot run)
    gives the model nothing to fix: no resample is asked for."""
    trigger = await coding_job(app, repo, GOAL)
    fake.push(code(TIMES), code(NEW_TEST))
    broken = ("sh", "-c", "echo the test runner is missing; exit 1")
    new = await attempt(early(fake, sandbox, nc, broken), app, trigger)

    assert len(fake.requests) == 2
    assert checks(new) == [False]


async def test_the_resample_asks_for_the_definition_the_failures_name(
    app: JobApplication,
    sandbox: SandboxClient,
    nc: Client,
    fake: FakeOpenAi,
    repo: Path,
    tmp_path: Path,
) -> None:
    """Two definitions written, add() right and scaled() wrong: the failing test names
    scaled() alone, so the resample asks for scaled(), not add(), the first written (the
    1.5B's refactor: post_url() lost its "/posts/" and the resample rewrote slugify())."""
    scale_test = "from scale import scaled\n\n\ndef test_scaled():\n    assert scaled(4) == 4\n"
    committed(
        repo, {"test_calc.py": "def test_nothing():\n    pass\n", "test_scale.py": scale_test}
    )
    trigger = await two_file_job(app, repo)
    fake.push(
        code("def add(a, b):\n    return scaled(a + b)"),
        code("def scaled(x):\n    return x / 4"),
        code("def scaled(x):\n    return x"),
        code(NEW_TEST),
    )
    new = await attempt(early(fake, sandbox, nc), app, trigger)

    assert len(fake.requests) == 4
    asked = fake.requests[2]["messages"][1]["content"]
    assert asked.startswith("The file `scale.py` as it is now:")
    assert "Write the complete new definition of `scaled`" in asked
    assert checks(new) == [False, True]
    (changed,) = of(new, ev.FilesChanged)
    after = applied(repo, changed.patch, tmp_path)
    assert (after / "scale.py").read_text() == "def scaled(x):\n    return x\n"
    assert (after / "calc.py").read_text().endswith("    return scaled(a + b)\n")


async def test_a_resample_whose_failure_moved_on_is_kept_and_the_next_one_finishes(
    app: JobApplication,
    sandbox: SandboxClient,
    nc: Client,
    fake: FakeOpenAi,
    repo: Path,
    tmp_path: Path,
) -> None:
    """A repair in two steps: the first resample passes the goal's first example and fails
    its second, as many tests failing as before but one line further on, so it is kept and a
    second resample, shown the new failure, starts from it (counted by tests alone, the step
    was put back and the early resamples ended)."""
    committed(repo, {"test_calc.py": NOTHING_TESTED})
    trigger = await coding_job(app, repo, GOAL)
    halfway = "def add(a, b):\n    return abs(a) + abs(b)"
    fake.push(code(TIMES), code(halfway), code(FIXED.rstrip()), code(NEW_TEST))
    new = await attempt(early(fake, sandbox, nc), app, trigger)

    _, step, last, _ = fake.requests
    assert (step["seed"], last["seed"]) == (1_001, 1_002)
    assert last["messages"][1]["content"].startswith(
        f"The file `calc.py` as it is now:\n```\n{halfway}\n```"
    )
    assert "add(-1, 1) == 0" in last["messages"][1]["content"]
    assert checks(new) == [False, False, True]
    (changed,) = of(new, ev.FilesChanged)
    after = applied(repo, changed.patch, tmp_path)
    assert (after / "calc.py").read_text() == FIXED
    await replays(app, trigger)


async def test_the_early_resamples_end_at_the_first_that_goes_no_better(
    app: JobApplication,
    sandbox: SandboxClient,
    nc: Client,
    fake: FakeOpenAi,
    repo: Path,
    tmp_path: Path,
) -> None:
    """The first resample fails the goal's first example as before: it is put back and no
    other is asked for; the model's test comes next."""
    committed(repo, {"test_calc.py": NOTHING_TESTED})
    trigger = await coding_job(app, repo, GOAL)
    fake.push(code(TIMES), code("def add(a, b):\n    return a - b"), code(NEW_TEST))
    new = await attempt(early(fake, sandbox, nc), app, trigger)

    assert len(fake.requests) == 3
    assert "def test_" in fake.requests[2]["messages"][-1]["content"]
    assert checks(new) == [False, False]
    (changed,) = of(new, ev.FilesChanged)
    after = applied(repo, changed.patch, tmp_path)
    assert (after / "calc.py").read_text() == TIMES + "\n"
