"""Failure analysis for the coder, on the reports and output real runners produced."""

from __future__ import annotations

from pathlib import Path

import pytest

from bdg_tester.analysis.analyze import MAX_MARKDOWN, analyze
from bdg_tester.analysis.diagnosis import Cause
from bdg_tester.analysis.model import Analysis, Phase, RunOutput
from bdg_tester.results.locations import Frame
from bdg_tester.results.outcomes import Status, TestCase, TestReport
from bdg_tester.results.parse import (
    parse_cargo_test,
    parse_go_test_json,
    parse_jest_json,
    parse_junit_xml,
    parse_mocha_json,
)

pytestmark = pytest.mark.timeout(30)

DATA = Path(__file__).parent / "data" / "tester"


def read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def causes(analysis: Analysis) -> list[tuple[Cause, str, int]]:
    return [(g.cause, g.key, len(g.failures)) for g in analysis.groups]


def pytest_run() -> RunOutput:
    return RunOutput(
        report=parse_junit_xml(read("pytest_junit.xml"), root="/tmp/fx/py"),
        stdout=read("pytest_stdout.txt"),
        exit_code=1,
    )


def test_pytest_failures_grouped_most_fundamental_first() -> None:
    analysis = analyze(pytest_run())
    assert not analysis.ok
    assert analysis.code_problem
    assert analysis.summary == "5 of 9 tests failed (4 failed, 1 error; 2 passed, 2 skipped)."
    assert causes(analysis) == [
        (Cause.signature, "add", 1),
        (Cause.exception, "RuntimeError", 1),
        (Cause.exception, "ZeroDivisionError", 1),
        (Cause.assertion, "", 2),
    ]
    signature, setup, zero, assertions = analysis.groups
    assert "`add()` is called without 'b'" in signature.suggestion
    assert signature.failures[0].location == Frame("tests/test_ops.py", 30)
    assert "fixture" in setup.suggestion
    assert zero.failures[0].location == Frame("src/calc/ops.py", 6)  # the project's code
    assert "division by zero" in zero.suggestion
    mean = assertions.failures[0]
    assert (mean.test, mean.expected, mean.actual) == ("tests.test_ops::test_mean", "2", "1.5")
    assert "where 1.5 = mean([1, 2, 3])" in mean.message
    assert analysis.failed_tests == (
        "tests.test_ops.TestGroup::test_missing_arg",
        "tests.test_fixture::test_uses_db",
        "tests.test_ops::test_divide_by_zero",
        "tests.test_ops::test_mean",
        "tests.test_ops::test_add_param[2-2-5]",
    )


def test_markdown_names_tests_locations_values_and_fixes() -> None:
    text = analyze(pytest_run()).markdown
    assert text.startswith("## Test analysis\n\n5 of 9 tests failed")
    assert "### 1. Wrong call to `add` (1 test)" in text
    assert (
        "- `tests.test_ops::test_divide_by_zero` at `src/calc/ops.py:6`, "
        "called from `tests/test_ops.py:15`" in text
    )
    assert "- `tests.test_ops::test_mean` at `tests/test_ops.py:11`\n" in text
    assert "expected `2`, got `1.5`" in text
    assert "**Fix:**" in text
    assert len(text) <= MAX_MARKDOWN


def test_analysis_is_deterministic() -> None:
    assert analyze(pytest_run()) == analyze(pytest_run())


def test_jest_expect_diffs_missing_modules_and_undefined_access() -> None:
    run = RunOutput(
        report=parse_jest_json(read("jest.json"), root="/tmp/fx/jest"),
        stderr=read("jest_stderr.txt"),
        exit_code=1,
    )
    analysis = analyze(run)
    assert causes(analysis) == [
        (Cause.import_error, "../src/helpers", 1),
        (Cause.exception, "TypeError", 1),
        (Cause.assertion, "", 2),
    ]
    missing, undefined, assertions = analysis.groups
    assert "does not exist where the import points" in missing.suggestion
    assert undefined.failures[0].location == Frame("src/cart.js", 11)
    assert "undefined/None" in undefined.suggestion
    to_be, to_equal = assertions.failures
    assert (to_be.expected, to_be.actual) == ("180", "-1800")
    assert to_equal.expected is None
    assert '-     "b",' in to_equal.diff
    assert '```diff\n  -     "b",\n  +     "a",' in analysis.markdown


def test_vitest_timeouts_and_chai_style_assertions() -> None:
    run = RunOutput(
        report=parse_junit_xml(read("vitest_junit.xml"), root="/tmp/fx/vite"),
        stdout=read("vitest_stdout.txt"),
        stderr=read("vitest_stderr.txt"),
        exit_code=1,
    )
    analysis = analyze(run)
    assert causes(analysis) == [
        (Cause.import_error, "./nope.js", 1),
        (Cause.timeout, "", 1),
        (Cause.assertion, "", 2),
    ]
    clamp = analysis.groups[2].failures[0]
    assert (clamp.expected, clamp.actual, clamp.location) == (
        "5",
        "+0",
        Frame("src/math.test.js", 9),
    )
    assert "promise" in analysis.groups[1].suggestion


