"""Sealing stored events on the way into the log and opening them on the way out.

Between the mapper (pydantic <-> JSON) and the recorder: what the table holds has every
personal value sealed; what a reader gets has them opened, or ``[erased]``. Events stored
before sealing existed hold plain values and read as they are.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from bdg_contracts.base import Event
from bdg_jobs.personal.cipher import ERASED
from bdg_jobs.personal.fields import (
    open_state,
    personal_names,
    seal_state,
    sealed_key_ids,
    subject_user,
)
from bdg_jobs.personal.vault import DataKey, KeyVault, Owner

S = TypeVar("S", bound=StoredEvent)


def _dump(state: dict[str, Any]) -> bytes:
    return json.dumps(state, separators=(",", ":")).encode()


def _originator(stored: StoredEvent) -> UUID:
    oid = stored.originator_id
    return oid if isinstance(oid, UUID) else UUID(str(oid))


class PersonalData:
    def __init__(self, vault: KeyVault) -> None:
        self.vault = vault

    def seal(self, pairs: Sequence[tuple[Event, StoredEvent]]) -> list[StoredEvent]:
        """Each stored event with its personal values sealed with its subject's key."""
        users: dict[tuple[str, str], DataKey] = {}
        owners: dict[UUID, Owner] = {}
        bindings: list[tuple[UUID, UUID]] = []
        out: list[StoredEvent] = []
        for event, stored in pairs:
            state: dict[str, Any] = json.loads(stored.state)
            names = personal_names(type(event), state)
            if not names:
                out.append(stored)
                continue
            user = subject_user(state)
            key: DataKey | None
            if user is not None:
                found = users.get((event.tenant_id, user))
                key = found or self.vault.key_for_user(event.tenant_id, user)
                users[(event.tenant_id, user)] = key
                if event.version == 1:
                    bindings.append((event.job_id, key.key_id))
            else:
                if event.job_id not in owners:
                    owners[event.job_id] = self.vault.owner_of(event.job_id)
                owner = owners[event.job_id]
                if owner.erased:  # a job of an erased person goes on: nothing of theirs kept
                    state = {**state, **dict.fromkeys(names, ERASED)}
                    out.append(replace(stored, state=_dump(state)))
                    continue
                key = owner.key
            if key is None:  # no owner known: a job older than sealing
                out.append(stored)
                continue
            sealed = seal_state(state, names, key.key, key.key_id, event.job_id, event.version)
            out.append(replace(stored, state=_dump(sealed)))
        self.vault.bind_all(bindings)  # before the events are committed: never a sealed
        return out  # event whose owner is unknown

    def open(self, rows: Sequence[S]) -> list[S]:
        """Rows with their sealed values opened; one key query for the whole batch."""
        states: list[dict[str, Any] | None] = []
        wanted: set[UUID] = set()
        for row in rows:
            if b'"$sealed"' not in row.state:  # most events: nothing to open, no parse
                states.append(None)
                continue
            state = json.loads(row.state)
            wanted |= sealed_key_ids(state)
            states.append(state)
        if not wanted:
            return list(rows)
        keys = self.vault.keys(wanted)
        opened: list[S] = []
        for row, state in zip(rows, states, strict=True):
            if state is None:
                opened.append(row)
                continue
            plain = open_state(state, keys.get, _originator(row), row.originator_version)
            opened.append(replace(row, state=_dump(plain)))
        return opened
