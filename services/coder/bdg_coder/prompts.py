"""The coder's prompts. Deterministic: no clock, no job or call ids, no workspace names, so a
replay (or another job with the same goal and repository) sends the same requests and finds the
recorded answers by their hash."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bdg_coder.domain import CodingTask

FINISH = "finish"
FINISH_DESCRIPTION = (
    "End this attempt when the change is complete (or cannot be made): say what you changed "
    "and why. The change is taken from the workspace as it is then."
)

CODER = (
    "You are the coder of a coding agent. You work in a checkout of the repository (the "
    "workspace) through tools, one tool call per answer: read the code you need, change files "
    "(replace_symbol to rewrite one whole function, method or class, edit_file to replace the "
    "exact lines you change in an existing file, file_write for a new or short file with its "
    "whole content, or apply_patch with a unified diff), add or update tests for what you "
    "change with the project's test framework, run the tests, and call finish with a short "
    "summary once the goal's plan is done and the tests pass. Keep changes to what the plan "
    "asks for. Every answer is exactly one tool call."
)


@dataclass(frozen=True)
class OfferedTool:
    name: str
    description: str
    arguments: tuple[str, ...]
    gated: bool = False


def system_prompt(tools: Sequence[OfferedTool], max_steps: int) -> str:
    lines = [
        CODER,
        f"You have at most {max_steps} tool calls for this attempt.",
        "",
        "## Tools",
        "Paths are relative to the workspace root. A call with wrong arguments returns an error "
        "that says what to fix: read it and call again.",
    ]
    for tool in tools:
        note = " A person approves each call first; the job waits." if tool.gated else ""
        arguments = ", ".join(tool.arguments) or "none"
        lines.append(f"- `{tool.name}`: {tool.description}{note} Arguments: {arguments}.")
    return "\n".join(lines) + "\n"


def task_prompt(task: CodingTask, context: str, named: Sequence[tuple[str, str]] = ()) -> str:
    """``named``: (path, content) of the files the goal and plan name, as the workspace has
    them now."""
    parts = goal_and_plan(task)
    if named:
        shown = "\n\n".join(f"`{path}`:\n```\n{content}\n```" for path, content in named)
        parts.append(f"The files the goal and plan name, as they are now:\n{shown}")
    if context:
        parts.append(f"Relevant code from the repository's index:\n{context}")
    if task.feedback:
        parts.append(retry_note(task, "workspace"))
    parts.append("Start with a tool call.")
    return "\n\n".join(parts)


def goal_and_plan(task: CodingTask) -> list[str]:
    """The head of every coding prompt, loop or pipeline."""
    return [f"Goal: {task.goal}", f"Plan:\n{task.plan_markdown or '(no plan)'}"]


def retry_note(task: CodingTask, where: str) -> str:
    """A retry's paragraph: the last attempt's change is already in ``where``, and why it was
    not accepted (the tester's analysis or the review)."""
    return (
        f"This is attempt {task.attempt}. The previous attempt's change is already in the "
        f"{where}, and it was not accepted:\n{task.feedback}\nFix what this says."
    )


def result_message(tool: str, content: str) -> str:
    return f"Result of {tool}:\n{content}"


def repeated_message(tool: str) -> str:
    return (
        f"You made this same {tool} call just before; its result is above and it would be the "
        "same again, so it was not run. Take the next step of the plan (read or change another "
        "file, run the tests) or call finish."
    )


def error_message(error: str) -> str:
    return f"Your answer could not be used: {error}"