def test_mocha_node_assert_values_and_runtime_syntax_error_is_not_a_build_error() -> None:
    analysis = analyze(
        RunOutput(report=parse_mocha_json(read("mocha.json"), root="/tmp/fx/mocha"), exit_code=3)
    )
    assert causes(analysis) == [
        (Cause.timeout, "", 1),
        (Cause.exception, "SyntaxError", 1),  # JSON.parse at run time
        (Cause.assertion, "", 1),
    ]
    loud = analysis.groups[2].failures[0]
    assert (loud.expected, loud.actual) == ("'HELLO, BOB!'", "'Hello, Bob'")


def test_go_failures_and_a_panic() -> None:
    analysis = analyze(
        RunOutput(report=parse_go_test_json(read("go_test.json"), root="/tmp/fx/go"), exit_code=1)
    )
    assert causes(analysis) == [(Cause.exception, "panic", 1), (Cause.assertion, "", 2)]
    wrong, table = analysis.groups[1].failures
    assert (wrong.expected, wrong.actual) == ("6", "5")
    assert (table.expected, table.actual) == ("102", "101")
    assert analysis.groups[0].failures[0].location == Frame("mathx/mathx.go", 5)


def test_go_build_failure_reads_the_compiler_errors_from_stderr() -> None:
    run = RunOutput(
        report=parse_go_test_json(read("go_build_failed.json")),
        stderr=read("go_build_failed_stderr.txt"),
        exit_code=2,
    )
    analysis = analyze(run)
    assert causes(analysis) == [(Cause.build, "go", 1)]
    failure = analysis.groups[0].failures[0]
    assert failure.message == "mathx/mathx.go:3:37: undefined: c"
    assert str(failure.location) == "mathx/mathx.go:3"


def test_cargo_assertion_and_unwrap_panic() -> None:
    analysis = analyze(RunOutput(report=parse_cargo_test(read("cargo_stdout.txt")), exit_code=101))
    assert causes(analysis) == [(Cause.exception, "panic", 1), (Cause.assertion, "", 1)]
    assert "unwrap()" in analysis.groups[0].suggestion
    wrong = analysis.groups[1].failures[0]
    assert (wrong.expected, wrong.actual, wrong.location) == ("5", "4", Frame("src/lib.rs", 20))


def test_cargo_compile_error_is_a_build_problem() -> None:
    report = parse_cargo_test(read("cargo_compile_error_stderr.txt"))
    analysis = analyze(RunOutput(report=report, exit_code=101))
    assert causes(analysis) == [(Cause.build, "E0425", 1)]
    assert analysis.groups[0].failures[0].location == Frame("src/lib.rs", 2)


def test_surefire_junit5_expected_but_was() -> None:
    docs = [p.read_text() for p in sorted((DATA / "surefire-reports").glob("*.xml"))]
    analysis = analyze(RunOutput(report=parse_junit_xml(docs), exit_code=1))
    assert causes(analysis) == [
        (Cause.exception, "ArithmeticException", 1),
        (Cause.assertion, "", 1),
    ]
    wrong = analysis.groups[1].failures[0]
    assert (wrong.expected, wrong.actual) == ("5", "4")


def test_syntax_error_points_at_the_broken_file() -> None:
    run = RunOutput(
        report=parse_junit_xml(read("pytest_syntax_error.xml"), root="/tmp/fx/pysyn"),
        stdout=read("pytest_syntax_error_stdout.txt"),
        exit_code=2,
    )
    analysis = analyze(run)
    assert causes(analysis) == [(Cause.build, "SyntaxError", 1)]
    failure = analysis.groups[0].failures[0]
    assert failure.location == Frame("pkg/__init__.py", 2)
    assert failure.message.endswith("SyntaxError: invalid syntax")


def test_missing_module_hints_depend_on_the_projects_own_files() -> None:
    run = RunOutput(
        report=parse_junit_xml(read("pytest_collection_error.xml"), root="/tmp/fx/pycol"),
        stdout=read("pytest_collection_error_stdout.txt"),
        exit_code=2,
    )
    plain = analyze(run).groups[0]
    assert (plain.cause, plain.key) == (Cause.import_error, "numpyy")
    assert "third-party package" in plain.suggestion
    typo = analyze(run, project_files=["numpy_io.py", "numpyx/__init__.py"]).groups[0]
    assert typo.suggestion.endswith("Did you mean `numpyx`?")
    own = analyze(run, project_files=["src/numpyy/__init__.py"]).groups[0]
    assert "the project's own module (src/numpyy)" in own.suggestion


