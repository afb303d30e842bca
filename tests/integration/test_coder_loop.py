"""The model-driven coder against a real sandboxd, PostgreSQL and NATS, its model scripted through
the fake OpenAI server: a tiny git repository whose ``add`` subtracts gets fixed.

Each attempt runs the coder's real handler (``Coding.attempt``) on the job's PlanApproved; the
workspace is built by sandboxd from the repository, the tools run there, and the change comes
back as one diff.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import nats
import pytest
from nats.aio.client import Client

from bdg_coder.application import Coding
from bdg_coder.loop_decisions import LoopLimits
from bdg_coder.main import replay_reactions
from bdg_coder.registries import live_registry
from bdg_coder.tool_loop_coder import ToolLoopCoder
from bdg_coder.workspace import SandboxWorkspaces
from bdg_contracts import commands as cmd
from bdg_contracts import events as ev
from bdg_contracts import tool_events as tev
from bdg_contracts.base import Event
from bdg_contracts.states import JobState
from bdg_jobs.application import JobApplication
from bdg_jobs.domain import Cause, Job
from bdg_jobs.forks import ForkError
from bdg_jobs.sources import SourceRules
from bdg_jobs.store import JobStore
from bdg_jobs.user_commands import Caller, JobCommands
from bdg_llm.api import LlmClient, LlmUnavailableError
from bdg_llm.recorded_calls import client_from_settings, read_recordings
from bdg_llm.settings import LlmSettings
from bdg_runtime.job_replay import replay_job
from bdg_runtime.reactions import Delivery
from bdg_sandbox.client import SandboxClient
from bdg_tools.code_context import IndexerContext
from bdg_tools.policy import ToolPolicy
from tests.conftest import Servers
from tests.fakes.openai_server import Failure, FakeOpenAi, Reply, ToolCall
from tests.git_repos import git
from tests.sandbox.daemon import Daemon, start_daemon

pytestmark = pytest.mark.timeout(90)
TENANT = "coder-test"
GOAL = "Make add() add its arguments"
PLAN = "- [ ] fix add() in calc.py\n- [ ] run test_calc.py"
BROKEN = "def add(a, b):\n    return a - b\n"
FIXED = "def add(a, b):\n    return a + b\n"
TEST = 'from calc import add\n\nassert add(2, 3) == 5, add(2, 3)\nprint("1 passed")\n'
RUN_TESTS = ["python3", "test_calc.py"]
# The coder's own reads, before the first turn, of the files the plan names (calc.py, test_calc.py)
NAMED_READS = ("file_read", "file_read")
FINISHED = json.dumps({"tool": "finish", "arguments": {"summary": "fixed and checked"}})


def call(tool: str, **arguments: Any) -> Reply:
    """A scripted answer under the tool-union schema: the call as the answer's text."""
    return Reply(content=json.dumps({"tool": tool, "arguments": arguments}))


FIX = (
    call("file_read", path="calc.py"),
    call("file_write", path="calc.py", content=FIXED),
    call("run_tests", path=None, argv=RUN_TESTS),
    call("finish", summary="add() returned a - b; it returns a + b now."),
)


# -- fixtures -----------------------------------------------------------------------------------
@pytest.fixture(name="daemon", scope="module")
async def daemon_fixture() -> AsyncIterator[Daemon]:
    daemon = await start_daemon()
    yield daemon
    code, output = daemon.stop(), daemon.output()
    daemon.remove()
    assert code == 0, output


@pytest.fixture(name="sandbox")
async def sandbox_fixture(daemon: Daemon) -> AsyncIterator[SandboxClient]:
    async with daemon.client() as client:
        yield client


@pytest.fixture(name="repo")
def repo_fixture(daemon: Daemon) -> Path:
    """A git repository where sandboxd may check it out from (its default source root)."""
    repo = daemon.state / "sources" / uuid4().hex
    daemon.grant({TENANT: [daemon.state / "sources"]})
    repo.mkdir(parents=True)
    (repo / "calc.py").write_text(BROKEN)
    (repo / "test_calc.py").write_text(TEST)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    return repo


