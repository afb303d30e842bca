"""The README is the user's door: keep its settings table and test command true."""

from __future__ import annotations

import re
from pathlib import Path

from bdg_coder.main import CoderSettings
from bdg_indexer.settings import IndexerSettings
from bdg_llm.settings import LlmSettings
from bdg_planner.main import PlannerSettings
from bdg_runtime.answers import AnswersSettings
from bdg_runtime.settings import Settings
from bdg_sandboxd.settings import SandboxSettings
from bdg_tester.settings import TesterSettings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    names = {name.upper() for name in Settings.model_fields}
    names |= {name.upper() for name in AnswersSettings.model_fields}
    names |= {name.upper() for name in SandboxSettings.model_fields} - {"AGENT_SANDBOX_ENDPOINT"}
    names |= {name.upper() for name in LlmSettings.model_fields}
    names |= {name.upper() for name in PlannerSettings.model_fields}
    names |= {name.upper() for name in IndexerSettings.model_fields} - {"BDG_HOME"}
    names |= {name.upper() for name in TesterSettings.model_fields}
    names |= {name.upper() for name in CoderSettings.model_fields}
    missing = sorted(n for n in names if f"`{n}`" not in README)
    assert not missing, f"settings missing from README's configuration table: {missing}"


def test_ci_runs_the_readme_test_command() -> None:
    block = re.search(r"```sh\n(.*?)```", README, re.S)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block[1].splitlines()]
    assert commands == ["uv run bdg demo", "uv run pytest"]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert "uv run pytest" in ci
    assert any(line.startswith("BDG_TEST_STACK=external uv run pytest") for line in ci)
