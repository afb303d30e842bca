"""What a job records of the coder's settings, and the coder a replay rebuilds from it."""

from __future__ import annotations

import pytest

from bdg_coder.loop_decisions import LoopLimits
from bdg_coder.run_settings import RunSettings
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
