"""The deployer process refuses to start on canary settings that describe no canary: exit 2
and a message naming the variable and the bad value, before it connects to anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
