"""Search/replace edits on model answers in their recorded form (written by hand: the tool is
new, so no model has answered with it yet): the good ones land, the broken ones change nothing
and say exactly why."""

from __future__ import annotations

import json

import pytest

from bdg_llm.toolcalls import ToolCallError, parse_tool_call
from bdg_tools.catalog import EditFile
from bdg_tools.edits import EditError, apply_edit, syntax_problem

pytestmark = pytest.mark.timeout(10)
TOOLS = {"edit_file": EditFile}
OPS = """\
def add(a, b):
    return a + b


def mul(a, b):
    return a + b
"""
MUL = "def mul(a, b):\n    return a + b"
MUL_FIXED = "def mul(a, b):\n    return a * b"
JS = "export function sum(a, b) {\n  return a - b;\n}\n\nexport const two = 2;\n"


def edit_of(answer: str) -> EditFile:
    name, arguments = parse_tool_call(answer, TOOLS)
    assert name == "edit_file"
    assert isinstance(arguments, EditFile)
    return arguments


def call(path: str, search: str, replace: str) -> str:
    """A model's answer under the tool-union schema, as recorded."""
    arguments = {"path": path, "search": search, "replace": replace}
    return json.dumps({"tool": "edit_file", "arguments": arguments})


def test_a_one_place_edit_lands_and_keeps_the_rest_of_the_file() -> None:
    edit = edit_of(call("/workspace/calc/ops.py", MUL, MUL_FIXED))
    assert edit.path == "calc/ops.py"
    edited = apply_edit(edit.path, OPS, edit.search, edit.replace)
    assert edited == OPS.replace("return a + b\n", "return a * b\n").replace(
        "return a * b\n\n\ndef mul", "return a + b\n\n\ndef mul"
    )
    assert "def add(a, b):\n    return a + b\n" in edited  # nothing dropped
    assert edited.endswith("return a * b\n")


def test_a_search_text_that_occurs_twice_changes_nothing_and_asks_for_more_lines() -> None:
    edit = edit_of(call("calc/ops.py", "    return a + b", "    return a * b"))
    with pytest.raises(EditError, match=r"occurs 2 times in calc/ops\.py; include more"):
        apply_edit(edit.path, OPS, edit.search, edit.replace)


def test_a_search_text_that_is_not_there_says_where_its_first_line_is() -> None:
    # A small model's usual slip: the right first line, the wrong indentation after it.
    edit = edit_of(call("calc/ops.py", MUL.replace("    ", "  "), MUL_FIXED))
    with pytest.raises(EditError) as caught:
        apply_edit(edit.path, OPS, edit.search, edit.replace)
    message = str(caught.value)
    assert message.startswith("the search text does not occur in calc/ops.py")
    assert "Its first line occurs at line 5" in message
    assert message.endswith("Nothing was changed.")


def test_an_edit_that_breaks_the_python_is_refused_with_the_line() -> None:
    edit = edit_of(call("calc/ops.py", MUL, MUL_FIXED.replace("):", ")")))
    with pytest.raises(EditError, match=r"would not parse \(line 5: expected ':'\)"):
        apply_edit(edit.path, OPS, edit.search, edit.replace)


def test_javascript_is_parsed_too() -> None:
    fixed = apply_edit("sum.js", JS, "return a - b;", "return a + b;")
    assert "return a + b;" in fixed
    with pytest.raises(EditError, match=r"sum.js would not parse \(a syntax error at line 2\)"):
        apply_edit("sum.js", JS, "return a - b;", "return (a + b;")
    assert syntax_problem("notes.md", "(((") == ""  # a kind not checked


def test_unparseable_answers_and_empty_search_text_never_reach_the_file() -> None:
    with pytest.raises(ToolCallError, match="not valid JSON"):
        parse_tool_call('{"tool": "edit_file", "arguments": {"path": "a.py", "search": "x', TOOLS)
    with pytest.raises(ToolCallError, match="search"):
        edit_of(call("a.py", "", "x = 1"))
    with pytest.raises(EditError, match="search text is empty"):
        apply_edit("a.py", "x = 1\n", "", "y")


def test_deeply_nested_or_nul_code_is_refused_not_raised() -> None:
    deep = "x = " + "-" * 50_000 + "1\n"
    with pytest.raises(EditError, match="nested too deeply to parse"):
        apply_edit("a.py", "x = 1\n", "x = 1\n", deep)
    with pytest.raises(EditError, match=r"would not parse \(source code string cannot contain"):
        apply_edit("a.py", "x = 1\n", "x = 1", "x = '\x00'")
