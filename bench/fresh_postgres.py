"""A throwaway database for a benchmark: on the server given, or on an embedded PostgreSQL.

With no URL the bench starts the project's embedded PostgreSQL (pgserver, with pgvector; see
bdg_runtime.embedded) in a temporary home and stops it afterwards, so it needs no server.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo


@contextlib.contextmanager
def admin_url(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    from bdg_runtime.embedded import start_embedded

    # Not under a 0700 pytest-style dir: pgserver runs PostgreSQL as its own user when we are
    # root (same reason as tests/conftest.py).
    home = Path(tempfile.mkdtemp(prefix="bdg-bench-home-"))
    stack = start_embedded(home, nats=False)
    try:
        assert stack.database_url
        print(f"embedded PostgreSQL under {home}")
        yield stack.database_url
    finally:
        stack.stop()
        shutil.rmtree(home, ignore_errors=True)


@contextlib.contextmanager
def fresh_database(url: str | None) -> Iterator[str]:
    """A new, empty database (dropped afterwards) on ``url``'s server, or an embedded one."""
    with admin_url(url) as admin:
        name = f"bdg_bench_{uuid4().hex[:12]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield make_conninfo(admin, dbname=name)
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
