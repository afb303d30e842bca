"""The agent bench's figures carry the machine's load beside each task's wall time (a model call
on a loaded 2-core machine is many times slower than on an idle one)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from bench.agent_report import TaskResult, report, write_json

ROW = TaskResult(
    "py-config-port",
    False,
    1,
    1200,
    300,
    6,
    361.0,
    "coding (timed out)",
    "hidden test",
    13.5,
    {"coder": 40.5, "planner": 100.0},
)


def test_each_row_has_its_load_and_the_json_keeps_it(tmp_path: Path) -> None:
    out = io.StringIO()
    report([ROW], "a model", Console(file=out, width=250))
    shown = out.getvalue()
    assert "load" in shown
    assert "13.5" in shown
    assert "dev: solved 0/1 (delivered 0)" in shown  # py-config-port is a dev task
    assert "time by step: planner 100 s, coder 40 s, of 361 s wall" in shown
    write_json(tmp_path / "r.json", [ROW], "a model", {"strategy": "pipeline", "candidates": "1"})
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["variant"] == {"strategy": "pipeline", "candidates": "1"}
    assert data["totals"] == {
        "tasks": 1, "solved": 0, "delivered": 0, "done_but_wrong": 0, "prompt_tokens": 1200,
        "completion_tokens": 300,
        "model_calls": 6, "seconds": 361.0,
        "step_seconds": {"coder": 40.5, "planner": 100.0},
    }  # fmt: skip
    [row] = data["results"]
    assert row["load"] == 13.5
    assert row["seconds"] == 361.0
    assert row["done_but_wrong"] is False
    assert row["delivered"] is False
    assert row["step_seconds"] == {"coder": 40.5, "planner": 100.0}


def test_a_wrong_change_at_the_deploy_approval_counts_as_done_but_wrong() -> None:
    wrong = TaskResult("py-fizzbuzz-fix", False, 2, 1, 1, 1, 1.0, "awaiting_deploy_approval", "")
    right = TaskResult("py-chunk", True, 1, 1, 1, 1, 1.0, "awaiting_deploy_approval", "")
    failed = TaskResult("js-slug", False, 5, 1, 1, 1, 1.0, "failed", "")
    assert [r.done_but_wrong for r in (wrong, right, failed)] == [True, False, False]
    out = io.StringIO()
    report([wrong, right, failed], "a model", Console(file=out, width=250))
    shown = out.getvalue()
    assert "no, done-but-wrong" in shown
    assert "solved 1/3 (33%; delivered 1); done-but-wrong 1;" in shown


def test_a_right_change_in_a_failed_job_is_solved_but_not_delivered() -> None:
    refused = TaskResult("js-capitalize-empty", True, 2, 1, 1, 1, 1.0, "failed", "")
    right = TaskResult("js-clamp-fix", True, 1, 1, 1, 1, 1.0, "awaiting_deploy_approval", "")
    assert [r.delivered for r in (refused, right)] == [False, True]
    assert not refused.done_but_wrong
    out = io.StringIO()
    report([refused, right], "a model", Console(file=out, width=250))
    shown = out.getvalue()
    assert "yes, but the job failed" in shown
    assert "dev: solved 2/2 (delivered 1), done-but-wrong 0" in shown
