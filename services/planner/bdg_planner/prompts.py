"""The planner's, critic's and reviewer's prompts. Deterministic: no clock, no ids, so a replay
sends the same requests (and finds the recorded answers by their hash)."""

from __future__ import annotations

from bdg_planner.domain import CritiqueTask, DraftTask, ReviewTask

PLANNER = (
    "You are the planner of a coding agent. Write the plan for the goal as a markdown task "
    "list: one '- [ ] ' checkbox per concrete, verifiable step (files to create or change, "
    "tests to write, commands to run). No prose before or after the list."
)
# The steps format, for small models: the schema bounds the answer, the prompt says why.
PLANNER_STEPS = (
    "You are the planner of a coding agent. Plan the goal in at most 4 short steps: for each, "
    "the file (a path from the code shown, or a new one) and, in words, not code, the change "
    "to make there: the function and what it must do, or the test to add. "
    'Answer as JSON: {"steps": [{"file": "...", "change": "..."}]}.'
)
CRITIC = (
    "You are a strict reviewer of coding plans. Score the plan from 1 (useless) to 10 (ready "
    "to execute), list its risks and the concrete changes that would raise the score: at most "
    "three of each, one short sentence each."
)
REVIEWER = (
    "You review a finished change against its goal. Passing tests are not enough: they may "
    "have been written with the change. Approve it only if the diff itself does what the goal "
    "asks, in the code the goal is about; a new file that nothing imports, or a change "
    "somewhere else, does not. Give a score from 1 to 10 and short notes: what the diff does, "
    "and what the goal still lacks."
)
MAX_CHANGE_CHARS = 6_000  # the diff shown to the reviewer; the rest is said to be cut


def draft_prompt(task: DraftTask) -> str:
    parts = [f"Goal: {task.goal}"]
    if task.context:
        parts.append(f"Relevant code from the repository:\n{task.context}")
    if task.previous is not None and task.feedback is not None:
        changes = "\n".join(f"- {c}" for c in task.feedback.changes) or "- (none given)"
        risks = "\n".join(f"- {r}" for r in task.feedback.risks) or "- (none given)"
        parts.append(
            f"Your previous plan scored {task.feedback.score}/10:\n{task.previous}\n"
            f"Risks:\n{risks}\nChanges asked for:\n{changes}\nWrite the improved plan."
        )
    return "\n\n".join(parts)


def critique_prompt(task: CritiqueTask) -> str:
    return f"Goal: {task.goal}\n\nPlan:\n{task.plan_markdown}"


def review_prompt(task: ReviewTask) -> str:
    change = task.change or "(the attempt changed no file)"
    if len(change) > MAX_CHANGE_CHARS:
        change = (
            change[:MAX_CHANGE_CHARS] + f"\n[... {len(change) - MAX_CHANGE_CHARS} more characters]"
        )
    return (
        f"Goal: {task.goal}\n\nPlan:\n{task.plan_markdown}\n\n"
        f"The change (unified diff against the repository):\n{change}\n\n"
        f"Coding attempt {task.attempt} passed its tests. Review round {task.round}. "
        "Does the diff do what the goal asks?"
    )
