"""What a resample is shown of a failing test run: the failures alone, on the runners' real
output (node 20's TAP for js-clamp-fix's visible tests, pytest -q for py-config-port's), and how
two runs compare."""

from __future__ import annotations

from bdg_coder.domain import CodingTask
from bdg_coder.pipeline import prompts
from bdg_coder.pipeline.rewrite_run import _score
from bdg_coder.pipeline.testing.failing_lines import quoted
from bdg_coder.pipeline.testing.test_failures import MAX_CHARS, failures_of
from bdg_coder.selecting.ranking import TestsRun

TAP = """TAP version 13
# Subtest: keeps values inside the range
ok 1 - keeps values inside the range
  ---
  duration_ms: 1.894851
  ...
# Subtest: clamps values above max
not ok 4 - clamps values above max
  ---
  duration_ms: 2.273063
  location: '/workspace/test/clamp.test.js:17:1'
  failureType: 'testCodeFailure'
  error: |-
    Expected values to be strictly equal:

    0 !== 10

  code: 'ERR_ASSERTION'
  name: 'AssertionError'
  expected: 10
  actual: 0
  operator: 'strictEqual'
  stack: |-
    TestContext.<anonymous> (file:///workspace/test/clamp.test.js:18:10)
    Test.runInAsyncScope (node:async_hooks:206:9)
    Test.run (node:internal/test_runner/test:796:25)
    async Test.processPendingSubtests (node:internal/test_runner/test:526:7)
  ...
1..4
# tests 4
# pass 3
# fail 1
"""

PYTEST = """F                                                                        [100%]
=================================== FAILURES ===================================
______________________________ test_host_default _______________________________

    def test_host_default() -> None:
        os.environ.pop("HOST", None)
>       assert load()["host"] == "127.0.0.1"
               ^^^^^^^^^^^^^^
E       TypeError: 'NoneType' object is not subscriptable

tests/test_config.py:8: TypeError
=========================== short test summary info ============================
FAILED tests/test_config.py::test_host_default - TypeError: 'NoneType' object...
1 failed in 1.24s
"""


def test_tap_output_is_cut_to_the_failing_tests_block_without_the_runner_s_frames() -> None:
    assert failures_of(TAP) == (
        "not ok 4 - clamps values above max\n"
        "  location: '/workspace/test/clamp.test.js:17:1'\n"
        "  error: |-\n"
        "    Expected values to be strictly equal:\n"
        "    0 !== 10\n"
        "  name: 'AssertionError'\n"
        "  expected: 10\n"
        "  actual: 0\n"
        "  stack: |-\n"
        "    TestContext.<anonymous> (file:///workspace/test/clamp.test.js:18:10)"
    )


def test_pytest_output_is_kept_from_its_failures_on_without_separators() -> None:
    said = failures_of("....\n" + PYTEST)
    assert said.startswith("FAILURES\ntest_host_default\n    def test_host_default() -> None:")
    assert "___" not in said
    assert "===" not in said
    assert '>       assert load()["host"] == "127.0.0.1"' in said
    assert said.endswith("short test summary info\nFAILED tests/test_config.py::test_host_default"
                         " - TypeError: 'NoneType' object...\n1 failed in 1.24s")  # fmt: skip


def test_output_that_names_no_failing_test_gives_nothing() -> None:
    assert failures_of("Traceback (most recent call last):\nAssertionError: 6\n") == ""
    assert failures_of("ok 1 - fine\n# pass 1\n") == ""


def test_a_long_output_keeps_its_end() -> None:
    many = "".join(f"not ok {i} - case {i}\n  error: boom {i}\n  ...\n" for i in range(200))
    said = failures_of(many)
    assert len(said) == MAX_CHARS
    assert said.endswith("  error: boom 199")


def test_a_resample_s_prompt_says_the_failures_and_quotes_their_lines() -> None:
    task = CodingTask(goal="clamp to max", plan_markdown="", attempt=1)
    test_file = "\n" * 17 + "  assert.equal(clamp(20, 0, 10), 10);\n"
    said = failures_of(TAP)
    failing = quoted(said, {"test/clamp.test.js": test_file})
    before = "export function clamp(v, lo, hi) {\n  return v;\n}"
    asked = prompts.rewrite_prompt(
        task, "src/clamp.js", "...", "clamp", False, failing, (), before, said
    )
    assert "`clamp` before this job changed it:\n```\n" + before in asked
    assert f"The tests were run on the file above, and these fail:\n```\n{said}\n```" in asked
    assert "- `test/clamp.test.js:18`: `assert.equal(clamp(20, 0, 10), 10);`" in asked
    assert "This is attempt" not in asked
    assert asked.index("these fail") < asked.index("failures point at") < asked.index("Write")


def test_runs_compare_by_all_passing_then_more_passing_then_fewer_failing() -> None:
    two_of_four = TestsRun(False, "# pass 2\n# fail 2\n")
    three_of_four = TestsRun(False, "# pass 3\n# fail 1\n")
    # A module that no longer loads: one failure, nothing passing.
    broken = TestsRun(False, "# pass 0\n# fail 1\n")
    passing = TestsRun(True, "# pass 4\n# fail 0\n")
    ranked = sorted([broken, passing, two_of_four, three_of_four], key=_score, reverse=True)
    assert ranked == [passing, three_of_four, two_of_four, broken]
    assert _score("the tests could not be run") < _score(broken)
