"""A step refused by the budget suspends its job; raising the cap resumes it (real PostgreSQL,
the planner's use case on a priced fake endpoint)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from psycopg_pool import AsyncConnectionPool

from bdg_contracts import events as ev
from bdg_contracts.states import JobState
from bdg_jobs.application import JobApplication
from bdg_jobs.domain import Cause, Job
from bdg_jobs.ledger.accounts import Scope
from bdg_jobs.ledger.caps import BudgetCaps
from bdg_jobs.ledger.ledger import PostgresLedger
from bdg_jobs.redrive import pending_trigger
from bdg_jobs.store import JobStore
from bdg_llm.openai_client import OpenAiClient
from bdg_llm.settings import LlmSettings
from bdg_planner.application import Planning
from bdg_planner.domain import CriticPolicy
from bdg_planner.llm_adapters import LlmPlanner, LlmReviewer
from bdg_runtime.metered_llm import MeteredLlm
from bdg_runtime.reactions import Delivery
from tests.fakes.openai_server import FakeOpenAi, Reply

pytestmark = pytest.mark.timeout(60)
TENANT = "acme"
USER = Cause(producer="user:ann", occurred_at=datetime(2026, 1, 1, tzinfo=UTC), user_id="ann")
CRITIQUE = json.dumps({"score": 9, "risks": [], "changes": []})


@pytest.fixture
def app(database_url: str) -> Iterator[JobApplication]:
    store = JobStore.from_url(database_url)
    yield JobApplication(store)
    store.close()


@pytest.fixture
async def planning(fake: FakeOpenAi, pool: AsyncConnectionPool[Any]) -> AsyncIterator[Planning]:
    settings = LlmSettings(
        openai_base_url=fake.base_url,
        openai_api_key="sk-test",
        bdg_model_planner="gpt-4o",
        bdg_model_critic="gpt-4o",
        bdg_llm_max_retries=0,
    )
    inner = OpenAiClient(settings)
    client = MeteredLlm(inner, PostgresLedger(pool), settings)
    yield Planning(LlmPlanner(client), LlmReviewer(client), CriticPolicy(8, 1))
    await inner.close()


async def test_a_refused_call_suspends_the_job_and_a_raise_resumes_it(
    fake: FakeOpenAi, app: JobApplication, planning: Planning, pool: AsyncConnectionPool[Any]
) -> None:
    job = Job.request(uuid4(), TENANT, USER, goal="a CLI that adds numbers")
    await app.start(job)
    trigger = (await app.history(job.job_id))[-1]
    caps = BudgetCaps(pool)
    # The draft (gpt-4o, 600 answer tokens at most) fits; once it is paid, the critique does not.
    await caps.set_cap(Scope.tenant, TENANT, "", Decimal("0.012"))
    fake.push(Reply("- [ ] add numbers", prompt_tokens=2000, completion_tokens=600))

    await planning.plan(Delivery("planner", trigger, app))

    history = await app.history(job.job_id)
    suspended = Job.replay(history)
    assert suspended.state == JobState.suspended_budget
    exceeded = [e for e in history if isinstance(e, ev.BudgetExceeded)]
    month = PostgresLedger(pool).clock().strftime("%Y-%m")
    # The cap that refused is named: the auditor's one email per cap reached is keyed on it.
    assert [(e.limit_usd, e.spent_usd, e.cap_key, e.period) for e in exceeded] == [
        (0.012, 0.011, f"tenant:{TENANT}", month)
    ]
    usage = await caps.usage(Scope.tenant, TENANT, "", month)
    assert float(usage.spent_usd) == pytest.approx(suspended.cost_usd, abs=1e-12)
    assert len(fake.requests) == 1  # the critique was never sent

    await caps.set_cap(Scope.tenant, TENANT, "", Decimal("1"))
    await app.execute(job.job_id, lambda j: j.raise_budget(USER, 1.0))
    again = pending_trigger(await app.history(job.job_id))
    assert again is not None
    assert again.event_id == trigger.event_id
    fake.push(Reply("- [ ] add numbers"), Reply(CRITIQUE))
    await planning.plan(Delivery("planner", again, app))

    resumed = Job.replay(await app.history(job.job_id))
    assert resumed.state == JobState.awaiting_plan_approval
    usage = await caps.usage(Scope.tenant, TENANT, "", month)
    assert float(usage.spent_usd) == pytest.approx(resumed.cost_usd, abs=1e-12)
