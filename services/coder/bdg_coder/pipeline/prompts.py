"""The pipeline's prompts. Deterministic (no ids, no clock), so a replay sends the same requests
and finds the recorded answers by their hash. No task-specific hints."""

from __future__ import annotations

from collections.abc import Sequence

from bdg_coder.domain import CodingTask
from bdg_coder.pipeline.edits import MAX_EDITS
from bdg_coder.prompts import goal_and_plan, retry_note

SYSTEM = (
    "You are the coder of a coding agent. You are shown a goal, its plan and the files that "
    "matter. Answer with the edits that make the change, as JSON: "
    '{"edits": [{"path": ..., "symbol": ..., "search": ..., "replace": ...}]}, '
    f"at most {MAX_EDITS} edits. Each edit is one of:\n"
    "- replace a whole function, method or class: `symbol` is its name (Class.method for a "
    "method), `search` is empty, `replace` is its whole new definition;\n"
    "- replace some lines: `symbol` is empty, `search` is those lines copied exactly from the "
    "file (enough of them to occur once), `replace` is what they become;\n"
    "- create a new file: `symbol` and `search` empty, `replace` is its whole content.\n"
    "Keep every function and class you do not mean to change. Change only what the goal and "
    "plan ask for; add or update a test for it when the project has tests."
)


def task_prompt(task: CodingTask, files: Sequence[tuple[str, str]]) -> str:
    parts = goal_and_plan(task)
    if files:
        parts.append(f"The files, as they are now:\n{fenced(files)}")
    else:
        parts.append("No file of the repository was found for this goal.")
    if task.feedback:
        parts.append(retry_note(task, "files above"))
    parts.append("Answer with the edits.")
    return "\n\n".join(parts)


def retry_prompt(report: str, changed: Sequence[tuple[str, str]]) -> str:
    """The one repair turn: what failed, exactly, and the files the edits that landed changed."""
    parts = [
        f"Not every edit could be applied:\n{report}",
        "The edits that applied are in the files now. Send again only the edits that failed, "
        "corrected (copy search text exactly from the files).",
    ]
    if changed:
        shown = fenced(changed)
        parts.insert(1, f"Files changed by the applied edits, as they are now:\n{shown}")
    return "\n\n".join(parts)


def fenced(files: Sequence[tuple[str, str]]) -> str:
    return "\n\n".join(f"`{path}`:\n```\n{text.rstrip(chr(10))}\n```" for path, text in files)
