"""What PostgreSQL holds of a person beside the log, found and deleted in one transaction.

The job read model, chat threads, budget rows keyed by the person, and the index of the
repositories they registered (status, webhook secret, chunks in every embedding space).
Tables a deployment does not have yet (no index ever built) are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from bdg_jobs.personal.cipher import ERASED

CHUNK_SPACES = "embedding_spaces"  # bdg_indexer.storage.spaces.REGISTRY
# Beside each chunk table, its word counts and the deltas not folded into them yet (their
# words): EmbeddingSpace.terms_table and .term_deltas_table. Deleting the chunks appends
# deltas holding their words, so both go with the repository too.
CHUNK_WORD_TABLES = ("_terms", "_tdelta")


def _exists(conn: psycopg.Connection[Any], table: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
    return bool(row and row[0])


def jobs_in_read_model(conn: psycopg.Connection[Any], tenant: str, user: str) -> list[UUID]:
    """The person's jobs as the read model knows them (jobs stored before sealing too)."""
    rows = conn.execute(
        'SELECT "jobId" FROM agent_config WHERE tenant = %s AND "user" = %s', (tenant, user)
    ).fetchall()
    return [UUID(r[0]) for r in rows]


def has_rows(conn: psycopg.Connection[Any], tenant: str, user: str) -> bool:
    """Whether any read model still holds something of the person."""
    row = conn.execute(
        'SELECT EXISTS (SELECT 1 FROM agent_config WHERE tenant = %(t)s AND "user" = %(u)s) '
        'OR EXISTS (SELECT 1 FROM bdg_threads WHERE tenant = %(t)s AND "user" = %(u)s) '
        "OR EXISTS (SELECT 1 FROM bdg_budget_calls WHERE tenant = %(t)s AND user_id = %(u)s)",
        {"t": tenant, "u": user},
    ).fetchone()
    return bool(row and row[0])


def delete_job_rows(conn: psycopg.Connection[Any], tenant: str, jobs: Sequence[UUID]) -> int:
    ids = [str(j) for j in jobs]
    deleted = conn.execute(
        'DELETE FROM agent_config WHERE tenant = %s AND "jobId" = ANY(%s)', (tenant, ids)
    ).rowcount
    # An event a projection could not apply keeps its error text, which may quote the goal.
    conn.execute("DELETE FROM bdg_projection_poison WHERE originator = ANY(%s)", (list(jobs),))
    return deleted


def delete_threads(conn: psycopg.Connection[Any], tenant: str, user: str) -> int:
    # Messages go with their thread (ON DELETE CASCADE).
    return conn.execute(
        'DELETE FROM bdg_threads WHERE tenant = %s AND "user" = %s', (tenant, user)
    ).rowcount


def delete_budget_rows(conn: psycopg.Connection[Any], tenant: str, user: str) -> int:
    """The person's caps, accounts and reservations go; settled calls stay for the tenant's
    totals, with the person's id replaced."""
    key = f"user:{tenant}:{user}"
    n = conn.execute("DELETE FROM bdg_budget_caps WHERE key = %s", (key,)).rowcount
    n += conn.execute("DELETE FROM bdg_budget_accounts WHERE key = %s", (key,)).rowcount
    n += conn.execute(
        "DELETE FROM bdg_budget_reservations WHERE tenant = %s AND user_id = %s", (tenant, user)
    ).rowcount
    n += conn.execute(
        "UPDATE bdg_budget_calls SET user_id = %s WHERE tenant = %s AND user_id = %s",
        (ERASED, tenant, user),
    ).rowcount
    return n


def delete_index(conn: psycopg.Connection[Any], tenant: str, repo_ids: Sequence[UUID]) -> int:
    """The index of the repositories the person registered: status, hook, every chunk."""
    ids = list(repo_ids)
    rows = conn.execute(
        "DELETE FROM bdg_index_status WHERE tenant = %s AND repo_id = ANY(%s) RETURNING repo",
        (tenant, ids),
    ).fetchall()
    rows += conn.execute(
        "DELETE FROM bdg_repo_hooks WHERE tenant = %s AND repo_id = ANY(%s) RETURNING repo",
        (tenant, ids),
    ).fetchall()
    repos = sorted({r[0] for r in rows})
    if not repos or not _exists(conn, CHUNK_SPACES):
        return 0
    deleted = 0
    tables = conn.execute(
        sql.SQL("SELECT table_name FROM {}").format(sql.Identifier(CHUNK_SPACES))
    ).fetchall()
    for (table,) in tables:
        deleted += conn.execute(
            sql.SQL("DELETE FROM {} WHERE tenant = %s AND repo = ANY(%s)").format(
                sql.Identifier(table)
            ),
            (tenant, repos),
        ).rowcount
        for words in (f"{table}{suffix}" for suffix in CHUNK_WORD_TABLES):
            if _exists(conn, words):  # a space opened before its counts existed has none
                conn.execute(
                    sql.SQL("DELETE FROM {} WHERE tenant = %s AND repo = ANY(%s)").format(
                        sql.Identifier(words)
                    ),
                    (tenant, repos),
                )
    return deleted
