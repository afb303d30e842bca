"""The deployer process refuses to start on canary settings that describe no canary: exit 2
and a message naming the variable and the bad value, before it connects to anything; good
ones are what its composition root gives the canaries (CanaryStarted records them:
tests/integration/providers/test_vercel_canary_beacon.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from bdg_contracts.release_events import CanaryStage
from bdg_deployer.beacon.keys import load_secret, secret_path
from bdg_deployer.main import releasing
from bdg_jobs.store import JobStore
from bdg_runtime.service import ServiceContext
from bdg_runtime.settings import Settings

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    ("env", "said"),
    [
        (
            {"BDG_CANARY_STAGES": "10:60:100,5:60:100"},
            "BDG_CANARY_STAGES stage 2 '5:60:100': percent 5 is not above the stage before",
        ),
        ({"BDG_CANARY_THRESHOLD": "0.5"}, "BDG_CANARY_THRESHOLD='0.5'"),
    ],
)
def test_bad_canary_settings_stop_the_start(tmp_path: Path, env: dict[str, str], said: str) -> None:
    environ = {k: v for k, v in os.environ.items() if k != "BDG_ANSWERS_FILE"}
    environ |= {"BDG_HOME": str(tmp_path), **env}
    # Nothing listens here: a start that went past the check would fail differently.
    environ |= {"DATABASE_URL": "postgresql://127.0.0.1:1/none", "NATS_URL": "nats://127.0.0.1:1"}
    done = subprocess.run(
        [sys.executable, "-m", "bdg_deployer.main"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert said in done.stderr
    assert not (tmp_path / "edge").exists()  # nothing written


def test_the_deployer_runs_canaries_with_the_operators_settings(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the composition root builds: the stages and threshold of the environment, and the
    beacon's collector at BDG_BEACON_URL with the edge's secret."""
    monkeypatch.setenv("BDG_CANARY_STAGES", "5:30:50,20:0:10")
    monkeypatch.setenv("BDG_CANARY_THRESHOLD", "0.02")
    settings = Settings(bdg_home=tmp_path, bdg_beacon_url="https://edge.example/_bdg/collect")
    store = JobStore.from_url(database_url)
    try:
        context = SimpleNamespace(settings=settings, database_url=database_url, store=store)
        built = releasing(cast(ServiceContext, context))
    finally:
        store.close()
    assert built.stages == (
        CanaryStage(percent=5, min_seconds=30, min_requests=50),
        CanaryStage(percent=20, min_seconds=0, min_requests=10),
    )
    assert built.threshold == 0.02
    assert built.edge.beacon is not None
    assert built.edge.beacon.collector == "https://edge.example/_bdg/collect"
    assert built.edge.beacon.secret == load_secret(secret_path(tmp_path.resolve() / "edge"))


def test_a_local_collector_is_announced_once_per_start(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The handlers and the canary watch each build a Releasing; only the watch's says that
    cloud pages report to a collector this machine alone reaches."""
    settings = Settings(bdg_home=tmp_path)
    store = JobStore.from_url(database_url)
    try:
        context = cast(
            ServiceContext,
            SimpleNamespace(settings=settings, database_url=database_url, store=store),
        )
        with caplog.at_level("INFO", logger="bdg_deployer"):
            releasing(context)
            assert "reachable from this machine only" not in caplog.text
            releasing(context, announce=True)
    finally:
        store.close()
    assert caplog.text.count("reachable from this machine only") == 1