def test_known_import_names_name_their_distribution() -> None:
    report = TestReport(
        (
            TestCase(
                "t",
                "s",
                Status.error,
                trace="E   ModuleNotFoundError: No module named 'yaml.loader'",
            ),
        )
    )
    group = analyze(RunOutput(report=report, exit_code=1)).groups[0]
    assert (group.key, "PyYAML" in group.suggestion) == ("yaml", True)


@pytest.mark.parametrize(
    ("message", "cause", "key"),
    [
        ("TypeError: f() takes 1 positional argument but 2 were given", Cause.signature, "f"),
        ("TypeError: g() got an unexpected keyword argument 'x'", Cause.signature, "g"),
        ("TypeError: api.get is not a function", Cause.signature, "api.get"),
        ("ImportError: cannot import name 'load' from 'pkg.io'", Cause.import_error, "pkg.io.load"),
        ("Error: Cannot find module 'lodash'", Cause.import_error, "lodash"),
        ('Failed to resolve import "./Button" from "src/App.tsx"', Cause.import_error, "./Button"),
        ("src/a.ts(3,5): error TS2304: Cannot find name 'x'.", Cause.build, "TS2304"),
        ("Failed: Timeout >5.0s", Cause.timeout, ""),
        ("thrown: Exceeded timeout of 5000 ms for a test.", Cause.timeout, ""),
        ("panic: test timed out after 10m0s", Cause.timeout, ""),
        ("KeyError: 'user'", Cause.exception, "KeyError"),
        ("ReferenceError: fetchUser is not defined", Cause.exception, "ReferenceError"),
        (
            "AttributeError: 'NoneType' object has no attribute 'id'",
            Cause.exception,
            "AttributeError",
        ),
        ("something odd happened", Cause.unknown, ""),
    ],
)
def test_common_messages_are_classified(message: str, cause: Cause, key: str) -> None:
    report = TestReport((TestCase("t", "s", Status.failed, message=message, trace=message),))
    group = analyze(RunOutput(report=report, exit_code=1)).groups[0]
    assert (group.cause, group.key) == (cause, key)


def test_same_cause_in_several_tests_is_one_group() -> None:
    message = "ModuleNotFoundError: No module named 'requests'"
    report = TestReport(
        tuple(TestCase(f"t{i}", "s", Status.error, message=message) for i in range(3))
    )
    analysis = analyze(RunOutput(report=report, exit_code=1))
    assert causes(analysis) == [(Cause.import_error, "requests", 3)]
    assert "### 1. Cannot import `requests` (3 tests)" in analysis.markdown


# --- outside any test: installs, discovery, time limits ---------------------------------------


@pytest.mark.parametrize(
    ("stdout", "stderr", "key", "says"),
    [
        ("", "npm_eresolve_stderr.txt", "ERESOLVE", 'peer react@"^18.2.0" from react-dom@18.2.0'),
        ("pip_conflict_stdout.txt", "pip_conflict_stderr.txt", "conflict", "pluggy==0.13.0"),
        ("", "pip_no_version_stderr.txt", "pytest==0.0.0.1", "no published version"),
        ("maven_offline.txt", "", "resolution", "could not be resolved"),
    ],
)
def test_install_failures_are_dependency_problems_not_code_problems(
    stdout: str, stderr: str, key: str, says: str
) -> None:
    run = RunOutput(
        phase=Phase.install,
        stdout=read(stdout) if stdout else "",
        stderr=read(stderr) if stderr else "",
        exit_code=1,
    )
    analysis = analyze(run)
    assert not analysis.ok
    assert not analysis.code_problem
    assert analysis.summary.endswith("a dependency problem, not a code problem.")
    assert causes(analysis) == [(Cause.dependency, key, 1)]
    assert says in analysis.groups[0].suggestion
    assert "\x1b" not in analysis.markdown  # Maven colours its output


def test_unreachable_registry_during_install() -> None:
    run = RunOutput(
        phase=Phase.install,
        stderr="npm error network request to https://registry.npmjs.org/x failed, "
        "reason: getaddrinfo ENOTFOUND registry.npmjs.org",
        exit_code=1,
    )
    assert causes(analyze(run)) == [(Cause.dependency, "network", 1)]


def test_a_refused_connection_inside_a_test_is_the_tests_own_problem() -> None:
    message = "ConnectionRefusedError: [Errno 111] Connection refused (ECONNREFUSED)"
    report = TestReport((TestCase("t", "s", Status.error, message=message),))
    analysis = analyze(RunOutput(report=report, exit_code=1))
    assert analysis.code_problem
    assert causes(analysis) == [(Cause.exception, "ConnectionRefusedError", 1)]


