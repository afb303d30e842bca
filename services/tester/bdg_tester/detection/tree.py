"""A project's files as a mapping {relative posix path: text}, and what in it looks like a test.

Detection and scaffolding read only this mapping, so their tests need no disk; `read_tree` is the
one place that reads a directory to build it.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# Installed dependencies and build outputs: never a project, never the project's tests.
SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", "node_modules", ".venv", "venv", "env", "__pycache__", ".tox",
        ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", "dist", "build", "vendor",
        "target", ".gradle", ".next", ".nuxt", ".turbo", ".cache", "coverage", "site-packages",
        ".bdg-results", ".eggs",
    }
)  # fmt: skip
# Manifests found below these are test data of another project, not projects of their own.
FIXTURE_DIRS = frozenset(
    {"test", "tests", "__tests__", "fixtures", "__fixtures__", "testdata", "test-data"}
)
MANIFESTS = frozenset(
    {
        "package.json", "pnpm-workspace.yaml", "pyproject.toml", "setup.cfg", "setup.py",
        "tox.ini", "pytest.ini", "Cargo.toml", "go.mod", "pom.xml", "build.gradle",
        "build.gradle.kts", "settings.gradle", "settings.gradle.kts", "Makefile", "makefile",
        "GNUmakefile", ".yarnrc.yml", "tsconfig.json",
    }
)  # fmt: skip
_REQUIREMENTS = re.compile(r"(^|.*[-_])requirements([-_].*)?\.(txt|in)$|^requirements/.+\.txt$")


def join(root: str, name: str) -> str:
    return name if root in ("", ".") else f"{root}/{name}"


def parent(path: str) -> str:
    head = path.rpartition("/")[0]
    return head or "."


def is_under(path: str, root: str) -> bool:
    return root in ("", ".") or path == root or path.startswith(root + "/")


def relative(path: str, root: str) -> str:
    return path if root in ("", ".") else path[len(root) + 1 :]


def glob_match(path: str, pattern: str) -> bool:
    """Workspace globs: `*` is one path segment, `**` any number of them."""
    parts, pats = path.split("/"), pattern.removeprefix("./").rstrip("/").split("/")

    def match(i: int, j: int) -> bool:
        if j == len(pats):
            return i == len(parts)
        if pats[j] == "**":
            return any(match(k, j + 1) for k in range(i, len(parts) + 1))
        return i < len(parts) and fnmatch.fnmatchcase(parts[i], pats[j]) and match(i + 1, j + 1)

    return match(0, 0)


def is_member(root: str, ws_root: str, patterns: tuple[str, ...]) -> bool:
    if root == ws_root or not is_under(root, ws_root):
        return False
    rel = relative(root, ws_root)
    included = any(glob_match(rel, p) for p in patterns if not p.startswith("!"))
    excluded = any(glob_match(rel, p[1:]) for p in patterns if p.startswith("!"))
    return included and not excluded


def is_requirements(name: str) -> bool:
    return bool(_REQUIREMENTS.match(name))


def is_manifest(path: str) -> bool:
    name = path.rpartition("/")[2]
    return name in MANIFESTS or is_requirements(name) or is_requirements(path)


def wants_text(path: str) -> bool:
    """Files whose content detection reads: manifests, and Rust sources (tests live inline)."""
    return is_manifest(path) or path.endswith(".rs")


def _skipped(path: str) -> bool:
    return any(part in SKIP_DIRS for part in path.split("/")[:-1])


def in_fixture_dir(path: str) -> bool:
    return any(part in FIXTURE_DIRS for part in path.split("/")[:-1])


@dataclass(frozen=True)
class Tree:
    """The files of a repository; content is empty for files nobody asked to read."""

    files: Mapping[str, str]

    def has(self, path: str) -> bool:
        return path in self.files

    def text(self, path: str) -> str:
        return self.files.get(path, "")

    def named(self, *names: str) -> list[str]:
        """Paths (outside skipped directories) whose file name is one of `names`, sorted."""
        wanted = set(names)
        return sorted(p for p in self.files if p.rpartition("/")[2] in wanted and not _skipped(p))

    def under(self, root: str, exclude: frozenset[str] = frozenset()) -> Iterator[str]:
        """Paths below `root`, relative to it, leaving out nested project roots in `exclude`."""
        nested = [r for r in exclude if r != root and is_under(r, root)]
        for path in sorted(self.files):
            if _skipped(path) or not is_under(path, root):
                continue
            if any(is_under(path, n) for n in nested):
                continue
            yield relative(path, root)


def read_tree(
    root: Path,
    *,
    want: Callable[[str], bool] = wants_text,
    max_files: int = 50_000,
    max_file_bytes: int = 512 * 1024,
) -> dict[str, str]:
    """Build the mapping from a directory: every file listed, text read only where `want` says.

    Skipped directories are not entered, symlinks are not followed (a workspace may hold links
    out of it), and the caps bound the work on a huge repository.
    """
    out: dict[str, str] = {}
    for current, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        base = PurePosixPath(Path(current).relative_to(root).as_posix())
        for name in sorted(names):
            if len(out) >= max_files:
                return out
            rel = str(base / name) if str(base) != "." else name
            full = Path(current) / name
            text = ""
            if want(rel) and not full.is_symlink():
                try:
                    if full.stat().st_size <= max_file_bytes:
                        text = full.read_text(encoding="utf-8", errors="replace")
                except OSError:
                    text = ""
            out[rel] = text
    return out


# What a test file looks like, per language. Paths are relative to the project root.
_JS_TEST = re.compile(r"\.(test|spec)\.[cm]?[jt]sx?$")
_JS_SOURCE = re.compile(r"\.[cm]?[jt]sx?$")


def _dirs(path: str) -> list[str]:
    return path.split("/")[:-1]


def is_python_test(path: str) -> bool:
    name = path.rpartition("/")[2]
    if not name.endswith(".py"):
        return False
    if name.startswith("test_") or name.endswith("_test.py"):
        return True
    in_tests = any(d in ("tests", "test") for d in _dirs(path))
    return in_tests and name not in ("__init__.py", "conftest.py")


def is_js_test(path: str, *, mocha: bool = False) -> bool:
    if _JS_TEST.search(path):
        return True
    if not _JS_SOURCE.search(path):
        return False
    dirs = _dirs(path)
    # mocha's default spec directory is ./test, whatever the file is called
    return "__tests__" in dirs or (mocha and bool(dirs) and dirs[0] in ("test", "tests"))


def is_go_test(path: str) -> bool:
    return path.endswith("_test.go")


def is_rust_test(path: str, text: str) -> bool:
    if not path.endswith(".rs"):
        return False
    return "tests" in _dirs(path) or "#[test]" in text or "#[cfg(test)]" in text


def is_jvm_test(path: str) -> bool:
    return "src/test/" in f"/{path}" and path.endswith((".java", ".kt", ".groovy", ".scala"))


def is_any_test(path: str, text: str = "") -> bool:
    return (
        is_python_test(path)
        or is_js_test(path)
        or is_go_test(path)
        or is_rust_test(path, text)
        or is_jvm_test(path)
    )
