"""Fixtures of the integration tests beyond the suite's own (``tests/conftest.py``): a real
SeaweedFS S3 (the embedded one) per module, and an audit rig over it per test; the fake OpenAI
endpoint and a connection pool, as the model, embedding and ledger tests use them."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from bdg_jobs.store import JobStore
from bdg_runtime.embedded import start_embedded
from tests.fakes.openai_server import FakeOpenAi
from tests.integration.audit_rig import AuditRig, audit_settings, rig_for


# One per module, as when each module defined it: a store filled by one module's tests (the
# export of a million rows) must not run out of volumes under the next module's.
@pytest.fixture(scope="module", name="s3_endpoint")
def s3_endpoint_fixture() -> Iterator[str]:
    home = Path(tempfile.mkdtemp(prefix="bdg-test-s3-"))
    stack = start_embedded(home, postgres=False, nats=False, s3=True)
    assert stack.s3_url
    try:
        yield stack.s3_url
    finally:
        stack.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(name="audit_rig")
def audit_rig_fixture(s3_endpoint: str, database_url: str, tmp_path: Path) -> Iterator[AuditRig]:
    store = JobStore.from_url(database_url)
    try:
        yield rig_for(audit_settings(s3_endpoint, tmp_path), s3_endpoint, store, database_url)
    finally:
        store.close()


@pytest.fixture(name="fake")
def fake_openai_fixture() -> Iterator[FakeOpenAi]:
    """The OpenAI API as documented, priced (tests/fakes/openai_server.py): one per test."""
    server = FakeOpenAi(api_key="sk-test").start()
    yield server
    server.stop()


@pytest.fixture(name="pool")
async def pool_fixture(database_url: str) -> AsyncIterator[AsyncConnectionPool[Any]]:
    """Autocommit connections to the test's database, a few for a test's concurrent calls."""
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        database_url, min_size=1, max_size=4, open=False, kwargs={"autocommit": True}
    )
    await pool.open()
    yield pool
    await pool.close()
