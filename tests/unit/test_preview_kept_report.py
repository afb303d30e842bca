"""A redelivered deploy step does not run Lighthouse again on a preview release it measured
before a crash: the report kept for that release (written whole, by rename) gives its scores.
A missing or torn report is measured again. Chromium is pointed at nothing here, so any real
measurement fails loudly: a test that passes proves no Lighthouse ran."""

from __future__ import annotations

from pathlib import Path

import pytest

from bdg_deployer.preview_check import LighthouseCheck, PreviewCheckError
from bdg_runtime.lighthouse import CATEGORIES

pytestmark = pytest.mark.timeout(30)

URL = "http://127.0.0.1:9/preview/r1/"


def _report(score: float) -> dict[str, object]:
    return {"categories": {c: {"score": score} for c in CATEGORIES}, "requestedUrl": URL}


@pytest.fixture
def check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LighthouseCheck:
    monkeypatch.setenv("CHROME_PATH", str(tmp_path / "no-chromium"))
    return LighthouseCheck(90, tmp_path / "lighthouse")


async def test_a_kept_report_gives_the_scores_without_measuring(check: LighthouseCheck) -> None:
    check._keep("r1", _report(0.93))
    assert await check.scores("r1", URL) == dict.fromkeys(CATEGORIES, 93)
    assert sorted(p.name for p in check.reports.iterdir()) == ["r1.json"]  # no file left aside


async def test_another_releases_report_is_not_used(check: LighthouseCheck) -> None:
    check._keep("r1", _report(0.93))
    with pytest.raises(PreviewCheckError, match="could not be measured"):
        await check.scores("r2", URL)


@pytest.mark.parametrize("torn", [b'{"categories": {"perf', b"{}", b'{"categories": []}'])
async def test_a_torn_report_is_measured_again(check: LighthouseCheck, torn: bytes) -> None:
    check.reports.mkdir(parents=True)
    (check.reports / "r1.json").write_bytes(torn)
    with pytest.raises(PreviewCheckError, match="could not be measured"):
        await check.scores("r1", URL)
