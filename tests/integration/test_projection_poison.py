"""Issue 11, finding 2: a projection survives an event it cannot apply.

The bad event goes straight into the event store (as old data or a bug elsewhere would put it),
bypassing the gateway's validation. The projection records it, skips that job, goes on with the
others; ``/healthz`` and ``bdg replay`` show it; ``bdg replay --retry-poisoned`` re-applies it
after a fix.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import psycopg
import pytest
from eventsourcing.persistence import StoredEvent
from rich.console import Console

from bdg_cli.replay import replay, retry
from bdg_jobs import poison
from bdg_jobs.agent_config import AgentConfigProjection
from bdg_jobs.domain import Cause, Job
from bdg_jobs.projections import AgentConfigRow
from bdg_jobs.projector import catch_up, retry_poisoned
from bdg_runtime.projection_task import ProjectionTask
from tests.conftest import Servers
from tests.gateway_stack import Keys, Stack, new_tenant
from tests.integration.gateway_calls import create, plan_ready

pytestmark = pytest.mark.timeout(90)


class NulFreeRows(AgentConfigProjection):
    """The fix an operator would ship for such data: the read model stores text it can."""

    def row(self, job: Job) -> AgentConfigRow:
        row = super().row(job)
        return replace(row, goal=row.goal.replace("\x00", "\ufffd"))


def bad_job(stack: Stack, tenant: str) -> UUID:
    """A job whose goal PostgreSQL text cannot hold, appended without any gateway."""
    cause = Cause(producer="user:mallory", occurred_at=datetime.now(UTC), user_id="mallory")
    job = Job.request(uuid4(), tenant, cause, goal="fix it\x00")
    stack.store.save(job)
    return job.job_id


async def listed(client: httpx.AsyncClient, keys: Keys, tenant: str) -> list[str]:
    response = await client.get("/jobs", headers=keys.headers(tenant))
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def poisoned(stack: Stack) -> list[poison.Poisoned]:
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        return poison.listed(conn)


def row_version(stack: Stack, job_id: UUID) -> int | None:
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        row = conn.execute(
            'SELECT version FROM agent_config WHERE "jobId" = %s', (str(job_id),)
        ).fetchone()
    return None if row is None else int(row[0])


async def test_a_bad_event_is_poisoned_and_everyone_else_projects_on(
    client: httpx.AsyncClient,
    keys: Keys,
    stack: Stack,
    servers: Servers,
    namespace: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tenant, other = new_tenant(), new_tenant()
    before = await create(client, keys, tenant)
    bad = bad_job(stack, other)
    await stack.decide(bad, plan_ready)  # a later event of the same job: held, not applied
    after = await create(client, keys, other)
    task = ProjectionTask(stack.store, stack.database_url)
    try:
        with caplog.at_level(logging.ERROR, logger="bdg_jobs.projector"):
            assert await task.step() == 2  # the two good jobs' JobRequested
            assert await task.step() == 0  # and nothing is tried again
    finally:
        task.close()

    # The projection went on: every tenant's list is current, the bad job is not in it.
    assert await listed(client, keys, tenant) == [before["id"]]
    assert await listed(client, keys, other) == [after["id"]]
    [record] = poisoned(stack)
    assert (record.projection, record.originator, record.event_name) == (
        "agent_config", bad, "JobRequested",
    )  # fmt: skip
    assert (record.event_version, record.held) == (1, 1)
    assert "NUL" in record.error
    assert len([r for r in caplog.records if str(bad) in r.getMessage()]) == 1  # logged once

    health = (await client.get("/healthz")).json()
    assert health["status"] == "ok"
    assert health["poisoned"] == 1
    newest = health["newest_poison"]
    assert (newest["event_name"], newest["position"]) == ("JobRequested", record.position)
    assert newest["event_id"] == record.event_id
    assert "fix it" not in str(health)  # unauthenticated: no tenant data

    # `bdg replay` rebuilds without crashing and names the skipped event.
    monkeypatch.setenv("DATABASE_URL", stack.database_url)
    monkeypatch.setenv("NATS_URL", servers.nats_url)
    monkeypatch.setenv("BDG_NAMESPACE", namespace)
    console = Console(record=True, width=250)
    assert replay(AgentConfigProjection(), 1000, console) == 2
    shown = console.export_text()
    assert "1 job(s) skipped" in shown
    assert f"{bad} JobRequested v1 (event {record.event_id}" in shown
    assert "NUL" in shown
    assert await listed(client, keys, other) == [after["id"]]

    # Retried with the code unchanged it still fails, and stays.
    console = Console(record=True, width=250)
    retry(AgentConfigProjection(), console)
    assert "0 poisoned job(s) now apply and were cleared, 1 still fail" in console.export_text()
    assert [r.originator for r in poisoned(stack)] == [bad]

    # After the fix, the retry re-applies it (with the held event) and clears the record.
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        repaired = retry_poisoned(stack.store, conn, NulFreeRows())
    assert (repaired.cleared, repaired.failing) == ([bad], [])
    assert row_version(stack, bad) == 2
    assert poisoned(stack) == []
    assert (await client.get("/healthz")).json()["poisoned"] == 0
    assert set(await listed(client, keys, other)) == {after["id"], str(bad)}


async def test_a_connection_lost_mid_batch_is_not_poison(stack: Stack) -> None:
    """Only events are poisoned: a broken connection propagates and the batch is tried again."""
    cause = Cause(producer="user:u", occurred_at=datetime.now(UTC), user_id="u")
    stack.store.save(Job.request(uuid4(), new_tenant(), cause, goal="ok"))

    class Broken(AgentConfigProjection):
        def apply(self, conn: psycopg.Connection[Any], batch: Any, source: Any) -> None:
            raise psycopg.OperationalError("server closed the connection unexpectedly")

    with (
        psycopg.connect(stack.database_url, autocommit=True) as conn,
        pytest.raises(psycopg.OperationalError),
    ):
        catch_up(stack.store, conn, projection=Broken())
    assert poisoned(stack) == []


async def test_an_event_this_code_cannot_read_is_poisoned_too(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    """A stored event of a class this code does not know (written by a newer version, or by
    hand) stops no reader: the projection poisons it and goes on."""
    tenant = new_tenant()
    unknown = uuid4()
    stack.store.recorder.insert_events(
        [
            StoredEvent(
                originator_id=unknown, originator_version=1, topic="JobTeleported", state=b"{}"
            )
        ]
    )
    after = await create(client, keys, tenant)
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        assert catch_up(stack.store, conn) == 1
    assert await listed(client, keys, tenant) == [after["id"]]
    [record] = poisoned(stack)
    assert (record.originator, record.event_name, record.event_version) == (
        unknown, "JobTeleported", 1,
    )  # fmt: skip
    assert "UnknownEventError" in record.error
    assert (await client.get("/healthz")).json()["newest_poison"]["event_name"] == "JobTeleported"
