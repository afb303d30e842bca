"""The step services' handlers, fast: from a published event to the events they record.

Every test runs twice (``stack``): on FastStream's in-memory broker with the in-memory event
store, and on real NATS with PostgreSQL. The services answer from the recorded reference job
(``examples/reference-job.json``), as ``tests/integration/test_step_services.py`` does with
real processes; here the handlers run in the test's process, wired by the real ``Consumer``.
"""

from __future__ import annotations

from pathlib import Path
from uuid import UUID, uuid4

import pytest

from bdg_coder.main import build as build_coder
from bdg_contracts import commands as cmd
from bdg_contracts import events as ev
from bdg_contracts.base import Event
from bdg_contracts.states import JobState, Step
from bdg_deployer.main import build as build_deployer
from bdg_deployer.recorded import DeployerScript
from bdg_jobs.application import utc_now
from bdg_jobs.domain import Cause, Job
from bdg_jobs.user_commands import Caller, JobCommands
from bdg_planner.main import PlannerSettings
from bdg_planner.main import build as build_planner
from bdg_planner.recorded import PlannerScript
from bdg_runtime.answers import Answers, load_answers
from bdg_runtime.reactions import Reaction
from bdg_tester.main import build as build_tester
from tests.fast.harness import FastStack
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(60)

ANSWERS = load_answers(Path(__file__).parents[2] / "examples" / "reference-job.json")
GOAL = next(iter(ANSWERS.goals))
PLANNED = ANSWERS.read(PlannerScript).script_for(GOAL)  # each service reads its own sections
DEPLOY = ANSWERS.read(DeployerScript).script_for(GOAL).deploy
ALICE = Caller("acme", "alice")
WAIT = 30.0


def planner(answers: Answers = ANSWERS) -> list[Reaction]:
    return build_planner(answers, PlannerSettings()).reactions()


async def request(stack: FastStack, goal: str = GOAL) -> Job:
    return await JobCommands(stack.app).create(
        ALICE, cmd.RequestJob(goal=goal, plan_approval="gated")
    )


async def reaches(stack: FastStack, job_id: UUID, state: JobState) -> Job:
    async def probe() -> Job | None:
        job = await stack.app.load(job_id)
        return job if job.state == state else None

    return await eventually(probe, WAIT, f"job {job_id} to be {state.value}")


async def names(stack: FastStack, job_id: UUID) -> list[str]:
    return [e.name for e in await stack.app.history(job_id)]


async def test_the_planner_plans_a_requested_job(stack: FastStack) -> None:
    stack.serve("planner", planner())
    async with stack.running():
        job = await request(stack)
        planned = await reaches(stack, job.job_id, JobState.awaiting_plan_approval)
    drafts = PLANNED.plan.drafts
    assert planned.plan_markdown == drafts[-1]
    assert planned.plan_versions == [drafts[-1]]
    assert (await names(stack, job.job_id)).count("PlanDrafted") == len(drafts)
    assert planned.has_reacted("planner", (await stack.app.history(job.job_id))[0].event_id)


async def reviewing_job(stack: FastStack) -> Job:
    """A job whose tests passed, saved (and so published) whole: the planner's review is due."""
    cause = Cause("user:alice", utc_now(), user_id="alice")
    job = Job.request(uuid4(), ALICE.tenant_id, cause, goal=GOAL, plan_approval="gated")
    job.make_plan_ready(cause, PLANNED.plan.drafts[-1])
    job.approve_plan(cause, "alice")
    job.finish_coding(cause, "done")
    job.pass_tests(cause, ev.TestResults(total=3))
    await stack.app.start(job)
    return job


async def reviewed(stack: FastStack, job_id: UUID) -> list[Event]:
    async def probe() -> list[Event] | None:
        reviews = [e for e in await stack.app.history(job_id) if e.name == "ReviewCompleted"]
        return reviews or None

    return await eventually(probe, WAIT, f"the review of job {job_id}")


async def test_a_redelivered_event_is_reacted_to_once(stack: FastStack) -> None:
    # An approving review leaves the job in reviewing (the deployer moves it on, and it is not
    # served here): the redelivered TestsPassed finds the job where a review is allowed, so only
    # the job's record of reactions keeps the planner from reviewing it twice.
    stack.serve("planner", planner())
    async with stack.running():
        first = await reviewing_job(stack)
        await reviewed(stack, first.job_id)
        passed = next(e for e in await stack.app.history(first.job_id) if e.name == "TestsPassed")
        await stack.redeliver(passed)
        # One consumer takes its messages in order: once a later job is reviewed, the
        # redelivered event was handled before it.
        later = await reviewing_job(stack)
        await reviewed(stack, later.job_id)
    job = await stack.app.load(first.job_id)
    assert len(await reviewed(stack, first.job_id)) == 1
    assert (job.state, job.review_approved) == (JobState.reviewing, True)


async def test_a_step_that_cannot_run_fails_the_job_and_is_dead_lettered(
    stack: FastStack,
) -> None:
    stack.serve("planner", planner())
    stack.watch_dead_letters("planner")
    async with stack.running():
        job = await request(stack, goal="a goal the recorded answers do not know")
        failed = await reaches(stack, job.job_id, JobState.failed)

        async def dead_letter() -> dict[str, str] | None:
            return stack.dead[0] if stack.dead else None

        letter = await eventually(dead_letter, WAIT, "the dead letter")
    assert (failed.failed_step, failed.failed_service) == (Step.planning, "planner")
    assert failed.failed_event_version == 1
    assert letter["Bdg-Service"] == "planner"
    assert letter["Bdg-Event"] == "JobRequested"
    assert "AnswersError" in letter["Bdg-Error"]
    # The step failed at once: retrying cannot make the answers appear.
    assert letter["Bdg-Deliveries"] == "1"


async def test_the_reference_job_runs_through_every_step_service(stack: FastStack) -> None:
    stack.serve("planner", planner())
    stack.serve("coder", build_coder(ANSWERS).reactions())
    stack.serve("tester", build_tester(ANSWERS, endpoint="").reactions())
    stack.serve("deployer", build_deployer(ANSWERS).reactions())
    commands = JobCommands(stack.app)
    async with stack.running():
        job = await request(stack)
        await reaches(stack, job.job_id, JobState.awaiting_plan_approval)
        await commands.approve_plan(ALICE, job.job_id)
        await reaches(stack, job.job_id, JobState.awaiting_deploy_approval)
        await commands.approve_deploy(ALICE, job.job_id)
        done = await reaches(stack, job.job_id, JobState.done)
    history = await names(stack, job.job_id)
    # The reference job: a failing test run first, then a passing one, then the review.
    failed, passed = history.index("TestsFailed"), history.index("TestsPassed")
    assert failed < passed < history.index("ReviewCompleted") < history.index("Deployed")
    assert history.count("CodingFinished") == 2
    assert done.deployed_url == DEPLOY.url
    assert done.attempt == 2
