"""The live demo's pieces that need no model: the example repository, the bounds given to the
services, and how tool calls and patches are shown."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest

from bdg_cli.demo_repo import DEMO_REPO, make_demo_repo
from bdg_cli.live_stack import LiveBounds
from bdg_cli.live_view import final_diff
from bdg_cli.render import short_arguments
from bdg_contracts import events as ev

pytestmark = pytest.mark.timeout(60)


def test_the_example_repository_has_the_same_commit_every_time(tmp_path: Path) -> None:
    first = make_demo_repo(DEMO_REPO, tmp_path / "a" / "repo")
    again = make_demo_repo(DEMO_REPO, tmp_path / "a" / "repo")  # made afresh over the old one
    elsewhere = make_demo_repo(DEMO_REPO, tmp_path / "b" / "repo")
    assert first == again == elsewhere
    files = subprocess.run(
        ["git", "-C", str(tmp_path / "b" / "repo"), "ls-files"],
        check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    assert set(files) == {"README.md", "pyproject.toml", "calc/__init__.py", "calc/ops.py",
                          "tests/test_ops.py"}  # fmt: skip


def test_bounds_take_options_then_the_environment_then_the_live_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BDG_CODER_MAX_STEPS", raising=False)
    monkeypatch.setenv("BDG_PLAN_MAX_ITERATIONS", "2")
    env = LiveBounds().env()
    assert env["BDG_CODER_MAX_STEPS"] == "6"
    assert "BDG_PLAN_MAX_ITERATIONS" not in env  # the environment's 2 stays
    # the model's context bounds the coder's turns by itself (tests/unit/test_coder_limits.py)
    assert "BDG_CODER_CONTEXT_CHARS" not in env
    chosen = LiveBounds(coder_max_steps=3, plan_iterations=4).env()
    assert (chosen["BDG_CODER_MAX_STEPS"], chosen["BDG_PLAN_MAX_ITERATIONS"]) == ("3", "4")
    assert "BDG_CODER_CONTEXT_CHARS" not in chosen


def test_tool_arguments_fit_on_a_line() -> None:
    line = short_arguments(
        '{"path": "calc/ops.py", "content": "def mul(a, b):\\n    return a * b\\n"}'
    )
    assert line.startswith("path=calc/ops.py content='def mul(a, b):⏎")
    assert len(line) <= 70
    assert short_arguments("not json") == "not json"


def patch(attempt: int, text: str) -> ev.FilesChanged:
    job = UUID(int=1)
    return ev.FilesChanged(
        job_id=job, version=attempt, correlation_id=str(job), tenant_id="t", producer="coder",
        occurred_at=datetime.now(UTC), attempt=attempt, patch=text, paths=("a",),
    )  # fmt: skip


def test_the_final_diff_is_the_patches_in_order() -> None:
    assert final_diff([patch(1, "--- a\n+++ b\n"), patch(2, "--- c\n+++ d")]) == (
        "--- a\n+++ b\n--- c\n+++ d\n"
    )
    assert final_diff([]) == ""
