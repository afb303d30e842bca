"""Outbox relay: publishes every committed event, in notification order, from a stored position.

A crash between commit and publish loses nothing: the position only moves after JetStream
acknowledged, and a second publish of the same event is dropped by its Nats-Msg-Id.
"""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg

from bdg_jobs.store import JobStore
from bdg_runtime.bus import JetStreamPublisher

POSITION = "relay"


async def read_position(conn: psycopg.AsyncConnection[Any], name: str) -> int:
    cur = await conn.execute(
        "SELECT position FROM bdg_projection_positions WHERE name = %s", (name,)
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def write_position(conn: psycopg.AsyncConnection[Any], name: str, position: int) -> None:
    await conn.execute(
        "INSERT INTO bdg_projection_positions (name, position) VALUES (%s, %s) "
        "ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position",
        (name, position),
    )


class Relay:
    name = "relay"

    def __init__(
        self, store: JobStore, publisher: JetStreamPublisher, database_url: str, batch: int = 500
    ) -> None:
        self.store, self.publisher, self.url, self.batch = store, publisher, database_url, batch
        self._conn: psycopg.AsyncConnection[Any] | None = None

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        return self._conn

    async def step(self) -> int:
        conn = await self._connection()
        position = await read_position(conn, POSITION)
        batch = await asyncio.to_thread(self.store.notifications, position, self.batch)
        if not batch:
            return 0
        await self.publisher.publish(batch)
        await write_position(conn, POSITION, batch[-1].notification_id)
        return len(batch)

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
