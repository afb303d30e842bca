"""Runs projections over the notification log, exactly once per event.

A batch's rows and the projection's position in ``bdg_projection_positions`` are written in the
same transaction, with the position row locked: a crash never applies an event twice or skips
one, and two projectors of the same name never interleave.

An event the projection cannot apply (a value PostgreSQL refuses, a history the domain refuses)
must not stop the projection for everyone: the batch is applied again one event at a time, each
under a savepoint, and the event that fails is recorded in ``bdg_projection_poison`` and skipped
with its originator's later events (see ``bdg_jobs.poison``). Lost connections are not poison:
they propagate, and the batch is tried again later.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import tuple_row

from bdg_contracts.base import Event
from bdg_jobs import poison
from bdg_jobs.agent_config import AgentConfigProjection
from bdg_jobs.store import Recorded, Unreadable

log = logging.getLogger(__name__)
# The database went away (or the connection broke): try again later, nothing is poisoned.
TRANSIENT = (psycopg.OperationalError, psycopg.InterfaceError)

Progress = Callable[[int, int], None]
"""Called after each batch with (events done, events to do) for this run."""


class EventSource(Protocol):
    """What a projection reads: ``JobStore`` or a fake."""

    def readable_notifications(
        self, after: int, limit: int = ...
    ) -> list[Recorded | Unreadable]: ...

    def history(self, job_id: UUID, after: int = ..., upto: int | None = ...) -> list[Event]: ...

    def max_notification_id(self) -> int: ...


class Projection(Protocol):
    name: str

    def apply(
        self, conn: psycopg.Connection[Any], batch: Sequence[Recorded], source: EventSource
    ) -> None:
        """Write the rows for ``batch`` inside the caller's transaction."""

    def reset(self, conn: psycopg.Connection[Any]) -> None:
        """Empty the projection's tables inside the caller's transaction."""

    def forget(self) -> None:
        """Drop in-memory state: the transaction that built it rolled back."""

    def repair(self, conn: psycopg.Connection[Any], originator: UUID, source: EventSource) -> None:
        """Rebuild ``originator``'s rows from its whole history inside the caller's transaction."""


@dataclass(frozen=True)
class Advanced:
    position: int
    applied: int
    poisoned: int = 0


@dataclass(frozen=True)
class Repaired:
    cleared: list[UUID] = field(default_factory=list)
    failing: list[UUID] = field(default_factory=list)


def position(conn: psycopg.Connection[Any], name: str) -> int:
    with conn.transaction(), conn.cursor(row_factory=tuple_row) as cur:
        row = cur.execute(
            "SELECT position FROM bdg_projection_positions WHERE name = %s", (name,)
        ).fetchone()
    return int(row[0]) if row else 0


