"""Test-driven selection against a real sandboxd, PostgreSQL and NATS, the model scripted through
the fake OpenAI server: two candidates of one attempt, each in its own workspace; the first
breaks ``add`` another way and fails the visible tests, the second fixes it, and the job keeps
the second. The choice is recorded (CandidatesCompared), replays, and a redelivery after an
crash in the second candidate runs nothing of the first again.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from uuid import uuid4

import pytest
from nats.aio.client import Client

from bdg_coder.application import Coding
from bdg_coder.main import replay_reactions
from bdg_coder.registries import live_registry
from bdg_coder.run_settings import SelectionSettings
from bdg_coder.tool_loop_coder import ToolLoopCoder
from bdg_coder.workspace import SandboxWorkspaces
from bdg_contracts import events as ev
from bdg_contracts import tool_events as tev
from bdg_contracts.states import JobState
from bdg_jobs.application import JobApplication
from bdg_jobs.domain import Cause
from bdg_runtime.job_replay import replay_job
from bdg_sandbox.client import SandboxClient
from bdg_tools.code_context import IndexerContext
from bdg_tools.policy import ToolPolicy
from tests.fakes.openai_server import FakeOpenAi, Hang
from tests.git_repos import git
from tests.integration.test_coder_loop import (  # noqa: F401 (fixtures)
    FIXED,
    RUN_TESTS,
    TENANT,
    app_fixture,
    applied,
    attempt,
    call,
    coding_job,
    daemon_fixture,
    fake_fixture,
    model,
    nc_fixture,
    of,
    repo_fixture,
    sandbox_fixture,
)
from tests.sandbox.daemon import Daemon
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(90)
WRONG = "def add(a, b):\n    return a * b\n"  # 2 * 3 is not 5
FIRST = (
    call("file_write", path="calc.py", content=WRONG),
    call("finish", summary="add() multiplies now."),
)
SECOND = (
    call("file_write", path="calc.py", content=FIXED),
    call("finish", summary="add() returned a - b; it returns a + b now."),
)


def selecting(fake: FakeOpenAi, sandbox: SandboxClient, nc: Client) -> Coding:
    coder = ToolLoopCoder(
        model(fake),
        live_registry(sandbox, nc, ToolPolicy()),
        SandboxWorkspaces(sandbox),
        IndexerContext(nc, timeout=2.0),
        selection=SelectionSettings(2, tuple(RUN_TESTS)),
    )
    return Coding(coder)


def checks(history: list[ev.Event]) -> list[dict[str, object]]:
    """The coder's own runs of the visible tests, one per candidate."""
    runs = [e for e in of(history, ev.ToolCalled) if e.tool == "run_tests"]
    return [json.loads(e.result) for e in runs]


