"""The job event stream over a WebSocket, served by uvicorn on a free port, real PG and NATS."""

from __future__ import annotations

import asyncio
import json
from functools import partial
from typing import Any
from uuid import UUID, uuid4

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bdg_contracts import commands as cmd
from bdg_contracts import events as ev
from bdg_contracts.states import Step
from bdg_jobs.application import JobApplication
from bdg_jobs.domain import Cause, Job
from bdg_jobs.errors import ConcurrencyConflictError
from bdg_jobs.user_commands import Caller
from tests.gateway_stack import Keys, Stack, new_tenant
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(60)
RECV_TIMEOUT = 10


def llm_call(n: int) -> Any:
    def decide(job: Job, cause: Cause) -> None:
        job.record_llm_call(
            cause,
            role="coder",
            model="offline",
            request_hash=f"h{n}",
            response=f"answer {n}",
            prompt_tokens=10,
            completion_tokens=5,
            cost_usd=0.001,
        )

    return decide


async def new_job(stack: Stack, tenant: str) -> UUID:
    job = await stack.commands.create(Caller(tenant, "alice"), cmd.RequestJob(goal="stream me"))
    return job.job_id


async def receive(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), RECV_TIMEOUT))
    return message


async def versions(ws: ClientConnection, upto: int) -> list[int]:
    """Versions received until ``upto`` arrives (each message checked, duplicates kept)."""
    seen: list[int] = []
    while not seen or seen[-1] < upto:
        try:
            seen.append((await receive(ws))["version"])
        except TimeoutError:
            raise AssertionError(f"waiting for {upto} after {seen}") from None
    return seen


async def closed_with(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    async with connect(url, additional_headers=headers) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), RECV_TIMEOUT)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def wait_for_version(stack: Stack, job_id: UUID, version: int) -> None:
    async def reached() -> bool:
        return (await stack.job(job_id)).version >= version

    await eventually(reached, 20, f"the job to reach version {version}")


