"""The eventsourcing library's PostgreSQL recorder, with the whole append in one round trip.

Same statements and guarantees as the library's: the table lock makes notification ids follow
commit order (so the relay and projections never pass over a gap that fills later), NOTIFY wakes
the followers, and a taken (job, version) raises the library's IntegrityError. The library sends
them in psycopg's pipeline mode with a sync in the middle and a transaction block around it,
which costs about 0.8 ms per append here against 0.27 ms for a plain single-row commit. Here the
whole transaction (BEGIN, lock, notify, the caller's ``also`` statements, insert, COMMIT) goes in
one pipeline with one sync: one round trip, then the commit's flush (bench/hop_latency.py).

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
from psycopg.sql import SQL, Composed, Identifier

Statement = tuple[str | Composed, Sequence[Any]]


class JobEventRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.lock_timeout = SQL("SET LOCAL lock_timeout = '{timeout}s'").format(
            timeout=SQL(str(int(datastore.lock_timeout)))
        )
        self.lock = SQL("LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE").format(
            schema=Identifier(datastore.schema), table=Identifier(events_table_name)
        )
        self.notify = SQL("NOTIFY {channel}").format(channel=Identifier(self.channel_name))

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
        rows = [
            self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
            for e in stored_events
        ]
        # The pool's connections are in autocommit mode: the transaction is spelled out, so it
        # fits in the pipeline. An error (a taken version) aborts the statements after it on
        # the server, COMMIT included, and is raised when the pipeline syncs.
        with self.datastore.get_connection() as conn:
            inserted = conn.cursor()
            try:
                with conn.pipeline(), conn.cursor() as curs:
                    curs.execute("BEGIN")
                    curs.execute(self.lock_timeout)
                    curs.execute(self.lock)
                    curs.execute(self.notify)
                    for query, params in also:
                        curs.execute(query, params)
                    inserted.execute(self.insert_events_statement, (rows,), prepare=True)
                    curs.execute("COMMIT")
                return [row["notification_id"] for row in inserted.fetchall()]
            except BaseException:
                # Leave the pooled connection clean; a dead one is discarded by the pool.
                with contextlib.suppress(psycopg.Error):
                    conn.execute("ROLLBACK")
                raise
            finally:
                inserted.close()
