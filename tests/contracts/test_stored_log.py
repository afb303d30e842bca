"""A log written by older code loads into today's aggregates and replays to the same state.

The logs under ``samples/log-<date>.jsonl`` are rows of the events table as a day's code stored
them (``write_event_log.py``), next to the state that code replayed them to. They go back into
the real store byte for byte and are loaded by today's ``JobStore``: any change to the
aggregates, the mapper or the contracts that reads old rows differently fails here.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from bdg_contracts import index_events as ix
from bdg_contracts.base import Event
from bdg_jobs.mapper import to_event, to_stored
from bdg_jobs.store import JobStore
from tests.contracts.snapshot import plain, snapshot

SAMPLES = Path(__file__).parent / "samples"
LOGS = sorted(SAMPLES.glob("log-*.jsonl"))

pytestmark = pytest.mark.timeout(60)


def stored_rows(log: Path) -> list[StoredEvent]:
    rows = [json.loads(line) for line in log.read_text().splitlines() if line]
    return [
        StoredEvent(
            originator_id=UUID(r["originator_id"]),
            originator_version=r["originator_version"],
            topic=r["topic"],
            state=r["state"].encode(),
        )
        for r in rows
    ]


def test_there_is_a_stored_log() -> None:
    assert LOGS, "no stored event log under tests/contracts/samples"


@pytest.mark.parametrize("log", LOGS, ids=lambda p: p.stem)
def test_a_stored_log_replays_to_the_state_it_was_written_with(
    database_url: str, log: Path
) -> None:
    expected = json.loads(log.with_suffix(".state.json").read_text())
    store = JobStore.from_url(database_url)
    try:
        store.recorder.insert_events(stored_rows(log))
        replayed = {}
        kinds: dict[str, type] = {}
        for aggregate_id in expected:
            history = store.history(UUID(aggregate_id))
            if type(history[0]).aggregate == ix.RepoEvent.aggregate:
                aggregate: object = store.load_repo(UUID(aggregate_id))
            else:
                aggregate = store.load(UUID(aggregate_id))
            replayed[aggregate_id] = snapshot(aggregate)
            kinds[aggregate_id] = type(aggregate)
    finally:
        store.close()
    for aggregate_id, state in expected.items():
        got = replayed[aggregate_id]
        # A field added to the aggregate since the log was written reads at its default there.
        added = {name: got.pop(name) for name in set(got) - set(state)}
        assert got == state, aggregate_id
        assert added == defaults_of(kinds[aggregate_id], added), aggregate_id


def defaults_of(kind: type, names: dict[str, object]) -> dict[str, object]:
    """The snapshot values of ``names`` on a fresh aggregate of ``kind``."""
    fields = {f.name: f for f in dataclasses.fields(kind)}
    fresh = {
        n: fields[n].default_factory()
        if fields[n].default_factory is not dataclasses.MISSING
        else fields[n].default
        for n in names
    }
    return {n: plain(v) for n, v in fresh.items()}


@pytest.mark.parametrize("log", LOGS, ids=lambda p: p.stem)
def test_every_stored_event_reads_back_to_the_same_json(log: Path) -> None:
    """Reading a row of a schema version still current and writing it again gives the row:
    nothing is lost, renamed or spelled differently (an enum's stored value, a default)."""
    current = [r for r in stored_rows(log) if _still_current(r)]
    assert current
    for row in current:
        again = to_stored(to_event(row))
        assert (again.topic, json.loads(again.state)) == (row.topic, json.loads(row.state))


def _still_current(row: StoredEvent) -> bool:
    stored_version = json.loads(row.state)["schema_version"]
    return bool(stored_version == Event.named(row.topic).class_version)