async def test_backfill_then_live_while_events_are_appended(
    live_url: str, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    job_id = await new_job(stack, tenant)
    writers, per_writer = 3, 30

    async def append(writer: int) -> None:
        for i in range(per_writer):
            while True:  # writers this eager can outlast the application's conflict retries
                try:
                    await stack.decide(job_id, llm_call(writer * 1000 + i))
                    break
                except ConcurrencyConflictError:
                    continue

    appending = [asyncio.create_task(append(w)) for w in range(writers)]
    try:
        await wait_for_version(stack, job_id, 15)  # connect in the middle of the writes
        url = f"{live_url}/jobs/{job_id}/stream?from_version=0&token={keys.token(tenant)}"
        async with connect(url) as ws:
            last = 1 + writers * per_writer
            assert await versions(ws, last) == list(range(1, last + 1))
            await asyncio.gather(*appending)
            await stack.decide(job_id, llm_call(-1))
            assert (await receive(ws))["version"] == last + 1  # nothing repeated meanwhile
    finally:
        for task in appending:
            task.cancel()
        await asyncio.gather(*appending, return_exceptions=True)


async def test_reconnect_from_a_version_gets_only_what_follows(
    live_url: str, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    job_id = await new_job(stack, tenant)
    for n in range(9):
        await stack.decide(job_id, llm_call(n))
    url = f"{live_url}/jobs/{job_id}/stream?token={keys.token(tenant)}"
    async with connect(url) as ws:
        assert await versions(ws, 10) == list(range(1, 11))
    async with connect(f"{url}&from_version=7") as ws:
        assert await versions(ws, 10) == [8, 9, 10]
        await stack.decide(job_id, llm_call(10))
        assert await versions(ws, 11) == [11]
    async with connect(f"{url}&from_version=11") as ws:
        await stack.decide(job_id, llm_call(11))
        assert await versions(ws, 12) == [12]


async def test_each_frame_carries_the_jobs_cost_after_it_live_and_on_reconnect(
    live_url: str, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    job_id = await new_job(stack, tenant)
    for n in range(3):
        await stack.decide(job_id, llm_call(n))  # $0.001 each
    url = f"{live_url}/jobs/{job_id}/stream?token={keys.token(tenant)}"
    async with connect(url) as ws:
        backfill = [await receive(ws) for _ in range(4)]
        assert [round(f["job_cost_usd"], 6) for f in backfill] == [0, 0.001, 0.002, 0.003]
        await stack.decide(job_id, llm_call(3))
        live = await receive(ws)
        assert (live["name"], round(live["job_cost_usd"], 6)) == ("LlmCalled", 0.004)
    async with connect(f"{url}&from_version=3") as ws:  # the calls before still count
        assert round((await receive(ws))["job_cost_usd"], 6) == 0.003


async def test_a_gap_in_live_events_is_filled_from_the_store(
    live_url: str, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    job_id = await new_job(stack, tenant)
    unpublished = JobApplication(stack.store)  # commits without publishing (a lost publish)
    cause = Cause(producer="test-service", occurred_at=stack.app.clock())
    url = f"{live_url}/jobs/{job_id}/stream?token={keys.token(tenant)}"
    async with connect(url) as ws:
        assert await versions(ws, 1) == [1]
        for n in range(4):
            await unpublished.execute(job_id, partial(llm_call(n), cause=cause))
        await stack.decide(job_id, llm_call(4))  # version 6, published: the stream sees a gap
        assert await versions(ws, 6) == [2, 3, 4, 5, 6]


async def test_messages_carry_version_name_and_event(
    live_url: str, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    job_id = await new_job(stack, tenant)
    url = f"{live_url}/jobs/{job_id}/stream"
    async with connect(url, additional_headers=keys.headers(tenant, sub="dan")) as ws:
        first = await receive(ws)
        assert set(first) == {"version", "name", "event", "job_cost_usd"}
        assert (first["version"], first["name"]) == (1, "JobRequested")
        assert first["event"]["job_id"] == str(job_id)
        assert first["event"]["tenant_id"] == tenant
        assert first["event"]["goal"] == "stream me"
        await stack.commands.pause(Caller(tenant, "dan"), job_id, cmd.PauseJob(reason="tea"))
        live = await receive(ws)
        assert (live["version"], live["name"]) == (2, "JobPaused")
        assert live["event"]["reason"] == "tea"
        assert live["event"]["user_id"] == "dan"


async def test_refusals_close_with_4401_4404_4400(live_url: str, keys: Keys, stack: Stack) -> None:
    owner, stranger = new_tenant(), new_tenant()
    job_id = await new_job(stack, owner)
    stream = f"{live_url}/jobs/{job_id}/stream"
    assert await closed_with(stream) == (4401, "missing bearer token")
    expired = keys.token(owner, expires_in=-3600)
    assert await closed_with(f"{stream}?token={expired}") == (4401, "token expired")
    bad_header = {"Authorization": f"Bearer {keys.token(owner, aud='other')}"}
    assert await closed_with(stream, bad_header) == (4401, "token audience is not accepted")
    assert await closed_with(f"{stream}?token={keys.token(stranger)}") == (
        4404,
        f"no job {job_id}",
    )
    unknown = uuid4()
    assert await closed_with(f"{live_url}/jobs/{unknown}/stream?token={keys.token(owner)}") == (
        4404,
        f"no job {unknown}",
    )
    assert await closed_with(f"{live_url}/jobs/nope/stream?token={keys.token(owner)}") == (
        4404,
        "no job nope",
    )
    for bad in ("-1", "abc"):
        code, _ = await closed_with(f"{stream}?from_version={bad}&token={keys.token(owner)}")
        assert code == 4400
    assert stack.event_count() == 1


def fail_coding(job: Job, cause: Cause) -> None:
    job.make_plan_ready(cause, "- [ ] one")
    job.approve_plan(cause, "alice")
    job.fail_step(cause, Step.coding, "coder", "the model gave up", failed_event_version=3)


def finish(job: Job, cause: Cause) -> None:
    job.make_plan_ready(cause, "- [ ] one")
    job.approve_plan(cause, "alice")
    job.change_files(cause, "+x", ("a.py",))
    job.finish_coding(cause)
    job.pass_tests(cause, ev.TestResults(total=1))
    job.complete_review(cause, approved=True, score=9, notes="ok")
    job.await_deploy_approval(cause, "preview")
    job.approve_deploy(cause, "alice")
    job.deploy(cause, "https://preview.example")


async def events_then_close(ws: ClientConnection) -> tuple[list[str], int, str]:
    """Every event's name until the server closes, and the close code and reason."""
    names: list[str] = []
    while True:
        try:
            names.append((await receive(ws))["name"])
        except ConnectionClosed as closed:
            frame = closed.rcvd  # None when the client, not the server, closed
            break
    assert frame is not None, "the client closed, not the server"
    return names, frame.code, frame.reason


@pytest.mark.parametrize(
    ("end", "last", "state"),
    [(fail_coding, "StepFailed", "failed"), (finish, "Deployed", "done")],
)
async def test_the_stream_closes_with_1000_after_the_job_ends(
    live_url: str, keys: Keys, stack: Stack, end: Any, last: str, state: str
) -> None:
    tenant = new_tenant()
    job_id = await new_job(stack, tenant)
    url = f"{live_url}/jobs/{job_id}/stream?token={keys.token(tenant)}"
    async with connect(url) as ws:
        assert await versions(ws, 1) == [1]
        await stack.decide(job_id, end)  # live: the end arrives over NATS
        names, code, reason = await events_then_close(ws)
    assert names[-1] == last
    assert (code, reason) == (1000, f"job {state}")
    # Connecting to an ended job: its events from the asked version, then the same close.
    async with connect(f"{url}&from_version=2") as ws:
        names, code, reason = await events_then_close(ws)
    assert names[-1] == last
    assert len(names) == (await stack.job(job_id)).version - 2
    assert (code, reason) == (1000, f"job {state}")


async def test_a_cancelled_job_closes_the_stream_and_a_paused_one_does_not(
    live_url: str, keys: Keys, stack: Stack
) -> None:
    tenant = new_tenant()
    job_id = await new_job(stack, tenant)
    url = f"{live_url}/jobs/{job_id}/stream?token={keys.token(tenant)}"
    async with connect(url) as ws:
        await stack.commands.pause(Caller(tenant, "dan"), job_id, cmd.PauseJob(reason="tea"))
        assert await versions(ws, 2) == [1, 2]  # paused: still open
        await stack.commands.cancel(Caller(tenant, "dan"), job_id, cmd.CancelJob(reason="no"))
        names, code, reason = await events_then_close(ws)
    assert (names, code, reason) == (["JobCancelled"], 1000, "job cancelled")


async def test_the_stream_token_never_reaches_the_logs(
    live_url: str, keys: Keys, stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """The web app can only pass its token in the query; uvicorn logs paths with their query."""
    tenant = new_tenant()
    job_id = await new_job(stack, tenant)
    token = keys.token(tenant)
    caplog.set_level("DEBUG")
    async with connect(f"{live_url}/jobs/{job_id}/stream?token={token}") as ws:
        assert await versions(ws, 1) == [1]
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("uvicorn")]
    assert any(f"/jobs/{job_id}/stream?token=[redacted]" in line for line in lines), lines
    assert not any(token in line for line in lines)
