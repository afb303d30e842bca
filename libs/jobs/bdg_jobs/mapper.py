"""Pydantic events <-> the eventsourcing library's stored events.

The topic is the event class name (stable across module moves); the state is the event's JSON
without the two columns the library stores apart (originator id and version).
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

# Every aggregate's events share the log: a process that reads it must know them all.
from bdg_contracts import all_events as all_events
from bdg_contracts.base import Event

_COLUMNS = ("job_id", "version")


def to_stored(event: Event) -> StoredEvent:
    state = event.model_dump(mode="json", exclude=set(_COLUMNS))
    return StoredEvent(
        originator_id=event.job_id,
        originator_version=event.version,
        topic=event.name,
        state=json.dumps(state, separators=(",", ":")).encode(),
    )


def to_event(stored: StoredEvent) -> Event:
    state: dict[str, Any] = json.loads(stored.state)
    state["job_id"] = (
        stored.originator_id
        if isinstance(stored.originator_id, UUID)
        else UUID(str(stored.originator_id))
    )
    state["version"] = stored.originator_version
    return Event.named(stored.topic).model_validate(state)
