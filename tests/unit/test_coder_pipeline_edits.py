"""The pipeline's repair answers, parsed and checked before any edit lands, on recorded model
outputs: good ones (search/replace, whole symbol, new file, edits in a row), unparseable, cut
off at the token cap, over-long, non-applying, code-dropping, and for an unknown file."""

from __future__ import annotations

import json

import pytest

from bdg_coder.pipeline.edits import (
    MAX_EDITS,
    MAX_TEXT,
    Edit,
    Repair,
    check_edits,
    parse_repair,
    report,
)
from bdg_llm.schema import strict_schema

CALC = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"
FILES = {"calc.py": CALC, "src/sum.js": "export function sum(xs) {\n  return xs.length;\n}\n"}


def edit(path: str, symbol: str = "", search: str = "", replace: str = "") -> Edit:
    return Edit(path=path, symbol=symbol, search=search, replace=replace)


def answer(*edits: dict[str, str]) -> str:
    return json.dumps({"edits": list(edits)})


def test_the_schema_bounds_every_list_and_string() -> None:
    schema = strict_schema(Repair)
    edits = schema["properties"]["edits"]
    assert (edits["minItems"], edits["maxItems"]) == (1, MAX_EDITS)
    fields = edits["items"]["properties"]
    assert all("maxLength" in field for field in fields.values())
    assert fields["replace"]["maxLength"] == MAX_TEXT
    assert edits["items"]["required"] == ["path", "symbol", "search", "replace"]


def test_a_recorded_search_replace_answer_lands() -> None:
    fix = {"path": "calc.py", "symbol": "", "search": "    return a - b"}
    recorded = answer(fix | {"replace": "    return a + b"})
    repair = parse_repair(recorded)
    assert isinstance(repair, Repair)
    (checked,) = check_edits(FILES, repair.edits)
    assert checked.error == ""
    assert checked.tool == "edit_file"
    assert checked.after == CALC.replace("a - b", "a + b")
    assert checked.arguments == {"path": "calc.py", "search": "    return a - b",
                                 "replace": "    return a + b"}  # fmt: skip


def test_a_whole_symbol_answer_keeps_the_rest_of_the_file() -> None:
    new = "def add(a, b):\n    return a + b\n"
    (checked,) = check_edits(FILES, [edit("/workspace/calc.py", "add", replace=new)])
    assert (checked.error, checked.tool) == ("", "replace_symbol")
    assert checked.edit.path == "calc.py"  # the sandbox's mount point is the workspace
    assert "def mul(a, b):" in checked.after
    assert "return a + b" in checked.after


def test_edits_apply_in_order_each_to_the_file_the_last_left() -> None:
    first = edit("calc.py", search="a - b", replace="a + b")
    second = edit("calc.py", search="a + b", replace="b + a")  # only there after the first
    checked = check_edits(FILES, [first, second])
    assert [c.error for c in checked] == ["", ""]
    assert "return b + a" in checked[1].after


def test_a_new_file_is_written_with_its_final_newline() -> None:
    test = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5"
    (checked,) = check_edits(FILES, [edit("test_calc.py", replace=test)])
    assert (checked.error, checked.tool) == ("", "file_write")
    assert checked.after.endswith("== 5\n")


def test_an_unparseable_answer_says_what_is_wrong() -> None:
    said = parse_repair("Sure! Here is the fix:\n```python\ndef add(a, b): return a + b\n```")
    assert isinstance(said, str)
    assert said.startswith("the answer is not a list of edits as the schema asks")
    assert "Invalid JSON" in said


def test_an_answer_cut_at_the_token_cap_is_not_used() -> None:
    cut = answer({"path": "calc.py", "symbol": "", "search": "x", "replace": "y"})[:40]
    said = parse_repair(cut)
    assert isinstance(said, str)
    assert "EOF" in said or "Invalid JSON" in said


def test_an_over_long_answer_is_refused_by_its_bounds() -> None:
    long = answer(*[{"path": "calc.py", "symbol": "", "search": "a", "replace": "b"}] * 5)
    said = parse_repair(long)
    assert isinstance(said, str)
    assert f"at most {MAX_EDITS} items" in said
    huge = answer({"path": "calc.py", "symbol": "", "search": "a", "replace": "b" * 5000})
    said = parse_repair(huge)
    assert isinstance(said, str)
    assert f"at most {MAX_TEXT} characters" in said
    assert f"... ({len(huge)} characters)" in said  # the answer is quoted cut, with its length


