"""Tool calls from any model, behind one interface.

Small models do not fill OpenAI's ``tool_calls`` reliably, so their answer is constrained to the
schema of the tool union: ``anyOf`` one strict object per tool, ``{"tool": <its name>,
"arguments": <its arguments>}``. Each branch ties a tool to its own arguments, so a grammar
(llama.cpp) that has emitted the name can only go on with that tool's arguments: with the name
and the arguments in two separate unions, the 0.5B model called ``run_command`` with
``file_read``'s ``path``. OpenAI's strict mode refuses a root ``anyOf``, so this schema is sent
with ``strict: false``; OpenAI models use native tool calls instead (``native=True``), which the
client writes in the same shape, so one parser serves both and the recorded answer replays the
same. A call that does not fit raises ToolCallError, whose message is
written for the model: it goes back as the tool result so the model can correct itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel, ValidationError

from bdg_llm.api import ChatRequest, ChatResult, LlmClient
from bdg_llm.schema import describe_errors, strict_schema

Tools = Mapping[str, type[BaseModel]]
TOOL_CALL_SCHEMA_NAME = "tool_call"


class ToolCallError(ValueError):
    """The model's tool call is unusable; ``str(error)`` tells the model how to fix it.
    ``result`` is the call that produced it (to record), when there was one."""

    def __init__(self, message: str, result: ChatResult | None = None) -> None:
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class ToolChoice:
    tool: str
    arguments: BaseModel
    result: ChatResult


def tool_union_schema(tools: Tools) -> dict[str, Any]:
    if not tools:
        raise ValueError("a tool call needs at least one tool")
    return {"anyOf": [_branch(name, model) for name, model in tools.items()]}


def _branch(name: str, model: type[BaseModel]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "tool": {"type": "string", "enum": [name]},
            "arguments": strict_schema(model),
        },
        "required": ["tool", "arguments"],
        "additionalProperties": False,
    }


def function_tool(name: str, model: type[BaseModel]) -> dict[str, Any]:
    """One tool in OpenAI's function-calling format (strict); the docstring describes it."""
    function: dict[str, Any] = {"name": name, "parameters": strict_schema(model), "strict": True}
    if model.__doc__:
        function["description"] = " ".join(model.__doc__.split())
    return {"type": "function", "function": function}


def _shape(tools: Tools) -> str:
    return f'{{"tool": "<one of: {", ".join(tools)}>", "arguments": {{...}}}}'


def parse_tool_call(text: str, tools: Tools) -> tuple[str, BaseModel]:
    """(tool name, validated arguments) from the answer text, or ToolCallError."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ToolCallError(
            f"Your answer is not valid JSON ({exc.msg} at character {exc.pos}). "
            f"Answer with exactly one JSON object: {_shape(tools)}."
        ) from exc
    except RecursionError as exc:
        raise ToolCallError(
            f"Your answer nests too deeply. Answer with one JSON object: {_shape(tools)}."
        ) from exc
    if isinstance(data, list):
        raise ToolCallError(
            f"Call one tool at a time: answer with a single JSON object {_shape(tools)}, "
            "not a list."
        )
    if not isinstance(data, dict) or set(data) != {"tool", "arguments"}:
        raise ToolCallError(
            f'Answer with a JSON object that has exactly the keys "tool" and "arguments": '
            f"{_shape(tools)}."
        )
    name = data["tool"]
    if not isinstance(name, str) or name not in tools:
        raise ToolCallError(
            f"Unknown tool {json.dumps(name)}. Available tools: {', '.join(tools)}. "
            "Call one of them."
        )
    return name, validate_arguments(name, tools[name], data["arguments"])


def validate_arguments(name: str, model: type[BaseModel], arguments: Any) -> BaseModel:
    schema = strict_schema(model)
    fields = ", ".join(schema["properties"]) or "(none)"
    if not isinstance(arguments, dict):
        raise ToolCallError(
            f"The arguments of tool {name} must be a JSON object with the fields: {fields}."
        )
    unknown = _unknown_keys(arguments, schema, "")
    if unknown:
        raise ToolCallError(
            f"Tool {name} has no argument {', '.join(unknown)}; its arguments are: {fields}. "
            "Remove the unknown ones and call it again."
        )
    try:
        return model.model_validate(arguments)
    except ValidationError as exc:
        raise ToolCallError(
            f"The arguments of tool {name} are invalid: {describe_errors(exc)}. "
            "Call it again with corrected arguments."
        ) from exc


def _unknown_keys(value: Any, schema: dict[str, Any], path: str) -> list[str]:
    """Keys the strict schema does not have, as dotted paths (nested objects and lists too)."""
    objects = [v for v in schema.get("anyOf", []) if "properties" in v]
    if len(objects) == 1:  # an optional model
        schema = objects[0]
    if isinstance(value, dict) and "properties" in schema:
        props: dict[str, Any] = schema["properties"]
        found = [f"{path}{key}" for key in value if key not in props]
        for key, sub in value.items():
            if key in props:
                found += _unknown_keys(sub, props[key], f"{path}{key}.")
        return found
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        found = []
        for i, item in enumerate(value):
            found += _unknown_keys(item, schema["items"], f"{path}{i}.")
        return found
    return []


def tools_request(request: ChatRequest, tools: Tools, *, native: bool = False) -> ChatRequest:
    """``request`` asking for one call of one of ``tools``."""
    if native:
        extra = {
            **request.extra,
            "tools": [function_tool(name, model) for name, model in tools.items()],
            "tool_choice": "required",
            "parallel_tool_calls": False,
        }
        return replace(request, schema=None, extra=extra)
    return replace(
        request, schema=tool_union_schema(tools), schema_name=TOOL_CALL_SCHEMA_NAME, strict=False
    )


async def chat_tools(
    client: LlmClient, request: ChatRequest, tools: Tools, *, native: bool = False
) -> ToolChoice:
    """Ask the model for a tool call; ToolCallError (with ``result``) when it does not fit."""
    result = await client.chat(tools_request(request, tools, native=native))
    try:
        name, arguments = parse_tool_call(result.content, tools)
    except ToolCallError as exc:
        raise ToolCallError(str(exc), result) from exc
    return ToolChoice(name, arguments, result)