def _lock_position(conn: psycopg.Connection[Any], name: str) -> int:
    conn.execute(
        "INSERT INTO bdg_projection_positions (name, position) VALUES (%s, 0) "
        "ON CONFLICT (name) DO NOTHING",
        (name,),
    )
    with conn.cursor(row_factory=tuple_row) as cur:
        row = cur.execute(
            "SELECT position FROM bdg_projection_positions WHERE name = %s FOR UPDATE", (name,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def _save_position(conn: psycopg.Connection[Any], name: str, value: int) -> None:
    conn.execute("UPDATE bdg_projection_positions SET position = %s WHERE name = %s", (value, name))


class _UnreadableInBatch(Exception):
    """A batch holds an event that cannot be decoded: ``_isolate`` poisons it."""


def _originator(recorded: Recorded | Unreadable) -> UUID:
    return recorded.originator if isinstance(recorded, Unreadable) else recorded.event.job_id


def project(
    projection: Projection,
    conn: psycopg.Connection[Any],
    batch: Sequence[Recorded | Unreadable],
    source: EventSource,
) -> Advanced:
    """Apply the part of ``batch`` past the stored position and advance it, in one transaction.

    Events of poisoned originators are skipped; if the rest fails, or holds an event that
    cannot be decoded, ``_isolate`` finds the event.
    """
    try:
        with conn.transaction():
            # Safe for a read model: a crash can lose the last commits, but rows and position
            # are lost together and simply projected again.
            conn.execute("SET LOCAL synchronous_commit TO OFF")
            current = _lock_position(conn, projection.name)
            fresh = [r for r in batch if r.notification_id > current]
            if not fresh:
                return Advanced(current, 0)
            held = poison.held_originators(conn, projection.name)
            live = [r for r in fresh if _originator(r) not in held]
            if any(isinstance(r, Unreadable) for r in live):
                raise _UnreadableInBatch
            poison.hold(conn, projection.name, _counts(fresh, held))
            if live:
                projection.apply(conn, [r for r in live if isinstance(r, Recorded)], source)
            last = max(r.notification_id for r in fresh)
            _save_position(conn, projection.name, last)
    except TRANSIENT:
        projection.forget()
        raise
    except Exception:
        projection.forget()
        return _isolate(projection, conn, batch, source)
    except BaseException:
        projection.forget()
        raise
    return Advanced(last, len(live))


def _counts(batch: Sequence[Recorded | Unreadable], held: set[UUID]) -> dict[UUID, int]:
    return dict(Counter(_originator(r) for r in batch if _originator(r) in held))


def _isolate(
    projection: Projection,
    conn: psycopg.Connection[Any],
    batch: Sequence[Recorded | Unreadable],
    source: EventSource,
) -> Advanced:
    """The batch again, one event per savepoint: the ones that fail are poisoned and skipped."""
    applied = poisoned = 0
    try:
        with conn.transaction():
            conn.execute("SET LOCAL synchronous_commit TO OFF")
            current = _lock_position(conn, projection.name)
            fresh = [r for r in batch if r.notification_id > current]
            if not fresh:
                return Advanced(current, 0)
            held = poison.held_originators(conn, projection.name)
            skipped: Counter[UUID] = Counter()
            for recorded in fresh:
                originator = _originator(recorded)
                if originator in held:
                    skipped[originator] += 1
                    continue
                try:
                    if isinstance(recorded, Unreadable):
                        raise recorded.error
                    with conn.transaction():  # a savepoint
                        projection.apply(conn, [recorded], source)
                except TRANSIENT:
                    raise
                except Exception as error:
                    projection.forget()  # its cache may be ahead of the rolled-back rows
                    poison.record(conn, projection.name, recorded, error)
                    held.add(originator)
                    poisoned += 1
                    _report(projection.name, recorded, error)
                else:
                    applied += 1
            poison.hold(conn, projection.name, dict(skipped))
            last = max(r.notification_id for r in fresh)
            _save_position(conn, projection.name, last)
    except BaseException:
        projection.forget()
        raise
    return Advanced(last, applied, poisoned)


def _report(name: str, recorded: Recorded | Unreadable, error: Exception) -> None:
    # Once per poisoned originator: the position moves past it, so it is never retried alone.
    if isinstance(recorded, Unreadable):
        what, version = f"an unreadable {recorded.topic}", recorded.version
    else:
        what, version = f"{recorded.event.name} {recorded.event.event_id}", recorded.event.version
    originator = _originator(recorded)
    log.error(
        "projection %s skips %s (version %d of %s, position %d) and the later events of %s "
        "until repaired (bdg replay --retry-poisoned): %s",
        name, what, version, originator, recorded.notification_id, originator,
        poison.describe(error),
    )  # fmt: skip


def retry_poisoned(
    source: EventSource, conn: psycopg.Connection[Any], projection: Projection
) -> Repaired:
    """Rebuild each poisoned originator with the code as it is now; clear those that apply."""
    _check_idle(conn)
    cleared: list[UUID] = []
    failing: list[UUID] = []
    try:
        with conn.transaction():
            _lock_position(conn, projection.name)  # the projector waits: no interleaving
            for record in poison.listed(conn, projection.name):
                try:
                    with conn.transaction():
                        projection.repair(conn, record.originator, source)
                except TRANSIENT:
                    raise
                except Exception as error:
                    projection.forget()
                    poison.still_failing(conn, projection.name, record.originator, error)
                    failing.append(record.originator)
                else:
                    poison.clear(conn, projection.name, record.originator)
                    cleared.append(record.originator)
    except BaseException:
        projection.forget()
        raise
    return Repaired(cleared, failing)


def _check_idle(conn: psycopg.Connection[Any]) -> None:
    """Each batch must commit on its own, not become a savepoint of the caller's transaction."""
    if conn.info.transaction_status != TransactionStatus.IDLE:
        raise ValueError("pass an idle connection (autocommit, or outside a transaction)")


def catch_up(
    source: EventSource,
    conn: psycopg.Connection[Any],
    batch: int = 1000,
    progress: Progress | None = None,
    projection: Projection | None = None,
) -> int:
    """Process every notification after the stored position; return how many were applied.

    The next batch is read (and decoded) in a worker thread while the current one is written.
    """
    _check_idle(conn)
    projection = projection or AgentConfigProjection()
    start = done = position(conn, projection.name)
    total = max(source.max_notification_id() - start, 0)
    if progress:
        progress(0, total)
    applied = 0
    with ThreadPoolExecutor(1, thread_name_prefix=f"{projection.name}-reader") as reader:
        ahead = reader.submit(source.readable_notifications, done, batch)
        while notifications := ahead.result():
            last = notifications[-1].notification_id
            ahead = reader.submit(source.readable_notifications, last, batch)
            step = project(projection, conn, notifications, source)
            applied += step.applied
            done = max(step.position, last)
            if done > last:  # another projector got further: read on from its position
                ahead = reader.submit(source.readable_notifications, done, batch)
            if progress:
                progress(done - start, max(total, done - start))
    return applied


def rebuild(
    source: EventSource,
    conn: psycopg.Connection[Any],
    batch: int = 1000,
    progress: Progress | None = None,
    projection: Projection | None = None,
) -> int:
    """Empty the projection, reset its position and replay the whole log into it."""
    _check_idle(conn)
    projection = projection or AgentConfigProjection()
    try:
        with conn.transaction():
            _lock_position(conn, projection.name)
            projection.reset(conn)
            poison.clear(conn, projection.name)  # the replay finds again what still fails
            _save_position(conn, projection.name, 0)
    finally:
        projection.forget()
    return catch_up(source, conn, batch, progress, projection)
