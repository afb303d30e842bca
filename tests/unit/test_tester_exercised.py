"""A passing run proves nothing about a change none of whose code ran under the tests."""

from __future__ import annotations

import pytest

from bdg_tester.analysis.exercised import (
    added_paths,
    changed_code,
    changed_paths,
    ran_files,
    unexercised,
)
from bdg_tester.analysis.model import RunOutput
from bdg_tester.analysis.verdict import after_run, combine
from bdg_tester.detection.detect import detect_projects
from bdg_tester.domain import TestRun
from bdg_tester.results.coverage import CoverageReport, FileCoverage, parse_coverage_py_json
from bdg_tester.results.outcomes import Status, TestCase, TestReport

pytestmark = pytest.mark.timeout(10)
STRAY = (
    "--- /dev/null\n+++ b/helpers/mul_fix.py\n@@ -0,0 +1,2 @@\n+def mul(a, b):\n+    return a * b\n"
)
FIX = "--- a/calc/ops.py\n+++ b/calc/ops.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
TEST = "--- /dev/null\n+++ b/tests/test_new.py\n@@ -0,0 +1 @@\n+def test_x(): pass\n"
GONE = "--- a/old.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x = 1\n"
# coverage.py's JSON as the tester's runs write it (trimmed to what is read).
COVERAGE = """{"totals": {"percent_covered": 62.5, "num_statements": 8, "covered_lines": 5},
 "files": {"calc/__init__.py": {"summary": {"percent_covered": 100.0, "num_statements": 0,
                                             "covered_lines": 0}},
           "calc/ops.py": {"summary": {"percent_covered": 62.5, "num_statements": 8,
                                        "covered_lines": 5}}}}"""


def passing_run(*patches: str, coverage: CoverageReport | None = None) -> TestRun:
    project = detect_projects({"pyproject.toml": "[project]\nname='c'\n", "tests/test_c.py": ""})
    report = TestReport(tuple(TestCase(f"t{i}", "s", Status.passed) for i in range(3)))
    outcome = after_run(project[0], RunOutput(report, exit_code=0), coverage)
    return combine([outcome], (), changed_paths(patches), added_paths(patches))


def test_a_stray_file_nothing_imports_fails_the_run_and_says_why() -> None:
    run = passing_run(STRAY, coverage=parse_coverage_py_json(COVERAGE))
    assert not run.passed
    assert run.unexercised == ("helpers/mul_fix.py",)
    assert run.why_failed.startswith("## Test analysis\n\nThe change is not exercised by any test")


def test_a_change_the_tests_ran_passes() -> None:
    assert passing_run(FIX, coverage=parse_coverage_py_json(COVERAGE)).passed


def test_a_new_python_module_the_tests_never_load_fails_even_beside_code_that_ran() -> None:
    """py-refactor-slugify on the agent bench: the function copied beside its callers (which
    ran), the new module it was to move to holding a self-import nothing loads."""
    both = passing_run(FIX, STRAY, coverage=parse_coverage_py_json(COVERAGE))
    assert not both.passed
    assert both.unexercised == ("helpers/mul_fix.py",)
    assert both.why_failed.startswith(
        "## Test analysis\n\nThe change adds code no test runs: the tests passed, but they "
        "never loaded `helpers/mul_fix.py`."
    )
    ran = frozenset({"calc/ops.py", "helpers/mul_fix.py"})
    assert unexercised(["calc/ops.py", "helpers/mul_fix.py"], ran, ["helpers/mul_fix.py"]) == ()


def test_new_javascript_files_and_python_entry_points_are_not_judged_by_loading() -> None:
    ran = frozenset({"calc/ops.py"})
    changed = ["calc/ops.py", "public/sw.js", "setup.py", "pkg/__main__.py"]
    assert unexercised(changed, ran, ["public/sw.js", "setup.py", "pkg/__main__.py"]) == ()


def test_the_files_a_job_adds_are_those_no_later_patch_deletes() -> None:
    undo = "--- a/helpers/mul_fix.py\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-def mul(a, b):\n-    x\n"
    assert added_paths([STRAY, FIX, TEST]) == ("helpers/mul_fix.py", "tests/test_new.py")
    assert added_paths([STRAY, FIX, undo]) == ()


def test_tests_only_deletions_or_no_coverage_are_not_judged() -> None:
    covered = parse_coverage_py_json(COVERAGE)
    assert passing_run(TEST, coverage=covered).passed
    assert passing_run(GONE, coverage=covered).passed
    assert passing_run(STRAY, coverage=None).passed


def test_a_file_listed_at_zero_lines_did_not_run_and_subprojects_are_prefixed() -> None:
    report = CoverageReport(
        50.0, 1, 2, (FileCoverage("a.py", 50.0, 1, 2), FileCoverage("b.py", 0.0, 0, 2))
    )
    ran = ran_files([("api", report)])
    assert ran == frozenset({"api/a.py"})
    assert unexercised(["api/b.py"], ran) == ("api/b.py",)
    assert unexercised(["api/a.py", "api/b.py"], ran) == ()
    assert ran_files([]) is None


def test_what_counts_as_code() -> None:
    paths = ["src/app.py", "tests/test_app.py", "web/x.test.js", "web/x.js", "README.md",
             "conftest.py", "src/app_test.py", "src/app.py"]  # fmt: skip
    assert changed_code(paths) == ("src/app.py", "web/x.js")
    assert changed_paths([STRAY, FIX, GONE, FIX]) == ("helpers/mul_fix.py", "calc/ops.py")
