"""The goal's own examples as a test (pipeline/goal_examples.py): what reads as an example, what
does not, and the test each language gets."""

from __future__ import annotations

import pytest

from bdg_coder.pipeline.testing.goal_examples import Example, examples, goal_test

pytestmark = pytest.mark.timeout(10)

JS_FILE = 'import test from "node:test";\nimport assert from "node:assert/strict";\n'


def test_an_explicit_call_with_a_literal_result_is_an_example() -> None:
    goal = 'Add pluralize(n, singular, plural) (pluralize(2, "child", "children") is "2 children").'
    assert examples(goal, ["pluralize"]) == [
        Example('pluralize(2, "child", "children")', '"2 children"')
    ]
    indexed = 'word_counts("The cat saw THE dog", ignore_case=True)["the"] == 2'
    assert examples(f"Fix word_counts(): {indexed}.", ["word_counts"]) == [
        Example('word_counts("The cat saw THE dog", ignore_case=True)["the"]', "2")
    ]
    # arrows, returns, arrays, objects, booleans; a mention with no argument is none
    goal = 'f(1) -> [1, "a"]; f(2) returns {a: [1]}; f(3) → true; f() is broken; f(4) is big'
    assert [e.expected for e in examples(goal, ["f"])] == ['[1, "a"]', "{a: [1]}", "true"]


def test_bare_strings_are_examples_only_when_the_goal_calls_one_function() -> None:
    goal = 'Improve slugify(): "Crème Brûlée" -> "creme-brulee", "Tom & Jerry" -> "tom-jerry".'
    assert examples(goal, ["slugify"]) == [
        Example('slugify("Crème Brûlée")', '"creme-brulee"'),
        Example('slugify("Tom & Jerry")', '"tom-jerry"'),
    ]
    two = 'capitalize() throws, so titleCase() fails ("hello  world" -> "Hello  World").'
    assert examples(two, ["capitalize"]) == []  # which function? not guessed


def test_two_inputs_said_to_be_the_same_must_give_equal_results() -> None:
    goal = 'Make parseHexColor(text) accept the short form ("#f80" is the same as "#ff8800").'
    same = Example('parseHexColor("#f80")', 'parseHexColor("#ff8800")')
    assert examples(goal, ["parseHexColor"]) == [same]
    assert examples('f(x): "a" means the same as "b"', ["f"]) == [Example('f("a")', 'f("b")')]
    assert goal_test("t.test.js", JS_FILE, goal, ["parseHexColor"]) == (
        'test("the goal\'s examples", () => {\n'
        '  assert.deepStrictEqual(parseHexColor("#f80"), parseHexColor("#ff8800"));\n'
        "});\n"
    )
    assert goal_test("tests/test_c.py", "", goal, ["parseHexColor"]) == (
        "def test_the_goal_s_examples():\n"
        '    assert parseHexColor("#f80") == parseHexColor("#ff8800")\n'
    )
    # "equals" reads as a result, never as a second input; two functions: which one? not guessed
    assert examples('f(x): "90s" equals "90"', ["f"]) == []
    two = 'f() and g(): "a" is the same as "b"'
    assert examples(two, ["f"]) == []


def test_only_the_written_functions_and_at_most_eight() -> None:
    assert examples("g(1) is 2", ["f"]) == []
    many = " ".join(f"f({n}) is {n * 2};" for n in range(20))
    assert len(examples(many, ["f"])) == 8
    assert examples("f(1) is 2, f(1) is 2", ["f"]) == [Example("f(1)", "2")]  # once


def test_python_gets_one_test_function_with_python_literals() -> None:
    test = goal_test("tests/test_x.py", "", "f(1) is true; f(2) is null", ["f"])
    assert test == (
        "def test_the_goal_s_examples():\n    assert f(1) == True\n    assert f(2) == None\n"
    )
    assert goal_test("tests/test_x.py", "", "f(1, {a: 1}) is 2", ["f"]) == ""  # not Python


def test_javascript_gets_a_test_call_when_the_file_binds_test_and_assert() -> None:
    test = goal_test("t.test.js", JS_FILE, 'q("a=b") -> {a: "b"}; q("") is None', ["q"])
    assert test == (
        'test("the goal\'s examples", () => {\n'
        '  assert.deepStrictEqual({ ...q("a=b") }, {a: "b"});\n'
        '  assert.deepStrictEqual(q(""), null);\n'
        "});\n"
    )
    assert goal_test("t.test.js", 'const assert = require("assert");\n', "q(1) is 2", ["q"]) == ""
    assert goal_test("t.test.js", JS_FILE, "no example here", ["q"]) == ""
