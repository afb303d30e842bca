"""What shapes a coding attempt's requests besides the job: the loop's limits, the tool-call
mode and the tool policy (which tools are offered, gated or forbidden). A job records those not
at their defaults (``SettingsRecorded``), and a replay rebuilds the coder from that record, never
from the replaying shell's environment. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bdg_coder.loop_decisions import LoopLimits
from bdg_tools.policy import ToolPolicy

LIMITS = ("max_steps", "token_budget", "result_chars", "context_chars")
DEFAULT_LIMITS = LoopLimits()
NO_POLICY = ToolPolicy()


@dataclass(frozen=True)
class RunSettings:
    limits: LoopLimits = DEFAULT_LIMITS
    native_tools: bool = False
    policy: ToolPolicy = field(default=NO_POLICY)

    def recorded(self) -> dict[str, str]:
        """What the job records: the settings not at their defaults."""
        found = {
            name: str(getattr(self.limits, name))
            for name in LIMITS
            if getattr(self.limits, name) != getattr(DEFAULT_LIMITS, name)
        }
        if self.native_tools:
            found["native_tools"] = "true"
        if self.policy != NO_POLICY:
            found["tool_policy"] = self.policy.model_dump_json(exclude_defaults=True)
        return found

    @classmethod
    def from_recorded(cls, settings: Mapping[str, str]) -> RunSettings:
        """The settings a job recorded (the defaults where it recorded none)."""
        limits = LoopLimits(**{name: int(settings[name]) for name in LIMITS if name in settings})
        policy = settings.get("tool_policy")
        return cls(
            limits,
            settings.get("native_tools") == "true",
            ToolPolicy.model_validate_json(policy) if policy else NO_POLICY,
        )
