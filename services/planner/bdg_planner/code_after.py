"""A change shown as the code it leaves (pure): each changed part of each file as it reads after
the change, its unchanged context included, the removed lines left out.

A small reviewer misreads diffs: the 1.5B said a correct clamp() fix "returns max instead",
reading the removed line as the code. Shown the code as it now is, it judges what runs.
"""

from __future__ import annotations

import re

from bdg_contracts.patch_files import file_sections

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")


def code_after(change: str) -> str:
    """Each file's changed parts after the change, headed by its path. A change the diff
    reader cannot cut whole (text outside any file) is shown as it came: nothing is hidden."""
    sections = file_sections(change)
    if "".join(text for _, text in sections) != change:
        return change.rstrip("\n")
    return "\n\n".join(_file_after(path, text) for path, text in sections)


def _file_after(path: str, text: str) -> str:
    lines = text.splitlines()
    if any(line.startswith("+++ /dev/null") for line in lines):
        return f"### {path} (deleted)"
    new = any(line.startswith("--- /dev/null") for line in lines)
    out = [f"### {path}" + (" (new file)" if new else "")]
    in_hunk = False
    for line in lines:
        hunk = _HUNK.match(line)
        if hunk:
            in_hunk = True
            if not new:
                out.append(f"... (from line {hunk[1]})")
        elif in_hunk and line.startswith(("+", " ")):
            out.append(line[1:])
        elif in_hunk and line == "":
            out.append("")  # a blank context line whose space an editor trimmed
    return "\n".join(out)
