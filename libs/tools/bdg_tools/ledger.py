"""What a job's history says about the calls with one idempotency key (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bdg_contracts import events as ev
from bdg_contracts import tool_events as tev
from bdg_contracts.base import Event
from bdg_tools import outcomes as oc


@dataclass
class CallLedger:
    key: str
    called: ev.ToolCalled | None = None
    refused: tev.ToolCallRefused | None = None
    rejected: tev.ToolCallRejected | None = None
    requests: list[tev.ToolCallRequested] = field(default_factory=list)
    approved: tev.ToolCallApproved | None = None
    denied: tev.ToolCallDenied | None = None

    @classmethod
    def of(cls, history: Sequence[Event], key: str) -> CallLedger:
        ledger = cls(key)
        for event in history:
            ledger._see(event)
        return ledger

    @property
    def awaiting(self) -> tev.ToolCallRequested | None:
        """The latest request nobody decided yet."""
        undecided = self.requests and self.approved is None and self.denied is None
        return self.requests[-1] if undecided else None

    def settled(self, tool: str) -> oc.Outcome | None:
        """What a repeat of the call gets from the record, when the call was settled."""
        if self.called is not None:
            return oc.Replayed(self.called.causation_id or "", tool, self.called.result)
        if self.refused is not None:
            return oc.Refused(self.refused.call_id, tool, self.refused.reason)
        if self.denied is not None:
            d = self.denied
            return oc.Denied(d.call_id, tool, oc.denied_text(tool, d.denied_by, d.reason))
        return None

    def _see(self, event: Event) -> None:
        key = getattr(event, "idempotency_key", None)
        if isinstance(event, ev.ToolCalled) and key == self.key:
            self.called = self.called or event
        elif isinstance(event, tev.ToolCallRefused) and key == self.key:
            self.refused = self.refused or event
        elif isinstance(event, tev.ToolCallRejected) and key == self.key:
            self.rejected = self.rejected or event
        elif isinstance(event, tev.ToolCallRequested) and key == self.key:
            self.requests.append(event)
        elif isinstance(event, tev.ToolCallApproved) and self._requested(event.call_id):
            self.approved = event
        elif isinstance(event, tev.ToolCallDenied) and self._requested(event.call_id):
            self.denied = event

    def _requested(self, call_id: str) -> bool:
        return any(r.call_id == call_id for r in self.requests)
