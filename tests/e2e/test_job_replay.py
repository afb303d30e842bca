"""`bdg job replay`: a finished job's handlers, re-run against its recorded model answers (and,
for the scripted steps, what they recorded) with the settings the job ran with, reproduce its
events whatever the replaying shell's settings; a changed planner diverges, and the report
names where."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest

from bdg_cli.job_replay import replayers
from bdg_contracts import commands as cmd
from bdg_contracts import events as ev
from bdg_contracts.base import Event
from bdg_contracts.states import JobState
from bdg_runtime.job_replay import ReplaySources, replay_job
from bdg_runtime.reactions import Reaction
from tests.e2e.conftest import Client_
from tests.e2e.harness import ROOT, Cluster, wait_for_state
from tests.fakes.openai_server import FakeOpenAi, Reply

pytestmark = [pytest.mark.timeout(150), pytest.mark.slow]
ANSWERS_FILE = ROOT / "examples" / "reference-job.json"
GOAL = "Create a React PWA that stores notes in IndexedDB and works offline"


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAi]:
    fake = FakeOpenAi(api_key="test-key").start()
    yield fake
    fake.stop()


async def finished_job(cluster: Cluster, client: Client_, fake: FakeOpenAi) -> list[Event]:
    """The reference job to the end: planned and reviewed by a model, the other steps from the
    recorded script."""
    fake.push(
        Reply("- [ ] Scaffold the app\n- [ ] Store notes in IndexedDB\n"),
        Reply('{"score": 6, "risks": ["no offline test"], "changes": ["add an offline test"]}'),
        Reply("- [ ] Scaffold the app\n- [ ] Store notes in IndexedDB\n- [ ] Test offline\n"),
        Reply('{"score": 9, "risks": [], "changes": []}'),
        *[Reply('{"approved": true, "score": 9, "notes": "small and tested"}')] * 3,
    )
    cluster.extra_env.update(
        {
            "BDG_ANSWERS_FILE": str(ANSWERS_FILE),
            "BDG_PLAN_SCORE_THRESHOLD": "9",  # not the default: recorded on the job
            "BDG_PLAN_MAX_ITERATIONS": "3",
        }
    )
    model = {
        "BDG_ANSWERS_FILE": "",  # the planner asks the model
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_API_KEY": "test-key",
    }
    cluster.start("planner", module="bdg_planner.main", env=model)
    for step in ("coder", "tester", "deployer"):
        cluster.start(step, module=f"bdg_{step}.main")
    c = client
    job = await c.commands.create(c.caller, cmd.RequestJob(goal=GOAL, plan_approval="auto"))
    await wait_for_state(c.store, job.job_id, JobState.awaiting_deploy_approval, 90)
    await c.commands.approve_deploy(c.caller, job.job_id)
    return await wait_for_state(c.store, job.job_id, JobState.done, 60)


async def test_a_finished_job_replays_to_the_same_events_and_a_changed_planner_diverges(
    cluster: Cluster,
    client: Client_,
    fake_openai: FakeOpenAi,
    database_url: str,
    namespace: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    history = await finished_job(cluster, client, fake_openai)
    calls = [e for e in history if isinstance(e, ev.LlmCalled)]
    assert {c.role for c in calls} == {"planner", "critic", "reviewer"}
    (settings,) = [e for e in history if isinstance(e, ev.SettingsRecorded)]
    assert (settings.service, settings.settings) == ("planner", {"plan_score_threshold": "9"})
    # This shell's critic bar (10) would want a third draft: the job's own (9) is used.
    monkeypatch.setenv("BDG_PLAN_SCORE_THRESHOLD", "10")
    monkeypatch.delenv("BDG_ANSWERS_FILE", raising=False)

    report = await replay_job(history, replayers())

    assert report.divergence is None, report.divergence
    reacted = [e for e in history if e.producer in ("planner", "coder", "tester", "deployer")]
    assert report.compared == len(reacted)
    assert report.events == len(history)
    assert report.by_service["planner"] == 2  # the plan and the review
    assert report.by_service["coder"] >= 1
    assert report.by_service["deployer"] >= 1
    assert report.unused_calls == 0

    # A planner changed to a stricter critic bar now wants a third draft, which the recording
    # never answered. The report points at the planner's first reaction.
    changed = await replay_job(history, {**replayers(), "planner": stricter_planner})
    assert changed.divergence is not None
    first_planner = next(e for e in history if e.producer == "planner")
    assert changed.divergence.version == first_planner.version
    assert changed.divergence.service == "planner"
    assert changed.divergence.trigger == "JobRequested v1"
    assert "ReplayMissError" in changed.divergence.reason
    assert changed.compared == 0

    # The command: exit 0 and the figures when the run is the same, 1 and the place when not.
    # (from a shell with neither the job's critic bar nor its answers file)
    env = {
        **{k: v for k, v in os.environ.items() if k != "BDG_ANSWERS_FILE"},
        "DATABASE_URL": database_url,
        "NATS_URL": cluster.nats_url,
        "BDG_NAMESPACE": namespace,
        "BDG_TENANT": client.caller.tenant_id,
        "BDG_PLAN_SCORE_THRESHOLD": "10",
    }
    job_id = str(history[0].job_id)
    same = _bdg(["job", "replay", job_id], env)
    assert same.returncode == 0, same.stdout + same.stderr
    assert "same events as recorded" in same.stdout
    assert f"{len(history)} events checked" in same.stdout
    unknown = _bdg(["job", "replay", job_id, "--service", "nobody"], env)
    assert unknown.returncode == 2
    assert "no replayable service nobody" in unknown.stderr


def stricter_planner(sources: ReplaySources) -> list[Reaction]:
    """The planner as if its code now held a stricter critic bar than the job's."""
    from bdg_planner.main import replay_reactions

    strict = {**sources.settings, "plan_score_threshold": "10"}
    return replay_reactions(ReplaySources(sources.history, sources.llm, strict))


