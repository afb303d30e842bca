"""The model side of the coder: the tools it is offered, and its client.

The client answers first from what an earlier run of the same attempt recorded before it
stopped short (``Parked``: a gated call, an outage), so the run resumes where that one stopped
and those calls are neither paid nor recorded twice; every other call goes to the model and is
noted in the handler's journal, to be recorded (LlmCalled) with the reaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from bdg_coder.prompts import FINISH, FINISH_DESCRIPTION, OfferedTool
from bdg_contracts.events import LlmCalled
from bdg_llm.api import ChatRequest, ChatResult, LlmClient, M, OnDelta
from bdg_llm.journal import note
from bdg_llm.replay import ReplayLlm, ReplayMissError
from bdg_llm.schema import structured_request, validate_answer
from bdg_llm.toolcalls import Tools
from bdg_tools.catalog import BUILTIN
from bdg_tools.registry import ToolRegistry

ROLE = "coder"
# What the model may call, in this order; the registry decides which of them it is offered.
MODEL_TOOLS = (
    "file_read", "file_write", "edit_file", "replace_symbol", "apply_patch", "list_files",
    "search_code", "run_command", "run_tests",
)  # fmt: skip
_CATALOG = {tool.name: tool for tool in BUILTIN}


class Finish(BaseModel):
    """End this attempt: say what you changed and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    summary: str = Field(min_length=1, max_length=2_000, description="what changed, and why")


def offered_tools(
    registry: ToolRegistry, tenant_id: str, user_id: str | None
) -> tuple[Tools, list[OfferedTool]]:
    """The tools of ``registry`` this user's model may call (policy-forbidden ones left out),
    plus ``finish``: as argument models for the tool call, and as the prompt describes them."""
    offered = {e.name: e for e in registry.offered(tenant_id, user_id)}
    models: dict[str, type[BaseModel]] = {}
    described: list[OfferedTool] = []
    for name in MODEL_TOOLS:
        entry, tool = offered.get(name), _CATALOG[name]
        if entry is None:
            continue
        models[name] = tool.arguments
        gated = registry.approval(entry, tenant_id, user_id) == "gate"
        fields = tuple(tool.arguments.model_fields)
        described.append(OfferedTool(name, tool.description, fields, gated))
    models[FINISH] = Finish
    described.append(OfferedTool(FINISH, FINISH_DESCRIPTION, tuple(Finish.model_fields)))
    return models, described


def known_call(answer: str, tools: Tools) -> tuple[str, str] | None:
    """(tool, arguments JSON) of an answer shaped as a call of a known tool, whatever its
    arguments: those go to the ToolCaller, which validates them and records a rejection."""
    try:
        data = json.loads(answer)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or set(data) != {"tool", "arguments"}:
        return None
    tool = data["tool"]
    if not isinstance(tool, str) or tool not in tools:
        return None
    return tool, json.dumps(data["arguments"], ensure_ascii=False)


class CoderLlm:
    def __init__(self, client: LlmClient, parked: Sequence[LlmCalled] = ()) -> None:
        self.client = client
        self.parked = ReplayLlm(parked) if parked else None

    async def chat(self, request: ChatRequest, on_delta: OnDelta | None = None) -> ChatResult:
        if self.parked is not None:
            try:
                return await self.parked.chat(request, on_delta)
            except ReplayMissError:
                self.parked = None  # the run has left the parked one's path: no going back
        result = await self.client.chat(request, on_delta)
        note(ROLE, result)
        return result

    async def structured(self, request: ChatRequest, answer: type[M]) -> tuple[M, ChatResult]:
        result = await self.chat(structured_request(request, answer))
        return validate_answer(result, answer), result
