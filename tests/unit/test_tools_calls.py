"""The call pipeline over an in-memory job store: validation, idempotency, policy, retries."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast
from uuid import UUID, uuid4

import pytest
from pydantic import BaseModel

from bdg_contracts import events as ev
from bdg_contracts import tool_events as tev
from bdg_contracts.base import Event
from bdg_contracts.states import JobState
from bdg_jobs.application import JobApplication
from bdg_jobs.domain import Job
from bdg_jobs.errors import ConcurrencyConflictError, JobNotFoundError
from bdg_jobs.store import JobStore, Recorded
from bdg_jobs.user_commands import Caller, JobCommands
from bdg_tools import catalog as c
from bdg_tools import outcomes as oc
from bdg_tools.approvals import ToolApprovals
from bdg_tools.calls import ToolCaller
from bdg_tools.keys import call_key, canonical_params, new_call_id
from bdg_tools.policy import ToolPolicy
from bdg_tools.registry import ToolRegistry
from bdg_tools.retry import RetryPolicy, ToolUnavailableError
from bdg_tools.spec import ToolContext, ToolFailure
from tests.unit.jobs import CAUSE

pytestmark = pytest.mark.timeout(10)
TENANT = "tenant-a"


class FakeStore:
    """JobStore's three methods the application uses, in memory."""

    def __init__(self) -> None:
        self.events: dict[UUID, list[Event]] = {}

    def append(self, new: Sequence[Event]) -> list[Recorded]:
        """All or nothing, like the real one (a batch may hold several jobs' events)."""
        for job_id in {e.job_id for e in new}:
            first = next(e for e in new if e.job_id == job_id)
            if first.version != len(self.events.get(job_id, [])) + 1:
                raise ConcurrencyConflictError("version taken")
        for e in new:
            self.events.setdefault(e.job_id, []).append(e)
        return [Recorded(e.version, e) for e in new]

    def history(self, job_id: UUID, after: int = 0, upto: int | None = None) -> list[Event]:
        return [e for e in self.events.get(job_id, []) if after < e.version <= (upto or 10**9)]

    def load(self, job_id: UUID, at_version: int | None = None) -> Job:
        history = self.history(job_id, upto=at_version)
        if not history:
            raise JobNotFoundError(str(job_id))
        return Job.replay(history)


@dataclass
class Recording:
    """A test executor: counts its runs; fails ``failures`` times first with ``error``."""

    runs: list[Any] = field(default_factory=list)
    failures: int = 0
    error: BaseException = field(default_factory=lambda: ConnectionError("flaky"))

    async def execute(self, arguments: Any, ctx: ToolContext) -> BaseModel | str:
        if self.failures:
            self.failures -= 1
            raise self.error
        self.runs.append(arguments)
        if isinstance(arguments, c.FileRead):
            return c.FileContent(path=arguments.path, content="hello\n", total_lines=1)
        return c.CommandResult(exit_code=0, stdout="ok", stderr="")


@dataclass
class World:
    store: FakeStore
    app: JobApplication
    executor: Recording
    caller: ToolCaller
    job_id: UUID
    sleeps: list[float]

    @property
    def history(self) -> list[Event]:
        return self.store.history(self.job_id)

    def of(self, cls: type[Event]) -> list[Event]:
        return [e for e in self.history if isinstance(e, cls)]

    def ctx(self, scope: str = "") -> ToolContext:
        return ToolContext(self.job_id, TENANT, "coder", user_id="alice", scope=scope)

    async def job(self) -> Job:
        return await self.app.load(self.job_id)


def world(policy: ToolPolicy | None = None) -> World:
    store = FakeStore()
    app = JobApplication(cast(JobStore, store))
    job = Job.request(uuid4(), TENANT, CAUSE, goal="build it")
    job.user_id = "alice"
    job.make_plan_ready(CAUSE, "- [ ] step")
    job.approve_plan(CAUSE, "alice")
    store.append(job.collect())
    executor = Recording()
    registry = ToolRegistry(
        [c.FILE_READ.bind(executor), c.RUN_COMMAND.bind(executor)], env={}, policy=policy
    )
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    caller = ToolCaller(registry, app, RetryPolicy(attempts=3, first_delay=0.1), sleep)
    return World(store, app, executor, caller, job.job_id, sleeps)


