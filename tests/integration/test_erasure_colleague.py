"""What someone else decided in a person's job, across an erasure (GDPR art. 17 and 4(1)).

Who decided (the colleague's id, their approval) is the colleague's: it stays readable when the
job's owner is erased and goes with the colleague's own erasure. What the event says about the
job (the plan the colleague edited, which restates the owner's goal) is the owner's: it reads
``[erased]`` once the owner is, in the log and every replay, also in events stored before job
fields were sealed with the owner's key.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import httpx
import pytest

from bdg_contracts import events as ev
from bdg_contracts.base import Event
from bdg_jobs.domain import Cause, Job
from bdg_jobs.personal.cipher import ERASED
from tests.gateway_stack import Keys, Stack, new_tenant
from tests.integration.test_personal_data import raw_log

pytestmark = pytest.mark.timeout(90)
T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def by(user: str | None, minute: int, producer: str | None = None) -> Cause:
    at = T0 + timedelta(minutes=minute)
    return Cause(producer=producer or f"user:{user}", occurred_at=at, user_id=user)


def readable_events(stack: Stack, job: Job) -> str:
    """The job's events as every reader (a replay, the API) gets them."""
    return "\n".join(e.model_dump_json() for e in stack.store.history(job.job_id))


def one(stack: Stack, job: Job, cls: type[Event]) -> Event:
    (found,) = [e for e in stack.store.history(job.job_id) if isinstance(e, cls)]
    return found


def job_with_a_colleagues_edit(tenant: str, owner: str | None, colleague: str, text: str) -> Job:
    job = Job.request(uuid4(), tenant, by(owner, 0, None if owner else "gateway"), goal="a goal")
    job.make_plan_ready(by(None, 1, "planner"), "1. plan")
    job.edit_plan(by(colleague, 2), f"1. plan, edited: {text}")
    job.approve_plan(by(colleague, 3), approved_by=colleague)
    return job


async def erase(client: httpx.AsyncClient, keys: Keys, tenant: str, user: str) -> None:
    admin = keys.headers(tenant, sub="root", roles=["admin"])
    response = await client.post("/agent/data-delete", json={"user": user}, headers=admin)
    assert response.status_code == 200, response.text


async def test_erasing_the_owner_erases_what_a_colleague_wrote_about_the_job_not_who(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant, marker = new_tenant(), "mk" + secrets.token_hex(8)
    owner, colleague = f"owner-{marker[:6]}", f"colleague-{secrets.token_hex(4)}"
    job = job_with_a_colleagues_edit(tenant, owner, colleague, marker)
    await asyncio.to_thread(stack.store.save, job)
    assert marker in readable_events(stack, job)  # readable while the owner's key lives
    assert marker.encode() not in raw_log(stack.database_url, job.job_id)

    await erase(client, keys, tenant, owner)

    assert marker not in readable_events(stack, job)
    edited = one(stack, job, ev.PlanEdited)
    assert isinstance(edited, ev.PlanEdited)
    assert (edited.plan_markdown, edited.user_id, edited.producer) == (
        ERASED,
        colleague,
        f"user:{colleague}",
    )
    approved = one(stack, job, ev.PlanApproved)
    assert isinstance(approved, ev.PlanApproved)
    assert approved.approved_by == colleague  # the colleague's decision stays theirs
    assert stack.store.load(job.job_id).state == job.state  # and the job still replays


async def test_erasing_the_colleague_leaves_the_owners_job_and_hides_who(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    tenant, marker = new_tenant(), "mk" + secrets.token_hex(8)
    colleague = f"colleague-{marker}"
    job = job_with_a_colleagues_edit(tenant, "owner", colleague, "the owner's words")
    await asyncio.to_thread(stack.store.save, job)

    await erase(client, keys, tenant, colleague)

    assert marker not in readable_events(stack, job)
    edited = one(stack, job, ev.PlanEdited)
    assert isinstance(edited, ev.PlanEdited)
    assert edited.plan_markdown == "1. plan, edited: the owner's words"
    assert (edited.user_id, edited.producer) == (ERASED, ERASED)
    approved = one(stack, job, ev.PlanApproved)
    assert isinstance(approved, ev.PlanApproved)
    assert approved.approved_by == ERASED


async def test_a_colleagues_edit_sealed_with_their_own_key_before_is_erased_with_the_owner(
    client: httpx.AsyncClient, keys: Keys, stack: Stack
) -> None:
    """Stored as before job fields went under the owner's key: the job's owner was bound after
    the colleague's edit, so the edit is sealed with the colleague's key."""
    tenant, marker = new_tenant(), "mk" + secrets.token_hex(8)
    owner, colleague = f"owner-{marker[:6]}", f"colleague-{secrets.token_hex(4)}"
    job = job_with_a_colleagues_edit(tenant, None, colleague, marker)
    await asyncio.to_thread(stack.store.save, job)
    assert stack.store.personal is not None
    vault = stack.store.personal.vault
    vault.bind(job.job_id, vault.key_for_user(tenant, owner).key_id)
    assert marker in readable_events(stack, job)

    await erase(client, keys, tenant, owner)

    assert marker not in readable_events(stack, job)
    edited = one(stack, job, ev.PlanEdited)
    assert isinstance(edited, ev.PlanEdited)
    assert (edited.plan_markdown, edited.user_id) == (ERASED, colleague)
    await erase(client, keys, tenant, owner)  # again: idempotent, nothing else changes
    assert one(stack, job, ev.PlanEdited) == edited
