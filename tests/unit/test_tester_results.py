"""Results parsers against reports real runners wrote (tests/unit/data/tester/README.md), and
against truncated or garbled copies of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bdg_tester.detection.projects import ResultsFormat
from bdg_tester.results.junit import MAX_XML_CHARS
from bdg_tester.results.parse import (
    ParseError,
    Status,
    TestCase,
    TestReport,
    as_test_results,
    parse_cargo_test,
    parse_go_test_json,
    parse_jest_json,
    parse_junit_xml,
    parse_mocha_json,
    parse_results,
)

pytestmark = pytest.mark.timeout(60)

DATA = Path(__file__).parent / "data" / "tester"


def read(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def case(report: TestReport, name: str) -> TestCase:
    return next(c for c in report.cases if c.name == name)


def totals(report: TestReport) -> tuple[int, int, int, int, int]:
    t = report.totals
    return t.total, t.passed, t.failed, t.errors, t.skipped


# --- JUnit XML --------------------------------------------------------------------------------


def test_pytest_junit_statuses_messages_and_locations() -> None:
    report = parse_junit_xml(read("pytest_junit.xml"), root="/tmp/fx/py")
    # pytest's own summary: 4 failed, 2 passed, 1 skipped, 1 xfailed, 1 error
    assert totals(report) == (9, 2, 4, 1, 2)
    assert report.duration_s == pytest.approx(0.553)
    mean = case(report, "test_mean")
    assert (mean.status, mean.suite) == (Status.failed, "tests.test_ops")
    assert mean.message.startswith("assert 1.5 == 2")
    assert (mean.file, mean.line) == ("tests/test_ops.py", 11)
    # the exception was raised in the project's code, not in the test
    zero = case(report, "test_divide_by_zero")
    assert (zero.file, zero.line) == ("src/calc/ops.py", 6)
    assert "ZeroDivisionError" in zero.trace
    setup = case(report, "test_uses_db")
    assert setup.status is Status.error
    assert setup.message.startswith("failed on setup")
    xfail = case(report, "test_xfail")
    assert (xfail.status, xfail.error_type) == (Status.skipped, "pytest.xfail")
    assert case(report, "test_missing_arg").suite == "tests.test_ops.TestGroup"
    assert case(report, "test_missing_arg").id == "tests.test_ops.TestGroup::test_missing_arg"


def test_pytest_xunit1_lines_are_made_one_based() -> None:
    report = parse_junit_xml(read("pytest_junit_xunit1.xml"))
    passed = case(report, "test_add")
    assert (passed.file, passed.line) == ("tests/test_ops.py", 6)  # `def test_add` is line 6
    assert case(report, "test_skipped").line == 18


def test_pytest_collection_and_syntax_errors_are_errors_pointing_at_the_cause() -> None:
    collection = parse_junit_xml(read("pytest_collection_error.xml"), root="/tmp/fx/pycol")
    assert totals(collection) == (1, 0, 0, 1, 0)
    broken = collection.cases[0]
    assert "ModuleNotFoundError: No module named 'numpyy'" in broken.trace
    assert (broken.file, broken.line) == ("tests/test_broken.py", 1)
    syntax = parse_junit_xml(read("pytest_syntax_error.xml"), root="/tmp/fx/pysyn")
    assert (syntax.cases[0].file, syntax.cases[0].line) == ("pkg/__init__.py", 2)


def test_pytest_with_no_tests_is_an_empty_report() -> None:
    report = parse_junit_xml(read("pytest_no_tests.xml"))
    assert report.cases == ()
    assert report.totals.total == 0


def test_vitest_junit_with_a_file_that_failed_to_load() -> None:
    report = parse_junit_xml(read("vitest_junit.xml"), root="/tmp/fx/vite")
    assert totals(report) == (6, 1, 3, 1, 1)
    clamp = case(report, "math > clamps high values")
    assert (clamp.file, clamp.line, clamp.error_type) == ("src/math.test.js", 9, "AssertionError")
    assert clamp.message == "expected +0 to be 5 // Object.is equality"
    load = case(report, "src/other.test.js")
    assert load.status is Status.error
    assert "Cannot find module './nope.js'" in load.message
    assert case(report, "math > adds").file == "src/math.test.js"


def test_surefire_reports_one_file_per_class() -> None:
    docs = [p.read_text() for p in sorted((DATA / "surefire-reports").glob("TEST-*.xml"))]
    report = parse_junit_xml(docs)
    assert totals(report) == (6, 3, 1, 1, 1)
    wrong = case(report, "addsWrong")
    assert wrong.error_type == "org.opentest4j.AssertionFailedError"
    assert (wrong.file, wrong.line) == ("demo/CalcTest.java", 14)  # not the JUnit frames above
    assert (case(report, "divides").file, case(report, "divides").line) == ("demo/Calc.java", 5)
    assert report.duration_s == pytest.approx(0.065)


def test_gradle_reports_exceptions_as_failures() -> None:
    docs = [p.read_text() for p in (DATA / "gradle-test-results").glob("*.xml")]
    report = parse_junit_xml(docs)
    assert totals(report) == (4, 1, 2, 0, 1)
    assert case(report, "divides()").file == "demo/Calc.java"


def test_junit_single_testsuite_root_and_nested_suites() -> None:
    nested = (
        '<testsuites><testsuite name="outer"><testsuite name="inner">'
        '<testcase name="a" classname="C" time="1.5"/></testsuite>'
        '<testcase name="b" classname="C"><skipped/></testcase></testsuite></testsuites>'
    )
    report = parse_junit_xml(nested)
    assert [(c.name, c.status) for c in report.cases] == [
        ("b", Status.skipped),
        ("a", Status.passed),
    ]
    assert case(report, "a").duration_s == 1.5


def test_junit_survives_control_characters_from_test_output() -> None:
    text = (
        '<testsuite name="s"><testcase name="colour" classname="c">'
        '<failure message="red \x1b[31mX\x1b[0m &#27;">boom\x07 &#x1B;</failure>'
        "</testcase></testsuite>"
    )
    failure = parse_junit_xml(text).cases[0]
    assert failure.status is Status.failed
    assert failure.message == "red X"
    assert failure.trace == "boom"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("<testsuites><testsuite name='x'><testcase name=", "not well-formed"),
        ("<html><body>502 Bad Gateway</body></html>", "root element <html>"),
        ("just some text", "not well-formed"),
        (
            '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY l "lol">]><testsuite>&l;</testsuite>',
            "DOCTYPE",
        ),
    ],
)
def test_junit_bad_input_is_a_clear_parse_error(text: str, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse_junit_xml(text)


def test_junit_size_cap() -> None:
    huge = "<testsuite>" + " " * MAX_XML_CHARS + "</testsuite>"
    with pytest.raises(ParseError, match="cap"):
        parse_junit_xml(huge)


def test_junit_needs_at_least_one_document() -> None:
    with pytest.raises(ParseError):
        parse_junit_xml([])


# --- jest / mocha -----------------------------------------------------------------------------


def test_jest_json() -> None:
    report = parse_jest_json(read("jest.json"), root="/tmp/fx/jest")
    # jest: 3 failed, 1 skipped, 1 todo, 1 passed; plus one suite that failed to run
    assert totals(report) == (7, 1, 2, 2, 2)
    discount = case(report, "cart applies discount")
    assert discount.status is Status.failed
    assert discount.message.startswith("expect(received).toBe(expected)")
    assert "Received: -1800" in discount.message
    assert (discount.file, discount.line) == ("__tests__/cart.test.js", 8)
    assert discount.duration_s == pytest.approx(0.012)
    label = case(report, "cart labels")  # a TypeError thrown by the code under test
    assert (label.status, label.error_type) == (Status.error, "TypeError")
    assert (label.file, label.line) == ("src/cart.js", 11)
    suite = case(report, "(test suite failed to run)")
    assert suite.status is Status.error
    assert suite.message == "Cannot find module '../src/helpers' from '__tests__/broken.test.js'"
    assert suite.suite == "__tests__/broken.test.js"
    assert report.duration_s is not None
    assert report.duration_s > 0


def test_jest_json_after_console_output_on_stdout() -> None:
    noisy = "console.log\n  hello from a test\n\n" + read("jest.json")
    assert parse_jest_json(noisy).totals.total == 7


def test_mocha_json() -> None:
    report = parse_mocha_json(read("mocha.json"), root="/tmp/fx/mocha")
    assert totals(report) == (5, 1, 1, 2, 1)
    loud = case(report, "greet greets loudly")
    assert (loud.status, loud.error_type) == (Status.failed, "AssertionError")
    assert (loud.file, loud.line) == ("test/greet.spec.js", 9)
    parse = case(report, "greet parses")
    assert (parse.status, parse.file, parse.line) == (Status.error, "index.js", 2)
    assert case(report, "greet waits").message.startswith("Timeout of 50ms exceeded")
    assert case(report, "greet later").status is Status.skipped


def test_mocha_hook_failure_is_an_error_of_its_own() -> None:
    text = (
        '{"stats": {"tests": 1}, "tests": [{"title": "t", "fullTitle": "s t", "file": "a.js",'
        ' "err": {}}], "pending": [], "failures": [{"title": "\\"before all\\" hook",'
        ' "fullTitle": "s \\"before all\\" hook", "file": "a.js", "err": {"message": "db down",'
        ' "stack": "Error: db down\\n    at Context.<anonymous> (a.js:3:9)"}}], "passes": []}'
    )
    report = parse_mocha_json(text)
    hook = case(report, 's "before all" hook')
    assert (hook.status, hook.message, hook.line) == (Status.error, "db down", 3)


@pytest.mark.parametrize("parser", [parse_jest_json, parse_mocha_json])
@pytest.mark.parametrize("text", ["", "{", "[1, 2]", '{"unrelated": true}', "null"])
def test_js_reports_bad_input(parser: object, text: str) -> None:
    with pytest.raises(ParseError):
        parser(text)  # type: ignore[operator]


# --- go test -json ----------------------------------------------------------------------------


def test_go_test_json() -> None:
    report = parse_go_test_json(read("go_test.json"), root="/tmp/fx/go")
    assert [(c.name, c.status) for c in report.cases] == [
        ("TestAdd", Status.passed),
        ("TestAddWrong", Status.failed),
        ("TestTable/small", Status.passed),
        ("TestTable/big", Status.failed),  # the parent TestTable is counted through them
        ("TestSkip", Status.skipped),
        ("TestDivPanics", Status.error),
    ]
    wrong = case(report, "TestAddWrong")
    assert (wrong.message, wrong.file, wrong.line) == ("Add(2, 3) = 5; want 6", "mathx_test.go", 16)
    assert wrong.suite == "example.com/demo/mathx"
    panic = case(report, "TestDivPanics")
    assert panic.message == "panic: runtime error: integer divide by zero"
    assert (panic.file, panic.line) == ("mathx/mathx.go", 5)  # not testing.go or panic.go


def test_go_build_failure_before_and_since_go_1_24() -> None:
    old = parse_go_test_json(read("go_build_failed.json"))
    assert [(c.name, c.status, c.suite) for c in old.cases] == [
        ("[build failed]", Status.error, "example.com/demo/mathx")
    ]
    new = parse_go_test_json(read("go_build_failed_go124.json"))
    failed = new.cases[0]
    assert (failed.name, failed.message) == ("[build failed]", "undefined: c")
    assert (failed.file, failed.line) == ("mathx/mathx.go", 3)


def test_go_stream_cut_off_mid_line_keeps_what_came_before() -> None:
    text = read("go_test.json")
    cut = text[: text.index('"Test":"TestSkip","Elapsed"') + 10]
    report = parse_go_test_json(cut)
    assert report.notes == ("the last line was cut off",)
    assert case(report, "TestAddWrong").status is Status.failed
    assert case(report, "TestSkip").status is Status.error  # started, never finished


def test_go_package_failure_without_a_failing_test() -> None:
    text = (
        '{"Action":"output","Package":"p","Output":"panic: init failed\\n"}\n'
        '{"Action":"fail","Package":"p","Elapsed":0.1}\n'
    )
    report = parse_go_test_json(text)
    assert [(c.name, c.status, c.message) for c in report.cases] == [
        ("[package failed]", Status.error, "panic: init failed")
    ]


@pytest.mark.parametrize("text", ["", "not json at all\nnor this", '{"no": "action"}'])
def test_go_without_events_is_a_parse_error(text: str) -> None:
    with pytest.raises(ParseError):
        parse_go_test_json(text)


# --- cargo test -------------------------------------------------------------------------------


def test_cargo_test_output() -> None:
    report = parse_cargo_test(read("cargo_stdout.txt"))
    assert totals(report) == (7, 4, 1, 1, 1)
    wrong = case(report, "tests::adds_wrong")
    assert wrong.message.startswith("assertion `left == right` failed: math is broken")
    assert "right: 5" in wrong.message
    assert (wrong.file, wrong.line) == ("src/lib.rs", 20)
    unwrap = case(report, "tests::parses_bad_port")  # a panic, not an assertion
    assert unwrap.status is Status.error
    assert unwrap.message.startswith("called `Result::unwrap()`")
    assert case(report, "tests::panics").status is Status.passed  # should_panic
    assert case(report, "src/lib.rs - doc (line 41)").status is Status.passed
    assert report.duration_s == pytest.approx(0.03)


def test_cargo_interleaved_with_stderr_names_the_test_binaries() -> None:
    text = (
        "     Running unittests src/lib.rs (target/debug/deps/rs-1)\n\nrunning 1 test\n"
        "test tests::a ... ok\n\ntest result: ok. 1 passed; 0 failed; finished in 0.00s\n\n"
        "     Running tests/integration.rs (target/debug/deps/integration-2)\n\n"
        "running 1 test\ntest it_works ... ok\n\n"
        "test result: ok. 1 passed; 0 failed; finished in 0.00s\n"
    )
    report = parse_cargo_test(text)
    assert [(c.suite, c.name) for c in report.cases] == [
        ("src/lib.rs", "tests::a"),
        ("tests/integration.rs", "it_works"),
    ]
    # stderr printed before stdout (two separate streams) names no binary rather than a wrong one
    separate = parse_cargo_test(read("cargo_stderr.txt") + read("cargo_stdout.txt"))
    assert {c.suite for c in separate.cases} == {""}


def test_cargo_compile_error_is_one_build_error() -> None:
    report = parse_cargo_test(read("cargo_compile_error_stderr.txt"))
    [build] = report.cases
    assert (build.name, build.status) == ("[build failed]", Status.error)
    assert build.message == "cannot find value `c` in this scope"
    assert (build.file, build.line) == ("src/lib.rs", 2)


def test_cargo_cut_off_output_is_noted() -> None:
    text = "running 3 tests\ntest a ... ok\ntest b ... FAILED\n"
    report = parse_cargo_test(text)
    assert report.notes == ("output cut off: 2 of 3 tests reported",)
    assert totals(report) == (2, 1, 0, 1, 0)


@pytest.mark.parametrize("text", ["", "warning: unused variable\n", "Compiling foo v0.1.0\n"])
def test_cargo_without_results_is_a_parse_error(text: str) -> None:
    with pytest.raises(ParseError):
        parse_cargo_test(text)


# --- robustness: never anything but a report or a ParseError ----------------------------------

FIXTURES = [
    (ResultsFormat.junit_xml, "pytest_junit.xml"),
    (ResultsFormat.junit_xml, "vitest_junit.xml"),
    (ResultsFormat.junit_xml, "surefire-reports/TEST-demo.CalcTest.xml"),
    (ResultsFormat.jest_json, "jest.json"),
    (ResultsFormat.mocha_json, "mocha.json"),
    (ResultsFormat.go_test_json, "go_test.json"),
    (ResultsFormat.cargo_text, "cargo_stdout.txt"),
]


@pytest.mark.parametrize(("fmt", "name"), FIXTURES)
def test_every_truncation_gives_a_report_or_a_parse_error(fmt: ResultsFormat, name: str) -> None:
    text = read(name)
    for cut in range(0, len(text), max(1, len(text) // 150)):
        try:
            report = parse_results(fmt, [text[:cut]])
        except ParseError:
            continue
        assert isinstance(report, TestReport)


def assert_well_formed(report: TestReport) -> None:
    """Whatever odd input a parser accepted, the report holds what the rest of the tester and
    the job expect: typed fields, sane numbers, totals that can be recorded."""
    for one in report.cases:
        assert isinstance(one.status, Status)
        assert all(isinstance(v, str) for v in (one.name, one.suite, one.message, one.trace))
        assert isinstance(one.error_type, str)
        assert one.duration_s is None or (isinstance(one.duration_s, float) and one.duration_s >= 0)
        assert one.file is None or (isinstance(one.file, str) and one.file)
        assert one.line is None or (type(one.line) is int and one.line >= 1)
    assert report.duration_s is None or report.duration_s >= 0
    assert all(isinstance(note, str) for note in report.notes)
    recorded = as_test_results(report, coverage=None, output_tail="")
    assert recorded.total == len(report.cases)
    assert recorded.failed == len(report.unsuccessful)


@pytest.mark.parametrize(("fmt", "name"), FIXTURES)
def test_garbled_bytes_give_a_report_or_a_parse_error(fmt: ResultsFormat, name: str) -> None:
    text = read(name)
    intact = parse_results(fmt, [text])
    refusals: list[str] = []
    for step in (7, 31, 97):
        garbled = "".join("\x00" if i % step == 0 else ch for i, ch in enumerate(text))
        swapped = text.replace('"', "'").replace("<", "{")
        for variant in (garbled, swapped, text[::-1]):
            try:
                report = parse_results(fmt, [variant])
            except ParseError as exc:
                refusals.append(str(exc))
                continue
            assert_well_formed(report)
            # Garbling cannot invent tests, and must not read as a run with nothing in it (that
            # would pass as "no failures").
            assert 0 < len(report.cases) <= len(intact.cases)
    assert all(refusals)  # each says what could not be read


def test_parse_results_dispatch() -> None:
    report = parse_results(ResultsFormat.jest_json, [read("jest.json")], root="/tmp/fx/jest")
    assert report.totals.total == 7
    with pytest.raises(ParseError, match="no machine-readable"):
        parse_results(ResultsFormat.none, ["output"])
    with pytest.raises(ParseError, match="one document"):
        parse_results(ResultsFormat.go_test_json, ["a", "b"])


def test_as_test_results_counts_errors_as_failures() -> None:
    report = parse_junit_xml(read("pytest_junit.xml"))
    results = as_test_results(report, coverage=73.68, output_tail="4 failed")
    assert (results.total, results.failed, results.coverage) == (9, 5, 73.68)
    assert results.output_tail == "4 failed"


def _leaf_paths(value: object, path: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaf_paths(v, (*path, k))] + [path]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaf_paths(v, (*path, i))] + [path]
    return [path]


def _replaced(document: object, path: tuple[object, ...], new: object) -> object:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(document, dict):
        return {k: _replaced(v, rest, new) if k == head else v for k, v in document.items()}
    assert isinstance(document, list)
    return [_replaced(v, rest, new) if i == head else v for i, v in enumerate(document)]


@pytest.mark.parametrize(("fmt", "name"), [(ResultsFormat.jest_json, "jest.json"),
                                           (ResultsFormat.mocha_json, "mocha.json")])  # fmt: skip
def test_json_reports_with_values_of_the_wrong_type(fmt: ResultsFormat, name: str) -> None:
    """Every value, one at a time, replaced by a value of another type."""
    document = json.loads(read(name))
    refusals: list[str] = []
    for path in _leaf_paths(document):
        if "coverageMap" in path:
            continue  # not read by the parser
        replacements: tuple[object, ...] = (None, "x", -1, [], {"x": 1})
        for new in replacements:
            try:
                report = parse_results(fmt, [json.dumps(_replaced(document, path, new))])
            except ParseError as exc:
                refusals.append(str(exc))
                continue
            assert_well_formed(report)  # a wrong type is coerced or dropped, never passed on
    assert all(refusals)  # each says what could not be read