async def test_a_call_runs_once_and_is_recorded_with_its_key() -> None:
    w = world()
    outcome = await w.caller.call(w.ctx(), "file_read", '{"path": "a.py"}')
    assert isinstance(outcome, oc.Ran)
    assert json.loads(outcome.content)["content"] == "hello\n"
    (called,) = w.of(ev.ToolCalled)
    assert isinstance(called, ev.ToolCalled)
    assert called.result == outcome.content
    assert called.causation_id == outcome.call_id
    assert len(called.idempotency_key) == 64
    assert json.loads(called.arguments_json) == {
        "path": "a.py",
        "start_line": None,
        "end_line": None,
    }


async def test_a_redelivered_call_returns_the_recorded_result_without_running() -> None:
    w = world()
    first = await w.caller.call(w.ctx("turn-1"), "file_read", '{"path": "a.py"}')
    # The same call again, its arguments in another order and spelled out: same canonical form.
    again = await w.caller.call(w.ctx("turn-1"), "file_read", '{"end_line": null, "path": "a.py"}')
    assert isinstance(again, oc.Replayed)
    assert again.content == first.content
    assert again.call_id == first.call_id
    assert len(w.executor.runs) == 1
    assert len(w.of(ev.ToolCalled)) == 1


async def test_another_scope_is_another_call() -> None:
    w = world()
    await w.caller.call(w.ctx("turn-1"), "file_read", '{"path": "a.py"}')
    later = await w.caller.call(w.ctx("turn-2"), "file_read", '{"path": "a.py"}')
    assert isinstance(later, oc.Ran)
    assert len(w.executor.runs) == 2


async def test_invalid_arguments_go_back_to_the_model_as_the_result() -> None:
    w = world()
    outcome = await w.caller.call(w.ctx(), "file_read", '{"path": "/etc/passwd", "mode": 1}')
    assert isinstance(outcome, oc.Rejected)
    assert "invalid arguments for tool file_read" in outcome.content
    assert "path: Value error, use a path relative to the workspace root" in outcome.content
    assert "mode: unknown field, remove it" in outcome.content
    assert '"additionalProperties": false' in outcome.content  # the schema to follow
    assert w.executor.runs == []
    (rejected,) = w.of(tev.ToolCallRejected)
    assert isinstance(rejected, tev.ToolCallRejected)
    assert rejected.message == outcome.content
    # A redelivery is not recorded twice.
    await w.caller.call(w.ctx(), "file_read", '{"path": "/etc/passwd", "mode": 1}')
    assert len(w.of(tev.ToolCallRejected)) == 1


async def test_arguments_that_are_not_json() -> None:
    w = world()
    outcome = await w.caller.call(w.ctx(), "file_read", '{"path": "a.py"')
    assert isinstance(outcome, oc.Rejected)
    assert "not valid JSON" in outcome.content


async def test_an_unknown_tool_names_the_tools_there_are() -> None:
    w = world()
    outcome = await w.caller.call(w.ctx(), "rm_rf", "{}")
    assert isinstance(outcome, oc.Rejected)
    assert "no tool named 'rm_rf'" in outcome.content
    assert "file_read, run_command" in outcome.content
    assert len(w.of(tev.ToolCallRejected)) == 1


async def test_a_forbidden_call_is_refused_and_recorded() -> None:
    w = world(ToolPolicy.model_validate({"tenants": {TENANT: {"tools": {"file_read": "forbid"}}}}))
    outcome = await w.caller.call(w.ctx(), "file_read", '{"path": "a.py"}')
    assert isinstance(outcome, oc.Refused)
    assert "not allowed" in outcome.content
    assert w.executor.runs == []
    assert len(w.of(tev.ToolCallRefused)) == 1
    again = await w.caller.call(w.ctx(), "file_read", '{"path": "a.py"}')
    assert isinstance(again, oc.Refused)
    assert len(w.of(tev.ToolCallRefused)) == 1
    assert (await w.job()).state == JobState.coding


