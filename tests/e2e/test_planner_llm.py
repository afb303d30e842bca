"""The planner service driven by a model over the OpenAI API (a local fake that speaks it as
documented): drafts, critiques, the loop's stop rule, recorded calls and their cost."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from bdg_contracts import commands as cmd
from bdg_contracts import events as ev
from bdg_contracts.states import JobState
from tests.e2e.conftest import Client_
from tests.e2e.harness import Cluster, eventually, wait_for_state
from tests.fakes.openai_server import FakeOpenAi, Reply

pytestmark = [pytest.mark.timeout(90), pytest.mark.slow]
GPT_4O_MINI = (0.15, 0.60)  # USD per 1M input / output tokens


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAi]:
    fake = FakeOpenAi(api_key="test-key").start()
    yield fake
    fake.stop()


async def test_the_planner_loops_with_the_critic_and_records_every_call(
    cluster: Cluster, client: Client_, fake_openai: FakeOpenAi
) -> None:
    fake_openai.push(
        Reply("1. Create index.html\n2. Register a service worker\n"),  # no checkboxes yet
        Reply('{"score": 5, "risks": ["no offline test"], "changes": ["test offline"]}'),
        Reply("- [ ] Create index.html\n- [ ] Register a service worker\n- [ ] Test offline\n"),
        Reply('{"score": 9, "risks": ["cache invalidation"], "changes": []}'),
    )
    cluster.extra_env.update(
        {
            "OPENAI_BASE_URL": fake_openai.base_url,
            "OPENAI_API_KEY": "test-key",
        }
    )
    cluster.start("planner", module="bdg_planner.main")
    c = client
    job = await c.commands.create(c.caller, cmd.RequestJob(goal="offline notes app"))
    history = await wait_for_state(c.store, job.job_id, JobState.awaiting_plan_approval, 60)
    names = [e.name for e in history]
    assert names == [
        "JobRequested",
        "LlmCalled",
        "LlmCalled",
        "LlmCalled",
        "LlmCalled",
        "PlanDrafted",
        "PlanCritiqued",
        "PlanDrafted",
        "PlanCritiqued",
        "PlanReady",
    ]
    drafts = [e for e in history if isinstance(e, ev.PlanDrafted)]
    assert drafts[0].plan_markdown.startswith("- [ ] Create index.html")
    critiques = [e for e in history if isinstance(e, ev.PlanCritiqued)]
    assert (critiques[0].score, critiques[0].failure) == (5, "")
    assert (critiques[1].score, critiques[1].risks) == (9, ("cache invalidation",))
    ready = history[-1]
    assert isinstance(ready, ev.PlanReady)
    assert ready.plan_markdown.count("- [ ]") == 3
    calls = [e for e in history if isinstance(e, ev.LlmCalled)]
    assert [c.role for c in calls] == ["planner", "critic", "planner", "critic"]
    expected = sum(
        (c.prompt_tokens * GPT_4O_MINI[0] + c.completion_tokens * GPT_4O_MINI[1]) / 1e6
        for c in calls
    )
    loaded = await c.app.load(job.job_id)
    assert loaded.cost_usd == pytest.approx(expected)
    assert loaded.cost_usd > 0
    # The planner process paid every call through the budget ledger, as recorded.
    with psycopg.connect(cluster.database_url) as conn:
        settled = conn.execute(
            "SELECT count(*), sum(cost_usd) FROM bdg_budget_calls WHERE job_id = %s",
            (str(job.job_id),),
        ).fetchone()
    assert settled is not None
    assert (settled[0], float(settled[1])) == (4, pytest.approx(loaded.cost_usd, abs=1e-12))

    async def nothing_held() -> bool:  # the lease's share, given back once idle (2 s)
        with psycopg.connect(cluster.database_url) as conn:
            held = conn.execute("SELECT count(*) FROM bdg_budget_reservations").fetchone()
        return held == (0,)

    await eventually(nothing_held, 30, "the idle lease to be given back")
    # The critic was asked for structured output; the planner for text.
    assert "response_format" in fake_openai.requests[1]
    assert "response_format" not in fake_openai.requests[0]


async def test_an_unreadable_critique_stops_the_loop_and_the_plan_waits_for_a_person(
    cluster: Cluster, client: Client_, fake_openai: FakeOpenAi
) -> None:
    fake_openai.push(
        Reply("- [ ] Create index.html\n"),
        Reply("this is not json"),  # no verdict: recorded, and no second draft
    )
    cluster.extra_env.update(
        {"OPENAI_BASE_URL": fake_openai.base_url, "OPENAI_API_KEY": "test-key"}
    )
    cluster.start("planner", module="bdg_planner.main")
    c = client
    request = cmd.RequestJob(goal="offline notes app", plan_approval="auto")
    job = await c.commands.create(c.caller, request)
    history = await wait_for_state(c.store, job.job_id, JobState.awaiting_plan_approval, 60)
    assert [e.name for e in history] == [
        "JobRequested",
        "LlmCalled",
        "LlmCalled",
        "PlanDrafted",
        "PlanCritiqued",
        "PlanReady",
    ]  # under the auto policy, and still no PlanApproved
    critique = next(e for e in history if isinstance(e, ev.PlanCritiqued))
    assert critique.failure.startswith("the critic's answer was not valid")
    calls = [e for e in history if isinstance(e, ev.LlmCalled)]
    assert calls[1].response == "this is not json"


async def test_with_leases_a_stopped_planner_gives_its_share_back(
    cluster: Cluster, client: Client_, fake_openai: FakeOpenAi
) -> None:
    fake_openai.push(
        Reply("- [ ] Create index.html\n- [ ] Test offline\n"),
        Reply('{"score": 9, "risks": [], "changes": []}'),
    )
    cluster.extra_env.update(
        {
            "OPENAI_BASE_URL": fake_openai.base_url,
            "OPENAI_API_KEY": "test-key",
            "BDG_BUDGET_LEASES": "true",
        }
    )
    planner = cluster.start("planner", module="bdg_planner.main")
    c = client
    job = await c.commands.create(c.caller, cmd.RequestJob(goal="offline notes app"))
    await wait_for_state(c.store, job.job_id, JobState.awaiting_plan_approval, 60)

    def held() -> tuple[int, float]:
        with psycopg.connect(cluster.database_url) as conn:
            row = conn.execute(
                "SELECT count(*), coalesce(sum(amount_usd), 0) FROM bdg_budget_reservations"
            ).fetchone()
        assert row is not None
        return int(row[0]), float(row[1])

    assert planner.stop() == 0  # SIGTERM: handlers finish, then the leases are given back
    assert "at stop: the budget leases: done" in planner.output()
    assert held() == (0, 0.0)
