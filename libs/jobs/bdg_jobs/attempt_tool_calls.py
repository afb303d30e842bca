"""An attempt's tool calls as a person reads them: one line of arguments, a bounded result, and a
gated call as one entry from its request to its run (pure)."""

from __future__ import annotations

import json

from bdg_contracts import events as ev
from bdg_contracts import tool_events as tev
from bdg_contracts.attempts import ToolCallStatus, ToolCallSummary
from bdg_contracts.base import Event
from bdg_jobs.event_dispatch import event_dispatch

RESULT_CHARS = 400  # enough to see what a call said, not its whole output (that is the event's)
ARGUMENT_CHARS = 120
ERRORED = frozenset(
    {ToolCallStatus.error, ToolCallStatus.rejected, ToolCallStatus.refused, ToolCallStatus.denied}
)


def cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def short_arguments(arguments_json: str, width: int = ARGUMENT_CHARS, value_width: int = 40) -> str:
    """``path=calc/ops.py content='def mul(a, b):⏎    re…'``: a call's arguments on a line."""
    try:
        arguments = json.loads(arguments_json)
    except ValueError:
        arguments = arguments_json
    if not isinstance(arguments, dict):
        return cut(str(arguments).replace("\n", "⏎"), width)
    parts = []
    for key, value in arguments.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        shown = cut(shown.replace("\n", "⏎"), value_width)
        parts.append(f"{key}={shown!r}" if " " in shown else f"{key}={shown}")
    return cut(" ".join(parts), width)


def errored(result: str) -> bool:
    """The ToolCaller records a failed run as ``{"error": ...}`` (``bdg_tools.spec.error_text``)."""
    try:
        parsed = json.loads(result)
    except ValueError:
        return False
    return isinstance(parsed, dict) and set(parsed) == {"error"}


class ToolCalls:
    """The coder's tool calls of one attempt, in order."""

    def __init__(self) -> None:
        self.entries: list[ToolCallSummary] = []
        self._gated: dict[str, int] = {}  # idempotency key of a gated call -> its entry
        self._keys: dict[str, str] = {}  # a request's call id -> its idempotency key

    def waiting_note(self) -> str:
        waiting = [e.tool for e in self.entries if e.status == ToolCallStatus.awaiting_approval]
        return f"waits for a person to approve {', '.join(waiting)}" if waiting else ""

    @event_dispatch
    def see(self, event: Event) -> None:
        """Events that are no tool call."""

    @see.register
    def _(self, event: ev.ToolCalled) -> None:
        status = ToolCallStatus.error if errored(event.result) else ToolCallStatus.ran
        self._put(event, event.tool, event.arguments_json, status, event.result,
                  event.idempotency_key)  # fmt: skip

    @see.register
    def _(self, event: tev.ToolCallRequested) -> None:
        # Asked again after a resume, it is the same call (same key): the same entry.
        self._keys[event.call_id] = event.idempotency_key
        self._put(event, event.tool, event.arguments_json, ToolCallStatus.awaiting_approval,
                  event.reason, event.idempotency_key, gated=True)  # fmt: skip

    @see.register
    def _(self, event: tev.ToolCallApproved) -> None:
        self._decide(event.call_id, status=ToolCallStatus.approved, approved_by=event.approved_by)

    @see.register
    def _(self, event: tev.ToolCallDenied) -> None:
        why = f"denied by {event.denied_by}" + (f": {event.reason}" if event.reason else "")
        self._decide(event.call_id, status=ToolCallStatus.denied, errored=True, result=why)

    @see.register
    def _(self, event: tev.ToolCallRefused) -> None:
        self._put(event, event.tool, event.arguments_json, ToolCallStatus.refused, event.reason)

    @see.register
    def _(self, event: tev.ToolCallRejected) -> None:
        self._put(event, event.tool, event.arguments_json, ToolCallStatus.rejected, event.message)

    def _put(self, event: Event, tool: str, arguments_json: str, status: ToolCallStatus,
             result: str, key: str = "", gated: bool = False) -> None:  # fmt: skip
        at = self._gated.get(key)
        entry = ToolCallSummary(
            tool=tool,
            arguments=short_arguments(arguments_json),
            status=status,
            errored=status in ERRORED,
            result=cut(result, RESULT_CHARS),
            result_chars=len(result),
            # A gated call's run keeps who let it run.
            approved_by=self.entries[at].approved_by if at is not None else None,
            event_version=event.version,
        )
        if at is None:
            self.entries.append(entry)
            if gated:
                self._gated[key] = len(self.entries) - 1
        else:
            self.entries[at] = entry

    def _decide(self, call_id: str, **update: object) -> None:
        at = self._gated.get(self._keys.get(call_id, ""))
        if at is not None:
            self.entries[at] = self.entries[at].model_copy(update=update)