async def test_a_gated_call_pauses_the_job_until_approved_then_runs_once() -> None:
    w = world()  # run_command is gated by default
    args = '{"argv": ["make"], "timeout_s": null}'
    waiting = await w.caller.call(w.ctx(), "run_command", args)
    assert isinstance(waiting, oc.AwaitingApproval)
    assert waiting.waits
    job = await w.job()
    assert job.state == JobState.paused
    assert job.awaiting_tool_calls == {waiting.call_id: "run_command"}
    (requested,) = w.of(tev.ToolCallRequested)
    assert isinstance(requested, tev.ToolCallRequested)
    assert "needs a person's approval" in requested.reason
    assert w.executor.runs == []

    approvals = ToolApprovals(JobCommands(w.app))
    bob = Caller(TENANT, "bob")
    assert [a.call_id for a in await approvals.awaiting(bob, w.job_id)] == [waiting.call_id]
    await approvals.approve(bob, w.job_id, waiting.call_id)
    assert (await w.job()).state == JobState.coding

    ran = await w.caller.call(w.ctx(), "run_command", args)
    assert isinstance(ran, oc.Ran)
    again = await w.caller.call(w.ctx(), "run_command", args)
    assert isinstance(again, oc.Replayed)
    assert len(w.executor.runs) == 1


async def test_a_denied_call_never_runs_and_the_denial_is_its_result() -> None:
    w = world()
    args = '{"argv": ["rm", "-rf", "."], "timeout_s": null}'
    waiting = await w.caller.call(w.ctx(), "run_command", args)
    approvals = ToolApprovals(JobCommands(w.app))
    await approvals.deny(
        Caller(TENANT, "bob"), w.job_id, waiting.call_id, tev.DenyToolCall(reason="not that")
    )
    assert (await w.job()).state == JobState.coding
    denied = await w.caller.call(w.ctx(), "run_command", args)
    assert isinstance(denied, oc.Denied)
    assert "bob denied this call of run_command: not that" in denied.content
    assert w.executor.runs == []


async def test_transient_failures_are_retried_with_backoff() -> None:
    w = world()
    w.executor.failures = 2
    outcome = await w.caller.call(w.ctx(), "file_read", '{"path": "a.py"}')
    assert isinstance(outcome, oc.Ran)
    assert len(w.sleeps) == 2
    assert w.sleeps[1] > w.sleeps[0]


async def test_retries_are_bounded_and_nothing_is_recorded() -> None:
    w = world()
    w.executor.failures = 10
    with pytest.raises(ToolUnavailableError, match="failed 3 times"):
        await w.caller.call(w.ctx(), "file_read", '{"path": "a.py"}')
    assert w.of(ev.ToolCalled) == []
    assert len(w.sleeps) == 2


async def test_a_tool_failure_is_the_recorded_result() -> None:
    w = world()
    w.executor.failures, w.executor.error = 1, ToolFailure("not_found: a.py")
    outcome = await w.caller.call(w.ctx(), "file_read", '{"path": "a.py"}')
    assert isinstance(outcome, oc.Ran)
    assert json.loads(outcome.content) == {"error": "not_found: a.py"}
    assert w.sleeps == []
    assert len(w.of(ev.ToolCalled)) == 1


def test_keys_depend_on_job_tool_canonical_params_and_scope() -> None:
    job = uuid4()
    params = canonical_params({"b": [1, 2], "a": "é"})
    assert params == '{"a":"é","b":[1,2]}'
    key = call_key(job, "file_read", params, "t1")
    assert key == call_key(job, "file_read", canonical_params({"a": "é", "b": [1, 2]}), "t1")
    assert key != call_key(uuid4(), "file_read", params, "t1")
    assert key != call_key(job, "file_write", params, "t1")
    assert key != call_key(job, "file_read", params, "t2")
    assert len({new_call_id() for _ in range(100)}) == 100


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(attempts=6, first_delay=1.0, factor=2.0, max_delay=5.0, jitter=0.0)
    assert [policy.delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    with pytest.raises(ValueError, match="at least one attempt"):
        RetryPolicy(attempts=0)
