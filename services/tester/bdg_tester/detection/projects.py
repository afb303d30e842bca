"""What detection finds: a project, how to install it, how to run its tests, where results go."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

Argv = tuple[str, ...]


class Kind(StrEnum):
    node = "node"
    python = "python"
    rust = "rust"
    go = "go"
    maven = "maven"
    gradle = "gradle"
    make = "make"


class Language(StrEnum):
    javascript = "javascript"
    typescript = "typescript"
    python = "python"
    rust = "rust"
    go = "go"
    java = "java"
    kotlin = "kotlin"
    unknown = "unknown"


class PackageManager(StrEnum):
    npm = "npm"
    pnpm = "pnpm"
    yarn = "yarn"
    pip = "pip"
    uv = "uv"
    poetry = "poetry"
    cargo = "cargo"
    go = "go"
    maven = "maven"
    gradle = "gradle"
    make = "make"


class Framework(StrEnum):
    pytest = "pytest"
    jest = "jest"
    vitest = "vitest"
    mocha = "mocha"
    node_test = "node-test"  # node's built-in runner, `node --test`
    cargo = "cargo"
    go = "go"
    junit = "junit"
    npm_script = "npm-script"  # a test script we cannot read results from
    make = "make"
    none = "none"  # nothing to run yet (scaffolding may add it)


class ResultsFormat(StrEnum):
    junit_xml = "junit-xml"
    jest_json = "jest-json"
    mocha_json = "mocha-json"
    go_test_json = "go-test-json"
    cargo_text = "cargo-text"
    none = "none"  # only the console output tells


class CoverageFormat(StrEnum):
    coverage_py_json = "coverage-py-json"
    istanbul_summary = "istanbul-summary"


@dataclass(frozen=True)
class Outputs:
    """Where runners write their reports: inside the workspace, so a later `ws.read` finds them
    (each sandbox exec has its own /tmp), under one directory per project."""

    workspace: str = "/workspace"
    results_dir: str = ".bdg-results"

    def relative(self, root: str, name: str) -> str:
        """Workspace-relative path, for reading the file back."""
        slug = "_root_" if root in ("", ".") else root.replace("/", "__")
        return f"{self.results_dir}/{slug}/{name}"

    def absolute(self, root: str, name: str) -> str:
        """Absolute path inside the sandbox, for the runner's arguments (its cwd is the root)."""
        return f"{self.workspace}/{self.relative(root, name)}"


@dataclass(frozen=True)
class Project:
    """One runnable project in a repository.

    Commands are argv tuples, run with cwd = `root` (installs: `install_root`, which is the
    workspace root for a member of an npm/pnpm/yarn/uv workspace). `report` commands run after
    the tests whatever their exit code (coverage export). Results are read from `results_glob`
    (workspace-relative; `**` spans directories) or, when it is None, from the test command's
    stdout.
    """

    root: str
    kind: Kind
    language: Language
    package_manager: PackageManager
    framework: Framework
    install: tuple[Argv, ...]
    test: Argv
    has_tests: bool
    results_format: ResultsFormat
    coverage_format: CoverageFormat | None
    results_glob: str | None = None
    coverage_path: str | None = None
    report: tuple[Argv, ...] = ()
    install_root: str = "."
    env: tuple[tuple[str, str], ...] = ()
