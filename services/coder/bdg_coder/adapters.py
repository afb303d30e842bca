"""The coder's outside world: something that turns a plan into patches. The model-driven tool
loop is in tool_loop_coder.py; recorded answers (``BDG_ANSWERS_FILE``) in recorded.py."""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass

from bdg_coder.domain import Changes, CodingTask
from bdg_jobs.application import JobApplication
from bdg_jobs.domain import Cause, Job
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

    def settings(self) -> dict[str, str]:
        """What shapes its requests, as the job records it (none: nothing to record)."""
        return {}

    async def release(self, task: CodingTask, session: Session) -> None:
        """The attempt's reaction is recorded: whatever it held may go."""
        return None
