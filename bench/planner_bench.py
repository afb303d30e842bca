"""Planner benchmark: its overhead apart from model time, tokens per plan, and replay speed.

    uv run python -m bench.planner_bench [--plans 50] [--local-plans 2] [--replays 20]

1. Overhead: the planner's real handler (load the job from PostgreSQL, draft/critique loop through
   the OpenAI SDK, record every call, commit) against a local server speaking the OpenAI API that
   answers at once (two drafts, two critiques per plan). The time spent inside model calls is
   measured per call and taken out; what is left is the planner's own cost per plan.
2. Tokens per plan: the same loop on the offline model (Qwen2.5-Coder 0.5B, when installed):
   prompt and completion tokens, calls and wall time per plan.
3. Replay: the reference job run end to end in memory by the real handlers (answers from
   examples/reference-job.json), then `bdg job replay`'s engine over it, and over the planned jobs
   of part 1 (their model answers from their LlmCalled events): events/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from pydantic import SecretStr

from bdg_cli.job_replay import replayers
from bdg_coder import main as coder_main
from bdg_contracts import commands as cmd
from bdg_contracts.base import Event
from bdg_contracts.events import LlmCalled
from bdg_contracts.states import JobState
from bdg_deployer import main as deployer_main
from bdg_jobs.application import JobApplication
from bdg_jobs.domain import Job
from bdg_jobs.migrations import migrate
from bdg_jobs.store import JobStore
from bdg_jobs.user_commands import Caller, JobCommands
from bdg_llm.api import ChatRequest, ChatResult, LlmClient, M, OnDelta
from bdg_llm.openai_client import OpenAiClient
from bdg_llm.settings import LlmSettings
from bdg_planner import main as planner_main
from bdg_planner.application import Planning
from bdg_planner.domain import CriticPolicy
from bdg_planner.llm_adapters import LlmPlanner, LlmReviewer
from bdg_runtime.answers import Answers, load_answers
from bdg_runtime.job_replay import replay_job
from bdg_runtime.reactions import Delivery, Reaction
from bdg_tester import main as tester_main
from bench.replay_bench import ADMIN_URL, fresh_database
from tests.fakes.openai_server import FakeOpenAi, Reply

ROOT = Path(__file__).resolve().parents[1]
ANSWERS = ROOT / "examples" / "reference-job.json"
GOALS = (
    "Create a React PWA that stores notes in IndexedDB and works offline",
    "Add a /health endpoint to a FastAPI service with a test",
    "Write a CLI in Python that counts words in files, with pytest tests",
)


class TimedLlm:
    """Any client, with the time spent inside its calls added up."""

    def __init__(self, inner: LlmClient) -> None:
        self.inner, self.seconds, self.calls = inner, 0.0, 0

    async def chat(self, request: ChatRequest, on_delta: OnDelta | None = None) -> ChatResult:
        started = time.perf_counter()
        try:
            return await self.inner.chat(request, on_delta)
        finally:
            self.seconds += time.perf_counter() - started
            self.calls += 1

    async def structured(self, request: ChatRequest, answer: type[M]) -> tuple[M, ChatResult]:
        started = time.perf_counter()
        try:
            return await self.inner.structured(request, answer)
        finally:
            self.seconds += time.perf_counter() - started
            self.calls += 1


async def plan_once(app: JobApplication, planning: Planning, goal: str) -> list[Event]:
    """One job requested and planned by the planner's own handler; its history."""
    caller = Caller("bench", "bench")
    job = await JobCommands(app).create(caller, cmd.RequestJob(goal=goal, plan_approval="gated"))
    request = (await app.history(job.job_id))[0]
    await planning.plan(Delivery("planner", request, app))
    return await app.history(job.job_id)


def scripted_plan(fake: FakeOpenAi) -> None:
    fake.push(
        Reply("- [ ] Scaffold the project\n- [ ] Write the feature\n"),
        Reply('{"score": 6, "risks": ["no tests"], "changes": ["add tests"]}'),
        Reply("- [ ] Scaffold the project\n- [ ] Write the feature\n- [ ] Test it\n"),
        Reply('{"score": 9, "risks": [], "changes": []}'),
    )


