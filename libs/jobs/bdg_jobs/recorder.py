"""The eventsourcing library's PostgreSQL recorder, with the whole append in one round trip.

Same guarantees as the library's: the table lock makes notification ids follow commit order (so
the relay and projections never pass over a gap that fills later), NOTIFY wakes the followers,
and a taken (job, version) raises the library's IntegrityError. The library sends its
statements in psycopg's pipeline mode, about 0.8 ms per append here against 0.27 ms for a plain
single-row commit; a pipeline with one sync still costs a send and a poll per statement. Here the
whole transaction (BEGIN, lock, notify, the caller's ``also`` statements, the insert, COMMIT) is
one simple-protocol query with its values bound client-side (psycopg's ``ClientCursor``, which
quotes them): one round trip, then the commit's flush, and about half the client CPU of the
pipeline (bench/hop_latency.py).

``also``: statements that must commit with the events or not at all (a new job's owner, see
``bdg_jobs.personal``), run after the lock and before the insert.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg import ClientCursor
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

Statement = tuple[str | Composed, Sequence[Any]]
ROW = SQL("(%s, %s, %s, %s)")
BEGIN_STATEMENTS = 4  # in ``begin``: BEGIN, SET LOCAL, LOCK, NOTIFY


class JobEventRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        table = SQL("{schema}.{table}").format(
            schema=Identifier(datastore.schema), table=Identifier(events_table_name)
        )
        self.begin = SQL(
            "BEGIN; SET LOCAL lock_timeout = '{timeout}s'; "
            "LOCK TABLE {table} IN EXCLUSIVE MODE; NOTIFY {channel}"
        ).format(
            timeout=SQL(str(int(datastore.lock_timeout))),
            table=table,
            channel=Identifier(self.channel_name),
        )
        self.insert = SQL(
            "INSERT INTO {table} (originator_id, originator_version, topic, state) VALUES "
        ).format(table=table)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self,
        stored_events: Sequence[StoredEvent],
        *,
        also: Sequence[Statement] = (),
        **kwargs: Any,
    ) -> Sequence[int] | None:
        if not stored_events:
            return []
        statements: list[Composed | SQL] = [self.begin]
        params: list[Any] = []
        for query, values in also:
            statements.append(SQL(query) if isinstance(query, str) else query)
            params += values
        rows = SQL(", ").join([ROW] * len(stored_events))
        statements += [self.insert + rows + SQL(" RETURNING notification_id"), SQL("COMMIT")]
        for e in stored_events:
            params += [e.originator_id, e.originator_version, e.topic, e.state]
        # The pool's connections are in autocommit mode: the transaction is spelled out. An
        # error (a taken version) skips the rest of the query on the server, COMMIT included.
        with (
            self.datastore.get_connection() as conn,
            ClientCursor(conn, row_factory=tuple_row) as curs,
        ):
            try:
                curs.execute(SQL("; ").join(statements), params)
                for _ in range(BEGIN_STATEMENTS + len(also)):  # to the insert's result
                    curs.nextset()
                ids = [row[0] for row in curs.fetchall()]
            except BaseException:
                # Leave the pooled connection clean; a dead one is discarded by the pool.
                with contextlib.suppress(psycopg.Error):
                    conn.execute("ROLLBACK")
                raise
            return ids
