"""Connecting the CLI: settings -> URLs (embedded stack if unset) -> store, bus, use cases.

The CLI's composition root. Nothing connects at import time; ``connected()`` opens everything
and closes it again, in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from nats.aio.client import Client
from nats.js import JetStreamContext
from pydantic import ValidationError

from bdg_cli.options import default_user, tenant_id
from bdg_cli.options import fail as fail  # re-exported: commands import it from here
from bdg_cli.reach import Unreachable, connect_nats
from bdg_contracts import subjects
from bdg_jobs.application import JobApplication
from bdg_jobs.errors import DomainError, JobNotFoundError
from bdg_jobs.migrations import migrate
from bdg_jobs.store import JobStore
from bdg_jobs.tenants import load_policies
from bdg_jobs.user_commands import Caller, JobCommands
from bdg_runtime.bus import JetStreamPublisher, ensure_streams
from bdg_runtime.dlq import DeadLetterError
from bdg_runtime.embedded import EmbeddedStack, resolve_urls
from bdg_runtime.redrive import Redriver
from bdg_runtime.settings import Settings, source_rules


@dataclass
class Connected:
    settings: Settings
    database_url: str
    nats_url: str
    stack: EmbeddedStack | None
    store: JobStore
    nc: Client
    js: JetStreamContext
    app: JobApplication
    redrive: Redriver
    commands: JobCommands


def caller(tenant: str | None = None, user: str | None = None) -> Caller:
    """Options first, then ``BDG_TENANT`` (default "local") / ``BDG_USER`` (default $USER)."""
    return Caller(tenant_id=tenant_id(tenant), user_id=user or default_user())


@contextlib.contextmanager
def urls(settings: Settings | None = None) -> Iterator[tuple[str, str]]:
    """(database URL, NATS URL); an embedded stack started for them stops on the way out."""
    settings = settings or Settings()
    subjects.use_namespace(settings.bdg_namespace)
    database_url, nats_url, stack = resolve_urls(settings)
    try:
        yield database_url, nats_url
    finally:
        if stack is not None:
            stack.stop()


@contextlib.asynccontextmanager
async def connected(
    settings: Settings | None = None, stack: EmbeddedStack | None = None
) -> AsyncIterator[Connected]:
    """Everything a command needs. A ``stack`` passed in is the caller's to stop; one started
    here (URLs unset) is stopped on the way out."""
    settings = settings or Settings()
    subjects.use_namespace(settings.bdg_namespace)
    own_stack: EmbeddedStack | None = None
    if stack is None:
        database_url, nats_url, own_stack = await asyncio.to_thread(resolve_urls, settings)
    else:
        assert stack.database_url
        assert stack.nats_url
        database_url = settings.database_url or stack.database_url
        nats_url = settings.nats_url or stack.nats_url
    async with contextlib.AsyncExitStack() as exits:
        if own_stack is not None:
            exits.callback(own_stack.stop)
        await asyncio.to_thread(_migrate, database_url)
        store = await asyncio.to_thread(JobStore.from_url, database_url, 2)
        exits.callback(store.close)
        nc = await connect_nats(nats_url)
        exits.push_async_callback(_close, nc)
        js = nc.jetstream()
        await ensure_streams(js, settings.bdg_duplicate_window_seconds)
        app = JobApplication(store, JetStreamPublisher(js))
        redrive = Redriver(store, js)
        yield Connected(
            settings,
            database_url,
            nats_url,
            stack or own_stack,
            store,
            nc,
            js,
            app,
            redrive,
            JobCommands(
                app, redrive, load_policies(settings.bdg_tenant_policies), source_rules(settings)
            ),
        )


def _migrate(url: str) -> None:
    try:
        migrate(url)
    except psycopg.OperationalError as error:
        raise Unreachable(f"cannot reach PostgreSQL: {error}".strip()) from error


async def _close(nc: Client) -> None:
    with contextlib.suppress(Exception):
        await nc.drain()


# -- running a command ---------------------------------------------------------------------
USER_ERRORS: tuple[type[BaseException], ...] = (
    JobNotFoundError,
    DomainError,
    DeadLetterError,
    Unreachable,
)
USAGE_ERRORS: tuple[type[BaseException], ...] = (ValueError, ValidationError)

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; user errors become a message and an exit code, not a
    traceback (1: no such job / not allowed now / unreachable; 2: bad input)."""
    try:
        return asyncio.run(main)
    except USER_ERRORS as error:
        fail(str(error) or type(error).__name__, 1)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        fail(problems, 2)
    except USAGE_ERRORS as error:
        fail(str(error), 2)
    except KeyboardInterrupt:
        fail("interrupted", 130)
