"""Schema migrations against a real PostgreSQL, each test in a database of its own."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from psycopg import sql

from bdg_jobs.migrations import LATEST, LOCK_KEY, MIGRATIONS, applied_versions, migrate

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def db_url(servers: Any) -> Iterator[str]:
    """A database of the test's own that no migration has touched (``servers``: conftest)."""
    name = f"bdg_t_{uuid4().hex[:16]}"
    with psycopg.connect(servers.admin_database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield str(servers.database_url(name))
    finally:
        with psycopg.connect(servers.admin_database_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def schema(url: str) -> dict[str, Any]:
    """Columns, indexes and the migrations table of the public schema: what migrate may change."""
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable, column_default "
            "FROM information_schema.columns WHERE table_schema = 'public' "
            "ORDER BY table_name, ordinal_position"
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
            "ORDER BY indexname"
        ).fetchall()
        applied = conn.execute(
            "SELECT version, name, applied_at FROM bdg_schema_migrations ORDER BY version"
        ).fetchall()
    return {"columns": columns, "indexes": indexes, "applied": applied}


def test_fresh_database_gets_every_migration(db_url: str) -> None:
    assert migrate(db_url) == [m.version for m in MIGRATIONS]
    assert applied_versions(db_url) == list(range(1, LATEST + 1))
    with psycopg.connect(db_url) as conn:
        cols = conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'agent_config' ORDER BY ordinal_position"
        ).fetchall()
    assert [c[0] for c in cols] == [
        "jobId",
        "state",
        "planMarkdown",
        "costUSD",
        "createdAt",
        "tenant",
        "user",
        "goal",
        "updatedAt",
        "version",
    ]


def test_migrating_twice_changes_nothing(db_url: str) -> None:
    migrate(db_url)
    before = schema(db_url)
    assert migrate(db_url) == []
    assert schema(db_url) == before


def test_an_up_to_date_database_is_not_locked_to_be_checked(db_url: str) -> None:
    """Every command migrates first: on a database with nothing to apply that is one read,
    never a wait on the lock another process holds while it migrates (or anything else)."""
    migrate(db_url)
    with psycopg.connect(db_url) as holder, psycopg.connect(db_url, autocommit=True) as conn:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))  # held: no commit
        conn.execute("SET lock_timeout = '2s'")  # waiting on the lock would fail, not hang
        assert migrate(conn) == []
        with pytest.raises(psycopg.errors.LockNotAvailable):  # the lock is held indeed
            applied_versions(conn)


@pytest.mark.parametrize("target", [m.version for m in MIGRATIONS[1:]])
def test_upgrade_from_previous_version_keeps_rows(db_url: str, target: int) -> None:
    assert migrate(db_url, upto=target - 1) == list(range(1, target))
    job_id = str(uuid4())
    with psycopg.connect(db_url) as conn:
        conn.execute(
            'INSERT INTO agent_config ("jobId", state, "planMarkdown", "costUSD") '
            "VALUES (%s, 'coding', '# plan', 1.5)",
            (job_id,),
        )
    assert migrate(db_url, upto=target) == [target]
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            'SELECT state, "planMarkdown", "costUSD", "createdAt" IS NOT NULL '
            'FROM agent_config WHERE "jobId" = %s',
            (job_id,),
        ).fetchone()
    assert row == ("coding", "# plan", 1.5, True)
    assert applied_versions(db_url) == list(range(1, target + 1))


def test_adopts_an_agent_config_table_made_before_migrations(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute(
            'CREATE TABLE agent_config ("jobId" TEXT PRIMARY KEY, state TEXT NOT NULL, '
            '"planMarkdown" TEXT, "costUSD" REAL DEFAULT 0, '
            '"createdAt" TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP)'
        )
        conn.execute("INSERT INTO agent_config (\"jobId\", state) VALUES ('seed', 'done')")
    migrate(db_url)
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT state, tenant FROM agent_config").fetchall() == [("done", None)]


def test_concurrent_migrations_both_succeed(db_url: str) -> None:
    barrier = threading.Barrier(2, timeout=10)
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with psycopg.connect(db_url, autocommit=True) as conn:
                barrier.wait()
                results.append(migrate(conn))
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert sorted(v for applied in results for v in applied) == [m.version for m in MIGRATIONS]
    assert applied_versions(db_url) == list(range(1, LATEST + 1))
