"""The plan a draft becomes: checkboxes kept, a looping answer's repeats kept once (recorded
from the 0.5B model on the agent bench's dev task js-capitalize-empty)."""

from __future__ import annotations

from bdg_planner.domain import as_checklist

LOOPING = (
    "- [ ] Create a new file named `test.js` in the `src` directory.\n"
    "- [ ] Add the following code to the `test.js` file:\n"
    "  ```javascript\n"
    '  assert.strictEqual(capitalize(""), "");\n'
    '  assert.strictEqual(titleCase("hello  world"), "Hello  World");\n'
    + '  assert.strictEqual(titleCase("hello world  "), "Hello World");\n' * 27
    + '  assert.strictEqual(titleCase("hello world'  # cut at the token cap
)


def test_a_looping_answer_keeps_each_line_once() -> None:
    plan = as_checklist(LOOPING)
    assert plan.count('titleCase("hello world  ")') == 1
    assert plan.splitlines() == [
        "- [ ] Create a new file named `test.js` in the `src` directory.",
        "- [ ] Add the following code to the `test.js` file:",
        "  ```javascript",
        '  assert.strictEqual(capitalize(""), "");',
        '  assert.strictEqual(titleCase("hello  world"), "Hello  World");',
        '  assert.strictEqual(titleCase("hello world  "), "Hello World");',
        '  assert.strictEqual(titleCase("hello world',
    ]


def test_a_clean_plan_is_unchanged() -> None:
    # Unchanged plans keep every recorded job's later prompts (critic, coder) the same.
    plan = "- [ ] Fix mul in calc.py\n- [ ] Run the tests\n"
    assert as_checklist(plan) == plan
    code = "- [ ] Add:\n  if x:\n    return 1\n  if y:\n    return 1\n"
    assert as_checklist(code) == code  # repeated, but not back to back


def test_lines_that_are_not_checkboxes_become_checkboxes_once() -> None:
    assert as_checklist("1. Fix mul\n1. Fix mul\n2. Test it") == "- [ ] Fix mul\n- [ ] Test it\n"