async def test_the_candidate_passing_the_visible_tests_is_kept(
    app: JobApplication,
    sandbox: SandboxClient,
    nc: Client,
    fake: FakeOpenAi,
    repo: Path,
    tmp_path: Path,
) -> None:
    trigger = await coding_job(app, repo)
    fake.push(*FIRST, *SECOND)
    new = await attempt(selecting(fake, sandbox, nc), app, trigger)

    (compared,) = of(new, ev.CandidatesCompared)
    assert compared.chosen == 2
    assert compared.causation_id == trigger.event_id  # with the attempt's reaction
    first, second = compared.candidates
    assert (first.index, first.paths, first.tests_passed) == (1, ("calc.py",), False)
    assert (first.passed, first.failed) == (0, 1)
    assert (second.index, second.tests_passed, second.passed, second.failed) == (2, True, 1, 0)
    (changed,) = of(new, ev.FilesChanged)
    assert (applied(repo, changed.patch, tmp_path) / "calc.py").read_text() == FIXED
    (finished,) = of(new, ev.CodingFinished)
    assert finished.summary.startswith("add() returned a - b; it returns a + b now.")
    assert "Kept candidate 2 of 2 (visible tests: 1 passed, 0 failed)." in finished.summary
    assert new[-3:] == [compared, changed, finished]

    # Each ran in its own workspace from the same base: the first's tests saw a * b.
    tests = checks(new)
    assert [t["passed"] for t in tests] == [False, True]
    assert "AssertionError: 6" in str(tests[0]["output_tail"])
    # The second sampled (temperature > 0, a seed of its own); the first ran as it always does.
    temperatures = [(r["temperature"], r.get("seed")) for r in fake.requests]
    assert temperatures[:2] == [(0.0, temperatures[0][1])] * 2
    assert temperatures[2:] == [(0.7, 2)] * 2
    # The first's model calls were recorded as soon as its tests were; the second's with the
    # reaction. Every call once.
    calls = of(new, ev.LlmCalled)
    assert [c.response for c in calls] == [r.content for r in (*FIRST, *SECOND)]
    assert [c.causation_id == trigger.event_id for c in calls] == [False, False, True, True]
    (settings,) = of(new, ev.SettingsRecorded)
    assert settings.settings == {"candidates": "2", "test_argv": json.dumps(RUN_TESTS)}

    # `bdg job replay`: both candidates again from the log, the same choice, nothing run.
    report = await replay_job(await app.history(trigger.job_id), {"coder": replay_reactions})
    assert report.same, report.divergence
    assert report.by_service == {"coder": 1}


async def test_a_redelivery_does_not_run_a_recorded_candidate_again(
    app: JobApplication, sandbox: SandboxClient, nc: Client, fake: FakeOpenAi, repo: Path
) -> None:
    trigger = await coding_job(app, repo)
    hang = Hang()
    fake.push(*FIRST, hang)  # the second candidate's first call never returns
    run = asyncio.create_task(attempt(selecting(fake, sandbox, nc), app, trigger))
    await eventually(lambda: asyncio.to_thread(hang.arrived.wait, 0.05), what="second candidate")
    # Were the coder killed now, nothing of the first candidate would be lost: its model calls
    # are recorded already, with its change and its test run.
    during = await app.history(trigger.job_id, after=trigger.version)
    assert [c.response for c in of(during, ev.LlmCalled)] == [r.content for r in FIRST]
    assert len(checks(during)) == 1
    assert not of(during, ev.CandidatesCompared)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    hang.release.set()
    asked = len(fake.requests)

    fake.push(*SECOND)
    new = await attempt(selecting(fake, sandbox, nc), app, trigger)

    assert len(fake.requests) - asked == len(SECOND)  # nothing of the first asked again
    assert len(checks(new)) == 2  # ... nor its tests run again
    (compared,) = of(new, ev.CandidatesCompared)
    assert compared.chosen == 2
    assert [c.tests_passed for c in compared.candidates] == [False, True]
    calls = of(new, ev.LlmCalled)
    assert [c.response for c in calls] == [r.content for r in (*FIRST, *SECOND)]  # each once
    report = await replay_job(await app.history(trigger.job_id), {"coder": replay_reactions})
    assert report.same, report.divergence


SUM_BROKEN = "export function sum(xs) {\n  return xs.length;\n}\n"
SUM_FIXED = "export function sum(xs) {\n  return xs.reduce((a, b) => a + b, 0);\n}\n"
SUM_TEST = (
    'import { test } from "node:test";\nimport assert from "node:assert/strict";\n'
    'import { sum } from "../src/sum.js";\n\n'
    'test("empty", () => assert.equal(sum([]), 0));\n'
    'test("adds", () => assert.equal(sum([2, 3]), 5));\n'
)
PACKAGE = '{"name": "sum", "type": "module", "scripts": {"test": "node --test"}}\n'


@pytest.fixture(name="js_repo")
def js_repo_fixture(daemon: Daemon) -> Path:
    files = {"src/sum.js": SUM_BROKEN, "test/sum.test.js": SUM_TEST, "package.json": PACKAGE}
    return source_repo(daemon, files)


