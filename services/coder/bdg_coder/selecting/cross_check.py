"""Candidates judged by each other's tests, apart from any I/O (CodeT's dual agreement, made
strict by a fail-to-pass proof).

Each candidate's change is cut in two: its code (sections on source files) and its tests
(sections on test files). A candidate's tests are *proven* when the visible tests, run on the
base with those tests added, fail: they tell the goal's behaviour from the base's. A candidate's
code then *agrees* with each proven test set that passes on it (the base plus that code plus
those tests). The code agreeing with the most proven tests is the likeliest right (a wrong code
fails the others' proven tests; a test that fails on everything agrees with no code), and it
ships with a proven test that passes on it: its own when its own is proven, else another
candidate's. A small model often writes the right code beside a test that passes on the base
too, which the tester's fail-to-pass rule rightly refuses; the other candidates' tests rescue it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bdg_contracts.source_kinds import is_test_path

HEADER = "diff --git a/"


@dataclass(frozen=True)
class Parts:
    """One candidate's change cut in two, each a valid patch on its own ("" when empty)."""

    code: str
    tests: str
    code_paths: tuple[str, ...]
    test_paths: tuple[str, ...]


def sections(patch: str) -> list[tuple[str, str]]:
    """A git diff (no renames) cut into (path, section), in order."""
    found: list[tuple[str, list[str]]] = []
    for line in patch.splitlines(keepends=True):
        if line.startswith(HEADER):
            rest = line[len(HEADER) :].rstrip("\n")
            # "<p> b/<p>": the same path twice, since no rename is detected.
            found.append((rest[: (len(rest) - 3) // 2], [line]))
        elif found:
            found[-1][1].append(line)
    return [(path, "".join(lines)) for path, lines in found]


def parts_of(patch: str) -> Parts:
    code: list[tuple[str, str]] = []
    tests: list[tuple[str, str]] = []
    for path, text in sections(patch):
        (tests if is_test_path(path) else code).append((path, text))
    return Parts(
        code="".join(text for _, text in code),
        tests="".join(text for _, text in tests),
        code_paths=tuple(path for path, _ in code),
        test_paths=tuple(path for path, _ in tests),
    )


@dataclass(frozen=True)
class Agreement:
    """What the cross-check found for one candidate's code."""

    index: int
    agrees: int  # proven test sets (any candidate's) that pass on its code
    proven: int  # how many test sets were proven in all
    test_from: int  # the candidate whose tests it ships with (0: none proven passes on it)

    @property
    def note(self) -> str:
        if not self.proven:
            return ""
        other = self.test_from not in (0, self.index)
        shipped = f", ships candidate {self.test_from}'s test" if other else ""
        return f"passes {self.agrees} of {self.proven} proven tests{shipped}"


def agreements(
    indices: Sequence[int],
    proven: Sequence[int],
    passes: Mapping[tuple[int, int], bool],
) -> dict[int, Agreement]:
    """For each candidate's code: the proven test sets passing on it (``passes[(code, tests)]``,
    a pair not run counting as failing), and the one it ships with: its own when proven and
    passing, else the lowest-indexed proven one passing on it."""
    found = {}
    for i in indices:
        passing = [j for j in proven if passes.get((i, j), False)]
        ship = i if i in passing else (passing[0] if passing else 0)
        found[i] = Agreement(i, len(passing), len(proven), ship)
    return found


def shipped_patch(code_of: Parts, tests_of: Parts) -> tuple[str, tuple[str, ...]]:
    """One candidate's code with (another) candidate's tests: the patch and its paths."""
    paths = code_of.code_paths + tuple(
        p for p in tests_of.test_paths if p not in code_of.code_paths
    )
    return code_of.code + tests_of.tests, paths
