"""The coder's composition root: its settings, a configuration error at start, and which coder a
replay re-runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bdg_coder.adapters import AbstractCoder
from bdg_coder.handlers import CoderHandlers
from bdg_coder.loop_decisions import LoopLimits
from bdg_coder.main import CoderSettings, replay_reactions, run
from bdg_coder.recorded import LoggedCoder
from bdg_coder.run_settings import SelectionSettings
from bdg_coder.strategy import Strategy
from bdg_coder.tool_loop_coder import ToolLoopCoder
from bdg_llm.api import ChatResult
from bdg_llm.llm_called_fields import fields_for_event
from bdg_llm.replay import ReplayLlm
from bdg_runtime.job_replay import ReplaySources
from tests.unit.jobs import CAUSE, new_job

pytestmark = pytest.mark.timeout(10)


def test_settings_have_defaults_and_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert CoderSettings().limits() == LoopLimits()
    monkeypatch.setenv("BDG_CODER_MAX_STEPS", "7")
    monkeypatch.setenv("BDG_CODER_TOKEN_BUDGET", "5000")
    monkeypatch.setenv("BDG_CODER_NATIVE_TOOLS", "true")
    settings = CoderSettings()
    assert (settings.limits().max_steps, settings.limits().token_budget) == (7, 5000)
    assert settings.bdg_coder_native_tools


def test_an_unreadable_recordings_file_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("BDG_ANSWERS_FILE", raising=False)
    monkeypatch.setenv("BDG_LLM_RECORDINGS", str(tmp_path / "missing.jsonl"))
    with pytest.raises(SystemExit) as exit_:
        run()
    assert exit_.value.code == 2


def _coder(sources: ReplaySources) -> AbstractCoder:
    handle = replay_reactions(sources)[0].handle
    handlers = getattr(handle, "__self__", None)
    assert isinstance(handlers, CoderHandlers)
    return handlers.coding.coder


def test_a_replay_re_runs_the_coder_the_job_had(monkeypatch: pytest.MonkeyPatch) -> None:
    job = new_job()
    history = list(job.collect())
    # No model call: a scripted coder, answered from what the job recorded (no answers file).
    monkeypatch.delenv("BDG_ANSWERS_FILE", raising=False)
    assert isinstance(_coder(ReplaySources(history, ReplayLlm([]))), LoggedCoder)

    result = ChatResult('{"tool": "finish"}', "gpt-4o-mini", "h", 1, 1, 0.0)
    job.record_llm_call(CAUSE, **fields_for_event(result, "coder"))
    history += job.collect()
    # A model-driven one: the loop again, with the limits the job recorded, not this shell's.
    monkeypatch.setenv("BDG_CODER_MAX_STEPS", "3")
    with_model = _coder(ReplaySources(history, ReplayLlm([]), {"max_steps": "7"}))
    assert isinstance(with_model, ToolLoopCoder)
    assert with_model.limits == LoopLimits(max_steps=7)
    defaults = _coder(ReplaySources(history, ReplayLlm([])))
    assert isinstance(defaults, ToolLoopCoder)
    assert defaults.limits == LoopLimits()


def test_candidates_and_the_test_command_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert CoderSettings().selection() == SelectionSettings(early_resample=True)
    monkeypatch.setenv("BDG_CODER_EARLY_RESAMPLE", "false")
    assert CoderSettings().selection() == SelectionSettings()
    monkeypatch.setenv("BDG_CODER_CANDIDATES", "3")
    monkeypatch.setenv("BDG_CODER_TEST_COMMAND", "python3 -m unittest 'tests/test a.py'")
    monkeypatch.setenv("BDG_CODER_EARLY_RESAMPLE", "true")
    assert CoderSettings().selection() == SelectionSettings(
        3, ("python3", "-m", "unittest", "tests/test a.py"), early_resample=True
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [("BDG_CODER_CANDIDATES", v) for v in ("0", "9", "two")]
    + [("BDG_CODER_RESAMPLES", v) for v in ("-1", "5", "two")]
    + [("BDG_CODER_EARLY_RESAMPLE", "sometimes")],
)
def test_a_bad_candidate_or_resample_count_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError, match=variable.lower()):
        CoderSettings()


def test_resamples_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BDG_CODER_RESAMPLES", "2")
    assert CoderSettings().selection().resamples == 2
    monkeypatch.delenv("BDG_CODER_RESAMPLES")
    assert CoderSettings().selection().resamples == 0


def test_a_replay_compares_as_many_candidates_as_the_job_did() -> None:
    job = new_job()
    result = ChatResult('{"tool": "finish"}', "gpt-4o-mini", "h", 1, 1, 0.0)
    job.record_llm_call(CAUSE, **fields_for_event(result, "coder"))
    history = list(job.collect())
    recorded = {"candidates": "2", "test_argv": '["python3", "t.py"]', "resamples": "1"}
    coder = _coder(ReplaySources(history, ReplayLlm([]), recorded))
    assert isinstance(coder, ToolLoopCoder)
    assert coder.selection == SelectionSettings(2, ("python3", "t.py"), 1)


def test_the_strategy_comes_from_the_environment_and_the_loop_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BDG_CODER_STRATEGY", raising=False)
    assert CoderSettings().bdg_coder_strategy is Strategy.loop
    monkeypatch.setenv("BDG_CODER_STRATEGY", "auto")
    assert CoderSettings().bdg_coder_strategy is Strategy.auto


def test_a_bad_strategy_stops_the_coder_naming_the_setting_and_the_choices(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("BDG_ANSWERS_FILE", raising=False)
    monkeypatch.setenv("BDG_CODER_STRATEGY", "loops")
    with pytest.raises(SystemExit) as exit_:
        run()
    assert exit_.value.code == 2
    assert "bdg_coder_strategy" in caplog.text
    assert "'loop', 'pipeline', 'rewrite' or 'auto'" in caplog.text


def test_a_replay_runs_the_strategy_the_job_ran() -> None:
    job = new_job()
    result = ChatResult('{"edits": []}', "gpt-4o-mini", "h", 1, 1, 0.0)
    job.record_llm_call(CAUSE, **fields_for_event(result, "coder"))
    history = list(job.collect())
    coder = _coder(ReplaySources(history, ReplayLlm([]), {"strategy": "pipeline"}))
    assert isinstance(coder, ToolLoopCoder)
    assert coder.strategy is Strategy.pipeline
    assert coder.settings() == {"strategy": "pipeline"}
    coder = _coder(ReplaySources(history, ReplayLlm([]), {}))
    assert isinstance(coder, ToolLoopCoder)
    assert coder.strategy is Strategy.loop  # a job recorded before strategies ran the loop
