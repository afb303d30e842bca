"""Versioned, idempotent schema migrations for the read models (psycopg 3, synchronous).

Migrations are an ordered list in code and are never edited once shipped: a change is a new
migration. Each one runs in its own transaction under a transaction-scoped advisory lock, so two
processes starting at once apply each migration exactly once and both return.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import tuple_row

from bdg_jobs.personal.schema import KEY_TABLES

MIGRATIONS_TABLE = "bdg_schema_migrations"
# Any fixed bigint; advisory locks are per database, so databases never contend.
LOCK_KEY = 0x6264_675F_6D69_6772  # "bdg_migr"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "create agent_config",
        (
            # IF NOT EXISTS adopts a table the seed created before migrations existed.
            """CREATE TABLE IF NOT EXISTS agent_config (
                "jobId" TEXT PRIMARY KEY,
                state TEXT NOT NULL,
                "planMarkdown" TEXT,
                "costUSD" REAL DEFAULT 0,
                "createdAt" TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP
            )""",
        ),
    ),
    Migration(
        2,
        "agent_config tenant, user, goal, updatedAt, version",
        (
            """ALTER TABLE agent_config
                ADD COLUMN tenant TEXT,
                ADD COLUMN "user" TEXT,
                ADD COLUMN goal TEXT,
                ADD COLUMN "updatedAt" TIMESTAMPTZ,
                ADD COLUMN version INT""",
            'CREATE INDEX agent_config_tenant_updated ON agent_config (tenant, "updatedAt")',
        ),
    ),
    Migration(
        3,
        "create bdg_projection_positions",
        (
            """CREATE TABLE bdg_projection_positions (
                name TEXT PRIMARY KEY,
                position BIGINT NOT NULL
            )""",
        ),
    ),
    Migration(
        4,
        "agent_config index for a tenant's newest jobs",
        ('CREATE INDEX agent_config_tenant_created ON agent_config (tenant, "createdAt" DESC)',),
    ),
    Migration(
        5,
        "repository webhook secrets and index status",
        (
            # Kept out of the event log: secrets must not travel to audit exports or the bus.
            """CREATE TABLE bdg_repo_hooks (
                repo_id UUID PRIMARY KEY,
                tenant TEXT NOT NULL,
                repo TEXT NOT NULL,
                secret TEXT NOT NULL,
                created_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )""",
            "CREATE INDEX bdg_repo_hooks_repo ON bdg_repo_hooks (repo)",
            # The indexer's progress, written as it goes (the events say only where it ended).
            """CREATE TABLE bdg_index_status (
                repo_id UUID PRIMARY KEY,
                tenant TEXT NOT NULL,
                repo TEXT NOT NULL,
                state TEXT NOT NULL,
                phase TEXT NOT NULL DEFAULT '',
                commit TEXT,
                files INT NOT NULL DEFAULT 0,
                chunks INT NOT NULL DEFAULT 0,
                done INT NOT NULL DEFAULT 0,
                total INT NOT NULL DEFAULT 0,
                errors JSONB NOT NULL DEFAULT '[]',
                updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )""",
            "CREATE INDEX bdg_index_status_tenant ON bdg_index_status (tenant, repo)",
        ),
    ),
    Migration(
        6,
        "create bdg_projection_poison",
        (
            # Events a projection could not apply (bdg_jobs.poison): one per projection and
            # originator, the first that failed; ``held`` counts its later events skipped.
            """CREATE TABLE bdg_projection_poison (
                projection TEXT NOT NULL,
                originator UUID NOT NULL,
                position BIGINT NOT NULL,
                event_id TEXT NOT NULL,
                event_name TEXT NOT NULL,
                event_version INT NOT NULL,
                error TEXT NOT NULL,
                first_seen TIMESTAMPTZ NOT NULL DEFAULT now(),
                last_seen TIMESTAMPTZ NOT NULL DEFAULT now(),
                held INT NOT NULL DEFAULT 0,
                PRIMARY KEY (projection, originator)
            )""",
            "CREATE INDEX bdg_projection_poison_newest ON bdg_projection_poison (first_seen)",
        ),
    ),
    Migration(
        7,
        "heartbeats of running handlers (bdg_runtime.heartbeats)",
        (
            # Not events: signs of life for the reconciler, kept only while a handler runs.
            """CREATE TABLE bdg_step_heartbeats (
                job_id TEXT NOT NULL,
                service TEXT NOT NULL,
                event_version INT NOT NULL,
                beat_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                PRIMARY KEY (job_id, service)
            )""",
        ),
    ),
    Migration(
        8,
        "issues that started jobs, and the comments posted on them (bdg_gateway.issue_jobs)",
        (
            # Where to comment for a job started by an issue; no token (configuration holds it).
            """CREATE TABLE bdg_issue_jobs (
                job_id TEXT PRIMARY KEY,
                tenant TEXT NOT NULL,
                provider TEXT NOT NULL,
                full_name TEXT NOT NULL,
                issue_number INT NOT NULL,
                delivery_id TEXT NOT NULL,
                created_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )""",
            # One comment per event, whichever gateway replica gets a redelivery.
            """CREATE TABLE bdg_issue_comments (
                event_id TEXT PRIMARY KEY,
                job_id TEXT NOT NULL,
                posted_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )""",
        ),
    ),
    Migration(
        9,
        "chat threads of the web app (bdg_gateway.thread_routes)",
        (
            # A person's conversation, not the job's history: the jobs it links to keep theirs.
            """CREATE TABLE bdg_threads (
                id UUID PRIMARY KEY,
                tenant TEXT NOT NULL,
                "user" TEXT NOT NULL,
                title TEXT NOT NULL,
                created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )""",
            'CREATE INDEX bdg_threads_owner ON bdg_threads (tenant, "user", updated_at DESC)',
            """CREATE TABLE bdg_thread_messages (
                thread_id UUID NOT NULL REFERENCES bdg_threads (id) ON DELETE CASCADE,
                seq INT NOT NULL,
                role TEXT NOT NULL,
                text TEXT NOT NULL,
                job_id UUID,
                at TIMESTAMPTZ NOT NULL DEFAULT now(),
                PRIMARY KEY (thread_id, seq)
            )""",
        ),
    ),
    Migration(
        10,
        "budget ledger: caps, accounts, reservations, settled calls (bdg_jobs.ledger)",
        (
            # A cap per key ('job:<tenant>:<id>', 'user:<tenant>:<user>', 'tenant:<tenant>');
            # monthly caps apply to every month's account of their key.
            """CREATE TABLE bdg_budget_caps (
                key TEXT PRIMARY KEY,
                tenant TEXT NOT NULL,
                cap_usd NUMERIC NOT NULL CHECK (cap_usd >= 0),
                updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )""",
            # Spent and reserved per key and period ('' for a job, 'YYYY-MM' for a month).
            """CREATE TABLE bdg_budget_accounts (
                key TEXT NOT NULL,
                period TEXT NOT NULL,
                tenant TEXT NOT NULL,
                spent_usd NUMERIC NOT NULL DEFAULT 0 CHECK (spent_usd >= 0),
                reserved_usd NUMERIC NOT NULL DEFAULT 0 CHECK (reserved_usd >= 0),
                PRIMARY KEY (key, period)
            )""",
            """CREATE TABLE bdg_budget_reservations (
                id UUID PRIMARY KEY,
                tenant TEXT NOT NULL,
                user_id TEXT NOT NULL,
                job_id TEXT NOT NULL,
                period TEXT NOT NULL,
                amount_usd NUMERIC NOT NULL CHECK (amount_usd >= 0),
                expires_at TIMESTAMPTZ NOT NULL
            )""",
            "CREATE INDEX bdg_budget_reservations_expiry ON bdg_budget_reservations (expires_at)",
            # One row per settled call: what GET /costs groups.
            """CREATE TABLE bdg_budget_calls (
                id UUID PRIMARY KEY,
                tenant TEXT NOT NULL,
                user_id TEXT NOT NULL,
                job_id TEXT NOT NULL,
                operation TEXT NOT NULL,
                model TEXT NOT NULL,
                prompt_tokens INT NOT NULL,
                completion_tokens INT NOT NULL,
                cost_usd NUMERIC NOT NULL,
                settled_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )""",
            "CREATE INDEX bdg_budget_calls_tenant ON bdg_budget_calls (tenant, settled_at)",
        ),
    ),
    Migration(
        11,
        "daily cost roll-up and budget alerts outbox (bdg_jobs.ledger.rollup, .alerts)",
        (
            # Settled spend per tenant, user, operation and UTC day: what the roll-up writes.
            """CREATE TABLE bdg_cost_daily (
                tenant TEXT NOT NULL,
                user_id TEXT NOT NULL,
                operation TEXT NOT NULL,
                day DATE NOT NULL,
                calls INT NOT NULL,
                prompt_tokens BIGINT NOT NULL,
                completion_tokens BIGINT NOT NULL,
                cost_usd NUMERIC NOT NULL,
                PRIMARY KEY (tenant, day, user_id, operation)
            )""",
            # One row: every day up to this one is rolled up for good (later runs start after).
            """CREATE TABLE bdg_cost_rollup_mark (
                one BOOLEAN PRIMARY KEY DEFAULT true CHECK (one),
                rolled_through DATE NOT NULL
            )""",
            # One alert per cap key, period and threshold (the primary key is the "never
            # twice"); the row is the outbox of its event and its email.
            """CREATE TABLE bdg_budget_alerts (
                key TEXT NOT NULL,
                period TEXT NOT NULL,
                percent INT NOT NULL,
                tenant TEXT NOT NULL,
                cap_usd NUMERIC NOT NULL,
                spent_usd NUMERIC NOT NULL,
                created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                event_recorded BOOLEAN NOT NULL DEFAULT false,
                email_sent_at TIMESTAMPTZ,
                email_attempts INT NOT NULL DEFAULT 0,
                email_next_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                email_error TEXT,
                PRIMARY KEY (key, period, percent)
            )""",
            """CREATE INDEX bdg_budget_alerts_unsent ON bdg_budget_alerts (email_next_at)
                WHERE email_sent_at IS NULL""",
            # A call whose endpoint sent no usage: its tokens were counted here (GET /costs
            # shows how many such calls a row holds).
            """ALTER TABLE bdg_budget_calls
                ADD COLUMN tokens_counted BOOLEAN NOT NULL DEFAULT false""",
        ),
    ),
    Migration(
        12,
        "deploy provider credentials per tenant, encrypted (bdg_jobs.deploy_credentials)",
        (
            # Kept out of the event log: tokens must not travel to audit exports or the bus.
            """CREATE TABLE bdg_deploy_credentials (
                tenant TEXT NOT NULL,
                provider TEXT NOT NULL,
                target TEXT,
                settings JSONB NOT NULL,
                sealed BYTEA NOT NULL,
                updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                PRIMARY KEY (tenant, provider)
            )""",
            # One provider per site target of a tenant.
            """CREATE UNIQUE INDEX bdg_deploy_credentials_target
                ON bdg_deploy_credentials (tenant, target) WHERE target IS NOT NULL""",
        ),
    ),
    Migration(
        13,
        "gdpr: personal data keys and erasures (bdg_jobs.personal)",
        (
            *KEY_TABLES,
            # One row per erasure; the person by their HMAC subject only (bdg_jobs.personal).
            """CREATE TABLE bdg_erasures (
                subject TEXT PRIMARY KEY,
                tenant TEXT NOT NULL,
                erasure_id UUID NOT NULL,
                categories TEXT[] NOT NULL,
                jobs INT NOT NULL,
                erased_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )""",
        ),
    ),
    Migration(
        14,
        "sites and releases read model (bdg_jobs.site_reading.projection)",
        (
            # The site's JSON as the sites API shows it; tenant first: every read is scoped.
            """CREATE TABLE bdg_sites (
                site_id UUID PRIMARY KEY,
                tenant TEXT NOT NULL,
                version INT NOT NULL,
                updated_at TIMESTAMPTZ,
                site JSONB NOT NULL
            )""",
            "CREATE INDEX bdg_sites_tenant ON bdg_sites (tenant, updated_at DESC)",
            # A release's name is unique per tenant: the promote and rollback routes find it.
            """CREATE TABLE bdg_site_releases (
                tenant TEXT NOT NULL,
                release TEXT NOT NULL,
                site_id UUID NOT NULL,
                job_id UUID,
                created_at TIMESTAMPTZ NOT NULL,
                release_json JSONB NOT NULL,
                PRIMARY KEY (tenant, release)
            )""",
            "CREATE INDEX bdg_site_releases_site ON bdg_site_releases (site_id, created_at DESC)",
            "CREATE INDEX bdg_site_releases_job ON bdg_site_releases (job_id)",
        ),
    ),
)

LATEST = MIGRATIONS[-1].version

_CREATE_TABLE = f"""CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (
    version INT PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)"""


@contextmanager
def _connection(
    conn_or_url: psycopg.Connection[Any] | str,
) -> Iterator[psycopg.Connection[Any]]:
    if isinstance(conn_or_url, str):
        with psycopg.connect(conn_or_url, autocommit=True) as conn:
            yield conn
    else:
        yield conn_or_url


def _lock(conn: psycopg.Connection[Any]) -> None:
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
    conn.execute(_CREATE_TABLE)


def _applied(conn: psycopg.Connection[Any]) -> set[int]:
    with conn.cursor(row_factory=tuple_row) as cur:
        rows = cur.execute(f"SELECT version FROM {MIGRATIONS_TABLE}").fetchall()
    return {int(row[0]) for row in rows}


def _all_applied(conn: psycopg.Connection[Any], pending: list[Migration]) -> bool:
    """Whether every pending migration is recorded, read without the lock: applied versions
    only ever grow, and every command starts here (one query instead of a locked one each)."""
    with conn.transaction(), conn.cursor(row_factory=tuple_row) as cur:
        row = cur.execute("SELECT to_regclass(%s)", (MIGRATIONS_TABLE,)).fetchone()
        if row is None or row[0] is None:
            return False
        return {m.version for m in pending} <= _applied(conn)


def applied_versions(conn_or_url: psycopg.Connection[Any] | str) -> list[int]:
    """The versions recorded as applied, in order (empty for a database never migrated)."""
    with _connection(conn_or_url) as conn, conn.transaction():
        _lock(conn)
        return sorted(_applied(conn))


def migrate(conn_or_url: psycopg.Connection[Any] | str, upto: int | None = None) -> list[int]:
    """Apply the missing migrations up to ``upto`` (default: all); return the versions applied.

    A connection passed in should be idle (autocommit or outside a transaction): each migration
    commits on its own.
    """
    pending = [m for m in MIGRATIONS if upto is None or m.version <= upto]
    done: list[int] = []
    with _connection(conn_or_url) as conn:
        if _all_applied(conn, pending):
            return done
        for migration in pending:
            with conn.transaction():
                _lock(conn)
                # Read under the lock: another process may have applied it while we waited.
                if migration.version in _applied(conn):
                    continue
                for statement in migration.statements:
                    conn.execute(statement)
                conn.execute(
                    f"INSERT INTO {MIGRATIONS_TABLE} (version, name) VALUES (%s, %s)",
                    (migration.version, migration.name),
                )
            done.append(migration.version)
    return done
