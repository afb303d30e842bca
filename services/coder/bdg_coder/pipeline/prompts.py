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


REWRITE_SYSTEM = (
    "You are the coder of a coding agent. You are shown a goal and the file with the one "
    "function or class to change. Answer with one code block holding the complete new "
    "definition of that function or class, from its first line to its last, with the same "
    "name, changed as the goal asks. Only that definition: no other functions, no imports, no "
    "explanations."
)
TEST_SYSTEM = (
    "You are the coder of a coding agent. You are shown a goal, the changed code and the "
    "project's test file. Answer with one code block holding one new test to add at the end of "
    "that test file, which passes only when the goal is met. Only that test."
)
# The schema-bound variant (bench.pipeline_eval --format symbol-json), appended to either.
JSON_ANSWER = ' Answer as JSON: {"code": ...}, code being what the code block would hold.'


def rewrite_prompt(
    task: CodingTask,
    path: str,
    shown: str,
    symbol: str,
    new: bool,
    failing: str = "",
    done: Sequence[tuple[str, str]] = (),
    before: str = "",
    tested: str = "",
    beside: Sequence[tuple[str, str]] = (),
) -> str:
    """The ask for one definition: the file (trimmed around it) first, then on a later attempt
    the definition as it was before the job changed it (``before``: an attempt that broke
    what worked is shown what it lost), then the definitions this attempt already rewrote that
    the file does not show (``done``: a goal spread over two files had its change made twice,
    once in each), then the goal and plan (a small model follows what it read last; shown
    after the goal, it copies the file back), on a retry why the last attempt was not accepted
    and the lines its failures point at (``failing``), then the name to write. ``tested``: the
    visible tests' failures on the file as shown (a resample of this attempt's definition),
    said instead of the last attempt's. ``beside``: the source files the goal names, shown
    before a new module's file, which is empty (the code to move is in them)."""
    parts = [f"The file `{path}` as it is now:\n```\n{shown.rstrip(chr(10))}\n```"]
    if beside:
        parts = [f"The files the goal names, as they are now:\n{fenced(beside)}"]
        parts.append(f"The file `{path}` is new: it is empty now.")
    if before:
        who = "this job" if tested else "this job's earlier attempts"
        parts.append(f"`{symbol}` before {who} changed it:\n```\n{before.rstrip(chr(10))}\n```")
    if done:
        parts.append(_already(symbol, done))
    parts += goal_and_plan(task)
    if tested:
        parts.append(
            f"The tests were run on the file above, and these fail:\n```\n{tested}\n```\n"
            "Fix what this says."
        )
    elif task.feedback:
        parts.append(retry_note(task, "file above"))
    if failing and (tested or task.feedback):
        parts.append(failing)
    parts.append(_write(path, symbol, new))
    return "\n\n".join(parts)


def fresh_prompt(
    task: CodingTask,
    path: str,
    shown: str,
    symbol: str,
    new: bool,
    said: str,
    failing: str = "",
    done: Sequence[tuple[str, str]] = (),
) -> str:
    """The ask for one definition afresh, after the model resent the one this job wrote and
    the tests failed: the file with ``symbol`` as it was before the job (``new``: the job
    added it, so it is not there), the goal, what the job's version failed (``said``: the
    tests' failures or the last attempt's feedback) and the lines they point at, but not that
    version itself: a small model copies the code it is shown."""
    parts = [f"The file `{path}` as it was before this job:\n```\n{shown.rstrip(chr(10))}\n```"]
    if done:
        parts.append(_already(symbol, done))
    parts += goal_and_plan(task)
    parts.append(
        f"A `{symbol}` written for this goal was tried, and it was not accepted:\n"
        f"```\n{said.strip(chr(10))}\n```"
    )
    if failing:
        parts.append(failing)
    parts.append(_write(path, symbol, new) + " Write it another way than the one that failed.")
    return "\n\n".join(parts)


