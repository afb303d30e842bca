"""Tool calls: the events they leave on a job, and the request/reply contracts of tools on NATS.

A call is identified twice: ``call_id`` (a ULID, new for every attempt; what a person approves)
and ``idempotency_key`` (sha256 of job, tool, canonical arguments and scope; equal for a
redelivered call, so its recorded outcome is reused). ``ToolCalled`` (in ``events``) records an
execution; the events here record what happens to a call that is not simply run.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from bdg_contracts.base import Contract, Event
from bdg_contracts.text import Text

ToolApproval = Literal["auto", "gate", "forbid"]


class ToolCallRequested(Event):
    """A gated call waits for a person: the job is paused until it is approved or denied."""

    call_id: str
    tool: str
    arguments_json: str
    idempotency_key: str
    reason: str


class ToolCallApproved(Event):
    """The job resumes; the re-driven step runs the call (once)."""

    personal = personal_actor = ("approved_by",)

    call_id: str
    approved_by: str


class ToolCallDenied(Event):
    """The job resumes; the denial is the call's result, and the call never runs."""

    personal = ("denied_by", "reason")
    personal_actor = ("denied_by",)

    call_id: str
    denied_by: str
    reason: str = ""


class ToolCallRefused(Event):
    """A forbidden call: refused by policy and recorded, never run."""

    call_id: str
    tool: str
    arguments_json: str
    idempotency_key: str
    reason: str


class ToolCallRejected(Event):
    """An unknown tool or arguments that do not validate: the message went back to the model."""

    call_id: str
    tool: str
    arguments_json: str
    idempotency_key: str
    message: str


ALL_TOOL_EVENTS: tuple[type[Event], ...] = tuple(
    cls for cls in Event.registry.values() if cls.__module__ == __name__
)


# -- request/reply on NATS (not job events) -------------------------------------------------------
class ToolDeclaration(Contract):
    """One tool as the OpenAI function-calling format describes it, and its approval default."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    description: str
    parameters: dict[str, Any]
    strict: bool = True
    approval: ToolApproval = "auto"


class DiscoverTools(Contract):
    """Asks every service listening on ``subjects.tools_discovery()`` for its tools."""


class ToolsAnnounced(Contract):
    """A service's answer to DiscoverTools; its tools are called on ``tool_invocation(service)``."""

    service: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    tools: tuple[ToolDeclaration, ...] = ()


class InvokeTool(Contract):
    """Run one announced tool with arguments the caller has already validated."""

    tool: str
    arguments_json: str
    tenant_id: str
    job_id: str
    workspace: str = ""


class ToolInvoked(Contract):
    result: str
    is_error: bool = False
    transient: bool = Field(default=False, description="worth another try")


class SearchCode(Contract):
    """Asks the indexer (``subjects.code_search()``) for the chunks nearest to ``query``.

    ``repo`` empty: every repository of the tenant. The answer keeps rank order: ``limit`` hits
    when that many match; with a ``token_budget``, only those that fit it (the chunks' token
    counts added up). Prompts apply their own budget (bdg_llm.code_context)."""

    tenant_id: str
    repo: str = ""
    query: str = Field(min_length=1, max_length=2_000)
    limit: int = Field(default=6, ge=1, le=100)
    mode: Literal["hybrid", "vector", "fulltext"] = "hybrid"
    token_budget: int | None = Field(default=None, ge=1, le=100_000)


class CodeHit(Contract):
    path: str
    start_line: int = Field(ge=1)
    end_line: int = Field(ge=1)
    snippet: str
    score: float
    language: str = ""
    repo: str = ""
    token_count: int = Field(default=0, ge=0)


class CodeSearched(Contract):
    hits: tuple[CodeHit, ...] = ()
    error: str = Field(default="", description="why no search ran (bad request, no index)")


class CodeContextRetrieved(Event):
    """The code a step was shown for ``query``: recorded, so a replay shows the same code."""

    query: str
    repo: str = ""
    hits: tuple[CodeHit, ...] = ()
    note: str = Field(default="", description="why there are no hits (no index, no answer)")


# -- commands -----------------------------------------------------------------------------------
class ApproveToolCall(Contract):
    """The gated call may run."""


class DenyToolCall(Contract):
    reason: Annotated[str, Text(2_000)] = ""