def test_a_successful_install() -> None:
    analysis = analyze(RunOutput(phase=Phase.install, stdout="added 10 packages", exit_code=0))
    assert (analysis.ok, analysis.groups, analysis.summary) == (True, (), "Dependencies installed.")


@pytest.mark.parametrize(
    ("report", "stdout", "stderr", "hint"),
    [
        (parse_junit_xml(read("pytest_no_tests.xml")), "no tests ran in 0.01s", "", "test_*.py"),
        (None, "vitest_no_tests_stdout.txt", "vitest_no_tests_stderr.txt", "vitest"),
        (None, "jest_no_tests_stdout.txt", "", "testMatch"),
    ],
)
def test_no_tests_found_is_a_discovery_problem(
    report: TestReport | None, stdout: str, stderr: str, hint: str
) -> None:
    out = read(stdout) if stdout.endswith(".txt") else stdout
    run = RunOutput(report=report, stdout=out, stderr=read(stderr) if stderr else "", exit_code=1)
    analysis = analyze(run)
    assert causes(analysis) == [(Cause.discovery, "", 1)]
    assert hint in analysis.groups[0].suggestion
    assert not analysis.ok


def test_an_empty_report_with_a_clean_exit_is_still_not_a_pass() -> None:
    analysis = analyze(RunOutput(report=TestReport(()), exit_code=0))
    assert not analysis.ok
    assert causes(analysis) == [(Cause.discovery, "", 1)]


def test_the_sandbox_time_limit() -> None:
    analysis = analyze(RunOutput(stdout="collected 40 items\n....", timed_out=True))
    assert causes(analysis) == [(Cause.timeout, "", 1)]
    assert "time limit" in analysis.groups[0].suggestion


def test_unreadable_results_say_why() -> None:
    run = RunOutput(stdout="Segmentation fault", exit_code=139, parse_error="junit.xml missing")
    analysis = analyze(run)
    assert analysis.summary == "The test run left no readable results (exit code 139)."
    assert causes(analysis) == [(Cause.unknown, "", 1)]
    assert "junit.xml missing" in analysis.groups[0].suggestion


def test_all_passed_but_the_runner_failed() -> None:
    report = TestReport((TestCase("t", "s", Status.passed),))
    run = RunOutput(
        report=report, stderr="ERROR: Coverage for lines (40%) below threshold", exit_code=1
    )
    analysis = analyze(run)
    assert analysis.summary.startswith("All 1 tests passed but the run failed")
    assert not analysis.ok


def test_all_passed() -> None:
    report = TestReport((TestCase("t", "s", Status.passed), TestCase("u", "s", Status.skipped)))
    analysis = analyze(RunOutput(report=report, exit_code=0))
    assert analysis.ok
    assert not analysis.code_problem
    assert analysis.groups == ()
    assert analysis.summary == "All 2 tests passed (0 failed, 0 errors; 1 passed, 1 skipped)."


# --- bounded text -----------------------------------------------------------------------------


def test_markdown_stays_within_its_budget_and_counts_what_it_leaves_out() -> None:
    cases = (
        *tuple(
            TestCase(
                f"test_case_{i}",
                "tests.test_big",
                Status.failed,
                message=f"assert {i} == {i + 1}\n" + "x" * 500,
                file="tests/test_big.py",
                line=i + 1,
            )
            for i in range(200)
        ),
        TestCase("t_import", "s", Status.error, message="No module named 'zzz'"),
    )
    analysis = analyze(RunOutput(report=TestReport(cases), exit_code=1))
    text = analysis.markdown
    assert len(text) <= MAX_MARKDOWN
    assert "Cannot import `zzz`" in text  # the first group always shows
    assert text.rstrip().endswith("not shown._")
    assert len(analysis.groups[1].failures) == 200  # the structured form keeps them all
    assert (
        len(analyze(RunOutput(report=TestReport(cases), exit_code=1), max_chars=1500).markdown)
        <= 1500
    )


def test_a_large_early_group_does_not_crowd_out_later_ones() -> None:
    imports = tuple(
        TestCase(f"t{i}", "s", Status.error, message=f"No module named 'm{i}'\n" + "y" * 300)
        for i in range(30)
    )
    imports += tuple(
        TestCase(f"u{i}", "s", Status.error, message="No module named 'same'\n" + "y" * 300)
        for i in range(30)
    )
    last = TestCase("late", "s", Status.failed, message="assert 1 == 2")
    analysis = analyze(RunOutput(report=TestReport((*imports, last)), exit_code=1))
    text = analysis.markdown
    assert len(text) <= MAX_MARKDOWN
    assert "Cannot import `same` (30 tests)" in text or "not shown" in text
    assert "- `s::late`" in text or "Assertions failed" not in text
