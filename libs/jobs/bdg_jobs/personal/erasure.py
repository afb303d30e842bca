"""Erasing a person (``POST /agent/data-delete``): the use case, crash-safe and idempotent.

In order: their keys are destroyed (every sealed field, in the log and every replay, reads
``[erased]``); the read models, threads, budget rows and index of theirs are deleted and the
log's plain fields of their older jobs redacted, with the erasure's row, in one transaction;
their jobs' messages leave the bus; the signed record is appended (the auditor writes it into
an audit file). A crash anywhere is finished by asking again: each step is idempotent and the
record's id is the one the transaction stored.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import psycopg

from bdg_contracts.privacy_events import SELF, ErasureCategory, PersonalDataErased
from bdg_jobs.errors import ConcurrencyConflictError
from bdg_jobs.personal import read_models
from bdg_jobs.personal.redaction import redact_foreign_job_fields, redact_plain_events
from bdg_jobs.personal.vault import KeyVault
from bdg_jobs.store import JobStore

BusPurge = Callable[[str, Sequence[UUID]], Awaitable[int]]
C = ErasureCategory
ALWAYS = (
    C.event_fields,
    C.job_read_models,
    C.chat_threads,
    C.index_chunks,
    C.bus_messages,
    C.budget_records,
)


class UnknownPersonError(LookupError):
    """Nothing is known of the person in the tenant: nothing to erase."""


@dataclass(frozen=True)
class ErasureOutcome:
    erasure_id: UUID
    already: bool
    categories: tuple[ErasureCategory, ...]
    jobs: int


@dataclass(frozen=True)
class _Stored:
    outcome: ErasureOutcome
    jobs: tuple[UUID, ...]
    subject: str


class Erasure:
    def __init__(
        self,
        store: JobStore,
        database_url: str,
        purge_bus: BusPurge,
        clock: Callable[[], datetime],
    ) -> None:
        assert store.personal is not None, "erasure needs the sealing store"
        self.store, self.url, self.purge_bus, self.clock = store, database_url, purge_bus, clock
        self.vault: KeyVault = store.personal.vault

    async def erase(self, tenant: str, user: str, requested_by: str) -> ErasureOutcome:
        stored = await asyncio.to_thread(self._erase_stored, tenant, user)
        await self.purge_bus(tenant, stored.jobs)
        await asyncio.to_thread(self._record, tenant, user, requested_by, stored)
        return stored.outcome

    def _erase_stored(self, tenant: str, user: str) -> _Stored:
        subject = self.vault.subject(tenant, user)
        with psycopg.connect(self.url, autocommit=True) as conn:
            previous = conn.execute(
                "SELECT erasure_id, categories, jobs FROM bdg_erasures WHERE subject = %s",
                (subject,),
            ).fetchone()
            live = read_models.has_rows(conn, tenant, user) or self.vault.has_live_key(tenant, user)
            if previous is not None and not live:
                categories = tuple(ErasureCategory(c) for c in previous[1])
                outcome = ErasureOutcome(previous[0], True, categories, previous[2])
                erased = self.vault.erase(tenant, user)  # nothing left: only the job ids
                return _Stored(outcome, erased.aggregates, subject)
            if previous is None and not live and not self.vault.known(tenant, user):
                raise UnknownPersonError(f"no user {user!r} in tenant {tenant!r}")
            in_read_model = read_models.jobs_in_read_model(conn, tenant, user)
            erased = self.vault.erase(tenant, user)
            bound = set(erased.aggregates)
            jobs = tuple(dict.fromkeys([*erased.aggregates, *in_read_model]))
            with conn.transaction():
                read_models.delete_job_rows(conn, tenant, jobs)
                read_models.delete_threads(conn, tenant, user)
                read_models.delete_budget_rows(conn, tenant, user)
                read_models.delete_index(conn, tenant, erased.aggregates)
                legacy = redact_plain_events(conn, [j for j in in_read_model if j not in bound])
                legacy += redact_foreign_job_fields(conn, erased.aggregates)
                categories = ALWAYS + ((C.legacy_event_fields,) if legacy else ())
                erasure_id = self._upsert(conn, subject, tenant, categories, len(jobs))
        return _Stored(ErasureOutcome(erasure_id, False, categories, len(jobs)), jobs, subject)

    @staticmethod
    def _upsert(
        conn: psycopg.Connection[Any],
        subject: str,
        tenant: str,
        categories: Sequence[ErasureCategory],
        jobs: int,
    ) -> UUID:
        # A person erased before and back since: the new erasure replaces the row.
        row = conn.execute(
            "INSERT INTO bdg_erasures (subject, tenant, erasure_id, categories, jobs) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (subject) DO UPDATE SET "
            "erasure_id = EXCLUDED.erasure_id, categories = EXCLUDED.categories, "
            "jobs = EXCLUDED.jobs, erased_at = now() RETURNING erasure_id",
            (subject, tenant, uuid4(), [c.value for c in categories], jobs),
        ).fetchone()
        assert row is not None
        erasure_id: UUID = row[0]
        return erasure_id

    def _record(self, tenant: str, user: str, requested_by: str, stored: _Stored) -> None:
        by_self = requested_by == user
        outcome = stored.outcome
        event = PersonalDataErased(
            job_id=outcome.erasure_id,
            version=1,
            correlation_id=str(outcome.erasure_id),
            tenant_id=tenant,
            user_id=None if by_self else requested_by,
            producer="gateway" if by_self else f"user:{requested_by}",
            occurred_at=self.clock(),
            subject=stored.subject,
            requested_by=SELF if by_self else requested_by,
            categories=outcome.categories,
            jobs=outcome.jobs,
        )
        # Taken: recorded by the try a crash cut short, or by a concurrent request.
        with contextlib.suppress(ConcurrencyConflictError):
            self.store.append([event])