def source_repo(daemon: Daemon, files: dict[str, str]) -> Path:
    """A one-commit git repository under sandboxd's source root, granted to the tenant."""
    repo = daemon.state / "sources" / uuid4().hex
    daemon.grant({TENANT: [daemon.state / "sources"]})
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base")
    return repo


async def test_without_a_test_command_the_projects_own_tests_are_counted(
    app: JobApplication, sandbox: SandboxClient, nc: Client, fake: FakeOpenAi, js_repo: Path
) -> None:
    trigger = await coding_job(app, js_repo)
    wrong = "export function sum(xs) {\n  return xs.length ? xs[0] : 0;\n}\n"
    fake.push(
        call("file_write", path="src/sum.js", content=wrong),
        call("finish", summary="sum is the first one"),
        call("file_write", path="src/sum.js", content=SUM_FIXED),
        call("finish", summary="sum adds them all"),
    )
    coder = ToolLoopCoder(
        model(fake),
        live_registry(sandbox, nc, ToolPolicy()),
        SandboxWorkspaces(sandbox),
        IndexerContext(nc, timeout=2.0),
        selection=SelectionSettings(2),
    )
    new = await attempt(Coding(coder), app, trigger)

    (compared,) = of(new, ev.CandidatesCompared)
    # node --test's TAP summary, through the project's npm test script
    assert [(c.passed, c.failed) for c in compared.candidates] == [(1, 1), (2, 0)]
    assert [c.tests_passed for c in compared.candidates] == [False, True]
    assert compared.chosen == 2
    (changed,) = of(new, ev.FilesChanged)
    assert "+  return xs.reduce((a, b) => a + b, 0);" in changed.patch


async def test_a_gated_call_in_a_later_candidate_parks_and_resumes_the_selection(
    app: JobApplication, sandbox: SandboxClient, nc: Client, fake: FakeOpenAi, repo: Path
) -> None:
    trigger = await coding_job(app, repo)
    job_id = trigger.job_id
    gated = call("run_command", argv=["python3", "-c", "print(6 * 7)"], timeout_s=None)
    fake.push(*FIRST, SECOND[0], gated)
    coder = selecting(fake, sandbox, nc)  # run_command is gated by default
    parked = await attempt(coder, app, trigger)

    (request,) = of(parked, tev.ToolCallRequested)
    assert (await app.load(job_id)).state == JobState.paused
    assert not of(parked, ev.CandidatesCompared)
    assert not of(parked, ev.FilesChanged)
    assert len(checks(parked)) == 1  # the first candidate's

    cause = Cause(producer="user:alice", occurred_at=app.clock(), user_id="alice")
    await app.execute(job_id, lambda job: job.approve_tool_call(cause, request.call_id, "alice"))
    fake.push(SECOND[1])
    resumed = await attempt(coder, app, trigger)

    assert len(fake.requests) == 5  # each answer asked once: the rest came from the log
    assert len(checks(resumed)) == 2
    (compared,) = of(resumed, ev.CandidatesCompared)
    assert compared.chosen == 2
    ran = [e for e in of(resumed, ev.ToolCalled) if e.tool == "run_command"]
    assert json.loads(ran[0].result)["stdout"] == "42\n"
    assert (await app.load(job_id)).state == JobState.testing
    report = await replay_job(await app.history(job_id), {"coder": replay_reactions})
    assert report.same, report.divergence


MUL_BASE = "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a + b\n"
MUL_TEST = 'from calc import add, mul\n\nassert add(2, 3) == 5\nprint("1 passed")\n'


@pytest.fixture(name="mul_repo")
def mul_repo_fixture(daemon: Daemon) -> Path:
    """Visible tests that pass on the base: only a new test can prove a change."""
    return source_repo(daemon, {"calc.py": MUL_BASE, "test_calc.py": MUL_TEST})


