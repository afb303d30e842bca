"""Read-model queries over ``agent_config`` (async psycopg pool; the projection writes it)."""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from bdg_gateway.views import JobSummary, PoisonView

_LIST = """
    SELECT "jobId", tenant, "user", goal, state, "planMarkdown", "costUSD", version,
           "createdAt", "updatedAt"
    FROM agent_config
    WHERE tenant = %(tenant)s
    ORDER BY "createdAt" DESC NULLS LAST, "jobId" DESC
    LIMIT %(limit)s OFFSET %(offset)s
"""


POOL_WAIT_SECONDS = 5.0  # then 503: a read that waits longer for a connection helps no one

_POISON = """
    SELECT projection, position, event_id, event_name, error, first_seen,
           count(*) OVER () AS total
    FROM bdg_projection_poison
    ORDER BY first_seen DESC, position DESC
    LIMIT 1
"""


class JobQueries:
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self.pool = pool

    @classmethod
    async def open(cls, database_url: str, max_size: int = 4) -> JobQueries:
        # Checked on checkout: after a PostgreSQL restart every pooled connection is dead, and
        # reads would answer 500 until each one had failed once.
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            database_url,
            min_size=1,
            max_size=max_size,
            open=False,
            kwargs={"autocommit": True},
            check=AsyncConnectionPool.check_connection,
            timeout=POOL_WAIT_SECONDS,
        )
        await pool.open()
        return cls(pool)

    async def close(self) -> None:
        await self.pool.close()

    async def list_jobs(self, tenant: str, limit: int = 50, offset: int = 0) -> list[JobSummary]:
        """The tenant's jobs, newest first."""
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(_LIST, {"tenant": tenant, "limit": limit, "offset": offset})
            rows = await cur.fetchall()
        return [_summary(row) for row in rows]

    async def poisoned(self) -> tuple[int, PoisonView | None]:
        """How many originators projections skip, and the newest of them."""
        async with (
            self.pool.connection(timeout=5) as conn,
            conn.cursor(row_factory=dict_row) as cur,
        ):
            await cur.execute(_POISON)
            rows = await cur.fetchall()
        if not rows:
            return 0, None
        row = rows[0]
        newest = PoisonView(
            projection=row["projection"],
            position=row["position"],
            event_id=row["event_id"],
            event_name=row["event_name"],
            error_type=row["error"].split(":", 1)[0],
            first_seen=row["first_seen"],
        )
        return int(row["total"]), newest

    async def jobs_per_state(self) -> dict[str, int]:
        """Every tenant's jobs counted by state (the operator's metrics, not a tenant's view)."""
        async with self.pool.connection(timeout=5) as conn, conn.cursor() as cur:
            await cur.execute("SELECT state, count(*) FROM agent_config GROUP BY state")
            rows = await cur.fetchall()
        return {str(state): int(count) for state, count in rows}

    async def ping(self) -> None:
        async with self.pool.connection(timeout=5) as conn:
            await conn.execute("SELECT 1")


def _summary(row: dict[str, Any]) -> JobSummary:
    return JobSummary(
        id=row["jobId"],
        tenant=row["tenant"],
        user=row["user"],
        goal=row["goal"],
        state=row["state"],
        plan_markdown=row["planMarkdown"],
        cost_usd=float(row["costUSD"] or 0.0),
        version=row["version"],
        created_at=row["createdAt"],
        updated_at=row["updatedAt"],
    )
