"""The Chat Completions wire format: request parameters out, answer text and usage in.

A tool call the endpoint put in ``message.tool_calls`` (big models, ``tools`` given in
``ChatRequest.extra``) becomes the answer text ``{"tool": name, "arguments": {...}}``, the shape
small models write under the tool-union schema; so one parser, and one recorded form, serve both.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from openai.types.chat import ChatCompletion, ChatCompletionChunk

from bdg_llm.api import ChatRequest, OnDelta
from bdg_llm.hashing import canonical_json


@dataclass(frozen=True)
class Answer:
    content: str
    prompt_tokens: int | None = None  # None: the endpoint sent no usage
    completion_tokens: int | None = None


def params(model: str, request: ChatRequest) -> dict[str, Any]:
    """Keyword arguments of ``chat.completions.create``; ``extra`` goes into the body as is."""
    out: dict[str, Any] = {
        "model": model,
        "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        "temperature": request.temperature,
    }
    if request.max_tokens is not None:
        out["max_tokens"] = request.max_tokens
    if request.schema is not None:
        out["response_format"] = {
            "type": "json_schema",
            "json_schema": {
                "name": request.schema_name,
                "schema": request.schema,
                "strict": request.strict,
            },
        }
    if request.extra:
        out["extra_body"] = dict(request.extra)
    return out


def tool_calls_text(calls: Sequence[tuple[str, str]]) -> str:
    """(name, arguments JSON text) pairs as answer text; arguments that are not JSON stay text so
    the parser can say so."""
    objects = []
    for name, arguments in calls:
        try:
            parsed: Any = json.loads(arguments) if arguments else {}
        except json.JSONDecodeError:
            parsed = arguments
        objects.append({"tool": name, "arguments": parsed})
    return canonical_json(objects[0] if len(objects) == 1 else objects)


def read_completion(completion: ChatCompletion) -> Answer:
    message = completion.choices[0].message if completion.choices else None
    content = ""
    if message is not None:
        calls = [
            (call.function.name, call.function.arguments)
            for call in message.tool_calls or []
            if call.type == "function"
        ]
        content = tool_calls_text(calls) if calls else message.content or ""
    usage = completion.usage
    if usage is None:
        return Answer(content)
    return Answer(content, usage.prompt_tokens, usage.completion_tokens)


@dataclass
class _Calls:
    names: dict[int, str] = field(default_factory=dict)
    arguments: dict[int, list[str]] = field(default_factory=dict)

    def add(self, index: int, name: str | None, arguments: str | None) -> None:
        if name:
            self.names[index] = self.names.get(index, "") + name
        self.arguments.setdefault(index, []).append(arguments or "")

    def text(self) -> str | None:
        if not self.names:
            return None
        return tool_calls_text(
            [(self.names[i], "".join(self.arguments.get(i, []))) for i in sorted(self.names)]
        )


async def read_stream(chunks: AsyncIterator[ChatCompletionChunk], on_delta: OnDelta) -> Answer:
    """Pass each content delta to ``on_delta`` in order; collect text, tool calls and usage."""
    parts: list[str] = []
    calls = _Calls()
    usage = None
    async for chunk in chunks:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices[:1]:
            delta = choice.delta
            if delta.content:
                parts.append(delta.content)
                await on_delta(delta.content)
            for call in delta.tool_calls or []:
                fn = call.function
                calls.add(call.index, fn.name if fn else None, fn.arguments if fn else None)
    content = calls.text() or "".join(parts)
    if usage is None:
        return Answer(content)
    return Answer(content, usage.prompt_tokens, usage.completion_tokens)
