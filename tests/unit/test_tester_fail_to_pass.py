"""Fail-to-pass: a behaviour change needs a test that fails on the base code and passes on it."""

from __future__ import annotations

import pytest

from bdg_cli.render import summary as summary_of
from bdg_contracts import events as ev
from bdg_contracts.events import FailToPass
from bdg_contracts.patch_files import file_sections
from bdg_contracts.states import JobState
from bdg_jobs.tenants import TenantPolicies, TenantPolicy
from bdg_sandbox.client import SandboxClient
from bdg_tester.analysis.analyze import analyze
from bdg_tester.analysis.fail_to_pass import (
    ProjectRun,
    before_the_check,
    changed_tests,
    flipped,
    judge,
    needs_proof,
    patches_of_tests,
    summary,
    with_check,
)
from bdg_tester.analysis.model import Phase, RunOutput
from bdg_tester.analysis.verdict import after_run, install_failed
from bdg_tester.detection.detect import detect_projects
from bdg_tester.domain import TestRun
from bdg_tester.results.outcomes import Status, TestCase, TestReport
from bdg_tester.sandbox.runner import SandboxTestRunner
from bdg_tester.settings import TesterSettings
from tests.unit.jobs import CAUSE, job_in

pytestmark = pytest.mark.timeout(10)

FIX = "--- a/calc/ops.py\n+++ b/calc/ops.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"
NEW_TEST = "--- /dev/null\n+++ b/tests/test_new.py\n@@ -0,0 +1 @@\n+def test_x(): pass\n"
# git's own format: a header per file, one file with a removed line that reads "-- x" and an
# added one that reads "++ y" (they must not be taken for a new file's headers).
GIT = (
    "diff --git a/src/app.py b/src/app.py\nindex 1..2 100644\n--- a/src/app.py\n"
    "+++ b/src/app.py\n@@ -1,2 +1,2 @@\n--- x\n+++ y\n keep\n"
    "diff --git a/tests/test_app.py b/tests/test_app.py\nnew file mode 100644\n"
    "--- /dev/null\n+++ b/tests/test_app.py\n@@ -0,0 +1,2 @@\n+def test_a():\n+    pass\n"
    "\\ No newline at end of file\n"
    "diff --git a/conftest.py b/conftest.py\ndeleted file mode 100644\n--- a/conftest.py\n"
    "+++ /dev/null\n@@ -1 +0,0 @@\n-import sys\n"
)


def case(name: str, status: Status) -> TestCase:
    return TestCase(name, "tests.test_app", status)


def project_run(*cases: TestCase, ok: bool = True, failure: str | None = None) -> ProjectRun:
    return ProjectRun(".", cases, ok, failure, "")  # type: ignore[arg-type]


def test_a_diff_is_cut_per_file_by_its_hunks_line_counts() -> None:
    sections = file_sections(GIT)
    assert [path for path, _ in sections] == ["src/app.py", "tests/test_app.py", "conftest.py"]
    assert "".join(text for _, text in sections) == GIT
    assert sections[0][1].endswith("--- x\n+++ y\n keep\n")


def test_plain_diffs_without_git_headers_are_cut_too() -> None:
    sections = file_sections(FIX + NEW_TEST)
    assert sections == [("calc/ops.py", FIX), ("tests/test_new.py", NEW_TEST)]


def test_only_the_test_files_of_the_change_go_to_the_base() -> None:
    kept = patches_of_tests([FIX, GIT, FIX + NEW_TEST])
    assert len(kept) == 2  # the first patch holds no test file
    assert "src/app.py" not in kept[0]
    assert "tests/test_app.py" in kept[0]
    assert "conftest.py" in kept[0]  # test support goes with the tests
    assert kept[1] == NEW_TEST


def test_test_files_are_the_ones_that_hold_tests() -> None:
    paths = ["src/app.py", "tests/test_app.py", "conftest.py", "tests/data.json", "a.test.js"]
    assert changed_tests(paths) == ("tests/test_app.py", "a.test.js")
    assert changed_tests(["pkg/calc_test.go", "README.md"]) == ("pkg/calc_test.go",)


def test_a_change_to_source_code_is_a_behaviour_change_unless_the_goal_is_a_refactor() -> None:
    assert "calc/ops.py" in needs_proof("fix mul", ["calc/ops.py"])
    assert needs_proof("fix mul", ["tests/test_calc.py", "README.md"]) == ""
    assert needs_proof("Refactor the parser into two modules", ["calc/ops.py"]) == ""
    assert needs_proof("rename `mul` to `times`", ["calc/ops.py"]) == ""
    assert needs_proof("clean up the imports", ["calc/ops.py"]) == ""


