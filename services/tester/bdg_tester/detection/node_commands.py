"""A Node project's test command: the framework its test script and dependencies name, and a
direct call of that framework that writes machine-readable results (and coverage, when it can).

The framework's binary is called directly rather than through `npm test`: a test script may start
a watcher or drop our reporter flags. Arguments of a test script that calls the framework itself
(`vitest run --config x`) are kept.
"""

from __future__ import annotations

import re
import shlex

from bdg_tester.detection.projects import (
    Argv,
    CoverageFormat,
    Framework,
    Outputs,
    PackageManager,
    ResultsFormat,
)

NPM_PLACEHOLDER = 'echo "Error: no test specified" && exit 1'
_SHELL_OPS = frozenset({"&&", "||", ";", "|", "&"})
_ENV_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# Flags of ours that a script's own flags must not contradict (and watch/UI modes).
_DROP_FLAGS = (
    "--watch", "--watchAll", "-w", "--ui", "--reporter", "--outputFile", "--coverage",
    "--json", "--ci", "--silent", "--reporters", "--coverageReporters", "--coverageDirectory",
)  # fmt: skip
_DROP_WORDS = frozenset({"run", "watch", "dev", "test"})
_VITEST_COVERAGE = ("@vitest/coverage-v8", "@vitest/coverage-istanbul")


def _exec_prefix(pm: PackageManager) -> Argv:
    """How to call a dependency's binary; each looks in every parent's node_modules/.bin."""
    return {
        PackageManager.pnpm: ("pnpm", "exec"),
        PackageManager.yarn: ("yarn",),
    }.get(pm, ("npx", "--no-install"))


def script_words(script: str) -> tuple[list[str], list[tuple[str, str]]]:
    """A test script as (words after env assignments, env assignments); [] if it's not simple."""
    try:
        words = shlex.split(script)
    except ValueError:
        return [], []
    if any(w in _SHELL_OPS for w in words):
        return [], []
    env: list[tuple[str, str]] = []
    while words and (words[0] == "cross-env" or _ENV_ASSIGN.match(words[0])):
        word = words.pop(0)
        if word != "cross-env":
            key, _, value = word.partition("=")
            env.append((key, value))
    return words, env


def framework_of(deps: frozenset[str], script: str, words: list[str]) -> Framework:
    """Which framework runs the tests, from the test script's words and the dependencies."""
    first = words[0] if words else ""
    if first == "vitest" or ("vitest" in deps and first not in ("jest", "react-scripts", "mocha")):
        return Framework.vitest
    if first in ("jest", "react-scripts") or deps & {"jest", "react-scripts"}:
        return Framework.jest
    if first == "mocha" or "mocha" in deps:
        return Framework.mocha
    if words[:2] == ["node", "--test"]:
        return Framework.node_test
    if script and script != NPM_PLACEHOLDER:
        return Framework.npm_script
    return Framework.none


def _kept_args(words: list[str], framework: Framework) -> Argv:
    """The script's own arguments when it calls the framework itself, minus watch/report flags."""
    names = {Framework.vitest: "vitest", Framework.jest: "jest", Framework.mocha: "mocha"}
    if not words or words[0] != names.get(framework):
        return ()
    kept: list[str] = []
    skip_value = False
    for word in words[1:]:
        if skip_value:
            skip_value = False
            if not word.startswith("-"):
                continue
        flag = word.split("=", 1)[0]
        if flag.startswith(_DROP_FLAGS):
            skip_value = "=" not in word and flag in ("--reporter", "--outputFile", "-w")
            continue
        if not kept and word in _DROP_WORDS:
            continue
        kept.append(word)
    return tuple(kept)


def test_commands(
    root: str,
    deps: frozenset[str],
    framework: Framework,
    words: list[str],
    pm: PackageManager,
    out: Outputs,
) -> tuple[Argv, tuple[ResultsFormat, str | None], tuple[CoverageFormat | None, str | None]]:
    """The test command, and where it writes results and coverage (with their formats)."""
    run = _exec_prefix(pm)
    kept = _kept_args(words, framework)
    cov_dir = out.absolute(root, "coverage")
    cov_path = out.relative(root, "coverage/coverage-summary.json")
    if framework is Framework.vitest:
        test = (*run, "vitest", "run", *kept, "--reporter=default", "--reporter=junit")
        test += (f"--outputFile.junit={out.absolute(root, 'junit.xml')}",)
        results = (ResultsFormat.junit_xml, out.relative(root, "junit.xml"))
        if not deps & set(_VITEST_COVERAGE):  # vitest refuses --coverage without a provider
            return test, results, (None, None)
        test += ("--coverage.enabled", "--coverage.reporter=json-summary")
        # without reportOnFailure vitest writes no coverage when a test fails
        test += ("--coverage.reportOnFailure", f"--coverage.reportsDirectory={cov_dir}")
        return test, results, (CoverageFormat.istanbul_summary, cov_path)
    if framework is Framework.jest:
        base: Argv = ("jest", *kept)
        if words[:1] == ["react-scripts"]:  # it passes jest's flags through
            base = ("react-scripts", "test", "--watchAll=false")
        test = (*run, *base, "--ci", "--json", f"--outputFile={out.absolute(root, 'jest.json')}")
        test += ("--coverage", "--coverageReporters=json-summary", f"--coverageDirectory={cov_dir}")
        results = (ResultsFormat.jest_json, out.relative(root, "jest.json"))
        return test, results, (CoverageFormat.istanbul_summary, cov_path)
    if framework is Framework.mocha:
        mocha = ("mocha", *kept, "--reporter", "json", "--reporter-option")
        mocha += (f"output={out.absolute(root, 'mocha.json')}",)
        results = (ResultsFormat.mocha_json, out.relative(root, "mocha.json"))
        for tool, flag in (("c8", "--reports-dir"), ("nyc", "--report-dir")):
            if tool in deps:
                wrapped = (*run, tool, "--reporter=json-summary", f"{flag}={cov_dir}", *mocha)
                return wrapped, results, (CoverageFormat.istanbul_summary, cov_path)
        return (*run, *mocha), results, (None, None)
    if framework is Framework.node_test:
        # node >= 20.11 reports JUnit; the spec reporter keeps the console output readable
        test = ("node", "--test", *_node_test_args(words[2:]), "--test-reporter=spec")
        test += ("--test-reporter-destination=stdout", "--test-reporter=junit")
        test += (f"--test-reporter-destination={out.absolute(root, 'junit.xml')}",)
        return test, (ResultsFormat.junit_xml, out.relative(root, "junit.xml")), (None, None)
    if framework is Framework.npm_script:
        return (pm.value, "test"), (ResultsFormat.none, None), (None, None)
    return (), (ResultsFormat.none, None), (None, None)


def _node_test_args(words: list[str]) -> Argv:
    """`node --test`'s own arguments (files, globs, filters) minus reporters and watch mode."""
    kept: list[str] = []
    skip_value = False
    for word in words:
        if skip_value:
            skip_value = False
            continue
        flag = word.split("=", 1)[0]
        if flag in ("--test-reporter", "--test-reporter-destination", "--watch"):
            skip_value = "=" not in word and flag != "--watch"
            continue
        kept.append(word)
    return tuple(kept)
