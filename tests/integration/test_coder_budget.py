"""The coder refused by the budget: the job is suspended, not failed, and carries on once the
cap is raised (real sandboxd, PostgreSQL, NATS; a priced model through the fake endpoint)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client
from psycopg_pool import AsyncConnectionPool

from bdg_contracts import events as ev
from bdg_contracts.states import JobState
from bdg_jobs.application import JobApplication
from bdg_jobs.domain import Cause, Job
from bdg_jobs.ledger.accounts import Scope
from bdg_jobs.ledger.caps import BudgetCaps
from bdg_jobs.ledger.ledger import PostgresLedger
from bdg_jobs.redrive import pending_trigger
from bdg_llm.openai_client import OpenAiClient
from bdg_llm.settings import LlmSettings
from bdg_runtime.metered_llm import MeteredLlm
from bdg_sandbox.client import SandboxClient
from tests.fakes.openai_server import FakeOpenAi
from tests.integration.test_coder_loop import (  # noqa: F401  (fixtures)
    FIX,
    TENANT,
    app_fixture,
    attempt,
    coding,
    coding_job,
    fake_fixture,
    nc_fixture,
    of,
    repo_fixture,
)

pytestmark = pytest.mark.timeout(120)


async def test_a_coder_refused_by_the_budget_suspends_then_finishes_once_raised(
    app: JobApplication,
    sandbox: SandboxClient,
    nc: Client,
    fake: FakeOpenAi,
    repo: Path,
    pool: AsyncConnectionPool[Any],
) -> None:
    settings = LlmSettings(
        openai_base_url=fake.base_url, bdg_llm_max_retries=0, bdg_model_coder="gpt-4o"
    )
    inner = OpenAiClient(settings)
    metered = MeteredLlm(inner, PostgresLedger(pool), settings)
    caps = BudgetCaps(pool)
    await caps.set_cap(Scope.tenant, TENANT, "", Decimal(0))
    trigger = await coding_job(app, repo)
    try:
        new = await attempt(coding(metered, sandbox, nc), app, trigger)
        assert isinstance(new[-1], ev.BudgetExceeded)
        assert of(new, ev.LlmCalled) == []
        assert of(new, ev.StepFailed) == []
        assert Job.replay(await app.history(trigger.job_id)).state == JobState.suspended_budget
        assert fake.requests == []

        await caps.set_cap(Scope.tenant, TENANT, "", Decimal(100))
        admin = Cause(producer="user:alice", occurred_at=app.clock(), user_id="alice")
        await app.execute(trigger.job_id, lambda j: j.raise_budget(admin, 100.0))
        again = pending_trigger(await app.history(trigger.job_id))
        assert again is not None
        assert again.event_id == trigger.event_id
        fake.push(*FIX)
        done = await attempt(coding(metered, sandbox, nc), app, again)
        assert len(of(done, ev.CodingFinished)) == 1
    finally:
        await inner.close()
