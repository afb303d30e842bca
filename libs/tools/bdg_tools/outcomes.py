"""What a tool call comes to. ``content`` goes back to the model as the tool message; ``waits``
tells the step to stop, because the job waits for a person."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class Outcome:
    call_id: str
    tool: str
    content: str
    waits: ClassVar[bool] = False


class Ran(Outcome):
    """Executed now and recorded (ToolCalled)."""


class Replayed(Outcome):
    """Recorded earlier with the same idempotency key: the recorded result, not run again."""


class Rejected(Outcome):
    """An unknown tool or invalid arguments: the message tells the model what to fix."""


class Refused(Outcome):
    """Forbidden by policy: refused and recorded, never run."""


class Denied(Outcome):
    """A person denied the gated call: the denial is its result."""


class AwaitingApproval(Outcome):
    """A gated call: the job is paused until a person approves or denies it."""

    waits: ClassVar[bool] = True


def waiting_text(call_id: str) -> str:
    return f"call {call_id} waits for a person's approval; the job is paused until then"


def forbidden_text(tool: str) -> str:
    return f"tool {tool} is not allowed for this job (policy: forbid); use another way"


def denied_text(tool: str, denied_by: str, reason: str) -> str:
    why = f": {reason}" if reason else ""
    return f"{denied_by} denied this call of {tool}{why}. Do not call it again."
