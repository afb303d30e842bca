"""The fast tier's stack: every test runs on the in-memory broker and again on real NATS."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator

import nats
import pytest

from bdg_contracts import subjects
from bdg_jobs.store import JobStore
from bdg_runtime.bus import broker, declare, ensure_streams
from tests.fast.harness import MODES, FastStack

STEP_TIMEOUT = 30.0


@pytest.fixture(params=MODES)
async def stack(request: pytest.FixtureRequest) -> AsyncIterator[FastStack]:
    # A bus namespace of the test's own, in both modes: subjects and streams never collide.
    subjects.use_namespace("f" + secrets.token_hex(5))
    try:
        if request.param == "memory":
            yield FastStack(
                "memory", broker("nats://127.0.0.1:1", STEP_TIMEOUT), JobStore.in_memory()
            )
            return
        # Real NATS and PostgreSQL: the suite's servers and a database of the test's own.
        servers = request.getfixturevalue("servers")
        store = JobStore.from_url(request.getfixturevalue("database_url"))
        nc = await nats.connect(servers.nats_url)
        js = nc.jetstream()
        await declare("streams", lambda: ensure_streams(js, 60), within=30)
        try:
            yield FastStack("nats", broker(servers.nats_url, STEP_TIMEOUT), store, js)
        finally:
            for stream in (subjects.events_stream(), subjects.dlq_stream()):
                with contextlib.suppress(Exception):
                    await js.delete_stream(stream)
            await nc.close()
            store.close()
    finally:
        subjects.use_namespace("")