def _already(symbol: str, done: Sequence[tuple[str, str]]) -> str:
    return (
        "Already rewritten for this goal (their part of the change is made: do not make it "
        f"again in `{symbol}`):\n{fenced(done)}"
    )


def _write(path: str, symbol: str, new: bool) -> str:
    if new:
        return (
            f"Write the complete definition of the new function `{symbol}` to add to `{path}`, "
            "defined and exported the way the file defines its other functions."
        )
    return (
        f"Write the complete new definition of `{symbol}`, changed so that it does what the "
        "goal asks (the current one does not). Keep its name. Only that definition."
    )


def as_before(symbol: str) -> str:
    """Why an answer to a fresh ask cannot land: it is the definition from before the job."""
    return (
        f"the code you sent is {symbol} as it was before this job; send it changed as the goal asks"
    )


def dropped_uses(symbol: str, names: Sequence[str]) -> str:
    """Why an answer is asked for again: it lost keys or calls the definition has now. Only
    asked once: a second answer without them lands (the goal may mean it)."""
    listed = ", ".join(f"`{name}`" for name in names)
    return (
        f"it no longer uses {listed}, which `{symbol}` uses now; keep what it does now and add "
        "what the goal asks"
    )


def ignored_parameter(name: str, returned: str, when: str) -> str:
    """Why an answer is asked for again: a parameter it adds does not reach every result
    (``returned`` "": it is never read). Asked once, as dropped uses are."""
    if not returned:
        return f"it never uses its new parameter `{name}`; use it as the goal asks"
    if len(returned) > 120:
        returned = returned[:117] + "..."
    where = f"when `{when}`, it returns" if when else "it returns"
    return (
        f"its new parameter `{name}` does not reach every result: {where} `{returned}`, which "
        f"does not use `{name}`; what the goal asks of `{name}` must hold there too"
    )


def optional_parameter(name: str, symbol: str) -> str:
    """Why an answer is asked for again: the goal lets callers leave ``name`` out and the code
    uses it as if always given. Asked once, as an ignored parameter is."""
    return (
        f"the goal says `{name}` may be left out, but `{symbol}` uses it as if it were always "
        f"given; give `{name}` a default or handle it missing as the goal says"
    )


def rewrite_retry(symbol: str, error: str) -> str:
    """The one repair turn of a rewrite: exactly what failed."""
    return (
        f"That code could not be used: {error.rstrip('.')}. Send the complete new definition "
        f"of `{symbol}` again, corrected."
    )


def test_retry(error: str) -> str:
    """The one repair turn of the test: exactly what failed."""
    return f"That test could not be used: {error.rstrip('.')}. Send the test again, corrected."


def undefined_names(names: Sequence[str], path: str) -> str:
    """Why a definition cannot land: names no import gives (a typing name or a standard module
    is imported for the model)."""
    listed = ", ".join(f"`{name}`" for name in names)
    return (
        f"it uses {listed}, which `{path}` neither defines nor imports; use only what the file "
        "has, or define it inside the function"
    )


def test_prompt(
    task: CodingTask,
    code: Sequence[tuple[str, str]],
    test_path: str,
    test: str,
    new: Sequence[str],
) -> str:
    """The ask for one new test: the goal, the new definitions, the test file as it is."""
    parts = [f"Goal: {task.goal}"]
    parts.append(f"The changed code:\n{fenced(code)}")
    parts.append(f"The test file `{test_path}`:\n```\n{test.rstrip(chr(10))}\n```")
    if test_path.endswith(".py"):
        how = "one function whose name starts with `test_`, with plain asserts"
    else:
        how = 'one `test("...", () => { ... });` call with assert'
    parts.append(
        f"Write one new test for the goal to add at the end of `{test_path}`: {how}, using only "
        "names the file already imports"
        + (f" and {', '.join(f'`{n}`' for n in new)} (imported for you)." if new else ".")
    )
    return "\n\n".join(parts)
