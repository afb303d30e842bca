"""A bench's services cache their bytecode even where the machine sets
PYTHONDONTWRITEBYTECODE (bench/__init__.py): else each run measures the compiling too."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(30)

CHILD = "import sys; print(sys.dont_write_bytecode)"


def test_a_bench_and_what_it_starts_write_bytecode() -> None:
    script = (
        "import subprocess, sys\nimport bench\n"
        f"print(sys.dont_write_bytecode, end=' ')\n"
        f"subprocess.run([sys.executable, '-c', {CHILD!r}], check=True)\n"
    )
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["False", "False"]
