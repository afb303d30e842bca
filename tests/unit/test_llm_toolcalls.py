"""Tool calls from model text: the union schema, and clear errors for every malformed answer."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from bdg_llm.api import ChatRequest, Message
from bdg_llm.toolcalls import (
    ToolCallError,
    function_tool,
    parse_tool_call,
    tool_union_schema,
    tools_request,
)
from tests.fakes.openai_server import RequestError, check_request

pytestmark = pytest.mark.timeout(30)


class Range(BaseModel):
    start: int = Field(ge=1)
    end: int


class FileRead(BaseModel):
    """Read a file of the workspace,
    optionally a range of lines."""

    path: str
    lines: Range | None = None


class RunCommand(BaseModel):
    argv: list[str] = Field(min_length=1)
    timeout_seconds: int = 60


TOOLS = {"file_read": FileRead, "run_command": RunCommand}
ASK = ChatRequest("coder", (Message("user", "fix it"),))


def test_the_union_ties_each_tool_to_its_own_strict_arguments() -> None:
    branches = tool_union_schema(TOOLS)["anyOf"]
    assert [b["properties"]["tool"]["enum"] for b in branches] == [["file_read"], ["run_command"]]
    for branch in branches:
        assert branch["required"] == ["tool", "arguments"]
        assert branch["additionalProperties"] is False
        assert branch["properties"]["arguments"]["additionalProperties"] is False
    assert [sorted(b["properties"]["arguments"]["required"]) for b in branches] == [
        ["lines", "path"],
        ["argv", "timeout_seconds"],
    ]
    with pytest.raises(ValueError, match="at least one tool"):
        tool_union_schema({})


def _body(request: ChatRequest) -> dict[str, object]:
    from bdg_llm.wire import params

    kwargs = params("m", request)
    return {
        **{k: v for k, v in kwargs.items() if k != "extra_body"},
        **kwargs.get("extra_body", {}),
    }


def test_both_modes_pass_the_endpoints_checks() -> None:
    union = tools_request(ASK, TOOLS)
    assert union.strict is False  # OpenAI's strict mode refuses a root anyOf
    check_request(_body(union))
    with pytest.raises(RequestError, match="must be a JSON Schema of 'type: \"object\"'"):
        check_request(_body(replace(union, strict=True)))
    native = tools_request(ASK, TOOLS, native=True)
    check_request(_body(native))
    assert native.schema is None
    assert native.extra["tool_choice"] == "required"


def test_function_tools_in_openai_format() -> None:
    tool = function_tool("file_read", FileRead)
    assert tool["type"] == "function"
    assert tool["function"]["name"] == "file_read"
    assert tool["function"]["strict"] is True
    assert (
        tool["function"]["description"]
        == "Read a file of the workspace, optionally a range of lines."
    )
    assert "description" not in function_tool("run_command", RunCommand)["function"]


def test_a_good_call_is_validated() -> None:
    name, args = parse_tool_call(
        '{"tool": "file_read", "arguments": {"path": "a.py", "lines": {"start": 2, "end": 9}}}',
        TOOLS,
    )
    assert (name, args) == ("file_read", FileRead(path="a.py", lines=Range(start=2, end=9)))
    name, args = parse_tool_call('{"tool": "run_command", "arguments": {"argv": ["ls"]}}', TOOLS)
    assert args == RunCommand(argv=["ls"], timeout_seconds=60)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"tool": "file_read", "arguments": {"path": ', "not valid JSON"),
        ("[" * 100_000, "nests too deeply"),
        ("I will read the file now.", "not valid JSON"),
        ('[{"tool": "file_read", "arguments": {"path": "a"}}]', "one tool at a time"),
        ('"file_read"', 'exactly the keys "tool" and "arguments"'),
        ('{"name": "file_read", "arguments": {"path": "a"}}', 'exactly the keys "tool"'),
        ('{"tool": "file_read", "arguments": {}, "why": "x"}', 'exactly the keys "tool"'),
        ('{"tool": "rm_rf", "arguments": {}}', 'Unknown tool "rm_rf". Available tools: file_read'),
        ('{"tool": 3, "arguments": {}}', "Unknown tool 3"),
        ('{"tool": "file_read", "arguments": "a.py"}', "must be a JSON object with the fields"),
        ('{"tool": "file_read", "arguments": {}}', "path: required field missing"),
        ('{"tool": "file_read", "arguments": {"path": 7}}', "path: Input should be a valid string"),
        ('{"tool": "run_command", "arguments": {"argv": []}}', "argv: List should have at least"),
        (
            '{"tool": "file_read", "arguments": {"path": "a", "encoding": "utf8"}}',
            "Tool file_read has no argument encoding; its arguments are: path, lines",
        ),
        (
            '{"tool": "file_read", "arguments": '
            '{"path": "a", "lines": {"start": 1, "end": 2, "step": 1}}}',
            "no argument lines.step",
        ),
        (
            '{"tool": "run_command", "arguments": {"argv": ["ls"], "cwd": "/", "shell": true}}',
            "no argument cwd, shell",
        ),
    ],
)
def test_malformed_calls_raise_an_instructive_error(text: str, says: str) -> None:
    with pytest.raises(ToolCallError, match=says.replace("(", r"\(")) as err:
        parse_tool_call(text, TOOLS)
    assert err.value.result is None
    message = str(err.value)
    assert message.endswith(".")  # sentences, fit for a model
    assert "\n" not in message


@given(
    st.text(max_size=200)
    | st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
    ).map(json.dumps)
)
def test_any_text_gives_a_call_or_a_tool_call_error(text: str) -> None:
    try:
        name, args = parse_tool_call(text, TOOLS)
    except ToolCallError:
        return
    assert isinstance(args, TOOLS[name])


@given(
    st.sampled_from(["file_read", "run_command"]),
    st.dictionaries(
        st.sampled_from(["path", "lines", "argv", "timeout_seconds", "extra"]),
        st.none()
        | st.integers()
        | st.text(max_size=5)
        | st.lists(st.text(max_size=5))
        | st.fixed_dictionaries({"start": st.integers(), "end": st.integers()}),
    ),
)
def test_any_arguments_give_valid_ones_or_a_tool_call_error(
    tool: str, args: dict[str, object]
) -> None:
    try:
        name, parsed = parse_tool_call(json.dumps({"tool": tool, "arguments": args}), TOOLS)
    except ToolCallError as err:
        message = str(err)
    else:
        assert name == tool
        assert isinstance(parsed, TOOLS[tool])
        return
    assert message.endswith(".")