def test_an_empty_list_of_edits_is_refused() -> None:
    said = parse_repair('{"edits": []}')
    assert isinstance(said, str)
    assert "at least 1 item" in said


@pytest.mark.parametrize(
    ("wrong", "expected"),
    [
        (edit("calc.py", search="return a - c", replace="x"), "does not occur in calc.py"),
        (edit("calc.py", search="(a, b):", replace="(a, b, c):"), "occurs 2 times"),
        (edit("calc.py", search="a - b", replace="a +"), "would not parse"),
        (edit("calc.py", "sub", replace="def sub(a, b):\n    return a - b\n"), "sub"),
        (edit("missing.py", search="x", replace="y"), "missing.py is not one of the files"),
        (edit("calc.py", replace="def add(a, b):\n    pass\n"), "search text is empty"),
    ],
)
def test_an_edit_that_does_not_apply_says_exactly_why(wrong: Edit, expected: str) -> None:
    (checked,) = check_edits(FILES, [wrong])
    assert checked.tool is None
    assert expected in checked.error
    assert "FAILED: " in report([checked])


def test_an_edit_that_drops_a_definition_does_not_land() -> None:
    # the model's search/replace took mul() out with the line it changed
    search = "    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"
    (checked,) = check_edits(FILES, [edit("calc.py", search=search, replace="    return a + b\n")])
    assert checked.tool is None
    assert "would no longer define mul" in checked.error


def test_a_failed_edit_leaves_the_file_for_the_next_one() -> None:
    checked = check_edits(FILES, [edit("calc.py", search="nope", replace="x"),
                                  edit("calc.py", search="a - b", replace="a + b")])  # fmt: skip
    assert [bool(c.error) for c in checked] == [True, False]
    assert report(checked).splitlines()[1] == "- edit 2 (calc.py): applied"


def test_a_search_not_copied_exactly_lands_as_the_files_own_text() -> None:
    # copied out of its function (no indentation) and with a trailing space
    (checked,) = check_edits(
        FILES, [edit("calc.py", search="return a - b ", replace="return a + b")]
    )
    assert (checked.error, checked.tool) == ("", "edit_file")
    assert checked.arguments == {"path": "calc.py", "search": "    return a - b\n",
                                 "replace": "    return a + b\n"}  # fmt: skip
    assert checked.after == CALC.replace("a - b", "a + b")
    assert (
        report([checked]) == "- edit 1 (calc.py): applied (ignoring a uniform indentation offset)"
    )


def test_a_symbol_the_file_lacks_falls_back_to_the_search() -> None:
    wrong = edit("calc.py", "b", search="    return a - b", replace="    return a + b")
    (checked,) = check_edits(FILES, [wrong])
    assert (checked.error, checked.tool) == ("", "edit_file")
    assert checked.after == CALC.replace("a - b", "a + b")


def test_a_symbol_the_file_defines_is_replaced_whatever_the_search() -> None:
    new = "def add(a, b):\n    return a + b\n"
    (checked,) = check_edits(FILES, [edit("calc.py", "add", search="nothing like it", replace=new)])
    assert (checked.error, checked.tool) == ("", "replace_symbol")


def test_a_path_without_its_folder_is_the_one_file_shown_so_named() -> None:
    files = {**FILES, "lib/util.js": "export const one = 1;\n"}
    fix = edit(
        "sum.js", search="return xs.length;", replace="return xs.reduce((a, b) => a + b, 0);"
    )
    (checked,) = check_edits(files, [fix])
    assert (checked.error, checked.edit.path) == ("", "src/sum.js")
    assert checked.arguments is not None
    assert checked.arguments["path"] == "src/sum.js"


def test_a_path_two_files_end_with_is_not_guessed() -> None:
    files = {"a/util.py": "x = 1\n", "b/util.py": "x = 1\n"}
    (checked,) = check_edits(files, [edit("util.py", search="x = 1", replace="x = 2")])
    assert "util.py is not one of the files shown" in checked.error


def test_edits_after_one_on_a_mount_point_path_see_its_change() -> None:
    first = edit("/workspace/calc.py", search="a - b", replace="a + b")
    second = edit("calc.py", search="a + b", replace="b + a")
    checked = check_edits(FILES, [first, second])
    assert [c.error for c in checked] == ["", ""]
