"""Strict schemas of the built-in tools, and tools.json generated from them and kept fresh."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bdg_tools import generate
from bdg_tools.catalog import BUILTIN
from bdg_tools.schemas import NotStrictError, drop_optional_nulls, strictify, validator_of
from bdg_tools.spec import ArgumentsError

pytestmark = pytest.mark.timeout(10)
REQUIRED_TOOLS = {
    "file_read",
    "file_write",
    "apply_patch",
    "list_files",
    "search_code",
    "run_command",
    "run_tests",
    "deploy",
}


def objects(node: Any) -> Iterator[dict[str, Any]]:
    """Every object schema inside ``node``."""
    if isinstance(node, list):
        for item in node:
            yield from objects(item)
    elif isinstance(node, dict):
        if node.get("type") == "object":
            yield node
        for value in node.values():
            yield from objects(value)


def keys(node: Any) -> set[str]:
    if isinstance(node, list):
        return set().union(*(keys(i) for i in node)) if node else set()
    if isinstance(node, dict):
        return set(node) | set().union(*(keys(v) for v in node.values()))
    return set()


@pytest.mark.parametrize("tool", BUILTIN, ids=lambda t: t.name)
def test_every_builtin_schema_is_strict(tool: Any) -> None:
    schema = tool.declaration().parameters
    assert schema["type"] == "object"
    for obj in objects(schema):
        assert obj["additionalProperties"] is False
        assert obj["required"] == list(obj["properties"])
    assert not keys(schema) & {"$ref", "$defs", "default", "title"}


def test_optional_arguments_are_required_but_nullable() -> None:
    props = {t.name: t.declaration().parameters["properties"] for t in BUILTIN}
    assert {"type": "null"} in props["file_read"]["start_line"]["anyOf"]
    assert {"type": "null"} in props["list_files"]["path"]["anyOf"]
    assert props["file_read"]["path"]["type"] == "string"


def test_tools_json_is_the_openai_function_calling_format() -> None:
    tools = json.loads(generate.TOOLS_JSON.read_text())
    assert {t["function"]["name"] for t in tools} >= REQUIRED_TOOLS
    for tool in tools:
        assert tool["type"] == "function"
        assert set(tool["function"]) == {"name", "description", "parameters", "strict"}
        assert tool["function"]["strict"] is True
        assert tool["function"]["description"]


def test_the_checked_in_tools_json_is_fresh() -> None:
    assert generate.TOOLS_JSON.read_text() == generate.render(), (
        "libs/tools/tools.json is stale: run `uv run python -m bdg_tools.generate`"
    )
    assert generate.main(["--check"]) == 0


def test_a_stale_tools_json_is_detected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "tools.json"
    stale.write_text(generate.render().replace("Read a text file", "Read a file"))
    assert generate.main(["--check", "--out", str(stale)]) == 1
    assert "is stale" in capsys.readouterr().err
    assert generate.main(["--out", str(stale)]) == 0
    assert generate.main(["--check", "--out", str(stale)]) == 0


MCP_LIKE = {
    "type": "object",
    "title": "addArguments",
    "properties": {
        "a": {"type": "integer", "title": "A"},
        "b": {"type": "integer", "default": 1},
        "opts": {
            "type": "object",
            "properties": {"round": {"type": "boolean"}},
        },
    },
    "required": ["a"],
}


def test_an_external_schema_is_made_strict_with_nullable_optionals() -> None:
    strict = strictify(MCP_LIKE)
    assert strict["required"] == ["a", "b", "opts"]
    assert strict["additionalProperties"] is False
    assert strict["properties"]["a"] == {"type": "integer"}
    assert strict["properties"]["b"] == {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    opts = strict["properties"]["opts"]["anyOf"][0]
    assert opts["required"] == ["round"]
    assert opts["properties"]["round"] == {"anyOf": [{"type": "boolean"}, {"type": "null"}]}
    assert MCP_LIKE["required"] == ["a"]  # the original is untouched


def test_nulls_for_optionals_are_dropped_before_validation() -> None:
    parse = validator_of(MCP_LIKE)
    assert parse({"a": 1, "b": None, "opts": {"round": None}}) == {"a": 1, "opts": {}}
    assert drop_optional_nulls({"a": None}, MCP_LIKE) == {"a": None}  # required stays
    with pytest.raises(ArgumentsError, match="'x' is not of type 'integer'"):
        parse({"a": "x"})
    with pytest.raises(ArgumentsError, match="'a' is a required property"):
        parse({"b": 2})


def test_a_free_form_schema_is_not_strict() -> None:
    with pytest.raises(NotStrictError):
        strictify({"type": "object", "additionalProperties": True, "properties": {}})
    with pytest.raises(NotStrictError):
        strictify({"type": "object"})
