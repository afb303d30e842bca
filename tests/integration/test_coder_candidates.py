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

import pytest
from nats.aio.client import Client

from bdg_coder.application import Coding
from bdg_coder.main import replay_reactions
from bdg_coder.registries import live_registry
from bdg_coder.run_settings import SelectionSettings
from bdg_coder.tool_loop_coder import ToolLoopCoder
from bdg_coder.workspace import SandboxWorkspaces
from bdg_contracts import events as ev
from bdg_jobs.application import JobApplication
from bdg_runtime.job_replay import replay_job
from bdg_sandbox.client import SandboxClient
from bdg_tools.code_context import IndexerContext
from bdg_tools.policy import ToolPolicy
from tests.fakes.openai_server import FakeOpenAi, Hang
from tests.integration.test_coder_loop import (  # noqa: F401 (fixtures)
    FIXED,
    RUN_TESTS,
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
    assert "Kept candidate 2 of 2 (1 visible tests passed, 0 failed)." in finished.summary
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
