"""The operator's preview gate setting: unset is no gate, a bar outside 0..100 or no number is
refused, and a gate with no Lighthouse installed stops the deployer's start (exit 2 in ``run``)
with the path it looked for."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bdg_deployer.main import preview_check
from bdg_runtime import service
from bdg_runtime.settings import Settings

pytestmark = pytest.mark.timeout(30)


def test_unset_is_no_gate() -> None:
    assert preview_check(Settings(bdg_home=Path("/tmp/x"))) is None


def test_a_bar_with_lighthouse_installed_is_the_gate(tmp_path: Path) -> None:
    cli = tmp_path / "index.js"
    cli.write_text("")
    check = preview_check(Settings(bdg_home=tmp_path, bdg_preview_min_score=85), cli)
    assert check is not None
    assert check.bar == 85
    assert check.reports == tmp_path.resolve() / "artifacts" / "lighthouse"


def test_a_gate_without_lighthouse_stops_the_start(tmp_path: Path) -> None:
    missing = tmp_path / "node_modules" / "lighthouse" / "cli" / "index.js"
    with pytest.raises(service.ConfigurationError, match="needs Lighthouse") as refused:
        preview_check(Settings(bdg_home=tmp_path, bdg_preview_min_score=90), missing)
    assert str(missing) in str(refused.value)


@pytest.mark.parametrize("raw", ["101", "-1", "ninety"])
def test_a_bar_that_is_no_score_is_refused(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("BDG_PREVIEW_MIN_SCORE", raw)
    with pytest.raises(ValidationError, match="bdg_preview_min_score"):
        Settings()