async def test_right_code_beside_a_test_proving_nothing_ships_another_candidate_s_test(
    app: JobApplication,
    sandbox: SandboxClient,
    nc: Client,
    fake: FakeOpenAi,
    mul_repo: Path,
    tmp_path: Path,
) -> None:
    """Candidate 1 fixes mul but its test (2 * 2 == 2 + 2) passes on the base too; candidate 2
    gets mul wrong (a ** b) but its test (mul(2, 3) == 6) fails on the base. Candidate 1's code
    passes candidate 2's proven test: it is kept, and ships with that test."""
    right = MUL_BASE.replace("return a + b\n", "return a * b\n").replace("a * b\n", "a + b\n", 1)
    wrong = MUL_BASE.replace("    return a + b\n", "    return a ** b\n").replace(
        "a ** b\n", "a + b\n", 1
    )
    fake.push(
        call("file_write", path="calc.py", content=right),
        call("file_write", path="test_calc.py", content=MUL_TEST + "assert mul(2, 2) == 4\n"),
        call("finish", summary="mul multiplies"),
        call("file_write", path="calc.py", content=wrong),
        call("file_write", path="test_calc.py", content=MUL_TEST + "assert mul(2, 3) == 6\n"),
        call("finish", summary="mul multiplies"),
    )
    trigger = await coding_job(app, mul_repo)
    new = await attempt(selecting(fake, sandbox, nc), app, trigger)

    (compared,) = of(new, ev.CandidatesCompared)
    assert compared.chosen == 1
    first, second = compared.candidates
    assert (first.tests_passed, second.tests_passed) == (True, False)
    assert first.note == "passes 1 of 1 proven tests, ships candidate 2's test"
    assert second.note == "passes 0 of 1 proven tests"
    (changed,) = of(new, ev.FilesChanged)
    assert changed.paths == ("calc.py", "test_calc.py")
    shipped = applied(mul_repo, changed.patch, tmp_path)
    assert (shipped / "calc.py").read_text() == right
    assert (shipped / "test_calc.py").read_text() == MUL_TEST + "assert mul(2, 3) == 6\n"
    (finished,) = of(new, ev.CodingFinished)
    assert "passes 1 of 1 proven tests, ships candidate 2's test" in finished.summary
    # 1's check, its tests on the base (they pass: sample on), 2's check, 2's tests on the base,
    # then each code with the proven one.
    runs = [e for e in of(new, ev.ToolCalled) if e.tool == "run_tests"]
    assert [json.loads(r.result)["passed"] for r in runs] == [True, True, False, False, True, False]
    report = await replay_job(await app.history(trigger.job_id), {"coder": replay_reactions})
    assert report.same, report.divergence


async def test_a_first_candidate_with_a_proven_test_ends_the_sampling(
    app: JobApplication, sandbox: SandboxClient, nc: Client, fake: FakeOpenAi, mul_repo: Path
) -> None:
    right = MUL_BASE.replace("a + b\n", "a * b\n").replace("a * b\n", "a + b\n", 1)
    fake.push(
        call("file_write", path="calc.py", content=right),
        call("file_write", path="test_calc.py", content=MUL_TEST + "assert mul(2, 3) == 6\n"),
        call("finish", summary="mul multiplies"),
    )
    trigger = await coding_job(app, mul_repo)
    new = await attempt(selecting(fake, sandbox, nc), app, trigger)

    assert len(fake.requests) == 3  # no second candidate was sampled
    assert not of(new, ev.CandidatesCompared)
    (changed,) = of(new, ev.FilesChanged)
    assert changed.paths == ("calc.py", "test_calc.py")
    (finished,) = of(new, ev.CodingFinished)
    assert finished.summary.endswith("Its test fails on the base.")
    runs = [e for e in of(new, ev.ToolCalled) if e.tool == "run_tests"]
    assert [json.loads(r.result)["passed"] for r in runs] == [True, False]  # its check, the base
    report = await replay_job(await app.history(trigger.job_id), {"coder": replay_reactions})
    assert report.same, report.divergence
