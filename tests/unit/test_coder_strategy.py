"""Which strategy the coder runs for a model, and the pipeline's localization (pure)."""

from __future__ import annotations

import pytest

from bdg_coder.pipeline.localize import MAX_FILES, candidates, fit, paths_in_output
from bdg_coder.strategy import SMALL_MODELS, Strategy, resolve
from bdg_contracts.tool_events import CodeHit
from bdg_llm.local_model import MODELS


@pytest.mark.parametrize("size", ["0.5b", "1.5b"])
def test_auto_runs_the_whole_symbol_pipeline_for_the_bundled_small_models(size: str) -> None:
    assert resolve(Strategy.auto, MODELS[size].name) is Strategy.rewrite


@pytest.mark.parametrize("model", ["gpt-4o-mini", "qwen2.5-coder-32b-instruct", ""])
def test_auto_runs_the_loop_for_other_models(model: str) -> None:
    assert model not in SMALL_MODELS
    assert resolve(Strategy.auto, model) is Strategy.loop


@pytest.mark.parametrize("chosen", [Strategy.loop, Strategy.pipeline, Strategy.rewrite])
def test_a_chosen_strategy_holds_whatever_the_model(chosen: Strategy) -> None:
    for model in (MODELS["0.5b"].name, "gpt-4o-mini"):
        assert resolve(chosen, model) is chosen


PYTEST_FAILURE = """\
FAILED tests/test_config.py::test_port - ValueError: bad port
  File "/workspace/config.py", line 7, in port
  File "/usr/lib/python3.11/site-packages/_pytest/python.py", line 3, in call
"""
NODE_FAILURE = """\
not ok 1 - clamps
  at file:///workspace/src/clamp.js:3:9
  at node:internal/test_runner/runner:1:1
  location: 'test/clamp.test.js:4:1'
"""


def test_the_failing_output_names_the_repositorys_files_only() -> None:
    assert paths_in_output(PYTEST_FAILURE) == ["tests/test_config.py", "config.py"]
    assert paths_in_output(NODE_FAILURE) == ["src/clamp.js", "test/clamp.test.js"]
    assert paths_in_output("1 passed") == []


def hit(path: str, score: float) -> CodeHit:
    return CodeHit(path=path, start_line=1, end_line=2, snippet="x", score=score)


def test_files_are_ranked_named_then_failing_then_retrieved() -> None:
    hits = [hit("util.py", 0.2), hit("config.py", 0.9), hit("app.py", 0.5)]
    ranked = candidates("Make config.py strict", "- [ ] edit config.py", PYTEST_FAILURE, hits)
    assert ranked == ["config.py", "tests/test_config.py", "app.py", "util.py"]


def test_the_files_shown_fit_the_budget() -> None:
    files = [(f"f{i}.py", "x = 1\n" * 10) for i in range(MAX_FILES + 2)]
    assert len(fit(files, 10_000)) == MAX_FILES
    shown = fit(files, 90)  # 60 characters each: the second is cut at a line end
    assert [path for path, _ in shown] == ["f0.py", "f1.py"]
    assert shown[1][1] == "x = 1\n" * 5 + "[... cut: 30 more characters]\n"
