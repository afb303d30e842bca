"""Whatever a process imports, the store's mapper knows every event class in the contracts."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import importlib, pkgutil
import bdg_jobs.mapper  # what every process that reads the log imports
from bdg_contracts.base import Event
known = set(Event.registry)
import bdg_contracts
for module in pkgutil.iter_modules(bdg_contracts.__path__):
    importlib.import_module(f"bdg_contracts.{module.name}")
print(" ".join(sorted(set(Event.registry) - known)))
"""


def test_the_mapper_registers_every_event_class() -> None:
    # A fresh interpreter: this test process has imported everything already.
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert out.stdout.split() == []
