"""Project detection over file mappings: the projects, and the argv that install and test each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bdg_tester.detection.detect import (
    CoverageFormat,
    Framework,
    Kind,
    Language,
    Outputs,
    PackageManager,
    Project,
    ResultsFormat,
    detect_directory,
    detect_projects,
)
from bdg_tester.detection.tree import glob_match, read_tree

pytestmark = pytest.mark.timeout(30)

OUT = "/workspace/.bdg-results/_root_"


def pkg(**fields: object) -> str:
    return json.dumps({"name": "app", "version": "1.0.0", **fields})


def only(files: dict[str, str]) -> Project:
    projects = detect_projects(files)
    assert len(projects) == 1, projects
    return projects[0]


def by_root(files: dict[str, str]) -> dict[str, Project]:
    return {p.root: p for p in detect_projects(files)}


# --- node -------------------------------------------------------------------------------------


def test_vitest_with_coverage_provider_writes_junit_and_istanbul_summary() -> None:
    project = only(
        {
            "package.json": pkg(
                type="module",
                scripts={"test": "vitest"},
                devDependencies={"vitest": "^3", "@vitest/coverage-v8": "^3", "typescript": "^5"},
            ),
            "package-lock.json": "{}",
            "src/math.ts": "",
            "src/math.test.ts": "",
        }
    )
    assert (project.kind, project.language) == (Kind.node, Language.typescript)
    assert (project.framework, project.package_manager) == (Framework.vitest, PackageManager.npm)
    assert project.install == (("npm", "ci", "--no-audit", "--no-fund"),)
    assert project.test == (
        "npx", "--no-install", "vitest", "run", "--reporter=default", "--reporter=junit",
        f"--outputFile.junit={OUT}/junit.xml", "--coverage.enabled",
        "--coverage.reporter=json-summary", "--coverage.reportOnFailure",
        f"--coverage.reportsDirectory={OUT}/coverage",
    )  # fmt: skip
    assert project.results_format is ResultsFormat.junit_xml
    assert project.results_glob == ".bdg-results/_root_/junit.xml"
    assert project.coverage_format is CoverageFormat.istanbul_summary
    assert project.coverage_path == ".bdg-results/_root_/coverage/coverage-summary.json"
    assert project.has_tests
    assert ("CI", "true") in project.env


def test_vitest_without_a_coverage_provider_runs_without_coverage() -> None:
    """vitest fails outright on --coverage when no provider package is installed."""
    project = only({"package.json": pkg(devDependencies={"vitest": "^3"}), "a.spec.js": ""})
    assert not any("coverage" in arg for arg in project.test)
    assert project.coverage_format is None
    assert project.coverage_path is None


def test_jest_json_report_and_coverage() -> None:
    project = only(
        {
            "package.json": pkg(scripts={"test": "jest"}, devDependencies={"jest": "^29"}),
            "yarn.lock": "",
            "__tests__/cart.js": "",
        }
    )
    assert (project.framework, project.package_manager) == (Framework.jest, PackageManager.yarn)
    assert project.install == (("yarn", "install", "--frozen-lockfile"),)
    assert project.test == (
        "yarn", "jest", "--ci", "--json", f"--outputFile={OUT}/jest.json", "--coverage",
        "--coverageReporters=json-summary", f"--coverageDirectory={OUT}/coverage",
    )  # fmt: skip
    assert project.results_format is ResultsFormat.jest_json
    assert project.has_tests  # a file under __tests__ is a test whatever its name


def test_script_arguments_are_kept_but_not_watch_or_reporters_and_env_is_lifted() -> None:
    project = only(
        {
            "package.json": pkg(
                scripts={"test": "NODE_ENV=test jest --watch --config jest.unit.js --reporters=x"},
                devDependencies={"jest": "^29"},
            )
        }
    )
    assert project.test[:5] == ("npx", "--no-install", "jest", "--config", "jest.unit.js")
    assert "--watch" not in project.test
    assert "--reporters=x" not in project.test
    assert ("NODE_ENV", "test") in project.env


def test_react_scripts_runs_jest_through_react_scripts() -> None:
    project = only(
        {
            "package.json": pkg(
                scripts={"test": "react-scripts test"}, dependencies={"react-scripts": "5"}
            ),
            "src/App.test.js": "",
        }
    )
    assert project.framework is Framework.jest
    assert project.test[:5] == ("npx", "--no-install", "react-scripts", "test", "--watchAll=false")
    assert "--json" in project.test


def test_mocha_json_reporter_and_c8_coverage() -> None:
    project = only(
        {
            "package.json": pkg(
                scripts={"test": "mocha"}, devDependencies={"mocha": "10", "c8": "9"}
            ),
            "test/greet.js": "",
        }
    )
    assert project.framework is Framework.mocha
    assert project.test == (
        "npx", "--no-install", "c8", "--reporter=json-summary", f"--reports-dir={OUT}/coverage",
        "mocha", "--reporter", "json", "--reporter-option", f"output={OUT}/mocha.json",
    )  # fmt: skip
    assert project.results_format is ResultsFormat.mocha_json
    assert project.has_tests  # mocha's ./test directory


def test_unknown_test_script_runs_through_the_package_manager_without_a_report() -> None:
    project = only(
        {"package.json": pkg(scripts={"test": "node run-tests.js"}), "pnpm-lock.yaml": ""}
    )
    assert project.framework is Framework.npm_script
    assert project.test == ("pnpm", "test")
    assert project.install == (("pnpm", "install", "--frozen-lockfile"),)
    assert project.results_format is ResultsFormat.none


def test_npm_placeholder_script_means_no_tests_to_run() -> None:
    placeholder = 'echo "Error: no test specified" && exit 1'
    project = only({"package.json": pkg(scripts={"test": placeholder}), "index.js": ""})
    assert project.framework is Framework.none
    assert project.test == ()
    assert not project.has_tests
    assert project.install == (("npm", "install", "--no-audit", "--no-fund"),)


def test_package_manager_field_wins_over_lock_files_and_yarn_berry_is_immutable() -> None:
    project = only(
        {
            "package.json": pkg(packageManager="yarn@4.1.0", devDependencies={"vitest": "3"}),
            "package-lock.json": "{}",
            "yarn.lock": "",
        }
    )
    assert project.package_manager is PackageManager.yarn
    assert project.install == (("yarn", "install", "--immutable"),)
    assert project.test[:2] == ("yarn", "vitest")


def test_npm_workspace_members_install_at_the_root_and_the_root_is_skipped() -> None:
    files = {
        "package.json": pkg(
            private=True, workspaces=["packages/*"], scripts={"test": "npm -ws test"}
        ),
        "package-lock.json": "{}",
        "packages/web/package.json": pkg(name="web", devDependencies={"vitest": "3"}),
        "packages/web/src/a.test.ts": "",
        "packages/api/package.json": pkg(name="api", devDependencies={"jest": "29"}),
        "packages/api/src/a.js": "",
        "packages/api/node_modules/dep/package.json": pkg(name="dep"),
    }
    projects = by_root(files)
    assert sorted(projects) == ["packages/api", "packages/web"]
    web, api = projects["packages/web"], projects["packages/api"]
    assert web.install_root == api.install_root == "."
    assert web.install == (("npm", "ci", "--no-audit", "--no-fund"),)
    assert (web.framework, web.has_tests) == (Framework.vitest, True)
    assert (api.framework, api.has_tests) == (Framework.jest, False)
    assert "/packages__web/" in web.test[-1]  # each project reports into its own directory


def test_pnpm_workspace_yaml_lists_the_members() -> None:
    files = {
        "package.json": pkg(private=True),
        "pnpm-workspace.yaml": "packages:\n  - 'apps/*'\n  - \"libs/**\"\n  - '!libs/skip'\n",
        "apps/site/package.json": pkg(devDependencies={"vitest": "3"}),
        "libs/ui/button/package.json": pkg(devDependencies={"vitest": "3"}),
        "libs/skip/package.json": pkg(devDependencies={"vitest": "3"}),
    }
    projects = by_root(files)
    assert projects["apps/site"].install_root == "."
    assert projects["apps/site"].package_manager is PackageManager.pnpm
    assert projects["libs/ui/button"].install_root == "."
    assert projects["libs/skip"].install_root == "libs/skip"  # excluded by the negation


def test_a_workspace_root_with_its_own_tests_is_a_project_too() -> None:
    files = {
        "package.json": pkg(workspaces=["pkgs/*"], devDependencies={"vitest": "3"}),
        "e2e/flow.test.ts": "",
        "pkgs/a/package.json": pkg(),
        "pkgs/a/a.test.ts": "",
    }
    projects = by_root(files)
    assert sorted(projects) == [".", "pkgs/a"]
    assert projects["."].has_tests


def test_manifests_in_fixture_and_dependency_directories_are_not_projects() -> None:
    files = {
        "package.json": pkg(devDependencies={"jest": "29"}),
        "test/fixtures/sample/package.json": pkg(),
        "node_modules/jest/package.json": pkg(),
        ".venv/lib/site-packages/x/pyproject.toml": "",
        "node_modules/gyp/requirements.txt": "",
        "dist/package.json": pkg(),
    }
    assert [p.root for p in detect_projects(files)] == ["."]


def test_invalid_package_json_is_skipped_not_fatal() -> None:
    assert detect_projects({"package.json": "{not json"}) == []


# --- python -----------------------------------------------------------------------------------

PYPROJECT = """
[project]
name = "calc"
dependencies = ["requests>=2"]

