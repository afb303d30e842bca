"""The read models, kept current by the log follower."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg

from bdg_jobs.agent_config import AgentConfigProjection
from bdg_jobs.projector import Projection, catch_up
from bdg_jobs.store import JobStore


class ProjectionTask:
    """One read model (``agent_config`` unless told), with its own position and connection."""

    def __init__(
        self, store: JobStore, database_url: str, projection: Projection | None = None
    ) -> None:
        self.store, self.url = store, database_url
        self.projection = projection or AgentConfigProjection()
        self.name = self.projection.name
        self._conn: psycopg.Connection[Any] | None = None

    def _step(self) -> int:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.url, autocommit=True)
        return catch_up(self.store, self._conn, projection=self.projection)

    async def step(self) -> int:
        return await asyncio.to_thread(self._step)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
