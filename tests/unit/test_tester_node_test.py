"""Node's built-in runner (`node --test`): detected from the test script, run with a JUnit
reporter beside the console one, and its JUnit output (real, from node 20.20) read per test."""

from __future__ import annotations

import json
from pathlib import Path

from bdg_tester.analysis.analyze import analyze
from bdg_tester.analysis.model import RunOutput
from bdg_tester.detection.detect import detect_projects
from bdg_tester.detection.projects import Framework, Project, ResultsFormat
from bdg_tester.results.junit import parse_junit_xml
from bdg_tester.results.outcomes import Status

DATA = Path(__file__).parent / "data" / "tester"
OUT = "/workspace/.bdg-results/_root_"
SLUG_TEST = "import { test } from 'node:test';\n"


def only(script: str, files: dict[str, str] | None = None) -> Project:
    package = json.dumps({"name": "slugs", "type": "module", "scripts": {"test": script}})
    found = detect_projects({"package.json": package, "src/slug.js": "", **(files or {})})
    assert len(found) == 1, found
    return found[0]


def test_node_test_runs_directly_with_spec_and_junit_reporters() -> None:
    project = only("node --test", {"test/slug.js": SLUG_TEST})
    assert project.framework is Framework.node_test
    assert project.test == (
        "node", "--test", "--test-reporter=spec", "--test-reporter-destination=stdout",
        "--test-reporter=junit", f"--test-reporter-destination={OUT}/junit.xml",
    )  # fmt: skip
    assert project.results_format is ResultsFormat.junit_xml
    assert project.has_tests  # a file under test/ is a test for node --test


def test_the_scripts_own_files_are_kept_but_not_its_reporters_or_watch_mode() -> None:
    script = "node --test --watch --test-reporter tap --test-reporter-destination=x.txt spec/"
    project = only(script, {"spec/a.test.js": SLUG_TEST})
    assert project.test[:3] == ("node", "--test", "spec/")
    assert project.test.count("--test-reporter=junit") == 1
    assert "tap" not in project.test
    assert "--watch" not in project.test


def test_node_junit_cases_carry_the_error_type_message_and_place() -> None:
    report = parse_junit_xml((DATA / "node_test_junit.xml").read_text(), root="/tmp/fx/js")
    by_name = {case.name: case for case in report.cases}
    assert [c.status for c in report.cases] == [Status.failed, Status.passed, Status.failed]
    accents = by_name["keeps accented letters as plain letters"]
    assert accents.error_type == "AssertionError"
    assert accents.message.splitlines()[:2] == [
        "Expected values to be strictly equal:",
        "+ actual - expected",
    ]
    assert (accents.file, accents.line) == ("test/slug.test.js", 6)
    null = by_name["refuses null"]
    assert (null.error_type, null.file, null.line) == ("TypeError", "src/slug.js", 2)
    assert null.message == "Cannot read properties of null (reading 'toLowerCase')"


def test_the_analysis_names_each_failure_with_expected_and_actual() -> None:
    report = parse_junit_xml((DATA / "node_test_junit.xml").read_text(), root="/tmp/fx/js")
    stdout = (DATA / "node_test_stdout.txt").read_text()
    run = RunOutput(report=report, stdout=stdout, exit_code=1, root="/tmp/fx/js")
    text = analyze(run).markdown
    assert "2 of 3 tests failed" in text
    assert "`TypeError` raised (1 test)" in text
    # the test's own line, with the input in it, beside the code's line it reached
    assert "`test::refuses null` at `src/slug.js:2`, called from `test/slug.test.js:14`" in text
    assert "at `test/slug.test.js:6`\n" in text  # failed in the test itself: one place
    assert "expected `'creme'`, got `'cr-me'`" in text


def test_a_test_file_that_does_not_load_points_at_the_syntax_error() -> None:
    """node names the file and says only "test failed"; the SyntaxError and its place are in
    the run's output, which the analysis reads."""
    xml = (DATA / "node_test_load_error_junit.xml").read_text()
    report = parse_junit_xml(xml, root="/tmp/clamp")
    (case,) = report.cases
    assert (case.name, case.status, case.file) == (
        "test/clamp.test.js",
        Status.error,
        "test/clamp.test.js",
    )
    stdout = (DATA / "node_test_load_error_stdout.txt").read_text()
    run = RunOutput(report=report, stdout=stdout, exit_code=1, root="/tmp/clamp")
    text = analyze(run).markdown
    assert "Does not compile (syntax or build error)" in text
    assert "`test::test/clamp.test.js` at `src/clamp.js:2`" in text
    assert "SyntaxError: Unexpected token 'return'" in text


def test_a_deep_equal_failure_s_expected_value_ends_where_node_s_message_does() -> None:
    """node:test's junit trace is the inspected error, ``[Error ...: <message>] {`` then its
    properties: the expected value once read "'2 children'] {". Captured from node 22 on
    ``assert.deepStrictEqual(pluralize(2, "child", "children"), "2 children")``."""
    xml = (DATA / "node_test_deep_equal_junit.xml").read_text()
    report = parse_junit_xml(xml, root="/tmp/nodet")
    stdout = (DATA / "node_test_deep_equal_stdout.txt").read_text()
    text = analyze(RunOutput(report=report, stdout=stdout, exit_code=1)).markdown
    assert "expected `'1 apple'`, got `'apple'`" in text
    assert "expected `'2 children'`, got `'children'`" in text
    assert "] {" not in text


def test_two_short_primitives_give_their_expected_and_actual_values() -> None:
    """node prints ``-3 !== 0`` (actual, then expected) for primitives; captured from node 22 on
    ``assert.equal(clamp(-3, 0, 10), 0)``."""
    xml = (DATA / "node_test_primitives_junit.xml").read_text()
    report = parse_junit_xml(xml, root="/tmp/nodet")
    stdout = (DATA / "node_test_primitives_stdout.txt").read_text()
    text = analyze(RunOutput(report=report, stdout=stdout, exit_code=1)).markdown
    assert "expected `0`, got `-3`" in text
