"""A unified diff cut into its files, read by hunk line counts: one reader for every service.

The tester keeps a change's test files to run them on the base; the planner shows the reviewer
a change's source files before its tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")


def _path(line: str, prefix: str) -> str:
    name = line[len(prefix) :].split("\t")[0].strip()
    return name[2:] if name.startswith(("a/", "b/")) else name


@dataclass
class _Section:
    lines: list[str] = field(default_factory=list)
    old: str = ""
    new: str = ""
    in_hunks: bool = False

    @property
    def path(self) -> str:
        return self.new if self.new and self.new != "/dev/null" else self.old


def file_sections(patch: str) -> list[tuple[str, str]]:
    """A unified diff cut into (path, text) per file, in order. Hunks are read by their line
    counts, so a removed line "-- x" is never taken for a file header."""
    sections: list[_Section] = []
    lines = patch.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        line = lines[i]
        current = sections[-1] if sections else None
        if line.startswith("diff --git "):
            parts = line.rstrip("\n").split(" ")
            sections.append(_Section([line], _path(parts[2], ""), _path(parts[-1], "")))
        elif line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            if current is None or current.in_hunks:
                current = _Section()
                sections.append(current)
            current.lines += [line, lines[i + 1]]
            current.old, current.new = _path(line, "--- "), _path(lines[i + 1], "+++ ")
            i += 2
            continue
        elif (hunk := _HUNK.match(line)) and current is not None:
            current.in_hunks = True
            old_n = int(hunk.group(1) or 1)
            new_n = int(hunk.group(2) or 1)
            current.lines.append(line)
            i += 1
            while i < len(lines) and (old_n > 0 or new_n > 0 or lines[i].startswith("\\")):
                body = lines[i]
                if body.startswith("-"):
                    old_n -= 1
                elif body.startswith("+"):
                    new_n -= 1
                elif not body.startswith("\\"):
                    old_n, new_n = old_n - 1, new_n - 1
                current.lines.append(body)
                i += 1
            continue
        elif current is not None:
            current.lines.append(line)  # an extended header line (mode, rename, index)
        i += 1
    return [(s.path, "".join(s.lines)) for s in sections]
