"""Strict JSON schemas from pydantic models, and validation of a model's answer against them.

"Strict" is OpenAI's structured-output subset, which llama.cpp's grammar builder also reads:
every object lists all its properties as required and forbids others, `$ref`s are inlined,
`oneOf` becomes `anyOf`, `const` becomes a one-value `enum`, titles and defaults are dropped.
One helper for structured answers and for the tool registry's `tools.json`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from bdg_llm.api import ChatRequest, ChatResult, LlmAnswerError

M = TypeVar("M", bound=BaseModel)
_DROPPED = frozenset({"title", "default", "discriminator", "examples"})


class SchemaError(ValueError):
    """A model whose schema cannot be made strict (free-form mapping, recursion)."""


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema in the strict subset (a new dict every call)."""
    raw = model.model_json_schema()
    defs: dict[str, Any] = raw.pop("$defs", {})
    out: dict[str, Any] = _strict(raw, defs, (model.__name__,), model.__name__)
    return out


def _strict(node: Any, defs: dict[str, Any], seen: tuple[str, ...], where: str) -> Any:
    if isinstance(node, list):
        return [_strict(item, defs, seen, where) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = str(node["$ref"]).rsplit("/", 1)[-1]
        if name in seen:
            raise SchemaError(f"{where}: recursive model {name} cannot be inlined")
        return _strict(defs[name], defs, (*seen, name), where)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED:
            continue
        if key == "properties":
            out[key] = {
                prop: _strict(sub, defs, seen, f"{where}.{prop}") for prop, sub in value.items()
            }
        elif key == "oneOf":
            out["anyOf"] = _strict(value, defs, seen, where)
        elif key == "const":
            out["enum"] = [value]
        else:
            out[key] = _strict(value, defs, seen, where)
    if out.get("type") == "object":
        if "properties" not in out and out.get("additionalProperties") not in (None, False):
            raise SchemaError(
                f"{where}: a free-form mapping has no strict schema; use a model or a list of pairs"
            )
        out.setdefault("properties", {})
        out["required"] = list(out["properties"])
        out["additionalProperties"] = False
    return out


def structured_request(request: ChatRequest, answer: type[BaseModel]) -> ChatRequest:
    """``request`` constrained to ``answer``'s strict schema (unless it brings its own)."""
    if request.schema is not None:
        return request
    return replace(request, schema=strict_schema(answer))


def validate_answer(result: ChatResult, answer: type[M]) -> M:
    """The answer as ``answer``, or LlmAnswerError (carrying the call) saying what is wrong."""
    try:
        data = json.loads(result.content)
    except json.JSONDecodeError as exc:
        raise LlmAnswerError(
            f"the answer is not JSON ({exc.msg} at char {exc.pos}); expected a "
            f"{answer.__name__} object",
            result,
        ) from exc
    except RecursionError as exc:
        raise LlmAnswerError(
            f"the answer nests too deeply for a {answer.__name__}", result
        ) from exc
    try:
        return answer.model_validate(data)
    except ValidationError as exc:
        raise LlmAnswerError(
            f"the answer does not fit {answer.__name__}: {describe_errors(exc)}", result
        ) from exc


def describe_errors(exc: ValidationError, limit: int = 8) -> str:
    """Pydantic's errors as one short line per field, for people and for models to act on."""
    lines = []
    for err in exc.errors()[:limit]:
        where = ".".join(str(part) for part in err["loc"]) or "(root)"
        if err["type"] == "extra_forbidden":
            lines.append(f"{where}: unknown field, remove it")
        elif err["type"] == "missing":
            lines.append(f"{where}: required field missing")
        else:
            lines.append(f"{where}: {err['msg']}")
    more = len(exc.errors()) - limit
    if more > 0:
        lines.append(f"... and {more} more")
    return "; ".join(lines)
