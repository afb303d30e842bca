"""The goal's stated bad inputs as a test (pipeline/goal_errors.py): what reads as a list of
inputs to refuse, what does not, and the test each language gets."""

from __future__ import annotations

import pytest

from bdg_coder.pipeline.testing.goal_errors import (
    BadInput,
    bad_inputs,
    javascript_test,
    python_test,
    takes_one_argument,
)
from bdg_coder.pipeline.testing.goal_examples import goal_test

pytestmark = pytest.mark.timeout(10)

JS_FILE = 'import test from "node:test";\nimport assert from "node:assert/strict";\n'
GOAL = (
    'Make parse_bool() in flags.py strict: "yes" -> True and "no" -> False; it raises '
    'ValueError for an empty string and for any other word (such as "maybe", "2" or "Y es").'
)


def test_a_listed_bad_input_is_a_call_with_the_error_named_before_it() -> None:
    assert bad_inputs(GOAL, ["parse_bool"]) == [
        BadInput('parse_bool("maybe")', "ValueError"),
        BadInput('parse_bool("2")', "ValueError"),
        BadInput('parse_bool("Y es")', "ValueError"),
    ]


def test_the_nearest_error_before_the_list_and_single_quotes() -> None:
    goal = (
        "Make toColor(text) strict: it throws a TypeError when text is not a string, and a "
        "SyntaxError whose message names the text for anything else (e.g. '', '#12', 'red' or "
        "'#1234567')."
    )
    assert bad_inputs(goal, ["toColor"]) == [
        BadInput("toColor('')", "SyntaxError"),
        BadInput("toColor('#12')", "SyntaxError"),
        BadInput("toColor('red')", "SyntaxError"),
        BadInput("toColor('#1234567')", "SyntaxError"),
    ]


def test_nothing_is_guessed() -> None:
    # no error named, no raise/throw verb, a list that is not of strings
    assert bad_inputs('f() returns 0 for inputs such as "a" or "b".', ["f"]) == []
    assert bad_inputs('f() is for ValueError texts such as "a" or "b".', ["f"]) == []
    assert bad_inputs("f() raises ValueError for numbers such as 10 or 11.", ["f"]) == []
    # examples of the message, not of inputs
    message = (
        'f() raises ValueError whose message names the missing keys, e.g. "missing: a, b". '
        "f() raises ValueError naming the line and the value, e.g. \"line 3: 'x'\"."
    )
    assert bad_inputs(message, ["f"]) == []
    # the error named in another sentence: not this list's
    assert bad_inputs('f() raises ValueError. Inputs such as "a" work.', ["f"]) == []
    # two one-argument functions called: which one? and one not written with one argument
    two = 'f() and g() raise ValueError for words such as "x".'
    assert bad_inputs(two, ["f", "g"]) == []
    assert bad_inputs(two, ["f"]) == [BadInput('f("x")', "ValueError")]
    assert bad_inputs(two, []) == []


def test_a_decimal_point_or_e_g_ends_no_sentence() -> None:
    goal = 'f() raises ValueError for text that is no whole number, e.g. "8.5", "1e3" or "x".'
    assert [b.call for b in bad_inputs(goal, ["f"])] == ['f("8.5")', 'f("1e3")', 'f("x")']


def test_at_most_eight_and_each_once() -> None:
    listed = ", ".join(f'"{n}"' for n in range(12))
    assert len(bad_inputs(f"f() raises ValueError on words such as {listed}.", ["f"])) == 8
    twice = 'f() raises ValueError for words such as "", "x" or "x".'
    assert [b.call for b in bad_inputs(twice, ["f"])] == ['f("")', 'f("x")']


def test_today_s_bug_is_no_bad_input() -> None:
    bug = 'f() throws a TypeError for texts such as "" or " "; make it return "" instead.'
    assert bad_inputs(bug, ["f"]) == []
    assert bad_inputs("f() raises ValueError for an empty string.", ["f"]) == []  # no list


@pytest.mark.parametrize(
    ("path", "definition", "one"),
    [
        ("a.py", "def f(text):\n    return text\n", True),
        ("a.py", "def f(text, strict=True, *, base=10):\n    pass\n", True),
        ("a.py", "def f(a, b):\n    pass\n", False),
        ("a.py", "def f(text, *, base):\n    pass\n", False),
        ("a.py", "def f():\n    pass\n", False),
        ("a.py", "class F:\n    pass\n", False),
        ("a.js", "export function parse(text) {\n  return 1;\n}", True),
        ("a.js", "function parse(text, radix = 10) {}", True),
        ("a.js", "export const parse = (text) => 1;", True),
        ("a.js", "const parse = async text => 1;", True),
        ("a.js", "const parse = function (a, b) { return a; };", False),
        ("a.js", "function parse(...parts) {}", False),
        ("a.js", "class Parser {}", False),
    ],
)
def test_one_required_argument(path: str, definition: str, one: bool) -> None:
    assert takes_one_argument(path, definition) is one


def test_python_gets_a_raises_block_per_input_with_a_known_error() -> None:
    items = [BadInput('f("a")', "ValueError"), BadInput('f("b")', "RangeError")]
    assert python_test(items) == (
        'def test_the_goal_s_bad_inputs():\n    with pytest.raises(ValueError):\n        f("a")\n'
    )
    assert "EmptyError" in python_test([BadInput("f('')", "EmptyError")], ["EmptyError"])
    assert python_test([BadInput("f('')", "EmptyError")]) == ""  # the file cannot reach it


def test_javascript_gets_assert_throws_with_the_class() -> None:
    items = [BadInput("g('')", "RangeError"), BadInput("g('x')", "ValueError")]
    assert javascript_test(items) == (
        "test(\"the goal's bad inputs\", () => {\n  assert.throws(() => g(''), RangeError);\n});\n"
    )


def test_goal_test_puts_the_examples_and_the_bad_inputs_side_by_side() -> None:
    test = goal_test("tests/test_flags.py", "", GOAL, ["parse_bool"], ["parse_bool"])
    assert test.startswith('def test_the_goal_s_examples():\n    assert parse_bool("yes")')
    assert "\n\n\ndef test_the_goal_s_bad_inputs():\n    with pytest.raises(ValueError):\n" in test
    compile(test, "test_flags.py", "exec")
    # not written with one argument: the examples alone
    alone = goal_test("tests/test_flags.py", "", GOAL, ["parse_bool"])
    assert "bad_inputs" not in alone
    assert "examples" in alone
    js_goal = GOAL.replace("parse_bool", "parseBool")
    js = goal_test("t.test.js", JS_FILE, js_goal, ["parseBool"], ["parseBool"])
    assert "assert.throws" not in js  # ValueError is no JavaScript class: examples alone
    assert js.count("test(") == 1
    ranged = goal_test(
        "t.test.js",
        JS_FILE,
        js_goal.replace("ValueError", "RangeError"),
        ["parseBool"],
        ["parseBool"],
    )
    assert '\n  assert.throws(() => parseBool("maybe"), RangeError);\n' in ranged
    assert ranged.count("test(") == 2
