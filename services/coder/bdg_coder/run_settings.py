"""What shapes a coding attempt's requests besides the job: the strategy (loop or pipeline),
the loop's limits, the tool-call mode and the tool policy (which tools are offered, gated or
forbidden). A job records those not
at their defaults (``SettingsRecorded``), and a replay rebuilds the coder from that record, never
from the replaying shell's environment. Pure."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from bdg_coder.loop_decisions import LoopLimits
from bdg_coder.strategy import Strategy
from bdg_tools.policy import ToolPolicy

LIMITS = ("max_steps", "token_budget", "result_chars", "context_chars")
DEFAULT_LIMITS = LoopLimits()
NO_POLICY = ToolPolicy()
MAX_CANDIDATES = 8  # each runs a whole loop: the attempt's cost grows with them
MAX_RESAMPLES = 4  # each asks for the definitions again and runs the tests once more
CANDIDATE_TEMPERATURE = 0.7  # candidates after the first sample, so they differ


# The visible tests when no command is set: the project's npm test script, else pytest when the
# sandbox's Python has it, else unittest's discovery.
DEFAULT_CHECK = (
    "sh",
    "-c",
    "if [ -f package.json ] && grep -q '\"test\"' package.json; then exec npm test --silent; fi\n"
    "if python3 -c 'import pytest' 2>/dev/null; then exec python3 -m pytest -q; fi\n"
    "exec python3 -m unittest discover -q",
)


@dataclass(frozen=True)
class SelectionSettings:
    """Test-driven selection: ``candidates`` independent runs of the loop per attempt (1: the
    loop alone, no tests run by the coder), each checked with ``test_argv`` (None:
    ``DEFAULT_CHECK``); with the rewrite strategy, up to ``resamples`` more answers per
    definition within a run while those tests fail (0: none), and with ``early_resample`` up to
    three more on a first attempt, each while the last went better, checked on the project's
    tests and the goal's examples before the model's own test is added (on unless
    ``BDG_CODER_EARLY_RESAMPLE`` is false; a job records it, and one recorded without it
    replays without it)."""

    candidates: int = 1
    test_argv: tuple[str, ...] | None = None
    resamples: int = 0
    early_resample: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.candidates <= MAX_CANDIDATES:
            raise ValueError(f"candidates must be 1 to {MAX_CANDIDATES}, not {self.candidates}")
        if not 0 <= self.resamples <= MAX_RESAMPLES:
            raise ValueError(f"resamples must be 0 to {MAX_RESAMPLES}, not {self.resamples}")

    @property
    def check_argv(self) -> tuple[str, ...]:
        return self.test_argv or DEFAULT_CHECK


NO_SELECTION = SelectionSettings()


@dataclass(frozen=True)
class RunSettings:
    limits: LoopLimits = DEFAULT_LIMITS
    native_tools: bool = False
    policy: ToolPolicy = field(default=NO_POLICY)
    selection: SelectionSettings = NO_SELECTION
    strategy: Strategy = Strategy.loop  # resolved: loop or pipeline

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
        if self.selection.candidates != 1:
            found["candidates"] = str(self.selection.candidates)
        if self.selection.test_argv is not None:
            found["test_argv"] = json.dumps(list(self.selection.test_argv))
        if self.selection.resamples:
            found["resamples"] = str(self.selection.resamples)
        if self.selection.early_resample:
            found["early_resample"] = "true"
        if self.strategy is not Strategy.loop:
            found["strategy"] = self.strategy.value
        return found

    @classmethod
    def from_recorded(cls, settings: Mapping[str, str]) -> RunSettings:
        """The settings a job recorded (the defaults where it recorded none)."""
        limits = LoopLimits(**{name: int(settings[name]) for name in LIMITS if name in settings})
        policy = settings.get("tool_policy")
        argv = settings.get("test_argv")
        selection = SelectionSettings(
            int(settings.get("candidates", "1")),
            tuple(str(a) for a in json.loads(argv)) if argv else None,
            int(settings.get("resamples", "0")),
            settings.get("early_resample") == "true",
        )
        return cls(
            limits,
            settings.get("native_tools") == "true",
            ToolPolicy.model_validate_json(policy) if policy else NO_POLICY,
            selection,
            Strategy(settings.get("strategy", Strategy.loop.value)),
        )
