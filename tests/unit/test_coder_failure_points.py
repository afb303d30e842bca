"""Where each failing test stopped, on the runners' real output (pytest -q, node 20's TAP,
unittest), and a resample kept when its failures stop later though as many tests fail: the
1.5B's refactor (session 23) put post_url()'s "/posts/" back and the same test then failed
one line on, at tag_url()."""

from __future__ import annotations

from bdg_coder.pipeline.rewrite_run import _better
from bdg_coder.pipeline.testing.failure_points import failure_points, moved_on
from bdg_coder.selecting.ranking import TestsRun
from bdg_contracts.source_kinds import is_test_path


def pytest_output(line: int, source: str) -> str:
    return f"""F.                                                                       [100%]
=================================== FAILURES ===================================
__________________________________ test_urls ___________________________________

    def test_urls():
        assert post_url("a") == "/posts/a"
>       assert {source}
E       AssertionError: assert '/b' == '/tags/b'

tests/test_urls.py:{line}: AssertionError
=========================== short test summary info ============================
FAILED tests/test_urls.py::test_urls - AssertionError: assert '/b' == '/tags/b'
1 failed, 1 passed in 0.83s
"""


def tap_output(line: int) -> str:
    return f"""TAP version 13
# Subtest: urls
not ok 1 - urls
  ---
  duration_ms: 2.973551
  location: '/workspace/test/urls.test.js:4:1'
  failureType: 'testCodeFailure'
  error: |-
    Expected values to be strictly equal:
  code: 'ERR_ASSERTION'
  stack: |-
    TestContext.<anonymous> (file:///workspace/test/urls.test.js:{line}:10)
    Test.runInAsyncScope (node:async_hooks:206:9)
    Test.run (node:internal/test_runner/test:796:25)
  ...
# Subtest: slugs
ok 2 - slugs
  ---
  duration_ms: 0.5
  ...
1..2
# tests 2
# pass 1
# fail 1
"""


UNITTEST = """======================================================================
FAIL: test_urls (test_u.UrlTest.test_urls)
----------------------------------------------------------------------
Traceback (most recent call last):
  File "/workspace/tests/test_u.py", line 7, in test_urls
    self.assertEqual(post_url("a"), "/posts/a")
  File "/workspace/urls.py", line 2, in post_url
    return "/" + s
AssertionError: '/a' != '/posts/a'

----------------------------------------------------------------------
Ran 1 test in 0.001s

FAILED (failures=1)
"""


def test_pytest_s_failure_stops_at_its_assertion_line_of_the_test_file() -> None:
    said = pytest_output(6, "tag_url('b') == '/tags/b'")
    assert failure_points(said, is_test_path) == [("tests/test_urls.py", 6)]


def test_tap_s_failure_stops_at_its_stack_s_line_not_the_test_s_own() -> None:
    # location: is where the test is declared (line 4), the stack where it failed
    assert failure_points(tap_output(5), is_test_path) == [("test/urls.test.js", 5)]


def test_unittest_s_failure_stops_in_the_test_file_not_in_the_code_it_called() -> None:
    assert failure_points(UNITTEST, is_test_path) == [("tests/test_u.py", 7)]


def test_one_point_per_failing_test_sorted() -> None:
    two = (
        "not ok 1 - b\n  stack: |-\n    x (file:///workspace/test/a.test.js:30:1)\n  ...\n"
        "not ok 2 - a\n  stack: |-\n    x (file:///workspace/test/a.test.js:12:1)\n  ...\n"
        "1..2\n"
    )
    assert failure_points(two, is_test_path) == [("test/a.test.js", 12), ("test/a.test.js", 30)]
    assert failure_points("ok 1 - fine\n1..1\n# pass 1\n", is_test_path) == []


def test_failures_moved_on_only_when_none_stops_earlier_and_one_later() -> None:
    at5, at6 = [("t.py", 5)], [("t.py", 6)]
    assert moved_on(at5, at6)
    assert not moved_on(at6, at5)
    assert not moved_on(at5, at5)
    assert not moved_on([], [])
    assert not moved_on(at5, [("t.py", 6), ("t.py", 9)])  # another test fails now
    assert not moved_on(at5, [("u.py", 6)])  # another file's test
    assert moved_on([("t.py", 5), ("t.py", 9)], [("t.py", 5), ("t.py", 11)])
    assert not moved_on([("t.py", 5), ("t.py", 9)], [("t.py", 4), ("t.py", 11)])


def test_a_run_whose_failure_moved_on_is_better_though_as_many_tests_fail() -> None:
    first = TestsRun(False, pytest_output(5, 'post_url("a") == "/posts/a"'))
    step = TestsRun(False, pytest_output(6, 'tag_url("b") == "/tags/b"'))
    assert _better(step, first)
    assert not _better(first, step)
    assert not _better(first, first)
    assert _better(TestsRun(False, tap_output(6)), TestsRun(False, tap_output(5)))
    # the score still comes first: a passing run beats one that failed later
    assert _better(TestsRun(True, "2 passed in 0.1s\n"), step)
    assert not _better("the tests could not be run", first)
