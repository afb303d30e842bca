"""Cargo, Go, Maven, Gradle and Make projects.

A Cargo workspace, a Maven aggregator (`<modules>`) and a Gradle build with a settings file each
test all their members in one run, so their members are not projects of their own.
"""

from __future__ import annotations

import re
import tomllib

from bdg_tester.detection.projects import (
    Argv,
    Framework,
    Kind,
    Language,
    Outputs,
    PackageManager,
    Project,
    ResultsFormat,
)
from bdg_tester.detection.tree import (
    Tree,
    in_fixture_dir,
    is_any_test,
    is_go_test,
    is_jvm_test,
    is_rust_test,
    is_under,
    join,
    parent,
)

_MAKE_TEST = re.compile(r"^test\s*:(?!=)", re.M)  # a `test:` rule, not `test := value`
MAKEFILES = ("GNUmakefile", "makefile", "Makefile")


def _roots(tree: Tree, *names: str) -> list[str]:
    return sorted({parent(p) for p in tree.named(*names) if not in_fixture_dir(p)})


def _inside(root: str, aggregators: set[str]) -> bool:
    return any(a != root and is_under(root, a) for a in aggregators)


def _cargo_workspace(text: str) -> bool:
    try:
        return "workspace" in tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return "[workspace]" in text


def detect_rust(tree: Tree, out: Outputs) -> list[Project]:
    roots = _roots(tree, "Cargo.toml")
    workspaces = {r for r in roots if _cargo_workspace(tree.text(join(r, "Cargo.toml")))}
    projects = []
    for root in roots:
        if _inside(root, workspaces):
            continue
        whole = ("--workspace",) if root in workspaces else ()
        has_tests = any(is_rust_test(rel, tree.text(join(root, rel))) for rel in tree.under(root))
        projects.append(
            Project(
                root=root,
                kind=Kind.rust,
                language=Language.rust,
                package_manager=PackageManager.cargo,
                framework=Framework.cargo,
                # dependencies are fetched while the registry is reachable; tests run offline
                install=(("cargo", "fetch"),),
                # no-fail-fast: every test binary runs, not only those before the first failure
                test=("cargo", "test", *whole, "--no-fail-fast"),
                has_tests=has_tests,
                results_format=ResultsFormat.cargo_text,
                coverage_format=None,
                # a backtrace per panic would bury the failures; the panic line has the location
                env=(("RUST_BACKTRACE", "0"), ("CARGO_TERM_COLOR", "never")),
            )
        )
    return projects


def detect_go(tree: Tree, out: Outputs) -> list[Project]:
    roots = _roots(tree, "go.mod")
    return [
        Project(
            root=root,
            kind=Kind.go,
            language=Language.go,
            package_manager=PackageManager.go,
            framework=Framework.go,
            install=(("go", "mod", "download"),),
            # `./...` stops at nested modules, which are projects of their own
            test=("go", "test", "-json", "./..."),
            has_tests=any(is_go_test(p) for p in tree.under(root, frozenset(roots))),
            results_format=ResultsFormat.go_test_json,
            coverage_format=None,
        )
        for root in roots
    ]


def _jvm_language(tree: Tree, root: str) -> Language:
    kotlin = tree.has(join(root, "build.gradle.kts")) or any(
        p.endswith(".kt") for p in tree.under(root)
    )
    return Language.kotlin if kotlin else Language.java


def detect_maven(tree: Tree, out: Outputs) -> list[Project]:
    roots = _roots(tree, "pom.xml")
    aggregators = {r for r in roots if "<modules>" in tree.text(join(r, "pom.xml"))}
    projects = []
    for root in roots:
        if _inside(root, aggregators):
            continue
        mvn: Argv = ("./mvnw",) if tree.has(join(root, "mvnw")) else ("mvn",)
        projects.append(
            Project(
                root=root,
                kind=Kind.maven,
                language=_jvm_language(tree, root),
                package_manager=PackageManager.maven,
                framework=Framework.junit,
                install=((*mvn, "-B", "-q", "dependency:go-offline"),),
                # -fae: the other modules still run their tests after one fails
                test=(*mvn, "-B", "-q", "-fae", "test"),
                has_tests=any(is_jvm_test(p) for p in tree.under(root)),
                results_format=ResultsFormat.junit_xml,
                coverage_format=None,
                results_glob=join(root, "**/target/surefire-reports/TEST-*.xml"),
            )
        )
    return projects


def detect_gradle(tree: Tree, out: Outputs) -> list[Project]:
    settings = set(_roots(tree, "settings.gradle", "settings.gradle.kts"))
    roots = sorted(set(_roots(tree, "build.gradle", "build.gradle.kts")) | settings)
    projects = []
    for root in roots:
        if _inside(root, settings):
            continue
        gradle: Argv = ("./gradlew",) if tree.has(join(root, "gradlew")) else ("gradle",)
        projects.append(
            Project(
                root=root,
                kind=Kind.gradle,
                language=_jvm_language(tree, root),
                package_manager=PackageManager.gradle,
                framework=Framework.junit,
                # compiling the tests is what makes Gradle download every test dependency while
                # the registry is reachable; compile errors show up here (analysis tells them)
                install=((*gradle, "testClasses", "--console=plain"),),
                test=(*gradle, "test", "--continue", "--console=plain"),
                has_tests=any(is_jvm_test(p) for p in tree.under(root)),
                results_format=ResultsFormat.junit_xml,
                coverage_format=None,
                results_glob=join(root, "**/build/test-results/**/TEST-*.xml"),
            )
        )
    return projects


def detect_make(tree: Tree, out: Outputs, taken: set[str]) -> list[Project]:
    """A Makefile's `test` target, where no other kind of project was found at that root."""
    projects = []
    for root in _roots(tree, *MAKEFILES):
        if root in taken:
            continue
        text = next((tree.text(join(root, n)) for n in MAKEFILES if tree.has(join(root, n))), "")
        if not _MAKE_TEST.search(text):
            continue
        has_tests = any(is_any_test(rel, tree.text(join(root, rel))) for rel in tree.under(root))
        projects.append(
            Project(
                root=root,
                kind=Kind.make,
                language=Language.unknown,
                package_manager=PackageManager.make,
                framework=Framework.make,
                install=(),
                test=("make", "test"),
                has_tests=has_tests,
                results_format=ResultsFormat.none,
                coverage_format=None,
            )
        )
    return projects
