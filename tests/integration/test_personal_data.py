"""Personal fields sealed in the real log: unreadable in the table, plain to a reader, and
``[erased]`` everywhere once the person's key is destroyed (crypto-shredding)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import replace
from uuid import UUID, uuid4

import psycopg
import pytest

from bdg_contracts import commands as cmd
from bdg_contracts.states import JobState
from bdg_jobs.application import JobApplication
from bdg_jobs.domain import Job
from bdg_jobs.errors import ConcurrencyConflictError
from bdg_jobs.personal.cipher import ERASED, MasterKeyError
from bdg_jobs.personal.transcoder import PersonalData
from bdg_jobs.personal.vault import KeyVault
from bdg_jobs.store import JobStore, datastore_from_url
from bdg_jobs.user_commands import Caller, JobCommands
from tests.unit.jobs import CAUSE

pytestmark = pytest.mark.timeout(60)


def raw_log(url: str, job_id: UUID) -> bytes:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT state FROM bdg_job_events WHERE originator_id = %s ORDER BY originator_version",
            (job_id,),
        ).fetchall()
    return b"\n".join(bytes(r[0]) for r in rows)


async def _job_of(store: JobStore, user: str, goal: str) -> Job:
    commands = JobCommands(JobApplication(store))
    job = await commands.create(Caller("acme", user), cmd.RequestJob(goal=goal))
    loaded = store.load(job.job_id)
    loaded.make_plan_ready(CAUSE, f"1. do what was asked: {goal}")  # a service's event
    store.save(loaded)
    return loaded


async def test_personal_fields_are_sealed_in_the_table_and_plain_when_read(
    database_url: str,
) -> None:
    store = JobStore.from_url(database_url)
    marker = f"zebra-{uuid4().hex[:8]}"
    job = await _job_of(store, f"{marker}@example.com", f"paint the fence {marker}")

    stored = raw_log(database_url, job.job_id)
    assert marker.encode() not in stored
    assert b'"$sealed"' in stored
    again = store.load(job.job_id)
    assert again.goal == f"paint the fence {marker}"
    assert again.user_id == f"{marker}@example.com"
    assert marker in (again.plan_markdown or "")
    store.close()


async def test_an_erased_key_reads_as_erased_and_the_job_still_replays(database_url: str) -> None:
    store = JobStore.from_url(database_url)
    marker = f"yak-{uuid4().hex[:8]}"
    user = f"{marker}@example.com"
    job = await _job_of(store, user, f"feed the {marker}")
    before = store.load(job.job_id)
    assert store.personal is not None

    erased = store.personal.vault.erase("acme", user)

    assert erased.keys == 1
    assert not erased.already
    assert job.job_id in erased.aggregates
    after = store.load(job.job_id)
    assert (after.goal, after.user_id, after.plan_markdown) == (ERASED, ERASED, ERASED)
    assert (
        (after.state, after.version)
        == (before.state, before.version)
        == (
            JobState.awaiting_plan_approval,
            2,
        )
    )
    assert store.personal.vault.erase("acme", user).already  # twice: nothing more to do
    # The job goes on (a service appends); nothing of the erased person is kept in it.
    after.approve_plan(CAUSE, "reviewer")
    store.save(after)
    assert store.load(job.job_id).state == JobState.coding
    assert marker.encode() not in raw_log(database_url, job.job_id)
    store.close()


async def test_a_returning_person_gets_a_new_key(database_url: str) -> None:
    store = JobStore.from_url(database_url)
    assert store.personal is not None
    old = await _job_of(store, "bob", "first goal")
    store.personal.vault.erase("acme", "bob")
    new = await _job_of(store, "bob", "second goal")
    assert store.load(old.job_id).goal == ERASED
    assert store.load(new.job_id).goal == "second goal"
    store.close()


async def test_another_master_key_is_refused_clearly(database_url: str) -> None:
    store = JobStore.from_url(database_url)
    job = await _job_of(store, "carol", "a goal")
    assert store.datastore is not None
    stranger = JobStore(
        store.datastore,
        create_table=False,
        personal=PersonalData(KeyVault(store.datastore, os.urandom(32))),
    )
    with pytest.raises(MasterKeyError, match="BDG_MASTER_KEY"):
        stranger.load(job.job_id)
    store.close()


async def test_a_history_appended_at_once_seals_its_service_events_with_the_new_owner(
    database_url: str,
) -> None:
    """A fork saves a whole history in one append: the owner its first event binds seals the
    service-decided events after it, though the binding commits only with them."""
    store = JobStore.from_url(database_url)
    marker = f"ibex-{uuid4().hex[:8]}"
    job = Job.request(uuid4(), "acme", replace(CAUSE, user_id="dora"), goal="a goal")
    job.make_plan_ready(CAUSE, f"1. plan {marker}")  # no user: sealed with the job's owner
    store.save(job)

    assert marker.encode() not in raw_log(database_url, job.job_id)
    assert marker in (store.load(job.job_id).plan_markdown or "")
    assert store.personal is not None
    assert job.job_id in store.personal.vault.erase("acme", "dora").aggregates
    store.close()


async def test_a_first_event_that_is_refused_binds_no_owner(database_url: str) -> None:
    """The owner's binding commits with the job's first event or not at all: a start that
    loses to a job already there (made by a service, owned by nobody) makes nobody its owner."""
    store = JobStore.from_url(database_url)
    assert store.personal is not None
    taken = Job.request(uuid4(), "acme", CAUSE, goal="a service's job")
    store.save(taken)
    claim = Job.request(taken.job_id, "acme", replace(CAUSE, user_id="mallory"), goal="mine")

    with pytest.raises(ConcurrencyConflictError):
        store.save(claim)

    assert store.personal.vault.owners_of([taken.job_id])[taken.job_id].key is None
    assert taken.job_id not in store.personal.vault.erase("acme", "mallory").aggregates
    later = store.load(taken.job_id)
    later.make_plan_ready(CAUSE, "1. plan")
    store.save(later)
    assert b"1. plan" in raw_log(database_url, taken.job_id)  # no owner: nothing to seal with
    store.close()


def round_trips(store: JobStore, use: Callable[[], object]) -> int:
    """How many times ``use`` waited on PostgreSQL (its ReadyForQuery answers) on the store's
    connections (a pool of one, and one more at most), read from libpq's protocol trace."""
    assert store.datastore is not None
    datastore = store.datastore
    with tempfile.TemporaryFile("w+") as trace:
        with datastore.get_connection() as one, datastore.get_connection() as other:
            for conn in (one, other):  # every connection the pool may hand out
                conn.pgconn.trace(trace.fileno())
        try:
            use()
        finally:
            with datastore.get_connection() as one, datastore.get_connection() as other:
                for conn in (one, other):
                    conn.pgconn.untrace()
        trace.seek(0)
        return trace.read().count("ReadyForQuery")


async def test_reading_a_live_key_is_one_round_trip(database_url: str) -> None:
    """Each service reads keys when it loads a job and when it saves one: a transaction block
    around one read (BEGIN, the query, ROLLBACK) tripled the round trips."""
    store = JobStore(datastore_from_url(database_url, pool_size=1), create_table=False)
    vault = store.personal.vault if store.personal else None
    assert vault is not None
    user = f"trips-{uuid4().hex[:8]}"
    made = vault.key_for_user("acme", user)  # made: a transaction, as before
    assert round_trips(store, lambda: vault.key_for_user("acme", user)) == 1
    assert round_trips(store, lambda: vault.keys([made.key_id])) == 1
    assert vault.key_for_user("acme", user) == made
    assert vault.keys([made.key_id]) == {made.key_id: made.key}
    vault.erase("acme", user)
    assert vault.key_for_user("acme", user).key_id != made.key_id  # a new one after an erasure
    store.close()