def test_what_needs_no_base_run() -> None:
    docs = before_the_check("document it", ["README.md"])
    assert docs is not None
    assert docs.verdict == "not_required"
    assert docs.note == "the change touches no source code"
    refactor = before_the_check("refactor calc", ["calc/ops.py"])
    assert refactor is not None
    assert refactor.verdict == "not_required"
    assert "'refactor'" in refactor.note
    assert before_the_check("fix mul", ["calc/ops.py"]) is None  # the project's tests may prove it
    assert before_the_check("fix mul", ["calc/ops.py", "tests/test_calc.py"]) is None


def test_a_test_that_failed_or_errored_on_the_base_and_passes_now_flipped() -> None:
    after = [
        project_run(case("a", Status.passed), case("b", Status.passed), case("c", Status.passed))
    ]
    base = project_run(case("a", Status.failed), case("b", Status.error), case("c", Status.passed))
    found = flipped(after, {".": base})
    assert [(f.test, f.before) for f in found] == [
        ("tests.test_app::a", "failed"),
        ("tests.test_app::b", "error"),
    ]


def test_tests_that_pass_on_the_base_too_prove_nothing() -> None:
    after = [project_run(case("a", Status.passed))]
    check = judge(["calc/ops.py", "tests/test_app.py"], after, {".": project_run(*after[0].cases)})
    assert check.verdict == "not_proven"
    assert check.tests == ()
    assert check.test_files == ("tests/test_app.py",)
    assert check.note.startswith("no test of the change fails without it")


def test_a_test_missing_from_a_base_run_that_went_wrong_did_not_run_there() -> None:
    # pytest reports a module it cannot import as one error, not per test
    collection = TestCase("tests.test_app", "", Status.error, message="collection failure")
    # a test of a file the change did not touch, which pytest did not run either
    other = TestCase("test_old", "tests.test_other", Status.passed, file="tests/test_other.py")
    after = [project_run(case("new", Status.passed), other)]
    check = judge(["a.py", "tests/test_app.py"], after, {".": project_run(collection, ok=False)})
    assert check.verdict == "proven"
    assert [(f.test, f.before) for f in check.tests] == [("tests.test_app::new", "not run")]
    assert "could not even be collected" in check.note


def test_a_test_missing_from_a_clean_base_run_proves_nothing() -> None:
    after = [project_run(case("new", Status.passed))]
    base = project_run(case("old", Status.passed))
    assert flipped(after, {".": base}) == []


@pytest.mark.parametrize("failure", ["crashed", "timed out", "install failed"])
def test_a_base_run_that_failed_as_a_whole_is_told_apart(failure: str) -> None:
    after = [project_run(case("a", Status.passed), case("b", Status.failed))]
    base = ProjectRun(".", (), False, failure, "exit 134")  # type: ignore[arg-type]
    check = judge(["a.py", "tests/test_app.py"], after, {".": base})
    assert check.verdict == "proven"
    assert [(f.test, f.before) for f in check.tests] == [("tests.test_app::a", failure)]
    assert f".: the run on the base {failure} (exit 134)" in check.note


def test_a_project_the_base_does_not_have_did_not_run_there() -> None:
    after = [ProjectRun("web", (case("a", Status.passed),))]
    assert [(f.test, f.before) for f in flipped(after, {})] == [
        ("web: tests.test_app::a", "not run")
    ]


def passing(results: ev.TestResults | None = None) -> TestRun:
    return TestRun(results or ev.TestResults(total=2, output_tail="2 passed"), True)


def test_a_refused_change_fails_the_run_with_the_reason_for_the_coder() -> None:
    check = FailToPass(verdict="not_proven", test_files=("tests/test_app.py",), note="no test")
    run = with_check(passing(), check)
    assert not run.passed
    assert run.unproven
    assert "no test of the change fails without it" in run.why_failed
    assert "`tests/test_app.py`" in run.why_failed
    assert run.results.fail_to_pass == check
    assert run.results.output_tail == "[bdg] fail-to-pass not proven: no test\n2 passed"
    untested = with_check(passing(), FailToPass(verdict="no_test", note="x"))
    assert not untested.passed
    assert "Add a test that shows the goal's behaviour" in untested.why_failed


