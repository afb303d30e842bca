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

from collections.abc import Iterable, Iterator, Sequence
from pathlib import PurePosixPath

from bdg_contracts.source_kinds import is_test_path
from bdg_tester.results.coverage import CoverageReport

CODE_SUFFIXES = frozenset({".py", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".mts", ".cts"})
# Python files run as programs, not imported: no test need load them.
_ENTRIES = frozenset({"setup.py", "__main__.py", "manage.py", "noxfile.py", "conf.py"})


def _headers(patches: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(old, new) path of each file header of the patches, in order, ``a/`` and ``b/`` taken
    off; ``/dev/null`` for a file created (old) or deleted (new)."""
    for patch in patches:
        old = ""
        for line in patch.splitlines():
            if line.startswith(("--- ", "+++ ")):
                name = line[4:].split("\t")[0].strip()
                name = name[2:] if name[:2] in ("a/", "b/") else name
                if line.startswith("--- "):
                    old = name
                else:
                    yield old, name


def changed_paths(patches: Iterable[str]) -> tuple[str, ...]:
    """Every path the job's patches add or change (their ``+++`` lines), in order, once each;
    deleted files (``+++ /dev/null``) are no code left to run."""
    found = [new for _, new in _headers(patches) if new and new != "/dev/null"]
    return tuple(dict.fromkeys(found))


def added_paths(patches: Iterable[str]) -> tuple[str, ...]:
    """The files the job's patches create (``--- /dev/null``) and no later patch deletes, in
    order, once each."""
    added: list[str] = []
    for old, new in _headers(patches):
        if new == "/dev/null":
            added = [path for path in added if path != old]
        elif old == "/dev/null" and new not in added:
            added.append(new)
    return tuple(added)


def changed_code(paths: Iterable[str]) -> tuple[str, ...]:
    """The code files of a change that are not tests, in order, once each."""
    found: list[str] = []
    for path in paths:
        suffix = PurePosixPath(path).suffix
        if suffix in CODE_SUFFIXES and not is_test_path(path) and path not in found:
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


def unexercised(
    changed: Sequence[str], ran: frozenset[str] | None, added: Sequence[str] = ()
) -> tuple[str, ...]:
    """The changed code files, when not one of them ran under the tests; else the new Python
    modules the change adds that the tests never loaded. () when there is no coverage to tell.

    A new module nothing imports is dead code: a refactor that was to move a function into one
    (py-refactor-slugify on the agent bench) reached the deploy approval with the function
    copied beside its callers and the new module holding only a self-import. Python only:
    coverage.py lists every module a test loaded, while a JavaScript project's new files include
    what no unit test loads by design (a service worker, a bundler's config)."""
    code = changed_code(changed)
    if ran is None or not code:
        return ()
    if not any(path in ran for path in code):
        return code
    modules = [p for p in changed_code(added) if p.endswith(".py") and p in code]
    return tuple(p for p in modules if p not in ran and PurePosixPath(p).name not in _ENTRIES)


def unexercised_note(paths: Sequence[str], none_ran: bool = True) -> str:
    listed = ", ".join(f"`{p}`" for p in paths[:10])
    if not none_ran:
        return (
            "## Test analysis\n\nThe change adds code no test runs: the tests passed, but they "
            f"never loaded {listed}. A new module nothing imports changes nothing: make the code "
            "the goal is about use it, or add a test that runs it."
        )

    return (
        "## Test analysis\n\nThe change is not exercised by any test: the tests passed, but not "
        f"one line of the changed code ran under them ({listed}). Change the code the tests and "
        "the goal are about (a file nothing imports changes nothing), or add a test that runs "
        "the new code."
    )