@pytest.fixture(name="app")
def app_fixture(database_url: str) -> Iterator[JobApplication]:
    store = JobStore.from_url(database_url)
    yield JobApplication(store)
    store.close()


@pytest.fixture(name="nc")
async def nc_fixture(servers: Servers, namespace: str) -> AsyncIterator[Client]:
    nc = await nats.connect(servers.nats_url)
    yield nc
    await nc.close()


@pytest.fixture(name="fake")
def fake_fixture() -> Iterator[FakeOpenAi]:
    fake = FakeOpenAi().start()
    yield fake
    fake.stop()


# -- helpers ------------------------------------------------------------------------------------
def model(fake: FakeOpenAi, **settings: Any) -> LlmClient:
    return client_from_settings(
        LlmSettings(openai_base_url=fake.base_url, bdg_llm_max_retries=0, **settings)
    )


def coding(
    client: LlmClient,
    sandbox: SandboxClient,
    nc: Client,
    limits: LoopLimits | None = None,
    policy: ToolPolicy | None = None,
) -> Coding:
    coder = ToolLoopCoder(
        client,
        live_registry(sandbox, nc, policy or ToolPolicy()),
        SandboxWorkspaces(sandbox),
        IndexerContext(nc, timeout=2.0),
        limits or LoopLimits(),
        policy=policy,
    )
    return Coding(coder)


async def coding_job(app: JobApplication, repo: Path, goal: str = GOAL, plan: str = PLAN) -> Event:
    """A job whose plan is approved: its PlanApproved is the coder's trigger."""
    job_id = uuid4()
    cause = Cause(producer="test", occurred_at=app.clock(), user_id="alice")
    job = Job.request(job_id, TENANT, cause, goal=goal, repo=str(repo), base_ref="HEAD")
    job.make_plan_ready(cause, plan)
    job.approve_plan(cause, "alice")
    await app.start(job)
    history = await app.history(job_id)
    assert isinstance(history[-1], ev.PlanApproved)
    return history[-1]


async def attempt(coding: Coding, app: JobApplication, trigger: Event) -> list[Event]:
    await coding.attempt(Delivery("coder", trigger, app))
    return await app.history(trigger.job_id, after=trigger.version)


def of(history: list[Event], cls: type[Event]) -> list[Any]:
    return [e for e in history if isinstance(e, cls)]


def applied(repo: Path, patch: str, tmp_path: Path) -> Path:
    """The repository with ``patch`` applied, in a fresh clone."""
    clone = tmp_path / uuid4().hex
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "apply"], input=patch.encode(), check=True)
    return clone


