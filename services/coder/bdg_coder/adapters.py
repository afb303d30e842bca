"""The coder's outside world: something that turns a plan into patches. Recorded answers
(``BDG_ANSWERS_FILE``) here; the model-driven tool loop is in tool_loop_coder.py."""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass

from bdg_coder.domain import Changes, CodingTask, Patch
from bdg_jobs.application import JobApplication
from bdg_jobs.domain import Cause, Job
from bdg_runtime.answers import Answers, pick
from bdg_tools.keys import new_call_id
from bdg_tools.spec import ToolContext


@dataclass(frozen=True)
class Session:
    """What an attempt may touch: its job's log, through the tool calls (which record
    themselves) and what it records aside, and the context its tool calls run in."""

    app: JobApplication
    tool_ctx: ToolContext

    async def record_aside(
        self, decide: Callable[[Job, Cause], None], cause_id: str | None = None
    ) -> None:
        """Append now, under a cause of its own (never the trigger: the step has not reacted
        yet, and a re-run must still find it to do)."""
        ctx = self.tool_ctx
        cause = Cause(
            producer=ctx.producer,
            occurred_at=self.app.clock(),
            causation_id=cause_id or new_call_id(),
            user_id=ctx.user_id,
            traceparent=ctx.traceparent,
        )
        await self.app.execute(ctx.job_id, lambda job: decide(job, cause))


class AbstractCoder(abc.ABC):
    @abc.abstractmethod
    async def code(self, task: CodingTask, session: Session) -> Changes: ...

    async def release(self, task: CodingTask, session: Session) -> None:
        """The attempt's reaction is recorded: whatever it held may go."""
        return None


class RecordedCoder(AbstractCoder):
    def __init__(self, answers: Answers) -> None:
        self.answers = answers

    async def code(self, task: CodingTask, session: Session) -> Changes:
        answer = pick(self.answers.script_for(task.goal).coding, task.attempt)
        patches = tuple(Patch(p.paths, p.patch) for p in answer.patches)
        return Changes(patches, answer.summary)
