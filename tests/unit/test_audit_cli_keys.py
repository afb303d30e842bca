"""`bdg audit rotate-key`: a new active key beside the old ones, in the configured directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bdg_audit.keys import Keyring

pytestmark = pytest.mark.timeout(60)
ROOT = Path(__file__).parents[2]


def _rotate(keys: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bdg_cli.main", "audit", "rotate-key"],
        cwd=ROOT,
        env={**os.environ, "BDG_AUDIT_KEYS_DIR": str(keys)},
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )


def test_rotate_key_adds_a_key_and_keeps_the_old(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    first = _rotate(keys)
    assert first.returncode == 0, first.stderr
    old = Keyring(keys).active().kid
    second = _rotate(keys)
    assert second.returncode == 0, second.stderr
    ring = Keyring(keys)
    assert ring.active().kid != old
    assert ring.active().kid in second.stdout
    assert [k["kid"] for k in ring.jwks()["keys"]] == sorted([old, ring.active().kid])
