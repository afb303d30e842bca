"""Which event classes exist, and where their stored samples live.

Every module of ``bdg_contracts`` is imported, so a new event class anywhere in the contracts
is in ``Event.registry`` and needs samples. Classes that others subclass (``RepoEvent``) are
bases, never stored.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import bdg_contracts
from bdg_contracts.base import Event

SAMPLES = Path(__file__).parent / "samples"


def stored_event_classes() -> dict[str, type[Event]]:
    for module in pkgutil.walk_packages(bdg_contracts.__path__, "bdg_contracts."):
        importlib.import_module(module.name)
    classes = Event.registry.values()
    bases = {base for cls in classes for base in cls.__mro__[1:]}
    return {cls.__name__: cls for cls in classes if cls not in bases}


def sample_path(name: str, version: int) -> Path:
    return SAMPLES / name / f"v{version}.json"
