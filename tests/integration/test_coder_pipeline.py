"""The coder's pipeline strategy against a real sandboxd, PostgreSQL and NATS, the model scripted
through the fake OpenAI server (its answers as a model gave them under the edits' schema): the
files the plan names are read, the first answer's edit does not apply and is reported back in
the one repair turn, the corrected edit lands through ``edit_file``, the change is FilesChanged;
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
from bdg_jobs.application import JobApplication
from bdg_runtime.job_replay import replay_job
from bdg_sandbox.client import SandboxClient
from bdg_tools.code_context import IndexerContext
from bdg_tools.policy import ToolPolicy
from tests.fakes.openai_server import FakeOpenAi, Reply
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


MISCOPIED = edits(("    return a-b", "    return a + b"))  # not as the file has it
CORRECTED = edits(("    return a - b", "    return a + b"))
WRONG = edits(("    return a - b", "    return a * b"))  # 2 * 3 is not 5


def pipeline(fake: FakeOpenAi, sandbox: SandboxClient, nc: Client, candidates: int = 1) -> Coding:
    coder = ToolLoopCoder(
        model(fake),
        live_registry(sandbox, nc, ToolPolicy()),
        SandboxWorkspaces(sandbox),
        IndexerContext(nc, timeout=2.0),
        selection=SelectionSettings(candidates, tuple(RUN_TESTS)),
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
    fake.push(MISCOPIED, CORRECTED)
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
    assert [c.response for c in of(new, ev.LlmCalled)] == [MISCOPIED.content, CORRECTED.content]
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
