"""A model's tool call, from its raw arguments to its result: validated, checked against the
policy, looked up in the job's history (a repeat returns the recorded result), run with retries,
and recorded as an event whatever happens.

Tool events name the call (its ULID) as their cause, not the step's trigger: a step that stopped
for an approval, or died midway, has not reacted yet, so the re-driven step runs again and finds
its earlier calls recorded.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bdg_contracts.states import JobState
from bdg_contracts.tool_events import ToolApproval
from bdg_jobs.application import JobApplication
from bdg_jobs.domain import Cause, Job
from bdg_telemetry import tracing
from bdg_tools import outcomes as oc
from bdg_tools.keys import call_key, canonical_params, new_call_id
from bdg_tools.ledger import CallLedger
from bdg_tools.registry import ToolRegistry
from bdg_tools.retry import DEFAULT_RETRY, RetryPolicy, Sleep, with_retries
from bdg_tools.spec import ArgumentsError, ToolContext, ToolEntry, ToolFailure, as_text, error_text

MAX_RESULT_CHARS = 100_000  # a result is stored in an event: longer ones are cut


def _cut(text: str) -> str:
    if len(text) <= MAX_RESULT_CHARS:
        return text
    return text[:MAX_RESULT_CHARS] + f"\n[... cut: {len(text) - MAX_RESULT_CHARS} more chars]"


def _parse_json(raw: str) -> Any:
    try:
        return json.loads(raw or "{}")
    except json.JSONDecodeError as error:
        raise ArgumentsError(
            f"the arguments are not valid JSON ({error.msg} at char {error.pos}); "
            "send one JSON object"
        ) from None


class ToolCaller:
    def __init__(
        self,
        registry: ToolRegistry,
        app: JobApplication,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.registry, self.app, self.retry = registry, app, retry
        self.sleep = sleep
        self._steps: dict[ToolApproval, _Step] = {
            "auto": self._run,
            "gate": self._gate,
            "forbid": self._refuse,
        }

    async def call(self, ctx: ToolContext, tool: str, arguments_json: str) -> oc.Outcome:
        name = tool[:100]  # as the model wrote it (maybe no tool at all): cut for the span
        attributes = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name}
        with tracing.span(f"execute_tool {name}", attributes) as span:
            outcome = await self._call(ctx, tool, arguments_json)
            span.set("gen_ai.tool.call.id", outcome.call_id)
            span.set("bdg.tool.outcome", type(outcome).__name__)
            return outcome

    async def _call(self, ctx: ToolContext, tool: str, arguments_json: str) -> oc.Outcome:
        call_id = new_call_id()
        entry = self.registry.get(tool)
        try:
            if entry is None:
                raise ArgumentsError(self._unknown(tool))
            arguments = entry.parse(_parse_json(arguments_json))
        except ArgumentsError as error:
            return await self._reject(ctx, call_id, tool, arguments_json, error, entry)
        params = canonical_params(entry.canonical(arguments))
        key = call_key(ctx.job_id, tool, params, ctx.scope)
        history = await self.app.history(ctx.job_id)
        ledger = CallLedger.of(history, key)
        recorded = ledger.settled(tool)
        if recorded is not None:
            return recorded
        job = Job.replay(history)
        approval = self.registry.policy.approval(tool, entry.approval, job.tenant_id, job.user_id)
        call = _Call(ctx, call_id, entry, arguments, params, key, ledger, job)
        return await self._steps[approval](call)

    # -- one step per approval --------------------------------------------------------------
    async def _run(self, call: _Call) -> oc.Outcome:
        entry, ctx = call.entry, call.ctx

        async def attempt() -> str:
            return as_text(await entry.executor.execute(call.arguments, ctx))

        try:
            result = await with_retries(attempt, self.retry, self.sleep, f"tool {entry.name}")
        except ToolFailure as failure:
            result = error_text(str(failure))
        result = _cut(result)
        await self._record(
            call,
            lambda job, cause: job.call_tool(
                cause,
                tool=entry.name,
                arguments_json=call.params,
                result=result,
                idempotency_key=call.key,
            ),
        )
        return oc.Ran(call.call_id, entry.name, result)

    async def _gate(self, call: _Call) -> oc.Outcome:
        if call.ledger.approved is not None:
            return await self._run(call)
        waiting = call.ledger.awaiting
        if waiting is not None and call.job.state == JobState.paused:
            text = oc.waiting_text(waiting.call_id)
            return oc.AwaitingApproval(waiting.call_id, call.entry.name, text)
        reason = f"tool {call.entry.name} needs a person's approval: {call.params[:500]}"
        await self._record(
            call,
            lambda job, cause: job.request_tool_approval(
                cause,
                call_id=call.call_id,
                tool=call.entry.name,
                arguments_json=call.params,
                idempotency_key=call.key,
                reason=reason,
            ),
        )
        return oc.AwaitingApproval(call.call_id, call.entry.name, oc.waiting_text(call.call_id))

    async def _refuse(self, call: _Call) -> oc.Outcome:
        reason = oc.forbidden_text(call.entry.name)
        await self._record(
            call,
            lambda job, cause: job.refuse_tool_call(
                cause,
                call_id=call.call_id,
                tool=call.entry.name,
                arguments_json=call.params,
                idempotency_key=call.key,
                reason=reason,
            ),
        )
        return oc.Refused(call.call_id, call.entry.name, reason)

    async def _reject(
        self,
        ctx: ToolContext,
        call_id: str,
        tool: str,
        arguments_json: str,
        error: ArgumentsError,
        entry: ToolEntry | None,
    ) -> oc.Outcome:
        message = str(error)
        if entry is not None:
            message = (
                f"invalid arguments for tool {tool}: {message}. Call {tool} again with "
                f"arguments that match its parameters: {json.dumps(entry.declaration.parameters)}"
            )
        key = call_key(ctx.job_id, tool, arguments_json, ctx.scope)
        history = await self.app.history(ctx.job_id)
        if CallLedger.of(history, key).rejected is None:
            await self.app.execute(
                ctx.job_id,
                lambda job: job.reject_tool_call(
                    _cause(ctx, call_id, self.app),
                    call_id=call_id,
                    tool=tool[:200],
                    arguments_json=arguments_json,
                    idempotency_key=key,
                    message=message,
                ),
            )
        return oc.Rejected(call_id, tool, message)

    async def _record(self, call: _Call, decide: Callable[[Job, Cause], None]) -> None:
        cause = _cause(call.ctx, call.call_id, self.app)
        await self.app.execute(call.ctx.job_id, lambda job: decide(job, cause))

    def _unknown(self, tool: str) -> str:
        names = ", ".join(self.registry.names()) or "none"
        return f"there is no tool named {tool!r}; the tools are: {names}"


_Step = Callable[["_Call"], Awaitable[oc.Outcome]]


@dataclass(frozen=True)
class _Call:
    """One validated call on its way through the steps."""

    ctx: ToolContext
    call_id: str
    entry: ToolEntry
    arguments: Any
    params: str
    key: str
    ledger: CallLedger
    job: Job


def _cause(ctx: ToolContext, call_id: str, app: JobApplication) -> Cause:
    return Cause(
        producer=ctx.producer,
        occurred_at=app.clock(),
        causation_id=call_id,
        user_id=ctx.user_id,
        traceparent=tracing.current_traceparent() or ctx.traceparent,
    )
