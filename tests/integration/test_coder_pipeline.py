"""The coder's pipeline strategy against a real sandboxd, PostgreSQL and NATS, the model scripted
through the fake OpenAI server (its answers as a model gave them under the edits' schema): the
files the plan names are read, the first answer's edit does not apply and is reported back in
the one repair turn, the corrected edit (its search not copied exactly: found ignoring the
indentation) lands through ``edit_file`` as the file's own lines, the change is FilesChanged;
the job records the strategy and replays. With two candidates, the one passing the visible tests
is kept.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from nats.aio.client import Client

from bdg_coder.application import Coding
from bdg_coder.main import replay_reactions
from bdg_coder.registries import live_registry
from bdg_coder.run_settings import SelectionSettings
from bdg_coder.strategy import Strategy
from bdg_coder.tool_loop_coder import ToolLoopCoder
from bdg_coder.workspace import SandboxWorkspaces
from bdg_contracts import events as ev
from bdg_contracts import tool_events as tev
from bdg_contracts.states import JobState
from bdg_jobs.application import JobApplication
from bdg_jobs.domain import Cause
from bdg_llm.api import LlmUnavailableError
from bdg_runtime.job_replay import replay_job
from bdg_sandbox.client import SandboxClient
from bdg_tools.code_context import IndexerContext
from bdg_tools.policy import ToolPolicy
from tests.fakes.openai_server import Failure, FakeOpenAi, Reply
from tests.integration.test_coder_loop import (  # noqa: F401 (fixtures)
    FIXED,
    RUN_TESTS,
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

pytestmark = pytest.mark.timeout(90)


def edits(*changes: tuple[str, str]) -> Reply:
    """An answer under the edits' schema: search/replace blocks on calc.py."""
    blocks = [
        {"path": "calc.py", "symbol": "", "search": search, "replace": replace}
        for search, replace in changes
    ]
    return Reply(content=json.dumps({"edits": blocks}))


MISCOPIED = edits(("    return a - c", "    return a + b"))  # not in the file
CORRECTED = edits(("    return a - b", "    return a + b"))
SHIFTED = edits(("return a - b ", "return a + b"))  # found ignoring the indentation
WRONG = edits(("    return a - b", "    return a * b"))  # 2 * 3 is not 5


def pipeline(
    fake: FakeOpenAi,
    sandbox: SandboxClient,
    nc: Client,
    candidates: int = 1,
    policy: ToolPolicy | None = None,
) -> Coding:
    coder = ToolLoopCoder(
        model(fake),
        live_registry(sandbox, nc, policy or ToolPolicy()),
        SandboxWorkspaces(sandbox),
        IndexerContext(nc, timeout=2.0),
        selection=SelectionSettings(candidates, tuple(RUN_TESTS)),
        policy=policy,
        strategy=Strategy.pipeline,
    )
    return Coding(coder)


async def test_a_failed_edit_is_reported_once_and_the_corrected_one_lands(
    app: JobApplication,
    sandbox: SandboxClient,
    nc: Client,
    fake: FakeOpenAi,
    repo: Path,
    tmp_path: Path,
) -> None:
    trigger = await coding_job(app, repo)
    fake.push(MISCOPIED, SHIFTED)
    new = await attempt(pipeline(fake, sandbox, nc), app, trigger)

    # localize: the files the plan names, read through the recorded file_read
    tools = [(e.tool, json.loads(e.arguments_json).get("path")) for e in of(new, ev.ToolCalled)]
    assert tools[:2] == [("file_read", "calc.py"), ("file_read", "test_calc.py")]
    assert ("edit_file", "calc.py") in tools  # only the edit that applies reached the tool
    assert [t for t, _ in tools].count("edit_file") == 1
    first, second = fake.requests
    assert first["response_format"]["json_schema"]["schema"]["properties"]["edits"]["maxItems"]
    shown = first["messages"][1]["content"]
    assert "`calc.py`:\n```\ndef add(a, b):\n    return a - b\n```" in shown
    assert "`test_calc.py`:" in shown
    # the repair turn says exactly what failed
    retry = second["messages"][-1]["content"]
    assert "edit 1 (calc.py): FAILED: the search text does not occur in calc.py" in retry
    assert second["messages"][-2]["content"] == MISCOPIED.content

    (changed,) = of(new, ev.FilesChanged)
    assert (applied(repo, changed.patch, tmp_path) / "calc.py").read_text() == FIXED
    (finished,) = of(new, ev.CodingFinished)
    assert finished.summary == (
        "The pipeline applied 1 edit(s): calc.py (edit_file). Changed: calc.py."
    )
    assert [c.response for c in of(new, ev.LlmCalled)] == [MISCOPIED.content, SHIFTED.content]
    # the corrected edit's search was not copied exactly: the tool got the file's own lines
    (landed,) = [e for e in of(new, ev.ToolCalled) if e.tool == "edit_file"]
    assert json.loads(landed.arguments_json)["search"] == "    return a - b\n"
    (settings,) = of(new, ev.SettingsRecorded)
    assert settings.settings == {"strategy": "pipeline", "test_argv": json.dumps(RUN_TESTS)}

    # `bdg job replay`: the same requests find the recorded answers, every tool from the log
    report = await replay_job(await app.history(trigger.job_id), {"coder": replay_reactions})
    assert report.same, report.divergence
    assert report.by_service == {"coder": 1}


