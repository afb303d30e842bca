"""``check_tests``: the visible tests as the coder runs them itself, bounded in time.

A resample's check runs code a model has just written, and one (a ``slugify`` sampled warm on
the agent bench) looped for ever: its run held the attempt for the sandbox's whole 300 s. So
the coder's own runs say how long they took, and a run after a run's first is held to a few
times that (``recheck_timeout``): an endless loop then costs seconds. A tool of the coder's own
registry, never offered to the model and outside its policy, so the ToolCaller records its
result and a replay reads it back; the limit comes from the recorded first run, so a replay
asks the same call.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from bdg_coder.diff_tool import sandbox_failure
from bdg_sandbox.client import SandboxClient, SandboxRequestError
from bdg_tools.spec import Tool, ToolContext

MAX_CHECK_S = 300.0  # a first run's limit: the sandbox's for any command
MIN_RECHECK_S = 10.0  # a start of node or pytest, whatever the first run took
RECHECK_FACTOR = 5
OUTPUT_TAIL = 8_000  # of a run's output kept, as run_tests keeps
MAX_ARGV = 64


def recheck_timeout(first_s: float) -> float:
    """The limit of a later run in the same workspace: ``RECHECK_FACTOR`` times the first
    run's seconds, at least ``MIN_RECHECK_S``, at most ``MAX_CHECK_S``."""
    return min(MAX_CHECK_S, max(MIN_RECHECK_S, RECHECK_FACTOR * first_s))


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CheckTests(Model):
    argv: list[str] = Field(min_length=1, max_length=MAX_ARGV)
    timeout_s: float = Field(gt=0, le=MAX_CHECK_S)


class TestsChecked(Model):
    __test__: ClassVar[bool] = False  # not a pytest class

    passed: bool
    exit_code: int | None
    output_tail: str
    duration_s: float = Field(ge=0)
    timed_out: bool


CHECK_TESTS = Tool(
    "check_tests",
    "The visible tests in the workspace, within a time limit, and how long they took.",
    CheckTests,
    TestsChecked,
)


class SandboxCheck:
    """check_tests's executor: the command in the sandbox, with no network."""

    def __init__(self, client: SandboxClient) -> None:
        self.client = client

    async def execute(self, arguments: Any, ctx: ToolContext) -> BaseModel | str:
        limits = {"timeout_s": arguments.timeout_s}
        try:
            run = await self.client.exec(
                ctx.tenant_id, ctx.workspace_id, list(arguments.argv), limits=limits
            )
        except SandboxRequestError as error:
            raise sandbox_failure(error) from error
        output = (run.stdout + run.stderr).decode("utf-8", errors="replace")
        return TestsChecked(
            passed=run.ok,
            exit_code=run.exited.code,
            output_tail=output[-OUTPUT_TAIL:],
            duration_s=run.exited.duration_s,
            timed_out=run.exited.timed_out,
        )
