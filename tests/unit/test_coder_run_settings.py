"""What a job records of the coder's settings, and the coder a replay rebuilds from it."""

from __future__ import annotations

import pytest

from bdg_coder.loop_decisions import LoopLimits
from bdg_coder.run_settings import (
    MAX_CANDIDATES,
    MAX_RESAMPLES,
    RunSettings,
    SelectionSettings,
)
from bdg_coder.strategy import Strategy
from bdg_tools.policy import Rules, TenantRules, ToolPolicy

pytestmark = pytest.mark.timeout(10)


def test_the_defaults_record_nothing() -> None:
    assert RunSettings().recorded() == {}
    assert RunSettings.from_recorded({}) == RunSettings()


def test_what_differs_is_recorded_and_read_back_whole() -> None:
    policy = ToolPolicy(
        tools={"run_command": "auto"},
        tenants={"acme": TenantRules(tools={"*": "gate"}, users={"al": Rules(tools={})})},
    )
    ran = RunSettings(LoopLimits(max_steps=6, context_chars=7168), True, policy)
    recorded = ran.recorded()
    assert set(recorded) == {"max_steps", "context_chars", "native_tools", "tool_policy"}
    assert RunSettings.from_recorded(recorded) == ran


def test_candidates_and_their_test_command_are_recorded_and_read_back() -> None:
    ran = RunSettings(selection=SelectionSettings(3, ("node", "--test")))
    recorded = ran.recorded()
    assert recorded == {"candidates": "3", "test_argv": '["node", "--test"]'}
    assert RunSettings.from_recorded(recorded) == ran


@pytest.mark.parametrize("candidates", [0, MAX_CANDIDATES + 1])
def test_a_candidate_count_out_of_bounds_is_refused(candidates: int) -> None:
    with pytest.raises(ValueError, match="candidates must be 1 to"):
        SelectionSettings(candidates)


def test_resamples_are_recorded_and_read_back() -> None:
    ran = RunSettings(selection=SelectionSettings(resamples=2), strategy=Strategy.rewrite)
    assert ran.recorded() == {"resamples": "2", "strategy": "rewrite"}
    assert RunSettings.from_recorded(ran.recorded()) == ran
    assert RunSettings.from_recorded({}).selection.resamples == 0


def test_the_early_resample_is_recorded_and_an_old_record_runs_without_it() -> None:
    ran = RunSettings(selection=SelectionSettings(early_resample=True), strategy=Strategy.rewrite)
    assert ran.recorded() == {"early_resample": "true", "strategy": "rewrite"}
    assert RunSettings.from_recorded(ran.recorded()) == ran
    assert RunSettings.from_recorded({"strategy": "rewrite"}).selection.early_resample is False


@pytest.mark.parametrize("resamples", [-1, MAX_RESAMPLES + 1])
def test_a_resample_count_out_of_bounds_is_refused(resamples: int) -> None:
    with pytest.raises(ValueError, match="resamples must be 0 to"):
        SelectionSettings(resamples=resamples)


def test_the_pipeline_strategy_is_recorded_and_read_back() -> None:
    ran = RunSettings(strategy=Strategy.pipeline)
    assert ran.recorded() == {"strategy": "pipeline"}
    assert RunSettings.from_recorded(ran.recorded()) == ran
    assert RunSettings.from_recorded({}).strategy is Strategy.loop
