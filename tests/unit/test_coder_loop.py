"""The coder's tool loop decisions, without I/O: accounting, stop rules, the conversation it
sends, what its summary says, and how an answer becomes a call."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from bdg_coder import prompts
from bdg_coder.diff_tool import read_diff
from bdg_coder.domain import CodingTask
from bdg_coder.llm_adapters import Finish, known_call
from bdg_coder.loop_decisions import (
    LoopLimits,
    LoopState,
    Stop,
    Turn,
    cut,
    messages,
    omitted_note,
    summary_of,
)
from bdg_tools import catalog as c

pytestmark = pytest.mark.timeout(10)
TOOLS: dict[str, type[BaseModel]] = {"file_read": c.FileRead, "finish": Finish}


def test_each_call_is_a_step_and_its_tokens_count() -> None:
    state = LoopState(LoopLimits(max_steps=3, token_budget=1_000))
    assert state.stop_before_call() is None
    state.spent(300, 50)
    state.spent(200, 20)
    assert (state.steps, state.tokens) == (2, 570)
    assert state.stop_before_call() is None
    state.spent(10, 10)
    assert state.stop_before_call() is Stop.step_limit
    assert state.end() is Stop.step_limit
    assert state.stop is Stop.step_limit


def test_the_token_budget_stops_the_loop_before_the_next_call() -> None:
    state = LoopState(LoopLimits(max_steps=25, token_budget=1_000))
    state.spent(900, 99)
    assert state.stop_before_call() is None
    state.spent(1, 0)
    assert state.stop_before_call() is Stop.token_budget


def test_the_step_limit_is_named_first_when_both_are_reached() -> None:
    state = LoopState(LoopLimits(max_steps=1, token_budget=10))
    state.spent(100, 100)
    assert state.end() is Stop.step_limit


def test_finish_and_waiting_stop_the_loop_whatever_is_left() -> None:
    done = LoopState(LoopLimits())
    done.spent(1, 1)
    done.finish("  fixed it \n")
    assert done.stop_before_call() is Stop.finished
    assert done.end() is Stop.finished
    assert done.summary == "fixed it"
    waits = LoopState(LoopLimits())
    waits.wait("01CALL")
    assert (waits.stop_before_call(), waits.waiting) == (Stop.waiting, "01CALL")


def test_end_refuses_a_loop_that_may_go_on() -> None:
    with pytest.raises(AssertionError):
        LoopState(LoopLimits()).end()


@pytest.mark.parametrize("fields", [{"max_steps": 0}, {"token_budget": 0}])
def test_limits_need_a_step_and_a_token(fields: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="at least one"):
        LoopLimits(**fields)


def test_results_are_cut_to_what_the_model_is_shown() -> None:
    state = LoopState(LoopLimits(result_chars=10))
    state.record('{"tool": "x"}', "0123456789abcdef")
    assert state.turns == [Turn('{"tool": "x"}', cut("0123456789abcdef", 10))]
    assert state.turns[0].result == "0123456789\n[... cut: 6 more characters]"
    assert cut("short", 10) == "short"


def test_the_conversation_is_system_task_then_each_turn() -> None:
    turns = [Turn("a1", "r1"), Turn("a2", "r2")]
    sent = messages("SYS", "TASK", turns, 10_000)
    assert [(m.role, m.content) for m in sent] == [
        ("system", "SYS"),
        ("user", "TASK"),
        ("assistant", "a1"),
        ("user", "r1"),
        ("assistant", "a2"),
        ("user", "r2"),
    ]


def test_the_oldest_turns_go_first_and_the_model_is_told() -> None:
    turns = [Turn("a" * 40, "r" * 40) for _ in range(5)] + [Turn("last", "result")]
    sent = messages("S", "T", turns, 2 + 10 + 80)
    assert [m.content for m in sent[:3]] == ["S", "T", omitted_note(4)]
    assert [m.content for m in sent[-2:]] == ["last", "result"]
    assert len(sent) == 3 + 2 * 2
    # the latest turn is always sent, however long
    huge = messages("S", "T", [Turn("x" * 500, "y" * 500)], 100)
    assert [m.content for m in huge] == ["S", "T", "x" * 500, "y" * 500]
    assert omitted_note(1).startswith("[1 earlier tool call and its")


def test_the_summary_says_why_the_loop_stopped_and_what_changed() -> None:
    done = LoopState(LoopLimits())
    done.finish("Fixed add().")
    assert summary_of(done, ["calc.py", "t.py"]) == "Fixed add(). Changed: calc.py, t.py."
    assert summary_of(done, []) == "Fixed add(). No files changed."
    silent = LoopState(LoopLimits())
    silent.finish("")
    assert summary_of(silent, []).startswith("The model finished without a summary.")
    limited = LoopState(LoopLimits(max_steps=2))
    limited.spent(1, 1)
    limited.spent(1, 1)
    limited.end()
    assert summary_of(limited, ["a.py"]) == (
        "Stopped at the step limit (2 model turns) before the model finished; the change is "
        "what was done so far. Changed: a.py."
    )
    spent = LoopState(LoopLimits(token_budget=100))
    spent.spent(90, 20)
    spent.end()
    assert summary_of(spent, []).startswith("Stopped at the token budget (110 of 100 tokens)")


def test_an_answer_naming_a_known_tool_goes_to_the_tool_caller_whatever_its_arguments() -> None:
    bad_arguments = json.dumps({"tool": "file_read", "arguments": {"file": "a.py"}})
    assert known_call(bad_arguments, TOOLS) == ("file_read", '{"file": "a.py"}')
    for unusable in (
        "I will read it",
        json.dumps({"tool": "rm", "arguments": {}}),
        json.dumps([{"tool": "file_read", "arguments": {}}]),
        json.dumps({"tool": "file_read", "arguments": {}, "why": "x"}),
        json.dumps({"tool": 3, "arguments": {}}),
        "[" * 100_000,
    ):
        assert known_call(unusable, TOOLS) is None


def test_the_diff_output_is_paths_then_the_patch() -> None:
    patch = "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x\n+y\n"
    diff = read_diff(b"a.py\0dir/b c.txt\0\0" + patch.encode())
    assert diff.paths == ["a.py", "dir/b c.txt"]
    assert diff.patch == patch
    assert read_diff(b"\0").model_dump() == {"patch": "", "paths": []}


def test_prompts_say_the_task_and_never_an_id() -> None:
    task = CodingTask("Fix add", "- [ ] fix it", 2, feedback="attempt 1: 1 of 3 tests failed")
    text = prompts.task_prompt(task, "calc.py:1-2\n```python\ndef add(): ...\n```")
    assert text.startswith("Goal: Fix add\n\nPlan:\n- [ ] fix it\n\nRelevant code")
    assert "This is attempt 2." in text
    assert "1 of 3 tests failed" in text
    first = prompts.task_prompt(CodingTask("Fix add", "", 1), "")
    assert first == "Goal: Fix add\n\nPlan:\n(no plan)\n\nStart with a tool call."
    offered = [
        prompts.OfferedTool("run_command", "Run it.", ("argv", "timeout_s"), gated=True),
        prompts.OfferedTool("finish", prompts.FINISH_DESCRIPTION, ("summary",)),
    ]
    system = prompts.system_prompt(offered, 7)
    assert "at most 7 tool calls" in system
    assert "- `run_command`: Run it. A person approves each call first" in system
    assert "Arguments: argv, timeout_s." in system
    assert prompts.system_prompt(offered, 7) == system


def test_the_named_files_come_after_the_plan_with_their_content() -> None:
    task = CodingTask("Fix add in calc.py", "- [ ] fix it", 1)
    text = prompts.task_prompt(task, "", [("calc.py", "def add(a, b):\n    return a - b")])
    assert text == (
        "Goal: Fix add in calc.py\n\nPlan:\n- [ ] fix it\n\n"
        "The files the goal and plan name, as they are now:\n"
        "`calc.py`:\n```\ndef add(a, b):\n    return a - b\n```\n\nStart with a tool call."
    )


def test_the_same_call_twice_in_a_row_is_a_repeat_and_any_other_call_is_not() -> None:
    state = LoopState(LoopLimits())
    write = ("file_write", '{"path":"a.py","content":"x = 1\\n"}')
    assert not state.repeats(*write)
    state.called(*write)
    assert state.repeats(*write)
    assert not state.repeats("file_write", '{"path":"a.py","content":"x = 2\\n"}')
    state.called("run_tests", '{"path":null,"argv":null}')
    assert not state.repeats(*write)  # something happened in between: the write may matter


def test_the_model_is_told_a_repeat_was_not_run_and_what_to_do_instead() -> None:
    text = prompts.repeated_message("file_write")
    assert "same file_write call" in text
    assert "not run" in text
    assert "call finish" in text


def test_a_second_repeat_in_a_row_stops_the_loop_and_a_new_call_resets_the_count() -> None:
    state = LoopState(LoopLimits())
    write = ("file_write", '{"path":"a.py","content":"x = 1\\n"}')
    state.called(*write)
    state.repeat()
    assert state.stop_before_call() is None  # told once: it may still do something else
    state.called("run_tests", '{"path":null,"argv":null}')
    state.repeat()
    assert state.stop_before_call() is None  # a new call since: the count starts again
    state.repeat()
    assert state.stop_before_call() is Stop.repeating
    assert state.end() is Stop.repeating
    assert summary_of(state, ["a.py"]).startswith(
        "Stopped when the model asked for its last call again 2 times in a row"
    )
