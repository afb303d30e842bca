"""The job's tool-call decisions: run, ask a person, approve or deny, refuse, reject.

Keyword-only: a call has several strings (tool, arguments, key, reason) that must not swap.
"""

from __future__ import annotations

from bdg_contracts import events as ev
from bdg_contracts import tool_events as tev
from bdg_contracts.base import Event
from bdg_jobs.aggregate import Cause
from bdg_jobs.errors import IllegalTransitionError
from bdg_jobs.job_facts import JobFacts


class ToolDecisions(JobFacts):
    def call_tool(
        self, cause: Cause, *, tool: str, arguments_json: str, result: str, idempotency_key: str
    ) -> None:
        self._append(
            ev.ToolCalled,
            cause,
            tool=tool,
            arguments_json=arguments_json,
            result=result,
            idempotency_key=idempotency_key,
        )

    def request_tool_approval(
        self,
        cause: Cause,
        *,
        call_id: str,
        tool: str,
        arguments_json: str,
        idempotency_key: str,
        reason: str,
    ) -> None:
        self._append(
            tev.ToolCallRequested,
            cause,
            call_id=call_id,
            tool=tool,
            arguments_json=arguments_json,
            idempotency_key=idempotency_key,
            reason=reason,
        )

    def approve_tool_call(self, cause: Cause, call_id: str, approved_by: str) -> None:
        self._check_awaiting(tev.ToolCallApproved, call_id)
        self._append(tev.ToolCallApproved, cause, call_id=call_id, approved_by=approved_by)

    def deny_tool_call(self, cause: Cause, call_id: str, denied_by: str, reason: str) -> None:
        self._check_awaiting(tev.ToolCallDenied, call_id)
        self._append(tev.ToolCallDenied, cause, call_id=call_id, denied_by=denied_by, reason=reason)

    def refuse_tool_call(
        self,
        cause: Cause,
        *,
        call_id: str,
        tool: str,
        arguments_json: str,
        idempotency_key: str,
        reason: str,
    ) -> None:
        self._append(
            tev.ToolCallRefused,
            cause,
            call_id=call_id,
            tool=tool,
            arguments_json=arguments_json,
            idempotency_key=idempotency_key,
            reason=reason,
        )

    def reject_tool_call(
        self,
        cause: Cause,
        *,
        call_id: str,
        tool: str,
        arguments_json: str,
        idempotency_key: str,
        message: str,
    ) -> None:
        self._append(
            tev.ToolCallRejected,
            cause,
            call_id=call_id,
            tool=tool,
            arguments_json=arguments_json,
            idempotency_key=idempotency_key,
            message=message,
        )

    def _check_awaiting(self, cls: type[Event], call_id: str) -> None:
        self.check_allowed(cls)
        if call_id not in self.awaiting_tool_calls:
            raise IllegalTransitionError(f"no tool call {call_id} awaits approval")
