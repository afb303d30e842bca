"""What `bdg job replay` prints: the figures when the run is the same, the place when not."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from bdg_cli.job_replay import print_report
from bdg_runtime.job_replay import Divergence, ReplayReport

pytestmark = pytest.mark.timeout(10)


def printed(report: ReplayReport) -> str:
    out = io.StringIO()
    print_report(report, 0.5, Console(file=out, width=200, highlight=False, color_system=None))
    return out.getvalue()


def test_the_same_run_says_so_with_its_figures() -> None:
    report = ReplayReport("j", events=40, reactions=6, compared=30, by_service={"coder": 2})
    text = printed(report)
    assert "replayed job j: 40 events checked, 6 reactions re-run (coder 2)" in text
    assert "80 events/s" in text
    assert "same events as recorded" in text


def test_a_divergence_names_the_version_the_service_and_both_events() -> None:
    d = Divergence(
        5,
        "planner",
        "JobRequested v1",
        "the handler raised ReplayMissError: no recorded critic call",
        ({"name": "PlanDrafted", "iteration": 3},),
    )
    text = printed(ReplayReport("j", divergence=d))
    assert "diverges at version 5: the planner's reaction to JobRequested v1: the handler" in text
    assert 'recorded: {"iteration": 3, "name": "PlanDrafted"}' in text
    assert "new run" not in text  # it appended nothing
