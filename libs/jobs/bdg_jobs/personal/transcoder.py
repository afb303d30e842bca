"""Sealing stored events on the way into the log and opening them on the way out.

Between the mapper (pydantic <-> JSON) and the recorder: what the table holds has every
personal value sealed; what a reader gets has them opened, or ``[erased]``. Events stored
before sealing existed hold plain values and read as they are.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
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


@dataclass(frozen=True)
class Sealed:
    """What goes into the log, and which new jobs it binds to which owner's key."""

    events: list[StoredEvent]
    bindings: list[tuple[UUID, UUID]]


class PersonalData:
    def __init__(self, vault: KeyVault) -> None:
        self.vault = vault

    def seal(self, pairs: Sequence[tuple[Event, StoredEvent]]) -> Sealed:
        """Each stored event with its personal values sealed: who decided with their key, what
        it says about the job with the job owner's (``fields.whose``); and the new jobs' owners,
        to bind in the transaction of their first events (see ``KeyVault.bind_statement``).

        At most one query for the owners of the whole batch; none for a job whose first event
        is in the batch: its owner is the one this batch binds, or nobody (the binding commits
        with the job's first event, so no other can exist)."""
        users: dict[tuple[str, str], DataKey] = {}
        created: dict[UUID, Owner] = {}
        bindings: list[tuple[UUID, UUID]] = []
        plans: list[tuple[Event, StoredEvent, dict[str, Any], DataKey | None, list[str]]] = []
        for event, stored in pairs:
            state: dict[str, Any] = json.loads(stored.state)
            names = personal_names(type(event), state)
            if not names:
                plans.append((event, stored, state, None, []))
                continue
            user = subject_user(state)
            decider: DataKey | None = None
            about_job = names
            if user is not None:
                decider = users.get((event.tenant_id, user))
                decider = decider or self.vault.key_for_user(event.tenant_id, user)
                users[(event.tenant_id, user)] = decider
                actor, about_job = whose(type(event), names)
                state = seal_state(
                    state, actor, decider.key, decider.key_id, event.job_id, event.version
                )
            if event.version == 1:  # the aggregate's first event names its owner (or nobody)
                created[event.job_id] = Owner(decider)
                if decider is not None:
                    bindings.append((event.job_id, decider.key_id))
            plans.append((event, stored, state, decider, about_job))
        wanted = {e.job_id for e, _, _, _, about_job in plans if about_job} - created.keys()
        owners = {**self.vault.owners_of(wanted), **created}
        out: list[StoredEvent] = []
        for event, stored, state, decider, about_job in plans:
            if about_job:
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
            elif decider is None:  # nothing personal in it
                out.append(stored)
                continue
            out.append(replace(stored, state=_dump(state)))
        return Sealed(out, bindings)

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