# -- tests --------------------------------------------------------------------------------------
async def test_the_model_reads_fixes_tests_and_finishes(
    app: JobApplication,
    sandbox: SandboxClient,
    nc: Client,
    fake: FakeOpenAi,
    repo: Path,
    tmp_path: Path,
) -> None:
    trigger = await coding_job(app, repo)
    fake.push(*FIX)
    new = await attempt(coding(model(fake), sandbox, nc), app, trigger)

    (changed,) = of(new, ev.FilesChanged)
    assert changed.paths == ("calc.py",)
    assert changed.attempt == 1
    assert "-    return a - b\n+    return a + b\n" in changed.patch
    assert (applied(repo, changed.patch, tmp_path) / "calc.py").read_text() == FIXED
    (finished,) = of(new, ev.CodingFinished)
    assert finished.summary == "add() returned a - b; it returns a + b now. Changed: calc.py."
    assert new[-2:] == [changed, finished]  # the reaction ends the attempt
    assert finished.base_commit == git(repo, "rev-parse", "HEAD")  # later attempts build on it

    tools = {e.tool: e for e in of(new, ev.ToolCalled)}
    assert list(tools) == ["file_read", "file_write", "run_tests", "workspace_diff"]
    assert json.loads(tools["file_read"].result)["content"] == BROKEN
    assert json.loads(tools["run_tests"].result) == {
        "passed": True,
        "exit_code": 0,
        "output_tail": "1 passed\n",
    }
    assert {e.causation_id for e in tools.values()}.isdisjoint({trigger.event_id})

    calls = of(new, ev.LlmCalled)
    assert [c.role for c in calls] == ["coder"] * 4
    assert [c.response for c in calls] == [r.content for r in FIX]
    assert all(c.causation_id == trigger.event_id for c in calls)
    (context,) = of(new, tev.CodeContextRetrieved)
    assert context.repo == str(repo)
    assert "no indexer" in context.note

    # The model saw the goal and plan first, then each result; under the tool-union schema.
    first, last = fake.requests[0], fake.requests[-1]
    assert first["response_format"]["json_schema"]["name"] == "tool_call"
    assert GOAL in first["messages"][1]["content"]
    assert PLAN in first["messages"][1]["content"]
    # the files the plan names, as the workspace had them, before any tool call
    assert f"`calc.py`:\n```\n{BROKEN}\n```" in first["messages"][1]["content"]
    assert f"`test_calc.py`:\n```\n{TEST}\n```" in first["messages"][1]["content"]
    assert "Result of run_tests:" in last["messages"][-1]["content"]
    assert '"passed":true' in last["messages"][-1]["content"]
    assert len(fake.requests) == 4

    # `bdg job replay`: the loop again, model and tools answered from the log, nothing run.
    report = await replay_job(await app.history(trigger.job_id), {"coder": replay_reactions})
    assert report.same, report.divergence
    assert report.by_service == {"coder": 1}
    assert report.unused_calls == 0


async def test_the_model_fixes_a_function_with_replace_symbol_after_a_refusal(
    app: JobApplication,
    sandbox: SandboxClient,
    nc: Client,
    fake: FakeOpenAi,
    repo: Path,
    tmp_path: Path,
) -> None:
    trigger = await coding_job(app, repo)
    code = "def add(a, b):\n    return a + b"
    fake.push(
        call("replace_symbol", path="calc.py", symbol="plus", code=code),
        call("replace_symbol", path="/workspace/calc.py", symbol="add", code=code),
        call("finish", summary="add() adds."),
    )
    new = await attempt(coding(model(fake), sandbox, nc), app, trigger)

    (changed,) = of(new, ev.FilesChanged)
    assert (applied(repo, changed.patch, tmp_path) / "calc.py").read_text() == FIXED
    # the refusal went back to the model, naming what calc.py defines
    refused = fake.requests[1]["messages"][-1]["content"]
    assert "no function or class named 'plus' in calc.py; it defines: add." in refused
    assert "Nothing was changed." in refused
    report = await replay_job(await app.history(trigger.job_id), {"coder": replay_reactions})
    assert report.same, report.divergence


async def test_a_whole_file_write_keeps_what_it_drops_or_is_refused(
    app: JobApplication,
    sandbox: SandboxClient,
    nc: Client,
    fake: FakeOpenAi,
    repo: Path,
    tmp_path: Path,
) -> None:
    # What the 0.5B model did on the bench: rewrite a two-function module with one function.
    mul = "\n\ndef mul(a, b):\n    return a * b\n"
    (repo / "calc.py").write_text(BROKEN + mul)
    git(repo, "commit", "-qam", "mul")
    trigger = await coding_job(app, repo)
    fake.push(
        call("file_write", path="calc.py", content="TOLERANCE = 0\n"),
        call("file_write", path="calc.py", content=FIXED),
        call("finish", summary="add() adds."),
    )
    new = await attempt(coding(model(fake), sandbox, nc), app, trigger)

    (changed,) = of(new, ev.FilesChanged)
    assert (applied(repo, changed.patch, tmp_path) / "calc.py").read_text() == FIXED + mul
    refused = fake.requests[1]["messages"][-1]["content"]
    assert "file_write would replace the whole of calc.py and lose add, mul" in refused
    assert "Nothing was changed." in refused
    kept = fake.requests[2]["messages"][-1]["content"]
    assert "replaced add, and kept mul, which the new content left out" in kept
    report = await replay_job(await app.history(trigger.job_id), {"coder": replay_reactions})
    assert report.same, report.divergence


