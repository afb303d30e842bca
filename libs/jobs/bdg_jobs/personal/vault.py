"""The data keys in PostgreSQL (``bdg_subject_keys``), wrapped by the master key.

No cache: a key erased by one process must not be used by another a moment later, so every
read asks the table (one query per batch of events). A read is one statement on the pool's
autocommit connection: one round trip, where a transaction block around it took three (BEGIN,
the query, ROLLBACK), and finding a person's live key took four (BEGIN, an INSERT that
conflicts, the SELECT, COMMIT). Every service reads keys each time it loads a job and each time
it saves one: the two were 16-24% of each service's samples over whole jobs (py-spy on the
services of bench/job_create.py).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.postgres import PostgresDatastore

from bdg_jobs.personal.cipher import new_data_key, unwrap, wrap
from bdg_jobs.personal.schema import KEY_TABLES


@dataclass(frozen=True)
class DataKey:
    key_id: UUID
    key: bytes


@dataclass(frozen=True)
class Owner:
    """Whose an aggregate is: ``key`` None and ``erased`` False: nobody known."""

    key: DataKey | None
    erased: bool = False


@dataclass(frozen=True)
class Erased:
    """What erasing a person destroyed: their keys, and the aggregates bound to them."""

    keys: int
    already: bool
    aggregates: tuple[UUID, ...]


class KeyVault:
    def __init__(self, datastore: PostgresDatastore, master: bytes) -> None:
        self.datastore, self.master = datastore, master

    def create_tables(self) -> None:
        with self.datastore.transaction(commit=True) as curs:
            for statement in KEY_TABLES:
                curs.execute(statement)

    def subject(self, tenant: str, user: str) -> str:
        message = f"{tenant}\x00{user}".encode()
        return hmac.new(self.master, message, hashlib.sha256).hexdigest()

    def key_for_user(self, tenant: str, user: str) -> DataKey:
        """The person's live key, made on first use (again after an erasure: a new key)."""
        if (live := self.live_key(tenant, user)) is not None:
            return live  # the usual case: one read, no transaction
        subject = self.subject(tenant, user)
        key_id, key = uuid4(), new_data_key()
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                "INSERT INTO bdg_subject_keys (key_id, tenant, subject, wrapped) "
                "VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (subject) WHERE erased_at IS NULL DO NOTHING",
                (key_id, tenant, subject, wrap(self.master, key_id, key)),
            )
            if curs.rowcount == 1:
                return DataKey(key_id, key)
            curs.execute(
                "SELECT key_id, wrapped FROM bdg_subject_keys "
                "WHERE subject = %s AND erased_at IS NULL",
                (subject,),
            )
            row = curs.fetchone()
        assert row is not None, "a live key conflicts, so it exists"
        return DataKey(row["key_id"], unwrap(self.master, row["key_id"], row["wrapped"]))

    def _read(self, query: str, params: Sequence[Any]) -> list[Any]:
        """The rows of one statement, outside any transaction block: one round trip."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(query, params)
            return curs.fetchall()

    @staticmethod
    def bind_statement(pairs: Sequence[tuple[UUID, UUID]]) -> tuple[str, Sequence[Any]]:
        """Each aggregate to its owner's key, in one statement that the event store runs in the
        transaction of the aggregate's first events: an owner is bound if and only if its job
        is committed (never an owner without a job, never a sealed job without an owner)."""
        return (
            "INSERT INTO bdg_aggregate_subjects (aggregate_id, key_id) "
            "SELECT * FROM unnest(%s::uuid[], %s::uuid[]) ON CONFLICT DO NOTHING",
            ([a for a, _ in pairs], [k for _, k in pairs]),
        )

    def bind(self, aggregate_id: UUID, key_id: UUID) -> None:
        """Bind an aggregate already stored to an owner, in a transaction of its own (what the
        event store did before owners were bound with the first events)."""
        query, params = self.bind_statement([(aggregate_id, key_id)])
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(query, params)

    def owners_of(self, aggregate_ids: Iterable[UUID]) -> dict[UUID, Owner]:
        """The key of each aggregate's owner, in one query (one round trip: no transaction
        block around a single read)."""
        wanted = list(set(aggregate_ids))
        found = {a: Owner(None) for a in wanted}
        if not wanted:
            return found
        rows = self._read(
            "SELECT a.aggregate_id, k.key_id, k.wrapped FROM bdg_aggregate_subjects a "
            "JOIN bdg_subject_keys k USING (key_id) WHERE a.aggregate_id = ANY(%s)",
            (wanted,),
        )
        for row in rows:
            if row["wrapped"] is None:
                found[row["aggregate_id"]] = Owner(None, erased=True)
            else:
                key = unwrap(self.master, row["key_id"], row["wrapped"])
                found[row["aggregate_id"]] = Owner(DataKey(row["key_id"], key))
        return found

    def keys(self, key_ids: Iterable[UUID]) -> dict[UUID, bytes | None]:
        """Each key, or None when erased (or never known)."""
        wanted = list(set(key_ids))
        found: dict[UUID, bytes | None] = dict.fromkeys(wanted)
        if not wanted:
            return found
        rows = self._read(
            "SELECT key_id, wrapped FROM bdg_subject_keys WHERE key_id = ANY(%s)", (wanted,)
        )
        for row in rows:
            if row["wrapped"] is not None:
                found[row["key_id"]] = unwrap(self.master, row["key_id"], row["wrapped"])
        return found

    def known(self, tenant: str, user: str) -> bool:
        """Whether the person ever had a key (erased or not)."""
        query = "SELECT 1 FROM bdg_subject_keys WHERE subject = %s LIMIT 1"
        return bool(self._read(query, (self.subject(tenant, user),)))

    def erase(self, tenant: str, user: str) -> Erased:
        """Destroy the person's keys; the rows stay (wrapped NULL) as the trace of it."""
        subject = self.subject(tenant, user)
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                "UPDATE bdg_subject_keys SET wrapped = NULL, erased_at = now() "
                "WHERE subject = %s AND erased_at IS NULL",
                (subject,),
            )
            destroyed = curs.rowcount
            curs.execute(
                "SELECT a.aggregate_id FROM bdg_aggregate_subjects a "
                "JOIN bdg_subject_keys k USING (key_id) WHERE k.subject = %s",
                (subject,),
            )
            aggregates = tuple(row["aggregate_id"] for row in curs.fetchall())
        return Erased(destroyed, destroyed == 0, aggregates)

    def has_live_key(self, tenant: str, user: str) -> bool:
        query = "SELECT 1 FROM bdg_subject_keys WHERE subject = %s AND erased_at IS NULL"
        return bool(self._read(query, (self.subject(tenant, user),)))

    def live_key(self, tenant: str, user: str) -> DataKey | None:
        """The person's key if they have one (never made here)."""
        rows = self._read(
            "SELECT key_id, wrapped FROM bdg_subject_keys WHERE subject = %s AND erased_at IS NULL",
            (self.subject(tenant, user),),
        )
        if not rows:
            return None
        row = rows[0]
        return DataKey(row["key_id"], unwrap(self.master, row["key_id"], row["wrapped"]))
