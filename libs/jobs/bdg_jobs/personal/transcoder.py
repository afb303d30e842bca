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
    whose,
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
        """Each stored event with its personal values sealed: who decided with their key, what
        it says about the job with the job owner's (``fields.whose``)."""
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
            decider: DataKey | None = None
            about_job = names
            if user is not None:
                decider = users.get((event.tenant_id, user))
                decider = decider or self.vault.key_for_user(event.tenant_id, user)
                users[(event.tenant_id, user)] = decider
                if event.version == 1:  # the aggregate's first event names its owner
                    bindings.append((event.job_id, decider.key_id))
                    owners[event.job_id] = Owner(decider)
                actor, about_job = whose(type(event), names)
                state = seal_state(
                    state, actor, decider.key, decider.key_id, event.job_id, event.version
                )
            if about_job:
                if event.job_id not in owners:
                    owners[event.job_id] = self.vault.owner_of(event.job_id)
                owner = owners[event.job_id]
                if owner.erased:  # a job of an erased person goes on: nothing of theirs kept
                    state = {**state, **dict.fromkeys(about_job, ERASED)}
                elif (key := owner.key or decider) is not None:  # no owner known: older job
                    state = seal_state(
                        state, about_job, key.key, key.key_id, event.job_id, event.version
                    )
                else:  # no owner known and no person: a job older than sealing
                    out.append(stored)
                    continue
            out.append(replace(stored, state=_dump(state)))
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