@pytest.mark.parametrize("verdict", ["proven", "not_required", "inconclusive", "off"])
def test_other_verdicts_leave_a_pass_a_pass(verdict: str) -> None:
    run = with_check(passing(), FailToPass(verdict=verdict))  # type: ignore[arg-type]
    assert run.passed
    assert run.analysis == ""
    assert run.results.fail_to_pass is not None


def test_the_summary_names_the_tests_that_flipped() -> None:
    after = [project_run(*(case(f"t{i}", Status.passed) for i in range(7)))]
    base = project_run(*(case(f"t{i}", Status.failed) for i in range(7)))
    line = summary(judge(["a.py", "tests/test_app.py"], after, {".": base}))
    assert line.startswith("fail-to-pass proven: 7 test(s) fail on the base code")
    assert "tests.test_app::t0 (failed before)" in line
    assert line.endswith("+2 more")


def test_an_outcome_says_how_its_whole_run_failed() -> None:
    project = detect_projects({"pyproject.toml": "[project]\nname='c'\n", "tests/test_c.py": ""})[0]
    install = install_failed(project, RunOutput(exit_code=1, phase=Phase.install))
    assert install.as_run().failure == "install failed"
    timed = after_run(project, RunOutput(exit_code=137, timed_out=True, phase=Phase.test))
    assert timed.as_run().failure == "timed out"
    crashed = after_run(project, RunOutput(exit_code=2, stderr="Segmentation fault"))
    assert (crashed.as_run().failure, crashed.as_run().ok) == ("crashed", False)
    assert crashed.as_run().detail == analyze(crashed.run or RunOutput()).summary[:300]
    report = TestReport((case("a", Status.failed),))
    failing = after_run(project, RunOutput(report, exit_code=1))
    assert failing.as_run().failure is None  # tests ran: each one says how it went
    assert failing.as_run().cases == report.cases


def test_the_check_is_on_by_default_and_a_tenant_or_the_env_turns_it_off() -> None:
    client = SandboxClient("unix:///nowhere.sock")
    assert SandboxTestRunner(client).requires_failing_first("acme")
    off = TesterSettings(bdg_test_require_failing_first="off")
    assert not SandboxTestRunner(client, off).requires_failing_first("acme")
    policies = TenantPolicies(tenants={"acme": TenantPolicy(require_failing_first="on")})
    runner = SandboxTestRunner(client, off, policies=policies)
    assert runner.requires_failing_first("acme")
    assert not runner.requires_failing_first("beta")


def test_tests_are_placed_in_the_changes_files_by_file_or_suite() -> None:
    vitest = TestCase("adds", "src/sum.test.js", Status.passed)
    other = TestCase("old", "src/old.test.js", Status.passed)
    after = [ProjectRun("web", (vitest, other))]
    base = ProjectRun("web", (), False, "crashed", "")
    found = flipped(after, {"web": base}, ["web/src/sum.test.js"])
    assert [(f.test, f.before) for f in found] == [("web: src/sum.test.js::adds", "crashed")]
    by_file = TestCase("t", "x", Status.passed, file="tests/test_a.py")
    assert len(flipped([project_run(by_file)], {".": project_run(ok=False)}, ["tests/test_a.py"]))


def test_a_change_with_no_test_is_proven_by_a_project_test_it_fixes_else_refused() -> None:
    after = [project_run(case("mul", Status.passed), case("add", Status.passed))]
    fixed = judge(
        ["calc/ops.py"],
        after,
        {".": project_run(case("mul", Status.failed), case("add", Status.passed))},
    )
    assert fixed.verdict == "proven"
    assert [f.test for f in fixed.tests] == ["tests.test_app::mul"]
    untested = judge(["calc/ops.py"], after, {".": project_run(*after[0].cases)})
    assert untested.verdict == "no_test"
    assert "calc/ops.py" in untested.note
    assert "adds or changes no test" in untested.note


def test_the_event_line_says_what_the_check_found() -> None:
    job = job_in(JobState.testing)
    proven = FailToPass(verdict="proven", note="1 test(s) fail on the base code")
    job.pass_tests(CAUSE, ev.TestResults(total=3, fail_to_pass=proven))
    passed = job.collect()[-1]
    assert isinstance(passed, ev.TestsPassed)
    assert summary_of(passed).endswith("3/3 passed, 0 failed, fail-to-pass proven")
