"""Whether the tests exercised the change at all (pure).

Four of ten jobs on the small models ended ``done`` with a change that was a stray new file in a
new folder nothing imports: the tests passed because they never ran it. The coverage the runner
already collects says which files the tests ran: when the change touches code files and none of
them ran a single line under the tests (coverage.py and istanbul list only files that were
loaded, or list them at 0 lines), the change is not exercised, and a pass proves nothing about
it. Test files themselves do not count (a test that runs is its own evidence); without any
coverage report there is nothing to judge by, and nothing is said.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import PurePosixPath

from bdg_tester.results.coverage import CoverageReport

CODE_SUFFIXES = frozenset({".py", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".mts", ".cts"})
TEST_FOLDERS = frozenset({"tests", "test", "__tests__", "spec"})


def is_test_file(path: str) -> bool:
    p = PurePosixPath(path)
    name = p.name
    return (
        name.startswith("test_")
        or p.stem.endswith("_test")
        or ".test." in name
        or ".spec." in name
        or name == "conftest.py"
        or any(part in TEST_FOLDERS for part in p.parts[:-1])
    )


def changed_paths(patches: Iterable[str]) -> tuple[str, ...]:
    """Every path the job's patches add or change (their ``+++`` lines), in order, once each;
    deleted files (``+++ /dev/null``) are no code left to run."""
    found: list[str] = []
    for patch in patches:
        for line in patch.splitlines():
            if not line.startswith("+++ "):
                continue
            name = line[4:].split("\t")[0].strip()
            name = name[2:] if name.startswith("b/") else name
            if name and name != "/dev/null" and name not in found:
                found.append(name)
    return tuple(found)


def changed_code(paths: Iterable[str]) -> tuple[str, ...]:
    """The code files of a change that are not tests, in order, once each."""
    found: list[str] = []
    for path in paths:
        suffix = PurePosixPath(path).suffix
        if suffix in CODE_SUFFIXES and not is_test_file(path) and path not in found:
            found.append(path)
    return tuple(found)


def ran_files(reports: Sequence[tuple[str, CoverageReport]]) -> frozenset[str] | None:
    """Workspace paths of the files the tests ran a line of, from each project's (root,
    report); None when no project measured coverage."""
    if not reports:
        return None
    ran: set[str] = set()
    for root, report in reports:
        prefix = "" if root in ("", ".") else root.rstrip("/") + "/"
        ran.update(prefix + f.path for f in report.files if f.lines_covered > 0)
    return frozenset(ran)


def unexercised(changed: Sequence[str], ran: frozenset[str] | None) -> tuple[str, ...]:
    """The changed code files, when not one of them ran under the tests; () when one did, when
    the change has no code file, or when there is no coverage to tell."""
    code = changed_code(changed)
    if ran is None or not code or any(path in ran for path in code):
        return ()
    return code


def unexercised_note(paths: Sequence[str]) -> str:
    listed = ", ".join(f"`{p}`" for p in paths[:10])
    return (
        "## Test analysis\n\nThe change is not exercised by any test: the tests passed, but not "
        f"one line of the changed code ran under them ({listed}). Change the code the tests and "
        "the goal are about (a file nothing imports changes nothing), or add a test that runs "
        "the new code."
    )