async def test_a_replay_runs_with_the_limits_the_job_ran_with_not_the_shells(
    app: JobApplication,
    sandbox: SandboxClient,
    nc: Client,
    fake: FakeOpenAi,
    repo: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    trigger = await coding_job(app, repo)
    fake.push(*FIX)
    ran_with = LoopLimits(max_steps=7, context_chars=20_000, result_chars=3_000)
    policy = ToolPolicy(tools={"run_command": "auto"})  # offered without a gate
    new = await attempt(coding(model(fake), sandbox, nc, ran_with, policy), app, trigger)
    (recorded,) = of(new, ev.SettingsRecorded)
    assert recorded.service == "coder"
    assert recorded.settings == {
        "max_steps": "7",
        "context_chars": "20000",
        "result_chars": "3000",
        "tool_policy": '{"tools":{"run_command":"auto"}}',
    }
    assert recorded.causation_id == trigger.event_id  # with the attempt's reaction
    # The replaying shell has other limits (or none): the job's own are used.
    for name in ("BDG_CODER_MAX_STEPS", "BDG_CODER_CONTEXT_CHARS", "BDG_CODER_RESULT_CHARS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("BDG_TOOL_POLICY", raising=False)
    history = await app.history(trigger.job_id)
    report = await replay_job(history, {"coder": replay_reactions})
    assert report.same, report.divergence
    monkeypatch.setenv("BDG_CODER_MAX_STEPS", "25")
    assert (await replay_job(history, {"coder": replay_reactions})).same


async def test_a_fork_inside_the_coders_run_is_refused_and_writes_nothing(
    app: JobApplication, sandbox: SandboxClient, nc: Client, fake: FakeOpenAi, repo: Path
) -> None:
    trigger = await coding_job(app, repo)
    fake.push(*FIX)
    await attempt(coding(model(fake), sandbox, nc), app, trigger)
    history = await app.history(trigger.job_id)
    finished = of(history, ev.CodingFinished)[0].version
    first = trigger.version + 1  # the run's first record (the code context, the named reads)
    write = next(e for e in of(history, ev.ToolCalled) if e.tool == "file_write").version
    grants = SourceRules({TENANT: (repo.parent.resolve(),)})  # the fork judges the repo again
    commands = JobCommands(app, sources=grants)
    alice = Caller(tenant_id=TENANT, user_id="alice")
    notified = app.store.max_notification_id()
    for inside in (first, write, finished - 1):
        with pytest.raises(
            ForkError,
            match=rf"version {inside} is inside one reaction of coder \(versions "
            rf"{first}..{finished}\); fork at {trigger.version} or {finished}",
        ):
            await commands.fork(alice, trigger.job_id, cmd.ForkJob(at_version=inside))
    assert app.store.max_notification_id() == notified  # nothing written
    # Either end of the run is a place to fork.
    before = await commands.fork(alice, trigger.job_id, cmd.ForkJob(at_version=trigger.version))
    assert before.state == JobState.coding
    after = await commands.fork(alice, trigger.job_id, cmd.ForkJob(at_version=finished))
    assert after.state == JobState.testing


async def test_unusable_answers_go_back_to_the_model_and_cost_their_turn(
    app: JobApplication, sandbox: SandboxClient, nc: Client, fake: FakeOpenAi, repo: Path
) -> None:
    trigger = await coding_job(app, repo)
    fake.push(
        Reply(content="I will fix calc.py now."),
        call("delete_everything", path="."),
        call("file_read", file="calc.py"),
        call("file_write", path="calc.py", content=FIXED),
        call("finish", summary="fixed"),
    )
    new = await attempt(coding(model(fake), sandbox, nc), app, trigger)

    told = [r["messages"][-1]["content"] for r in fake.requests[1:]]
    assert "not valid JSON" in told[0]
    assert "Unknown tool" in told[1]
    assert "file_read" in told[1]
    assert "invalid arguments for tool file_read" in told[2]
    (rejected,) = of(new, tev.ToolCallRejected)  # the one that named a real tool
    assert rejected.tool == "file_read"
    assert "file" in rejected.arguments_json
    assert [e.tool for e in of(new, ev.ToolCalled)] == [
        *NAMED_READS,
        "file_write",
        "workspace_diff",
    ]
    assert len(of(new, ev.LlmCalled)) == 5
    (changed,) = of(new, ev.FilesChanged)
    assert changed.paths == ("calc.py",)
    assert of(new, ev.CodingFinished)[0].summary == "fixed Changed: calc.py."


async def test_a_call_repeated_at_once_is_not_run_again_and_the_model_is_told(
    app: JobApplication, sandbox: SandboxClient, nc: Client, fake: FakeOpenAi, repo: Path
) -> None:
    trigger = await coding_job(app, repo)
    write = call("file_write", path="calc.py", content=FIXED)
    fake.push(write, write, call("run_tests", path=None, argv=RUN_TESTS), write, FIX[-1])
    new = await attempt(coding(model(fake), sandbox, nc), app, trigger)

    told = [r["messages"][-1]["content"] for r in fake.requests[1:]]
    assert "same file_write call just before" in told[1]
    assert "not run" in told[1]
    # after the test run the same write is a new step again (something happened in between)
    assert told[3].startswith("Result of file_write:")
    tools = [e.tool for e in of(new, ev.ToolCalled)]
    assert tools == [*NAMED_READS, "file_write", "run_tests", "file_write", "workspace_diff"]
    assert len(of(new, ev.LlmCalled)) == 5  # the repeat cost its turn


async def test_a_call_repeated_after_the_note_ends_the_attempt(
    app: JobApplication, sandbox: SandboxClient, nc: Client, fake: FakeOpenAi, repo: Path
) -> None:
    # Recorded on the agent bench (0.5B, dev task js-capitalize-empty): at temperature 0 the
    # model wrote the same file five times after being told, until the step limit.
    trigger = await coding_job(app, repo)
    write = call("file_write", path="calc.py", content=FIXED)
    fake.push(write, write, write, FIX[-1])  # the finish is never asked for
    new = await attempt(coding(model(fake), sandbox, nc), app, trigger)

    assert len(fake.requests) == 3
    tools = [e.tool for e in of(new, ev.ToolCalled)]
    assert tools == [*NAMED_READS, "file_write", "workspace_diff"]
    (changed,) = of(new, ev.FilesChanged)
    assert changed.paths == ("calc.py",)  # what was done is kept
    (finished,) = of(new, ev.CodingFinished)
    assert finished.summary.startswith(
        "Stopped when the model asked for its last call again 2 times in a row"
    )


async def test_the_step_limit_ends_the_attempt_with_what_changed_so_far(
    app: JobApplication, sandbox: SandboxClient, nc: Client, fake: FakeOpenAi, repo: Path
) -> None:
    trigger = await coding_job(app, repo)
    fake.push(
        call("file_write", path="calc.py", content=FIXED),
        call("file_write", path="notes/todo.txt", content="check subtraction too\n"),
        call("run_tests", path=None, argv=RUN_TESTS),  # never asked for
    )
    limits = LoopLimits(max_steps=2)
    new = await attempt(coding(model(fake), sandbox, nc, limits), app, trigger)

    assert len(fake.requests) == 2
    (changed,) = of(new, ev.FilesChanged)
    assert changed.paths == ("calc.py", "notes/todo.txt")
    (finished,) = of(new, ev.CodingFinished)
    assert finished.summary.startswith("Stopped at the step limit (2 model turns)")
    assert finished.summary.endswith("Changed: calc.py, notes/todo.txt.")


async def test_no_change_is_a_finished_attempt_saying_so(
    app: JobApplication, sandbox: SandboxClient, nc: Client, fake: FakeOpenAi, repo: Path
) -> None:
    trigger = await coding_job(app, repo)
    fake.push(call("run_tests", path=None, argv=RUN_TESTS), call("finish", summary="Nothing."))
    # A policy that forbids writing and gates the rest binds the model, not the coder's diff.
    policy = ToolPolicy(tools={"*": "gate", "run_tests": "auto", "file_write": "forbid"})
    new = await attempt(coding(model(fake), sandbox, nc, policy=policy), app, trigger)
    assert "`file_write`" not in fake.requests[0]["messages"][0]["content"]

    assert of(new, ev.FilesChanged) == []
    assert of(new, ev.CodingFinished)[0].summary == "Nothing. No files changed."
    # python left a __pycache__ behind: caches are no change
    assert json.loads(of(new, ev.ToolCalled)[-1].result) == {"patch": "", "paths": []}


def same_run(history: list[Event]) -> list[tuple[str, Any]]:
    """What two jobs with the same goal and answers share (ids, keys and times aside)."""
    out: list[tuple[str, Any]] = []
    for e in history:
        if isinstance(e, ev.ToolCalled):
            out.append((e.name, (e.tool, e.arguments_json, e.result)))
        elif isinstance(e, ev.LlmCalled):
            out.append((e.name, (e.request_hash, e.response, e.prompt_tokens, e.cost_usd)))
        elif isinstance(e, ev.FilesChanged | ev.CodingFinished | tev.CodeContextRetrieved):
            out.append((e.name, e.model_dump(include={"patch", "paths", "summary", "note"})))
    return out


async def test_a_recording_replays_to_the_same_events(
    app: JobApplication,
    sandbox: SandboxClient,
    nc: Client,
    fake: FakeOpenAi,
    repo: Path,
    tmp_path: Path,
) -> None:
    recordings = tmp_path / "calls.jsonl"
    first = await coding_job(app, repo)
    fake.push(*FIX)
    recording = model(fake, bdg_llm_record=recordings)
    recorded = await attempt(coding(recording, sandbox, nc), app, first)
    assert [c.request_hash for c in read_recordings(recordings)] == [
        e.request_hash for e in of(recorded, ev.LlmCalled)
    ]

    # Another job, the same goal: answered from the file alone (the fake has no answers left).
    second = await coding_job(app, repo)
    replayed_client = client_from_settings(LlmSettings(bdg_llm_recordings=recordings))
    replayed = await attempt(coding(replayed_client, sandbox, nc), app, second)
    assert len(fake.requests) == 4
    assert same_run(replayed) == same_run(recorded)
    assert of(replayed, ev.FilesChanged)[0].paths == ("calc.py",)


async def test_a_gated_call_parks_the_attempt_and_the_approved_run_resumes_it(
    app: JobApplication, sandbox: SandboxClient, nc: Client, fake: FakeOpenAi, repo: Path
) -> None:
    trigger = await coding_job(app, repo)
    job_id = trigger.job_id
    fake.push(
        call("file_write", path="calc.py", content=FIXED),
        call("run_command", argv=["python3", "-c", "print(6 * 7)"], timeout_s=None),
    )
    coder = coding(model(fake), sandbox, nc)  # run_command is gated by default
    parked = await attempt(coder, app, trigger)

    (request,) = of(parked, tev.ToolCallRequested)
    assert request.tool == "run_command"
    assert (await app.load(job_id)).state == JobState.paused
    assert of(parked, ev.FilesChanged) == []
    calls = of(parked, ev.LlmCalled)  # paid for, recorded aside under the waiting call
    assert [c.causation_id for c in calls] == [request.call_id] * 2

    cause = Cause(producer="user:alice", occurred_at=app.clock(), user_id="alice")
    await app.execute(job_id, lambda job: job.approve_tool_call(cause, request.call_id, "alice"))
    fake.push(Reply(content=FINISHED))
    resumed = await attempt(coder, app, trigger)

    assert len(fake.requests) == 3  # the first two answers came from the log
    ran = [e for e in of(resumed, ev.ToolCalled) if e.tool == "run_command"]
    assert json.loads(ran[0].result)["stdout"] == "42\n"
    reaction = [e for e in resumed if e.causation_id == trigger.event_id]
    assert [c.response for c in of(reaction, ev.LlmCalled)] == [FINISHED]  # only the new one
    (changed,) = of(resumed, ev.FilesChanged)
    assert changed.paths == ("calc.py",)
    assert (await app.load(job_id)).state == JobState.testing

    report = await replay_job(await app.history(job_id), {"coder": replay_reactions})
    assert report.same, report.divergence
    assert report.unused_calls == 2  # the parked calls: answered from the log, not the replay


async def test_native_tool_calls(
    app: JobApplication, sandbox: SandboxClient, nc: Client, fake: FakeOpenAi, repo: Path
) -> None:
    trigger = await coding_job(app, repo)
    write = json.dumps({"path": "calc.py", "content": FIXED})
    fake.push(
        Reply(tool_calls=(ToolCall("file_write", write),)),
        Reply(tool_calls=(ToolCall("finish", json.dumps({"summary": "fixed"})),)),
    )
    coder = ToolLoopCoder(
        model(fake),
        live_registry(sandbox, nc, ToolPolicy()),
        SandboxWorkspaces(sandbox),
        IndexerContext(nc, timeout=2.0),
        native=True,
    )
    new = await attempt(Coding(coder), app, trigger)

    first = fake.requests[0]
    assert first["tool_choice"] == "required"
    assert "response_format" not in first
    assert [t["function"]["name"] for t in first["tools"]][-1] == "finish"
    assert of(new, ev.FilesChanged)[0].paths == ("calc.py",)
    assert of(new, ev.CodingFinished)[0].summary == "fixed Changed: calc.py."


async def test_a_model_outage_keeps_the_paid_calls_and_the_redelivery_resumes(
    app: JobApplication, sandbox: SandboxClient, nc: Client, fake: FakeOpenAi, repo: Path
) -> None:
    trigger = await coding_job(app, repo)
    fake.push(call("file_write", path="calc.py", content=FIXED), Failure(503))
    coder = coding(model(fake), sandbox, nc)
    with pytest.raises(LlmUnavailableError):
        await attempt(coder, app, trigger)
    aside = await app.history(trigger.job_id, after=trigger.version)
    (paid,) = of(aside, ev.LlmCalled)
    assert paid.causation_id != trigger.event_id
    assert of(aside, ev.FilesChanged) == []

    fake.push(Reply(content=FINISHED))
    new = await attempt(coder, app, trigger)  # the redelivery
    assert len(fake.requests) == 3  # turn 1 from the log, turn 2 asked again
    assert [e.tool for e in of(new, ev.ToolCalled)] == [
        *NAMED_READS,
        "file_write",
        "workspace_diff",
    ]
    assert of(new, ev.FilesChanged)[0].paths == ("calc.py",)
    reaction = [e for e in new if e.causation_id == trigger.event_id]
    assert [c.response for c in of(reaction, ev.LlmCalled)] == [FINISHED]


async def test_a_whole_file_write_keeps_the_docstrings_it_drops(
    app: JobApplication,
    sandbox: SandboxClient,
    nc: Client,
    fake: FakeOpenAi,
    repo: Path,
    tmp_path: Path,
) -> None:
    # What the 0.5B did in the live demo: the fix on the def line, the docstring gone.
    documented = 'def add(a, b):\n    """The sum of a and b."""\n    return a - b\n'
    (repo / "calc.py").write_text(documented)
    git(repo, "commit", "-qam", "documented")
    trigger = await coding_job(app, repo)
    fake.push(
        call("file_write", path="calc.py", content="def add(a, b): return a + b\n"),
        call("finish", summary="add() adds."),
    )
    new = await attempt(coding(model(fake), sandbox, nc), app, trigger)

    (changed,) = of(new, ev.FilesChanged)
    after = (applied(repo, changed.patch, tmp_path) / "calc.py").read_text()
    assert after == 'def add(a, b):\n    """The sum of a and b."""\n    return a + b\n'
    note = fake.requests[1]["messages"][-1]["content"]
    assert "The docstrings of add, which the new content left out, were kept." in note
    report = await replay_job(await app.history(trigger.job_id), {"coder": replay_reactions})
    assert report.same, report.divergence
