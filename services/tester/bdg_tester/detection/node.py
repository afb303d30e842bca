"""Node projects: package manager, test framework, and runner commands that write reports.

The framework's binary is called directly rather than through `npm test`: a test script may start
a watcher or drop our reporter flags. Arguments of a test script that calls the framework itself
(`vitest run --config x`) are kept.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bdg_tester.detection.projects import (
    Argv,
    CoverageFormat,
    Framework,
    Kind,
    Language,
    Outputs,
    PackageManager,
    Project,
    ResultsFormat,
)
from bdg_tester.detection.tree import Tree, in_fixture_dir, is_js_test, is_member, join, parent

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


@dataclass(frozen=True)
class _Package:
    root: str
    data: Mapping[str, Any]

    @property
    def deps(self) -> frozenset[str]:
        names: set[str] = set()
        for key in ("dependencies", "devDependencies"):
            section = self.data.get(key)
            if isinstance(section, dict):
                names.update(str(k) for k in section)
        return frozenset(names)

    @property
    def test_script(self) -> str:
        scripts = self.data.get("scripts")
        script = scripts.get("test", "") if isinstance(scripts, dict) else ""
        return script.strip() if isinstance(script, str) else ""

    @property
    def workspace_patterns(self) -> tuple[str, ...]:
        ws = self.data.get("workspaces")
        if isinstance(ws, dict):  # yarn classic: {"packages": [...], "nohoist": [...]}
            ws = ws.get("packages")
        return tuple(str(p) for p in ws) if isinstance(ws, list) else ()


def _load(tree: Tree, path: str) -> Mapping[str, Any] | None:
    try:
        data = json.loads(tree.text(path))
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _pnpm_patterns(text: str) -> tuple[str, ...]:
    """The `packages:` list of pnpm-workspace.yaml (a flat list; no YAML library needed)."""
    out: list[str] = []
    inside = False
    for line in text.splitlines():
        if re.match(r"^packages\s*:", line):
            inside = True
            continue
        item = re.match(r"^\s+-\s*['\"]?([^'\"#]+?)['\"]?\s*(#.*)?$", line)
        if inside and item:
            out.append(item.group(1))
        elif inside and line.strip() and not line.startswith((" ", "\t", "#")):
            break
    return tuple(out)


def _ancestors(root: str) -> list[str]:
    """root, its parent, ..., '.'"""
    out = [root]
    while out[-1] != ".":
        out.append(parent(out[-1]))
    return out


def _package_manager(tree: Tree, pkgs: list[_Package], install_root: str) -> PackageManager:
    for pkg in pkgs:  # the packageManager field ("pnpm@9.1.0") is the project's own word
        field = pkg.data.get("packageManager")
        if isinstance(field, str):
            name = field.partition("@")[0]
            if name in ("npm", "pnpm", "yarn"):
                return PackageManager(name)
    for where in _ancestors(install_root):
        if tree.has(join(where, "pnpm-lock.yaml")) or tree.has(join(where, "pnpm-workspace.yaml")):
            return PackageManager.pnpm
        if tree.has(join(where, "yarn.lock")):
            return PackageManager.yarn
        if tree.has(join(where, "package-lock.json")) or tree.has(
            join(where, "npm-shrinkwrap.json")
        ):
            return PackageManager.npm
    return PackageManager.npm


def _install(tree: Tree, pm: PackageManager, where: str, pkgs: list[_Package]) -> Argv:
    def locked(*names: str) -> bool:
        return any(tree.has(join(w, n)) for w in _ancestors(where) for n in names)

    if pm is PackageManager.pnpm:
        frozen = ("--frozen-lockfile",) if locked("pnpm-lock.yaml") else ()
        return ("pnpm", "install", *frozen)
    if pm is PackageManager.yarn:
        field = next((str(p.data.get("packageManager", "")) for p in pkgs), "")
        berry = tree.has(join(where, ".yarnrc.yml")) or bool(re.match(r"yarn@[2-9]", field))
        if not locked("yarn.lock"):
            return ("yarn", "install")
        return ("yarn", "install", "--immutable" if berry else "--frozen-lockfile")
    verb = "ci" if locked("package-lock.json", "npm-shrinkwrap.json") else "install"
    return ("npm", verb, "--no-audit", "--no-fund")


def _exec_prefix(pm: PackageManager) -> Argv:
    """How to call a dependency's binary; each looks in every parent's node_modules/.bin."""
    return {
        PackageManager.pnpm: ("pnpm", "exec"),
        PackageManager.yarn: ("yarn",),
    }.get(pm, ("npx", "--no-install"))


def _script_words(script: str) -> tuple[list[str], list[tuple[str, str]]]:
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


def _has_source(tree: Tree, root: str, roots: frozenset[str]) -> bool:
    return any(
        re.search(r"\.(?:[cm]?[jt]s|[jt]sx|vue|svelte)$", p) for p in tree.under(root, roots)
    )


def _framework(pkg: _Package, words: list[str]) -> Framework:
    deps, script = pkg.deps, pkg.test_script
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


def _commands(
    pkg: _Package, framework: Framework, words: list[str], pm: PackageManager, out: Outputs
) -> tuple[Argv, tuple[ResultsFormat, str | None], tuple[CoverageFormat | None, str | None]]:
    run, deps, root = _exec_prefix(pm), pkg.deps, pkg.root
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


def detect_node(tree: Tree, out: Outputs) -> list[Project]:
    paths = [p for p in tree.named("package.json") if not in_fixture_dir(p)]
    pkgs: dict[str, _Package] = {}
    for path in paths:
        data = _load(tree, path)
        if data is not None:
            pkgs[parent(path)] = _Package(parent(path), data)
    workspaces = {
        root: pkg.workspace_patterns or _pnpm_patterns(tree.text(join(root, "pnpm-workspace.yaml")))
        for root, pkg in pkgs.items()
    }
    workspaces = {root: pats for root, pats in workspaces.items() if pats}
    roots = frozenset(pkgs)
    projects: list[Project] = []
    for root, pkg in sorted(pkgs.items()):
        ws_root = next((w for w, p in workspaces.items() if is_member(root, w, p)), root)
        chain = [pkg] + ([pkgs[ws_root]] if ws_root != root else [])
        pm = _package_manager(tree, chain, ws_root)
        words, env = _script_words(pkg.test_script)
        framework = _framework(pkg, words)
        mocha = framework in (Framework.mocha, Framework.node_test)  # both default to test/**
        has_tests = any(is_js_test(p, mocha=mocha) for p in tree.under(root, roots))
        if root in workspaces and not has_tests:
            # a workspace root whose tests are its members': its script only delegates to them
            continue
        if framework is Framework.none and not has_tests and not _has_source(tree, root, roots):
            continue  # a package.json for tooling only (prettier, husky) in another kind of repo
        test, (results, results_path), (coverage, coverage_path) = _commands(
            pkg, framework, words, pm, out
        )
        deps = pkg.deps | (pkgs[ws_root].deps if ws_root != root else frozenset())
        ts = "typescript" in deps or tree.has(join(root, "tsconfig.json"))
        projects.append(
            Project(
                root=root,
                kind=Kind.node,
                language=Language.typescript if ts else Language.javascript,
                package_manager=pm,
                framework=framework,
                install=(_install(tree, pm, ws_root, chain),),
                test=test,
                has_tests=has_tests,
                results_format=results,
                coverage_format=coverage,
                results_glob=results_path,
                coverage_path=coverage_path,
                install_root=ws_root,
                env=(("CI", "true"), *env),  # CI=true: no watch mode, no interactive prompts
            )
        )
    return projects
