"""``POST /agent/data-delete`` on the real database and bus: after it, no table, stream message
or index chunk holds the person's marker in any readable form; their job still replays, with
their fields ``[erased]``; unknown people are 404 with nothing written; twice is one erasure."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import psycopg
import pytest
from nats.aio.client import Client
from nats.js.errors import NotFoundError
from psycopg import sql

from bdg_contracts import subjects
from bdg_contracts.privacy_events import PersonalDataErased
from bdg_contracts.states import JobState
from bdg_indexer.chunks import Chunk
from bdg_indexer.storage.spaces import EmbeddingSpace
from bdg_indexer.storage.vectors import ChunkStore
from bdg_jobs.agent_config import AgentConfigProjection
from bdg_jobs.domain import Cause, Job
from bdg_jobs.mapper import to_stored
from bdg_jobs.personal.cipher import ERASED
from bdg_jobs.projector import catch_up
from tests.gateway_stack import Keys, Stack, new_tenant

pytestmark = pytest.mark.timeout(90)
SPACE = EmbeddingSpace("erasure-test-model", 4)


def readable(marker: str, text: str) -> bool:
    """The marker as text, or as the hex PostgreSQL shows ``bytea`` in."""
    return marker in text or marker.encode().hex() in text


def rows_holding(database_url: str, marker: str) -> list[str]:
    """Every table of the database, each row as text (what a dump would show)."""
    found = []
    with psycopg.connect(database_url) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        ).fetchall()
        assert len(tables) > 15, tables  # the whole schema, not an empty database
        for (table,) in tables:
            query = sql.SQL("SELECT t::text FROM {} t").format(sql.Identifier(table))
            for (row,) in conn.execute(query).fetchall():
                if readable(marker, row):
                    found.append(f"{table}: {row[:200]}")
    return found


async def messages_holding(nc: Client, marker: str) -> list[str]:
    js = nc.jetstream()
    found = []
    for stream in (subjects.events_stream(), subjects.dlq_stream()):
        try:
            info = await js.stream_info(stream)
        except NotFoundError:
            continue
        if not info.state.messages:
            continue
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                msg = await js.get_msg(stream, seq)
            except NotFoundError:
                continue
            if marker.encode() in (msg.data or b""):
                found.append(f"{stream}#{seq} {msg.subject}")
    return found


async def _person_with_everything(
    client: httpx.AsyncClient, keys: Keys, stack: Stack, tenant: str, user: str, marker: str
) -> tuple[UUID, UUID]:
    """A job, its plan, a chat thread and a registered repository with an indexed chunk."""
    me = keys.headers(tenant, sub=user)
    made = await client.post("/jobs", json={"goal": f"greet {marker} nicely"}, headers=me)
    assert made.status_code == 201, made.text
    job_id = UUID(made.json()["id"])
    await stack.decide(job_id, lambda job, cause: job.make_plan_ready(cause, f"# say {marker}"))
    thread = await client.post("/threads", json={"title": f"about {marker}"}, headers=me)
    assert thread.status_code == 201, thread.text
    said = await client.post(
        f"/threads/{thread.json()['id']}/messages", json={"text": f"I am {marker}"}, headers=me
    )
    assert said.status_code == 201, said.text
    url = f"https://github.com/{marker}/app.git"
    repo = await client.post("/index/repos", json={"repo": url}, headers=me)
    assert repo.status_code == 201, repo.text
    with psycopg.connect(stack.database_url) as conn:
        row = conn.execute(
            "SELECT repo FROM bdg_repo_hooks WHERE repo_id = %s", (repo.json()["id"],)
        ).fetchone()
    assert row is not None
    chunks = await ChunkStore.open(stack.database_url, SPACE)
    try:
        chunk = Chunk("README.md", "b" * 40, 0, 1, 1, "markdown", 3, f"by {marker}")
        await chunks.upsert(tenant, row[0], [(chunk, [0.1, 0.2, 0.3, 0.4])])
    finally:
        await chunks.close()
    stack.project()
    return job_id, UUID(repo.json()["id"])


async def test_after_data_delete_nothing_of_the_person_is_readable(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant, marker = new_tenant(), "mk" + secrets.token_hex(8)
    user = f"{marker}@example.com"
    job_id, _ = await _person_with_everything(client, keys, stack, tenant, user, marker)
    other_job, _ = await _person_with_everything(
        client, keys, stack, tenant, "bystander", "by" + secrets.token_hex(8)
    )
    before = await stack.job(job_id)
    # The test can fail: the marker is there, in plain, before the erasure.
    assert rows_holding(stack.database_url, marker)
    assert await messages_holding(stack.nc, marker)

    admin = keys.headers(tenant, sub="root", roles=["admin"])
    erased = await client.post("/agent/data-delete", json={"user": user}, headers=admin)

    assert erased.status_code == 200, erased.text
    body: dict[str, Any] = erased.json()
    assert body["already_erased"] is False
    assert body["jobs"] == 2  # the job and the registered repository
    assert rows_holding(stack.database_url, marker) == []
    assert await messages_holding(stack.nc, marker) == []
    # Their job replays to the same state, their fields erased.
    after = await stack.job(job_id)
    assert (after.state, after.version) == (before.state, before.version)
    assert after.state == JobState.awaiting_plan_approval
    assert (after.goal, after.user_id, after.plan_markdown) == (ERASED, ERASED, ERASED)
    # Someone else's job is untouched.
    assert (await stack.job(other_job)).goal.startswith("greet by")
    # The signed record: who asked, which categories; the person only as an HMAC.
    (record,) = stack.store.history(UUID(body["erasure_id"]))
    assert isinstance(record, PersonalDataErased)
    assert record.requested_by == "root"
    assert [c.value for c in record.categories] == body["categories"]
    assert marker not in record.model_dump_json()

    again = await client.post("/agent/data-delete", json={"user": user}, headers=admin)
    assert again.status_code == 200, again.text
    assert again.json() == {**body, "already_erased": True}
    assert len(stack.store.history(UUID(body["erasure_id"]))) == 1


async def test_a_person_erases_themself_and_is_not_named_by_the_record(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant, marker = new_tenant(), "me" + secrets.token_hex(8)
    me = keys.headers(tenant, sub=marker)
    made = await client.post("/jobs", json={"goal": f"a goal of {marker}"}, headers=me)
    assert made.status_code == 201, made.text
    erased = await client.post("/agent/data-delete", json={"user": marker}, headers=me)
    assert erased.status_code == 200, erased.text
    (record,) = stack.store.history(UUID(erased.json()["erasure_id"]))
    assert isinstance(record, PersonalDataErased)
    assert (record.requested_by, record.user_id, record.producer) == ("self", None, "gateway")
    assert rows_holding(stack.database_url, marker) == []
    # The job's repository is erased too: a fork is a conflict, not bad input (schemathesis).
    events = stack.event_count()
    fork = await client.post(f"/jobs/{made.json()['id']}/fork", json={"at_version": 1}, headers=me)
    assert fork.status_code == 409, fork.text
    assert "erased" in fork.json()["detail"]
    assert stack.event_count() == events


async def test_unknown_people_others_and_other_tenants_are_refused_with_nothing_written(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    made = await client.post("/jobs", json={"goal": "g"}, headers=keys.headers(tenant, sub="ann"))
    assert made.status_code == 201, made.text
    events = stack.event_count()
    admin = keys.headers(tenant, sub="root", roles=["admin"])

    unknown = await client.post("/agent/data-delete", json={"user": "nobody"}, headers=admin)
    assert unknown.status_code == 404, unknown.text
    assert "user" in unknown.json()["detail"]
    # Ann is known in her tenant only: another tenant's admin finds nobody.
    elsewhere = keys.headers(new_tenant(), sub="root", roles=["admin"])
    foreign = await client.post("/agent/data-delete", json={"user": "ann"}, headers=elsewhere)
    assert foreign.status_code == 404, foreign.text
    not_admin = keys.headers(tenant, sub="bob")
    refused = await client.post("/agent/data-delete", json={"user": "ann"}, headers=not_admin)
    assert refused.status_code == 403, refused.text
    for bad in ({"user": ""}, {"user": "a\u0000b"}, {"user": "x" * 201}, {}):
        invalid = await client.post("/agent/data-delete", json=bad, headers=admin)
        assert invalid.status_code == 422, (bad, invalid.text)
    assert stack.event_count() == events
    with psycopg.connect(stack.database_url) as conn:
        assert conn.execute("SELECT count(*) FROM bdg_erasures").fetchone() == (0,)
        keys_left = conn.execute(
            "SELECT count(*) FROM bdg_subject_keys WHERE erased_at IS NOT NULL"
        ).fetchone()
    assert keys_left == (0,)


async def test_jobs_stored_before_sealing_are_redacted_in_place(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant, marker = new_tenant(), "old" + secrets.token_hex(8)
    cause = Cause(producer=f"user:{marker}", occurred_at=datetime.now(UTC), user_id=marker)
    job = Job.request(uuid4(), tenant, cause, goal=f"an old goal of {marker}")
    # As code before sealing stored it: the plain mapper straight into the recorder.
    stack.store.recorder.insert_events([to_stored(e) for e in job.collect()])
    stack.project()
    assert rows_holding(stack.database_url, marker)

    admin = keys.headers(tenant, sub="root", roles=["admin"])
    erased = await client.post("/agent/data-delete", json={"user": marker}, headers=admin)

    assert erased.status_code == 200, erased.text
    assert "legacy_event_fields" in erased.json()["categories"]
    assert rows_holding(stack.database_url, marker) == []
    after = await stack.job(job.job_id)
    assert (after.goal, after.user_id, after.version) == (ERASED, ERASED, 1)


async def test_an_erasure_cut_short_after_the_keys_is_finished_by_asking_again(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant, marker = new_tenant(), "cut" + secrets.token_hex(8)
    me = keys.headers(tenant, sub=marker)
    made = await client.post("/jobs", json={"goal": f"goal {marker}"}, headers=me)
    assert made.status_code == 201, made.text
    thread = await client.post("/threads", json={"title": marker}, headers=me)
    assert thread.status_code == 201, thread.text
    stack.project()
    # The first try destroyed the keys, then the process died: rows and record are missing.
    assert stack.store.personal is not None
    stack.store.personal.vault.erase(tenant, marker)
    assert rows_holding(stack.database_url, marker)

    erased = await client.post("/agent/data-delete", json={"user": marker}, headers=me)

    assert erased.status_code == 200, erased.text
    assert erased.json()["already_erased"] is False
    assert rows_holding(stack.database_url, marker) == []
    assert len(stack.store.history(UUID(erased.json()["erasure_id"]))) == 1


async def test_a_running_job_of_an_erased_person_is_projected_without_them(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant, marker = new_tenant(), "run" + secrets.token_hex(8)
    me = keys.headers(tenant, sub=marker)
    made = await client.post("/jobs", json={"goal": f"goal {marker}"}, headers=me)
    assert made.status_code == 201, made.text
    job_id = UUID(made.json()["id"])
    await stack.decide(job_id, lambda job, cause: job.make_plan_ready(cause, "# plan"))
    projection = AgentConfigProjection()  # one projection process: its cache is warm
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        catch_up(stack.store, conn, projection=projection)

    erased = await client.post("/agent/data-delete", json={"user": marker}, headers=me)
    assert erased.status_code == 200, erased.text
    await stack.decide(job_id, lambda job, cause: job.approve_plan(cause, "reviewer"))
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        catch_up(stack.store, conn, projection=projection)
        row = conn.execute(
            'SELECT goal, "user", state FROM agent_config WHERE "jobId" = %s', (str(job_id),)
        ).fetchone()

    assert row == (ERASED, ERASED, "coding")
    assert rows_holding(stack.database_url, marker) == []