def ms(values: Sequence[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered) * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms"


async def overhead(database_url: str, plans: int) -> list[list[Event]]:
    fake = FakeOpenAi(api_key="bench").start()
    store = JobStore.from_url(database_url)
    try:
        settings = LlmSettings(openai_base_url=fake.base_url, openai_api_key=SecretStr("bench"))
        client = TimedLlm(OpenAiClient(settings))
        planning = Planning(LlmPlanner(client), LlmReviewer(client), CriticPolicy(8, 3))
        app = JobApplication(store)
        totals, own, model = [], [], []
        histories = []
        scripted_plan(fake)
        await plan_once(app, planning, GOALS[0])  # warm-up: connections, encodings, imports
        for i in range(plans):
            scripted_plan(fake)
            client.seconds = 0.0
            started = time.perf_counter()
            histories.append(await plan_once(app, planning, GOALS[i % len(GOALS)]))
            total = time.perf_counter() - started
            totals.append(total)
            model.append(client.seconds)
            own.append(total - client.seconds)
        calls = sum(isinstance(e, LlmCalled) for h in histories for e in h) / plans
        print(f"== planner overhead ({plans} plans, {calls:.0f} model calls each, PostgreSQL) ==")
        print(f"whole plan (request, load, loop, record, commit): {ms(totals)}")
        print(f"  inside model calls (SDK + HTTP to an instant server): {ms(model)}")
        print(f"  planner's own cost, model time taken out: {ms(own)}")
        return histories
    finally:
        store.close()
        fake.stop()


async def tokens_per_plan(plans: int) -> None:
    if plans <= 0:
        return
    try:
        from bdg_llm.local_model import LocalModelConfig, resolve_model
        from bdg_llm.local_server import ServerOptions, start
    except ImportError:
        print("== tokens per plan: the offline model is not installed (bdg-llm[local]) ==")
        return
    models_dir = ROOT / ".bdg" / "models"
    model = resolve_model(LocalModelConfig.from_env(), models_dir)
    server = start(model, models_dir / "bench-server.log", ServerOptions(api_key="bench"))
    try:
        settings = LlmSettings(
            openai_base_url=server.openai_base_url,
            openai_api_key=SecretStr("bench"),
            bdg_model_planner=model.name,
            bdg_model_critic=model.name,
            bdg_llm_timeout_seconds=900.0,  # 2 cores shared: a long plan can take minutes
        )
        client = TimedLlm(OpenAiClient(settings))
        planning = Planning(LlmPlanner(client), LlmReviewer(client), CriticPolicy(8, 3))
        app = JobApplication(JobStore.in_memory())
        print(f"== tokens per plan: {model.name}, offline, {plans} plans ==")
        for goal in GOALS[:plans]:
            client.seconds, client.calls = 0.0, 0
            started = time.perf_counter()
            history = await plan_once(app, planning, goal)
            wall = time.perf_counter() - started
            calls = [e for e in history if isinstance(e, LlmCalled)]
            prompt = sum(c.prompt_tokens for c in calls)
            completion = sum(c.completion_tokens for c in calls)
            print(
                f"{goal[:48]:48s} {len(calls)} calls, {prompt} prompt + {completion} completion"
                f" tokens, {wall:.1f} s ({client.seconds:.1f} s in the model)"
            )
    finally:
        server.stop()


async def run_in_memory(answers: Answers) -> list[Event]:
    """The reference job through every step's real handlers (answers from the recorded script),
    in memory; deploy approved."""
    built = {
        "planner": planner_main.build(answers, planner_main.PlannerSettings()),
        "coder": coder_main.build(answers),
        "tester": tester_main.build(answers, endpoint=""),  # scripted: no sandbox
        "deployer": deployer_main.build(answers),
    }
    handlers: dict[str, dict[type[Event], Reaction]] = {
        name: {r.event: r for r in b.reactions()} for name, b in built.items()
    }
    app = JobApplication(JobStore.in_memory())
    commands = JobCommands(app)
    caller = Caller("bench", "bench")
    job = await commands.create(caller, cmd.RequestJob(goal=GOALS[0], plan_approval="auto"))
    seen = 0
    while True:
        history = await app.history(job.job_id)
        if len(history) == seen:
            if Job.replay(history).state != JobState.awaiting_deploy_approval:
                return history
            await commands.approve_deploy(caller, job.job_id)
            continue
        for event in history[seen:]:
            for service, reactions in handlers.items():
                reaction = reactions.get(type(event))
                if reaction is not None:
                    await reaction.handle(Delivery(service, event, app))
        seen = len(history)


async def replay_speed(histories: list[list[Event]], replays: int) -> None:
    answers = load_answers(ANSWERS)
    reference = await run_in_memory(answers)
    factories = replayers()
    print(f"== replay ({replays} runs each) ==")
    for label, jobs in (
        (f"reference job, every step ({len(reference)} events)", [reference]),
        (f"planned jobs of part 1 ({len(histories)} jobs, model answers from the log)", histories),
    ):
        events = reactions = 0
        started = time.perf_counter()
        for _ in range(replays):
            for history in jobs:
                report = await replay_job(history, factories)
                assert report.same, report.divergence
                events += report.events
                reactions += report.reactions
        elapsed = time.perf_counter() - started
        print(f"{label}: {events / elapsed:,.0f} events/s, {reactions / elapsed:,.0f} reactions/s")


async def main_async(args: argparse.Namespace) -> None:
    with fresh_database(args.url) as url:
        migrate(url)
        histories = await overhead(url, args.plans)
    await tokens_per_plan(args.local_plans)
    await replay_speed(histories, args.replays)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default=ADMIN_URL, help="server to create the database on")
    parser.add_argument("--plans", type=int, default=50)
    parser.add_argument("--local-plans", type=int, default=int(os.environ.get("BENCH_LOCAL", 2)))
    parser.add_argument("--replays", type=int, default=20)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