async def test_an_unusable_answer_twice_changes_nothing_and_says_so(
    app: JobApplication, sandbox: SandboxClient, nc: Client, fake: FakeOpenAi, repo: Path
) -> None:
    trigger = await coding_job(app, repo)
    prose = Reply(content="Sure! Change a - b to a + b.")
    fake.push(prose, prose)
    new = await attempt(pipeline(fake, sandbox, nc), app, trigger)

    assert len(fake.requests) == 2  # the edits, one repair turn: no more
    assert "the answer is not a list of edits" in fake.requests[1]["messages"][-1]["content"]
    assert not of(new, ev.FilesChanged)
    (finished,) = of(new, ev.CodingFinished)
    assert finished.summary.startswith("The pipeline's edits did not apply; nothing was changed.")


async def test_with_two_candidates_the_repair_passing_the_tests_is_kept(
    app: JobApplication,
    sandbox: SandboxClient,
    nc: Client,
    fake: FakeOpenAi,
    repo: Path,
    tmp_path: Path,
) -> None:
    trigger = await coding_job(app, repo)
    fake.push(WRONG, CORRECTED)
    new = await attempt(pipeline(fake, sandbox, nc, candidates=2), app, trigger)

    (compared,) = of(new, ev.CandidatesCompared)
    assert compared.chosen == 2
    assert [c.tests_passed for c in compared.candidates] == [False, True]
    (changed,) = of(new, ev.FilesChanged)
    assert (applied(repo, changed.patch, tmp_path) / "calc.py").read_text() == FIXED
    assert [(r["temperature"], r.get("seed")) for r in fake.requests][1] == (0.7, 2)
    (settings,) = of(new, ev.SettingsRecorded)
    assert settings.settings["strategy"] == "pipeline"
    report = await replay_job(await app.history(trigger.job_id), {"coder": replay_reactions})
    assert report.same, report.divergence


ADD = "def add(a, b):\n    return a + b\n"
BY_SYMBOL = Reply(
    content=json.dumps(
        {"edits": [{"path": "calc.py", "symbol": "add", "search": "", "replace": ADD}]}
    )
)


async def test_an_edit_the_tool_refuses_is_reported_and_another_kind_lands(
    app: JobApplication, sandbox: SandboxClient, nc: Client, fake: FakeOpenAi, repo: Path
) -> None:
    # The job's policy forbids edit_file: the edit checks out, but the tool refuses it.
    trigger = await coding_job(app, repo)
    fake.push(CORRECTED, BY_SYMBOL)
    policy = ToolPolicy(tools={"edit_file": "forbid"})
    new = await attempt(pipeline(fake, sandbox, nc, policy=policy), app, trigger)

    retry = fake.requests[1]["messages"][-1]["content"]
    assert "edit 1 (calc.py): FAILED: tool edit_file is not allowed for this job" in retry
    landed = [e.tool for e in of(new, ev.ToolCalled) if e.tool in ("edit_file", "replace_symbol")]
    assert landed == ["replace_symbol"]
    (refused,) = of(new, tev.ToolCallRefused)  # the refusal is recorded
    assert refused.tool == "edit_file"
    (changed,) = of(new, ev.FilesChanged)
    assert "+    return a + b" in changed.patch
    (finished,) = of(new, ev.CodingFinished)
    assert finished.summary.startswith("The pipeline applied 1 edit(s): calc.py (replace_symbol).")


async def test_a_gated_edit_parks_the_attempt_and_the_approved_run_resumes_it(
    app: JobApplication, sandbox: SandboxClient, nc: Client, fake: FakeOpenAi, repo: Path
) -> None:
    trigger = await coding_job(app, repo)
    fake.push(CORRECTED)
    coder = pipeline(fake, sandbox, nc, policy=ToolPolicy(tools={"edit_file": "gate"}))
    parked = await attempt(coder, app, trigger)

    (request,) = of(parked, tev.ToolCallRequested)
    assert request.tool == "edit_file"
    assert (await app.load(trigger.job_id)).state == JobState.paused
    assert of(parked, ev.FilesChanged) == []
    (paid,) = of(parked, ev.LlmCalled)  # recorded aside under the waiting call
    assert paid.causation_id == request.call_id

    cause = Cause(producer="user:alice", occurred_at=app.clock(), user_id="alice")
    await app.execute(
        trigger.job_id, lambda job: job.approve_tool_call(cause, request.call_id, "alice")
    )
    resumed = await attempt(coder, app, trigger)

    assert len(fake.requests) == 1  # the answer came from the log: not asked again
    (changed,) = of(resumed, ev.FilesChanged)
    assert changed.paths == ("calc.py",)
    reaction = [e for e in resumed if e.causation_id == trigger.event_id]
    assert of(reaction, ev.LlmCalled) == []  # paid once, recorded once
    report = await replay_job(await app.history(trigger.job_id), {"coder": replay_reactions})
    assert report.same, report.divergence


async def test_a_model_outage_in_the_repair_turn_keeps_the_first_answer(
    app: JobApplication, sandbox: SandboxClient, nc: Client, fake: FakeOpenAi, repo: Path
) -> None:
    trigger = await coding_job(app, repo)
    fake.push(MISCOPIED, Failure(503))
    coder = pipeline(fake, sandbox, nc)
    with pytest.raises(LlmUnavailableError):
        await attempt(coder, app, trigger)
    aside = await app.history(trigger.job_id, after=trigger.version)
    (paid,) = of(aside, ev.LlmCalled)
    assert paid.response == MISCOPIED.content

    fake.push(CORRECTED)
    new = await attempt(coder, app, trigger)  # the redelivery
    assert len(fake.requests) == 3  # the first answer from the log, the repair turn again
    (changed,) = of(new, ev.FilesChanged)
    assert changed.paths == ("calc.py",)
    reaction = [e for e in new if e.causation_id == trigger.event_id]
    assert [c.response for c in of(reaction, ev.LlmCalled)] == [CORRECTED.content]
