"""The lines a failing run points at, quoted for the next attempt (``failing_lines``)."""

from __future__ import annotations

from bdg_coder.domain import CodingTask
from bdg_coder.pipeline import prompts
from bdg_coder.pipeline.testing.failing_lines import MAX_LINES, failing_lines, quoted

TEST = (
    'import test from "node:test";\n'
    'import assert from "node:assert/strict";\n'
    'import { pluralize } from "../src/words.js";\n'
    "\n"
    'test("pluralize", () => {\n'
    '  assert.equal(pluralize(1, "apple", "apples"), "1 apple");\n'
    "});\n"
)
# What the tester's analysis said on the agent bench (js-pluralize, attempt 1), in short.
FEEDBACK = (
    "### 1. Assertions failed (1 test)\n\n"
    "- `test::pluralize` at `test/words.test.js:6`\n"
    "  expected `'1 apple'`, got `'apple'`\n"
    "      at TestContext.<anonymous> (file:///workspace/test/words.test.js:6:10)\n"
)


def test_the_failing_assertion_is_quoted_once_from_the_file_as_it_is() -> None:
    files = {"test/words.test.js": TEST}
    assert failing_lines(FEEDBACK, files) == [
        ("test/words.test.js", 6, 'assert.equal(pluralize(1, "apple", "apples"), "1 apple");')
    ]
    assert quoted(FEEDBACK, files) == (
        "The lines the failures point at:\n"
        '- `test/words.test.js:6`: `assert.equal(pluralize(1, "apple", "apples"), "1 apple");`'
    )


def test_python_tracebacks_count_and_places_outside_the_files_or_their_lines_do_not() -> None:
    files = {"lru.py": "class LRU:\n    def get(self, key):\n        return self.items[key]\n"}
    feedback = (
        'File "/workspace/lru.py", line 3, in get\n'
        "KeyError at `lru.py:99` and `other.py:1` and `lru.py:0`\n"
        'File "/usr/lib/python3.11/site-packages/x.py", line 3\n'
    )
    assert failing_lines(feedback, files) == [("lru.py", 3, "return self.items[key]")]
    assert quoted("no place at all", files) == ""


def test_at_most_a_few_lines_are_quoted() -> None:
    many = "".join(f"x{i} = {i}\n" for i in range(1, 30))
    feedback = " ".join(f"`m.py:{i}`" for i in range(1, 30))
    assert len(failing_lines(feedback, {"m.py": many})) == MAX_LINES


def test_a_retry_s_prompt_quotes_them_after_why_it_was_not_accepted() -> None:
    task = CodingTask(goal="pluralize", plan_markdown="", attempt=2, feedback=FEEDBACK)
    failing = quoted(FEEDBACK, {"test/words.test.js": TEST})
    asked = prompts.rewrite_prompt(task, "src/words.js", "", "pluralize", False, failing)
    assert asked.index("This is attempt 2.") < asked.index("The lines the failures point at:")
    assert asked.index("The lines the failures point at:") < asked.index("Write the complete")
    first = CodingTask(goal="pluralize", plan_markdown="", attempt=1)
    assert "failures point at" not in prompts.rewrite_prompt(
        first, "src/words.js", "", "pluralize", False, failing
    )


def test_the_test_line_a_failure_was_called_from_is_quoted_with_its_input() -> None:
    """js-hex-color-strict (1.5B, session 17): the analysis named only the throw in the code;
    the test's line, now named beside it, shows which input reached it."""
    color = (
        "export function parseHexColor(text) {\n"
        + "  x;\n" * 9
        + "  throw new SyntaxError('bad');\n}\n"
    )
    test = (
        "import t from 'node:test';\n" * 5
        + 't("p", () => assert.deepEqual(parseHexColor("#ff8800"), {}));\n'
    )
    feedback = "- `test::parses #rrggbb` at `src/color.js:11`, called from `test/color.test.js:6`\n"
    found = failing_lines(feedback, {"src/color.js": color, "test/color.test.js": test})
    assert [(path, number) for path, number, _ in found] == [
        ("src/color.js", 11),
        ("test/color.test.js", 6),
    ]
    assert 'parseHexColor("#ff8800")' in found[1][2]