def _bdg(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bdg_cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(ROOT),
    )


async def test_a_fork_with_another_model_plans_again_with_it(
    cluster: Cluster,
    client: Client_,
    fake_openai: FakeOpenAi,
    database_url: str,
    namespace: str,
) -> None:
    fake_openai.push(
        Reply("- [ ] Scaffold the app\n"),
        Reply('{"score": 9, "risks": [], "changes": []}'),
    )
    cluster.start(
        "planner",
        module="bdg_planner.main",
        env={
            "OPENAI_BASE_URL": fake_openai.base_url,
            "OPENAI_API_KEY": "test-key",
            "BDG_MODEL_PLANNER": "gpt-4o-mini",
            "BDG_MODEL_CRITIC": "gpt-4o-mini",
        },
    )
    c = client
    job = await c.commands.create(c.caller, cmd.RequestJob(goal="notes app", plan_approval="gated"))
    original = await wait_for_state(c.store, job.job_id, JobState.awaiting_plan_approval, 60)

    fake_openai.push(
        Reply("- [ ] Scaffold the app\n- [ ] Test offline\n"),
        Reply('{"score": 9, "risks": [], "changes": []}'),
    )
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "NATS_URL": cluster.nats_url,
        "BDG_NAMESPACE": namespace,
        "BDG_TENANT": c.caller.tenant_id,
        "BDG_USER": "bob",
    }
    inside = _bdg(["job", "fork", str(job.job_id), "--at", "3"], env)
    assert inside.returncode == 1
    assert "inside one reaction of planner" in inside.stderr
    bad_role = _bdg(["job", "fork", str(job.job_id), "--at", "1", "--model", "cook=x"], env)
    assert bad_role.returncode == 2
    assert "unknown role 'cook'" in bad_role.stderr

    forked = _bdg(["job", "fork", str(job.job_id), "--at", "1", "--model", "gpt-4o"], env)
    assert forked.returncode == 0, forked.stderr
    fork_id = UUID(forked.stdout.split()[0])
    history = await wait_for_state(c.store, fork_id, JobState.awaiting_plan_approval, 60)

    request = history[0]
    assert isinstance(request, ev.JobRequested)
    assert request.forked_from == ev.ForkedFrom(job_id=job.job_id, version=1)
    assert request.user_id == "bob"
    calls = [e for e in history if isinstance(e, ev.LlmCalled)]
    assert [(e.role, e.model) for e in calls] == [("planner", "gpt-4o"), ("critic", "gpt-4o")]
    assert [r["model"] for r in fake_openai.requests] == ["gpt-4o-mini"] * 2 + ["gpt-4o"] * 2
    ready = history[-1]
    assert isinstance(ready, ev.PlanReady)
    assert "Test offline" in ready.plan_markdown
    # The original job is untouched.
    assert await asyncio.to_thread(c.store.history, job.job_id) == original

    # The fork replays too: its own reaction from its own recorded calls.
    report = await replay_job(history, replayers(["planner"]))
    assert report.divergence is None, report.divergence
    assert report.by_service == {"planner": 1}