[project.optional-dependencies]
test = ["pytest>=8", "pytest-cov"]
docs = ["sphinx"]
"""


def test_pyproject_with_test_extra_and_pytest_cov() -> None:
    project = only(
        {"pyproject.toml": PYPROJECT, "src/calc/__init__.py": "", "tests/test_ops.py": ""}
    )
    assert (project.kind, project.framework) == (Kind.python, Framework.pytest)
    assert project.package_manager is PackageManager.pip
    assert project.install == (("python", "-m", "pip", "install", "-e", ".[test]"),)
    assert project.test == (
        "python", "-m", "pytest", "-p", "no:cacheprovider", "--color=no", "-o",
        "junit_family=xunit1", f"--junitxml={OUT}/junit.xml", "--cov=calc",
        f"--cov-report=json:{OUT}/coverage.json",
    )  # fmt: skip
    assert project.report == ()
    assert project.coverage_format is CoverageFormat.coverage_py_json
    assert ("COVERAGE_FILE", f"{OUT}/.coverage") in project.env
    assert project.has_tests


def test_without_pytest_cov_coverage_runs_pytest_and_exports_json() -> None:
    files = {
        "requirements.txt": "flask==3.0\n",
        "requirements-dev.txt": "-r requirements.txt\npytest==8.2  # tests\n",
        "docs/requirements.txt": "sphinx\n",
        "app/__init__.py": "",
        "app/test_views.py": "",
    }
    project = only(files)  # docs/requirements.txt is not a project of its own
    assert project.install == (
        ("python", "-m", "pip", "install", "-r", "requirements-dev.txt", "-r", "requirements.txt"),
        ("python", "-m", "pip", "install", "coverage"),
    )
    assert project.test[:7] == ("python", "-m", "coverage", "run", "--source=app", "-m", "pytest")
    assert project.report == (("python", "-m", "coverage", "json", "-o", f"{OUT}/coverage.json"),)


def test_nothing_declared_installs_pytest_and_coverage_and_setup_cfg_is_installable() -> None:
    files = {
        "setup.cfg": "[metadata]\nname = lib\n[options]\npackages = find:\n",
        "lib/__init__.py": "",
        "lib/core.py": "",
    }
    project = only(files)
    assert project.install == (
        ("python", "-m", "pip", "install", "-e", "."),
        ("python", "-m", "pip", "install", "pytest", "coverage"),
    )
    assert not project.has_tests


def test_tox_ini_declaring_pytest_cov_counts() -> None:
    files = {"tox.ini": "[testenv]\ndeps =\n    pytest\n    pytest-cov\n", "test_x.py": ""}
    project = only(files)
    assert "--cov" in project.test
    assert project.install == ()


def test_uv_and_poetry_projects_run_through_their_tool() -> None:
    uv = only({"pyproject.toml": PYPROJECT, "uv.lock": "", "tests/test_a.py": ""})
    assert uv.package_manager is PackageManager.uv
    assert uv.install == (("uv", "sync", "--all-extras"),)
    assert uv.test[:6] == ("uv", "run", "--no-sync", "python", "-m", "pytest")
    poetry_toml = '[tool.poetry]\nname = "x"\n[tool.poetry.group.dev.dependencies]\npytest = "^8"\n'
    poetry = only({"pyproject.toml": poetry_toml, "tests/test_a.py": ""})
    assert poetry.package_manager is PackageManager.poetry
    assert poetry.install == (
        ("poetry", "install", "--all-extras"),
        ("poetry", "run", "python", "-m", "pip", "install", "coverage"),
    )


def test_uv_workspace_members_share_the_roots_install_and_dev_tools() -> None:
    root = (
        '[project]\nname = "mono"\n[tool.uv.workspace]\nmembers = ["libs/*"]\n'
        '[dependency-groups]\ndev = ["pytest>=8", "pytest-cov"]\n'
    )
    files = {
        "pyproject.toml": root,
        "uv.lock": "",
        "tests/test_all.py": "",
        "libs/core/pyproject.toml": '[project]\nname = "core"\n',
        "libs/core/src/core/__init__.py": "",
    }
    projects = by_root(files)
    member = projects["libs/core"]
    assert member.install_root == "."
    assert member.install == (("uv", "sync", "--all-extras"),)  # pytest comes from the root
    assert "--cov=core" in member.test
    assert "--cov=core" in projects["."].test  # the root's tests cover the members' code


# --- other ecosystems -------------------------------------------------------------------------


def test_cargo_workspace_is_one_project_and_members_are_not() -> None:
    files = {
        "Cargo.toml": '[workspace]\nmembers = ["crates/*"]\n',
        "crates/core/Cargo.toml": '[package]\nname = "core"\n',
        "crates/core/src/lib.rs": "#[cfg(test)]\nmod tests {\n    #[test]\n    fn t() {}\n}\n",
    }
    project = only(files)
    assert project.kind is Kind.rust
    assert project.test == ("cargo", "test", "--workspace", "--no-fail-fast")
    assert project.install == (("cargo", "fetch"),)
    assert project.results_format is ResultsFormat.cargo_text
    assert project.results_glob is None  # parsed from stdout
    assert project.has_tests
    assert ("RUST_BACKTRACE", "0") in project.env


def test_rust_without_tests() -> None:
    project = only({"Cargo.toml": '[package]\nname = "x"\n', "src/main.rs": "fn main() {}\n"})
    assert not project.has_tests


def test_go_modules_nested_are_separate_projects() -> None:
    files = {
        "go.mod": "module example.com/a\n",
        "pkg/x_test.go": "",
        "tools/go.mod": "module example.com/tools\n",
        "tools/main.go": "",
    }
    projects = by_root(files)
    assert projects["."].test == ("go", "test", "-json", "./...")
    assert projects["."].has_tests
    assert not projects["tools"].has_tests
    assert projects["."].results_format is ResultsFormat.go_test_json


def test_maven_aggregator_covers_its_modules_and_prefers_the_wrapper() -> None:
    files = {
        "pom.xml": "<project><modules><module>core</module></modules></project>",
        "mvnw": "",
        "core/pom.xml": "<project/>",
        "core/src/test/java/demo/CalcTest.java": "",
    }
    project = only(files)
    assert project.kind is Kind.maven
    assert project.test == ("./mvnw", "-B", "-q", "-fae", "test")
    assert project.install == (("./mvnw", "-B", "-q", "dependency:go-offline"),)
    assert project.results_glob == "**/target/surefire-reports/TEST-*.xml"
    assert project.has_tests
    assert project.language is Language.java


def test_gradle_with_settings_and_wrapper() -> None:
    files = {
        "settings.gradle.kts": 'include("app")',
        "gradlew": "",
        "app/build.gradle.kts": "",
        "app/src/test/kotlin/AppTest.kt": "",
    }
    project = only(files)
    assert project.kind is Kind.gradle
    assert project.language is Language.kotlin
    assert project.test == ("./gradlew", "test", "--continue", "--console=plain")
    assert project.results_glob == "**/build/test-results/**/TEST-*.xml"
    assert project.has_tests


def test_makefile_test_target_only_where_nothing_else_was_found() -> None:
    files = {
        "Makefile": "CFLAGS := -O2\ntest: build\n\t./run_tests.sh\n",
        "tests/check_parser.c": "",
        "py/Makefile": "test:\n\tpytest\n",
        "py/pyproject.toml": '[project]\nname = "p"\n',
        "docs/Makefile": "test := nothing\nhtml:\n\tsphinx-build\n",
    }
    projects = by_root(files)
    assert projects["."].kind is Kind.make
    assert projects["."].test == ("make", "test")
    assert projects["."].results_format is ResultsFormat.none
    assert projects["py"].kind is Kind.python  # the Makefile there only wraps pytest
    assert "docs" not in projects


def test_a_monorepo_with_several_kinds_sorted_root_first() -> None:
    files = {
        "package.json": pkg(devDependencies={"vitest": "3"}),
        "web.test.js": "",
        "api/pyproject.toml": '[project]\nname = "api"\n',
        "api/tests/test_api.py": "",
        "svc/go.mod": "module svc\n",
        "svc/main_test.go": "",
    }
    assert [(p.root, p.kind) for p in detect_projects(files)] == [
        (".", Kind.node),
        ("api", Kind.python),
        ("svc", Kind.go),
    ]


def test_commands_are_argv_tuples_of_plain_strings() -> None:
    files = {"package.json": pkg(devDependencies={"jest": "29"}), "pyproject.toml": PYPROJECT}
    for project in detect_projects(files):
        for argv in (*project.install, project.test, *project.report):
            assert isinstance(argv, tuple)
            assert all(isinstance(a, str) and a for a in argv)


def test_outputs_can_point_elsewhere() -> None:
    out = Outputs(workspace="/w", results_dir="reports")
    project = detect_projects({"app/pyproject.toml": PYPROJECT}, out)[0]
    assert "--junitxml=/w/reports/app/junit.xml" in project.test
    assert project.results_glob == "reports/app/junit.xml"


def test_detection_is_deterministic_whatever_the_mapping_order() -> None:
    files = {
        "b/package.json": pkg(devDependencies={"jest": "29"}),
        "a/pyproject.toml": PYPROJECT,
        "c/go.mod": "module c\n",
    }
    reversed_files = dict(reversed(list(files.items())))
    assert detect_projects(files) == detect_projects(reversed_files)


@pytest.mark.parametrize(
    ("path", "pattern", "expected"),
    [
        ("packages/a", "packages/*", True),
        ("packages/a/b", "packages/*", False),
        ("packages/a/b", "packages/**", True),
        ("apps/x", "./apps/*", True),
        ("libs/x", "apps/*", False),
    ],
)
def test_workspace_globs(path: str, pattern: str, expected: bool) -> None:
    assert glob_match(path, pattern) is expected


# --- reading a directory ----------------------------------------------------------------------


def test_read_tree_lists_files_reads_only_manifests_and_skips_dependencies(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.test.js").write_text("big test body")
    (tmp_path / "package.json").write_text(pkg(devDependencies={"vitest": "3"}))
    (tmp_path / "node_modules" / "vitest").mkdir(parents=True)
    (tmp_path / "node_modules" / "vitest" / "package.json").write_text(pkg())
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("no")
    (tmp_path / "link").symlink_to(outside, target_is_directory=True)

    files = read_tree(tmp_path)
    assert files == {"package.json": (tmp_path / "package.json").read_text(), "src/app.test.js": ""}
    projects = detect_directory(tmp_path)
    assert [(p.framework, p.has_tests) for p in projects] == [(Framework.vitest, True)]


def test_read_tree_caps_the_number_of_files(tmp_path: Path) -> None:
    for i in range(20):
        (tmp_path / f"f{i:02}.txt").write_text("x")
    assert len(read_tree(tmp_path, max_files=5)) == 5


def test_tooling_manifests_in_another_kind_of_repo_are_not_projects() -> None:
    files = {
        "package.json": pkg(devDependencies={"prettier": "3", "husky": "9"}),
        "requirements.txt": "flask\n",
        "go.mod": "module tool\n",
        "main.go": "",
        "main_test.go": "",
    }
    assert [(p.root, p.kind) for p in detect_projects(files)] == [(".", Kind.go)]


def test_a_package_json_with_sources_but_no_tests_is_a_project_to_scaffold() -> None:
    project = only({"package.json": pkg(), "src/index.js": "export const x = 1;\n"})
    assert (project.framework, project.has_tests, project.test) == (Framework.none, False, ())
