"""Files the tester wrote (scaffolded tests, edited manifests) as one git-format diff (pure).

The job's workspace is rebuilt anywhere from its base plus its FilesChanged patches (git apply,
all or nothing), so what the tester adds to the change is recorded the same way as the coder's.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

NO_NEWLINE = "\\ No newline at end of file\n"


def _lines(text: str) -> list[str]:
    """Lines for difflib; a last line without a newline carries git's marker after it, so the
    marker lands right after that line in whichever hunk shows it (and it counts as no line)."""
    *complete, last = text.split("\n")  # "\n" only: git's lines, not str.splitlines' (\f, \x85...)
    lines = [line + "\n" for line in complete]
    if last:
        lines.append(last + "\n" + NO_NEWLINE)
    return lines


def file_patch(path: str, old: str | None, new: str) -> str:
    """The diff turning ``old`` (None: no such file) into ``new`` at ``path``; "" if equal."""
    if old == new:
        return ""
    header = f"diff --git a/{path} b/{path}\n"
    if old is None:
        header += "new file mode 100644\n"
    before = "/dev/null" if old is None else f"a/{path}"
    return header + "".join(
        difflib.unified_diff(_lines(old or ""), _lines(new), before, f"b/{path}")
    )


def files_patch(written: Mapping[str, tuple[str | None, str]]) -> str:
    """One diff for every file written: path -> (content before or None, content after)."""
    return "".join(file_patch(path, *written[path]) for path in sorted(written))
