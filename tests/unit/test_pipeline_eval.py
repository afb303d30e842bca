"""The fast evaluator's choice of tasks (held-out ones only when asked for by their half) and
its stand-in for localize; the model runs are bench figures, not tests."""

from __future__ import annotations

import pytest

from bdg_coder.domain import CodingTask
from bench.agent_tasks.tasks import load_tasks
from bench.pipeline_eval import RefusedError, chosen_tasks, localized, main

TASKS = load_tasks()
HELD = next(t.id for t in TASKS if t.split == "heldout")
DEV = next(t.id for t in TASKS if t.split == "dev")


def test_by_default_the_dev_half_and_only_it() -> None:
    picked = chosen_tasks(TASKS, "", "dev")
    assert len(picked) == sum(t.split == "dev" for t in TASKS) == 13
    assert {t.split for t in picked} == {"dev"}
    assert {t.split for t in chosen_tasks(TASKS, "", "heldout")} == {"heldout"}


def test_a_held_out_task_is_refused_unless_its_half_is_asked_for() -> None:
    with pytest.raises(RefusedError, match=f"{HELD} is not in the dev half"):
        chosen_tasks(TASKS, f"{DEV},{HELD}", "dev")
    assert [t.id for t in chosen_tasks(TASKS, HELD, "heldout")] == [HELD]
    with pytest.raises(RefusedError):
        chosen_tasks(TASKS, DEV, "heldout")
    with pytest.raises(ValueError, match="no such task: nope"):
        chosen_tasks(TASKS, "nope", "dev")


def test_the_command_refuses_before_any_model_starts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--tasks", HELD]) == 2
    assert "held-out tasks run only with --split heldout" in capsys.readouterr().err


def test_the_files_the_goal_names_come_first_then_sources_then_tests() -> None:
    repo = {
        "b.py": "",
        "tests/test_a.py": "",
        "a.py": "",
        "README.md": "",
        "c.py": "",
        "d.py": "",
    }
    task = CodingTask(goal="Fix c.py", plan_markdown="", attempt=1)
    assert list(localized(task, repo)) == ["c.py", "a.py", "b.py", "d.py"]
    task = CodingTask(goal="Fix it", plan_markdown="", attempt=1)
    assert list(localized(task, {"tests/test_a.py": "", "a.py": ""})) == ["a.py", "tests/test_a.py"]
