"""Tools that come with a JSON schema instead of a pydantic model (MCP servers, other services).

Their schemas are made strict where they can be (every property required, the optional ones
nullable, no other properties); a ``null`` the model sends for an optional property is dropped
before the arguments are validated against the original schema and passed on.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from bdg_contracts.tool_events import ToolApproval, ToolDeclaration
from bdg_tools.spec import ArgumentsError, Requirement, ToolEntry, ToolExecutor, always

_DROPPED = frozenset({"title", "default", "examples", "$schema"})
MAX_ERRORS = 8


class NotStrictError(ValueError):
    """A schema with free-form parts: offered with ``strict: false``."""


def strictify(schema: dict[str, Any]) -> dict[str, Any]:
    """A strict copy of an object schema, or NotStrictError."""
    strict: dict[str, Any] = _strict(copy.deepcopy(schema))
    return strict


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        raise NotStrictError("references are not inlined for external schemas")
    out = {k: _strict(v) for k, v in node.items() if k not in _DROPPED and k != "properties"}
    if node.get("type") == "object" or "properties" in node:
        if node.get("additionalProperties") not in (None, False) or "properties" not in node:
            raise NotStrictError("a free-form object has no strict form")
        required = set(node.get("required", ()))
        out["properties"] = {
            name: _strict(sub) if name in required else _nullable(_strict(sub))
            for name, sub in node["properties"].items()
        }
        out["required"] = list(node["properties"])
        out["additionalProperties"] = False
        out["type"] = "object"
    return out


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def drop_optional_nulls(value: Any, schema: dict[str, Any]) -> Any:
    """Undo ``_nullable``: an optional property sent as null is left out."""
    if not isinstance(value, dict) or "properties" not in schema:
        return value
    required = set(schema.get("required", ()))
    props: dict[str, Any] = schema["properties"]
    return {
        k: drop_optional_nulls(v, props.get(k, {}))
        for k, v in value.items()
        if not (v is None and k not in required and k in props)
    }


def validator_of(schema: dict[str, Any]) -> Callable[[Any], Any]:
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        raise ValueError(f"invalid input schema: {error.message}") from error
    validator = Draft202012Validator(schema)

    def parse(data: Any) -> Any:
        value = drop_optional_nulls(data, schema)
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        if errors:
            lines = [
                f"{'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
                for e in errors[:MAX_ERRORS]
            ]
            raise ArgumentsError("; ".join(lines))
        return value

    return parse


def schema_entry(
    name: str,
    description: str,
    input_schema: dict[str, Any],
    executor: ToolExecutor,
    approval: ToolApproval,
    source: str,
    requires: Requirement = always,
) -> ToolEntry:
    try:
        parameters, strict = strictify(input_schema), True
    except NotStrictError:
        parameters, strict = input_schema, False
    declaration = ToolDeclaration(
        name=name,
        description=description,
        parameters=parameters,
        strict=strict,
        approval=approval,
    )
    return ToolEntry(
        declaration=declaration,
        parse=validator_of(input_schema),
        canonical=lambda arguments: arguments,
        executor=executor,
        requires=requires,
        source=source,
    )
