"""Chat threads in PostgreSQL: one person's (tenant and user) conversations with the agent.

Every query names the owner, so another tenant's or user's thread is simply not found. A
message's number is the thread's next one, taken under a lock of the thread's row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal
from uuid import UUID, uuid4

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from bdg_gateway.views import View
from bdg_jobs.user_commands import Caller

Role = Literal["user", "agent"]


class ThreadView(View):
    id: UUID
    title: str
    created_at: datetime
    updated_at: datetime


class MessageView(View):
    seq: int
    role: Role
    text: str
    job_id: UUID | None
    at: datetime


class ThreadDetail(ThreadView):
    messages: list[MessageView]


class NewMessage(View):
    role: Role
    text: str
    job_id: UUID | None = None
    at: datetime | None = None


_THREAD_COLUMNS = "id, title, created_at, updated_at"
_OWNER = 'tenant = %(tenant)s AND "user" = %(user)s'


class ThreadStore:
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self.pool = pool

    async def create(
        self, caller: Caller, title: str, messages: Sequence[NewMessage] = ()
    ) -> ThreadDetail:
        """A thread with its first messages (an import), in one transaction."""
        thread_id = uuid4()
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(
                'INSERT INTO bdg_threads (id, tenant, "user", title) VALUES (%s, %s, %s, %s)',
                (thread_id, caller.tenant_id, caller.user_id, title),
            )
            for seq, message in enumerate(messages, start=1):
                await conn.execute(
                    "INSERT INTO bdg_thread_messages (thread_id, seq, role, text, job_id, at) "
                    "VALUES (%s, %s, %s, %s, %s, coalesce(%s, now()))",
                    (thread_id, seq, message.role, message.text, message.job_id, message.at),
                )
        detail = await self.get(caller, thread_id)
        assert detail is not None
        return detail

    async def list(self, caller: Caller, limit: int, offset: int) -> list[ThreadView]:
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                f"SELECT {_THREAD_COLUMNS} FROM bdg_threads WHERE {_OWNER} "
                "ORDER BY updated_at DESC, id LIMIT %(limit)s OFFSET %(offset)s",
                {**_owner(caller), "limit": limit, "offset": offset},
            )
            return [ThreadView(**row) for row in await cur.fetchall()]

    async def get(self, caller: Caller, thread_id: UUID) -> ThreadDetail | None:
        async with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(
                f"SELECT {_THREAD_COLUMNS} FROM bdg_threads WHERE {_OWNER} AND id = %(id)s",
                {**_owner(caller), "id": thread_id},
            )
            thread = await cur.fetchone()
            if thread is None:
                return None
            await cur.execute(
                "SELECT seq, role, text, job_id, at FROM bdg_thread_messages "
                "WHERE thread_id = %s ORDER BY seq",
                (thread_id,),
            )
            messages = [MessageView(**row) for row in await cur.fetchall()]
        return ThreadDetail(**thread, messages=messages)

    async def append(
        self, caller: Caller, thread_id: UUID, message: NewMessage
    ) -> MessageView | None:
        async with (
            self.pool.connection() as conn,
            conn.transaction(),
            conn.cursor(row_factory=dict_row) as cur,
        ):
            await cur.execute(
                f"UPDATE bdg_threads SET updated_at = now() WHERE {_OWNER} AND id = %(id)s "
                "RETURNING id",
                {**_owner(caller), "id": thread_id},
            )  # the row lock orders concurrent appends
            if await cur.fetchone() is None:
                return None
            await cur.execute(
                "INSERT INTO bdg_thread_messages (thread_id, seq, role, text, job_id) "
                "SELECT %(id)s, coalesce(max(seq), 0) + 1, %(role)s, %(text)s, %(job)s "
                "FROM bdg_thread_messages WHERE thread_id = %(id)s "
                "RETURNING seq, role, text, job_id, at",
                {
                    "id": thread_id,
                    "role": message.role,
                    "text": message.text,
                    "job": message.job_id,
                },
            )
            row = await cur.fetchone()
        assert row is not None
        return MessageView(**row)


def _owner(caller: Caller) -> dict[str, str]:
    return {"tenant": caller.tenant_id, "user": caller.user_id}
