"""The job event store: the eventsourcing library's PostgreSQL recorder (psycopg 3).

Synchronous like the library; async callers go through ``asyncio.to_thread``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID

import psycopg
from eventsourcing.persistence import (
    ApplicationRecorder,
    IntegrityError,
    Notification,
    StoredEvent,
)
from eventsourcing.popo import POPOApplicationRecorder
from eventsourcing.postgres import PostgresDatastore
from psycopg.conninfo import conninfo_to_dict

from bdg_contracts.base import Event, UnknownEventError
from bdg_jobs.domain import Job
from bdg_jobs.errors import ConcurrencyConflictError, JobNotFoundError, RepoNotFoundError
from bdg_jobs.mapper import to_event, to_stored
from bdg_jobs.personal.master import master_key
from bdg_jobs.personal.transcoder import PersonalData, Sealed
from bdg_jobs.personal.vault import KeyVault
from bdg_jobs.recorder import JobEventRecorder
from bdg_jobs.repos import RepoIndex

EVENTS_TABLE = "bdg_job_events"
CREATE_LOCK = 0x6264_675F_6372_6561  # "bdg_crea"
POOL_WAIT_SECONDS = 1.0
S = TypeVar("S", bound=StoredEvent)


@dataclass(frozen=True)
class Recorded:
    """An event with its position in the global notification log."""

    notification_id: int
    event: Event


@dataclass(frozen=True)
class Unreadable:
    """A stored event this code cannot decode (a class it does not know, data its model
    refuses): kept apart so that a reader of the whole log can go on past it."""

    notification_id: int
    originator: UUID
    version: int
    topic: str
    error: Exception


def datastore_from_url(url: str, pool_size: int = 4) -> PostgresDatastore:
    params = conninfo_to_dict(url)
    return PostgresDatastore(
        dbname=str(params.get("dbname", "postgres")),
        host=str(params.get("host", "127.0.0.1")),
        port=str(params.get("port", "5432")),
        user=str(params.get("user", "postgres")),
        password=str(params.get("password", "")),
        pool_size=pool_size,
        max_overflow=pool_size,
        pre_ping=False,  # a ping per checkout costs a round trip on every hop
        lock_timeout=10,
        # How long a caller waits for a connection before the library's retry (10 tries) asks
        # again: about 12 s in all, which outlasts a restart of PostgreSQL; beyond that the
        # caller hears of it (the gateway: 503) instead of hanging for minutes.
        connect_timeout=POOL_WAIT_SECONDS,
    )


def job_of(job_id: UUID, history: Sequence[Event]) -> Job:
    """The job ``history`` (one aggregate's events, as read) replays to."""
    # A repository's index shares the log: its id is no job's.
    if not history or type(history[0]).aggregate != "job":
        raise JobNotFoundError(f"no job {job_id}")
    return Job.replay(history)


class JobStore:
    """Jobs in PostgreSQL (``datastore``), or in memory (``JobStore.in_memory()``: the replay of
    a job runs its handlers against a private copy, never against the real log).

    In PostgreSQL personal values are sealed with their subject's data key (``personal``,
    made from the master key unless given); in memory they stay plain (a private copy).
    """

    def __init__(
        self,
        datastore: PostgresDatastore | None = None,
        create_table: bool = True,
        recorder: ApplicationRecorder | None = None,
        personal: PersonalData | None = None,
    ) -> None:
        self.datastore = datastore
        if recorder is None:
            assert datastore is not None, "a datastore or a recorder"
            pg = JobEventRecorder(datastore, events_table_name=EVENTS_TABLE)
            if create_table:
                pg.create_table()
            recorder = pg
        self.recorder = recorder
        if personal is None and datastore is not None:
            personal = PersonalData(KeyVault(datastore, master_key()))
            if create_table:
                personal.vault.create_tables()
        self.personal = personal

    def _seal(self, events: Sequence[Event]) -> Sealed:
        stored = [to_stored(e) for e in events]
        if self.personal is None:
            return Sealed(stored, [])
        return self.personal.seal(list(zip(events, stored, strict=True)))

    def _open(self, rows: Sequence[S]) -> Sequence[S]:
        return rows if self.personal is None else self.personal.open(rows)

    @classmethod
    def in_memory(cls) -> JobStore:
        return cls(recorder=POPOApplicationRecorder())

    @classmethod
    def from_url(cls, url: str, pool_size: int = 4) -> JobStore:
        # Services start together; PostgreSQL's catalog does not like concurrent
        # CREATE ... IF NOT EXISTS ("tuple concurrently updated"), so take turns.
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (CREATE_LOCK,))
            store = cls(datastore_from_url(url, pool_size))
        return store

    def close(self) -> None:
        if self.datastore is not None:
            self.datastore.close()

    def append(self, events: Sequence[Event]) -> list[Recorded]:
        """Atomically append; a taken version means another writer won."""
        if not events:
            return []
        sealed = self._seal(events)
        # New jobs' owners commit with their first events (only the PostgreSQL recorder seals).
        also = [KeyVault.bind_statement(sealed.bindings)] if sealed.bindings else []
        try:
            ids = self.recorder.insert_events(sealed.events, also=also)
        except IntegrityError as error:
            raise ConcurrencyConflictError(str(error)) from error
        assert ids is not None
        return [Recorded(n, e) for n, e in zip(ids, events, strict=True)]

    def save(self, job: Job) -> list[Recorded]:
        return self.append(job.collect())

    def history(self, job_id: UUID, after: int = 0, upto: int | None = None) -> list[Event]:
        stored = self.recorder.select_events(job_id, gt=after or None, lte=upto)
        return [to_event(s) for s in self._open(stored)]

    def load(self, job_id: UUID, at_version: int | None = None) -> Job:
        return job_of(job_id, self.history(job_id, upto=at_version))

    def load_repo(self, repo_id: UUID) -> RepoIndex:
        history = self.history(repo_id)
        if not history or type(history[0]).aggregate != "repo":
            raise RepoNotFoundError(f"no repository {repo_id}")
        return RepoIndex.replay(history)

    def notifications(self, after: int, limit: int = 500) -> list[Recorded]:
        rows = self.recorder.select_notifications(after, limit, inclusive_of_start=False)
        return [Recorded(n.id, to_event(n)) for n in self._open(rows)]

    def readable_notifications(self, after: int, limit: int = 500) -> list[Recorded | Unreadable]:
        """``notifications``, with each event that cannot be decoded as an ``Unreadable``."""
        rows = self.recorder.select_notifications(after, limit, inclusive_of_start=False)
        found: list[Recorded | Unreadable] = []
        try:
            opened: Sequence[Notification] | None = self._open(rows)
        except ValueError:  # some row does not open: each is opened alone, to tell which
            opened = None
        for n, row in enumerate(rows):
            try:
                plain = opened[n] if opened is not None else self._open([row])[0]
                found.append(Recorded(row.id, to_event(plain)))
            except (UnknownEventError, ValueError) as error:  # ValueError: JSON, pydantic
                originator = UUID(str(row.originator_id))
                found.append(
                    Unreadable(row.id, originator, row.originator_version, row.topic, error)
                )
        return found

    def max_notification_id(self) -> int:
        return self.recorder.max_notification_id() or 0
