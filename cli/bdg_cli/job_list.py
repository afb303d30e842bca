"""`bdg job list`: the tenant's jobs from the agent_config read model, with nothing but psycopg.

Listing is the command people run most, so it starts quickly: no contracts, event store, NATS
or rich. The read model is brought up to date first (as before), but the projector and the event
store behind it are imported only when the log holds events the read model has not seen; an
embedded stack is started only when ``DATABASE_URL`` is unset (as every command does).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Annotated, Any

import psycopg
import typer
from psycopg.rows import tuple_row

from bdg_cli import listings
from bdg_cli.options import Tenant, User, fail, tenant_id
from bdg_cli.records import AsJson, json_text, print_records
from bdg_jobs.migrations import migrate

LIST_SQL = (
    'SELECT "jobId", state, goal, "user", "costUSD", "updatedAt", version FROM agent_config '
    'WHERE tenant = %s ORDER BY "createdAt" DESC, "jobId" LIMIT %s'
)
# Where agent_config stands against the log: its position and the log's last notification.
BEHIND_SQL = (
    "SELECT (SELECT position FROM bdg_projection_positions WHERE name = 'agent_config'), "
    "(SELECT max(notification_id) FROM bdg_job_events)"
)


def list_jobs(
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: AsJson = False,
    tenant: Tenant = None,
    user: User = None,
) -> None:
    """The tenant's jobs from the agent_config read model, newest first, one per line."""
    try:
        with database_url() as url:
            rows = read(url, tenant_id(tenant), limit)
    except psycopg.OperationalError as error:
        fail(f"cannot reach PostgreSQL: {error}".strip())
    if as_json:
        print(json_text(listings.job_records(rows)))
    elif rows:
        print_records(listings.JOB_COLUMNS, listings.job_rows(rows))
    else:
        print("no jobs yet (`bdg job create GOAL --repo PATH`)")


@contextlib.contextmanager
def database_url() -> Iterator[str]:
    """``DATABASE_URL`` as given; unset (or spelt otherwise): the settings' way, which may
    start the embedded stack (stopped again on the way out)."""
    given = os.environ.get("DATABASE_URL")
    if given:
        yield given
        return
    from bdg_cli.context import urls

    with urls() as (url, _nats):
        yield url


def read(url: str, tenant: str, limit: int) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as db:
        migrate(db)
        if behind(db):
            catch_up(url, db)
        with db.cursor(row_factory=tuple_row) as cur:
            return cur.execute(LIST_SQL, (tenant, limit)).fetchall()


def behind(db: psycopg.Connection[Any]) -> bool:
    """Whether the log holds events agent_config has not applied (or there is no log yet)."""
    try:
        with db.cursor(row_factory=tuple_row) as cur:
            row = cur.execute(BEHIND_SQL).fetchone()
    except psycopg.errors.UndefinedTable:  # a fresh database: the store creates the log
        return True
    assert row is not None
    position, last = row
    return (last or 0) > (position or 0)


def catch_up(url: str, db: psycopg.Connection[Any]) -> None:
    """Up to date even with no service running (exactly once: the position row is locked)."""
    from bdg_jobs import projector
    from bdg_jobs.store import JobStore

    store = JobStore.from_url(url, 2)
    try:
        projector.catch_up(store, db)
    finally:
        store.close()
