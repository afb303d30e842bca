"""`bdg demo --recordings`: the scenario's own option; with a mode that asks no recordings it is
refused before anything starts (no stack, no home written)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bdg_cli.main import app

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--reference"], "are the scenario's"),
        (["--live"], "are the scenario's"),
        (["--model-endpoint"], "answers instead of a model"),
    ],
)
def test_recordings_with_another_mode_are_refused(
    tmp_path: Path, flags: list[str], said: str
) -> None:
    home = tmp_path / "home"
    calls = tmp_path / "calls.jsonl"
    calls.write_text("")
    result = CliRunner().invoke(
        app, ["demo", "--home", str(home), "--recordings", str(calls), *flags]
    )
    assert result.exit_code == 1, result.output
    assert said in result.output
    assert not home.exists()
