"""A stored sample of every event class at every schema version reads with today's models.

``samples/<Event>/v<N>.json`` holds an event as it was stored (``stored``: the table's state
with the id and version columns put back) and, for an old version, what it reads as today
(``reads_as``: the upcast result). A sample of the current version reads back unchanged. A new
event class or version without its sample fails ``test_every_class_and_version_has_a_sample``:
write it with ``python -m tests.contracts.write_samples`` (current) or by hand (older).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bdg_contracts.base import Event
from tests.contracts.samples_catalog import SAMPLES, sample_path, stored_event_classes

CLASSES = stored_event_classes()
SAMPLE_FILES = sorted(SAMPLES.glob("*/v*.json"))

pytestmark = pytest.mark.timeout(30)


def read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_every_class_and_version_has_a_sample() -> None:
    missing = [
        str(sample_path(name, v).relative_to(SAMPLES))
        for name, cls in CLASSES.items()
        for v in range(1, cls.class_version + 1)
        if not sample_path(name, v).exists()
    ]
    assert not missing, f"events without a stored sample: {missing}"


def test_every_sample_is_of_a_known_class_and_version() -> None:
    unknown = [
        str(p.relative_to(SAMPLES))
        for p in SAMPLE_FILES
        if p.parent.name not in CLASSES
        or not 1 <= int(p.stem[1:]) <= CLASSES[p.parent.name].class_version
    ]
    assert not unknown


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: f"{p.parent.name}-{p.stem}")
def test_a_sample_reads_with_todays_model(path: Path) -> None:
    name, version = path.parent.name, int(path.stem[1:])
    sample = read(path)
    stored = sample["stored"]
    assert stored["schema_version"] == version, "a sample is stored as its own version"
    cls = Event.named(name)
    event = cls.model_validate(stored)
    assert event.schema_version == cls.class_version
    if version == cls.class_version:
        assert "reads_as" not in sample
        assert event.model_dump(mode="json") == stored
    else:
        assert event.model_dump(mode="json") == sample["reads_as"]
