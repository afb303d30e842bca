"""The scenario's pieces apart from the stack: who answers the model calls, the scripted author's
answers, and that the recordings still hold the author's files as they are in change/."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from bdg_cli.scenario import RECORDINGS, Scenario, ScenarioError, model_env
from bdg_llm.recorded_calls import read_recordings

pytestmark = pytest.mark.timeout(30)
AUTHOR = Path(__file__).resolve().parents[2] / "examples" / "pwa-scenario" / "author.py"
HEAVY = AUTHOR.parent / "heavy-page" / "recorded-calls.jsonl"


def author() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pwa_author", AUTHOR)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_recordings_answer_unless_an_endpoint_is_asked_for() -> None:
    recorded = Scenario(approve=False, timeout=900, model_endpoint=False)
    assert model_env(recorded, {"OPENAI_BASE_URL": "http://x/v1"}) == {
        "BDG_LLM_RECORDINGS": str(RECORDINGS)
    }
    live = Scenario(approve=False, timeout=900, model_endpoint=True)
    assert model_env(live, {"OPENAI_BASE_URL": "http://x/v1"}) == {}
    assert model_env(live, {}) == {}  # no endpoint: the offline local model, as `bdg up`
    with pytest.raises(ScenarioError, match="unset BDG_LLM_RECORDINGS"):
        model_env(live, {"BDG_LLM_RECORDINGS": "calls.jsonl"})


def test_the_author_answers_each_role_and_writes_one_file_a_turn() -> None:
    a = author()

    def ask(system: str, assistant_turns: int = 0) -> str:
        turns = [{"role": "assistant", "content": "{}"}] * assistant_turns
        body = {"model": "m", "messages": [{"role": "system", "content": system}, *turns]}
        return str(a.answer(body))

    assert ask("You are the planner of a coding agent.").startswith("- [ ] ")
    assert json.loads(ask("You are a strict reviewer of coding plans."))["score"] == 9
    assert json.loads(ask("You review a finished change against its goal."))["approved"] is True
    first = json.loads(ask("You are the coder of a coding agent."))
    assert first["tool"] == "file_write"
    assert first["arguments"]["path"] == a.FILES[0]
    last = json.loads(ask("You are the coder of a coding agent.", len(a.FILES)))
    assert last["tool"] == "finish"
    with pytest.raises(ValueError, match="no scripted answer"):
        ask("You are something else.")


def written_by(recordings: Path) -> dict[str, str]:
    written = {}
    for call in read_recordings(recordings):
        if call.role == "coder":
            answer = json.loads(call.response)
            if answer["tool"] == "file_write":
                written[answer["arguments"]["path"]] = answer["arguments"]["content"]
    return written


def test_the_recordings_hold_the_files_of_change_as_they_are() -> None:
    # Edit change/ without recording again and `bdg demo` would still deploy the old files.
    a = author()
    written = written_by(RECORDINGS)
    assert set(written) == set(a.FILES)
    for path, content in written.items():
        assert content == (a.CHANGE / path).read_text(), f"{path} changed since it was recorded"


def test_the_heavy_recordings_hold_change_with_the_heavy_index_html() -> None:
    a = author()
    written = written_by(HEAVY)
    assert set(written) == set(a.FILES)
    heavy = HEAVY.parent / "index.html"
    assert written["index.html"] == heavy.read_text()
    assert "Date.now() + 4000" in written["index.html"]
    for path in set(a.FILES) - {"index.html"}:
        assert written[path] == (a.CHANGE / path).read_text(), f"{path} changed since recorded"


def test_the_author_answers_with_the_overriding_files() -> None:
    a = author()
    a.OVERRIDES.append(HEAVY.parent)
    try:
        assert (
            a.coder_answer(a.FILES.index("index.html"))["arguments"]["content"]
            == (HEAVY.parent / "index.html").read_text()
        )
        first = a.coder_answer(0)["arguments"]
        assert first["content"] == (a.CHANGE / first["path"]).read_text()
    finally:
        a.OVERRIDES.clear()


def test_recordings_that_are_not_there_are_a_clear_error() -> None:
    missing = Scenario(False, 900, False, Path("/nonexistent/calls.jsonl"))
    with pytest.raises(ScenarioError, match=r"no recorded model calls at /nonexistent/calls"):
        model_env(missing, {})
